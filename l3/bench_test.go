package l3

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// discard is an Output that keeps nothing: the caller still holds the
// packet and sends it again.
type discard struct{ n int }

func (d *discard) Output(int, *packet.Packet) { d.n++ }

// forwarder is a Router with 10 000 routes per family through em0's
// gateway (resolved), and frames from the guest to destinations matched by
// those routes, ready to be forwarded again and again.
type forwarder struct {
	r      *Router
	out    *discard
	p      *packet.Packet
	frames [][]byte // whole frames, one per destination
	metas  []packet.Parsed
	hdr    int // bytes Input changes: Ethernet and IP header
	i      int
}

const benchRoutes = 10000

func newForwarder(tb testing.TB, v6 bool, size int) *forwarder {
	tb.Helper()
	pool := packet.NewPool()
	out := &discard{}
	r := NewRouter(Config{Pool: pool, Output: out, Forwarding4: true, Forwarding6: true, Seed: 1})
	must2(tb, r.AddInterface(vetherIdx, Interface{Name: "vether0", MAC: vetherMAC, MTU: 9000,
		Addrs: []netip.Prefix{netip.MustParsePrefix("10.50.0.1/24"), netip.MustParsePrefix("2001:db8:50::1/64")}}))
	must2(tb, r.AddInterface(em0Idx, Interface{Name: "em0", MAC: em0MAC, MTU: 9000,
		Addrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.2/24"), netip.MustParsePrefix("2001:db8:1::2/64")}}))
	must2(tb, r.AddStaticNeighbor(em0Idx, gwIP, gwMAC))
	must2(tb, r.AddStaticNeighbor(em0Idx, gw6, gwMAC))

	rng := rand.New(rand.NewPCG(7, 7))
	var rs []StaticRoute
	var dsts []netip.Addr
	rs = append(rs, StaticRoute{netip.MustParsePrefix("0.0.0.0/0"), gwIP}, StaticRoute{netip.MustParsePrefix("::/0"), gw6})
	for range benchRoutes {
		// IPv4: /16 to /28 in 1.0.0.0-126.255.255.255; IPv6: /32 to /64
		// in 2400::/6, the shapes of real tables.
		var a netip.Addr
		var bits int
		if v6 {
			var b [16]byte
			for i := range 8 {
				b[i] = byte(rng.IntN(256))
			}
			b[0] = 0x24 | b[0]&3
			a, bits = netip.AddrFrom16(b), 32+rng.IntN(33)
			gw := gw6
			rs = append(rs, StaticRoute{netip.PrefixFrom(a, bits).Masked(), gw})
		} else {
			a = netip.AddrFrom4([4]byte{byte(1 + rng.IntN(126)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
			bits = 16 + rng.IntN(13)
			rs = append(rs, StaticRoute{netip.PrefixFrom(a, bits).Masked(), gwIP})
		}
		if len(dsts) < 64 {
			dsts = append(dsts, a)
		}
	}
	must2(tb, r.SetRoutes(rs))

	f := &forwarder{r: r, out: out, p: packet.New()}
	for _, d := range dsts {
		var b []byte
		if v6 {
			n := size - 14 - 40 - 8
			ip := ip6(guest6, d, layers.IPProtocolUDP, 64)
			u := &layers.UDP{SrcPort: 4000, DstPort: 4001}
			_ = u.SetNetworkLayerForChecksum(ip)
			b = build(eth6(guestMAC, vetherMAC), ip, u, gopayload(n))
			f.hdr = 14 + 40
		} else {
			n := size - 14 - 20 - 8
			ip := ip4(guestIP, d, layers.IPProtocolUDP, 64)
			u := &layers.UDP{SrcPort: 4000, DstPort: 4001}
			_ = u.SetNetworkLayerForChecksum(ip)
			b = build(eth4(guestMAC, vetherMAC), ip, u, gopayload(n))
			f.hdr = 14 + 20
		}
		f.p.SetFrame(b)
		packet.Parse(f.p)
		f.frames = append(f.frames, b)
		f.metas = append(f.metas, f.p.Meta)
	}
	return f
}

func must2(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// forward sends the next frame through Input: its headers are restored
// (the previous turn rewrote them), its metadata is Parse's.
func (f *forwarder) forward() {
	f.i = (f.i + 1) & 63
	b := f.frames[f.i]
	f.p.SetLen(len(b))
	copy(f.p.Bytes()[:f.hdr], b)
	f.p.Meta = f.metas[f.i]
	f.r.Input(nil, f.p, vetherIdx, 5*sec)
}

var sinkN int

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops Puts under -race")
	}
	f4 := newForwarder(t, false, 64)
	f6 := newForwarder(t, true, 128)
	fp := newForwarder(t, false, 64)
	fp.r.filter = passFilter{}
	lookup := f4.r.st.Load().rt4
	key := f4.frames[3][14+16 : 14+20]
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"forward IPv4", func() { f4.forward() }},
		{"forward IPv6", func() { f6.forward() }},
		{"forward IPv4 through pf", func() { fp.forward() }},
		{"route lookup", func() { sinkN += lookup.lookup(key).ifindex }},
		{"checksum update", func() { header.IPv4(f4.frames[0][14:]).DecTTL() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, tc.fn); n != 0 {
				t.Errorf("%s: %v allocations per run, want 0", tc.name, n)
			}
		})
	}
	if f4.out.n == 0 || f6.out.n == 0 {
		t.Errorf("nothing was forwarded: %d %d", f4.out.n, f6.out.n)
	}
}

func benchForward(b *testing.B, v6 bool) {
	for _, size := range []int{64, 512, 1500, 9001} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			f := newForwarder(b, v6, size)
			before := f.out.n
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				f.forward()
			}
			if f.out.n == before {
				b.Fatal("nothing forwarded")
			}
		})
	}
}

func BenchmarkForward4(b *testing.B) { benchForward(b, false) }
func BenchmarkForward6(b *testing.B) { benchForward(b, true) }

func BenchmarkLookup4(b *testing.B) {
	f := newForwarder(b, false, 64)
	t := f.r.st.Load().rt4
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i = (i + 1) & 63
		sinkN += t.lookup(f.frames[i][14+16 : 14+20]).ifindex
	}
}

func BenchmarkLookup6(b *testing.B) {
	f := newForwarder(b, true, 128)
	t := f.r.st.Load().rt6
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i = (i + 1) & 63
		sinkN += t.lookup(f.frames[i][14+24 : 14+40]).ifindex
	}
}

// passFilter passes everything.
type passFilter struct{}

func (passFilter) In(int, *packet.Packet) packet.Verdict  { return packet.Pass }
func (passFilter) Out(int, *packet.Packet) packet.Verdict { return packet.Pass }
