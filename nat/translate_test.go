package nat

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/hostnet/hostnet/test/pkt"
)

// TestTranslate4 checks the one-pass rewrite against RewriteSrc followed by
// RewriteDst, byte for byte and flow for flow, and every checksum against
// one computed from scratch.
func TestTranslate4(t *testing.T) {
	v4 := pkt.IPHdr{Src: "10.50.0.10", Dst: "198.51.100.7"}
	seg := pkt.TCPSeg{Sport: 40000, Dport: 443, Seq: 7, Flags: pkt.ACK, Payload: payload}
	noCsum := pkt.UDP(eth, v4, 5353, 53, payload)
	binary.BigEndian.PutUint16(noCsum[14+20+6:], 0)
	tests := []struct {
		name   string
		frame  []byte
		src    string
		dst    string
		ok     bool // Translate4 handles it
		csumed bool // the checksums can be recomputed (not a UDP 0)
	}{
		{"tcp/src", pkt.TCP(eth, v4, seg), "203.0.113.1:50001", "198.51.100.7:443", true, true},
		{"tcp/dst", pkt.TCP(eth, v4, seg), "10.50.0.10:40000", "10.50.0.99:8443", true, true},
		{"tcp/both", pkt.TCP(eth, v4, seg), "203.0.113.9:65535", "192.0.2.1:1", true, true},
		{"tcp/same", pkt.TCP(eth, v4, seg), "10.50.0.10:40000", "198.51.100.7:443", true, true},
		{"udp/src", pkt.UDP(eth, v4, 5353, 53, payload), "203.0.113.1:50002", "198.51.100.7:53", true, true},
		{"udp/no-checksum", noCsum, "203.0.113.1:50002", "198.51.100.7:53", true, false},
		{"icmp/echo", pkt.Ping(eth, v4, false, 7, 1, payload), "203.0.113.1:7", "198.51.100.7:7", false, true},
		{"tcp6", pkt.TCP(eth, pkt.IPHdr{Src: "fd00::10", Dst: "2001:db8::7"}, seg), "203.0.113.1:1", "198.51.100.7:2", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := netip.MustParseAddrPort(tc.src), netip.MustParseAddrPort(tc.dst)
			got, want := parsed(t, tc.frame), parsed(t, tc.frame)
			if ok := Translate4(got, be32(src.Addr()), src.Port(), be32(dst.Addr()), dst.Port()); ok != tc.ok {
				t.Fatalf("Translate4(%s -> %s, %s) = %v, want %v", tc.name, tc.src, tc.dst, ok, tc.ok)
			}
			if !tc.ok {
				if !bytes.Equal(got.Bytes(), tc.frame) {
					t.Errorf("Translate4 refused the packet but changed it")
				}
				return
			}
			RewriteSrc(want, src.Addr(), src.Port())
			RewriteDst(want, dst.Addr(), dst.Port())
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("Translate4 frame\n%x\nwant (RewriteSrc, RewriteDst)\n%x", got.Bytes(), want.Bytes())
			}
			if got.Meta.Flow != want.Meta.Flow {
				t.Errorf("Translate4 flow %v, want %v", got.Meta.Flow, want.Meta.Flow)
			}
			if tc.csumed {
				checkChecksums(t, got.Bytes())
			} else if c := binary.BigEndian.Uint16(got.Bytes()[14+20+6:]); c != 0 {
				t.Errorf("UDP checksum %#04x, want 0 (none) kept", c)
			}
		})
	}
}

func be32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func BenchmarkTranslate4(b *testing.B) {
	p := parsed(b, pkt.TCP(eth, pkt.IPHdr{Src: "10.50.0.10", Dst: "198.51.100.7"}, pkt.TCPSeg{Sport: 40000, Dport: 443, Flags: pkt.ACK}))
	srcs := [2]uint32{be32(netip.MustParseAddr("203.0.113.1")), be32(netip.MustParseAddr("10.50.0.10"))}
	ports := [2]uint16{50001, 40000}
	dst := be32(netip.MustParseAddr("198.51.100.7"))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		Translate4(p, srcs[i&1], ports[i&1], dst, 443)
		i++
	}
}
