package filter

import (
	"encoding/binary"
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

// hash mixes the key for shard selection (the map hashes again).
func (k *stateKey) hash() uint64 {
	// The low words hold IPv4 addresses and the host part of IPv6 ones.
	h := k.a0l ^ k.a1l<<1 ^ uint64(k.p0)<<32 ^ uint64(k.p1)<<16 ^ uint64(k.proto)
	h *= 0x9e3779b97f4a7c15
	return h >> 40
}

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
	src    peer        // the side that created the state
	dst    peer
	rule   *rule
	anchor *rule
	sn     *srcNode

	id       uint64
	creation int64
	last     int64 // last packet (pf's expire)
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
	m  map[stateKey]*state
	_  [40]byte // keep shards on their own cache lines
}

// stateTable is the sharded state table: each state is reachable from its
// wire key and, when translated, its stack key.
type stateTable struct {
	shards [numShards]shard
	count  atomic.Int64
	nextID atomic.Uint64
}

func newStateTable() *stateTable {
	t := &stateTable{}
	for i := range t.shards {
		t.shards[i].m = make(map[stateKey]*state)
	}
	return t
}

func (t *stateTable) shardOf(k *stateKey) *shard { return &t.shards[k.hash()%numShards] }

func shardIndex(k *stateKey) int { return int(k.hash() % numShards) }

// lockKeys locks the shards of a state's two keys, lower index first so
// that two inserters cannot deadlock, and returns them.
func (t *stateTable) lockKeys(s *state) (a, b *shard) {
	i, j := shardIndex(&s.key[0]), shardIndex(&s.key[1])
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
	sh = t.shardOf(k)
	sh.mu.Lock()
	s = sh.m[*k]
	if s == nil {
		sh.mu.Unlock()
		return nil, nil
	}
	if s.key[skWire] == *k {
		return s, sh
	}
	ws := t.shardOf(&s.key[skWire])
	if ws == sh {
		return s, sh
	}
	sh.mu.Unlock()
	ws.mu.Lock()
	if ws.m[s.key[skWire]] != s {
		ws.mu.Unlock()
		return nil, nil
	}
	return s, ws
}

// has reports whether any state holds k (NAT's collision test).
func (t *stateTable) has(k *stateKey) bool {
	sh := t.shardOf(k)
	sh.mu.Lock()
	_, ok := sh.m[*k]
	sh.mu.Unlock()
	return ok
}

// insert adds s under its keys. When a key is taken it fails and returns
// the state holding it, which the caller may recycle (closed TCP) and
// retry.
func (t *stateTable) insert(s *state) (ok bool, conflict *state) {
	a, b := t.lockKeys(s)
	defer unlockPair(a, b)
	if o := a.m[s.key[0]]; o != nil {
		return false, o
	}
	if o := b.m[s.key[1]]; o != nil && s.key[1] != s.key[0] {
		return false, o
	}
	a.m[s.key[0]] = s
	b.m[s.key[1]] = s
	t.count.Add(1)
	return true, nil
}

// recyclable reports whether o may give its keys to a new state: a TCP
// state whose sides both reached FIN_WAIT_2 (pf_state_key_attach).
func (t *stateTable) recyclable(o *state) bool {
	sh := t.shardOf(&o.key[skWire])
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return o.dead || o.key[0].proto == 6 && o.src.state >= tcpsFinWait2 && o.dst.state >= tcpsFinWait2
}

// remove deletes s from the table if it is still there, marking it dead,
// and returns its counters.
func (t *stateTable) remove(s *state) (found bool, packets, bytes [2]uint64) {
	a, b := t.lockKeys(s)
	for i, sh := range [2]*shard{a, b} {
		if cur, ok := sh.m[s.key[i]]; ok && cur == s {
			delete(sh.m, s.key[i])
			found = true
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
		for k, s := range sh.m {
			if k == s.key[skWire] {
				fn(s)
			}
		}
		sh.mu.Unlock()
	}
}
