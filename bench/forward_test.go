package bench

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/filter"
	"github.com/hostnet/hostnet/l3"
)

// routeNAT is the routed NAT scenario's stack and pf without the frame
// path around them: what BenchmarkRouteNATStateHit measures. It is the
// l3.Tx the stack forwards through, as a reader's worker is.
type routeNAT struct {
	r      *l3.Router
	f      *filter.Filter
	in     int // em1's index
	tally  *packet.Tally
	sent   int
	frames [][]byte
	metas  []packet.Parsed
}

// Output implements l3.Tx: the frame is counted and kept by the caller.
func (x *routeNAT) Output(int, *packet.Packet) { x.sent++ }

// Out implements l3.Tx: pf out.
func (x *routeNAT) Out(ifindex int, p *packet.Packet) packet.Verdict {
	return x.f.Test(filter.Out, ifindex, p, 1).Verdict
}

// In implements l3.Tx (l3.Filter); the stack never calls it.
func (x *routeNAT) In(int, *packet.Packet) packet.Verdict { return packet.Pass }

// Tally implements l3.Tx.
func (x *routeNAT) Tally() *packet.Tally { return x.tally }

func newRouteNAT(b *testing.B, flows int) *routeNAT {
	d, _, err := build(routedNAT)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	em0, _ := d.Interface("em0")
	em1, _ := d.Interface("em1")
	if err := d.Router().AddStaticNeighbor(int(em0.Index), netip.MustParseAddr("192.0.2.254"), header.MAC{2, 0, 0, 0, 0, 0xfe}); err != nil {
		b.Fatal(err)
	}
	x := &routeNAT{r: d.Router(), f: d.Filter(), in: int(em1.Index), tally: packet.NewTally()}
	p := packet.New()
	for i := range flows {
		f := udpFlow(em1.MAC, i, 64)
		p.SetFrame(f)
		packet.Parse(p)
		x.frames = append(x.frames, f)
		x.metas = append(x.metas, p.Meta)
		x.r.Input(x, p, x.in, 1e9) // creates the flow's out state
	}
	x.tally.Flush()
	if x.sent != flows {
		b.Fatalf("%d of %d flows forwarded; the benchmark would measure failures", x.sent, flows)
	}
	return x
}

// BenchmarkRouteNATStateHit is "route plus NAT plus state hit": an
// established UDP flow forwarded by the host's stack, with pf out on the
// WAN finding its state and translating it. Per packet: the stack's input
// checks, route lookup, TTL, pf out (state lookup, state update, source
// rewrite with incremental checksums), the gateway's neighbour entry and
// the hand-over to output, counted into a tally flushed once a batch.
// Not included, unlike BenchmarkPipelineRoutedNAT: parsing, pf in on the
// LAN, the dataplane's ports. Flows are visited round-robin.
func BenchmarkRouteNATStateHit(b *testing.B) {
	for _, flows := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("%dk", flows/1000), func(b *testing.B) {
			x := newRouteNAT(b, flows)
			p := packet.New()
			sent := x.sent
			b.ReportAllocs()
			b.SetBytes(64)
			i := 0
			for b.Loop() {
				// The frame as it arrived: the previous turn rewrote
				// its headers (TTL, addresses, ports, checksums).
				p.SetLen(len(x.frames[i]))
				copy(p.Bytes()[:header.EthernetSize+20+8], x.frames[i])
				p.Meta = x.metas[i]
				x.r.Input(x, p, x.in, 1e9)
				if i++; i == flows {
					i = 0
				}
				if i%64 == 0 {
					x.tally.Flush()
				}
			}
			if x.sent == sent {
				b.Fatal("nothing forwarded")
			}
		})
	}
}
