package l2

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hostnet/hostnet/dataplane/header"
)

func TestLearn(t *testing.T) {
	type step struct {
		mac    string
		member int
		now    uint32
		want   LearnResult
	}
	tests := []struct {
		name      string
		max       int
		static    map[string]int
		steps     []step
		wantEntry map[string]Entry // MAC, Member, Static, Moves checked
		wantLen   int
	}{
		{
			name:      "new then refreshed",
			max:       10,
			steps:     []step{{macA, 0, 1, LearnNew}, {macA, 0, 1, LearnRefreshed}, {macA, 0, 2, LearnRefreshed}},
			wantEntry: map[string]Entry{macA: {Member: 0, LastSeen: 2, Seen: true}},
			wantLen:   1,
		},
		{
			name:      "move counts",
			max:       10,
			steps:     []step{{macA, 0, 1, LearnNew}, {macA, 1, 2, LearnMoved}, {macA, 1, 3, LearnRefreshed}, {macA, 0, 4, LearnMoved}},
			wantEntry: map[string]Entry{macA: {Member: 0, Moves: 2, LastSeen: 4, Seen: true}},
			wantLen:   1,
		},
		{
			name:      "full table learns nothing new",
			max:       2,
			steps:     []step{{macA, 0, 1, LearnNew}, {macB, 1, 1, LearnNew}, {macC, 2, 1, LearnFull}, {macA, 1, 2, LearnMoved}},
			wantEntry: map[string]Entry{macA: {Member: 1, Moves: 1, LastSeen: 2, Seen: true}, macB: {Member: 1, LastSeen: 1, Seen: true}},
			wantLen:   2,
		},
		{
			name:      "static never moves",
			max:       10,
			static:    map[string]int{macB: 1},
			steps:     []step{{macB, 2, 5, LearnStatic}, {macB, 1, 6, LearnRefreshed}},
			wantEntry: map[string]Entry{macB: {Member: 1, Static: true, LastSeen: 6, Seen: true}},
			wantLen:   1,
		},
		{
			name:      "static counts against the limit",
			max:       1,
			static:    map[string]int{macB: 1},
			steps:     []step{{macA, 0, 1, LearnFull}},
			wantEntry: map[string]Entry{macB: {Member: 1, Static: true}},
			wantLen:   1,
		},
		{
			name:    "maxaddr 0 learns nothing",
			max:     0,
			steps:   []step{{macA, 0, 1, LearnFull}},
			wantLen: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := NewTable(tc.max)
			for m, i := range tc.static {
				if err := tb.AddStatic(mac(m), i); err != nil {
					t.Fatalf("AddStatic(%s, %d) = %v", m, i, err)
				}
			}
			for _, s := range tc.steps {
				if got := tb.Learn(mac(s.mac), s.member, s.now); got != s.want {
					t.Errorf("Learn(%s, %d, %d) = %v, want %v", s.mac, s.member, s.now, got, s.want)
				}
			}
			for m, want := range tc.wantEntry {
				want.MAC = mac(m)
				got, ok := tb.Entry(mac(m))
				if !ok || got != want {
					t.Errorf("Entry(%s) = %+v, %v, want %+v", m, got, ok, want)
				}
				if i, ok := tb.Lookup(mac(m)); !ok || i != want.Member {
					t.Errorf("Lookup(%s) = %d, %v, want %d", m, i, ok, want.Member)
				}
			}
			if got := tb.Len(); got != tc.wantLen {
				t.Errorf("Len() = %d, want %d", got, tc.wantLen)
			}
		})
	}
}

func TestStaticFullTable(t *testing.T) {
	tb := NewTable(2)
	tb.Learn(mac(macA), 0, 1)
	tb.Learn(mac(macB), 0, 1)
	if err := tb.AddStatic(mac(macC), 1); !errors.Is(err, ErrTableFull) {
		t.Fatalf("AddStatic on a full table = %v, want ErrTableFull", err)
	}
	// An address already there becomes static in place.
	if err := tb.AddStatic(mac(macA), 1); err != nil {
		t.Fatalf("AddStatic of a known address = %v", err)
	}
	if e, _ := tb.Entry(mac(macA)); !e.Static || e.Member != 1 {
		t.Errorf("Entry(%s) = %+v, want static on 1", macA, e)
	}
	if got := tb.FullEvents(); got != 1 {
		t.Errorf("FullEvents() = %d, want 1", got)
	}
}

func TestSweep(t *testing.T) {
	tb := NewTable(10)
	tb.AddStatic(mac(macC), 2)
	tb.Learn(mac(macA), 0, 1)
	tb.Learn(mac(macB), 1, 1)

	// First sweep: both were seen, both stay, seen bits cleared.
	if n := tb.Sweep(); n != 0 {
		t.Fatalf("first Sweep() removed %d, want 0", n)
	}
	if e, _ := tb.Entry(mac(macA)); e.Seen {
		t.Errorf("after a sweep, Entry(%s).Seen = true, want false", macA)
	}
	// macB is seen again between the sweeps, macA is not.
	tb.Learn(mac(macB), 1, 200)
	if n := tb.Sweep(); n != 1 {
		t.Fatalf("second Sweep() removed %d, want 1", n)
	}
	if _, ok := tb.Lookup(mac(macA)); ok {
		t.Errorf("Lookup(%s) after two idle sweeps found it", macA)
	}
	if _, ok := tb.Lookup(mac(macB)); !ok {
		t.Errorf("Lookup(%s) seen between sweeps: gone", macB)
	}
	for range 5 {
		tb.Sweep()
	}
	if _, ok := tb.Lookup(mac(macC)); !ok {
		t.Errorf("static %s aged out", macC)
	}
	if got := tb.Len(); got != 1 {
		t.Errorf("Len() = %d, want 1 (the static entry)", got)
	}
}

func TestDeleteFlush(t *testing.T) {
	setup := func() *Table {
		tb := NewTable(10)
		tb.AddStatic(mac(macC), 2)
		tb.Learn(mac(macA), 0, 1)
		tb.Learn(mac(macB), 1, 1)
		return tb
	}
	tests := []struct {
		name    string
		op      func(*Table) int
		removed int
		left    []string
	}{
		{"flush keeps static", (*Table).Flush, 2, []string{macC}},
		{"flushall", (*Table).FlushAll, 3, nil},
		{"flush member 1", func(tb *Table) int { return tb.FlushMember(1) }, 1, []string{macA, macC}},
		{"deladdr static", func(tb *Table) int {
			if tb.Delete(mac(macC)) {
				return 1
			}
			return 0
		}, 1, []string{macA, macB}},
		{"deladdr unknown", func(tb *Table) int {
			if tb.Delete(mac("02:00:00:00:00:99")) {
				return 1
			}
			return 0
		}, 0, []string{macA, macB, macC}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := setup()
			if got := tc.op(tb); got != tc.removed {
				t.Errorf("removed %d, want %d", got, tc.removed)
			}
			es := tb.Entries()
			var got []string
			for _, e := range es {
				got = append(got, e.MAC.String())
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.left) {
				t.Errorf("Entries() = %v, want %v", got, tc.left)
			}
			if tb.Len() != len(tc.left) {
				t.Errorf("Len() = %d, want %d", tb.Len(), len(tc.left))
			}
		})
	}
}

func randMAC(r *rand.Rand) header.MAC {
	var m header.MAC
	v := r.Uint64()
	for i := range m {
		m[i] = byte(v >> (8 * i))
	}
	m[0] &^= 1 // unicast
	return m
}

// TestTableAgainstMap drives the table with random operations and checks
// it against a map, through shard growth and backward-shift deletes.
func TestTableAgainstMap(t *testing.T) {
	tb := NewTable(10)
	tb.max = 5000 // far beyond the space made at construction: shards grow
	r := rand.New(rand.NewPCG(1, 2))
	ref := map[header.MAC]int{}
	var macs []header.MAC
	for range 4000 {
		m := randMAC(r)
		macs = append(macs, m)
	}
	for i := range 40000 {
		m := macs[r.IntN(len(macs))]
		switch r.IntN(4) {
		case 0, 1:
			res := tb.Learn(m, i%7, uint32(i))
			if _, ok := ref[m]; !ok && res != LearnNew {
				t.Fatalf("Learn(new %s) = %v", m, res)
			}
			ref[m] = i % 7
		case 2:
			_, had := ref[m]
			if got := tb.Delete(m); got != had {
				t.Fatalf("Delete(%s) = %v, want %v", m, got, had)
			}
			delete(ref, m)
		case 3:
			got, ok := tb.Lookup(m)
			want, had := ref[m]
			if ok != had || (ok && got != want) {
				t.Fatalf("Lookup(%s) = %d, %v, want %d, %v", m, got, ok, want, had)
			}
		}
	}
	if tb.Len() != len(ref) {
		t.Fatalf("Len() = %d, want %d", tb.Len(), len(ref))
	}
	for m, want := range ref {
		if got, ok := tb.Lookup(m); !ok || got != want {
			t.Fatalf("Lookup(%s) = %d, %v, want %d", m, got, ok, want)
		}
	}
	if n := len(tb.Entries()); n != len(ref) {
		t.Fatalf("len(Entries()) = %d, want %d", n, len(ref))
	}
}

// TestConcurrent runs learners, readers and sweepers at once; under -race
// it checks the sequence lock. Every address is only ever learned on the
// member its last byte names, so any other answer is a torn read.
func TestConcurrent(t *testing.T) {
	tb := NewTable(2000)
	macs := make([]header.MAC, 3000)
	for i := range macs {
		macs[i] = header.MAC{2, 0, 0, byte(i >> 8), byte(i), byte(i % 5)}
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 3 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				m := macs[r.IntN(len(macs))]
				if w == 0 {
					tb.Learn(m, int(m[5]), uint32(i/100))
					continue
				}
				if got, ok := tb.Lookup(m); ok && got != int(m[5]) {
					t.Errorf("Lookup(%s) = %d, want %d", m, got, m[5])
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			tb.Sweep()
			tb.Delete(macs[7])
			time.Sleep(time.Millisecond)
		}
		tb.Flush()
		close(stop)
	})
	wg.Wait()
	if n := tb.Len(); n < 0 || n > 2000 {
		t.Errorf("Len() = %d, out of [0, 2000]", n)
	}
}

// TestTickAging runs the aging timer on a fake clock: an entry idle for
// more than two timeouts is gone, one idle for less than one is there.
func TestTickAging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 240
		b := newTestBridge(t, Config{Timeout: timeout}, nil)
		start := time.Now()
		clock := func() uint32 { return uint32(time.Since(start)/time.Second) + 1000 }

		done := make(chan struct{})
		go func() {
			// The dataplane's timer: read the clock once a second.
			for {
				select {
				case <-done:
					return
				case <-time.After(time.Second):
					b.Tick(clock())
				}
			}
		}()
		b.Tick(clock()) // the bridge comes up
		idle, busy := mac(macA), mac(macB)
		b.Table().Learn(idle, mEm1, clock())
		b.Table().Learn(busy, mTap3, clock())
		for range 2*timeout + 10 {
			time.Sleep(time.Second)
			b.Table().Learn(busy, mTap3, clock())
		}
		if _, ok := b.Table().Lookup(idle); ok {
			t.Errorf("entry idle for more than two timeouts still there")
		}
		fresh := mac(macC)
		b.Table().Learn(fresh, mTap4, clock())
		time.Sleep((timeout - 5) * time.Second)
		if _, ok := b.Table().Lookup(fresh); !ok {
			t.Errorf("entry idle for less than one timeout gone")
		}
		if _, ok := b.Table().Lookup(busy); !ok {
			t.Errorf("busy entry gone")
		}
		close(done)
	})
}

func TestTickGap(t *testing.T) {
	// Events: positive is Tick at that second, negative a Learn of macA
	// at minus that second.
	tests := []struct {
		name    string
		timeout int
		events  []int64
		present bool
	}{
		{"idle less than one timeout", 240, []int64{100, -100, 339}, true},
		{"one sweep only", 240, []int64{100, -100, 340}, true},
		{"idle two sweeps", 240, []int64{100, -100, 340, 580}, false},
		{"long gap runs two sweeps", 240, []int64{100, -100, 100000}, false},
		{"timeout 0 never ages", 0, []int64{100, -100, 100000, 200000}, true},
		{"seen between sweeps", 240, []int64{100, -100, 340, -500, 580}, true},
		{"seen between sweeps, then idle", 240, []int64{100, -100, 340, -500, 580, 820}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newTestBridge(t, Config{Timeout: tc.timeout}, nil)
			for _, ev := range tc.events {
				if ev < 0 {
					b.Table().Learn(mac(macA), mEm1, uint32(-ev))
				} else {
					b.Tick(uint32(ev))
				}
			}
			if _, ok := b.Table().Lookup(mac(macA)); ok != tc.present {
				t.Errorf("after %v, present = %v, want %v", tc.events, ok, tc.present)
			}
		})
	}
}

func TestTableSizes(t *testing.T) {
	tests := []struct {
		name     string
		max      int
		maxBytes int
	}{
		{"default", DefaultMaxAddr, 16 << 10},
		{"100k", 100000, 8 << 20},
		{"huge maxaddr is not allocated up front", 50_000_000, 16 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := NewTable(tc.max)
			n := 0
			for i := range tb.shards {
				n += len(tb.shards[i].tab.Load().s) * 24
			}
			if n > tc.maxBytes {
				t.Errorf("NewTable(%d) holds %d bytes of slots, want at most %d", tc.max, n, tc.maxBytes)
			}
			// It takes its share without growing.
			for i := range min(tc.max, 1000) {
				tb.Learn(header.MAC{2, 0, 0, 0, byte(i >> 8), byte(i)}, 0, 1)
			}
			if got := tb.Len(); got != min(tc.max, 1000) {
				t.Errorf("Len() = %d", got)
			}
		})
	}
}
