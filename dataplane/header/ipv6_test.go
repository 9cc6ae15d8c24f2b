package header

import (
	"net/netip"
	"testing"
)

// capturedIPv6 is an IPv6 header from a capture: an ICMPv6 neighbour
// solicitation, fe80::c001:2ff:fe40:0 -> ff02::1:ff00:1, hop limit 255,
// payload 32 bytes.
const capturedIPv6 = "6000000000203aff" +
	"fe80000000000000c00102fffe400000" +
	"ff0200000000000000000001ff000001"

func TestIPv6Accessors(t *testing.T) {
	h := IPv6(hexBytes(capturedIPv6))
	tests := []struct {
		name      string
		got, want any
	}{
		{"Version", h.Version(), uint8(6)},
		{"TrafficClass", h.TrafficClass(), uint8(0)},
		{"FlowLabel", h.FlowLabel(), uint32(0)},
		{"PayloadLen", h.PayloadLen(), uint16(32)},
		{"NextHeader", h.NextHeader(), ProtoICMPv6},
		{"HopLimit", h.HopLimit(), uint8(255)},
		{"Src", h.Src(), netip.MustParseAddr("fe80::c001:2ff:fe40:0")},
		{"Dst", h.Dst(), netip.MustParseAddr("ff02::1:ff00:1")},
		{"HasValidAddrs", h.HasValidAddrs(), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("IPv6(%s).%s() = %v, want %v", capturedIPv6, tc.name, tc.got, tc.want)
			}
		})
	}
}

func TestIPv6EncodeRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		f    IPv6Fields
	}{
		{"zero", IPv6Fields{Src: netip.IPv6Unspecified(), Dst: netip.IPv6Unspecified()}},
		{"full", IPv6Fields{TrafficClass: 0xff, FlowLabel: 0xfffff, PayloadLen: 0xffff, NextHeader: ProtoFragment,
			HopLimit: 64, Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8:ffff::2")}},
		{"tc-flow", IPv6Fields{TrafficClass: 0xa5, FlowLabel: 0x5a5a5, PayloadLen: 8, NextHeader: ProtoUDP,
			HopLimit: 1, Src: netip.MustParseAddr("fe80::1"), Dst: netip.MustParseAddr("ff02::2")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := make(IPv6, IPv6Size)
			h.Encode(&tc.f)
			got := IPv6Fields{TrafficClass: h.TrafficClass(), FlowLabel: h.FlowLabel(), PayloadLen: h.PayloadLen(),
				NextHeader: h.NextHeader(), HopLimit: h.HopLimit(), Src: h.Src(), Dst: h.Dst()}
			if got != tc.f || h.Version() != 6 {
				t.Errorf("Encode(%+v) decodes as %+v, version %d", tc.f, got, h.Version())
			}
			h.SetTrafficClass(0x12)
			if h.TrafficClass() != 0x12 || h.FlowLabel() != tc.f.FlowLabel || h.Version() != 6 {
				t.Errorf("SetTrafficClass(0x12) = %x", []byte(h[:4]))
			}
		})
	}
}

func TestIPv6IsValid(t *testing.T) {
	tests := []struct {
		name string
		hdr  string
		n    int // -1: len(hdr)
		want bool
	}{
		{"payload-beyond", capturedIPv6, -1, false},
		{"payload-inside", capturedIPv6, 72, true},
		{"zero-payload", "6000000000003aff" + capturedIPv6[16:], -1, true},
		{"version4", "4000000000003aff" + capturedIPv6[16:], -1, false},
		{"short", capturedIPv6[:78], 100, false},
		{"empty", "", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := IPv6(hexBytes(tc.hdr))
			n := tc.n
			if n < 0 {
				n = len(h)
			}
			if got := h.IsValid(n); got != tc.want {
				t.Errorf("IPv6(%s).IsValid(%d) = %v, want %v", tc.hdr, n, got, tc.want)
			}
		})
	}
}

func TestIPv6HasValidAddrs(t *testing.T) {
	tests := []struct {
		src, dst string
		want     bool
	}{
		{"2001:db8::1", "2001:db8::2", true},
		{"::", "ff02::1:ff00:1", true}, // DAD source
		{"ff02::1", "2001:db8::2", false},
		{"2001:db8::1", "::", false},
		{"::1", "2001:db8::2", false},
		{"2001:db8::1", "::1", false},
		{"::ffff:10.0.0.1", "2001:db8::2", false},
		{"2001:db8::1", "::ffff:127.0.0.1", false},
		{"::10.0.0.1", "2001:db8::2", false},
		{"2001:db8::1", "ff01::1", false},
		{"2001:db8::1", "ff02::1", true},
	}
	for _, tc := range tests {
		h := make(IPv6, IPv6Size)
		h.Encode(&IPv6Fields{Src: netip.MustParseAddr(tc.src), Dst: netip.MustParseAddr(tc.dst)})
		if got := h.HasValidAddrs(); got != tc.want {
			t.Errorf("HasValidAddrs(%s -> %s) = %v, want %v", tc.src, tc.dst, got, tc.want)
		}
	}
}

func TestIPv6Fragment(t *testing.T) {
	h := make(IPv6Fragment, IPv6FragmentSize)
	h.Encode(ProtoUDP, 1448, true, 0xdeadbeef)
	if h.NextHeader() != ProtoUDP || h.FragOff() != 1448 || !h.More() || h.ID() != 0xdeadbeef {
		t.Errorf("IPv6Fragment %x = next %d off %d more %v id %#x", []byte(h), h.NextHeader(), h.FragOff(), h.More(), h.ID())
	}
	h.Encode(ProtoTCP, 0, false, 1)
	if h.FragOff() != 0 || h.More() {
		t.Errorf("IPv6Fragment %x = off %d more %v, want 0 false", []byte(h), h.FragOff(), h.More())
	}
}

func TestIPv6ExtHeaderLen(t *testing.T) {
	tests := []struct {
		name string
		p    uint8
		b    []byte
		want int
	}{
		{"hop-by-hop-0", ProtoHopByHop, []byte{ProtoTCP, 0}, 8},
		{"dstopts-2", ProtoDstOpts, []byte{ProtoTCP, 2}, 24},
		{"routing-255", ProtoRouting, []byte{ProtoTCP, 255}, 2048},
		{"fragment", ProtoFragment, []byte{ProtoTCP, 9}, 8},
		{"ah-4", ProtoAH, []byte{ProtoTCP, 4}, 24}, // 96-bit ICV
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IPv6ExtHeaderLen(tc.p, tc.b); got != tc.want {
				t.Errorf("IPv6ExtHeaderLen(%d, %x) = %d, want %d", tc.p, tc.b, got, tc.want)
			}
			if !IsIPv6ExtHeader(tc.p) {
				t.Errorf("IsIPv6ExtHeader(%d) = false", tc.p)
			}
		})
	}
	for _, p := range []uint8{ProtoESP, ProtoNoNext, ProtoTCP, ProtoUDP, ProtoICMPv6} {
		if IsIPv6ExtHeader(p) {
			t.Errorf("IsIPv6ExtHeader(%d) = true", p)
		}
	}
}

func FuzzIPv6IsValid(f *testing.F) {
	f.Add(hexBytes(capturedIPv6), 72)                            // valid, payload beyond the slice
	f.Add(hexBytes(capturedIPv6), 40)                            // payload longer than n
	f.Add(hexBytes("6000000000003aff"+capturedIPv6[16:]), 40)    // empty payload
	f.Add(hexBytes(capturedIPv6[:16]), 40)                       // truncated
	f.Add(hexBytes("60000000ffff3aff"+capturedIPv6[16:]), 1<<20) // largest payload
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		h := IPv6(b)
		if !h.IsValid(n) {
			return
		}
		if len(b) < IPv6Size || IPv6Size+int(h.PayloadLen()) > n {
			t.Fatalf("IPv6(%x).IsValid(%d) = true with payload length %d", b, n, h.PayloadLen())
		}
		_ = h.Src()
		_ = h.Dst()
		_ = h.HasValidAddrs()
		if n <= len(b) {
			_ = h.Payload()
		}
	})
}
