package bench

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/filter"
	"github.com/hostnet/hostnet/filter/pfconf"
	"github.com/hostnet/hostnet/l3"
)

// routeNAT is the host's stack and pf without the dataplane around them:
// what BenchmarkRouteNATStateHit measures. It is the l3.Tx the stack
// forwards through, as a reader's worker is.
type routeNAT struct {
	r      *l3.Router
	f      *filter.Filter
	tally  *packet.Tally
	sent   int
	frames [][]byte
	metas  []packet.Parsed
}

const (
	rnEm1 = 1 // the LAN
	rnEm0 = 2 // the WAN, with NAT
)

// Output implements l3.Tx: the frame is counted and kept by the caller.
func (x *routeNAT) Output(int, *packet.Packet) { x.sent++ }

// Out implements l3.Tx: pf out.
func (x *routeNAT) Out(ifindex int, p *packet.Packet) packet.Verdict {
	return x.f.Test(filter.Out, ifindex, p, 1).Verdict
}

// Tally implements l3.Tx.
func (x *routeNAT) Tally() *packet.Tally { return x.tally }

// In and Out make routeNAT the Router's l3.Filter too, for what it sends
// without a Tx.
func (x *routeNAT) In(int, *packet.Packet) packet.Verdict { return packet.Pass }

var em1MAC = header.MAC{2, 0, 0, 0, 1, 1}

func newRouteNAT(b *testing.B, flows int) *routeNAT {
	x := &routeNAT{tally: packet.NewTally()}
	ifs := []filter.Interface{
		{Index: rnEm1, Name: "em1", Groups: []string{"all"}, Addrs: []netip.Prefix{netip.MustParsePrefix("10.50.0.1/16")}},
		{Index: rnEm0, Name: "em0", Groups: []string{"all", "egress"}, Addrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24")}},
	}
	var opts pfconf.ParseOptions
	for _, ifc := range ifs {
		pi := pfconf.Interface{Name: ifc.Name, Groups: ifc.Groups[1:], Broadcast: true}
		for _, a := range ifc.Addrs {
			pi.Addrs = append(pi.Addrs, pfconf.IfAddr{Addr: a.Addr(), Bits: a.Bits()})
		}
		opts.Interfaces = append(opts.Interfaces, pi)
	}
	spec, err := pfconf.ParseWith("pf.conf", strings.NewReader(routedNAT["pf.conf"]), opts)
	if err != nil {
		b.Fatal(err)
	}
	rs, err := filter.Compile(spec, filter.Env{Interfaces: ifs})
	if err != nil {
		b.Fatal(err)
	}
	x.f = filter.NewFilter(filter.Options{})
	x.f.Load(rs)
	x.r = l3.NewRouter(l3.Config{Pool: packet.NewPool(), Output: x, Filter: x, Forwarding4: true})
	for _, ifc := range ifs {
		mac := em1MAC
		if ifc.Index == rnEm0 {
			mac = header.MAC{2, 0, 0, 0, 2, 2}
		}
		if err := x.r.AddInterface(ifc.Index, l3.Interface{Name: ifc.Name, MAC: mac, MTU: 1500, Addrs: ifc.Addrs}); err != nil {
			b.Fatal(err)
		}
	}
	gw := netip.MustParseAddr("192.0.2.254")
	if err := x.r.AddRoute(netip.MustParsePrefix("0.0.0.0/0"), gw); err != nil {
		b.Fatal(err)
	}
	if err := x.r.AddStaticNeighbor(rnEm0, gw, header.MAC{2, 0, 0, 0, 0, 0xfe}); err != nil {
		b.Fatal(err)
	}
	p := packet.New()
	x.sent = 0 // the gratuitous ARPs
	for i := range flows {
		f := udpFlow(em1MAC, i, 64)
		p.SetFrame(f)
		packet.Parse(p)
		x.frames = append(x.frames, f)
		x.metas = append(x.metas, p.Meta)
		x.r.Input(x, p, rnEm1, 1e9) // creates the flow's state
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
				x.r.Input(x, p, rnEm1, 1e9)
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
