package filter

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/hostnet/hostnet/filter/pfconf"
)

// TestShardTable drives one shard's open-addressed table with chosen
// hashes (runs that share a home slot, runs that wrap around the end,
// growth) and checks every lookup against a plain map after each step.
func TestShardTable(t *testing.T) {
	tests := []struct {
		name string
		hash func(i int) uint64 // the hash of state i
		n    int
	}{
		// home takes the hash's high bits: i<<56 spreads the states over
		// the table, a shared top byte gives them one home, an all-ones
		// top the last slot, whose run wraps around to the first.
		{name: "distinct", hash: func(i int) uint64 { return uint64(i)<<56 | uint64(i)<<8 }, n: 200},
		{name: "one home", hash: func(i int) uint64 { return 7<<56 | uint64(i)<<8 }, n: 40},
		{name: "wrap", hash: func(i int) uint64 { return ^uint64(0) - uint64(i%3)<<40 - uint64(i)<<8 }, n: 13},
		{name: "same hash", hash: func(int) uint64 { return 5 << 8 }, n: 30},
		{name: "random", hash: func(i int) uint64 { return rand.New(rand.NewPCG(uint64(i), 1)).Uint64() }, n: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sh shard
			states := make([]*state, tt.n)
			in := map[*state]uint64{}
			check := func(step string) {
				t.Helper()
				if sh.n != len(in) {
					t.Fatalf("%s: n = %d, want %d", step, sh.n, len(in))
				}
				for i, s := range states {
					h := tt.hash(i)
					got, ki := sh.findLocked(&s.key[0], h)
					_, want := in[s]
					if want && (got != s || ki != skWire) {
						t.Fatalf("%s: findLocked(state %d) = %p, %d, want %p, 0", step, i, got, ki, s)
					}
					if !want && got != nil {
						t.Fatalf("%s: findLocked(removed state %d) = %p, want nil", step, i, got)
					}
				}
			}
			for i := range states {
				k := keyFor(In, 4, 6, netip.AddrPortFrom(clientAddr(i), 4000), netip.MustParseAddrPort("203.0.113.1:22"))
				states[i] = &state{key: [2]stateKey{k, k}}
				sh.addLocked(states[i], tt.hash(i))
				in[states[i]] = tt.hash(i)
			}
			check("added")
			if sh.n*8 > len(sh.slots)*7 {
				t.Fatalf("%d entries in %d slots, want at most 7/8 full", sh.n, len(sh.slots))
			}
			rnd := rand.New(rand.NewPCG(2, 3))
			for _, i := range rnd.Perm(tt.n) {
				if !sh.removeLocked(states[i], tt.hash(i)) {
					t.Fatalf("removeLocked(state %d) = false, want true", i)
				}
				delete(in, states[i])
				if sh.removeLocked(states[i], tt.hash(i)) {
					t.Fatalf("second removeLocked(state %d) = true, want false", i)
				}
				if len(in)%7 == 0 {
					check("removed")
				}
			}
			check("emptied")
			for _, e := range sh.slots {
				if e.s != nil {
					t.Fatalf("slot %+v left after removing every state", e)
				}
			}
		})
	}
}

// TestStateTableTranslated checks that a translated state is found from
// both keys, the stack key's lookup coming back with the lock of the wire
// key's shard, and that each visits every state once.
func TestStateTableTranslated(t *testing.T) {
	tab := newStateTable()
	const n = 3000
	states := make([]*state, n)
	dst := netip.MustParseAddrPort("198.51.100.7:80")
	for i := range states {
		wire := keyFor(Out, 4, 6, netip.AddrPortFrom(netip.MustParseAddr("203.0.113.1"), uint16(50000+i%10000)), dst)
		stack := keyFor(Out, 4, 6, netip.AddrPortFrom(clientAddr(i), 4000), dst)
		if i%3 == 0 {
			stack = wire // untranslated
		}
		s := &state{flags: sfOut, key: [2]stateKey{wire, stack}}
		if ok, o := tab.insert(s, nil); !ok {
			t.Fatalf("insert(state %d) = false, %p", i, o)
		}
		if s.xlat() != (i%3 != 0) {
			t.Fatalf("state %d: xlat() = %v, want %v", i, s.xlat(), i%3 != 0)
		}
		states[i] = s
	}
	if ok, o := tab.insert(&state{key: states[1].key}, nil); ok || o != states[1] {
		t.Fatalf("insert(duplicate of state 1) = %v, %p, want false, %p", ok, o, states[1])
	}
	for i, s := range states {
		for ki := range 2 {
			got, gki, sh := tab.acquire(&s.key[ki])
			if got == nil {
				t.Fatalf("acquire(state %d key %d) = nil", i, ki)
			}
			sh.mu.Unlock()
			want := ki
			if !s.xlat() {
				want = skWire
			}
			if got != s || gki != want || sh != tab.shardOf(&s.key[skWire]) {
				t.Fatalf("acquire(state %d key %d) = %p, %d, want %p, %d and the wire key's shard", i, ki, got, gki, s, want)
			}
		}
	}
	for i := 0; i < n; i += 2 {
		if found, _, _ := tab.remove(states[i]); !found {
			t.Fatalf("remove(state %d) = false", i)
		}
	}
	seen := map[*state]int{}
	tab.each(func(s *state) { seen[s]++ })
	for i, s := range states {
		want := 0
		if i%2 == 1 {
			want = 1
		}
		if seen[s] != want {
			t.Errorf("each visited state %d %d times, want %d", i, seen[s], want)
		}
		if got, _, sh := tab.acquire(&s.key[skStack]); got != nil {
			sh.mu.Unlock()
			if want == 0 {
				t.Errorf("acquire(removed state %d) = %p, want nil", i, got)
			}
		} else if want == 1 {
			t.Errorf("acquire(state %d) = nil after removing others", i)
		}
	}
	if got := tab.count.Load(); got != n/2 {
		t.Errorf("count = %d, want %d", got, n/2)
	}
}

// TestStateTableConcurrent has workers insert, look up and remove their
// own states at once, in shards they share, and checks each worker's view
// and that the table is empty at the end (run it under -race).
func TestStateTableConcurrent(t *testing.T) {
	tab := newStateTable()
	const workers, per, rounds = 4, 400, 3
	dst := netip.MustParseAddrPort("198.51.100.7:80")
	errs := make(chan string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			states := make([]*state, per)
			for i := range states {
				n := w*per + i
				wire := keyFor(Out, 4, 17, netip.AddrPortFrom(netip.MustParseAddr("203.0.113.1"), uint16(1024+n)), dst)
				stack := keyFor(Out, 4, 17, netip.AddrPortFrom(clientAddr(n), 4000), dst)
				if i%4 == 0 {
					stack = wire
				}
				states[i] = &state{flags: sfOut, key: [2]stateKey{wire, stack}}
			}
			for r := range rounds {
				for i, s := range states {
					s.timeout = tmUDPFirst // back from the dead
					if ok, _ := tab.insert(s, nil); !ok {
						errs <- fmt.Sprintf("worker %d round %d: insert(state %d) = false", w, r, i)
						return
					}
				}
				for i, s := range states {
					got, _, sh := tab.acquire(&s.key[skStack])
					if got == nil {
						errs <- fmt.Sprintf("worker %d round %d: acquire(state %d) = nil", w, r, i)
						return
					}
					got.packets[0]++ // under the lock acquire took
					sh.mu.Unlock()
					if got != s {
						errs <- fmt.Sprintf("worker %d round %d: acquire(state %d) = %p, want %p", w, r, i, got, s)
						return
					}
				}
				for i, s := range states {
					if found, _, _ := tab.remove(s); !found {
						errs <- fmt.Sprintf("worker %d round %d: remove(state %d) = false", w, r, i)
						return
					}
					if tab.has(&s.key[skWire]) {
						errs <- fmt.Sprintf("worker %d round %d: has(removed state %d) = true", w, r, i)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := tab.count.Load(); n != 0 {
		t.Errorf("count = %d after removing every state, want 0", n)
	}
	for i := range tab.shards {
		if sh := &tab.shards[i]; sh.n != 0 {
			t.Errorf("shard %d holds %d slots after removing every state", i, sh.n)
		}
	}
}

// TestStateSize keeps a state in the 192-byte size class, whose objects
// start on cache lines, so that a hit reads the two lines of the hot
// fields and the wire key (BenchmarkStateHit, BenchmarkStateMemory).
func TestStateSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are for 64-bit platforms")
	}
	if got := unsafe.Sizeof(state{}); got != 192 {
		t.Errorf("unsafe.Sizeof(state{}) = %d, want 192", got)
	}
	if got := unsafe.Offsetof(state{}.key) + unsafe.Sizeof(stateKey{}); got > 128 {
		t.Errorf("wire key ends at byte %d, want it within the first 128", got)
	}
}

// TestCompileIfIndexLimit: a state keeps its interface in 16 bits, so an
// index beyond them is refused when the ruleset is compiled.
func TestCompileIfIndexLimit(t *testing.T) {
	spec, err := pfconf.ParseWith("pf.conf", strings.NewReader("pass\n"), pfconf.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(spec, Env{Interfaces: []Interface{{Index: maxIfIndex, Name: "tap0"}}}); err != nil {
		t.Errorf("Compile(index %d) = %v, want nil", maxIfIndex, err)
	}
	if _, err := Compile(spec, Env{Interfaces: []Interface{{Index: maxIfIndex + 1, Name: "tap1"}}}); err == nil {
		t.Errorf("Compile(index %d) = nil, want an error", maxIfIndex+1)
	}
}

func TestHome(t *testing.T) {
	for _, n := range []uint64{16, 24, 913, 10390} {
		if got := home(^uint64(0), n); got != n-1 {
			t.Errorf("home(max, %d) = %d, want %d", n, got, n-1)
		}
		if got := home(0, n); got != 0 {
			t.Errorf("home(0, %d) = %d, want 0", n, got)
		}
		if got := next(n-1, n); got != 0 {
			t.Errorf("next(%d, %d) = %d, want 0 (wrap)", n-1, n, got)
		}
	}
}
