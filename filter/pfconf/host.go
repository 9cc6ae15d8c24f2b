package pfconf

import (
	"fmt"
	"net/netip"
	"strings"
)

// hostNode is one address of a list before expansion (pfctl's
// node_host).
type hostNode struct {
	addr Addr
	af   AF
	not  bool
	zone string // the interface a scoped (link-local) address belongs to
	// badMask is a netmask too long for the address's family, given to
	// an interface name; the rule fails if this address is used.
	badMask int
}

func afOf(a netip.Addr) AF {
	if a.Is4() {
		return Inet
	}
	return Inet6
}

// maskPrefix returns a/bits with the host bits cleared.
func maskPrefix(a netip.Addr, bits int) netip.Prefix {
	p, _ := a.Prefix(bits)
	return p
}

func fullBits(a netip.Addr) int {
	if a.Is4() {
		return 32
	}
	return 128
}

// host resolves the text of one address, as pfctl's host(): an interface
// or group name (with :network, :broadcast, :peer, :0), "self", an IPv4
// or IPv6 address. mask is -1 when no /N was given. Names are never
// looked up in DNS.
func (ld *loader) host(s string, mask int) ([]hostNode, error) {
	if hs, ok, err := ld.hostIf(s, mask); ok || err != nil {
		if err != nil {
			return nil, err
		}
		if len(hs) > 0 {
			return hs, nil
		}
	}
	if h, ok, err := hostIP(s, mask); ok || err != nil {
		if err != nil {
			return nil, err
		}
		return []hostNode{h}, nil
	}
	if mask >= 0 {
		return nil, fmt.Errorf("no IP address found for %s/%d", s, mask)
	}
	return nil, fmt.Errorf("no IP address found for %s", s)
}

func parseIfMods(s string) (name string, mods IfMod, ok bool) {
	for {
		i := strings.LastIndexByte(s, ':')
		if i < 0 {
			break
		}
		switch s[i+1:] {
		case "network":
			mods |= ModNetwork
		case "broadcast":
			mods |= ModBroadcast
		case "peer":
			mods |= ModPeer
		case "0":
			mods |= ModNoAlias
		default:
			return "", 0, false
		}
		s = s[:i]
	}
	return s, mods, true
}

const modeMask = ModNetwork | ModBroadcast | ModPeer

// hostIf resolves an interface or group name. ok is false when s does
// not name one.
func (ld *loader) hostIf(s string, mask int) ([]hostNode, bool, error) {
	name, mods, ok := parseIfMods(s)
	if !ok {
		return nil, false, nil
	}
	if m := mods & modeMask; m&(m-1) != 0 {
		return nil, false, fmt.Errorf("illegal combination of interface modifiers in %s", s)
	}
	if mods&(ModNetwork|ModBroadcast) != 0 && mask > -1 {
		return nil, false, fmt.Errorf("network or broadcast lookup, but extra netmask given for %s", s)
	}
	if name != "self" && !ld.ifaExists(name) {
		return nil, false, nil
	}
	hs := ld.ifaLookup(name, mods)
	if mask > -1 {
		for i := range hs {
			a := hs[i].addr.Prefix.Addr()
			if mask > fullBits(a) {
				hs[i].badMask = mask
				continue
			}
			hs[i].addr.Prefix = maskPrefix(a, mask)
		}
	}
	return hs, true, nil
}

// ifaExists reports whether name is an interface or an interface group.
func (ld *loader) ifaExists(name string) bool {
	if _, ok := ld.ifs[name]; ok {
		return true
	}
	return ld.isGroup(name)
}

func (ld *loader) isGroup(name string) bool {
	for _, i := range ld.opts.Interfaces {
		for _, g := range i.Groups {
			if g == name {
				return true
			}
		}
	}
	return false
}

// ifAddr returns an interface address without its zone, its prefix
// length and whether it is scoped.
func ifAddr(ia IfAddr) (netip.Addr, int, bool) {
	a := ia.Addr
	scoped := a.Zone() != "" || a.Is6() && a.IsLinkLocalUnicast()
	a = a.WithZone("")
	bits := ia.Bits
	if bits <= 0 || bits > fullBits(a) {
		bits = fullBits(a)
	}
	return a, bits, scoped
}

// ifaLookup lists the addresses of an interface, a group or (name
// "self") every interface, in pfctl's order (ifa_lookup).
func (ld *loader) ifaLookup(name string, mods IfMod) []hostNode {
	var out []hostNode
	for _, ifc := range ld.opts.Interfaces {
		if name != "self" && ifc.Name != name && !hasString(ifc.Groups, name) {
			continue
		}
		got4, got6 := false, false
		for _, ia := range ifc.Addrs {
			if !ia.Addr.IsValid() {
				continue
			}
			a, bits, scoped := ifAddr(ia)
			if mods&ModBroadcast != 0 && (!a.Is4() || !ifc.Broadcast) {
				continue
			}
			if mods&ModPeer != 0 && (!ifc.PointToPoint || !ia.Peer.IsValid()) {
				continue
			}
			if mods&ModNetwork != 0 && scoped {
				continue
			}
			if mods&ModNoAlias != 0 && (a.Is4() && got4 || a.Is6() && got6) {
				continue
			}
			if a.Is4() {
				got4 = true
			} else {
				got6 = true
			}
			h := hostNode{af: afOf(a)}
			switch {
			case mods&ModBroadcast != 0:
				b := a.As4()
				m := ^uint32(0) >> bits
				if bits >= 32 {
					m = 0
				}
				v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | m
				h.addr = Addr{Type: AddrMask, Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), 32)}
			case mods&ModPeer != 0:
				pa := ia.Peer
				h.addr = Addr{Type: AddrMask, Prefix: netip.PrefixFrom(pa, fullBits(pa))}
			case mods&ModNetwork != 0:
				h.addr = Addr{Type: AddrMask, Prefix: maskPrefix(a, bits)}
			default:
				h.addr = Addr{Type: AddrMask, Prefix: netip.PrefixFrom(a, fullBits(a))}
			}
			if scoped {
				h.zone = ifc.Name
			}
			out = append(out, h)
		}
	}
	return out
}

func hasString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// hostIP parses an IPv4 or IPv6 address. ok is false when s is neither.
func hostIP(s string, mask int) (hostNode, bool, error) {
	if a, ok := parseV4(s, mask >= 0); ok {
		bits := 32
		if mask >= 0 {
			if mask > 32 {
				return hostNode{}, false, fmt.Errorf("illegal netmask /%d for %s", mask, s)
			}
			bits = mask
		}
		return hostNode{af: Inet, addr: Addr{Type: AddrMask, Prefix: maskPrefix(a, bits)}}, true, nil
	}
	if strings.ContainsRune(s, ':') {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is6() {
			return hostNode{}, false, nil
		}
		zone := a.Zone()
		if isDigits(zone) {
			// A numeric scope: getaddrinfo reads it as an interface
			// index; 0 is no scope at all, others name no interface
			// here.
			if strings.TrimLeft(zone, "0") != "" {
				return hostNode{}, false, fmt.Errorf("%s: scope %s is an interface index; write the interface's name", s, zone)
			}
			zone = ""
		}
		if zone != "" && !isIfName(zone) {
			// getaddrinfo knows no such interface.
			return hostNode{}, false, fmt.Errorf("no IP address found for %s", s)
		}
		a = a.WithZone("")
		bits := 128
		if mask >= 0 {
			bits = mask
		}
		return hostNode{af: Inet6, zone: zone, addr: Addr{Type: AddrMask, Prefix: maskPrefix(a, bits)}}, true, nil
	}
	return hostNode{}, false, nil
}

// parseV4 parses a dotted IPv4 address. With loose (a netmask follows,
// inet_net_pton) fewer than four parts are allowed: "10" is 10.0.0.0.
func parseV4(s string, loose bool) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 || !loose && len(parts) != 4 {
		return netip.Addr{}, false
	}
	var b [4]byte
	for i, p := range parts {
		if p == "" || len(p) > 3 {
			return netip.Addr{}, false
		}
		n := 0
		for _, c := range p {
			if c < '0' || c > '9' {
				return netip.Addr{}, false
			}
			n = n*10 + int(c-'0')
		}
		if n > 255 {
			return netip.Addr{}, false
		}
		b[i] = byte(n)
	}
	return netip.AddrFrom4(b), true
}

// dynHost builds a dynamic address `(name[:mods])`.
func dynHost(s string) (hostNode, error) {
	name, mods, ok := parseIfMods(s)
	if !ok {
		return hostNode{}, fmt.Errorf("interface %s has bad modifier", s)
	}
	if name == "" || !(name[0] >= 'a' && name[0] <= 'z' || name[0] >= 'A' && name[0] <= 'Z') {
		return hostNode{}, fmt.Errorf("invalid interface name '%s'", s)
	}
	if m := mods & modeMask; m&(m-1) != 0 {
		return hostNode{}, fmt.Errorf("illegal combination of interface modifiers")
	}
	return hostNode{addr: Addr{Type: AddrDynamic, Name: name, Mod: mods, Bits: 128}}, nil
}

// isDigits reports whether s is a non-empty run of decimal digits.
func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// isIfName reports whether s can be an interface's name: a letter, then
// letters, digits, '_', '.' or '-', shorter than IFNAMSIZ (16).
func isIfName(s string) bool {
	if len(s) >= 16 {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return s != ""
}
