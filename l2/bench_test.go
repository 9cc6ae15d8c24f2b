package l2

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// benchBridge returns a bridge that has learned macs addresses, half on
// member 0 and half on member 1, and npairs address pairs (destination,
// source as the first 12 bytes of a frame) from a source on member 0 to a
// destination on member 1, spread over the table.
const npairs = 1 << 16

func benchBridge(b *testing.B, macs int) (*Bridge, [][12]byte) {
	br, err := NewBridge("bridge0", Config{MaxAddr: macs + 8, Timeout: DefaultTimeout},
		[]Member{{Name: "em1"}, {Name: "tap3"}, {Name: "vether0", MAC: mac(macVether), Stack: true}})
	if err != nil {
		b.Fatal(err)
	}
	addr := func(i int) header.MAC {
		return header.MAC{0x02, 0, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
	}
	for i := range macs {
		br.Table().Learn(addr(i), i&1, 1)
	}
	pairs := make([][12]byte, npairs)
	for j := range pairs {
		s := (j * 7919) % macs &^ 1
		d := (j*104729)%macs | 1
		da, sa := addr(d), addr(s)
		copy(pairs[j][0:6], da[:])
		copy(pairs[j][6:12], sa[:])
	}
	return br, pairs
}

func BenchmarkBridgeForward(b *testing.B) {
	for _, n := range []struct {
		name string
		macs int
	}{{"1k", 1000}, {"100k", 100000}} {
		b.Run(n.name, func(b *testing.B) {
			br, pairs := benchBridge(b, n.macs)
			// A ring of 16 packets: each gets the addresses of its next
			// pair right after its turn, as a port writes a frame shortly
			// before the bridge reads it.
			const ring = 16
			udp := ipv4("10.0.0.1", "10.0.0.2", 1500-20-14)
			var pkts [ring]*packet.Packet
			for j := range pkts {
				f := append(pairs[j][:], 0x08, 0x00)
				pkts[j] = pkt(b, append(f, udp...))
			}
			b.ReportAllocs()
			b.SetBytes(int64(pkts[0].Len()))
			i := 0
			for b.Loop() {
				p := pkts[i&(ring-1)]
				if d := br.Input(p, 0, 1); d.Action != ActionForward {
					b.Fatalf("decision %+v", d)
				}
				next := &pairs[(i+ring)&(npairs-1)]
				f := p.Bytes()
				binary.LittleEndian.PutUint64(f[0:8], binary.LittleEndian.Uint64(next[0:8]))
				binary.LittleEndian.PutUint32(f[8:12], binary.LittleEndian.Uint32(next[8:12]))
				i++
			}
		})
	}
}

func BenchmarkBridgeFlood(b *testing.B) {
	for _, n := range []int{8} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ms := make([]Member, n)
			for i := range ms {
				ms[i] = Member{Name: fmt.Sprintf("tap%d", i)}
			}
			br, err := NewBridge("bridge0", Config{MaxAddr: 100}, ms)
			if err != nil {
				b.Fatal(err)
			}
			p := pkt(b, eth(bcast, macB, header.EtherTypeARP, arp(1, macB, "10.0.0.2", "00:00:00:00:00:00", "10.0.0.1")))
			targets := make([]int, 0, n)
			b.ReportAllocs()
			b.SetBytes(int64(p.Len()))
			for b.Loop() {
				d := br.Input(p, 0, 1)
				targets = br.FloodTargets(&d, targets)
				for _, o := range targets {
					if ok, _ := br.OutputAllowed(p, &d, o); !ok {
						b.Fatal("refused")
					}
				}
			}
			if len(targets) != n-1 {
				b.Fatalf("%d targets, want %d", len(targets), n-1)
			}
		})
	}
}

func BenchmarkTableLookup(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			tb := NewTable(n)
			macs := make([]header.MAC, n)
			for i := range macs {
				macs[i] = header.MAC{0x02, 0, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
				tb.Learn(macs[i], i&7, 1)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				sinkInt, sinkBool = tb.Lookup(macs[(i*7919)%n])
				i++
			}
		})
	}
}

func BenchmarkVLANPush(b *testing.B) {
	for _, size := range []int{64, 1500} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			p := pkt(b, eth(macA, macB, header.EtherTypeIPv4, make([]byte, size-14)))
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				PushTag(p, header.EtherTypeDot1Q, 10)
				// Undo without PopTag's work: the frame's bytes do not
				// change PushTag's path, only its length does.
				p.Pull(header.Dot1QSize)
			}
		})
	}
}

func BenchmarkVLANPop(b *testing.B) {
	for _, size := range []int{64, 1500} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			p := pkt(b, eth(macA, macB, header.EtherTypeIPv4, make([]byte, size-18), 10))
			h := p.Bytes()
			w0, w1, w2 := binary.LittleEndian.Uint32(h[0:4]), binary.LittleEndian.Uint64(h[4:12]), binary.LittleEndian.Uint32(h[12:16])
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, ok := PopTag(p); !ok {
					b.Fatal("PopTag = false")
				}
				// Undo without PushTag's work: put the 16 bytes back, in
				// the pieces PopTag reads (a store the next load only
				// partly overlaps would stall it, which no port's frame
				// does).
				f, _ := p.Push(header.Dot1QSize)
				binary.LittleEndian.PutUint32(f[0:4], w0)
				binary.LittleEndian.PutUint64(f[4:12], w1)
				binary.LittleEndian.PutUint32(f[12:16], w2)
			}
		})
	}
}
