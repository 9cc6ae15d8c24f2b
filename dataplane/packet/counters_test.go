package packet

import (
	"sync"
	"testing"
)

func TestTally(t *testing.T) {
	var a, b Counters
	tl := NewTally()
	tl.In(&a, 60)
	tl.In(&a, 1500)
	tl.Out(&b, 60)
	if n := a.InPackets.Load(); n != 0 {
		t.Fatalf("before Flush: a in %d packets, want 0 (a tally commits on Flush)", n)
	}
	tl.Flush()
	tl.Flush() // nothing twice
	if got := [4]uint64{a.InPackets.Load(), a.InBytes.Load(), a.OutPackets.Load(), a.OutBytes.Load()}; got != [4]uint64{2, 1560, 0, 0} {
		t.Errorf("a = %v, want [2 1560 0 0]", got)
	}
	if got := [4]uint64{b.InPackets.Load(), b.InBytes.Load(), b.OutPackets.Load(), b.OutBytes.Load()}; got != [4]uint64{0, 0, 1, 60} {
		t.Errorf("b = %v, want [0 0 1 60]", got)
	}

	// More interfaces than the capacity: nothing is lost.
	cs := make([]Counters, 3*tallyCap+1)
	for range 2 {
		for i := range cs {
			tl.Out(&cs[i], i)
		}
	}
	tl.Flush()
	for i := range cs {
		if p, by := cs[i].OutPackets.Load(), cs[i].OutBytes.Load(); p != 2 || by != uint64(2*i) {
			t.Errorf("counters %d: %d packets, %d bytes; want 2, %d", i, p, by, 2*i)
		}
	}
}

// TestTallyConcurrent has several goroutines tally into the same counters
// (run it with -race): the totals are exact.
func TestTallyConcurrent(t *testing.T) {
	var c Counters
	const workers, frames = 4, 1000
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			tl := NewTally()
			for i := range frames {
				tl.In(&c, 100)
				if i%64 == 63 {
					tl.Flush()
				}
			}
			tl.Flush()
		})
	}
	wg.Wait()
	if p, b := c.InPackets.Load(), c.InBytes.Load(); p != workers*frames || b != workers*frames*100 {
		t.Errorf("in %d packets, %d bytes; want %d, %d", p, b, workers*frames, workers*frames*100)
	}
}

func TestCache(t *testing.T) {
	pool := NewPool()
	c := NewCache(pool, 4)
	a := c.Get()
	a.SetFrame([]byte{1, 2, 3})
	a.Meta.Kind = KindIPv4
	c.Put(a)
	if len(c.free) != 1 {
		t.Fatalf("after Put: %d packets in the cache, want 1", len(c.free))
	}
	b := c.Get()
	if b != a {
		t.Errorf("Get after Put returned another packet: the cache is LIFO")
	}
	if b.Len() != 0 || b.Meta.Kind != KindUnknown {
		t.Errorf("Get returned len %d, kind %v; want an empty packet", b.Len(), b.Meta.Kind)
	}
	// Past the capacity, half goes back to the pool; nothing is lost or
	// handed out twice.
	seen := map[*Packet]bool{}
	var ps []*Packet
	for range 9 {
		p := c.Get()
		if seen[p] {
			t.Fatalf("Get returned a packet already out")
		}
		seen[p] = true
		ps = append(ps, p)
	}
	for _, p := range ps {
		c.Put(p)
	}
	if n := len(c.free); n > cap(c.free) || n == 0 {
		t.Errorf("after 9 Puts: %d packets in a cache of %d", n, cap(c.free))
	}
	c.Flush()
	if len(c.free) != 0 {
		t.Errorf("after Flush: %d packets in the cache, want 0", len(c.free))
	}
}
