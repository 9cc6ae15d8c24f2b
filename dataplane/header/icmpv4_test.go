package header

import (
	"bytes"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func TestICMPv4FromCapture(t *testing.T) {
	frames := readCapture(t, "chrissanders-icmp_echo.pcapng")
	req := ICMPv4(frames[0][EthernetSize+IPv4MinSize:])
	rep := ICMPv4(frames[1][EthernetSize+IPv4MinSize:])
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"request IsValid", req.IsValid(), true},
		{"request Type", req.Type(), ICMPv4Echo},
		{"request Code", req.Code(), ICMPv4Code(0)},
		{"request Checksum", req.Checksum(), uint16(0x145c)},
		{"request ComputeChecksum", req.ComputeChecksum(), uint16(0x145c)},
		{"request IsChecksumValid", req.IsChecksumValid(), true},
		{"request Ident", req.Ident(), uint16(0x0500)},
		{"request Seq", req.Seq(), uint16(0x3400)},
		{"reply Type", rep.Type(), ICMPv4EchoReply},
		{"reply Ident", rep.Ident(), req.Ident()},
		{"reply Seq", rep.Seq(), req.Seq()},
		{"reply IsChecksumValid", rep.IsChecksumValid(), true},
		{"Payload", string(rep.Payload()), string(req.Payload())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
			}
		})
	}
}

func TestICMPv4Encode(t *testing.T) {
	quote := bytes.Repeat([]byte{0x45, 1, 2, 3}, 7)
	for _, tc := range []struct {
		name string
		f    ICMPv4Fields
		id   uint16
		seq  uint16
	}{
		{name: "echo reply", f: ICMPv4Fields{Type: ICMPv4EchoReply, Rest: 7<<16 | 9}, id: 7, seq: 9},
		{name: "fragmentation needed", f: ICMPv4Fields{Type: ICMPv4DstUnreachable, Code: ICMPv4FragmentationNeeded, Rest: 1400}, seq: 1400},
		{name: "time exceeded", f: ICMPv4Fields{Type: ICMPv4TimeExceeded, Code: ICMPv4TTLExceeded}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := make([]byte, ICMPv4MinSize+len(quote))
			copy(b[ICMPv4MinSize:], quote)
			h := ICMPv4(b)
			h.Encode(&tc.f)
			pk := gopacket.NewPacket(b, layers.LayerTypeICMPv4, gopacket.Default)
			ic, ok := pk.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			if !ok {
				t.Fatalf("gopacket does not decode %x", b)
			}
			if err, res := ic.VerifyChecksum(); err != nil || !res.Valid {
				t.Errorf("checksum %+v %v", res, err)
			}
			if ic.TypeCode != layers.CreateICMPv4TypeCode(uint8(tc.f.Type), uint8(tc.f.Code)) || ic.Id != tc.id || ic.Seq != tc.seq {
				t.Errorf("Encode(%+v) decodes as %v id %d seq %d", tc.f, ic.TypeCode, ic.Id, ic.Seq)
			}
			if h.MTU() != tc.seq || !h.IsChecksumValid() {
				t.Errorf("MTU() = %d, IsChecksumValid() = %v", h.MTU(), h.IsChecksumValid())
			}
		})
	}
}

func TestICMPv4IsError(t *testing.T) {
	for typ := range 256 {
		want := typ == 3 || typ == 4 || typ == 5 || typ == 11 || typ == 12
		if got := ICMPv4Type(typ).IsError(); got != want {
			t.Errorf("ICMPv4Type(%d).IsError() = %v, want %v", typ, got, want)
		}
	}
}
