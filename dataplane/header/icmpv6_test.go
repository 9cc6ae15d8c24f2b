package header

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// icmpv6Capture is chrissanders-icmpv6_neighbor_solicitation.pcapng: NS,
// NA, then echo requests and replies.
const icmpv6Capture = "chrissanders-icmpv6_neighbor_solicitation.pcapng"

func TestICMPv6FromCapture(t *testing.T) {
	frames := readCapture(t, icmpv6Capture)
	// The capture's first echo is a reply (seq 1), then a request (seq 2).
	ip := IPv6(frames[3][EthernetSize:])
	req := ICMPv6(ip.Payload())
	rep := ICMPv6(IPv6(frames[2][EthernetSize:]).Payload())
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"request Type", req.Type(), ICMPv6EchoRequest},
		{"request Ident", req.Ident(), uint16(0xeaf5)},
		{"request Seq", req.Seq(), uint16(2)},
		{"request IsChecksumValid", req.IsChecksumValid(ip.Src(), ip.Dst()), true},
		{"request ComputeChecksum", req.ComputeChecksum(ip.Src(), ip.Dst()), req.Checksum()},
		{"wrong pseudo-header", req.IsChecksumValid(ip.Dst(), ip.Dst()), false},
		{"reply Type", rep.Type(), ICMPv6EchoReply},
		{"reply Seq", rep.Seq(), uint16(1)},
		{"reply Ident", rep.Ident(), uint16(0xeaf5)},
		{"NS Type", ICMPv6(IPv6(frames[0][EthernetSize:]).Payload()).Type(), ICMPv6NeighborSolicit},
		{"NA Type", ICMPv6(IPv6(frames[1][EthernetSize:]).Payload()).Type(), ICMPv6NeighborAdvert},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
			}
		})
	}
}

func TestICMPv6Encode(t *testing.T) {
	src, dst := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	for _, tc := range []struct {
		name string
		f    ICMPv6Fields
		mtu  uint32
	}{
		{name: "packet too big", f: ICMPv6Fields{Type: ICMPv6PacketTooBig, Rest: 1400}, mtu: 1400},
		{name: "address unreachable", f: ICMPv6Fields{Type: ICMPv6DstUnreachable, Code: ICMPv6AddressUnreachable}},
		{name: "echo reply", f: ICMPv6Fields{Type: ICMPv6EchoReply, Rest: 7<<16 | 1}, mtu: 7<<16 | 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ip := make([]byte, IPv6Size+ICMPv6MinSize+20)
			IPv6(ip).Encode(&IPv6Fields{PayloadLen: ICMPv6MinSize + 20, NextHeader: ProtoICMPv6, HopLimit: 64, Src: src, Dst: dst})
			h := ICMPv6(ip[IPv6Size:])
			h.Encode(&tc.f, src, dst)
			pk := gopacket.NewPacket(ip, layers.LayerTypeIPv6, gopacket.Default)
			ic, ok := pk.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
			if !ok {
				t.Fatalf("gopacket does not decode %x", ip)
			}
			_ = ic.SetNetworkLayerForChecksum(pk.NetworkLayer())
			if err, res := ic.VerifyChecksum(); err != nil || !res.Valid {
				t.Errorf("checksum %+v %v", res, err)
			}
			if ic.TypeCode != layers.CreateICMPv6TypeCode(uint8(tc.f.Type), uint8(tc.f.Code)) || h.MTU() != tc.mtu {
				t.Errorf("Encode(%+v) decodes as %v with MTU %d", tc.f, ic.TypeCode, h.MTU())
			}
		})
	}
}

func TestICMPv6IsError(t *testing.T) {
	for _, tc := range []struct {
		t    ICMPv6Type
		want bool
	}{
		{ICMPv6DstUnreachable, true}, {ICMPv6PacketTooBig, true}, {ICMPv6ParamProblem, true}, {127, true},
		{ICMPv6EchoRequest, false}, {ICMPv6NeighborSolicit, false}, {ICMPv6Redirect, false},
	} {
		if got := tc.t.IsError(); got != tc.want {
			t.Errorf("ICMPv6Type(%d).IsError() = %v, want %v", tc.t, got, tc.want)
		}
	}
}
