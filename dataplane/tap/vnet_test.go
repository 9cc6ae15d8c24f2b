package tap

import (
	"bytes"
	"testing"

	"github.com/hostnet/hostnet/dataplane/packet"
)

func TestVnet(t *testing.T) {
	tests := []struct {
		name string
		gso  packet.GSO
		wire []byte
	}{
		{"none", packet.GSO{}, make([]byte, 12)},
		{
			"TCPv4 super-frame",
			packet.GSO{Type: 1, NeedsCsum: true, HdrLen: 54, Size: 1448, CsumStart: 34, CsumOffset: 16},
			[]byte{1, 1, 54, 0, 0xa8, 0x05, 34, 0, 16, 0, 0, 0},
		},
		{
			"partial checksum only, UDPv6",
			packet.GSO{NeedsCsum: true, CsumStart: 54, CsumOffset: 6},
			[]byte{1, 0, 0, 0, 0, 0, 54, 0, 6, 0, 0, 0},
		},
		{
			"TCPv6 with ECN",
			packet.GSO{Type: 0x84, NeedsCsum: true, HdrLen: 0x1234, Size: 0xfff0, CsumStart: 0x0102, CsumOffset: 16},
			[]byte{1, 0x84, 0x34, 0x12, 0xf0, 0xff, 2, 1, 16, 0, 0, 0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := bytes.Repeat([]byte{0xee}, 12)
			encodeVnet(h, &tc.gso)
			if !bytes.Equal(h, tc.wire) {
				t.Errorf("encodeVnet(%+v) = % x, want % x", tc.gso, h, tc.wire)
			}
			var g packet.GSO
			g.Type = 0x55 // decode must overwrite everything
			decodeVnet(tc.wire, &g)
			if g != tc.gso {
				t.Errorf("decodeVnet(% x) = %+v, want %+v", tc.wire, g, tc.gso)
			}
		})
	}
}

func TestOffloadString(t *testing.T) {
	tests := []struct {
		o    Offload
		want string
	}{
		{0, "none"},
		{OffloadCsum | OffloadTSO4 | OffloadTSO6, "csum,tso4,tso6"},
		{OffloadCsum | OffloadTSO4 | OffloadTSO6 | OffloadUSO4 | OffloadUSO6, "csum,tso4,tso6,uso4,uso6"},
	}
	for _, tc := range tests {
		if got := tc.o.String(); got != tc.want {
			t.Errorf("Offload(%#x).String() = %q, want %q", uint32(tc.o), got, tc.want)
		}
	}
}
