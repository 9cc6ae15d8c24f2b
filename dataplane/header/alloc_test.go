package header

import (
	"net/netip"
	"testing"
)

// Sinks keep the compiler from discarding the work under test.
var (
	sinkAddr netip.Addr
	sinkBool bool
)

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	v4 := IPv4(hexBytes(capturedIPv4))
	v6 := IPv6(hexBytes(capturedIPv6))
	seg := hexBytes(capturedSYN)
	tcp := TCP(seg[20:])
	a4, b4 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	a6, b6 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	tag := Dot1Q(hexBytes("8100000a"))

	tests := []struct {
		name string
		fn   func()
	}{
		{"Checksum", func() { sinkU16 = Checksum(seg, 0) }},
		{"PseudoHeaderChecksum/4", func() { sinkU16 = PseudoHeaderChecksum(ProtoTCP, a4, b4, 20) }},
		{"PseudoHeaderChecksum/6", func() { sinkU16 = PseudoHeaderChecksum(ProtoTCP, a6, b6, 20) }},
		{"UpdateAddr/4", func() { sinkU16 = UpdateAddr(0x1234, a4, b4) }},
		{"UpdateAddr/6", func() { sinkU16 = UpdateAddr(0x1234, a6, b6) }},
		{"Update32", func() { sinkU16 = Update32(0x1234, 1, 2) }},
		{"IPv4.IsValid", func() { sinkBool = v4.IsValid(115) }},
		{"IPv4.Src", func() { sinkAddr = v4.Src() }},
		{"IPv4.SetDst", func() { v4.SetDst(b4) }},
		{"IPv4.DecTTL", func() { v4.SetTTL(64); v4.DecTTL() }},
		{"IPv4.IsChecksumValid", func() { sinkBool = v4.IsChecksumValid() }},
		{"IPv6.Src", func() { sinkAddr = v6.Src() }},
		{"IPv6.SetDst", func() { v6.SetDst(b6) }},
		{"IPv6.HasValidAddrs", func() { sinkBool = v6.HasValidAddrs() }},
		{"TCP.ComputeChecksum", func() { sinkU16 = tcp.ComputeChecksum(0) }},
		{"Dot1Q.SetVID", func() { tag.SetVID(20) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, tc.fn); n != 0 {
				t.Errorf("%s: %v allocs per run, want 0", tc.name, n)
			}
		})
	}
}

func BenchmarkUpdate(b *testing.B) {
	a4, b4 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	a6, b6 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	b.Run("Update16", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkU16 = Update16(sinkU16, 0x1234, 0x4321)
		}
	})
	b.Run("UpdateAddr/4", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkU16 = UpdateAddr(sinkU16, a4, b4)
		}
	})
	b.Run("UpdateAddr/6", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkU16 = UpdateAddr(sinkU16, a6, b6)
		}
	})
}
