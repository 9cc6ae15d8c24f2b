package header

import (
	"net/netip"
	"testing"
)

// capturedSYN is the IPv4 TCP SYN of chrissanders-tcp_handshake.pcapng
// (172.16.16.128:2826 -> 212.58.226.142:80), IP header then TCP header
// with options, as captured.
const capturedSYN = "45000034317f4000800655ebac101080d43ae28e" +
	"0b0a0050dc0224740000000080022000cfeb0000020405b40103030201010402"

func TestTCPAccessors(t *testing.T) {
	b := hexBytes(capturedSYN)
	ip := IPv4(b)
	h := TCP(b[ip.HeaderLen():])
	tests := []struct {
		name      string
		got, want any
	}{
		{"IsValid", h.IsValid(), true},
		{"SrcPort", h.SrcPort(), uint16(2826)},
		{"DstPort", h.DstPort(), uint16(80)},
		{"Seq", h.Seq(), uint32(0xdc022474)},
		{"Ack", h.Ack(), uint32(0)},
		{"DataOffset", h.DataOffset(), 32},
		{"Flags", h.Flags(), TCPFlagSYN},
		{"Window", h.Window(), uint16(8192)},
		{"Checksum", h.Checksum(), uint16(0xcfeb)},
		{"UrgentPtr", h.UrgentPtr(), uint16(0)},
		{"Options", len(h.Options()), 12},
		{"Payload", len(h.Payload()), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("TCP(%x).%s() = %v, want %v", []byte(h), tc.name, tc.got, tc.want)
			}
		})
	}
	// The checksum is verified with the pseudo-header, then recomputed.
	ps := ip.PseudoHeaderChecksum()
	if s := Checksum(h, ps); s != 0xffff {
		t.Errorf("captured SYN sums to %#04x, want 0xffff", s)
	}
	if got := h.ComputeChecksum(ps); got != h.Checksum() {
		t.Errorf("ComputeChecksum = %#04x, want %#04x", got, h.Checksum())
	}
	if ip.ComputeChecksum() != ip.Checksum() {
		t.Errorf("captured SYN IP checksum %#04x, computed %#04x", ip.Checksum(), ip.ComputeChecksum())
	}
}

func TestTCPEncodeRoundTrip(t *testing.T) {
	f := TCPFields{SrcPort: 1, DstPort: 65535, Seq: 0xffffffff, Ack: 0x01020304,
		Flags: TCPFlagACK | TCPFlagPSH | TCPFlagCWR, Window: 0xabcd, Checksum: 0x1234, UrgentPtr: 7,
		Options: []byte{1, 1, 1, 0}}
	h := make(TCP, TCPMinSize+4)
	h.Encode(&f)
	got := TCPFields{SrcPort: h.SrcPort(), DstPort: h.DstPort(), Seq: h.Seq(), Ack: h.Ack(), Flags: h.Flags(),
		Window: h.Window(), Checksum: h.Checksum(), UrgentPtr: h.UrgentPtr(), Options: h.Options()}
	if got.SrcPort != f.SrcPort || got.DstPort != f.DstPort || got.Seq != f.Seq || got.Ack != f.Ack ||
		got.Flags != f.Flags || got.Window != f.Window || got.Checksum != f.Checksum ||
		got.UrgentPtr != f.UrgentPtr || string(got.Options) != string(f.Options) || h.DataOffset() != 24 {
		t.Errorf("Encode(%+v) decodes as %+v", f, got)
	}
}

// TestTCPChecksumIncremental rewrites a segment's address and port as NAT
// does and checks the incremental update against a full recompute.
func TestTCPChecksumIncremental(t *testing.T) {
	b := hexBytes(capturedSYN)
	ip := IPv4(b)
	h := TCP(b[ip.HeaderLen():])
	newSrc := netip.MustParseAddr("203.0.113.9")
	ipc := UpdateAddr(ip.Checksum(), ip.Src(), newSrc)
	tc := UpdateAddr(h.Checksum(), ip.Src(), newSrc)
	tc = Update16(tc, h.SrcPort(), 61000)
	ip.SetSrc(newSrc)
	ip.SetChecksum(ipc)
	h.SetSrcPort(61000)
	h.SetChecksum(tc)
	if !ip.IsChecksumValid() {
		t.Errorf("IP checksum after UpdateAddr = %#04x, want %#04x", ip.Checksum(), ip.ComputeChecksum())
	}
	if want := h.ComputeChecksum(ip.PseudoHeaderChecksum()); tc != want {
		t.Errorf("TCP checksum after UpdateAddr, Update16 = %#04x, want %#04x", tc, want)
	}
}

func TestTCPIsValid(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want bool
	}{
		{"min", append([]byte{0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0x50}, make([]byte, 7)...), true},
		{"offset4", append([]byte{0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0x40}, make([]byte, 7)...), false},
		{"offset-beyond", append([]byte{0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0x60}, make([]byte, 7)...), false},
		{"short", make([]byte, 19), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := TCP(tc.b).IsValid(); got != tc.want {
				t.Errorf("TCP(%x).IsValid() = %v, want %v", tc.b, got, tc.want)
			}
		})
	}
}
