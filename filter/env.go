package filter

import (
	"net/netip"
	"sync/atomic"

	"github.com/hostnet/hostnet/filter/pfconf"
)

// Dir is the direction a packet crosses an interface, with pf's values
// (PF_IN 1, PF_OUT 2, as the pflog header carries them).
type Dir uint8

const (
	In  Dir = 1 // received on the interface
	Out Dir = 2 // sent on the interface
)

// String returns "in" or "out".
func (d Dir) String() string {
	switch d {
	case In:
		return "in"
	case Out:
		return "out"
	}
	return "Dir(?)"
}

// Interface is one interface of the dataplane as pf sees it.
type Interface struct {
	Index int    // the dataplane's index, the ifindex Test is given
	Name  string // tap3, em0, vether0
	// Groups are the groups it is in: its kind (tap, vether, vlan, lo),
	// egress for the default route's interfaces, vm.conf's groups. `all`
	// is implicit.
	Groups   []string
	Addrs    []netip.Prefix // addresses with their prefix length
	Loopback bool           // `on any` skips it
}

// RouteFunc looks up the route to dst: the interface index it leaves by,
// and whether there is one. It must be safe for concurrent use.
type RouteFunc func(dst netip.Addr) (ifindex int, ok bool)

// Env is what the dataplane tells pf about the host: its interfaces
// (with their groups, `egress` included, and addresses), the route lookup
// that `no-route` and `urpf-failed` need, and the seed of every random
// choice (NAT ports, pool addresses, probability), fixed in replay.
//
// Route may be nil: `no-route` and `urpf-failed` then never match (pf
// without a routing table to ask cannot say a route is missing).
//
// Interface names written without parentheses (`from em0`, `to self`,
// `nat-to em0`) are resolved by pfconf when the file is parsed, from
// pfconf.ParseOptions.Interfaces, as pfctl does; give it the same
// interfaces. `(em0)`, `(self)` and `nat-to (em0)` follow Env and
// SetInterfaces.
type Env struct {
	Interfaces []Interface
	Route      RouteFunc
	Seed       uint64
}

// ifTable is the interface table bound to one Ruleset: for each
// interface the set of the ruleset's interface names (interface and
// group names) it answers to, and the resolved dynamic addresses.
type ifTable struct {
	byIndex []*ifEntry // indexed by ifindex; nil for unknown
	dyn     [][]netip.Prefix
	route   RouteFunc
	all     []netip.Prefix // every address of every interface (self)
}

type ifEntry struct {
	Interface
	member []uint64 // bit i: answers to the ruleset's name i
	skip   bool
}

func (t *ifTable) entry(idx int) *ifEntry {
	if idx < 0 || idx >= len(t.byIndex) {
		return nil
	}
	return t.byIndex[idx]
}

// matchName reports whether the interface answers to name id (its own
// name, a group it is in, `all`, or `any` for a non-loopback interface).
func (e *ifEntry) matchName(id int32) bool {
	if e == nil || id < 0 {
		return false
	}
	return e.member[id>>6]&(1<<(id&63)) != 0
}

func hasName(i *Interface, name string) bool {
	if name == i.Name || name == "all" || name == "any" && !i.Loopback {
		return true
	}
	for _, g := range i.Groups {
		if g == name {
			return true
		}
	}
	return false
}

// bind builds the interface table of rs for the interfaces of env.
func bind(rs *Ruleset, env Env) *ifTable {
	t := &ifTable{route: env.Route}
	max := -1
	for _, i := range env.Interfaces {
		if i.Index > max && i.Index <= maxIfIndex {
			max = i.Index
		}
	}
	t.byIndex = make([]*ifEntry, max+1)
	words := (len(rs.names) + 63) / 64
	for _, i := range env.Interfaces {
		if i.Index < 0 || i.Index > maxIfIndex { // Compile refuses these
			continue
		}
		e := &ifEntry{Interface: i, member: make([]uint64, words+1)}
		for id, n := range rs.names {
			if hasName(&e.Interface, n) {
				e.member[id>>6] |= 1 << (id & 63)
			}
		}
		for _, s := range rs.skip {
			if hasName(&e.Interface, s) {
				e.skip = true
			}
		}
		t.byIndex[i.Index] = e
		for _, a := range i.Addrs {
			t.all = append(t.all, netip.PrefixFrom(a.Addr(), a.Addr().BitLen()))
		}
	}
	t.dyn = make([][]netip.Prefix, len(rs.dyns))
	for k, d := range rs.dyns {
		t.dyn[k] = resolveDyn(env.Interfaces, d)
	}
	return t
}

// resolveDyn gives the addresses a dynamic address `(name[:mod])[/bits]`
// stands for now (pf_if.c pfi_instance_add).
func resolveDyn(ifs []Interface, d dynSpec) []netip.Prefix {
	var out []netip.Prefix
	seen4, seen6 := false, false
	for i := range ifs {
		if d.name != "self" && !hasName(&ifs[i], d.name) {
			continue
		}
		for _, a := range ifs[i].Addrs {
			ad := a.Addr()
			if d.mod&pfconf.ModNoAlias != 0 {
				if ad.Is4() && seen4 || ad.Is6() && seen6 {
					continue
				}
			}
			var p netip.Prefix
			switch {
			case d.mod&pfconf.ModNetwork != 0:
				if ad.Is6() && ad.IsLinkLocalUnicast() {
					continue
				}
				p = a.Masked()
			case d.mod&pfconf.ModBroadcast != 0:
				if !ad.Is4() {
					continue
				}
				m := a.Masked().Addr().As4()
				hb := 32 - a.Bits()
				v := uint32(m[0])<<24 | uint32(m[1])<<16 | uint32(m[2])<<8 | uint32(m[3])
				v |= uint32(uint64(1)<<hb - 1)
				p = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), 32)
			case d.mod&pfconf.ModPeer != 0:
				continue // hostnet has no point-to-point interfaces
			default:
				p = netip.PrefixFrom(ad, ad.BitLen())
			}
			if d.bits >= 0 && d.bits < p.Bits() {
				p, _ = p.Addr().Prefix(d.bits)
			}
			if ad.Is4() {
				seen4 = true
			} else {
				seen6 = true
			}
			out = append(out, p)
		}
	}
	return out
}

// ifaceAddrs is the address source of a `nat-to (if)` pool: it reads the
// interface table current when a state is created.
type ifaceAddrs struct {
	ifs *atomic.Pointer[ifTable]
	dyn int
}

func (a ifaceAddrs) addrs(dst []netip.Addr) []netip.Addr {
	t := a.ifs.Load()
	if t == nil || a.dyn >= len(t.dyn) {
		return dst
	}
	for _, p := range t.dyn[a.dyn] {
		dst = append(dst, p.Addr())
	}
	return dst
}
