package test

import (
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/test/pkt"
)

// The routed segment of the seed: guests on bridge1 behind vether0
// (10.50.0.1/24), the uplink em0 (192.0.2.1/24) toward a gateway.
var (
	macVether = dataplane.StableMAC("vether0", nil).String()
	macEm0    = dataplane.StableMAC("em0", nil).String()
)

const (
	macGuest = "02:00:00:00:00:10"
	macGW    = "02:00:00:00:00:fe"
	ipGuest  = "10.50.0.10"
	ipRouter = "10.50.0.1"
	ipEm0    = "192.0.2.1"
	ipGW     = "192.0.2.254"
	ipFar    = "198.51.100.7"
)

func routed(extra map[string]string) map[string]string {
	conf := map[string]string{
		"hostname.vether0": "inet 10.50.0.1 255.255.255.0\nup\n",
		"hostname.bridge1": "add vether0\nadd tap0\nup\n",
		"hostname.em0":     "inet 192.0.2.1 255.255.255.0\nup\n",
		"mygate":           "192.0.2.254\n",
		"sysctl.conf":      "net.inet.ip.forwarding=1\n",
	}
	for k, v := range extra {
		if v == "" {
			delete(conf, k)
		} else {
			conf[k] = v
		}
	}
	return conf
}

var (
	guestARP = pkt.ARP(pkt.Eth{Src: macGuest, Dst: bcast}, 1, macGuest, ipGuest, "00:00:00:00:00:00", ipRouter)
	guestEth = pkt.Eth{Src: macGuest, Dst: macVether}
)

func decode(b []byte) gopacket.Packet {
	return gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
}

// find returns the frames of ifname that have layer lt, decoded.
func find(r result, ifname string, lt gopacket.LayerType) []gopacket.Packet {
	var out []gopacket.Packet
	for _, f := range r.out[ifname] {
		if p := decode(f); p.Layer(lt) != nil {
			out = append(out, p)
		}
	}
	return out
}

// icmpErrors returns the ICMPv4 messages ifname sent, with type t.
func icmp4(r result, ifname string, t uint8) []*layers.ICMPv4 {
	var out []*layers.ICMPv4
	for _, p := range find(r, ifname, layers.LayerTypeICMPv4) {
		ic := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		if ic.TypeCode.Type() == t {
			out = append(out, ic)
		}
	}
	return out
}

// checksumsOK re-serializes every IPv4/ICMP frame ifname sent with
// computed checksums and reports frames whose checksums differ.
func checksumsOK(t *testing.T, r result, ifname string) {
	t.Helper()
	for i, f := range r.out[ifname] {
		p := decode(f)
		ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if !ok {
			continue
		}
		want := ip.Checksum
		buf := gopacket.NewSerializeBuffer()
		cp := *ip
		if err := cp.SerializeTo(buf, gopacket.SerializeOptions{ComputeChecksums: true}); err != nil {
			t.Fatal(err)
		}
		if cp.Checksum != want {
			t.Errorf("%s frame %d: IPv4 checksum %#04x, want %#04x", ifname, i+1, want, cp.Checksum)
		}
		if ic, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
			b := append(append([]byte(nil), ic.Contents...), ic.Payload...)
			if sum := onesSum(b); sum != 0xffff {
				t.Errorf("%s frame %d: ICMP checksum does not verify", ifname, i+1)
			}
		}
	}
}

func onesSum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

func init() {
	scenarios = append(scenarios, l3Scenarios...)
}

var l3Scenarios = []scenario{
	{
		// A guest on bridge1 resolves 10.50.0.1 and pings it.
		name: "routed-arp-and-ping",
		conf: routed(nil),
		inputs: []input{{ifname: "tap0", frames: []frame{
			{at(1), guestARP},
			{at(2), pkt.Ping(guestEth, pkt.IPHdr{Src: ipGuest, Dst: ipRouter}, false, 7, 1, []byte("ping"))},
		}}},
		check: func(t *testing.T, r result) {
			replies := 0
			for _, p := range find(r, "tap0", layers.LayerTypeARP) {
				a := p.Layer(layers.LayerTypeARP).(*layers.ARP)
				if a.Operation == 2 && net.IP(a.SourceProtAddress).String() == ipRouter {
					replies++
					if got := net.HardwareAddr(a.SourceHwAddress).String(); got != macVether {
						t.Errorf("ARP reply says %s is at %s, want vether0's %s", ipRouter, got, macVether)
					}
				}
			}
			if replies != 1 {
				t.Errorf("tap0 got %d ARP replies for %s, want 1:\n%s", replies, ipRouter, listing(r.out["tap0"]))
			}
			echo := icmp4(r, "tap0", layers.ICMPv4TypeEchoReply)
			if len(echo) != 1 || echo[0].Id != 7 || echo[0].Seq != 1 || string(echo[0].Payload) != "ping" {
				t.Errorf("tap0 got echo replies %v, want one with id 7 seq 1", echo)
			}
			checksumsOK(t, r, "tap0")
		},
	},
	{
		// A guest pings a host beyond em0: the router ARPs for the
		// gateway, holds the packet, and sends it when the reply comes;
		// the answer comes back to the guest.
		name: "routed-forward-via-gateway",
		conf: routed(nil),
		inputs: []input{
			{ifname: "tap0", frames: []frame{
				{at(1), guestARP},
				{at(2), pkt.Ping(guestEth, pkt.IPHdr{Src: ipGuest, Dst: ipFar, ID: 1}, false, 9, 1, []byte("far"))},
				{at(3.5), pkt.Ping(guestEth, pkt.IPHdr{Src: ipGuest, Dst: ipFar, ID: 2, TTL: 1}, false, 9, 2, []byte("ttl 1"))},
			}},
			{ifname: "em0", frames: []frame{
				{at(2.5), pkt.ARP(pkt.Eth{Src: macGW, Dst: macEm0}, 2, macGW, ipGW, macEm0, ipEm0)},
				{at(3), pkt.Ping(pkt.Eth{Src: macGW, Dst: macEm0}, pkt.IPHdr{Src: ipFar, Dst: ipGuest, TTL: 60}, true, 9, 1, []byte("far"))},
			}},
		},
		check: func(t *testing.T, r result) {
			var who, echo int
			for _, p := range decodeAll(r, "em0") {
				if a, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP); ok && a.Operation == 1 && net.IP(a.DstProtAddress).String() == ipGW {
					who++
				}
				if ic, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok && ic.TypeCode.Type() == layers.ICMPv4TypeEchoRequest {
					echo++
					ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
					eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
					if ip.TTL != 63 || eth.DstMAC.String() != macGW || eth.SrcMAC.String() != macEm0 {
						t.Errorf("forwarded echo: ttl %d, %s > %s; want ttl 63, %s > %s", ip.TTL, eth.SrcMAC, eth.DstMAC, macEm0, macGW)
					}
				}
			}
			if who != 1 || echo != 1 {
				t.Errorf("em0 sent %d ARP requests for the gateway and %d echoes, want 1 and 1:\n%s", who, echo, listing(r.out["em0"]))
			}
			rep := icmp4(r, "tap0", layers.ICMPv4TypeEchoReply)
			if len(rep) != 1 || string(rep[0].Payload) != "far" {
				t.Errorf("tap0 got %d echo replies, want the one from %s", len(rep), ipFar)
			}
			// TTL 1: time exceeded from the router, quoting the
			// original header and 8 bytes.
			te := icmp4(r, "tap0", layers.ICMPv4TypeTimeExceeded)
			if len(te) != 1 {
				t.Fatalf("tap0 got %d time exceeded, want 1", len(te))
			}
			q := gopacket.NewPacket(te[0].Payload, layers.LayerTypeIPv4, gopacket.Default)
			qip, ok := q.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			if !ok || qip.Id != 2 || qip.DstIP.String() != ipFar || len(te[0].Payload) != 28 {
				t.Errorf("time exceeded quotes %d bytes %v, want the 20-byte header of id 2 and 8 bytes", len(te[0].Payload), qip)
			}
			checksumsOK(t, r, "tap0")
			checksumsOK(t, r, "em0")
		},
	},
	{
		// No route (no mygate): host unreachable, type 3 code 1.
		name: "routed-no-route",
		conf: routed(map[string]string{"mygate": ""}),
		inputs: []input{{ifname: "tap0", frames: []frame{
			{at(1), guestARP},
			{at(2), pkt.UDP(guestEth, pkt.IPHdr{Src: ipGuest, Dst: ipFar}, 1000, 53, []byte("query"))},
		}}},
		check: func(t *testing.T, r result) {
			un := icmp4(r, "tap0", layers.ICMPv4TypeDestinationUnreachable)
			if len(un) != 1 || un[0].TypeCode.Code() != 1 {
				t.Errorf("tap0 got unreachables %v, want one host unreachable (code 1)", un)
			}
			expectDrops(t, r, "vether0", packet.DropNoRoute, 1)
			checksumsOK(t, r, "tap0")
		},
	},
	{
		// A 1500-byte DF packet toward em0 with MTU 1400: fragmentation
		// needed with the next-hop MTU; without DF it is fragmented.
		name: "routed-frag-needed",
		conf: routed(map[string]string{"hostname.em0": "inet 192.0.2.1 255.255.255.0\nmtu 1400\nup\n"}),
		inputs: []input{
			{ifname: "tap0", frames: []frame{
				{at(1), guestARP},
				{at(2), pkt.UDP(guestEth, pkt.IPHdr{Src: ipGuest, Dst: ipFar, DF: true, ID: 5}, 1000, 9, make([]byte, 1472))},
				{at(4), pkt.UDP(guestEth, pkt.IPHdr{Src: ipGuest, Dst: ipFar, ID: 6}, 1000, 9, make([]byte, 1472))},
			}},
			{ifname: "em0", frames: []frame{{at(3), pkt.ARP(pkt.Eth{Src: macGW, Dst: macEm0}, 2, macGW, ipGW, macEm0, ipEm0)}}},
		},
		check: func(t *testing.T, r result) {
			un := icmp4(r, "tap0", layers.ICMPv4TypeDestinationUnreachable)
			if len(un) != 1 || un[0].TypeCode.Code() != 4 {
				t.Fatalf("tap0 got unreachables %v, want fragmentation needed (code 4)", un)
			}
			if mtu := uint16(un[0].Seq); mtu != 1400 {
				t.Errorf("fragmentation needed says next-hop MTU %d, want 1400", mtu)
			}
			var frags int
			for _, p := range decodeAll(r, "em0") {
				if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok && ip.Id == 6 {
					frags++
					if int(ip.Length) > 1400 {
						t.Errorf("fragment of %d bytes on a 1400 MTU", ip.Length)
					}
				}
			}
			if frags != 2 {
				t.Errorf("em0 sent %d fragments of the non-DF packet, want 2", frags)
			}
			checksumsOK(t, r, "tap0")
			checksumsOK(t, r, "em0")
		},
	},
	{
		// The same toward IPv6: packet too big.
		name: "routed-ipv6-packet-too-big",
		conf: routed(map[string]string{
			"hostname.vether0": "inet 10.50.0.1 255.255.255.0\ninet6 2001:db8:50::1 64\nup\n",
			"hostname.em0":     "inet 192.0.2.1 255.255.255.0\ninet6 2001:db8:ff::1 64\nmtu 1400\nup\n",
			"mygate":           "192.0.2.254\n2001:db8:ff::fe\n",
			"sysctl.conf":      "net.inet.ip.forwarding=1\nnet.inet6.ip6.forwarding=1\n",
		}),
		inputs: []input{{ifname: "tap0", frames: []frame{
			{at(1), neighborSolicit(macGuest, "2001:db8:50::10", "2001:db8:50::1")},
			{at(2), pkt.UDP(guestEth, pkt.IPHdr{Src: "2001:db8:50::10", Dst: "2001:db8:99::7"}, 1000, 9, make([]byte, 1452))},
		}}},
		check: func(t *testing.T, r result) {
			var ptb int
			for _, p := range find(r, "tap0", layers.LayerTypeICMPv6) {
				ic := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
				if ic.TypeCode.Type() == layers.ICMPv6TypePacketTooBig {
					ptb++
					if mtu := uint32(ic.Payload[0])<<24 | uint32(ic.Payload[1])<<16 | uint32(ic.Payload[2])<<8 | uint32(ic.Payload[3]); mtu != 1400 {
						t.Errorf("packet too big says MTU %d, want 1400", mtu)
					}
				}
			}
			if ptb != 1 {
				t.Errorf("tap0 got %d packet too big, want 1:\n%s", ptb, listing(r.out["tap0"]))
			}
		},
	},
	{
		// net.inet.ip.forwarding=0: nothing crosses, and the drop is
		// counted.
		name: "routed-forwarding-off",
		conf: routed(map[string]string{"sysctl.conf": "net.inet.ip.forwarding=0\n"}),
		inputs: []input{
			{ifname: "tap0", frames: []frame{
				{at(1), guestARP},
				{at(2), pkt.Ping(guestEth, pkt.IPHdr{Src: ipGuest, Dst: ipFar}, false, 3, 1, nil)},
				{at(3), pkt.Ping(guestEth, pkt.IPHdr{Src: ipGuest, Dst: ipEm0}, false, 3, 2, nil)},
			}},
		},
		check: func(t *testing.T, r result) {
			expectDrops(t, r, "vether0", packet.DropForwarding, 1)
			// With forwarding off, em0's address is not answered on
			// vether0 either (only the receiving interface's own).
			if n := len(icmp4(r, "tap0", layers.ICMPv4TypeEchoReply)); n != 0 {
				t.Errorf("tap0 got %d echo replies, want none", n)
			}
			for _, p := range decodeAll(r, "em0") {
				if p.Layer(layers.LayerTypeICMPv4) != nil {
					t.Errorf("em0 sent %s with forwarding off", pkt.Summary(p.Data()))
				}
			}
		},
	},
}

func decodeAll(r result, ifname string) []gopacket.Packet {
	var out []gopacket.Packet
	for _, f := range r.out[ifname] {
		out = append(out, decode(f))
	}
	return out
}

// neighborSolicit builds an NS from mac/src for target, sent to the
// target's solicited-node multicast group, with the source link-layer
// address option.
func neighborSolicit(mac, src, target string) []byte {
	t := pkt.IP(target)
	group := net.IP{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, t[13], t[14], t[15]}
	gmac := net.HardwareAddr{0x33, 0x33, 0xff, t[13], t[14], t[15]}
	ip := &layers.IPv6{Version: 6, HopLimit: 255, NextHeader: layers.IPProtocolICMPv6, SrcIP: pkt.IP(src), DstIP: group}
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeNeighborSolicitation, 0)}
	ic.SetNetworkLayerForChecksum(ip)
	ns := &layers.ICMPv6NeighborSolicitation{TargetAddress: t,
		Options: layers.ICMPv6Options{{Type: layers.ICMPv6OptSourceAddress, Data: pkt.MAC(mac)}}}
	eth := &layers.Ethernet{SrcMAC: pkt.MAC(mac), DstMAC: gmac, EthernetType: layers.EthernetTypeIPv6}
	return pkt.Serialize(eth, ip, ic, ns)
}
