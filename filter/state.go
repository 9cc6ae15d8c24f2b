package filter

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
)

// stateKey is pf's struct pf_state_key: family, protocol, and two
// address/port slots oriented by direction (PF.md 4.1): slot 0 is the far
// side of the interface, slot 1 the near side. An inbound packet puts its
// source in slot 0, an outbound packet its destination, so the reply
// crossing the same interface the other way builds the very same key.
// For ICMP echo both ports hold the identifier.
type stateKey struct {
	// The addresses as big-endian 64-bit halves (an IPv4 address is
	// IPv4-mapped, as netip.Addr.As16 gives it), so that the key is
	// written and hashed in whole words.
	a0h, a0l uint64
	a1h, a1l uint64
	p0, p1   uint16
	proto    uint8
	af       uint8 // 4 or 6
}

const (
	skWire  = 0 // addresses as seen on the interface
	skStack = 1 // as seen by the host or forwarding side
)

func keyFor(dir Dir, af, proto uint8, src, dst netip.AddrPort) stateKey {
	var k stateKey
	k.set(dir, af, proto, &src, &dst)
	return k
}

// eq reports whether k and o are the same key, comparing words (the
// generic struct comparison calls memequal).
func (k *stateKey) eq(o *stateKey) bool {
	return k.a0l == o.a0l && k.a1l == o.a1l && k.a0h == o.a0h && k.a1h == o.a1h &&
		k.p0 == o.p0 && k.p1 == o.p1 && k.proto == o.proto && k.af == o.af
}

func halves(a netip.Addr) (uint64, uint64) {
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}

// setFromHeader fills k from the IP header at ip (its addresses) and the
// ports of pd, as set does from pd's addresses; the fast path's version,
// reading the addresses straight from the packet.
func (k *stateKey) setFromHeader(dir Dir, pd *pdesc, ip []byte) {
	sp, dp := pd.src.Port(), pd.dst.Port()
	var sh, sl, dh, dl uint64
	if pd.af == 4 {
		sl = 0xffff<<32 | uint64(binary.BigEndian.Uint32(ip[12:16]))
		dl = 0xffff<<32 | uint64(binary.BigEndian.Uint32(ip[16:20]))
	} else {
		_ = ip[39]
		sh, sl = binary.BigEndian.Uint64(ip[8:]), binary.BigEndian.Uint64(ip[16:])
		dh, dl = binary.BigEndian.Uint64(ip[24:]), binary.BigEndian.Uint64(ip[32:])
	}
	if dir != In {
		sh, sl, dh, dl, sp, dp = dh, dl, sh, sl, dp, sp
	}
	k.a0h, k.a0l, k.a1h, k.a1l = sh, sl, dh, dl
	k.p0, k.p1, k.proto, k.af = sp, dp, pd.proto, pd.af
}

// set fills k in place from addresses and ports.
func (k *stateKey) set(dir Dir, af, proto uint8, src, dst *netip.AddrPort) {
	if dir != In {
		src, dst = dst, src
	}
	k.proto, k.af = proto, af
	k.a0h, k.a0l = halves(src.Addr())
	k.a1h, k.a1l = halves(dst.Addr())
	k.p0, k.p1 = src.Port(), dst.Port()
}

func (k *stateKey) addr(i int) netip.Addr {
	h, l := k.a0h, k.a0l
	if i == 1 {
		h, l = k.a1h, k.a1l
	}
	if k.af == 4 {
		v := uint32(l)
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], h)
	binary.BigEndian.PutUint64(b[8:], l)
	return netip.AddrFrom16(b)
}

// addr4 is addr for an IPv4 key, as a big-endian word.
func (k *stateKey) addr4(i int) uint32 {
	if i == 1 {
		return uint32(k.a1l)
	}
	return uint32(k.a0l)
}

func (k *stateKey) port(i int) uint16 {
	if i == 1 {
		return k.p1
	}
	return k.p0
}

func (k *stateKey) ap(i int) netip.AddrPort { return netip.AddrPortFrom(k.addr(i), k.port(i)) }

// peer is one side of a state (pf_state_peer).
type peer struct {
	seqlo  uint32
	seqhi  uint32
	maxWin uint16
	wscale uint8 // PF_WSCALE_FLAG | shift
	state  uint8 // TCPS_* for TCP, PFUDPS_* / PFOTHERS_* otherwise
}

// state is one pf state. Its keys, rule pointers, flags and interface
// never change after insertion; the rest is guarded by the lock of the
// shard that holds its wire key (so an untranslated packet takes one
// lock for lookup and tracking). The fields a packet of an untranslated
// state reads and writes (peers, clock, flags, scrub options, counters,
// wire key) come first, so that a hit touches two cache lines; the
// struct is 192 bytes, a size class of its own.
type state struct {
	src  peer // the side that created the state
	dst  peer
	last uint32 // last packet (pf's expire)
	// anchorNr is 1 + the number of the anchor rule the state's rule was
	// reached through, 0 for none (pflog and pfctl -ss -v show it).
	anchorNr uint32
	// creation is in seconds, as the caller's clock gives them.
	creation uint32
	tag      uint16
	ifindex  int16 // -1: floating; the dataplane's indexes are small
	// timeout is the index of the state's timeout, tmUnlinked once the
	// state left the table (pf's PFTM_UNLINKED).
	timeout uint8
	wshard  uint8 // the shard of the wire key, set by insert
	flags   stateFlags
	// The scrub options the state applies to each of its packets (pf's
	// set_tos, min_ttl and max_mss, PF.md 1.2).
	setTOS  uint8
	limits  scrubLimits
	packets [2]uint64
	bytes   [2]uint64

	key [2]stateKey // wire, stack
	// reverse is the state that the packets of this one, an in state,
	// last matched on the way out: pf out tries it before the table.
	reverse atomic.Pointer[state]
	rule    *rule
	sn      *srcNode
	id      uint64
}

// stateFlags are a state's bits that never change once it is in the
// table: how it was created and the scrub flags it applies (pf's
// state_flags).
type stateFlags uint8

const (
	sfOut    stateFlags = 1 << iota // created by an outbound packet
	sfSloppy                        // keep state (sloppy)
	sfXlat                          // the keys differ (translated), set by insert
	sfLogAll                        // log (all): every packet is logged
	// The scrub flags (PFSTATE_NODF, PFSTATE_RANDOMID, PFSTATE_SCRUB_TCP,
	// PFSTATE_SETTOS), also carried by rules and the walk's actions.
	sfNoDF
	sfRandomID
	sfScrubTCP
	sfSetTOS

	sfScrub = sfNoDF | sfRandomID | sfScrubTCP | sfSetTOS
)

// scrubLimits are a state's TTL floors and max-mss, in one word so that
// a hit tests them at once. ttl is per side (index 0 for packets from
// the creator) the lowest TTL or hop limit the side's packets leave
// with: min-ttl, which `reassemble tcp` raises to the highest the side
// sent (pf's pfss_ttl, PF.md 7).
type scrubLimits struct {
	ttl    [2]uint8
	maxMSS uint16
}

// tmUnlinked is the timeout of a state that left the table.
const tmUnlinked = 0xff

// dir is the direction of the packet that created s: sfOut is bit 0,
// and Out is In + 1.
func (s *state) dir() Dir { return In + Dir(s.flags&sfOut) }

func (s *state) sloppy() bool { return s.flags&sfSloppy != 0 }

// xlat reports whether s's keys differ, without reading them.
func (s *state) xlat() bool { return s.flags&sfXlat != 0 }

// dead reports whether s left the table; it is read under the lock of
// s's wire key's shard.
func (s *state) dead() bool { return s.timeout == tmUnlinked }

func (s *state) translated() bool { return s.key[skWire] != s.key[skStack] }

// TCP peer states (netinet/tcp_fsm.h), as pf uses them.
const (
	tcpsClosed      = 0
	tcpsListen      = 1
	tcpsSynSent     = 2
	tcpsSynReceived = 3
	tcpsEstablished = 4
	tcpsCloseWait   = 5
	tcpsFinWait1    = 6
	tcpsClosing     = 7
	tcpsLastAck     = 8
	tcpsFinWait2    = 9
	tcpsTimeWait    = 10
)

var tcpStateNames = [...]string{"CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED",
	"CLOSE_WAIT", "FIN_WAIT_1", "CLOSING", "LAST_ACK", "FIN_WAIT_2", "TIME_WAIT"}

// UDP and other protocols' peer states (PFUDPS_*, PFOTHERS_*).
const (
	udpNoTraffic = 0
	udpSingle    = 1
	udpMultiple  = 2
)

var udpStateNames = [...]string{"NO_TRAFFIC", "SINGLE", "MULTIPLE"}

const numShards = 256

// slot is one entry of a shard's table: a state reachable through the
// key whose hash is h. A state has one slot per distinct key.
type slot struct {
	h uint64
	s *state // nil: empty
}

// shard is one lock and an open-addressed table (linear probing, no
// tombstones: removal shifts the run back). A probe compares the stored
// hashes and dereferences only a state whose hash is the key's, so a hit
// costs the probe's cache line and the state's.
type shard struct {
	mu    sync.Mutex
	slots []slot // at most 7/8 full; grows by half
	n     int
	// ts holds the timestamp scrubbing of the `reassemble tcp` states
	// whose wire key is here: kept beside the states, as pf keeps its
	// pf_state_scrub, since few states have it.
	ts map[*state]*tsScrub
	_  [16]byte // keep shards on their own cache lines
}

// stateTable is the sharded state table: each state is reachable from its
// wire key and, when translated, its stack key. The low 8 bits of a key's
// hash pick the shard, its high bits the home slot in it (home).
type stateTable struct {
	shards [numShards]shard
	seed   uint64 // keys the hash, so that probe runs cannot be aimed at
	count  atomic.Int64
	nextID atomic.Uint64
}

func newStateTable() *stateTable {
	return &stateTable{seed: rand.Uint64()}
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a^0xa0761d6478bd642f, b^0xe7037ed1a0b428db)
	return hi ^ lo
}

// hash64 is the seeded hash of k (wyhash's mixing).
func (t *stateTable) hash64(k *stateKey) uint64 {
	h := mix(t.seed^k.a0h, k.a0l)
	h = mix(h^k.a1h, k.a1l)
	return mix(h, uint64(k.p0)<<48|uint64(k.p1)<<32|uint64(k.proto)<<8|uint64(k.af))
}

func (t *stateTable) shardOf(k *stateKey) *shard { return &t.shards[t.hash64(k)%numShards] }

// home is the slot where a key of hash h starts its probe in a table of
// n slots: the hash scaled to n by its high bits (Lemire's fastrange),
// so that a table can grow by half and not only double: at a million
// states doubling would leave a quarter of the slots' memory idle.
func home(h, n uint64) uint64 {
	hi, _ := bits.Mul64(h, n)
	return hi
}

// next is the slot after i in a table of n slots, wrapping around.
func next(i, n uint64) uint64 {
	if i++; i == n {
		return 0
	}
	return i
}

// findLocked returns the state with key k (hash h) in sh and which of
// its keys matched (skWire for an untranslated state), or nil.
func (sh *shard) findLocked(k *stateKey, h uint64) (*state, int) {
	n := uint64(len(sh.slots))
	if n == 0 {
		return nil, 0
	}
	for i := home(h, n); ; i = next(i, n) {
		e := &sh.slots[i]
		if e.s == nil {
			return nil, 0
		}
		if e.h == h {
			if e.s.key[0].eq(k) {
				return e.s, 0
			}
			if e.s.key[1].eq(k) {
				return e.s, 1
			}
		}
	}
}

// addLocked puts s in sh under hash h, growing the table past 7/8 full.
func (sh *shard) addLocked(s *state, h uint64) {
	if n := len(sh.slots); (sh.n+1)*8 > n*7 {
		old := sh.slots
		sh.slots = make([]slot, max(16, n+n/2))
		for _, e := range old {
			if e.s != nil {
				sh.place(e)
			}
		}
	}
	sh.place(slot{h: h, s: s})
	sh.n++
}

// place stores e in the first empty slot of its run.
func (sh *shard) place(e slot) {
	n := uint64(len(sh.slots))
	i := home(e.h, n)
	for sh.slots[i].s != nil {
		i = next(i, n)
	}
	sh.slots[i] = e
}

// removeLocked takes s's slot of hash h out of sh, reporting whether it
// was there. The entries after it in the run move back to fill the hole
// unless that would put them before their home slot.
func (sh *shard) removeLocked(s *state, h uint64) bool {
	if len(sh.slots) == 0 {
		return false
	}
	n := uint64(len(sh.slots))
	i := home(h, n)
	for {
		e := &sh.slots[i]
		if e.s == nil {
			return false
		}
		if e.s == s && e.h == h {
			break
		}
		i = next(i, n)
	}
	for j := next(i, n); sh.slots[j].s != nil; j = next(j, n) {
		hm := home(sh.slots[j].h, n)
		// The entry at j stays if its home is cyclically in (i, j].
		var stays bool
		if i <= j {
			stays = i < hm && hm <= j
		} else {
			stays = i < hm || hm <= j
		}
		if !stays {
			sh.slots[i] = sh.slots[j]
			i = j
		}
	}
	sh.slots[i] = slot{}
	sh.n--
	return true
}

// lockKeys locks the shards of a state's two keys, lower index first so
// that two inserters cannot deadlock, and returns them.
func (t *stateTable) lockKeys(s *state) (a, b *shard) {
	i, j := t.hash64(&s.key[0])%numShards, t.hash64(&s.key[1])%numShards
	a, b = &t.shards[i], &t.shards[j]
	switch {
	case i == j:
		a.mu.Lock()
	case i < j:
		a.mu.Lock()
		b.mu.Lock()
	default:
		b.mu.Lock()
		a.mu.Lock()
	}
	return a, b
}

// acquire returns the state holding key k, which of its keys matched
// (skWire for an untranslated state), and sh, the lock of its wire key's
// shard, held (the caller unlocks it); or nil. It does not allocate.
func (t *stateTable) acquire(k *stateKey) (s *state, ki int, sh *shard) {
	h := t.hash64(k)
	sh = &t.shards[h%numShards]
	sh.mu.Lock()
	s, ki = sh.findLocked(k, h)
	if s == nil {
		sh.mu.Unlock()
		return nil, 0, nil
	}
	if ki == skWire {
		return s, ki, sh
	}
	ws := &t.shards[s.wshard]
	if ws == sh {
		return s, ki, sh
	}
	sh.mu.Unlock()
	ws.mu.Lock()
	// remove marks a state dead under the locks of both its keys' shards:
	// one that is not is still in the table.
	if s.dead() {
		ws.mu.Unlock()
		return nil, 0, nil
	}
	return s, ki, ws
}

// linked returns the state that in (the state pf in found for the same
// packet) links to, if it holds key k, with the lock acquire would take,
// held; or nil. The link is a hint: keys never change, and a state that
// is not dead under its lock is in the table, so a state holding k is the
// one the table would give.
func (t *stateTable) linked(in *state, k *stateKey) (s *state, ki int, sh *shard) {
	if in == nil {
		return nil, 0, nil
	}
	if s = in.reverse.Load(); s == nil {
		return nil, 0, nil
	}
	switch {
	case s.key[skWire].eq(k):
		ki = skWire
	case s.key[skStack].eq(k):
		ki = skStack
	default:
		return nil, 0, nil
	}
	sh = &t.shards[s.wshard]
	sh.mu.Lock()
	if s.dead() {
		sh.mu.Unlock()
		return nil, 0, nil
	}
	return s, ki, sh
}

// has reports whether any state holds k (NAT's collision test).
func (t *stateTable) has(k *stateKey) bool {
	h := t.hash64(k)
	sh := &t.shards[h%numShards]
	sh.mu.Lock()
	s, _ := sh.findLocked(k, h)
	sh.mu.Unlock()
	return s != nil
}

// insert adds s under its keys, with its timestamp scrubbing ts if not
// nil. When a key is taken it fails and returns the state holding it,
// which the caller may recycle (closed TCP) and retry. Two different keys
// of one state with the same 64-bit hash are refused (conflict nil):
// their slots could not be told apart.
func (t *stateTable) insert(s *state, ts *tsScrub) (ok bool, conflict *state) {
	h0, h1 := t.hash64(&s.key[0]), t.hash64(&s.key[1])
	same := s.key[0] == s.key[1]
	if !same && h0 == h1 {
		return false, nil
	}
	if !same {
		s.flags |= sfXlat
	}
	s.wshard = uint8(h0 % numShards)
	a, b := t.lockKeys(s)
	defer unlockPair(a, b)
	if o, _ := a.findLocked(&s.key[0], h0); o != nil {
		return false, o
	}
	if !same {
		if o, _ := b.findLocked(&s.key[1], h1); o != nil {
			return false, o
		}
	}
	a.addLocked(s, h0)
	if !same {
		b.addLocked(s, h1)
	}
	if ts != nil {
		if a.ts == nil {
			a.ts = map[*state]*tsScrub{}
		}
		a.ts[s] = ts
	}
	t.count.Add(1)
	return true, nil
}

// recyclable reports whether o may give its keys to a new state: a TCP
// state whose sides both reached FIN_WAIT_2 (pf_state_key_attach).
func (t *stateTable) recyclable(o *state) bool {
	if o == nil {
		return false
	}
	sh := t.shardOf(&o.key[skWire])
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return o.dead() || o.key[0].proto == 6 && o.src.state >= tcpsFinWait2 && o.dst.state >= tcpsFinWait2
}

// remove deletes s from the table if it is still there, marking it dead,
// and returns its counters.
func (t *stateTable) remove(s *state) (found bool, packets, bytes [2]uint64) {
	a, b := t.lockKeys(s)
	if !s.dead() {
		found = a.removeLocked(s, t.hash64(&s.key[0]))
		if s.key[1] != s.key[0] {
			found = b.removeLocked(s, t.hash64(&s.key[1])) || found
		}
	}
	if found {
		s.timeout = tmUnlinked
		packets, bytes = s.packets, s.bytes
		delete(a.ts, s)
	}
	unlockPair(a, b)
	if found {
		t.count.Add(-1)
	}
	return found, packets, bytes
}

func unlockPair(a, b *shard) {
	a.mu.Unlock()
	if a != b {
		b.mu.Unlock()
	}
}

// each calls fn for every state once (at its wire key), shard by shard,
// with the lock that guards the state held: fn must not lock shards.
func (t *stateTable) each(fn func(s *state)) {
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for _, e := range sh.slots {
			if e.s != nil && (!e.s.xlat() || t.hash64(&e.s.key[skWire]) == e.h) {
				fn(e.s)
			}
		}
		sh.mu.Unlock()
	}
}
