package packet

import (
	"testing"

	"github.com/hostnet/hostnet/dataplane/header"
)

// Sinks keep the compiler from discarding the work under test.
var (
	sinkParsed Parsed
	sinkPacket *Packet
)

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	tcp4 := New()
	tcp4.SetFrame(benchFrame(64))
	tcp6 := New()
	tcp6.SetFrame(cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoHopByHop, cat(ext(header.ProtoFragment, 1), frag6(header.ProtoUDP, 0, true), udp(1, 2, nil)))))
	qinq := New()
	qinq.SetFrame(cat(eth(header.EtherTypeARP, stag, 200, ctag, 2001), arp()))
	bad := New()
	bad.SetFrame(cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoTCP, 0x2000, nil, tcp(1, 2, 0, nil)[:8])))
	pool := NewPool()
	pool.Put(pool.Get()) // warm the pool
	tally := NewTally()
	cache := NewCache(pool, 4)
	var stock [6]*Packet
	var cs [tallyCap + 1]Counters

	tests := []struct {
		name string
		fn   func()
	}{
		{"Parse/tcp4", func() { Parse(tcp4); sinkParsed = tcp4.Meta }},
		{"Parse/ipv6-ext", func() { Parse(tcp6); sinkParsed = tcp6.Meta }},
		{"Parse/qinq-arp", func() { Parse(qinq); sinkParsed = qinq.Meta }},
		{"Parse/tiny-fragment", func() { Parse(bad); sinkParsed = bad.Meta }},
		{"Pool/Get-Put", func() { p := pool.Get(); sinkPacket = p; pool.Put(p) }},
		{"Tally/In-Out-Flush", func() {
			for i := range cs { // one more than the capacity: an early Flush
				tally.In(&cs[i], 64)
				tally.Out(&cs[i], 64)
			}
			tally.Flush()
		}},
		{"Cache/Get-Put", func() {
			for i := range stock { // past the capacity: spills to the pool
				stock[i] = cache.Get()
			}
			for _, p := range stock {
				cache.Put(p)
			}
		}},
		{"Packet/Push-Pull", func() { tcp4.Push(header.Dot1QSize); tcp4.Pull(header.Dot1QSize) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, tc.fn); n != 0 {
				t.Errorf("%s: %v allocs per run, want 0", tc.name, n)
			}
		})
	}
}
