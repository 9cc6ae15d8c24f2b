package nat

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/test/pkt"
)

// Sinks keep the compiler from discarding the work under test.
var (
	sinkBool     bool
	sinkInner    Inner
	sinkAddrPort netip.AddrPort
)

// noneInUse is a package-level InUse, as a filter's state table would be:
// no closure is built per call.
var noneInUse = InUseFunc(func(packet.Flow) bool { return false })

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	v4 := pkt.IPHdr{Src: "10.50.0.10", Dst: "198.51.100.7"}
	v6 := pkt.IPHdr{Src: "fd00::10", Dst: "2001:db8::7"}
	tcp4 := parsed(t, pkt.TCP(eth, v4, pkt.TCPSeg{Sport: 40000, Dport: 443, Flags: pkt.SYN}))
	udp6 := parsed(t, pkt.UDP(eth, v6, 5353, 53, payload))
	ping4 := parsed(t, pkt.Ping(eth, v4, false, 7, 1, payload))
	ping6 := parsed(t, pkt.Ping(eth, v6, false, 7, 1, payload))
	errp := parsed(t, icmpError("192.0.2.254", "203.0.113.1", ipPacket(pkt.UDP(eth, pkt.IPHdr{Src: "203.0.113.1", Dst: "198.51.100.7"}, 50001, 53, payload)), 0))
	in, ok := ParseInner(errp)
	if !ok {
		t.Fatal("ParseInner = false")
	}
	a4, b4 := netip.MustParseAddr("203.0.113.1"), netip.MustParseAddr("203.0.113.2")
	a6 := netip.MustParseAddr("2001:db8:ffff::1")
	pool, err := NewPool(PoolConfig{Addrs: prefixes("203.0.113.0/24"), Method: MethodRoundRobin, Ports: DefaultNATPorts})
	if err != nil {
		t.Fatal(err)
	}
	req := &Request{Flow: tcp4.Meta.Flow, Rand: rand.New(rand.NewPCG(1, 2)), InUse: noneInUse}

	// Each case alternates between two values so that every run writes.
	flip := false
	next := func(a, b netip.Addr) netip.Addr {
		flip = !flip
		if flip {
			return a
		}
		return b
	}
	next4 := func() uint32 { return be32(next(a4, b4)) }
	tests := []struct {
		name string
		fn   func()
	}{
		{"RewriteSrc/tcp4", func() { sinkBool = RewriteSrc(tcp4, next(a4, b4), 50001) }},
		{"RewriteDst/tcp4", func() { sinkBool = RewriteDst(tcp4, next(a4, b4), 443) }},
		{"RewriteSrc/udp6", func() { sinkBool = RewriteSrc(udp6, next(a6, netip.MustParseAddr("fd00::10")), 50001) }},
		{"Translate4/tcp4", func() { sinkBool = Translate4(tcp4, next4(), 50001, 0xc6336407, 443) }},
		{"RewriteSrc/echo4", func() { sinkBool = RewriteSrc(ping4, next(a4, b4), 9) }},
		{"RewriteSrc/echo6", func() { sinkBool = RewriteSrc(ping6, a6, 9) }},
		{"ParseInner", func() { sinkInner, sinkBool = ParseInner(errp) }},
		{"RewriteErrorSrc", func() { sinkBool = RewriteErrorSrc(errp, &in, next(a4, b4), 5353) }},
		{"RewriteErrorDst", func() { sinkBool = RewriteErrorDst(errp, &in, next(a4, b4), 53) }},
		{"Pool.NAT", func() { sinkAddrPort, _ = pool.NAT(req) }},
		{"Pool.Rdr", func() { sinkAddrPort, _ = pool.Rdr(req, 0) }},
		{"RdrPort", func() { sinkAddrPort = netip.AddrPortFrom(a4, RdrPort(PortRange{Low: 8000, High: 8010}, 8005, 8000)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, tc.fn); n != 0 {
				t.Errorf("%s: %v allocs per run, want 0", tc.name, n)
			}
		})
	}
}

func BenchmarkRewriteSrc4(b *testing.B) {
	h := pkt.IPHdr{Src: "10.50.0.10", Dst: "198.51.100.7"}
	for _, size := range []int{64, 512, 1500, 9001} {
		data := make([]byte, size-14-20-20)
		p := parsed(b, pkt.TCP(eth, h, pkt.TCPSeg{Sport: 40000, Dport: 443, Flags: pkt.ACK, Payload: data}))
		addrs := [2]netip.Addr{netip.MustParseAddr("203.0.113.1"), netip.MustParseAddr("10.50.0.10")}
		ports := [2]uint16{50001, 40000}
		b.Run(itoa(size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			i := 0
			for b.Loop() {
				RewriteSrc(p, addrs[i&1], ports[i&1])
				i++
			}
		})
	}
}

func BenchmarkRewriteSrc6(b *testing.B) {
	p := parsed(b, pkt.TCP(eth, pkt.IPHdr{Src: "fd00::10", Dst: "2001:db8::7"}, pkt.TCPSeg{Sport: 40000, Dport: 443, Flags: pkt.ACK}))
	addrs := [2]netip.Addr{netip.MustParseAddr("2001:db8:ffff::1"), netip.MustParseAddr("fd00::10")}
	ports := [2]uint16{50001, 40000}
	b.ReportAllocs()
	b.SetBytes(int64(p.Len()))
	i := 0
	for b.Loop() {
		RewriteSrc(p, addrs[i&1], ports[i&1])
		i++
	}
}

func BenchmarkRewriteICMPError(b *testing.B) {
	inner := ipPacket(pkt.UDP(eth, pkt.IPHdr{Src: "203.0.113.1", Dst: "198.51.100.7"}, 50001, 53, payload))
	p := parsed(b, icmpError("192.0.2.254", "203.0.113.1", inner, 0))
	addrs := [2]netip.Addr{netip.MustParseAddr("10.50.0.10"), netip.MustParseAddr("203.0.113.1")}
	ports := [2]uint16{5353, 50001}
	b.ReportAllocs()
	b.SetBytes(int64(p.Len()))
	i := 0
	for b.Loop() {
		// What the filter does per error: find the quote, then rewrite.
		in, _ := ParseInner(p)
		RewriteErrorSrc(p, &in, addrs[i&1], ports[i&1])
		i++
	}
}

func BenchmarkPoolNAT(b *testing.B) {
	pool, err := NewPool(PoolConfig{Addrs: prefixes("203.0.113.1"), Ports: DefaultNATPorts})
	if err != nil {
		b.Fatal(err)
	}
	req := &Request{Flow: udpFrom("10.50.0.10", 5353), Rand: rand.New(rand.NewPCG(1, 2)), InUse: noneInUse}
	b.ReportAllocs()
	for b.Loop() {
		sinkAddrPort, _ = pool.NAT(req)
	}
}

// itoa formats a frame size for a sub-benchmark name.
func itoa(n int) string {
	var b [8]byte
	i := len(b)
	for n > 0 || i == len(b) {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
