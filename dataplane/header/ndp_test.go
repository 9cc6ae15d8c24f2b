package header

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func TestNDPFromCapture(t *testing.T) {
	frames := readCapture(t, icmpv6Capture)
	ns := NDP(IPv6(frames[0][EthernetSize:]).Payload())
	na := NDP(IPv6(frames[1][EthernetSize:]).Payload())
	sll, hasSLL := ns.LinkLayerOption(NDPOptionSourceLinkLayer)
	_, nsTLL := ns.LinkLayerOption(NDPOptionTargetLinkLayer)
	tll, hasTLL := na.LinkLayerOption(NDPOptionTargetLinkLayer)
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"NS IsValid", ns.IsValid(), true},
		{"NS Target", ns.Target(), netip.MustParseAddr("2001:db8:1:2::1000")},
		{"NS source link-layer", sll, MAC{0x00, 0x0c, 0x29, 0x2f, 0x80, 0x31}},
		{"NS has source link-layer", hasSLL, true},
		{"NS has no target link-layer", nsTLL, false},
		{"NA IsValid", na.IsValid(), true},
		{"NA Target", na.Target(), netip.MustParseAddr("2001:db8:1:2::1000")},
		{"NA Flags", na.Flags(), NDPFlagSolicited | NDPFlagOverride},
		{"NA IsRouter", na.IsRouter(), false},
		{"NA IsSolicited", na.IsSolicited(), true},
		{"NA IsOverride", na.IsOverride(), true},
		{"NA target link-layer", tll, MAC{0x00, 0x0c, 0x29, 0x1f, 0xa7, 0x55}},
		{"NA has target link-layer", hasTLL, true},
		{"solicited-node of the target", SolicitedNodeAddr(ns.Target()), IPv6(frames[0][EthernetSize:]).Dst()},
		{"multicast MAC", IPv6MulticastMAC(SolicitedNodeAddr(ns.Target())), Ethernet(frames[0]).Dst()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
			}
		})
	}
}

func TestNDPEncode(t *testing.T) {
	src, dst := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("ff02::1:ff00:2")
	mac := MAC{2, 0, 0, 0, 0, 1}
	for _, tc := range []struct {
		name string
		f    NDPFields
	}{
		{name: "solicitation", f: NDPFields{Type: ICMPv6NeighborSolicit, Target: netip.MustParseAddr("fe80::2"), LinkLayer: mac, HasLinkLayer: true}},
		{name: "advertisement", f: NDPFields{Type: ICMPv6NeighborAdvert, Flags: NDPFlagRouter | NDPFlagSolicited | NDPFlagOverride,
			Target: netip.MustParseAddr("fe80::1"), LinkLayer: mac, HasLinkLayer: true}},
		{name: "solicitation for DAD", f: NDPFields{Type: ICMPv6NeighborSolicit, Target: netip.MustParseAddr("fe80::2")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.f.Len()
			ip := make([]byte, IPv6Size+n)
			IPv6(ip).Encode(&IPv6Fields{PayloadLen: uint16(n), NextHeader: ProtoICMPv6, HopLimit: NDPHopLimit, Src: src, Dst: dst})
			h := NDP(ip[IPv6Size:])
			h.Encode(&tc.f, src, dst)
			if !h.IsValid() || !ICMPv6(h).IsChecksumValid(src, dst) || h.Target() != tc.f.Target || h.Flags() != tc.f.Flags {
				t.Errorf("Encode(%+v) = %x: valid %v, checksum %v", tc.f, h, h.IsValid(), ICMPv6(h).IsChecksumValid(src, dst))
			}
			pk := gopacket.NewPacket(ip, layers.LayerTypeIPv6, gopacket.Default)
			ic, ok := pk.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
			if !ok {
				t.Fatalf("gopacket does not decode %x", ip)
			}
			_ = ic.SetNetworkLayerForChecksum(pk.NetworkLayer())
			if err, res := ic.VerifyChecksum(); err != nil || !res.Valid {
				t.Errorf("checksum %+v %v", res, err)
			}
			var opts layers.ICMPv6Options
			switch tc.f.Type {
			case ICMPv6NeighborSolicit:
				opts = pk.Layer(layers.LayerTypeICMPv6NeighborSolicitation).(*layers.ICMPv6NeighborSolicitation).Options
			default:
				a := pk.Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement)
				opts = a.Options
				if a.Flags != tc.f.Flags {
					t.Errorf("flags %#x, want %#x", a.Flags, tc.f.Flags)
				}
			}
			if tc.f.HasLinkLayer != (len(opts) == 1) || (len(opts) == 1 && MAC(opts[0].Data) != mac) {
				t.Errorf("options %v", opts)
			}
		})
	}
}

func TestNDPIsValid(t *testing.T) {
	f := NDPFields{Type: ICMPv6NeighborSolicit, Target: netip.MustParseAddr("fe80::2"), LinkLayer: MAC{2}, HasLinkLayer: true}
	good := make([]byte, f.Len())
	NDP(good).Encode(&f, netip.MustParseAddr("fe80::1"), netip.MustParseAddr("fe80::2"))
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
		{"no options", good[:NDPMinSize], true},
		{"short", good[:NDPMinSize-1], false},
		{"code 1", edit(1, 1), false},
		{"option of length 0", edit(NDPMinSize+1, 0), false},
		{"option past the end", edit(NDPMinSize+1, 2), false},
		{"truncated option", good[:NDPMinSize+1], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NDP(tc.b).IsValid(); got != tc.want {
				t.Errorf("NDP(%x).IsValid() = %v, want %v", tc.b, got, tc.want)
			}
		})
	}
}

func TestNDPAddresses(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"SolicitedNodeAddr", SolicitedNodeAddr(netip.MustParseAddr("2001:db8::aa:bbcc:ddee")), netip.MustParseAddr("ff02::1:ffcc:ddee")},
		{"IPv6MulticastMAC", IPv6MulticastMAC(netip.MustParseAddr("ff02::1:ffcc:ddee")), MAC{0x33, 0x33, 0xff, 0xcc, 0xdd, 0xee}},
		{"LinkLocalFromMAC", LinkLocalFromMAC(MAC{0x00, 0x0c, 0x29, 0x2f, 0x80, 0x31}), netip.MustParseAddr("fe80::20c:29ff:fe2f:8031")},
		{"LinkLocalFromMAC local", LinkLocalFromMAC(MAC{0x02, 0, 0, 0, 0, 1}), netip.MustParseAddr("fe80::ff:fe00:1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
			}
		})
	}
}

func FuzzNDPIsValid(f *testing.F) {
	nf := NDPFields{Type: ICMPv6NeighborAdvert, Target: netip.MustParseAddr("fe80::2"), LinkLayer: MAC{2}, HasLinkLayer: true}
	good := make([]byte, nf.Len())
	NDP(good).Encode(&nf, netip.MustParseAddr("fe80::1"), netip.MustParseAddr("fe80::2"))
	f.Add(good)                  // an advertisement with its target link-layer option
	f.Add(good[:NDPMinSize])     // no options
	f.Add(append(good, 1, 0))    // a trailing option of length 0
	f.Add(append(good, 1, 9, 0)) // an option longer than what is left
	f.Fuzz(func(t *testing.T, b []byte) {
		h := NDP(b)
		// LinkLayerOption is safe on anything past the fixed part.
		if len(b) >= NDPMinSize {
			h.LinkLayerOption(NDPOptionSourceLinkLayer)
		}
		if !h.IsValid() {
			return
		}
		_, _ = h.Target(), h.Flags()
		if _, ok := h.LinkLayerOption(NDPOptionTargetLinkLayer); ok != (len(b) > NDPMinSize && hasOption(b[NDPMinSize:], NDPOptionTargetLinkLayer)) {
			t.Errorf("LinkLayerOption disagrees with a plain walk of %x", b)
		}
	})
}

// hasOption is the slow walk of a valid option list.
func hasOption(o []byte, typ uint8) bool {
	for len(o) > 0 {
		if o[0] == typ {
			return true
		}
		o = o[int(o[1])*8:]
	}
	return false
}
