package l3

import (
	"bytes"
	"maps"
	"math"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// OpenBSD's numbers for ARP (netinet/if_ether.c) and hostnet's for
// neighbour discovery (RFC 4861 section 10 where it gives them).
const (
	arpKeep       = 20 * 60 // seconds a resolved entry lives (arpt_keep)
	arpRefresh    = arpKeep / 8
	arpRefreshGap = 30 // seconds between refreshes of an entry in use
	arpMaxTries   = 5  // unanswered requests before the entry is rejected (arp_maxtries)
	arpDown       = 20 // seconds an entry stays rejected (arpt_down)

	holdPerEntry = 10  // packets held per unresolved entry (LA_HOLD_QUEUE)
	holdTotal    = 100 // packets held in all entries of a cache (LA_HOLD_TOTAL)

	ndMaxMulticastSolicit = 3       // MAX_MULTICAST_SOLICIT
	ndMaxUnicastSolicit   = 3       // MAX_UNICAST_SOLICIT
	ndReachableTime       = 30      // REACHABLE_TIME, seconds
	ndDelayFirstProbe     = 5       // DELAY_FIRST_PROBE_TIME, seconds between probes of a stale entry in use
	ndStaleKeep           = 20 * 60 // seconds an unused stale entry is kept

	// maxNeighbors is the hard limit of entries per cache: past it no
	// entry is created and the packet that needed one is dropped
	// (DropNoNeighbour), never an entry evicted.
	maxNeighbors = 1 << 16
)

// NeighborState is the state of an ARP or neighbour cache entry (RFC 4861
// section 7.3.2, reduced to what hostnet keeps).
type NeighborState uint8

const (
	// Incomplete: resolution is in progress (or the entry is rejected).
	Incomplete NeighborState = iota
	// Reachable: the link-layer address is known and confirmed recently;
	// for ARP, resolved.
	Reachable
	// Stale: the address is known but not confirmed lately (neighbour
	// discovery only).
	Stale
)

var neighborStateNames = [...]string{"incomplete", "reachable", "stale"}

func (s NeighborState) String() string {
	if int(s) < len(neighborStateNames) {
		return neighborStateNames[s]
	}
	return "NeighborState(?)"
}

// Neighbor is a snapshot of one ARP or neighbour cache entry, what arp -an
// and ndp -an print.
type Neighbor struct {
	Addr    netip.Addr
	MAC     header.MAC // zero while incomplete
	Ifindex int
	Iface   string
	State   NeighborState
	// Permanent is set for static entries and the host's own addresses;
	// Local for the latter.
	Permanent bool
	Local     bool
	// Reject is set while an ARP entry is rejected after unanswered
	// requests.
	Reject bool
	// Expire is the time left before the entry expires (resolved), stops
	// being reachable (neighbour discovery) or stops being rejected; 0 for
	// permanent and incomplete entries.
	Expire time.Duration
	// Held is the number of packets waiting for resolution.
	Held int
}

// nkey identifies a cache entry: the address, and for IPv6 link-local
// addresses the interface, since the same link-local address may live on
// several links.
type nkey struct {
	a     [16]byte
	scope int32
}

func keyOf(a netip.Addr, ifindex int) nkey {
	k := nkey{a: a.As16()}
	if a.Is6() && a.IsLinkLocalUnicast() {
		k.scope = int32(ifindex)
	}
	return k
}

// link is what the forwarding path reads of a usable entry, published
// whole through entry.fast: an immutable value, replaced on every change.
type link struct {
	mac     header.MAC
	ifindex int
	state   NeighborState // Reachable or Stale
	static  bool
	expire  int64
}

// entry is one neighbour. Its plain fields are guarded by its shard's
// lock; the forwarding path reads only the atomic ones.
type entry struct {
	// fast is the entry as the forwarding path sees it, nil while it is
	// unresolved; publishLocked sets it.
	fast atomic.Pointer[link]
	// refreshed is the second of the last refresh of an ARP entry in use;
	// used the last second an ND entry carried a packet, probed the last
	// second a stale ND entry was probed.
	refreshed atomic.Int64
	used      atomic.Int64
	probed    atomic.Int64

	addr    netip.Addr
	ifindex int
	mac     header.MAC
	state   NeighborState
	static  bool
	reject  bool
	expire  int64            // second: resolved until (ARP), reachable until (ND), rejected until
	asked   int              // requests sent since the last answer
	probes  int              // unicast probes of a stale ND entry since the last answer
	lastAsk int64            // second of the last request; -1 for never
	hold    []*packet.Packet // oldest first
}

// reset makes e a fresh incomplete entry for a on interface
// ifindex; the shard's lock must be held and the hold queue empty.
func (e *entry) reset(a netip.Addr, ifindex int) {
	e.addr, e.ifindex, e.mac, e.state = a, ifindex, header.MAC{}, Incomplete
	e.static, e.reject, e.expire, e.asked, e.lastAsk, e.probes = false, false, 0, 0, -1, 0
	e.refreshed.Store(0)
	e.used.Store(0)
	e.probed.Store(neverProbed)
	e.fast.Store(nil)
}

// publishLocked makes the entry's current state what the forwarding path
// sees; the shard's lock must be held.
func (e *entry) publishLocked() {
	if e.state == Incomplete || e.reject {
		e.fast.Store(nil)
		return
	}
	e.fast.Store(&link{mac: e.mac, ifindex: e.ifindex, state: e.state, static: e.static, expire: e.expire})
}

// neverProbed is entry.probed before a stale entry's first use.
const neverProbed = math.MinInt64 / 2

const nshards = 64

// shard is one part of a cache. Writers hold mu and edit m; readers on the
// forwarding path load ro, a copy of m replaced whenever an entry is added
// or removed (not when one changes: entries publish their own state), so
// a lookup of a resolved entry takes no lock and writes no shared memory.
type shard struct {
	mu sync.Mutex
	m  map[nkey]*entry
	ro atomic.Pointer[map[nkey]*entry]
}

// lookup returns the entry for k without locking.
func (sh *shard) lookup(k nkey) *entry { return (*sh.ro.Load())[k] }

// syncLocked publishes m to readers; mu must be held.
func (sh *shard) syncLocked() {
	m := maps.Clone(sh.m)
	sh.ro.Store(&m)
}

// cache is an ARP or neighbour cache: a sharded map, safe for concurrent
// use.
type cache struct {
	shards [nshards]shard
	held   atomic.Int32 // packets held in all entries
	n      atomic.Int32 // entries
}

func newCache() *cache {
	c := &cache{}
	for i := range c.shards {
		c.shards[i].m = make(map[nkey]*entry)
		c.shards[i].syncLocked()
	}
	return c
}

func (c *cache) shard(k nkey) *shard {
	return &c.shards[(k.a[15]^k.a[14]>>2^k.a[13]<<3)&(nshards-1)]
}

// getLocked returns the entry for k, creating an incomplete one on
// interface ifindex when create is set and the cache has room. It needs the
// shard's write lock held when create is set.
func (c *cache) getLocked(sh *shard, k nkey, a netip.Addr, ifindex int, create bool) *entry {
	e := sh.m[k]
	if e != nil || !create {
		return e
	}
	if c.n.Load() >= maxNeighbors {
		return nil
	}
	e = &entry{addr: a, ifindex: ifindex, lastAsk: -1}
	e.probed.Store(neverProbed)
	sh.m[k] = e
	sh.syncLocked()
	c.n.Add(1)
	return e
}

// deleteLocked removes e and returns its held packets; the shard's write
// lock must be held.
func (c *cache) deleteLocked(sh *shard, k nkey, e *entry) []*packet.Packet {
	delete(sh.m, k)
	sh.syncLocked()
	e.fast.Store(nil)
	c.n.Add(-1)
	return c.purgeLocked(e)
}

// purgeLocked empties e's hold queue and returns what it held.
func (c *cache) purgeLocked(e *entry) []*packet.Packet {
	h := e.hold
	e.hold = nil
	c.held.Add(-int32(len(h)))
	return h
}

// holdLocked queues p on e as OpenBSD's arpresolve does: with the cache
// below its total limit the oldest packet of a full entry queue gives way
// (returned as dropped); at the total limit the entry's queue is purged and
// p dropped too.
func (c *cache) holdLocked(e *entry, p *packet.Packet) (dropped []*packet.Packet) {
	if c.held.Load() < holdTotal {
		if len(e.hold) >= holdPerEntry {
			dropped = append(dropped, e.hold[0])
			e.hold = slices.Delete(e.hold, 0, 1)
			c.held.Add(-1)
		}
		if e.hold == nil {
			e.hold = make([]*packet.Packet, 0, holdPerEntry)
		}
		e.hold = append(e.hold, p)
		c.held.Add(1)
		return dropped
	}
	dropped = c.purgeLocked(e)
	return append(dropped, p)
}

// each calls f for every entry with its shard's write lock held, in
// address order, so that what f sends comes out in the same order on every
// run.
func (c *cache) each(f func(sh *shard, k nkey, e *entry)) {
	type ke struct {
		k nkey
		e *entry
	}
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		list := make([]ke, 0, len(sh.m))
		for k, e := range sh.m {
			list = append(list, ke{k, e})
		}
		slices.SortFunc(list, func(a, b ke) int {
			if c := bytes.Compare(a.k.a[:], b.k.a[:]); c != 0 {
				return c
			}
			return int(a.k.scope - b.k.scope)
		})
		for _, x := range list {
			f(sh, x.k, x.e)
			if sh.m[x.k] == x.e {
				x.e.publishLocked()
			}
		}
		sh.mu.Unlock()
	}
}

// snapshot returns every entry, sorted by address and interface.
func (c *cache) snapshot(st *state, nowSec int64) []Neighbor {
	var out []Neighbor
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for _, e := range sh.m {
			n := Neighbor{
				Addr: e.addr, MAC: e.mac, Ifindex: e.ifindex, State: e.state,
				Permanent: e.static, Reject: e.reject, Held: len(e.hold),
			}
			if ifc := st.iface(e.ifindex); ifc != nil {
				n.Iface = ifc.name
			}
			if !e.static && e.expire > nowSec && (e.state != Incomplete || e.reject) {
				n.Expire = time.Duration(e.expire-nowSec) * time.Second
			}
			if e.addr.Is6() && e.state == Reachable && e.expire <= nowSec {
				n.State = Stale
			}
			out = append(out, n)
		}
		sh.mu.Unlock()
	}
	sortNeighbors(out)
	return out
}

func sortNeighbors(ns []Neighbor) {
	slices.SortFunc(ns, func(a, b Neighbor) int {
		if c := a.Addr.Compare(b.Addr); c != 0 {
			return c
		}
		return a.Ifindex - b.Ifindex
	})
}
