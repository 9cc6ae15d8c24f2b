package test

import (
	"bytes"
	"fmt"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/test/pkt"
)

// Fragments across pf's reassembly: pf (set reassemble yes, the default)
// reassembles on the way in, and what leaves is cut again as OpenBSD
// cuts it (bridge_fragment, ip_fragment, pf_refragment6).

const (
	ip6A   = "2001:db8::a"
	ip6B   = "2001:db8::b"
	ip6GW  = "2001:db8:ff::fe"
	ip6Gst = "2001:db8:50::10"
)

// bigUDP builds a UDP datagram of n payload bytes between two hosts.
func bigUDP(e pkt.Eth, src, dst string, id uint16, df bool, n int) []byte {
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i*13 + i/256)
	}
	return pkt.UDP(e, pkt.IPHdr{Src: src, Dst: dst, ID: id, DF: df}, 7000, 7001, data)
}

// frames turns a train of fragments into input frames, one millisecond
// apart from start.
func frames(start float64, train ...[]byte) []frame {
	var out []frame
	for i, b := range train {
		out = append(out, frame{at(start + float64(i)/1000), b})
	}
	return out
}

// withLayer returns the frames of ifname that have layer lt.
func withLayer(r result, ifname string, lt gopacket.LayerType) [][]byte {
	var out [][]byte
	for _, f := range r.out[ifname] {
		if decode(f).Layer(lt) != nil {
			out = append(out, f)
		}
	}
	return out
}

// ipPayload returns the IP payload of an unfragmented frame: what the
// fragments must join into.
func ipPayload(b []byte) []byte {
	p := decode(b)
	if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		return ip.Payload
	}
	return p.Layer(layers.LayerTypeIPv6).(*layers.IPv6).Payload
}

// expectDatagram checks that frames are datagram orig cut right (pkt.Defrag4
// or Defrag6 with the MTU), into fragments of the given data sizes, with
// a right UDP checksum once joined.
func expectDatagram(t *testing.T, what string, frames [][]byte, orig []byte, mtu int, sizes ...int) pkt.Fragments {
	t.Helper()
	v6 := decode(orig).Layer(layers.LayerTypeIPv6) != nil
	var fr pkt.Fragments
	var err error
	if v6 {
		fr, err = pkt.Defrag6(frames, mtu)
	} else {
		fr, err = pkt.Defrag4(frames, mtu)
	}
	if err != nil {
		t.Errorf("%s: %v:\n%s", what, err, listing(frames))
		return fr
	}
	if len(fr.Sizes) != len(sizes) {
		t.Errorf("%s: fragments of %v data bytes, want %v", what, fr.Sizes, sizes)
	} else {
		for i := range sizes {
			if fr.Sizes[i] != sizes[i] {
				t.Errorf("%s: fragments of %v data bytes, want %v", what, fr.Sizes, sizes)
				break
			}
		}
	}
	if want := ipPayload(orig); !bytes.Equal(fr.Payload, want) {
		t.Errorf("%s: %d bytes joined, not the original's %d", what, len(fr.Payload), len(want))
	}
	var src, dst net.IP
	if v6 {
		src, dst = net.IP(fr.Header[8:24]), net.IP(fr.Header[24:40])
	} else {
		src, dst = net.IP(fr.Header[12:16]), net.IP(fr.Header[16:20])
	}
	if !pkt.TransportChecksumOK(src, dst, 17, fr.Payload) {
		t.Errorf("%s: UDP checksum of the joined datagram is wrong", what)
	}
	return fr
}

// neighborAdvert builds a solicited NA from mac/src (target src) to
// dstMAC/dst, with the target link-layer address option.
func neighborAdvert(mac, src, dstMAC, dst string) []byte {
	ip := &layers.IPv6{Version: 6, HopLimit: 255, NextHeader: layers.IPProtocolICMPv6, SrcIP: pkt.IP(src), DstIP: pkt.IP(dst)}
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeNeighborAdvertisement, 0)}
	ic.SetNetworkLayerForChecksum(ip)
	na := &layers.ICMPv6NeighborAdvertisement{Flags: 0x60, TargetAddress: pkt.IP(src),
		Options: layers.ICMPv6Options{{Type: layers.ICMPv6OptTargetAddress, Data: pkt.MAC(mac)}}}
	eth := &layers.Ethernet{SrcMAC: pkt.MAC(mac), DstMAC: pkt.MAC(dstMAC), EthernetType: layers.EthernetTypeIPv6}
	return pkt.Serialize(eth, ip, ic, na)
}

var (
	ethAB = pkt.Eth{Src: macA, Dst: macB}
	// bHere teaches the bridge that B is on tap0.
	bHere = udp(macB, macA, "B is here")

	// Bridged IPv4: a datagram A cut at 1480, and one too big for
	// tap0 that A did not cut.
	dgA4   = bigUDP(ethAB, "10.0.0.1", "10.0.0.2", 7, false, 2972)
	dgA4b  = bigUDP(ethAB, "10.0.0.1", "10.0.0.2", 8, false, 1372)
	dgA4DF = bigUDP(ethAB, "10.0.0.1", "10.0.0.2", 9, true, 1372)
	dgA4BC = bigUDP(pkt.Eth{Src: macA, Dst: bcast}, "10.0.0.1", "10.0.0.255", 10, true, 1372)

	// Bridged IPv6: cut at 1232, at 1448 (too big for tap0 once cut
	// again the same way), not cut, and small pieces.
	dgA6     = bigUDP(ethAB, ip6A, ip6B, 0, false, 2992)
	dgA6big  = bigUDP(ethAB, ip6A, ip6B, 0, false, 2992)
	dgA6one  = bigUDP(ethAB, ip6A, ip6B, 0, false, 1352)
	dgA6tiny = bigUDP(ethAB, ip6A, ip6B, 0, false, 100)

	// Routed: from the guest to a far host.
	dgG4  = bigUDP(guestEth, ipGuest, ipFar, 11, false, 2972)
	dgG6  = bigUDP(guestEth, ip6Gst, ip6Far, 0, false, 2992)
	dgG6b = bigUDP(guestEth, ip6Gst, ip6Far, 0, false, 2992)
)

func init() {
	scenarios = append(scenarios, refragScenarios...)
}

// refragBridge is em1 and tap0 in bridge0, tap0's MTU mtu, pf passing
// everything (and reassembling, by default).
func refragBridge(mtu int) map[string]string {
	return map[string]string{
		"hostname.bridge0": "add em1\nadd tap0\nup\n",
		"hostname.tap0":    fmt.Sprintf("mtu %d up\n", mtu),
		"pf.conf":          "pass\n",
	}
}

// expectLastPiece checks that frame b is the last 104 bytes of datagram
// orig, cut at 1448: the one piece of it that fits an MTU of 1280 or 1400.
func expectLastPiece(t *testing.T, b, orig []byte) {
	t.Helper()
	fh, ok := decode(b).Layer(layers.LayerTypeIPv6Fragment).(*layers.IPv6Fragment)
	if !ok || int(fh.FragmentOffset)*8 != 2896 || fh.MoreFragments || len(fh.Payload) != 104 {
		t.Errorf("%s, want the last 104 bytes of the datagram cut at 1448", pkt.Summary(b))
	} else if !bytes.Equal(fh.Payload, ipPayload(orig)[2896:]) {
		t.Errorf("the last piece's data differs from the datagram's last 104 bytes")
	}
}

var refragScenarios = []scenario{
	{
		// pf reassembles A's fragments in on em1; tap0's MTU is 1000,
		// so the bridge cuts the datagram again to fit it (DF is
		// clear), as bridge_fragment does. A packet A did not cut that
		// is too big for tap0 is cut the same way.
		name: "refrag-bridge-ipv4",
		conf: refragBridge(1000),
		inputs: []input{
			{ifname: "tap0", frames: []frame{{at(0), bHere}}},
			{ifname: "em1", frames: append(frames(1, pkt.Fragment(dgA4, 1480, 0)...), frame{at(2), dgA4b})},
		},
		check: func(t *testing.T, r result) {
			out := r.out["tap0"]
			if len(out) != 6 {
				t.Fatalf("tap0 sent %d frames, want 4 + 2 fragments:\n%s", len(out), listing(out))
			}
			fr := expectDatagram(t, "reassembled datagram", out[:4], dgA4, 1000, 976, 976, 976, 52)
			if fr.ID != 7 {
				t.Errorf("reassembled datagram: id %d, want A's 7", fr.ID)
			}
			expectDatagram(t, "datagram A sent whole", out[4:], dgA4b, 1000, 976, 404)
			expect(t, r, "em1", bHere)
			if d := r.stats["tap0"].Drops; len(d) != 0 {
				t.Errorf("tap0 dropped %+v, want nothing", d)
			}
		},
	},
	{
		// IPv6 that pf reassembled leaves in the fragments it came in,
		// sized by the largest (pf_refragment6), with a new
		// identification, even when the whole datagram would fit;
		// pieces that no longer fit tap0 (1280) are dropped as mtu, and
		// IPv6 that came whole is never cut.
		name: "refrag-bridge-ipv6",
		conf: refragBridge(1280),
		inputs: []input{
			{ifname: "tap0", frames: []frame{{at(0), bHere}}},
			{ifname: "em1", frames: concat(
				frames(1, pkt.Fragment(dgA6, 1232, 0x1111)...),
				frames(2, pkt.Fragment(dgA6big, 1448, 0x2222)...),
				[]frame{{at(3), dgA6one}},
				frames(4, pkt.Fragment(dgA6tiny, 64, 0x3333)...),
			)},
		},
		check: func(t *testing.T, r result) {
			out := r.out["tap0"]
			if len(out) != 6 {
				t.Fatalf("tap0 sent %d frames, want 3 + 1 + 2 fragments:\n%s", len(out), listing(out))
			}
			fr := expectDatagram(t, "cut at 1232", out[:3], dgA6, 1280, 1232, 1232, 536)
			if fr.ID == 0x1111 {
				t.Errorf("cut at 1232: identification %#x kept, want a new one", fr.ID)
			}
			// Of the datagram cut at 1448, only the last piece fits.
			expectLastPiece(t, out[3], dgA6big)
			fr2 := expectDatagram(t, "small pieces", out[4:], dgA6tiny, 1280, 64, 44)
			if fr2.ID == fr.ID {
				t.Errorf("two datagrams share identification %#x", fr.ID)
			}
			expectDrops(t, r, "tap0", packet.DropMTU, 3)
		},
	},
	{
		// IPv4 with DF too big for tap0: dropped, and A gets a
		// fragmentation needed naming tap0's MTU, from B's address and
		// MAC, back out of em1 (bridge_send_icmp_err). Not for a frame
		// to a broadcast MAC (icmp_do_error).
		name: "refrag-bridge-df",
		conf: refragBridge(1000),
		inputs: []input{
			{ifname: "tap0", frames: []frame{{at(0), bHere}}},
			{ifname: "em1", frames: []frame{{at(1), dgA4DF}, {at(2), dgA4BC}}},
		},
		check: func(t *testing.T, r result) {
			expect(t, r, "tap0")
			expectDrops(t, r, "tap0", packet.DropMTU, 2)
			errs := withLayer(r, "em1", layers.LayerTypeICMPv4)
			if len(errs) != 1 {
				t.Fatalf("em1 sent %d ICMP messages, want 1:\n%s", len(errs), listing(r.out["em1"]))
			}
			b := errs[0]
			p := decode(b)
			eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
			ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			ic := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			if eth.SrcMAC.String() != macB || eth.DstMAC.String() != macA {
				t.Errorf("error %s > %s, want %s > %s", eth.SrcMAC, eth.DstMAC, macB, macA)
			}
			if ip.SrcIP.String() != "10.0.0.2" || ip.DstIP.String() != "10.0.0.1" || ip.TTL != 255 || ip.Flags != 0 || pkt.Checksum(ip.Contents) != 0 {
				t.Errorf("error IP %v > %v ttl %d flags %v checksum %#04x; want 10.0.0.2 > 10.0.0.1 ttl 255, no flags, a right checksum",
					ip.SrcIP, ip.DstIP, ip.TTL, ip.Flags, ip.Checksum)
			}
			if ic.TypeCode != layers.CreateICMPv4TypeCode(3, 4) || !pkt.TransportChecksumOK(ip.SrcIP, ip.DstIP, 1, ip.Payload) {
				t.Errorf("error %v (checksum %#04x), want fragmentation needed with a right checksum", ic.TypeCode, ic.Checksum)
			}
			if mtu := ic.Seq; mtu != 1000 {
				t.Errorf("error names MTU %d, want 1000", mtu)
			}
			if want := dgA4DF[14 : 14+28]; !bytes.Equal(ic.Payload, want) {
				t.Errorf("error quotes %x, want the header and 8 bytes %x", ic.Payload, want)
			}
		},
	},
	{
		// Routed IPv4: pf reassembles in on vether0 and the router cuts
		// the datagram to em0's 1400 (ip_output's ip_fragment).
		name: "refrag-routed-ipv4",
		conf: routed(map[string]string{
			"hostname.em0": "inet 192.0.2.1 255.255.255.0\nmtu 1400\nup\n",
			"pf.conf":      "pass\n",
		}),
		inputs: []input{
			{ifname: "tap0", frames: append([]frame{{at(1), guestARP}}, frames(2, pkt.Fragment(dgG4, 1480, 0)...)...)},
			{ifname: "em0", frames: []frame{{at(2.5), pkt.ARP(pkt.Eth{Src: macGW, Dst: macEm0}, 2, macGW, ipGW, macEm0, ipEm0)}}},
		},
		check: func(t *testing.T, r result) {
			out := withLayer(r, "em0", layers.LayerTypeIPv4)
			fr := expectDatagram(t, "routed datagram", out, dgG4, 1400, 1376, 1376, 228)
			if fr.Header != nil && fr.Header[8] != 63 {
				t.Errorf("routed datagram: TTL %d, want 63", fr.Header[8])
			}
		},
	},
	{
		// Routed IPv6: pf reassembles in on vether0; the router forwards
		// the datagram in the fragments it came in (pf_refragment6 from
		// ip6_forward). Pieces that do not fit em0's 1400 are dropped,
		// and the first earns the guest a packet too big quoting it.
		name: "refrag-routed-ipv6",
		conf: routed(map[string]string{
			"hostname.vether0": "inet 10.50.0.1 255.255.255.0\ninet6 2001:db8:50::1 64\nup\n",
			"hostname.em0":     "inet 192.0.2.1 255.255.255.0\ninet6 2001:db8:ff::1 64\nmtu 1400\nup\n",
			"mygate":           "192.0.2.254\n2001:db8:ff::fe\n",
			"sysctl.conf":      "net.inet.ip.forwarding=1\nnet.inet6.ip6.forwarding=1\n",
			"pf.conf":          "pass\n",
		}),
		inputs: []input{
			{ifname: "tap0", frames: concat(
				[]frame{{at(1), neighborSolicit(macGuest, ip6Gst, "2001:db8:50::1")}},
				frames(2, pkt.Fragment(dgG6, 1232, 0x4444)...),
				frames(3, pkt.Fragment(dgG6b, 1448, 0x5555)...),
			)},
			{ifname: "em0", frames: []frame{{at(2.5), neighborAdvert(macGW, ip6GW, macEm0, ip6Em0)}}},
		},
		check: func(t *testing.T, r result) {
			out := withLayer(r, "em0", layers.LayerTypeIPv6Fragment)
			if len(out) != 4 {
				t.Fatalf("em0 sent %d fragments, want 3 + 1:\n%s", len(out), listing(r.out["em0"]))
			}
			fr := expectDatagram(t, "routed datagram", out[:3], dgG6, 1400, 1232, 1232, 536)
			if fr.Header != nil && fr.Header[7] != 63 {
				t.Errorf("routed datagram: hop limit %d, want 63", fr.Header[7])
			}
			expectLastPiece(t, out[3], dgG6b)
			var ptb []*layers.ICMPv6
			for _, p := range find(r, "tap0", layers.LayerTypeICMPv6) {
				ic := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
				if ic.TypeCode.Type() == layers.ICMPv6TypePacketTooBig {
					ptb = append(ptb, ic)
				}
			}
			if len(ptb) != 1 {
				t.Fatalf("tap0 got %d packet too big, want 1:\n%s", len(ptb), listing(r.out["tap0"]))
			}
			pl := ptb[0].Payload
			if mtu := uint32(pl[0])<<24 | uint32(pl[1])<<16 | uint32(pl[2])<<8 | uint32(pl[3]); mtu != 1400 {
				t.Errorf("packet too big names MTU %d, want 1400", mtu)
			}
			// The quote is the first piece as it was cut: a fragment
			// header at offset 0 with M set.
			q := gopacket.NewPacket(pl[4:], layers.LayerTypeIPv6, gopacket.Default)
			if qf, ok := q.Layer(layers.LayerTypeIPv6Fragment).(*layers.IPv6Fragment); !ok || qf.FragmentOffset != 0 || !qf.MoreFragments {
				t.Errorf("packet too big quotes %v, want the first fragment", q)
			}
			expectDrops(t, r, "em0", packet.DropMTU, 2)
		},
	},
}

func concat(fs ...[]frame) []frame {
	var out []frame
	for _, f := range fs {
		out = append(out, f...)
	}
	return out
}
