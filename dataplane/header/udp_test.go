package header

import (
	"net/netip"
	"testing"
)

func TestUDP(t *testing.T) {
	// A DNS query for example.com, built and checksummed, then read back.
	src, dst := netip.MustParseAddr("192.168.1.2"), netip.MustParseAddr("192.168.1.1")
	payload := []byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01")
	n := UDPSize + len(payload)
	h := make(UDP, n)
	h.Encode(53334, 53, uint16(n), 0)
	copy(h[UDPSize:], payload)
	h.SetChecksum(h.ComputeChecksum(PseudoHeaderChecksum(ProtoUDP, src, dst, uint32(n))))
	tests := []struct {
		name      string
		got, want any
	}{
		{"SrcPort", h.SrcPort(), uint16(53334)},
		{"DstPort", h.DstPort(), uint16(53)},
		{"Length", h.Length(), uint16(n)},
		{"Payload", string(h.Payload()), string(payload)},
		{"IsValid", h.IsValid(n), true},
		{"IsValid-short", h.IsValid(n - 1), false},
		{"sum", Checksum(h, PseudoHeaderChecksum(ProtoUDP, src, dst, uint32(n))), uint16(0xffff)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("UDP(%x).%s = %v, want %v", []byte(h), tc.name, tc.got, tc.want)
			}
		})
	}
}

// TestUDPChecksumZero checks RFC 768's rule: a computed 0 goes out as
// 0xffff.
func TestUDPChecksumZero(t *testing.T) {
	// Header with ports 0, length 8 and a payload-free sum: the pseudo
	// sum is chosen so the whole sums to 0xffff.
	h := make(UDP, UDPSize)
	h.Encode(0, 0, UDPSize, 0)
	pseudo := ^Checksum(h, 0) // makes Checksum(h, pseudo) == 0xffff
	if got := h.ComputeChecksum(pseudo); got != 0xffff {
		t.Errorf("ComputeChecksum(%#04x) = %#04x, want 0xffff", pseudo, got)
	}
}

func TestUDPIsValid(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		n    int
		want bool
	}{
		{"header-only", []byte{0, 1, 0, 2, 0, 8, 0, 0}, 8, true},
		{"length7", []byte{0, 1, 0, 2, 0, 7, 0, 0}, 8, false},
		{"length-beyond", []byte{0, 1, 0, 2, 0, 9, 0, 0}, 8, false},
		{"short", []byte{0, 1, 0, 2, 0, 8, 0}, 8, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := UDP(tc.b).IsValid(tc.n); got != tc.want {
				t.Errorf("UDP(%x).IsValid(%d) = %v, want %v", tc.b, tc.n, got, tc.want)
			}
		})
	}
}

// TestUDPCaptured verifies the checksum of the DNS query of
// chrissanders-dns_query_response.pcapng (192.168.0.114:1060 ->
// 205.152.37.23:53), IP header then UDP.
func TestUDPCaptured(t *testing.T) {
	b := hexBytes("4500003b1f270000801167c1c0a80072cd982517" +
		"042400350027036d180f010000010000000000000977697265736861726b036f72670000010001")
	ip := IPv4(b)
	if !ip.IsValid(len(b)) || !ip.IsChecksumValid() {
		t.Fatalf("captured IPv4 header invalid")
	}
	h := UDP(ip.Payload())
	if !h.IsValid(len(h)) || h.SrcPort() != 1060 || h.DstPort() != 53 || h.Length() != 39 {
		t.Errorf("UDP = %d -> %d length %d, want 1060 -> 53 length 39", h.SrcPort(), h.DstPort(), h.Length())
	}
	if got := h.ComputeChecksum(ip.PseudoHeaderChecksum()); got != h.Checksum() {
		t.Errorf("ComputeChecksum = %#04x, want the captured %#04x", got, h.Checksum())
	}
}
