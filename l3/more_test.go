package l3

import (
	"net/netip"
	"sync"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

func TestEchoReplyDropsOptions(t *testing.T) {
	e := newEnv(t, false)
	e.learnGuest(0)
	ip := ip4(guestIP, vetherIP, layers.IPProtocolICMPv4, 64)
	ip.Options = []layers.IPv4Option{{OptionType: 7, OptionLength: 7, OptionData: []byte{4, 0, 0, 0, 0}}}
	ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 9, Seq: 3}
	e.input(vetherIdx, build(eth4(guestMAC, vetherMAC), ip, ic, gopayload(30)), sec)
	pk := e.one(vetherIdx)
	if got := ip4Of(pk); got.IHL != 5 || len(got.Options) != 0 {
		t.Errorf("reply IHL %d with %d options, want 5 and none", got.IHL, len(got.Options))
	}
	if ic := icmp4Of(pk); ic.Id != 9 || ic.Seq != 3 || len(ic.Payload) != 30 {
		t.Errorf("reply id %d seq %d with %d bytes, want 9 3 30", ic.Id, ic.Seq, len(ic.Payload))
	}
}

func TestForwardToGuestResolves(t *testing.T) {
	e := newEnv(t, true)
	e.learnGateway(0)
	// From the outside to a guest on the routed segment: ARP on vether0.
	b := udpFrom(gwMAC, em0MAC, remoteIP, guestIP, 60)
	e.input(em0Idx, b, sec)
	pk := e.one(vetherIdx)
	if a := arpOf(pk); addrOf(a.DstProtAddress) != guestIP || addrOf(a.SourceProtAddress) != vetherIP {
		t.Fatalf("request:\n%s", pk.Dump())
	}
	e.input(vetherIdx, arpFrame(layers.ARPReply, guestMAC, guestIP, vetherMAC, vetherIP, vetherMAC), sec)
	pk = e.one(vetherIdx)
	if macOf(ethOf(pk).DstMAC) != guestMAC || ip4Of(pk).TTL != 59 {
		t.Errorf("released packet:\n%s", pk.Dump())
	}
}

func TestErrorFromEgressAddress(t *testing.T) {
	e := newEnv(t, true)
	e.learnGateway(0)
	// A packet from beyond the gateway with TTL 1: the error goes back
	// to the gateway from em0's address.
	b := udpFrom(gwMAC, em0MAC, remoteIP, guestIP, 1)
	e.input(em0Idx, b, sec)
	pk := e.one(em0Idx)
	if ip := ip4Of(pk); addrOf(ip.SrcIP) != em0IP || addrOf(ip.DstIP) != remoteIP || macOf(ethOf(pk).DstMAC) != gwMAC {
		t.Errorf("error %v -> %v via %v, want %v -> %v via %v", ip.SrcIP, ip.DstIP, ethOf(pk).DstMAC, em0IP, remoteIP, gwMAC)
	}
}

func TestBeyondScope(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	e.input(vetherIdx, nsFrame(guestMAC, guestLL, header.LinkLocalFromMAC(vetherMAC), true), 0)
	e.out.take()
	e.input(vetherIdx, udp6(guestLL, remote6, vetherMAC, 64, 8), sec)
	pk := e.one(vetherIdx)
	if ic := icmp6Of(pk); ic.TypeCode != layers.CreateICMPv6TypeCode(1, 2) || addrOf(ip6Of(pk).DstIP) != guestLL {
		t.Errorf("error:\n%s", pk.Dump())
	}
}

func TestARPProbeAnswered(t *testing.T) {
	// An RFC 5227 probe (sender 0.0.0.0) for our address is answered and
	// learns nothing.
	e := newEnv(t, false)
	e.input(vetherIdx, arpFrame(layers.ARPRequest, guestMAC, netip.IPv4Unspecified(), header.MAC{}, vetherIP, header.BroadcastMAC), sec)
	pk := e.one(vetherIdx)
	if a := arpOf(pk); a.Operation != layers.ARPReply || addrOf(a.DstProtAddress) != netip.IPv4Unspecified() {
		t.Errorf("answer:\n%s", pk.Dump())
	}
	if n := findNeighbor(e.r.ARP(sec), netip.IPv4Unspecified()); n != nil {
		t.Errorf("learned %+v", n)
	}
}

func TestStaticNeighbor(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	must(t, e.r.AddStaticNeighbor(em0Idx, gwIP, gwMAC))
	e.input(vetherIdx, remoteUDP(1), 5000*sec)
	if pk := e.one(em0Idx); macOf(ethOf(pk).DstMAC) != gwMAC {
		t.Errorf("to %v, want %v", ethOf(pk).DstMAC, gwMAC)
	}
	if n := findNeighbor(e.r.ARP(5000*sec), gwIP); n == nil || !n.Permanent || n.Expire != 0 {
		t.Errorf("ARP(gw) = %+v, want permanent", n)
	}
	if n := findNeighbor(e.r.ARP(0), vetherIP); n == nil || !n.Local || !n.Permanent || n.MAC != vetherMAC {
		t.Errorf("ARP(vether0) = %+v, want a permanent local entry", n)
	}
}

func TestMalformedCounted(t *testing.T) {
	e := newEnv(t, true)
	b := echo4(guestIP, vetherIP, vetherMAC, 64, 8)
	b = b[:14+10] // a truncated IPv4 header
	e.input(vetherIdx, b, sec)
	e.input(vetherIdx, echo4(guestIP, vetherIP, header.MAC{2, 9, 9, 9, 9, 9}, 64, 8), sec) // not our MAC
	e.none()
	c := e.r.Counters(vetherIdx)
	if c.Drops(packet.DropBadIPHeader) != 1 || c.Drops(packet.DropNotForUs) != 1 {
		t.Errorf("drops: bad-ip-header %d, not-for-us %d, want 1 and 1", c.Drops(packet.DropBadIPHeader), c.Drops(packet.DropNotForUs))
	}
}

// TestConcurrent runs forwarding, ARP learning, expiry and reconfiguration
// at once; under -race it checks the lock-free neighbour reads.
func TestConcurrent(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	e.learnGateway(0)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 300 {
				now := int64(i) * sec / 10
				switch w {
				case 0:
					e.input(vetherIdx, remoteUDP(uint16(i)), now)
					e.input(vetherIdx, echo6(guestMAC, guest6, remote6, vetherMAC, 64, 8), now)
				case 1:
					e.input(em0Idx, arpFrame(layers.ARPReply, gwMAC, gwIP, em0MAC, em0IP, em0MAC), now)
					e.input(em0Idx, naFrame(gwMAC, gw6, em06, em0MAC, true, true), now)
					e.r.Tick(now)
				case 3:
					e.input(vetherIdx, echo4(guestIP, vetherIP, vetherMAC, 64, 8), now)
					e.input(em0Idx, udpFrom(gwMAC, em0MAC, remoteIP, guestIP, 60), now)
					e.input(vetherIdx, nsFrame(guestMAC, guest6, vether6, true), now)
					e.input(vetherIdx, arpFrame(layers.ARPReply, guestMAC, guestIP, vetherMAC, vetherIP, vetherMAC), now)
				case 2:
					e.r.ARP(now)
					e.r.ND(now)
					e.r.Routes()
					if i%50 == 0 {
						must(t, e.r.AddRoute(netip.MustParsePrefix("172.16.0.0/12"), gwIP))
					}
				}
			}
		})
	}
	wg.Wait()
	if len(e.out.take()) == 0 {
		t.Errorf("nothing sent")
	}
}

// udpFrom is a UDP packet from src to dst with the given TTL, in a frame
// from srcMAC to dstMAC.
func udpFrom(srcMAC, dstMAC header.MAC, src, dst netip.Addr, ttl uint8) []byte {
	ip := ip4(src, dst, layers.IPProtocolUDP, ttl)
	u := &layers.UDP{SrcPort: 5000, DstPort: 5001}
	_ = u.SetNetworkLayerForChecksum(ip)
	return build(eth4(srcMAC, dstMAC), ip, u, gopayload(8))
}

func TestParamProblem6(t *testing.T) {
	for _, tc := range []struct {
		name    string
		dstOpts bool
		pointer uint32
	}{
		{name: "no extension headers", pointer: 6},
		{name: "after destination options", dstOpts: true, pointer: 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, false)
			e.learnGuest(0)
			var b []byte
			if tc.dstOpts {
				ip := ip6(guest6, vether6, layers.IPProtocolIPv6Destination, 64)
				do := &layers.IPv6Destination{}
				do.NextHeader = layers.IPProtocolGRE
				do.Options = []*layers.IPv6DestinationOption{{OptionType: 1, OptionLength: 4, OptionData: []byte{0, 0, 0, 0}}}
				b = build(eth6(guestMAC, vetherMAC), ip, do, gopayload(16))
			} else {
				b = build(eth6(guestMAC, vetherMAC), ip6(guest6, vether6, layers.IPProtocolGRE, 64), gopayload(16))
			}
			e.input(vetherIdx, b, sec)
			pk := e.one(vetherIdx)
			ic := icmp6Of(pk)
			if ic.TypeCode != layers.CreateICMPv6TypeCode(4, 1) {
				t.Fatalf("ICMPv6 %v, want parameter problem, unknown next header", ic.TypeCode)
			}
			if p := uint32(ic.Payload[0])<<24 | uint32(ic.Payload[1])<<16 | uint32(ic.Payload[2])<<8 | uint32(ic.Payload[3]); p != tc.pointer {
				t.Errorf("pointer %d, want %d", p, tc.pointer)
			}
		})
	}
}

func TestStrings(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{(RouteUp | RouteGateway | RouteStatic).String(), "UGS"},
		{(RouteUp | RouteHost | RouteLLInfo | RouteLocal).String(), "UHLl"},
		{Incomplete.String(), "incomplete"},
		{Stale.String(), "stale"},
		{NeighborState(9).String(), "NeighborState(?)"},
	} {
		if tc.got != tc.want {
			t.Errorf("String() = %q, want %q", tc.got, tc.want)
		}
	}
}

func TestNDHoldQueue(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	for range 12 {
		e.input(vetherIdx, udp6(guest6, remote6, vetherMAC, 64, 20), sec)
	}
	nsOf(t, e.one(em0Idx))
	if n := e.drops(em0Idx, packet.DropHoldFull); n != 2 {
		t.Errorf("hold-full drops = %d, want 2", n)
	}
	e.input(em0Idx, naFrame(gwMAC, gw6, em06, em0MAC, true, true), sec)
	if got := e.out.take(); len(got) != holdPerEntry {
		t.Errorf("released %d, want %d", len(got), holdPerEntry)
	}
}

// TestDeterministic runs one scenario twice: the same inputs at the same
// times give the same bytes out, as replay needs.
func TestDeterministic(t *testing.T) {
	run := func() [][]byte {
		e := newEnv(t, true)
		e.learnGuest(0)
		for i := range 20 {
			now := int64(i) * sec / 4
			e.input(vetherIdx, remoteUDP(uint16(i)), now)
			e.input(vetherIdx, echo4(guestIP, vetherIP, vetherMAC, 64, 8), now)
			e.input(vetherIdx, udp4(guestIP, remoteIP, vetherMAC, false, 3000), now)
			e.input(vetherIdx, echo6(guestMAC, guest6, remote6, vetherMAC, 64, 8), now)
			e.r.Tick(now)
		}
		e.input(em0Idx, arpFrame(layers.ARPReply, gwMAC, gwIP, em0MAC, em0IP, em0MAC), 6*sec)
		var out [][]byte
		for _, f := range e.out.take() {
			out = append(out, append([]byte{byte(f.ifindex)}, f.b...))
		}
		return out
	}
	a, b := run(), run()
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("runs sent %d and %d frames", len(a), len(b))
	}
	for i := range a {
		if string(a[i]) != string(b[i]) {
			t.Fatalf("frame %d differs:\n%x\n%x", i, a[i], b[i])
		}
	}
}

func TestSourceRouteRefused(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	e.learnGateway(0)
	ip := ip4(guestIP, remoteIP, layers.IPProtocolUDP, 64)
	ip.Options = []layers.IPv4Option{{OptionType: 0x83, OptionLength: 7, OptionData: []byte{4, 192, 0, 2, 1}}}
	u := &layers.UDP{SrcPort: 1, DstPort: 2}
	_ = u.SetNetworkLayerForChecksum(ip)
	e.input(vetherIdx, build(eth4(guestMAC, vetherMAC), ip, u, gopayload(8)), sec)
	pk := e.one(vetherIdx)
	if ic := icmp4Of(pk); ic.TypeCode != layers.CreateICMPv4TypeCode(3, 5) {
		t.Errorf("ICMP %v, want source route failed", ic.TypeCode)
	}
}

func TestBadChecksumToUs(t *testing.T) {
	e := newEnv(t, false)
	e.learnGuest(0)
	b := echo4(guestIP, vetherIP, vetherMAC, 64, 8)
	b[14+10] ^= 0xff // header checksum
	e.input(vetherIdx, b, sec)
	e.none()
	if n := e.drops(vetherIdx, packet.DropBadIPHeader); n != 1 {
		t.Errorf("bad-ip-header drops = %d, want 1", n)
	}
}
