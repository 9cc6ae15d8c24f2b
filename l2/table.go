package l2

import (
	"errors"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hostnet/hostnet/dataplane/header"
)

// ErrTableFull is returned when a static entry is added to a table that
// already holds its maximum number of addresses.
var ErrTableFull = errors.New("l2: address table full")

// MaxMembers is the largest number of members a bridge (and a table entry's
// member field) can hold.
const MaxMembers = 1 << 15

// LearnResult is what Table.Learn did with a source address.
type LearnResult uint8

const (
	// LearnRefreshed: the address was known on this member; it is marked
	// seen.
	LearnRefreshed LearnResult = iota
	// LearnNew: a new entry was made.
	LearnNew
	// LearnMoved: a dynamic entry moved to this member (its move counter
	// went up).
	LearnMoved
	// LearnFull: the address is new but the table is at its limit; nothing
	// was learned.
	LearnFull
	// LearnStatic: a static entry for the address points at another
	// member; static entries never move.
	LearnStatic
)

var learnNames = [...]string{"refreshed", "new", "moved", "full", "static"}

func (r LearnResult) String() string {
	if int(r) < len(learnNames) {
		return learnNames[r]
	}
	return "LearnResult(?)"
}

// Table is a bridge's MAC address table (OpenBSD's bridge_rtnode list):
// address to member, with a hard limit on the number of entries that
// counts static entries too, OpenBSD's two-sweep aging, and per entry a
// move counter and the time it was last seen.
//
// A Table is safe for concurrent use. It is split into shards, each a
// linear-probing hash table guarded by a sequence lock: Lookup, and Learn
// of an address already known on the same member in the same second, take
// no lock and write nothing shared; inserts, moves, deletes and sweeps take
// the shard's mutex. Lookup and Learn do not allocate, except that Learn
// grows a shard holding far more than its share of entries.
type Table struct {
	max    int
	count  atomic.Int64 // entries, static ones included
	seed   uint64
	shift  uint // 64 - log2(len(shards))
	shards []shard
	// fullEvents counts addresses not learned because the table was full.
	fullEvents atomic.Uint64
}

// shard is one part of the table. seq is odd while a writer changes the
// slots: a reader that sees it odd, or changed across its probe, retries.
type shard struct {
	seq atomic.Uint64
	mu  sync.Mutex
	tab atomic.Pointer[slots]
	n   int // entries, under mu
	_   [64]byte
}

type slots struct {
	mask uint64
	s    []slot
}

// slot is one entry. key is 0 when the slot is empty, else usedBit|MAC.
// val holds the member, the static flag and the move counter; stamp the
// second the entry was last seen and the seen-since-last-sweep bit.
type slot struct {
	key   atomic.Uint64
	val   atomic.Uint64
	stamp atomic.Uint64
}

const (
	usedBit   = 1 << 63
	staticBit = 1 << 16
	seenBit   = 1 << 32
	macMask   = 1<<48 - 1
)

func valMember(v uint64) int   { return int(v & 0xffff) }
func valStatic(v uint64) bool  { return v&staticBit != 0 }
func valMoves(v uint64) uint32 { return uint32(v >> 32) }
func makeVal(member int, static bool, moves uint32) uint64 {
	v := uint64(member)&0xffff | uint64(moves)<<32
	if static {
		v |= staticBit
	}
	return v
}

// mac48 packs a MAC into the low 48 bits of a word.
func mac48(m header.MAC) uint64 {
	return uint64(m[0])<<40 | uint64(m[1])<<32 | uint64(m[2])<<24 |
		uint64(m[3])<<16 | uint64(m[4])<<8 | uint64(m[5])
}

func macFrom48(k uint64) header.MAC {
	return header.MAC{byte(k >> 40), byte(k >> 32), byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)}
}

// hash mixes a key (splitmix64's finalizer): the top bits choose the shard,
// the low bits the slot.
func (t *Table) hash(k uint64) uint64 {
	x := k ^ t.seed
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// NewTable returns an empty table that holds at most maxaddr entries,
// static ones included (bridge(4)'s maxaddr; 0 learns nothing). Memory for
// maxaddr entries, up to preallocMax, is allocated now; a larger table
// grows as it fills.
func NewTable(maxaddr int) *Table {
	if maxaddr < 0 {
		maxaddr = 0
	}
	nshards := 4
	for nshards < 64 && nshards*256 < maxaddr {
		nshards *= 2
	}
	t := &Table{
		max:    maxaddr,
		seed:   0x2545f4914f6cdd1d, // fixed: replay is deterministic
		shift:  uint(64 - bits.TrailingZeros(uint(nshards))),
		shards: make([]shard, nshards),
	}
	// Room for each shard's share plus a generous margin, at most half
	// full: a shard grows only when hashing is far from even, or beyond
	// preallocMax entries.
	per := min(maxaddr, preallocMax) / nshards
	per += 4*isqrt(per) + 8
	size := 16
	for size < 2*per {
		size *= 2
	}
	for i := range t.shards {
		t.shards[i].tab.Store(newSlots(size))
	}
	return t
}

// preallocMax bounds the entries NewTable makes room for at once (about
// 13 MB), so that a huge maxaddr does not cost its memory up front.
const preallocMax = 1 << 17

func isqrt(n int) int {
	r := 0
	for (r+1)*(r+1) <= n {
		r++
	}
	return r
}

func newSlots(size int) *slots {
	return &slots{mask: uint64(size - 1), s: make([]slot, size)}
}

// Max returns the table's limit.
func (t *Table) Max() int { return t.max }

// Len returns the number of entries, static ones included.
func (t *Table) Len() int { return int(t.count.Load()) }

// FullEvents returns how many times an address was not learned because the
// table was full.
func (t *Table) FullEvents() uint64 { return t.fullEvents.Load() }

// probe returns the index of k in a, or -1. The caller holds the shard's
// mutex or validates the result with the sequence number.
func probe(a *slots, k, h uint64) int {
	i := h & a.mask
	for range len(a.s) {
		switch a.s[i].key.Load() {
		case k:
			return int(i)
		case 0:
			return -1
		}
		i = (i + 1) & a.mask
	}
	return -1
}

// read finds k without a lock and returns its val and stamp.
func (t *Table) read(k, h uint64) (val, stamp uint64, ok bool) {
	sh := &t.shards[h>>t.shift]
	for {
		s1 := sh.seq.Load()
		if s1&1 == 0 {
			a := sh.tab.Load()
			i := probe(a, k, h)
			if i >= 0 {
				val, stamp, ok = a.s[i].val.Load(), a.s[i].stamp.Load(), true
			}
			if sh.seq.Load() == s1 {
				return val, stamp, ok
			}
			val, stamp, ok = 0, 0, false
		}
		runtime.Gosched()
	}
}

// Lookup returns the member the address was learned on. It is safe for
// concurrent use and does not allocate.
func (t *Table) Lookup(mac header.MAC) (member int, ok bool) {
	return t.lookup(mac48(mac))
}

func (t *Table) lookup(m uint64) (member int, ok bool) {
	k := usedBit | m
	v, _, ok := t.read(k, t.hash(k))
	if !ok {
		return -1, false
	}
	return valMember(v), true
}

// Learn records that mac was seen as a source on member at second now
// (bridge_rtupdate): a known entry on the same member is marked seen; a
// dynamic entry on another member moves; a static entry on another member
// stays as it is; a new address is added unless the table is full. Learn
// does not check the address: the bridge never learns multicast or zero
// sources. member is below MaxMembers. It is safe for concurrent use and
// does not allocate.
func (t *Table) Learn(mac header.MAC, member int, now uint32) LearnResult {
	return t.learn(mac48(mac), member, now)
}

func (t *Table) learn(m uint64, member int, now uint32) LearnResult {
	k := usedBit | m
	h := t.hash(k)
	want := uint64(now) | seenBit
	if v, st, ok := t.read(k, h); ok {
		switch {
		case valMember(v) == member:
			if st == want {
				return LearnRefreshed
			}
		case valStatic(v):
			return LearnStatic
		}
	}
	return t.learnSlow(k, h, member, want)
}

func (t *Table) learnSlow(k, h uint64, member int, want uint64) LearnResult {
	sh := &t.shards[h>>t.shift]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	a := sh.tab.Load()
	if i := probe(a, k, h); i >= 0 {
		s := &a.s[i]
		v := s.val.Load()
		switch {
		case valMember(v) == member:
			// The stamp is not covered by the sequence lock: readers only
			// compare it, writers hold mu.
			s.stamp.Store(want)
			return LearnRefreshed
		case valStatic(v):
			return LearnStatic
		}
		sh.seq.Add(1)
		s.val.Store(makeVal(member, false, valMoves(v)+1))
		s.stamp.Store(want)
		sh.seq.Add(1)
		return LearnMoved
	}
	if !t.reserve() {
		t.fullEvents.Add(1)
		return LearnFull
	}
	t.insertLocked(sh, k, h, makeVal(member, false, 0), want)
	return LearnNew
}

// reserve counts one more entry if the table has room.
func (t *Table) reserve() bool {
	for {
		n := t.count.Load()
		if n >= int64(t.max) {
			return false
		}
		if t.count.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// insertLocked adds a new key. The caller holds sh.mu and has counted the
// entry.
func (t *Table) insertLocked(sh *shard, k, h, val, stamp uint64) {
	a := sh.tab.Load()
	if (sh.n+1)*2 > len(a.s) {
		a = t.growLocked(sh, a)
	}
	sh.seq.Add(1)
	i := h & a.mask
	for a.s[i].key.Load() != 0 {
		i = (i + 1) & a.mask
	}
	a.s[i].val.Store(val)
	a.s[i].stamp.Store(stamp)
	a.s[i].key.Store(k)
	sh.n++
	sh.seq.Add(1)
}

// growLocked doubles a shard's slots. Readers still probing the old ones
// see a consistent, older view. The caller holds sh.mu.
func (t *Table) growLocked(sh *shard, a *slots) *slots {
	b := newSlots(2 * len(a.s))
	for i := range a.s {
		if k := a.s[i].key.Load(); k != 0 {
			putSlot(b, t.hash(k), k, a.s[i].val.Load(), a.s[i].stamp.Load())
		}
	}
	sh.seq.Add(1)
	sh.tab.Store(b)
	sh.seq.Add(1)
	return b
}

// putSlot places an entry in slots no reader sees yet or while the
// shard's sequence number is odd.
func putSlot(a *slots, h, k, val, stamp uint64) {
	i := h & a.mask
	for a.s[i].key.Load() != 0 {
		i = (i + 1) & a.mask
	}
	a.s[i].val.Store(val)
	a.s[i].stamp.Store(stamp)
	a.s[i].key.Store(k)
}

// AddStatic makes mac a static entry on member (ifconfig bridge static):
// it never ages and never moves. An existing entry for mac becomes static;
// a new one is refused with ErrTableFull when the table is full.
func (t *Table) AddStatic(mac header.MAC, member int) error {
	k := usedBit | mac48(mac)
	h := t.hash(k)
	sh := &t.shards[h>>t.shift]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	a := sh.tab.Load()
	if i := probe(a, k, h); i >= 0 {
		s := &a.s[i]
		sh.seq.Add(1)
		s.val.Store(makeVal(member, true, valMoves(s.val.Load())))
		sh.seq.Add(1)
		return nil
	}
	if !t.reserve() {
		t.fullEvents.Add(1)
		return ErrTableFull
	}
	t.insertLocked(sh, k, h, makeVal(member, true, 0), 0)
	return nil
}

// Delete removes the entry for mac, static or not (ifconfig bridge
// deladdr), and reports whether there was one.
func (t *Table) Delete(mac header.MAC) bool {
	k := usedBit | mac48(mac)
	h := t.hash(k)
	sh := &t.shards[h>>t.shift]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	a := sh.tab.Load()
	i := probe(a, k, h)
	if i < 0 {
		return false
	}
	sh.seq.Add(1)
	t.removeAt(a, uint64(i))
	sh.n--
	t.count.Add(-1)
	sh.seq.Add(1)
	return true
}

// removeAt empties slot i and shifts the rest of its probe run back, so
// that no tombstones are needed. The shard's sequence number is odd.
func (t *Table) removeAt(a *slots, i uint64) {
	j := i
	for {
		j = (j + 1) & a.mask
		k := a.s[j].key.Load()
		if k == 0 {
			break
		}
		home := t.hash(k) & a.mask
		// The entry at j may move to i if its home is not cyclically in
		// (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			a.s[i].val.Store(a.s[j].val.Load())
			a.s[i].stamp.Store(a.s[j].stamp.Load())
			a.s[i].key.Store(k)
			i = j
		}
	}
	a.s[i].key.Store(0)
	a.s[i].val.Store(0)
	a.s[i].stamp.Store(0)
}

// rebuild keeps, in every shard, the entries for which keep reports true,
// with the stamp it returns. It returns how many entries went.
func (t *Table) rebuild(keep func(val, stamp uint64) (bool, uint64)) int {
	removed := 0
	var scratch []slotCopy
	for si := range t.shards {
		sh := &t.shards[si]
		sh.mu.Lock()
		a := sh.tab.Load()
		scratch = scratch[:0]
		gone := 0
		for i := range a.s {
			k := a.s[i].key.Load()
			if k == 0 {
				continue
			}
			ok, st := keep(a.s[i].val.Load(), a.s[i].stamp.Load())
			if !ok {
				gone++
				continue
			}
			scratch = append(scratch, slotCopy{k, a.s[i].val.Load(), st})
		}
		if gone == 0 {
			// Only stamps change: no reader depends on them.
			for _, c := range scratch {
				a.s[probe(a, c.key, t.hash(c.key))].stamp.Store(c.stamp)
			}
			sh.mu.Unlock()
			continue
		}
		sh.seq.Add(1)
		for i := range a.s {
			a.s[i].key.Store(0)
		}
		for _, c := range scratch {
			putSlot(a, t.hash(c.key), c.key, c.val, c.stamp)
		}
		sh.n = len(scratch)
		sh.seq.Add(1)
		sh.mu.Unlock()
		t.count.Add(int64(-gone))
		removed += gone
	}
	return removed
}

type slotCopy struct{ key, val, stamp uint64 }

// Sweep is one run of bridge(4)'s aging timer (bridge_rtage): dynamic
// entries not seen since the previous sweep are removed, the others have
// their seen bit cleared. Run every timeout seconds, it removes an idle
// entry after between one and two timeouts. It returns the number of
// entries removed.
func (t *Table) Sweep() int {
	return t.rebuild(func(val, stamp uint64) (bool, uint64) {
		if valStatic(val) {
			return true, stamp &^ seenBit
		}
		if stamp&seenBit == 0 {
			return false, 0
		}
		return true, stamp &^ seenBit
	})
}

// Flush removes every dynamic entry (ifconfig bridge flush) and returns
// how many went.
func (t *Table) Flush() int {
	return t.rebuild(func(val, stamp uint64) (bool, uint64) {
		return valStatic(val), stamp
	})
}

// FlushAll removes every entry, static ones too (ifconfig bridge
// flushall), and returns how many went.
func (t *Table) FlushAll() int {
	return t.rebuild(func(uint64, uint64) (bool, uint64) { return false, 0 })
}

// FlushMember removes the dynamic entries learned on member, as OpenBSD
// does when an interface leaves a bridge, and returns how many went.
func (t *Table) FlushMember(member int) int {
	return t.rebuild(func(val, stamp uint64) (bool, uint64) {
		return valStatic(val) || valMember(val) != member, stamp
	})
}

// Entry is one address of the table, as `ifconfig bridge0 addr` shows it.
type Entry struct {
	MAC    header.MAC
	Member int
	Static bool
	// Seen is bridge(4)'s age bit: the address was seen since the last
	// sweep (ifconfig prints it as the age, 1 or 0).
	Seen bool
	// LastSeen is the second the address was last seen as a source on its
	// member; 0 for a static entry never seen.
	LastSeen uint32
	// Moves counts how many times the address moved between members.
	Moves uint32
}

// Age returns the seconds since the entry was last seen.
func (e Entry) Age(now uint32) uint32 {
	if e.LastSeen == 0 || now < e.LastSeen {
		return 0
	}
	return now - e.LastSeen
}

// Format returns the entry as `ifconfig bridge0 addr` prints it, with
// ifname as its member's name: MAC, interface, the seen bit as the age, and
// the flags.
func (e Entry) Format(ifname string) string {
	age, flags := "0", "flags=0<>"
	if e.Seen {
		age = "1"
	}
	if e.Static {
		flags = "flags=1<STATIC>"
	}
	return e.MAC.String() + " " + ifname + " " + age + " " + flags
}

// Entries returns a snapshot of the table sorted by address. It allocates;
// it is for introspection, not the fast path.
func (t *Table) Entries() []Entry {
	var es []Entry
	for si := range t.shards {
		sh := &t.shards[si]
		sh.mu.Lock()
		a := sh.tab.Load()
		for i := range a.s {
			k := a.s[i].key.Load()
			if k == 0 {
				continue
			}
			v, st := a.s[i].val.Load(), a.s[i].stamp.Load()
			es = append(es, Entry{
				MAC:      macFrom48(k & macMask),
				Member:   valMember(v),
				Static:   valStatic(v),
				Seen:     st&seenBit != 0,
				LastSeen: uint32(st),
				Moves:    valMoves(v),
			})
		}
		sh.mu.Unlock()
	}
	slices.SortFunc(es, func(a, b Entry) int {
		return int(int64(mac48(a.MAC)) - int64(mac48(b.MAC)))
	})
	return es
}

// Entry returns the entry for mac.
func (t *Table) Entry(mac header.MAC) (Entry, bool) {
	k := usedBit | mac48(mac)
	v, st, ok := t.read(k, t.hash(k))
	if !ok {
		return Entry{}, false
	}
	return Entry{
		MAC:      mac,
		Member:   valMember(v),
		Static:   valStatic(v),
		Seen:     st&seenBit != 0,
		LastSeen: uint32(st),
		Moves:    valMoves(v),
	}, true
}

// restore adds a dynamic entry carried over from another table, keeping
// its stamp and move count. It reports false if the table is full or the
// address is already there.
func (t *Table) restore(e Entry) bool {
	k := usedBit | mac48(e.MAC)
	h := t.hash(k)
	sh := &t.shards[h>>t.shift]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if probe(sh.tab.Load(), k, h) >= 0 || !t.reserve() {
		return false
	}
	st := uint64(e.LastSeen)
	if e.Seen {
		st |= seenBit
	}
	t.insertLocked(sh, k, h, makeVal(e.Member, e.Static, e.Moves), st)
	return true
}
