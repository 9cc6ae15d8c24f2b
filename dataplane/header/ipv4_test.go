package header

import (
	"net/netip"
	"testing"
)

// capturedIPv4 is an IPv4 header from a capture: UDP, 192.168.0.1 ->
// 192.168.0.199, total length 115, DF, TTL 64, checksum b861.
const capturedIPv4 = "45000073000040004011b861c0a80001c0a800c7"

func TestIPv4Accessors(t *testing.T) {
	h := IPv4(hexBytes(capturedIPv4))
	tests := []struct {
		name      string
		got, want any
	}{
		{"Version", h.Version(), uint8(4)},
		{"IHL", h.IHL(), uint8(5)},
		{"HeaderLen", h.HeaderLen(), 20},
		{"TOS", h.TOS(), uint8(0)},
		{"TotalLen", h.TotalLen(), uint16(115)},
		{"ID", h.ID(), uint16(0)},
		{"Flags", h.Flags(), IPv4FlagDF},
		{"DF", h.DF(), true},
		{"MF", h.MF(), false},
		{"FragOff", h.FragOff(), uint16(0)},
		{"IsFragment", h.IsFragment(), false},
		{"TTL", h.TTL(), uint8(64)},
		{"Protocol", h.Protocol(), ProtoUDP},
		{"Checksum", h.Checksum(), uint16(0xb861)},
		{"Src", h.Src(), netip.MustParseAddr("192.168.0.1")},
		{"Dst", h.Dst(), netip.MustParseAddr("192.168.0.199")},
		{"ComputeChecksum", h.ComputeChecksum(), uint16(0xb861)},
		{"IsChecksumValid", h.IsChecksumValid(), true},
		{"Options", len(h.Options()), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("IPv4(%s).%s() = %v, want %v", capturedIPv4, tc.name, tc.got, tc.want)
			}
		})
	}
}

func TestIPv4EncodeRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		f    IPv4Fields
	}{
		{"plain", IPv4Fields{TotalLen: 20, TTL: 64, Protocol: ProtoTCP,
			Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")}},
		{"fragment", IPv4Fields{TOS: 0xb8, TotalLen: 1500, ID: 0xbeef, Flags: IPv4FlagMF, FragOff: 1480 * 3,
			TTL: 1, Protocol: ProtoUDP, Src: netip.MustParseAddr("255.255.255.255"), Dst: netip.MustParseAddr("0.0.0.0")}},
		{"options", IPv4Fields{TotalLen: 24, ID: 1, Flags: IPv4FlagDF | IPv4FlagRF, FragOff: 0x1fff * 8, TTL: 255,
			Protocol: ProtoICMP, Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("198.51.100.7"),
			Options: []byte{0x94, 0x04, 0x00, 0x00}}}, // router alert
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := make(IPv4, IPv4MaxSize)
			h.Encode(&tc.f)
			hl := IPv4MinSize + len(tc.f.Options)
			got := IPv4Fields{TOS: h.TOS(), TotalLen: h.TotalLen(), ID: h.ID(), Flags: h.Flags(), FragOff: h.FragOff(),
				TTL: h.TTL(), Protocol: h.Protocol(), Src: h.Src(), Dst: h.Dst(), Options: h.Options()}
			if !equalIPv4Fields(got, tc.f) {
				t.Errorf("Encode(%+v) decodes as %+v", tc.f, got)
			}
			if h.HeaderLen() != hl {
				t.Errorf("Encode(%+v).HeaderLen() = %d, want %d", tc.f, h.HeaderLen(), hl)
			}
			if !h.IsChecksumValid() {
				t.Errorf("Encode(%+v) checksum %#04x invalid", tc.f, h.Checksum())
			}
			if !h[:hl].IsValid(int(tc.f.TotalLen)) && int(tc.f.TotalLen) >= hl {
				t.Errorf("Encode(%+v).IsValid(%d) = false", tc.f, tc.f.TotalLen)
			}
		})
	}
}

func equalIPv4Fields(a, b IPv4Fields) bool {
	return string(a.Options) == string(b.Options) && a.TOS == b.TOS && a.TotalLen == b.TotalLen &&
		a.ID == b.ID && a.Flags == b.Flags && a.FragOff == b.FragOff && a.TTL == b.TTL &&
		a.Protocol == b.Protocol && a.Src == b.Src && a.Dst == b.Dst
}

func TestIPv4Setters(t *testing.T) {
	h := IPv4(hexBytes(capturedIPv4))
	h.SetTOS(0x10)
	h.SetTotalLen(1000)
	h.SetID(0x1234)
	h.SetFlagsFragOff(IPv4FlagMF, 8)
	h.SetTTL(3)
	h.SetProtocol(ProtoTCP)
	h.SetSrc(netip.MustParseAddr("1.2.3.4"))
	h.SetDst(netip.MustParseAddr("5.6.7.8"))
	h.UpdateChecksum()
	want := "4510" + "03e8" + "1234" + "2001" + "0306" + "0000" + "01020304" + "05060708"
	wantH := IPv4(hexBytes(want))
	wantH.UpdateChecksum()
	if string(h) != string(wantH) {
		t.Errorf("setters = %x, want %x", []byte(h), []byte(wantH))
	}
	if !h.MF() || h.DF() || !h.IsFragment() || h.FragOff() != 8 {
		t.Errorf("MF, DF, IsFragment, FragOff = %v %v %v %d, want true false true 8", h.MF(), h.DF(), h.IsFragment(), h.FragOff())
	}
}

func TestIPv4DecTTL(t *testing.T) {
	for ttl := 2; ttl < 256; ttl++ {
		h := IPv4(hexBytes(capturedIPv4))
		h.SetTTL(uint8(ttl))
		h.UpdateChecksum()
		h.DecTTL()
		if h.TTL() != uint8(ttl-1) || !h.IsChecksumValid() {
			t.Fatalf("DecTTL from %d: TTL %d, checksum %#04x valid %v", ttl, h.TTL(), h.Checksum(), h.IsChecksumValid())
		}
	}
}

func TestIPv4IsValid(t *testing.T) {
	tests := []struct {
		name string
		hdr  string
		n    int // -1: len(hdr)
		want bool
	}{
		{"captured-short-frame", capturedIPv4, -1, false}, // total length 115 > 20 bytes
		{"captured", capturedIPv4, 115, true},
		{"exact", "45000014000040004011b861c0a80001c0a800c7", -1, true},
		{"padded", "45000014000040004011b861c0a80001c0a800c70000", -1, true},
		{"version6", "65000014000040004011b861c0a80001c0a800c7", -1, false},
		{"ihl4", "44000014000040004011b861c0a80001c0a800c7", -1, false},
		{"ihl6-short", "46000018000040004011b861c0a80001c0a800c7", 24, false}, // options beyond the slice
		{"ihl6", "4600001800004000401100000a0000010a00000201010101", -1, true},
		{"total-below-header", "45000013000040004011b861c0a80001c0a800c7", -1, false},
		{"total-zero", "45000000000040004011b861c0a80001c0a800c7", -1, false}, // TSO captures
		{"short", "4500001400004000401100000a000001", -1, false},
		{"empty", "", -1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := IPv4(hexBytes(tc.hdr))
			n := tc.n
			if n < 0 {
				n = len(h)
			}
			if got := h.IsValid(n); got != tc.want {
				t.Errorf("IPv4(%s).IsValid(%d) = %v, want %v", tc.hdr, n, got, tc.want)
			}
		})
	}
}

func FuzzIPv4IsValid(f *testing.F) {
	f.Add(hexBytes(capturedIPv4), 115)                                      // valid, total length beyond the slice
	f.Add(hexBytes("45000014000040004011b861c0a80001c0a800c7"), 20)         // exactly one header
	f.Add(hexBytes("4f000014000040004011b861c0a80001c0a800c7"), 60)         // IHL 15 but only 20 bytes
	f.Add(hexBytes("4500ffff000040004011b861c0a80001c0a800c7"), 65535)      // total length 65535
	f.Add(hexBytes("4500"), 2)                                              // truncated
	f.Add(hexBytes("4600001800004000401100000a0000010a00000201010101"), 24) // one option word
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		h := IPv4(b)
		if !h.IsValid(n) {
			return
		}
		// A valid header's accessors stay inside the slice.
		hl := h.HeaderLen()
		if hl < IPv4MinSize || hl > len(b) || int(h.TotalLen()) < hl || int(h.TotalLen()) > n {
			t.Fatalf("IPv4(%x).IsValid(%d) = true with header length %d, total %d", b, n, hl, h.TotalLen())
		}
		_ = h.Options()
		_ = h.Src()
		_ = h.Dst()
		_ = h.IsChecksumValid()
		if n <= len(b) {
			_ = h.Payload()
		}
	})
}

func TestIPv4HasValidOptions(t *testing.T) {
	tests := []struct {
		name string
		opts string
		want bool
	}{
		{"none", "", true},
		{"router-alert", "94040000", true},
		{"nops-eol", "01010100", true},
		{"eol-then-garbage", "00ffffff", true},
		{"length-1", "94010000", false},
		{"length-0", "07000000", false},
		{"length-past-header", "07050000", false},
		{"type-at-end", "01010107", false},
		{"record-route-8", "0707040a0000010100", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := hexBytes(tc.opts)
			for len(opts)%4 != 0 {
				opts = append(opts, 0)
			}
			h := make(IPv4, IPv4MinSize+len(opts))
			h.Encode(&IPv4Fields{TotalLen: uint16(len(h)), TTL: 1, Src: netip.IPv4Unspecified(), Dst: netip.IPv4Unspecified(), Options: opts})
			if got := h.HasValidOptions(); got != tc.want {
				t.Errorf("IPv4 options %x: HasValidOptions() = %v, want %v", opts, got, tc.want)
			}
		})
	}
}

func TestIPv4HasValidAddrs(t *testing.T) {
	tests := []struct {
		src, dst string
		want     bool
	}{
		{"10.0.0.1", "10.0.0.2", true},
		{"0.0.0.0", "255.255.255.255", true}, // DHCP discover
		{"127.0.0.1", "10.0.0.2", false},
		{"10.0.0.1", "127.255.255.254", false},
		{"126.255.255.255", "128.0.0.0", true},
	}
	for _, tc := range tests {
		h := make(IPv4, IPv4MinSize)
		h.Encode(&IPv4Fields{TotalLen: IPv4MinSize, Src: netip.MustParseAddr(tc.src), Dst: netip.MustParseAddr(tc.dst)})
		if got := h.HasValidAddrs(); got != tc.want {
			t.Errorf("HasValidAddrs(%s -> %s) = %v, want %v", tc.src, tc.dst, got, tc.want)
		}
	}
}
