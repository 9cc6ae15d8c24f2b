package config

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Options says where files named inside a configuration file are found.
type Options struct {
	// FS is the configuration directory. Paths in the files resolve inside
	// it: "/etc/X" and "X" both name X in FS. With a nil FS, include and
	// rulefile are errors.
	FS fs.FS
}

// open opens a file named inside a configuration file.
func (o Options) open(name string) (fs.File, string, error) {
	if o.FS == nil {
		return nil, "", fmt.Errorf("cannot read %q: no configuration directory", name)
	}
	p := name
	if strings.HasPrefix(p, "/") {
		if !strings.HasPrefix(p, "/etc/") {
			return nil, "", fmt.Errorf("%q is outside the configuration directory; want /etc/FILE or a relative path", name)
		}
		p = strings.TrimPrefix(p, "/etc/")
	}
	p = path.Clean(p)
	if !fs.ValidPath(p) || p == "." {
		return nil, "", fmt.Errorf("%q is outside the configuration directory", name)
	}
	f, err := o.FS.Open(p)
	if err != nil {
		return nil, "", fmt.Errorf("cannot read %q: %v", name, unwrapPathErr(err))
	}
	return f, p, nil
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// maxLine is the longest line a parser reads.
const maxLine = 64 << 10

// kindSet is a set of interface kinds.
type kindSet uint8

func kinds(ks ...Kind) kindSet {
	var s kindSet
	for _, k := range ks {
		s |= 1 << k
	}
	return s
}

func (s kindSet) has(k Kind) bool { return s&(1<<k) != 0 }

func (s kindSet) String() string {
	var names []string
	for k := Ether; k <= Bridge; k++ {
		if s.has(k) {
			names = append(names, k.String())
		}
	}
	return strings.Join(names, ", ")
}

var (
	allKinds    = kinds(Ether, Tap, Vether, VLAN, SVLAN, Bridge)
	addrKinds   = kinds(Ether, Tap, Vether, VLAN, SVLAN) // interfaces with an Ethernet address and IP
	vlanKinds   = kinds(VLAN, SVLAN)
	bridgeKinds = kinds(Bridge)
)

// hnKeywords lists every hostname.if keyword and the kinds it applies to.
var hnKeywords = map[string]kindSet{
	"up": allKinds, "down": allKinds,
	"description": allKinds, "descr": allKinds, "-description": allKinds, "-descr": allKinds,
	"group": allKinds, "-group": allKinds, "rdomain": allKinds,
	"link0": allKinds, "link1": allKinds, "link2": allKinds,
	"-link0": allKinds, "-link1": allKinds, "-link2": allKinds,

	"lladdr": addrKinds, "mtu": addrKinds, "inet": addrKinds, "inet6": addrKinds, "dest": addrKinds,
	"dhcp": addrKinds, "autoconf": addrKinds, "rtsol": addrKinds,

	"parent": vlanKinds, "vlandev": vlanKinds, "-parent": vlanKinds, "-vlandev": vlanKinds,
	"vnetid": vlanKinds, "vlan": vlanKinds, "-vnetid": vlanKinds,
	"txprio": vlanKinds, "rxprio": vlanKinds,

	"add": bridgeKinds, "del": bridgeKinds, "timeout": bridgeKinds, "maxaddr": bridgeKinds,
	"static": bridgeKinds, "deladdr": bridgeKinds, "flush": bridgeKinds, "flushall": bridgeKinds,
	"protected": bridgeKinds, "-protected": bridgeKinds,
	"learn": bridgeKinds, "-learn": bridgeKinds, "discover": bridgeKinds, "-discover": bridgeKinds,
	"blocknonip": bridgeKinds, "-blocknonip": bridgeKinds,
	"addspan": bridgeKinds, "delspan": bridgeKinds,
	"rule": bridgeKinds, "rulefile": bridgeKinds, "flushrule": bridgeKinds,
}

// stpKeywords are the spanning tree options of bridge(4), refused.
var stpKeywords = map[string]bool{
	"stp": true, "-stp": true, "maxage": true, "fwddelay": true, "hellotime": true,
	"priority": true, "proto": true, "ifpriority": true, "ifcost": true, "-ifcost": true,
	"autoedge": true, "-autoedge": true, "edge": true, "-edge": true,
	"autoptp": true, "-autoptp": true, "ptp": true, "-ptp": true,
	"holdcnt": true, "spanpriority": true,
}

// wantFor is the hint of the unknown-keyword error for each kind.
func wantFor(k Kind) string {
	switch k {
	case Bridge:
		return "add, del, up, down, description, timeout, maxaddr, static, deladdr, flush, flushall, protected, [-]learn, [-]discover, [-]blocknonip, addspan, delspan, rule, rulefile, flushrule, link0-2"
	case VLAN, SVLAN:
		return "parent, vnetid, txprio, rxprio, inet, inet6, lladdr, mtu, up, down, description"
	}
	return "inet, inet6, dest, lladdr, mtu, up, down, description, group"
}

// posErr is an error at a column of the current line.
type posErr struct {
	col int
	msg string
}

func errAt(w word, format string, args ...any) *posErr {
	return &posErr{col: w.col, msg: fmt.Sprintf(format, args...)}
}

// args walks the words of one line.
type args struct {
	w []word
	i int
}

func (a *args) more() bool { return a.i < len(a.w) }

func (a *args) peek() (word, bool) {
	if a.i < len(a.w) {
		return a.w[a.i], true
	}
	return word{}, false
}

// next returns the next word, or an error after kw saying what was wanted.
func (a *args) next(kw word, what string) (word, *posErr) {
	if a.i >= len(a.w) {
		return word{}, &posErr{col: kw.col, msg: fmt.Sprintf("%s: missing %s", kw.s, what)}
	}
	a.i++
	return a.w[a.i-1], nil
}

// ParseHostnameIf parses the hostname.if(5) file of interface ifname, read
// from r. name is the file name used in errors. Files named by rulefile
// are read from opts.FS. All errors are returned, up to ten, joined.
func ParseHostnameIf(name, ifname string, r io.Reader, opts Options) (*Interface, error) {
	k, err := KindOf(ifname)
	if err != nil {
		return nil, &Error{File: name, Msg: err.Error()}
	}
	p := &hnParser{file: name, opts: opts, ifp: newInterface(ifname, k), lastInet: -1, lastInet6: -1}
	p.ifp.File = name
	p.ifp.Line = 1
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	n := 0
	for sc.Scan() {
		n++
		p.line(n, sc.Text())
	}
	if err := sc.Err(); err != nil {
		p.errs.add(name, n+1, 0, "%v", err)
	}
	if err := p.errs.err(); err != nil {
		return nil, err
	}
	p.ifp.normalize()
	return p.ifp, nil
}

// normalize makes empty lists nil, so equal interfaces are DeepEqual
// however they were reached.
func (ifp *Interface) normalize() {
	nilIfEmpty(&ifp.Groups)
	nilIfEmpty(&ifp.Inet)
	nilIfEmpty(&ifp.Inet6)
	nilIfEmpty(&ifp.Members)
	nilIfEmpty(&ifp.Static)
	nilIfEmpty(&ifp.Spans)
	nilIfEmpty(&ifp.Rules)
	for i := range ifp.Members {
		nilIfEmpty(&ifp.Members[i].Protected)
	}
}

func nilIfEmpty[S ~[]E, E any](s *S) {
	if len(*s) == 0 {
		*s = nil
	}
}

func newInterface(name string, k Kind) *Interface {
	ifp := &Interface{Name: name, Kind: k}
	switch k {
	case VLAN, SVLAN:
		ifp.VNetID = -1
		ifp.TxPrio = PrioPacket
		ifp.RxPrio = PrioOuter
	case Bridge:
		ifp.Timeout = DefaultTimeout
		ifp.MaxAddr = DefaultMaxAddr
	}
	return ifp
}

// Bridge defaults, as bridge(4) has them, and hostnet's limit on maxaddr.
const (
	DefaultTimeout = 240
	DefaultMaxAddr = 100
	MaxMaxAddr     = 1 << 20
)

type hnParser struct {
	file      string
	opts      Options
	ifp       *Interface
	errs      errList
	lastInet  int // index in Inet of the address the last inet configured
	lastInet6 int
}

func (p *hnParser) line(n int, s string) {
	if t := strings.TrimLeft(s, " \t"); strings.HasPrefix(t, "!") {
		p.errs.add(p.file, n, len(s)-len(t)+1, "shell commands (!cmd) are not supported; hostnet runs no commands from hostname files")
		return
	}
	ws, bad := splitWords(s)
	if bad > 0 {
		p.errs.add(p.file, n, bad, "unterminated quoted string")
		return
	}
	a := &args{w: ws}
	for a.more() {
		if e := p.command(a, n); e != nil {
			p.errs.add(p.file, n, e.col, "%s", e.msg)
			return // the rest of the line depends on what failed
		}
	}
}

func (p *hnParser) command(a *args, line int) *posErr {
	kw, _ := a.next(word{}, "")
	ifp := p.ifp
	if stpKeywords[kw.s] {
		if ifp.Kind != Bridge {
			return errAt(kw, "unknown keyword %q for %s (%s); want %s", kw.s, ifp.Name, ifp.Kind, wantFor(ifp.Kind))
		}
		return errAt(kw, "%q is not supported (hostnet runs no spanning tree)", kw.s)
	}
	ks, ok := hnKeywords[kw.s]
	if !ok {
		return errAt(kw, "unknown keyword %q for %s (%s); want %s", kw.s, ifp.Name, ifp.Kind, wantFor(ifp.Kind))
	}
	if !ks.has(ifp.Kind) {
		return errAt(kw, "%q applies to %s interfaces, not to %s (%s)", kw.s, ks, ifp.Name, ifp.Kind)
	}
	switch kw.s {
	case "up":
		ifp.Up = true
	case "down":
		ifp.Up = false
	case "description", "descr":
		w, e := a.next(kw, "text")
		if e != nil {
			return e
		}
		if len(w.s) > 63 { // IFDESCRSIZE - 1
			return errAt(w, "description longer than 63 characters")
		}
		ifp.Description = w.s
	case "-description", "-descr":
		ifp.Description = ""
	case "group":
		w, e := a.next(kw, "group name")
		if e != nil {
			return e
		}
		if err := checkGroup(w.s); err != "" {
			return errAt(w, "%s", err)
		}
		if !slices.Contains(ifp.Groups, w.s) {
			ifp.Groups = append(ifp.Groups, w.s)
		}
	case "-group":
		w, e := a.next(kw, "group name")
		if e != nil {
			return e
		}
		ifp.Groups = slices.DeleteFunc(ifp.Groups, func(g string) bool { return g == w.s })
	case "rdomain":
		n, e := intArg(a, kw, "routing domain", 0, 255)
		if e != nil {
			return e
		}
		ifp.RDomain = n
	case "link0", "link1", "link2":
		ifp.Link[kw.s[4]-'0'] = true
	case "-link0", "-link1", "-link2":
		ifp.Link[kw.s[5]-'0'] = false
	case "lladdr":
		w, e := a.next(kw, "MAC address or random")
		if e != nil {
			return e
		}
		if w.s == "random" {
			ifp.LLAddr, ifp.LLAddrRandom = nil, true
			break
		}
		m, err := ParseMAC(w.s)
		if err != nil {
			return errAt(w, "lladdr: %v", err)
		}
		if m.IsMulticast() || m.IsZero() {
			return errAt(w, "lladdr %s: want a unicast address", m)
		}
		ifp.LLAddr, ifp.LLAddrRandom = &m, false
	case "mtu":
		n, e := intArg(a, kw, "MTU", 68, 65535)
		if e != nil {
			return e
		}
		ifp.MTU = n
	case "inet":
		return p.inet(a, kw)
	case "inet6":
		return p.inet6(a, kw)
	case "dest":
		return p.dest(a, kw)
	case "dhcp", "autoconf", "rtsol":
		return errAt(kw, "%q is not supported yet; give a static address with inet or inet6", kw.s)
	case "parent", "vlandev":
		w, e := a.next(kw, "parent interface")
		if e != nil {
			return e
		}
		if _, err := KindOf(w.s); err != nil {
			return errAt(w, "%s: %v", kw.s, err)
		}
		if w.s == ifp.Name {
			return errAt(w, "%s: %s cannot be its own parent", kw.s, w.s)
		}
		ifp.Parent = w.s
	case "-parent", "-vlandev":
		ifp.Parent = ""
	case "vnetid", "vlan":
		n, e := intArg(a, kw, "VLAN id", 1, 4094)
		if e != nil {
			return e
		}
		ifp.VNetID = n
	case "-vnetid":
		ifp.VNetID = -1
	case "txprio", "rxprio":
		w, e := a.next(kw, "priority")
		if e != nil {
			return e
		}
		var v int
		switch {
		case w.s == "packet":
			v = PrioPacket
		case w.s == "outer" && kw.s == "rxprio":
			v = PrioOuter
		default:
			n, err := strconv.Atoi(w.s)
			if err != nil || n < 0 || n > 7 {
				if kw.s == "rxprio" {
					return errAt(w, "rxprio %q: want 0-7, packet or outer", w.s)
				}
				return errAt(w, "txprio %q: want 0-7 or packet", w.s)
			}
			v = n
		}
		if kw.s == "txprio" {
			ifp.TxPrio = v
		} else {
			ifp.RxPrio = v
		}
	default:
		return p.bridgeCommand(a, kw, line)
	}
	return nil
}

// checkGroup returns why g cannot be an interface group name, or "".
// Group names are at most 15 characters of letters, digits, '_', '-' and
// '.', and do not end in a digit, as ifconfig(8) and vmd(8) require.
func checkGroup(g string) string {
	switch {
	case g == "":
		return "empty group name"
	case len(g) > maxIfNameLen:
		return fmt.Sprintf("group name %q is longer than %d characters", g, maxIfNameLen)
	case g[len(g)-1] >= '0' && g[len(g)-1] <= '9':
		return fmt.Sprintf("group name %q ends in a digit", g)
	}
	for i := 0; i < len(g); i++ {
		c := g[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Sprintf("invalid group name %q; want letters, digits, '_', '-' and '.'", g)
		}
	}
	return ""
}

// intArg reads a decimal integer in [lo, hi].
func intArg(a *args, kw word, what string, lo, hi int) (int, *posErr) {
	w, e := a.next(kw, what)
	if e != nil {
		return 0, e
	}
	n, err := strconv.Atoi(w.s)
	if err != nil || n < lo || n > hi || (len(w.s) > 1 && (w.s[0] == '+' || w.s[0] == '-')) {
		return 0, errAt(w, "%s %q: want %s %d-%d", kw.s, w.s, what, lo, hi)
	}
	return n, nil
}

// inet: inet [alias] ADDR[/LEN] [[netmask] MASK [[broadcast] BCAST|NONE]] [broadcast BCAST]
func (p *hnParser) inet(a *args, kw word) *posErr {
	ifp := p.ifp
	w, e := a.next(kw, "IPv4 address")
	if e != nil {
		return e
	}
	alias := false
	if w.s == "alias" {
		alias = true
		if w, e = a.next(kw, "IPv4 address"); e != nil {
			return e
		}
	}
	if w.s == "autoconf" {
		return errAt(w, "inet autoconf is not supported yet; give a static address")
	}
	var addr netip.Addr
	bits := -1
	positional := false
	if i := strings.IndexByte(w.s, '/'); i >= 0 {
		pf, err := netip.ParsePrefix(w.s)
		if err != nil || !pf.Addr().Is4() {
			return errAt(w, "inet: invalid address %q; want an IPv4 address like 10.50.0.1/24", w.s)
		}
		addr, bits = pf.Addr(), pf.Bits()
	} else {
		var err error
		addr, err = netip.ParseAddr(w.s)
		if err != nil || !addr.Is4() {
			return errAt(w, "inet: invalid address %q; want an IPv4 address like 10.50.0.1", w.s)
		}
		if m, ok := a.peek(); ok {
			switch {
			case m.s == "netmask":
				a.i++
				if m, e = a.next(m, "mask"); e != nil {
					return e
				}
				if bits = parseMask(m.s); bits < 0 {
					return errAt(m, "invalid netmask %q; want a contiguous mask like 255.255.255.0 or 0xffffff00", m.s)
				}
				positional = true
			case isMaskLike(m.s):
				a.i++
				if bits = parseMask(m.s); bits < 0 {
					return errAt(m, "invalid netmask %q; want a contiguous mask like 255.255.255.0 or 0xffffff00 (a point-to-point destination is given with dest)", m.s)
				}
				positional = true
			}
		}
		if bits < 0 {
			if bits = classfulBits(addr); bits < 0 {
				return errAt(w, "inet: %s is a multicast or reserved address and has no classful mask", addr)
			}
		}
	}
	if bits == 0 {
		return errAt(w, "inet: prefix length 0; want 1-32")
	}
	if addr.IsMulticast() || addr.IsUnspecified() || addr == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return errAt(w, "inet: %s cannot be an interface address", addr)
	}
	ia := InetAddr{Prefix: netip.PrefixFrom(addr, bits), Alias: alias}
	// broadcast: the keyword, or in netstart's positional form after a mask
	if b, ok := a.peek(); ok {
		switch {
		case b.s == "broadcast":
			a.i++
			bw, e := a.next(b, "broadcast address")
			if e != nil {
				return e
			}
			bc, err := netip.ParseAddr(bw.s)
			if err != nil || !bc.Is4() {
				return errAt(bw, "broadcast: invalid address %q; want an IPv4 address", bw.s)
			}
			ia.Broadcast = bc
		case positional && b.s == "NONE":
			a.i++
		case positional:
			if bc, err := netip.ParseAddr(b.s); err == nil && bc.Is4() {
				a.i++
				ia.Broadcast = bc
			}
		}
	}
	if !ia.Broadcast.IsValid() {
		ia.Broadcast = defaultBroadcast(ia.Prefix)
	}
	// inet without alias replaces the first address, as ifconfig(8) does.
	if !alias {
		ifp.Inet = slices.DeleteFunc(ifp.Inet, func(x InetAddr) bool { return x.Alias && x.Prefix.Addr() == addr })
	}
	switch {
	case alias:
		i := slices.IndexFunc(ifp.Inet, func(x InetAddr) bool { return x.Prefix.Addr() == addr })
		if i >= 0 {
			ia.Alias = ifp.Inet[i].Alias
			ifp.Inet[i] = ia
			p.lastInet = i
		} else {
			ifp.Inet = append(ifp.Inet, ia)
			p.lastInet = len(ifp.Inet) - 1
		}
	case len(ifp.Inet) > 0 && !ifp.Inet[0].Alias:
		ifp.Inet[0] = ia
		p.lastInet = 0
	default:
		ifp.Inet = slices.Insert(ifp.Inet, 0, ia)
		p.lastInet = 0
	}
	return nil
}

// isMaskLike reports whether s is written like a netmask (dotted or hex).
func isMaskLike(s string) bool {
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		return true
	}
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

// parseMask returns the length of a dotted (255.255.255.0) or hex
// (0xffffff00) netmask, or -1 if it is not a contiguous mask.
func parseMask(s string) int {
	var m uint32
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		if len(s) < 3 || len(s) > 10 {
			return -1
		}
		v, err := strconv.ParseUint(s[2:], 16, 32)
		if err != nil {
			return -1
		}
		m = uint32(v)
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			return -1
		}
		b := a.As4()
		m = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	}
	bits := 0
	for bits < 32 && m&(1<<(31-bits)) != 0 {
		bits++
	}
	if bits < 32 && m<<bits != 0 {
		return -1
	}
	return bits
}

// classfulBits returns the classful mask length of a (A /8, B /16, C /24),
// the mask an address gets when none is given, or -1 for class D and E.
func classfulBits(a netip.Addr) int {
	b := a.As4()[0]
	switch {
	case b < 128:
		return 8
	case b < 192:
		return 16
	case b < 224:
		return 24
	}
	return -1
}

// defaultBroadcast returns the all-ones host address of p, or the invalid
// Addr for /31 and /32, which have none.
func defaultBroadcast(p netip.Prefix) netip.Addr {
	if p.Bits() >= 31 {
		return netip.Addr{}
	}
	b := p.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= 1<<(32-p.Bits()) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// inet6: inet6 [alias] ADDR[/LEN] [PREFIXLEN | prefixlen N]
func (p *hnParser) inet6(a *args, kw word) *posErr {
	ifp := p.ifp
	w, e := a.next(kw, "IPv6 address")
	if e != nil {
		return e
	}
	alias := false
	if w.s == "alias" {
		alias = true
		if w, e = a.next(kw, "IPv6 address"); e != nil {
			return e
		}
	}
	switch w.s {
	case "autoconf", "eui64", "temporary":
		return errAt(w, "inet6 %s is not supported yet; give a static address", w.s)
	}
	var addr netip.Addr
	bits := -1
	if strings.IndexByte(w.s, '/') >= 0 {
		pf, err := netip.ParsePrefix(w.s)
		if err != nil || !pf.Addr().Is6() || pf.Addr().Is4In6() {
			return errAt(w, "inet6: invalid address %q; want an IPv6 address like 2001:db8::1/64", w.s)
		}
		addr, bits = pf.Addr(), pf.Bits()
	} else {
		var err error
		addr, err = netip.ParseAddr(w.s)
		if err != nil || !addr.Is6() || addr.Is4In6() || addr.Zone() != "" {
			return errAt(w, "inet6: invalid address %q; want an IPv6 address like 2001:db8::1", w.s)
		}
		if m, ok := a.peek(); ok {
			if m.s == "prefixlen" {
				a.i++
				if bits, e = intArg(a, m, "prefix length", 0, 128); e != nil {
					return e
				}
			} else if n, err := strconv.Atoi(m.s); err == nil && m.s[0] != '+' && m.s[0] != '-' {
				if n > 128 {
					return errAt(m, "inet6: prefix length %d; want 0-128", n)
				}
				a.i++
				bits = n
			}
		}
		if bits < 0 {
			bits = 64
		}
	}
	if addr.IsMulticast() || addr.IsUnspecified() {
		return errAt(w, "inet6: %s cannot be an interface address", addr)
	}
	ia := Inet6Addr{Prefix: netip.PrefixFrom(addr, bits), Alias: alias}
	if i := slices.IndexFunc(ifp.Inet6, func(x Inet6Addr) bool { return x.Prefix.Addr() == addr }); i >= 0 {
		ifp.Inet6[i] = ia
		p.lastInet6 = i
	} else {
		ifp.Inet6 = append(ifp.Inet6, ia)
		p.lastInet6 = len(ifp.Inet6) - 1
	}
	return nil
}

// dest ADDR sets the point-to-point destination of the last address of
// its family.
func (p *hnParser) dest(a *args, kw word) *posErr {
	w, e := a.next(kw, "destination address")
	if e != nil {
		return e
	}
	d, err := netip.ParseAddr(w.s)
	if err != nil || d.Zone() != "" || d.Is4In6() {
		return errAt(w, "dest: invalid address %q", w.s)
	}
	if d.Is4() {
		if p.lastInet < 0 || p.lastInet >= len(p.ifp.Inet) {
			return errAt(kw, "dest %s: no inet address before it", d)
		}
		p.ifp.Inet[p.lastInet].Dest = d
		return nil
	}
	if p.lastInet6 < 0 || p.lastInet6 >= len(p.ifp.Inet6) {
		return errAt(kw, "dest %s: no inet6 address before it", d)
	}
	p.ifp.Inet6[p.lastInet6].Dest = d
	return nil
}
