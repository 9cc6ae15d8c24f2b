package nat

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"sync"

	"github.com/hostnet/hostnet/dataplane/header"
)

// Method is how a pool picks an address (pf.conf(5) Translation, pf_lb.c
// pf_map_addr).
type Method uint8

const (
	// MethodNone: a single address (pf's pool type none), or for an
	// interface pool `(if:0)`, the interface's first address of the
	// family.
	MethodNone Method = iota
	// MethodRoundRobin walks the pool's addresses in order, prefixes
	// address by address, one step per new translation.
	MethodRoundRobin
	// MethodRandom picks a random entry and random host bits within it.
	MethodRandom
	// MethodSourceHash picks by a keyed hash of the source address, so a
	// source always gets the same address.
	MethodSourceHash
	// MethodBitmask keeps the network part of the pool's prefix and the
	// host part of the original address (the source for nat-to, the
	// destination for rdr-to).
	MethodBitmask
	// MethodLeastStates is treated as MethodRoundRobin: the pool does not
	// see the state counts per address that pf uses for it.
	// TODO(nat): count states per address through Release.
	MethodLeastStates
)

var methodNames = [...]string{"none", "round-robin", "random", "source-hash", "bitmask", "least-states"}

// String returns the method as pf.conf spells it.
func (m Method) String() string {
	if int(m) < len(methodNames) {
		return methodNames[m]
	}
	return "Method(?)"
}

// retries reports whether pf tries another address of a pool of this
// method when one address has no free port (pf_get_sport).
func (m Method) retries() bool {
	return m == MethodRoundRobin || m == MethodRandom || m == MethodLeastStates
}

// DefaultMaxSticky is the default limit of a sticky-address pool's source
// table: pf's src-nodes limit (PFSNODE_HIWAT).
const DefaultMaxSticky = 10000

// maxAddrTries bounds the addresses a port search tries in one pool. pf
// walks until it comes back to the first address it picked, which a
// random pool may take long to do.
const maxAddrTries = 256

// PoolConfig is a pool as plain data, from a compiled nat-to, rdr-to or
// binat-to.
type PoolConfig struct {
	// Addrs are the pool's addresses; a prefix stands for every address
	// in it (a single address is a /32 or /128). Only those of a
	// packet's family are candidates for it.
	Addrs []netip.Prefix
	// Iface, when set, makes an interface pool (`nat-to (if)`): it
	// appends the interface's current addresses to dst and returns it. It
	// is called for each new translation, so address changes apply to
	// new states only; Addrs is ignored. It must be safe to call from any
	// worker.
	Iface func(dst []netip.Addr) []netip.Addr
	// Method picks among the addresses. MethodNone on a static pool of
	// more than one address means round-robin, as pfctl defaults it.
	Method Method
	// Key is the source-hash key (ParseHashKey).
	Key HashKey
	// Sticky keeps the address first given to a source for its later
	// translations (sticky-address), up to MaxSticky sources
	// (DefaultMaxSticky when 0).
	Sticky    bool
	MaxSticky int
	// Ports is the port range: for nat-to DefaultNATPorts unless the
	// rule says otherwise, StaticPort for static-port; for rdr-to see
	// PortRange.
	Ports PortRange
}

// Pool picks translation addresses and ports for new states. It is safe
// for concurrent use: the round-robin cursor, the sticky table and the
// interface address buffer are behind one mutex, taken only while an
// address is picked, never while InUse is asked.
type Pool struct {
	v4, v6 []netip.Prefix
	iface  func([]netip.Addr) []netip.Addr
	method Method
	key    HashKey
	sticky bool
	max    int
	ports  PortRange

	mu      sync.Mutex
	rr      [2]cursor                  // per family, guarded by mu
	ifaddrs []netip.Addr               // Iface's buffer, guarded by mu
	sources map[netip.Addr]stickyEntry // guarded by mu
}

// cursor is a round-robin position: an entry and an address in it.
type cursor struct {
	entry int
	addr  netip.Addr // invalid: start at the entry's first address
}

// stickyEntry is the address a source was given and the number of states
// that use it; last is when the last one went (the caller's clock).
type stickyEntry struct {
	addr   netip.Addr
	states int32
	last   int64
}

// NewPool returns the pool cfg describes. It fails on an empty pool, on a
// bitmask pool of more than one prefix per family, and on an unknown
// method.
func NewPool(cfg PoolConfig) (*Pool, error) {
	if cfg.Method > MethodLeastStates {
		return nil, errors.New("nat: unknown pool method")
	}
	pl := &Pool{
		iface:  cfg.Iface,
		method: cfg.Method,
		key:    cfg.Key,
		sticky: cfg.Sticky,
		max:    cfg.MaxSticky,
		ports:  cfg.Ports,
	}
	if pl.max <= 0 {
		pl.max = DefaultMaxSticky
	}
	if pl.sticky {
		pl.sources = make(map[netip.Addr]stickyEntry)
	}
	if cfg.Iface != nil {
		return pl, nil
	}
	n := 0
	for _, p := range cfg.Addrs {
		if !p.IsValid() {
			return nil, errors.New("nat: invalid pool prefix")
		}
		p = p.Masked()
		if p.Addr().Is4() {
			pl.v4 = append(pl.v4, p)
		} else {
			pl.v6 = append(pl.v6, p)
		}
		n += 1
		if p.Bits() < p.Addr().BitLen() {
			n++ // more than one address
		}
	}
	if n == 0 {
		return nil, errors.New("nat: empty pool")
	}
	if pl.method == MethodBitmask && (len(pl.v4) > 1 || len(pl.v6) > 1) {
		return nil, errors.New("nat: bitmask pool needs a single prefix")
	}
	if pl.method == MethodNone && n > 1 {
		pl.method = MethodRoundRobin
	}
	return pl, nil
}

// Method returns the pool's method (after pfctl's defaulting).
func (pl *Pool) Method() Method { return pl.method }

// Ports returns the pool's port range.
func (pl *Pool) Ports() PortRange { return pl.ports }

// NAT picks the translated source (address and port) for a new state's
// flow, as pf_get_sport does: an address from the pool (pf_map_addr, with
// the source for source-hash, bitmask and sticky-address), then a port
// from the pool's range that InUse reports free (see findPort). When an
// address has no free port, round-robin, random and least-states pools
// try their next address until they come back to the first; other
// methods, and a sticky source, fail at once. ErrNoFreePort,
// ErrNoAddress and ErrSourceLimit tell why it failed; the filter drops
// the packet (packet.DropNATFull). It is safe for concurrent use and
// allocates only when a sticky source is new or an interface pool's
// address list grows.
func (pl *Pool) NAT(req *Request) (netip.AddrPort, error) {
	src := req.Flow.Src.Addr()
	if a, ok := pl.stickyAddr(src); ok {
		port, ok := findPort(req, a, pl.ports)
		if !ok {
			return netip.AddrPort{}, ErrNoFreePort
		}
		pl.stickyHold(src, a)
		return netip.AddrPortFrom(a, port), nil
	}
	first, err := pl.pick(src, src, req.Rand)
	if err != nil {
		return netip.AddrPort{}, err
	}
	a := first
	for range maxAddrTries {
		if port, ok := findPort(req, a, pl.ports); ok {
			if pl.sticky {
				if err := pl.stickyAdd(src, a); err != nil {
					return netip.AddrPort{}, err
				}
			}
			return netip.AddrPortFrom(a, port), nil
		}
		if !pl.method.retries() {
			break
		}
		if a, err = pl.pick(src, src, req.Rand); err != nil {
			return netip.AddrPort{}, err
		}
		if a == first {
			break
		}
	}
	return netip.AddrPort{}, ErrNoFreePort
}

// Rdr picks the translated destination for a new state's flow under an
// rdr-to, as pf_get_transaddr does: an address from the pool (the source
// for source-hash and sticky-address, the destination's host part for
// bitmask) and, for TCP and UDP, the port RdrPort gives for the pool's
// range, where ruleLow is the first port of the rule's destination port
// range (0 if it has none). Other protocols keep their destination port
// (an echo's identifier). pf checks no collision for rdr-to. It is safe
// for concurrent use.
func (pl *Pool) Rdr(req *Request, ruleLow uint16) (netip.AddrPort, error) {
	src, dst := req.Flow.Src.Addr(), req.Flow.Dst.Addr()
	a, ok := pl.stickyAddr(src)
	if ok {
		pl.stickyHold(src, a)
	} else {
		var err error
		if a, err = pl.pick(src, dst, req.Rand); err != nil {
			return netip.AddrPort{}, err
		}
		if pl.sticky {
			if err := pl.stickyAdd(src, a); err != nil {
				return netip.AddrPort{}, err
			}
		}
	}
	port := req.Flow.Dst.Port()
	switch req.Flow.Proto {
	case header.ProtoTCP, header.ProtoUDP:
		port = RdrPort(pl.ports, port, ruleLow)
	}
	return netip.AddrPortFrom(a, port), nil
}

// pick chooses an address of src's family (pf_map_addr without the
// source-tracking node): src feeds source-hash, host the bitmask.
func (pl *Pool) pick(src, host netip.Addr, r *rand.Rand) (netip.Addr, error) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	fam := 0
	entries := pl.v4
	if src.Is6() {
		fam, entries = 1, pl.v6
	}
	if pl.iface != nil {
		return pl.pickIfaceLocked(src, fam, r)
	}
	if len(entries) == 0 {
		return netip.Addr{}, ErrNoAddress
	}
	switch pl.method {
	case MethodNone:
		return entries[0].Addr(), nil
	case MethodBitmask:
		return poolmask(entries[0], host), nil
	case MethodSourceHash:
		h := sourceHash(src, &pl.key)
		e := entries[0]
		if len(entries) > 1 {
			// Like a table pool: the hash's first word picks the entry.
			hb := h.AsSlice()
			idx := uint32(hb[0]) | uint32(hb[1])<<8 | uint32(hb[2])<<16 | uint32(hb[3])<<24
			e = entries[idx%uint32(len(entries))]
		}
		return poolmask(e, h), nil
	case MethodRandom:
		e := entries[0]
		if len(entries) > 1 {
			e = entries[randN(r, uint32(len(entries)))]
		}
		return poolmask(e, randomAddr(r, fam)), nil
	}
	// Round-robin and least-states.
	c := &pl.rr[fam]
	if c.entry >= len(entries) {
		c.entry = 0
		c.addr = netip.Addr{}
	}
	e := entries[c.entry]
	if !c.addr.IsValid() || !e.Contains(c.addr) {
		c.addr = e.Addr()
	}
	a := c.addr
	if next := a.Next(); next.IsValid() && e.Contains(next) {
		c.addr = next
	} else {
		c.entry = (c.entry + 1) % len(entries)
		c.addr = netip.Addr{}
	}
	return a, nil
}

// pickIfaceLocked picks from the interface's current addresses of the
// family: the first for MethodNone, a hash or random index for those
// methods, the next in turn otherwise. pl.mu must be held.
func (pl *Pool) pickIfaceLocked(src netip.Addr, fam int, r *rand.Rand) (netip.Addr, error) {
	pl.ifaddrs = pl.iface(pl.ifaddrs[:0])
	// Keep the family's addresses, in place.
	n := 0
	for _, a := range pl.ifaddrs {
		if a.Is4() == (fam == 0) {
			pl.ifaddrs[n] = a.WithZone("")
			n++
		}
	}
	addrs := pl.ifaddrs[:n]
	if n == 0 {
		return netip.Addr{}, ErrNoAddress
	}
	switch pl.method {
	case MethodNone, MethodBitmask:
		return addrs[0], nil
	case MethodSourceHash:
		hb := sourceHash(src, &pl.key).AsSlice()
		idx := uint32(hb[0]) | uint32(hb[1])<<8 | uint32(hb[2])<<16 | uint32(hb[3])<<24
		return addrs[idx%uint32(n)], nil
	case MethodRandom:
		return addrs[randN(r, uint32(n))], nil
	}
	c := &pl.rr[fam]
	i := c.entry % n
	c.entry = (i + 1) % n
	return addrs[i], nil
}

// poolmask returns the network part of p and the host part of a
// (pf_poolmask). a must be of p's family.
func poolmask(p netip.Prefix, a netip.Addr) netip.Addr {
	bits := p.Bits()
	if p.Addr().Is4() {
		n, h := p.Addr().As4(), a.As4()
		for i := range n {
			m := byteMask(bits - 8*i)
			n[i] = n[i]&m | h[i]&^m
		}
		return netip.AddrFrom4(n)
	}
	n, h := p.Addr().As16(), a.As16()
	for i := range n {
		m := byteMask(bits - 8*i)
		n[i] = n[i]&m | h[i]&^m
	}
	return netip.AddrFrom16(n)
}

// byteMask returns the mask of a byte whose first bits bits (clamped to
// 0-8) are network bits.
func byteMask(bits int) byte {
	switch {
	case bits <= 0:
		return 0
	case bits >= 8:
		return 0xff
	}
	return ^byte(0xff >> bits)
}

// randomAddr returns an address of random bits of the family (0: IPv4).
func randomAddr(r *rand.Rand, fam int) netip.Addr {
	u := func() uint64 {
		if r == nil {
			return rand.Uint64()
		}
		return r.Uint64()
	}
	if fam == 0 {
		v := uint32(u())
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	var b [16]byte
	x, y := u(), u()
	for i := range 8 {
		b[i] = byte(x >> (56 - 8*i))
		b[8+i] = byte(y >> (56 - 8*i))
	}
	return netip.AddrFrom16(b)
}

// stickyAddr returns the address src was given before, if the pool is
// sticky and it still is one of the pool's addresses.
func (pl *Pool) stickyAddr(src netip.Addr) (netip.Addr, bool) {
	if !pl.sticky {
		return netip.Addr{}, false
	}
	pl.mu.Lock()
	e, ok := pl.sources[src]
	pl.mu.Unlock()
	if !ok {
		return netip.Addr{}, false
	}
	if pl.iface != nil && !pl.hasIfaceAddr(e.addr) {
		// The interface lost the address: pick anew, as a new source.
		pl.mu.Lock()
		if e.states == 0 {
			delete(pl.sources, src)
		}
		pl.mu.Unlock()
		return netip.Addr{}, false
	}
	return e.addr, true
}

// hasIfaceAddr reports whether the interface still has a.
func (pl *Pool) hasIfaceAddr(a netip.Addr) bool {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.ifaddrs = pl.iface(pl.ifaddrs[:0])
	for _, b := range pl.ifaddrs {
		if b.WithZone("") == a {
			return true
		}
	}
	return false
}

// stickyHold counts one more state for src's sticky entry.
func (pl *Pool) stickyHold(src, a netip.Addr) {
	pl.mu.Lock()
	e := pl.sources[src]
	e.addr = a
	e.states++
	pl.sources[src] = e
	pl.mu.Unlock()
}

// stickyAdd records a for src with one state, or fails with
// ErrSourceLimit when the table is full. Another worker may have added
// src meanwhile; its address wins for later states.
func (pl *Pool) stickyAdd(src, a netip.Addr) error {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	e, ok := pl.sources[src]
	if !ok {
		if len(pl.sources) >= pl.max {
			return ErrSourceLimit
		}
		e.addr = a
	}
	e.states++
	pl.sources[src] = e
	return nil
}

// Release tells a sticky-address pool that a state of source src that NAT
// or Rdr translated is gone; now is the caller's clock (seconds). Purge
// removes the entry once no state uses it and its lifetime has passed. It
// is safe for concurrent use and a no-op for other pools.
func (pl *Pool) Release(src netip.Addr, now int64) {
	if !pl.sticky {
		return
	}
	pl.mu.Lock()
	if e, ok := pl.sources[src]; ok {
		if e.states > 0 {
			e.states--
		}
		e.last = now
		pl.sources[src] = e
	}
	pl.mu.Unlock()
}

// Purge removes the sticky entries that no state uses and whose last
// state went at least timeout seconds before now (pf's src.track; 0
// removes them at once), and returns how many it removed. It is for the
// expiry timer, not the fast path.
func (pl *Pool) Purge(now, timeout int64) int {
	if !pl.sticky {
		return 0
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	n := 0
	for src, e := range pl.sources {
		if e.states == 0 && now-e.last >= timeout {
			delete(pl.sources, src)
			n++
		}
	}
	return n
}

// StickyLen returns the number of sources in the sticky table.
func (pl *Pool) StickyLen() int {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return len(pl.sources)
}
