package l3

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/header"
)

func TestNDAnswer(t *testing.T) {
	vetherLL := header.LinkLocalFromMAC(vetherMAC)
	for _, tc := range []struct {
		name      string
		frame     []byte
		fwd       bool
		answer    bool
		dst       netip.Addr
		dstMAC    header.MAC
		flags     uint8
		learnAddr netip.Addr
	}{
		{
			name: "global", frame: nsFrame(guestMAC, guest6, vether6, true),
			answer: true, dst: guest6, dstMAC: guestMAC, flags: 0x60, learnAddr: guest6,
		},
		{
			name: "router flag with forwarding", frame: nsFrame(guestMAC, guest6, vether6, true), fwd: true,
			answer: true, dst: guest6, dstMAC: guestMAC, flags: 0xe0, learnAddr: guest6,
		},
		{
			name: "link-local", frame: nsFrame(guestMAC, guestLL, vetherLL, true),
			answer: true, dst: guestLL, dstMAC: guestMAC, flags: 0x60, learnAddr: guestLL,
		},
		{
			name: "duplicate address detection", frame: nsFrame(guestMAC, netip.IPv6Unspecified(), vether6, false),
			answer: true, dst: allNodes, dstMAC: header.MAC{0x33, 0x33, 0, 0, 0, 1}, flags: 0x20,
		},
		{
			name: "not ours", frame: nsFrame(guestMAC, guest6, netip.MustParseAddr("2001:db8:50::99"), true),
		},
		{
			name: "another interface's address", frame: nsFrame(guestMAC, guest6, em06, true),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.fwd)
			e.input(vetherIdx, tc.frame, sec)
			if !tc.answer {
				e.none()
				return
			}
			pk := e.one(vetherIdx)
			ip := ip6Of(pk)
			na, ok := pk.Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement)
			if !ok {
				t.Fatalf("not an advertisement:\n%s", pk.Dump())
			}
			target := addrOf(tc.frame[14+40+8 : 14+40+24])
			if addrOf(na.TargetAddress) != target || na.Flags != tc.flags || ip.HopLimit != 255 {
				t.Errorf("NA target %v flags %#x hop %d, want %v %#x 255", na.TargetAddress, na.Flags, ip.HopLimit, target, tc.flags)
			}
			if addrOf(ip.DstIP) != tc.dst || macOf(ethOf(pk).DstMAC) != tc.dstMAC || addrOf(ip.SrcIP) != target {
				t.Errorf("NA %v -> %v (%v), want %v -> %v (%v)", ip.SrcIP, ip.DstIP, ethOf(pk).DstMAC, target, tc.dst, tc.dstMAC)
			}
			if len(na.Options) != 1 || na.Options[0].Type != layers.ICMPv6OptTargetAddress || macOf(na.Options[0].Data) != vetherMAC {
				t.Errorf("NA options %v, want target link-layer %v", na.Options, vetherMAC)
			}
			if tc.learnAddr.IsValid() {
				if n := findNeighbor(e.r.ND(sec), tc.learnAddr); n == nil || n.MAC != guestMAC || n.State != Stale {
					t.Errorf("ND(%v) = %+v, want stale at %v", tc.learnAddr, n, guestMAC)
				}
			}
		})
	}
}

// nsOf returns the solicitation in pk, failing the test if there is none.
func nsOf(t *testing.T, pk gopacket.Packet) *layers.ICMPv6NeighborSolicitation {
	t.Helper()
	ns, ok := pk.Layer(layers.LayerTypeICMPv6NeighborSolicitation).(*layers.ICMPv6NeighborSolicitation)
	if !ok {
		t.Fatalf("not a solicitation:\n%s", pk.Dump())
	}
	return ns
}

func TestNDResolve(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	e.input(vetherIdx, udp6(guest6, remote6, vetherMAC, 64, 20), 0)
	pk := e.one(em0Idx)
	ns, ip := nsOf(t, pk), ip6Of(pk)
	snm := header.SolicitedNodeAddr(gw6)
	if addrOf(ns.TargetAddress) != gw6 || addrOf(ip.DstIP) != snm || addrOf(ip.SrcIP) != em06 ||
		macOf(ethOf(pk).DstMAC) != header.IPv6MulticastMAC(snm) || ip.HopLimit != 255 {
		t.Errorf("solicitation:\n%s", pk.Dump())
	}
	if len(ns.Options) != 1 || ns.Options[0].Type != layers.ICMPv6OptSourceAddress || macOf(ns.Options[0].Data) != em0MAC {
		t.Errorf("NS options %v, want source link-layer %v", ns.Options, em0MAC)
	}
	if n := findNeighbor(e.r.ND(0), gw6); n == nil || n.State != Incomplete || n.Held != 1 {
		t.Errorf("ND(gw) = %+v, want incomplete holding 1", n)
	}

	e.input(em0Idx, naFrame(gwMAC, gw6, em06, em0MAC, true, true), sec/2)
	pk = e.one(em0Idx)
	if macOf(ethOf(pk).DstMAC) != gwMAC || pk.Layer(layers.LayerTypeUDP) == nil {
		t.Errorf("released packet:\n%s", pk.Dump())
	}
	if n := findNeighbor(e.r.ND(sec), gw6); n == nil || n.State != Reachable || n.MAC != gwMAC {
		t.Errorf("ND(gw) = %+v, want reachable at %v", n, gwMAC)
	}

	// Past the reachable time the entry goes stale; in use, it is probed
	// with a unicast solicitation once the first-probe delay has passed.
	e.r.Tick((ndReachableTime + 1) * sec)
	if n := findNeighbor(e.r.ND((ndReachableTime+1)*sec), gw6); n == nil || n.State != Stale {
		t.Errorf("ND(gw) = %+v, want stale", n)
	}
	const first = ndReachableTime + 2
	e.input(vetherIdx, udp6(guest6, remote6, vetherMAC, 64, 20), first*sec)
	if got := e.out.take(); len(got) != 1 {
		t.Fatalf("sent %d frames at the first use of a stale entry, want only the packet", len(got))
	}
	e.input(vetherIdx, udp6(guest6, remote6, vetherMAC, 64, 20), (first+ndDelayFirstProbe)*sec)
	got := e.out.take()
	if len(got) != 2 {
		t.Fatalf("sent %d frames, want a probe and the packet", len(got))
	}
	probe := decode(t, got[0].b)
	if ns := nsOf(t, probe); addrOf(ns.TargetAddress) != gw6 || addrOf(ip6Of(probe).DstIP) != gw6 || macOf(ethOf(probe).DstMAC) != gwMAC {
		t.Errorf("probe:\n%s", probe.Dump())
	}
	const later = first + ndDelayFirstProbe + 1
	e.input(vetherIdx, udp6(guest6, remote6, vetherMAC, 64, 20), later*sec)
	if got := e.out.take(); len(got) != 1 {
		t.Errorf("sent %d frames a second later, want only the packet", len(got))
	}
	e.input(em0Idx, naFrame(gwMAC, gw6, em06, em0MAC, true, false), later*sec)
	if n := findNeighbor(e.r.ND(later*sec), gw6); n == nil || n.State != Reachable {
		t.Errorf("ND(gw) = %+v after the probe's answer, want reachable", n)
	}
}

func TestNDFailure(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	req := udp6(guest6, remote6, vetherMAC, 64, 20)
	e.input(vetherIdx, req, 0)
	e.one(em0Idx)
	for s := int64(1); s < ndMaxMulticastSolicit; s++ {
		e.r.Tick(s * sec)
		nsOf(t, e.one(em0Idx))
	}
	// Unanswered: the held packet gets address unreachable.
	e.r.Tick(ndMaxMulticastSolicit * sec)
	pk := e.one(vetherIdx)
	ic := icmp6Of(pk)
	if ic.TypeCode != layers.CreateICMPv6TypeCode(1, 3) || addrOf(ip6Of(pk).DstIP) != guest6 {
		t.Errorf("error:\n%s", pk.Dump())
	}
	if q := header.IPv6(ic.Payload[4:]); q.HopLimit() != 64 || q.Dst() != remote6 {
		t.Errorf("quoted hop limit %d to %v, want 64 to %v", q.HopLimit(), q.Dst(), remote6)
	}
	if n := findNeighbor(e.r.ND(ndMaxMulticastSolicit*sec), gw6); n != nil {
		t.Errorf("ND(gw) = %+v, want none", n)
	}
}

func TestNDAdvertisementRules(t *testing.T) {
	other := header.MAC{0x02, 0xcc, 0, 0, 0, 0x99}
	for _, tc := range []struct {
		name      string
		solicited bool
		override  bool
		mac       header.MAC
		wantMAC   header.MAC
		wantState NeighborState
	}{
		{name: "same address solicited", solicited: true, mac: gwMAC, wantMAC: gwMAC, wantState: Reachable},
		{name: "other address without override", solicited: true, mac: other, wantMAC: gwMAC, wantState: Stale},
		{name: "other address with override", solicited: false, override: true, mac: other, wantMAC: other, wantState: Stale},
		{name: "other address with override solicited", solicited: true, override: true, mac: other, wantMAC: other, wantState: Reachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, true)
			e.learnGuest(0)
			e.input(vetherIdx, udp6(guest6, remote6, vetherMAC, 64, 20), 0)
			e.input(em0Idx, naFrame(gwMAC, gw6, em06, em0MAC, true, true), 0)
			e.out.take()
			e.input(em0Idx, naFrame(tc.mac, gw6, em06, em0MAC, tc.solicited, tc.override), sec)
			n := findNeighbor(e.r.ND(sec), gw6)
			if n == nil || n.MAC != tc.wantMAC || n.State != tc.wantState {
				t.Errorf("ND(gw) = %+v, want %v %v", n, tc.wantMAC, tc.wantState)
			}
		})
	}
}

func TestNDUnsolicitedAdvertisementCreatesNothing(t *testing.T) {
	e := newEnv(t, true)
	e.input(em0Idx, naFrame(gwMAC, gw6, allNodes, header.MAC{0x33, 0x33, 0, 0, 0, 1}, false, true), sec)
	e.none()
	if n := findNeighbor(e.r.ND(sec), gw6); n != nil {
		t.Errorf("ND(gw) = %+v, want none", n)
	}
}

func TestNDProbeFailure(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	e.learnGateway(0) // the gateway's solicitation made it stale
	send := func(at int64) []gopacket.Packet {
		e.input(vetherIdx, udp6(guest6, remote6, vetherMAC, 64, 20), at*sec)
		var pks []gopacket.Packet
		for _, f := range e.out.take() {
			pks = append(pks, decode(t, f.b))
		}
		return pks
	}
	const first = 10
	if got := send(first); len(got) != 1 {
		t.Fatalf("first use of the stale entry sent %d frames, want the packet", len(got))
	}
	for i := int64(1); i <= ndMaxUnicastSolicit; i++ {
		got := send(first + i*ndDelayFirstProbe)
		if len(got) != 2 || addrOf(ip6Of(got[0]).DstIP) != gw6 {
			t.Fatalf("probe %d: sent %d frames, want a unicast probe and the packet", i, len(got))
		}
	}
	// Three probes unanswered: the entry is forgotten (the packet at hand
	// still goes to the address known), and the next packet is held
	// while a multicast solicitation goes out.
	last := int64(first + (ndMaxUnicastSolicit+1)*ndDelayFirstProbe)
	if got := send(last); len(got) != 1 || pkUDP(got[0]) == nil {
		t.Fatalf("after the probes: %d frames, want the packet", len(got))
	}
	if n := findNeighbor(e.r.ND(last*sec), gw6); n != nil {
		t.Errorf("ND(gw) = %+v after unanswered probes, want none", n)
	}
	got := send(last + 1)
	if len(got) != 1 || addrOf(ip6Of(got[0]).DstIP) != header.SolicitedNodeAddr(gw6) {
		t.Fatalf("next packet: %d frames, want one multicast solicitation", len(got))
	}
}

func pkUDP(pk gopacket.Packet) gopacket.Layer { return pk.Layer(layers.LayerTypeUDP) }
