package filter

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/hostnet/hostnet/filter/pfconf"
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
	*k = stateKey{a0h: sh, a0l: sl, a1h: dh, a1l: dl, p0: sp, p1: dp, proto: pd.proto, af: pd.af}
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

// state is one pf state. Its keys, rule pointers, direction and
// interface never change after insertion; the rest is guarded by the lock
// of the shard that holds its wire key (so an untranslated packet takes
// one lock for lookup and tracking).
type state struct {
	key    [2]stateKey // wire, stack
	next   [2]*state   // the chains of the keys' hashes, guarded by their shards
	src    peer        // the side that created the state
	dst    peer
	rule   *rule
	anchor *rule
	sn     *srcNode

	id       uint64
	creation uint32 // seconds, as the caller's clock gives them
	last     uint32 // last packet (pf's expire)
	packets  [2]uint64
	bytes    [2]uint64

	ifindex int32 // -1: floating
	dir     Dir
	timeout uint8
	tag     uint16
	log     pfconf.LogFlags
	opts    bool // allow-opts
	dead    bool
	sloppy  bool
}

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

type shard struct {
	mu sync.Mutex
	// m maps a key's 64-bit hash to the first state of its chain; states
	// whose keys share a hash are linked through state.next.
	m map[uint64]*state
	_ [48]byte // keep shards on their own cache lines
}

// stateTable is the sharded state table: each state is reachable from its
// wire key and, when translated, its stack key.
type stateTable struct {
	shards [numShards]shard
	seed   uint64 // keys the hash, so that chains cannot be aimed at
	count  atomic.Int64
	nextID atomic.Uint64
}

func newStateTable() *stateTable {
	t := &stateTable{seed: rand.Uint64()}
	for i := range t.shards {
		t.shards[i].m = make(map[uint64]*state)
	}
	return t
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

// link returns which of s's keys puts it in the chain of hash h.
func (t *stateTable) link(s *state, h uint64) int {
	if t.hash64(&s.key[0]) == h {
		return 0
	}
	return 1
}

// findLocked returns the state with key k (hash h) in sh, or nil.
func (t *stateTable) findLocked(sh *shard, k *stateKey, h uint64) *state {
	for s := sh.m[h]; s != nil; {
		if s.key[0].eq(k) || s.key[1].eq(k) {
			return s
		}
		s = s.next[t.link(s, h)]
	}
	return nil
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

// acquire returns the state holding key k with the lock of its wire
// key's shard held (the caller unlocks sh), or nil. It does not allocate.
func (t *stateTable) acquire(k *stateKey) (s *state, sh *shard) {
	h := t.hash64(k)
	sh = &t.shards[h%numShards]
	sh.mu.Lock()
	s = t.findLocked(sh, k, h)
	if s == nil {
		sh.mu.Unlock()
		return nil, nil
	}
	if s.key[skWire].eq(k) {
		return s, sh
	}
	wh := t.hash64(&s.key[skWire])
	ws := &t.shards[wh%numShards]
	if ws == sh {
		return s, sh
	}
	sh.mu.Unlock()
	ws.mu.Lock()
	if t.findLocked(ws, &s.key[skWire], wh) != s {
		ws.mu.Unlock()
		return nil, nil
	}
	return s, ws
}

// has reports whether any state holds k (NAT's collision test).
func (t *stateTable) has(k *stateKey) bool {
	h := t.hash64(k)
	sh := &t.shards[h%numShards]
	sh.mu.Lock()
	s := t.findLocked(sh, k, h)
	sh.mu.Unlock()
	return s != nil
}

// insert adds s under its keys. When a key is taken it fails and returns
// the state holding it, which the caller may recycle (closed TCP) and
// retry. Two different keys of one state with the same 64-bit hash are
// refused (conflict nil): the chains could not tell them apart.
func (t *stateTable) insert(s *state) (ok bool, conflict *state) {
	h0, h1 := t.hash64(&s.key[0]), t.hash64(&s.key[1])
	same := s.key[0] == s.key[1]
	if !same && h0 == h1 {
		return false, nil
	}
	a, b := t.lockKeys(s)
	defer unlockPair(a, b)
	if o := t.findLocked(a, &s.key[0], h0); o != nil {
		return false, o
	}
	if !same {
		if o := t.findLocked(b, &s.key[1], h1); o != nil {
			return false, o
		}
	}
	s.next[0] = a.m[h0]
	a.m[h0] = s
	if !same {
		s.next[1] = b.m[h1]
		b.m[h1] = s
	}
	t.count.Add(1)
	return true, nil
}

// unlinkLocked takes s out of the chain of hash h in sh through its link
// i, reporting whether it was there.
func (t *stateTable) unlinkLocked(sh *shard, s *state, h uint64, i int) bool {
	var prev *state
	for c := sh.m[h]; c != nil; {
		ci := t.link(c, h)
		if c == s {
			if prev == nil {
				if s.next[i] == nil {
					delete(sh.m, h)
				} else {
					sh.m[h] = s.next[i]
				}
			} else {
				prev.next[t.link(prev, h)] = s.next[i]
			}
			s.next[i] = nil
			return true
		}
		prev, c = c, c.next[ci]
	}
	return false
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
	return o.dead || o.key[0].proto == 6 && o.src.state >= tcpsFinWait2 && o.dst.state >= tcpsFinWait2
}

// remove deletes s from the table if it is still there, marking it dead,
// and returns its counters.
func (t *stateTable) remove(s *state) (found bool, packets, bytes [2]uint64) {
	a, b := t.lockKeys(s)
	if !s.dead {
		found = t.unlinkLocked(a, s, t.hash64(&s.key[0]), 0)
		if s.key[1] != s.key[0] {
			found = t.unlinkLocked(b, s, t.hash64(&s.key[1]), 1) || found
		}
	}
	if found {
		s.dead = true
		packets, bytes = s.packets, s.bytes
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
		for h, s := range sh.m {
			for s != nil {
				li := t.link(s, h)
				next := s.next[li]
				if li == skWire {
					fn(s)
				}
				s = next
			}
		}
		sh.mu.Unlock()
	}
}
