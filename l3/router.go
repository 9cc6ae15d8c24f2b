package l3

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// Output sends frames the stack emits or forwards. Output takes p: the
// dataplane writes the frame out of interface ifindex (into the bridge for
// a bridge member such as vether0) and Puts it. The frame is an untagged
// Ethernet frame; tags of a vlan interface are the dataplane's to push.
type Output interface {
	Output(ifindex int, p *packet.Packet)
}

// Filter is pf as the stack calls it. Both methods borrow p, and may
// rewrite it in place (NAT). A nil Filter passes everything. The stack
// calls Out on the forward path after the route lookup and the TTL
// decrement and before neighbour resolution (DESIGN.md section 3); In is
// for the dataplane, which calls it before Router.Input, so the stack
// itself never calls it. Packets the stack originates (replies, ICMP
// errors, ARP and ND) are not filtered (DESIGN.md section 3).
type Filter interface {
	In(ifindex int, p *packet.Packet) packet.Verdict
	Out(ifindex int, p *packet.Packet) packet.Verdict
}

// Tx is the caller's side of one Input call on the frame path: what the
// call forwards goes out through its Output after its Out (pf out), and
// its Tally counts the stack's frames in and out, so that the caller's
// scratch and its batch's counters serve the whole call without another
// lookup or an atomic add per frame. Frames the stack sends on its own
// (replies, errors, ARP and ND, held packets, timers) go through Config's
// Output and Filter. Input with a nil Tx uses those for everything.
type Tx interface {
	Output
	// Out is pf out on interface ifindex, as Filter.Out; it is called
	// only when Config has a Filter.
	Out(ifindex int, p *packet.Packet) packet.Verdict
	Tally() *packet.Tally
}

// countIn counts a frame of n bytes received, in tx's tally if there is
// one.
func (r *Router) countIn(tx Tx, c *packet.Counters, n int) {
	if tx != nil {
		tx.Tally().In(c, n)
		return
	}
	c.CountIn(n)
}

// filterOut is pf out on ifindex through tx, or Config's Filter.
func (r *Router) filterOut(tx Tx, ifindex int, p *packet.Packet) packet.Verdict {
	if tx != nil {
		return tx.Out(ifindex, p)
	}
	return r.filter.Out(ifindex, p)
}

// Config configures a Router.
type Config struct {
	// Pool is where the stack gets packets for what it sends (replies,
	// errors, ARP and ND, fragments) and where it Puts what it drops.
	Pool *packet.Pool
	// Output sends frames; Filter is pf (nil passes all).
	Output Output
	Filter Filter
	// Forwarding4 and Forwarding6 are net.inet.ip.forwarding and
	// net.inet6.ip6.forwarding.
	Forwarding4, Forwarding6 bool
	// Seed makes the IPv4 identification sequence reproducible: the same
	// seed and the same inputs give the same bytes out.
	Seed uint64
}

// Interface is an interface of the host's stack as configured.
type Interface struct {
	// Name is the interface name (vether0, em0, vlan10).
	Name string
	// MAC is the interface's link-layer address.
	MAC header.MAC
	// MTU is the largest IP packet the interface sends; 0 means 1500.
	MTU int
	// Addrs are the interface's IPv4 and IPv6 addresses with their
	// prefix lengths (inet 10.50.0.1/24, inet6 2001:db8::1/64). An
	// interface with an IPv6 address also gets the link-local address
	// derived from MAC.
	Addrs []netip.Prefix
}

// Errors returned by the configuration methods.
var (
	ErrBadInterface = errors.New("l3: bad interface")
	ErrBadRoute     = errors.New("l3: bad route")
	ErrNoInterface  = errors.New("l3: no such interface")
	ErrUnreachable  = errors.New("l3: gateway is not on a connected network")
	ErrNoSuchRoute  = errors.New("l3: no such route")
	ErrCacheFull    = errors.New("l3: neighbour cache full")
)

// iface is an interface as the packet path sees it; immutable once in a
// state.
type iface struct {
	index int
	name  string
	mac   header.MAC
	mtu   int
	v4    []netip.Prefix
	v6    []netip.Prefix
	ll    netip.Addr // link-local from the MAC; invalid without IPv6
	c     *packet.Counters
}

// hasAddr reports whether a is one of ifc's addresses (link-local
// included).
func (ifc *iface) hasAddr(a netip.Addr) bool {
	if a.Is4() {
		for _, p := range ifc.v4 {
			if p.Addr() == a {
				return true
			}
		}
		return false
	}
	if a == ifc.ll && a.IsValid() {
		return true
	}
	for _, p := range ifc.v6 {
		if p.Addr() == a {
			return true
		}
	}
	return false
}

// hasSolicitedNode reports whether a is the solicited-node multicast
// address of one of ifc's IPv6 addresses.
func (ifc *iface) hasSolicitedNode(a netip.Addr) bool {
	if !ifc.ll.IsValid() {
		return false
	}
	if a == header.SolicitedNodeAddr(ifc.ll) {
		return true
	}
	for _, p := range ifc.v6 {
		if a == header.SolicitedNodeAddr(p.Addr()) {
			return true
		}
	}
	return false
}

// src4 returns the address ifc sends from toward next hop nh: the address
// whose network holds nh, else the first.
func (ifc *iface) src4(nh netip.Addr) (netip.Addr, bool) {
	for _, p := range ifc.v4 {
		if p.Contains(nh) {
			return p.Addr(), true
		}
	}
	if len(ifc.v4) > 0 {
		return ifc.v4[0].Addr(), true
	}
	return netip.Addr{}, false
}

// src6 returns the address ifc sends from toward dst: the link-local one
// for link-local destinations, else the first configured address whose
// network holds dst, else the first configured one.
func (ifc *iface) src6(dst netip.Addr) (netip.Addr, bool) {
	if dst.IsLinkLocalUnicast() || dst.IsLinkLocalMulticast() || len(ifc.v6) == 0 {
		return ifc.ll, ifc.ll.IsValid()
	}
	for _, p := range ifc.v6 {
		if p.Contains(dst) {
			return p.Addr(), true
		}
	}
	return ifc.v6[0].Addr(), true
}

// state is the stack's configuration as the packet path reads it: swapped
// whole through an atomic.Pointer on every change, never edited.
type state struct {
	ifs      []*iface // by ifindex; nil where there is none
	rt4, rt6 *table
	routes   []Route
	egress   []int
}

func (st *state) iface(i int) *iface {
	if i < 0 || i >= len(st.ifs) {
		return nil
	}
	return st.ifs[i]
}

type staticRoute struct {
	dst netip.Prefix
	gw  netip.Addr
}

// Router is the host's IP stack: its interfaces and addresses, ARP and
// neighbour caches, the routing table, forwarding and ICMP. Input, Tick
// and the introspection methods are safe for concurrent use; configuration
// changes are serialized and swap the state the packet path reads whole.
type Router struct {
	pool   *packet.Pool
	out    Output
	filter Filter
	fwd4   atomic.Bool
	fwd6   atomic.Bool
	st     atomic.Pointer[state]
	arp    *cache
	nd     *cache

	icmp4, icmp6, rst limiter
	own               packet.Counters // drops that belong to no interface
	id                atomic.Uint32   // IPv4 identification counter
	seed              uint64

	mu       sync.Mutex // serializes configuration changes
	cfg      map[int]Interface
	static   []staticRoute
	counters map[int]*packet.Counters
	// gateways are the neighbour cache slots of gateway routes, kept
	// across rebuilds.
	gateways map[netip.Addr]*gateway
}

// NewRouter returns a stack with no interfaces. cfg.Output must be set;
// a nil Pool gets a new one.
func NewRouter(cfg Config) *Router {
	r := &Router{
		pool:     cfg.Pool,
		out:      cfg.Output,
		filter:   cfg.Filter,
		arp:      newCache(),
		nd:       newCache(),
		seed:     cfg.Seed,
		cfg:      make(map[int]Interface),
		counters: make(map[int]*packet.Counters),
		gateways: make(map[netip.Addr]*gateway),
	}
	if r.pool == nil {
		r.pool = packet.NewPool()
	}
	r.icmp4.init(icmpErrPPS)
	r.icmp6.init(icmpErrPPS)
	r.rst.init(rstPPS)
	r.fwd4.Store(cfg.Forwarding4)
	r.fwd6.Store(cfg.Forwarding6)
	r.id.Store(uint32(splitmix(cfg.Seed)))
	r.st.Store(&state{rt4: newTable(4, nil), rt6: newTable(16, nil)})
	return r
}

// SetForwarding sets net.inet.ip.forwarding and net.inet6.ip6.forwarding.
func (r *Router) SetForwarding(v4, v6 bool) {
	r.fwd4.Store(v4)
	r.fwd6.Store(v6)
}

// AddInterface adds interface ifindex to the stack, or replaces its
// configuration, and sends one gratuitous ARP request for each IPv4
// address it did not have before (OpenBSD's arp_ifinit). It returns
// ErrBadInterface if an address is not a valid host address.
func (r *Router) AddInterface(ifindex int, ifc Interface) error {
	if ifindex < 0 || ifindex > 1<<16 {
		return fmt.Errorf("%w: index %d", ErrBadInterface, ifindex)
	}
	for _, p := range ifc.Addrs {
		a := p.Addr()
		if !p.IsValid() || a.Zone() != "" || a.IsUnspecified() || a.IsMulticast() || a.Is4In6() ||
			(a.Is4() && p.Bits() < 31 && a == lastAddr(p)) {
			return fmt.Errorf("%w: %s: address %s", ErrBadInterface, ifc.Name, p)
		}
	}
	if ifc.MTU < 0 || ifc.MTU > 65535 {
		return fmt.Errorf("%w: %s: mtu %d", ErrBadInterface, ifc.Name, ifc.MTU)
	}
	ifc.Addrs = slices.Clone(ifc.Addrs)
	r.mu.Lock()
	old := r.cfg[ifindex]
	r.cfg[ifindex] = ifc
	r.rebuildLocked()
	r.mu.Unlock()

	for _, p := range ifc.Addrs {
		if p.Addr().Is4() && (old.MAC != ifc.MAC || !slices.Contains(old.Addrs, p)) {
			r.gratuitousARP(ifindex, ifc.MAC, p.Addr())
		}
	}
	return nil
}

// RemoveInterface removes interface ifindex and forgets its neighbours;
// their held packets are dropped and counted.
func (r *Router) RemoveInterface(ifindex int) error {
	r.mu.Lock()
	if _, ok := r.cfg[ifindex]; !ok {
		r.mu.Unlock()
		return ErrNoInterface
	}
	delete(r.cfg, ifindex)
	r.rebuildLocked()
	r.mu.Unlock()
	for _, c := range []*cache{r.arp, r.nd} {
		var drop []*packet.Packet
		c.each(func(sh *shard, k nkey, e *entry) {
			if e.ifindex == ifindex {
				drop = append(drop, c.deleteLocked(sh, k, e)...)
			}
		})
		r.dropAll(ifindex, drop, packet.DropDown)
	}
	return nil
}

// AddRoute adds a static route to dst through gateway gw (mygate is
// AddRoute(0.0.0.0/0, gw) and AddRoute(::/0, gw6)). gw must be on a
// connected network when the route is added; a link-local IPv6 gateway
// names its interface as its zone (fe80::1%em0). A route whose gateway
// later leaves every connected network stays configured but inactive. A
// route to the same prefix replaces the old one.
func (r *Router) AddRoute(dst netip.Prefix, gw netip.Addr) error {
	if !dst.IsValid() || !gw.IsValid() || dst.Addr().Is4() != gw.Is4() {
		return fmt.Errorf("%w: %s via %s", ErrBadRoute, dst, gw)
	}
	dst = dst.Masked()
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.st.Load()
	if _, ok := gatewayIface(st, gw); !ok {
		return fmt.Errorf("%w: %s", ErrUnreachable, gw)
	}
	r.static = slices.DeleteFunc(r.static, func(s staticRoute) bool { return s.dst == dst })
	r.static = append(r.static, staticRoute{dst, gw})
	r.rebuildLocked()
	return nil
}

// StaticRoute is a route from the configuration: dst through gateway.
type StaticRoute struct {
	Dst     netip.Prefix
	Gateway netip.Addr
}

// SetRoutes replaces every static route with rs in one swap, as a reload
// of the configuration does. Each gateway must be on a connected network,
// as for AddRoute; on an error nothing changes. A later route to the same
// prefix replaces an earlier one.
func (r *Router) SetRoutes(rs []StaticRoute) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.st.Load()
	static := make([]staticRoute, 0, len(rs))
	idx := make(map[netip.Prefix]int, len(rs))
	for _, s := range rs {
		if !s.Dst.IsValid() || !s.Gateway.IsValid() || s.Dst.Addr().Is4() != s.Gateway.Is4() {
			return fmt.Errorf("%w: %s via %s", ErrBadRoute, s.Dst, s.Gateway)
		}
		if _, ok := gatewayIface(st, s.Gateway); !ok {
			return fmt.Errorf("%w: %s", ErrUnreachable, s.Gateway)
		}
		d := s.Dst.Masked()
		if i, ok := idx[d]; ok {
			static[i].gw = s.Gateway
			continue
		}
		idx[d] = len(static)
		static = append(static, staticRoute{d, s.Gateway})
	}
	r.static = static
	r.rebuildLocked()
	return nil
}

// DeleteRoute removes the static route to dst.
func (r *Router) DeleteRoute(dst netip.Prefix) error {
	dst = dst.Masked()
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.static)
	r.static = slices.DeleteFunc(r.static, func(s staticRoute) bool { return s.dst == dst })
	if len(r.static) == n {
		return ErrNoSuchRoute
	}
	r.rebuildLocked()
	return nil
}

// gatewayIface returns the interface a gateway is reached by.
func gatewayIface(st *state, gw netip.Addr) (int, bool) {
	if gw.Is6() && gw.IsLinkLocalUnicast() {
		for _, ifc := range st.ifs {
			if ifc != nil && ifc.ll.IsValid() && ifc.name == gw.Zone() {
				return ifc.index, true
			}
		}
		return 0, false
	}
	gw = gw.WithZone("")
	for _, ifc := range st.ifs {
		if ifc == nil {
			continue
		}
		for _, p := range append(slices.Clip(ifc.v4), ifc.v6...) {
			if p.Contains(gw) && p.Addr() != gw {
				return ifc.index, true
			}
		}
	}
	return 0, false
}

// lastAddr returns the highest address of an IPv4 prefix: its broadcast.
func lastAddr(p netip.Prefix) netip.Addr {
	v := p.Masked().Addr().As4()
	hostBits := 32 - p.Bits()
	x := uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
	x |= uint32(uint64(1)<<hostBits - 1)
	return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
}

// rebuildLocked computes a new state from the configuration and swaps it
// in; r.mu must be held.
func (r *Router) rebuildLocked() {
	st := &state{}
	idx := make([]int, 0, len(r.cfg))
	for i := range r.cfg {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	if len(idx) > 0 {
		st.ifs = make([]*iface, idx[len(idx)-1]+1)
	}
	for _, i := range idx {
		c := r.cfg[i]
		ifc := &iface{index: i, name: c.Name, mac: c.MAC, mtu: c.MTU}
		if ifc.mtu == 0 {
			ifc.mtu = 1500
		}
		for _, p := range c.Addrs {
			if p.Addr().Is4() {
				ifc.v4 = append(ifc.v4, p)
			} else {
				ifc.v6 = append(ifc.v6, p)
			}
		}
		if len(ifc.v6) > 0 {
			ifc.ll = header.LinkLocalFromMAC(c.MAC)
		}
		if r.counters[i] == nil {
			r.counters[i] = new(packet.Counters)
		}
		ifc.c = r.counters[i]
		st.ifs[i] = ifc
	}

	// Routes in order of precedence: the first route to a prefix wins.
	var rt4, rt6 []rtEntry
	var show []Route
	add := func(e rtEntry, linkAddr string) {
		if e.dst.Addr().Is4() {
			rt4 = append(rt4, e)
		} else {
			rt6 = append(rt6, e)
		}
		show = append(show, Route{Dst: e.dst, Gateway: e.gw, LinkAddr: linkAddr, Flags: e.flags,
			Ifindex: e.ifindex, Iface: st.ifs[e.ifindex].name})
	}
	for _, i := range idx {
		ifc := st.ifs[i]
		for _, p := range append(slices.Clip(ifc.v4), ifc.v6...) {
			bits := 32
			if p.Addr().Is6() {
				bits = 128
			}
			add(rtEntry{dst: netip.PrefixFrom(p.Addr(), bits), flags: RouteUp | RouteHost | RouteLLInfo | RouteLocal, ifindex: i}, ifc.mac.String())
		}
		for _, p := range ifc.v4 {
			if p.Bits() < 31 {
				add(rtEntry{dst: netip.PrefixFrom(lastAddr(p), 32), gw: p.Addr(), flags: RouteUp | RouteHost | RouteBroadcast, ifindex: i}, "")
			}
		}
	}
	for _, i := range idx {
		ifc := st.ifs[i]
		for _, p := range append(slices.Clip(ifc.v4), ifc.v6...) {
			if p.IsSingleIP() {
				continue
			}
			add(rtEntry{dst: p.Masked(), gw: p.Addr(), flags: RouteUp | RouteConnected, ifindex: i}, "")
		}
	}
	for _, s := range r.static {
		oi, ok := gatewayIface(st, s.gw)
		if !ok {
			continue
		}
		f := RouteUp | RouteGateway | RouteStatic
		if s.dst.IsSingleIP() {
			f |= RouteHost
		}
		add(rtEntry{dst: s.dst, gw: s.gw.WithZone(""), flags: f, ifindex: oi}, "")
		if s.dst.Bits() == 0 && !slices.Contains(st.egress, oi) {
			st.egress = append(st.egress, oi)
		}
	}
	slices.Sort(st.egress)
	st.rt4 = newTable(4, rt4)
	st.rt6 = newTable(16, rt6)
	// Connected routes carry the interface address as their gateway for
	// netstat; on the packet path they have none.
	for _, t := range []*table{st.rt4, st.rt6} {
		for i := range t.routes {
			if t.routes[i].flags&RouteGateway == 0 {
				t.routes[i].gw = netip.Addr{}
			} else {
				gw := t.routes[i].gw
				copy(t.routes[i].gwb[:], gw.AsSlice())
				if r.gateways[gw] == nil {
					r.gateways[gw] = new(gateway)
				}
				t.routes[i].gwc = r.gateways[gw]
			}
		}
	}
	slices.SortStableFunc(show, func(a, b Route) int {
		if a.Dst.Addr().Is4() != b.Dst.Addr().Is4() {
			if a.Dst.Addr().Is4() {
				return -1
			}
			return 1
		}
		if c := a.Dst.Addr().Compare(b.Dst.Addr()); c != 0 {
			return c
		}
		return a.Dst.Bits() - b.Dst.Bits()
	})
	st.routes = show
	r.st.Store(st)
}

// Routes returns the routing table as netstat -rn shows it: IPv4 then
// IPv6, by destination.
func (r *Router) Routes() []Route { return slices.Clone(r.st.Load().routes) }

// Egress returns the interfaces the default routes leave by, the egress
// group, by index.
func (r *Router) Egress() []int { return slices.Clone(r.st.Load().egress) }

// Counters returns interface ifindex's counters (frames the stack took
// in, frames it sent, drops by reason), or nil for an unknown interface.
// The counters live as long as the Router.
func (r *Router) Counters(ifindex int) *packet.Counters {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counters[ifindex]
}

// StackCounters returns the counters of what belongs to no interface:
// frames given to Input for an interface the stack does not have, and
// packets the stack originated but could not route.
func (r *Router) StackCounters() *packet.Counters { return &r.own }

// ARP returns the ARP cache as arp -an shows it at time now (nanoseconds
// on the clock Input and Tick are given): the host's own addresses as
// permanent local entries, then every learned, static or pending entry.
func (r *Router) ARP(now int64) []Neighbor {
	st := r.st.Load()
	out := r.arp.snapshot(st, now/1e9)
	for _, ifc := range st.ifs {
		if ifc == nil {
			continue
		}
		for _, p := range ifc.v4 {
			out = append(out, Neighbor{Addr: p.Addr(), MAC: ifc.mac, Ifindex: ifc.index, Iface: ifc.name,
				State: Reachable, Permanent: true, Local: true})
		}
	}
	sortNeighbors(out)
	return out
}

// ND returns the neighbour cache as ndp -an shows it at time now, with
// the host's own addresses as permanent local entries.
func (r *Router) ND(now int64) []Neighbor {
	st := r.st.Load()
	out := r.nd.snapshot(st, now/1e9)
	for _, ifc := range st.ifs {
		if ifc == nil || !ifc.ll.IsValid() {
			continue
		}
		out = append(out, Neighbor{Addr: ifc.ll, MAC: ifc.mac, Ifindex: ifc.index, Iface: ifc.name,
			State: Reachable, Permanent: true, Local: true})
		for _, p := range ifc.v6 {
			out = append(out, Neighbor{Addr: p.Addr(), MAC: ifc.mac, Ifindex: ifc.index, Iface: ifc.name,
				State: Reachable, Permanent: true, Local: true})
		}
	}
	sortNeighbors(out)
	return out
}

// AddStaticNeighbor adds a permanent ARP (IPv4) or neighbour (IPv6) entry
// for a on interface ifindex, as arp -s and ndp -s do. Held packets of an
// entry it replaces are sent.
func (r *Router) AddStaticNeighbor(ifindex int, a netip.Addr, mac header.MAC) error {
	st := r.st.Load()
	if st.iface(ifindex) == nil {
		return ErrNoInterface
	}
	c := r.arp
	if a.Is6() {
		c = r.nd
	}
	k := keyOf(a, ifindex)
	sh := c.shard(k)
	sh.mu.Lock()
	e := c.getLocked(sh, k, a, ifindex, true)
	if e == nil {
		sh.mu.Unlock()
		return ErrCacheFull
	}
	e.ifindex, e.mac, e.state, e.static, e.reject = ifindex, mac, Reachable, true, false
	e.asked, e.expire = 0, 0
	e.publishLocked()
	held := c.purgeLocked(e)
	sh.mu.Unlock()
	r.sendHeld(st, ifindex, mac, held)
	return nil
}

// StableMAC returns the link-layer address of a vether with no lladdr: a
// locally administered unicast address derived from the interface's name
// and a per-host seed, so the same host gives the same interface the same
// address on every start (OpenBSD picks a random one at creation).
func StableMAC(name string, seed []byte) header.MAC {
	h := sha256.New()
	h.Write(seed)
	h.Write([]byte{0})
	h.Write([]byte(name))
	var m header.MAC
	copy(m[:], h.Sum(nil))
	m[0] = m[0]&^0x01 | 0x02 // unicast, locally administered
	return m
}

// splitmix is SplitMix64's finalizer: a seed spread over all bits.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// nextID returns the next IPv4 identification: a counter from a seeded
// start, so replays are reproducible.
func (r *Router) nextID() uint16 { return uint16(r.id.Add(1)) }
