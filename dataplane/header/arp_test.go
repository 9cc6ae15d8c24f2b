package header

import (
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func TestARPFromCapture(t *testing.T) {
	frames := readCapture(t, "chrissanders-arp_resolution.pcapng")
	if len(frames) != 2 {
		t.Fatalf("capture has %d frames, want 2", len(frames))
	}
	req, rep := ARP(frames[0][EthernetSize:]), ARP(frames[1][EthernetSize:])
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"request IsValid", req.IsValid(), true},
		{"request Op", req.Op(), ARPRequest},
		{"request SenderHardwareAddr", req.SenderHardwareAddr(), MAC{0x00, 0x16, 0xce, 0x6e, 0x8b, 0x24}},
		{"request TargetProtocolAddr", req.TargetProtocolAddr(), netip.MustParseAddr("192.168.0.1")},
		{"request TargetHardwareAddr", req.TargetHardwareAddr(), MAC{}},
		{"reply IsValid", rep.IsValid(), true},
		{"reply Op", rep.Op(), ARPReply},
		{"reply SenderHardwareAddr", rep.SenderHardwareAddr(), MAC{0x00, 0x13, 0x46, 0x0b, 0x22, 0xba}},
		{"reply SenderProtocolAddr", rep.SenderProtocolAddr(), netip.MustParseAddr("192.168.0.1")},
		{"reply TargetHardwareAddr", rep.TargetHardwareAddr(), MAC{0x00, 0x16, 0xce, 0x6e, 0x8b, 0x24}},
		{"reply TargetProtocolAddr", rep.TargetProtocolAddr(), req.SenderProtocolAddr()},
		{"HardwareType", req.HardwareType(), ARPHardwareEthernet},
		{"ProtocolType", req.ProtocolType(), EtherTypeIPv4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
			}
		})
	}

	g := readCapture(t, "chrissanders-arp_gratuitous.pcapng")
	if a := ARP(g[0][EthernetSize:]); !a.IsValid() || a.SenderProtocolAddr() != a.TargetProtocolAddr() ||
		a.SenderProtocolAddr() != netip.MustParseAddr("24.6.125.19") {
		t.Errorf("gratuitous ARP: sender %v target %v, want both 24.6.125.19", a.SenderProtocolAddr(), a.TargetProtocolAddr())
	}
}

func TestARPEncode(t *testing.T) {
	f := ARPFields{
		Op:        ARPReply,
		SenderMAC: MAC{2, 0, 0, 0, 0, 1}, SenderIP: netip.MustParseAddr("10.50.0.1"),
		TargetMAC: MAC{2, 0, 0, 0, 0, 2}, TargetIP: netip.MustParseAddr("10.50.0.10"),
	}
	b := make([]byte, ARPSize)
	ARP(b).Encode(&f)
	pk := gopacket.NewPacket(b, layers.LayerTypeARP, gopacket.Default)
	a, ok := pk.Layer(layers.LayerTypeARP).(*layers.ARP)
	if !ok {
		t.Fatalf("gopacket does not decode %x as ARP", b)
	}
	if a.Operation != uint16(f.Op) || a.AddrType != layers.LinkTypeEthernet || a.Protocol != layers.EthernetTypeIPv4 ||
		net.HardwareAddr(a.SourceHwAddress).String() != f.SenderMAC.String() ||
		net.IP(a.SourceProtAddress).String() != f.SenderIP.String() ||
		net.HardwareAddr(a.DstHwAddress).String() != f.TargetMAC.String() ||
		net.IP(a.DstProtAddress).String() != f.TargetIP.String() {
		t.Errorf("Encode(%+v) decodes as %+v", f, a)
	}
}

func TestARPIsValid(t *testing.T) {
	good := make([]byte, ARPSize)
	ARP(good).Encode(&ARPFields{Op: ARPRequest, SenderIP: netip.MustParseAddr("10.0.0.1"), TargetIP: netip.MustParseAddr("10.0.0.2")})
	edit := func(i int, v byte) []byte {
		b := append([]byte(nil), good...)
		b[i] = v
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"valid", good, true},
		{"trailer", append(append([]byte(nil), good...), 0, 0, 0, 0), true},
		{"short", good[:ARPSize-1], false},
		{"empty", nil, false},
		{"hardware type 6", edit(1, 6), false},
		{"protocol type IPv6", edit(2, 0x86), false},
		{"hardware length 8", edit(4, 8), false},
		{"protocol length 16", edit(5, 16), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ARP(tc.b).IsValid(); got != tc.want {
				t.Errorf("ARP(%x).IsValid() = %v, want %v", tc.b, got, tc.want)
			}
		})
	}
}

func FuzzARPIsValid(f *testing.F) {
	good := make([]byte, ARPSize)
	ARP(good).Encode(&ARPFields{Op: ARPRequest, SenderIP: netip.MustParseAddr("10.0.0.1"), TargetIP: netip.MustParseAddr("10.0.0.2")})
	f.Add(good)               // a valid request
	f.Add(good[:ARPSize-1])   // one byte short
	f.Add([]byte{0, 1, 8, 0}) // the start of a header only
	f.Fuzz(func(t *testing.T, b []byte) {
		a := ARP(b)
		if !a.IsValid() {
			return
		}
		// Every accessor is in bounds once IsValid holds.
		_, _, _, _, _ = a.Op(), a.SenderHardwareAddr(), a.SenderProtocolAddr(), a.TargetHardwareAddr(), a.TargetProtocolAddr()
	})
}
