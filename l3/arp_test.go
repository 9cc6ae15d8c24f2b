package l3

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

func TestARPAnswer(t *testing.T) {
	e := newEnv(t, false)
	e.input(vetherIdx, arpFrame(layers.ARPRequest, guestMAC, guestIP, header.MAC{}, vetherIP, header.BroadcastMAC), sec)
	pk := e.one(vetherIdx)
	eth, a := ethOf(pk), arpOf(pk)
	if macOf(eth.DstMAC) != guestMAC || macOf(eth.SrcMAC) != vetherMAC {
		t.Errorf("Ethernet %v -> %v, want %v -> %v", eth.SrcMAC, eth.DstMAC, vetherMAC, guestMAC)
	}
	if a.Operation != layers.ARPReply || macOf(a.SourceHwAddress) != vetherMAC || addrOf(a.SourceProtAddress) != vetherIP ||
		macOf(a.DstHwAddress) != guestMAC || addrOf(a.DstProtAddress) != guestIP {
		t.Errorf("reply %+v", a)
	}
	if n := findNeighbor(e.r.ARP(sec), guestIP); n == nil || n.MAC != guestMAC || n.State != Reachable || n.Expire != arpKeep*time.Second {
		t.Errorf("entry for the asker = %+v, want reachable at %v expiring in 20m", n, guestMAC)
	}
}

func TestARPAnswersOnlyReceivingInterface(t *testing.T) {
	e := newEnv(t, true)
	e.input(vetherIdx, arpFrame(layers.ARPRequest, guestMAC, guestIP, header.MAC{}, em0IP, header.BroadcastMAC), sec)
	e.none()
	if n := findNeighbor(e.r.ARP(sec), guestIP); n != nil {
		t.Errorf("entry created by a request for another interface's address: %+v", n)
	}
	if n := e.drops(vetherIdx, packet.DropNotForUs); n != 1 {
		t.Errorf("not-for-us drops = %d, want 1", n)
	}
}

func TestGratuitousARP(t *testing.T) {
	pool := packet.NewPool()
	c := &capture{pool: pool}
	r := NewRouter(Config{Pool: pool, Output: c})
	ifc := Interface{Name: "vether0", MAC: vetherMAC, Addrs: []netip.Prefix{netip.MustParsePrefix("10.50.0.1/24"), netip.MustParsePrefix("2001:db8::1/64")}}
	must(t, r.AddInterface(vetherIdx, ifc))
	got := c.take()
	if len(got) != 1 {
		t.Fatalf("sent %d frames on configuration, want 1 gratuitous ARP", len(got))
	}
	pk := decode(t, got[0].b)
	a := arpOf(pk)
	if macOf(ethOf(pk).DstMAC) != header.BroadcastMAC || a.Operation != layers.ARPRequest ||
		addrOf(a.SourceProtAddress) != vetherIP || addrOf(a.DstProtAddress) != vetherIP || macOf(a.SourceHwAddress) != vetherMAC {
		t.Errorf("gratuitous ARP %+v", a)
	}
	must(t, r.AddInterface(vetherIdx, ifc))
	if got := c.take(); len(got) != 0 {
		t.Errorf("the same configuration again sent %d frames, want 0", len(got))
	}
	ifc.Addrs = append(ifc.Addrs, netip.MustParsePrefix("10.60.0.1/24"))
	must(t, r.AddInterface(vetherIdx, ifc))
	if got := c.take(); len(got) != 1 {
		t.Errorf("a new address sent %d frames, want 1", len(got))
	}
}

func TestARPLearnRules(t *testing.T) {
	other := header.MAC{0x02, 0xcc, 0, 0, 0, 0x99}
	third := netip.MustParseAddr("10.50.0.20")
	for _, tc := range []struct {
		name    string
		setup   func(e *env)
		ifindex int
		frame   []byte
		addr    netip.Addr
		want    header.MAC // zero: no entry
	}{
		{
			name:    "reply to us creates",
			ifindex: vetherIdx,
			frame:   arpFrame(layers.ARPReply, guestMAC, guestIP, vetherMAC, vetherIP, vetherMAC),
			addr:    guestIP, want: guestMAC,
		},
		{
			name:    "request for another host does not create",
			ifindex: vetherIdx,
			frame:   arpFrame(layers.ARPRequest, guestMAC, guestIP, header.MAC{}, third, header.BroadcastMAC),
			addr:    guestIP,
		},
		{
			name:    "request for another host updates",
			setup:   func(e *env) { e.learnGuest(0) },
			ifindex: vetherIdx,
			frame:   arpFrame(layers.ARPRequest, other, guestIP, header.MAC{}, third, header.BroadcastMAC),
			addr:    guestIP, want: other,
		},
		{
			name: "static is never overwritten",
			setup: func(e *env) {
				must(e.t, e.r.AddStaticNeighbor(vetherIdx, guestIP, guestMAC))
			},
			ifindex: vetherIdx,
			frame:   arpFrame(layers.ARPRequest, other, guestIP, header.MAC{}, vetherIP, header.BroadcastMAC),
			addr:    guestIP, want: guestMAC,
		},
		{
			name:    "entry on another interface is never overwritten",
			setup:   func(e *env) { e.learnGuest(0) },
			ifindex: em0Idx,
			frame:   arpFrame(layers.ARPRequest, other, guestIP, header.MAC{}, em0IP, header.BroadcastMAC),
			addr:    guestIP, want: guestMAC,
		},
		{
			name:    "our own address is never learned",
			ifindex: vetherIdx,
			frame:   arpFrame(layers.ARPReply, other, vetherIP, vetherMAC, vetherIP, header.BroadcastMAC),
			addr:    vetherIP, want: vetherMAC, // the local entry
		},
		{
			name:    "gratuitous ARP updates",
			setup:   func(e *env) { e.learnGuest(0) },
			ifindex: vetherIdx,
			frame:   arpFrame(layers.ARPRequest, other, guestIP, header.MAC{}, guestIP, header.BroadcastMAC),
			addr:    guestIP, want: other,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, false)
			if tc.setup != nil {
				tc.setup(e)
			}
			e.input(tc.ifindex, tc.frame, sec)
			e.out.take()
			n := findNeighbor(e.r.ARP(sec), tc.addr)
			switch {
			case tc.want == header.MAC{} && n != nil:
				t.Errorf("ARP(%v) = %+v, want no entry", tc.addr, n)
			case tc.want != header.MAC{} && (n == nil || n.MAC != tc.want):
				t.Errorf("ARP(%v) = %+v, want %v", tc.addr, n, tc.want)
			}
		})
	}
}

// checkARPRequest checks that pk is a broadcast ARP request for target
// from em0.
func checkARPRequest(t *testing.T, pk interface{ Dump() string }, a *layers.ARP, dst header.MAC, target netip.Addr) {
	t.Helper()
	if a.Operation != layers.ARPRequest || addrOf(a.DstProtAddress) != target || addrOf(a.SourceProtAddress) != em0IP ||
		macOf(a.SourceHwAddress) != em0MAC {
		t.Errorf("not a request for %v from em0:\n%s", target, pk.Dump())
	}
}

// remoteUDP is a numbered packet from the guest to the remote host: the
// number is in the IP identification.
func remoteUDP(n uint16) []byte {
	b := udp4(guestIP, remoteIP, vetherMAC, false, 20)
	header.IPv4(b[14:]).SetID(n)
	header.IPv4(b[14:]).UpdateChecksum()
	return b
}

func TestARPHoldQueue(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	for i := range 12 {
		e.input(vetherIdx, remoteUDP(uint16(i)), sec)
	}
	pk := e.one(em0Idx)
	checkARPRequest(t, pk, arpOf(pk), header.BroadcastMAC, gwIP)
	if n := e.drops(em0Idx, packet.DropHoldFull); n != 2 {
		t.Errorf("hold-full drops = %d, want 2", n)
	}
	if n := findNeighbor(e.r.ARP(sec), gwIP); n == nil || n.State != Incomplete || n.Held != holdPerEntry {
		t.Errorf("gateway entry = %+v, want incomplete holding %d", n, holdPerEntry)
	}
	// The gateway's reply in em0's input releases the held packets, the
	// oldest two having made room.
	e.input(em0Idx, arpFrame(layers.ARPReply, gwMAC, gwIP, em0MAC, em0IP, em0MAC), sec+sec/2)
	got := e.out.take()
	if len(got) != holdPerEntry {
		t.Fatalf("released %d packets, want %d", len(got), holdPerEntry)
	}
	for i, f := range got {
		pk := decode(t, f.b)
		if id := ip4Of(pk).Id; id != uint16(i+2) || macOf(ethOf(pk).DstMAC) != gwMAC || f.ifindex != em0Idx {
			t.Errorf("released packet %d: id %d to %v on %d, want id %d to %v on em0", i, id, ethOf(pk).DstMAC, f.ifindex, i+2, gwMAC)
		}
	}
}

func TestARPHoldTotal(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	host := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)}) }
	for h := range 10 {
		for range 10 {
			e.input(vetherIdx, udp4(guestIP, host(h), vetherMAC, false, 8), sec)
		}
	}
	e.out.take()
	if n := e.r.arp.held.Load(); n != holdTotal {
		t.Fatalf("held %d, want %d", n, holdTotal)
	}
	// Past the total, the entry's queue is purged and the packet dropped.
	e.input(vetherIdx, udp4(guestIP, host(0), vetherMAC, false, 8), sec)
	if n := e.r.arp.held.Load(); n != holdTotal-holdPerEntry {
		t.Errorf("held %d after the limit, want %d", n, holdTotal-holdPerEntry)
	}
	if n := e.drops(em0Idx, packet.DropHoldFull); n != holdPerEntry+1 {
		t.Errorf("hold-full drops = %d, want %d", n, holdPerEntry+1)
	}
	hostMAC := header.MAC{0x02, 0xdd, 0, 0, 0, 1}
	e.input(em0Idx, arpFrame(layers.ARPReply, hostMAC, host(0), em0MAC, em0IP, em0MAC), sec)
	if got := e.out.take(); len(got) != 0 {
		t.Errorf("released %d packets of a purged queue", len(got))
	}
	e.input(em0Idx, arpFrame(layers.ARPReply, hostMAC, host(1), em0MAC, em0IP, em0MAC), sec)
	if got := e.out.take(); len(got) != holdPerEntry {
		t.Errorf("released %d packets, want %d", len(got), holdPerEntry)
	}
}

func TestARPRetransmitOncePerSecond(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	for _, step := range []struct {
		at     int64
		packet bool // a packet (else a Tick)
		want   int  // requests sent
	}{
		{0, true, 1},
		{sec / 2, true, 0},
		{sec / 2, false, 0},
		{sec, true, 1},
		{sec + sec/2, false, 0},
		{2 * sec, false, 1},
		{2*sec + 1, true, 0},
		{3 * sec, false, 1},
	} {
		if step.packet {
			e.input(vetherIdx, remoteUDP(1), step.at)
		} else {
			e.r.Tick(step.at)
		}
		if got := len(e.out.take()); got != step.want {
			t.Errorf("at %v (packet %v): %d requests, want %d", time.Duration(step.at), step.packet, got, step.want)
		}
	}
}

func TestARPReject(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	e.input(vetherIdx, remoteUDP(1), 0)
	e.input(vetherIdx, remoteUDP(2), 0)
	requests := len(e.out.take())
	for s := int64(1); s < arpMaxTries; s++ {
		e.r.Tick(s * sec)
		requests += len(e.out.take())
	}
	if requests != arpMaxTries {
		t.Fatalf("%d requests in %d s, want %d", requests, arpMaxTries, arpMaxTries)
	}
	// The sixth try rejects the entry and drops what it held, silently.
	e.r.Tick(arpMaxTries * sec)
	e.none()
	if n := e.drops(em0Idx, packet.DropNoNeighbour); n != 2 {
		t.Errorf("no-neighbour drops = %d, want 2", n)
	}
	if n := findNeighbor(e.r.ARP(arpMaxTries*sec), gwIP); n == nil || !n.Reject || n.Expire != arpDown*time.Second {
		t.Errorf("gateway entry = %+v, want rejected for %ds", n, arpDown)
	}
	// While rejected, a packet gets host unreachable.
	req := remoteUDP(3)
	e.input(vetherIdx, req, (arpMaxTries+1)*sec)
	pk := e.one(vetherIdx)
	if ic := icmp4Of(pk); ic.TypeCode != layers.CreateICMPv4TypeCode(3, 1) {
		t.Errorf("ICMP %v, want host unreachable", ic.TypeCode)
	} else {
		checkQuote4(t, ic.Payload, req[14:], 0)
	}
	// Once the rejection expires, resolution starts over.
	e.input(vetherIdx, remoteUDP(4), (arpMaxTries+arpDown)*sec)
	pk = e.one(em0Idx)
	checkARPRequest(t, pk, arpOf(pk), header.BroadcastMAC, gwIP)
}

func TestARPExpiryAndRefresh(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	e.learnGateway(0)
	for _, step := range []struct {
		at      int64
		frames  int // frames out of em0: the packet, and a request if any
		request bool
	}{
		{1000, 1, false},
		{arpKeep - arpRefresh, 1, false},
		{arpKeep - arpRefresh + 1, 2, true},
		{arpKeep - arpRefresh + 30, 1, false},
		{arpKeep - arpRefresh + 32, 2, true},
		{arpKeep - 1, 2, true},
		// Expired: the packet is held and a request goes out.
		{arpKeep, 1, true},
	} {
		e.learnGuest(step.at * sec) // keep the guest's entry fresh
		e.input(vetherIdx, remoteUDP(1), step.at*sec)
		got := e.out.take()
		req := 0
		for _, f := range got {
			if decode(t, f.b).Layer(layers.LayerTypeARP) != nil {
				req++
			}
		}
		if len(got) != step.frames || (req == 1) != step.request {
			t.Errorf("at %ds: %d frames with %d requests, want %d with request %v", step.at, len(got), req, step.frames, step.request)
		}
	}
	// Unanswered, the entry is rejected after arpMaxTries requests and
	// removed once the rejection ends.
	for s := int64(arpKeep + 1); s <= arpKeep+arpMaxTries+arpDown; s++ {
		e.r.Tick(s * sec)
	}
	if n := findNeighbor(e.r.ARP((arpKeep+arpMaxTries+arpDown)*sec), gwIP); n != nil {
		t.Errorf("gateway entry survived expiry and rejection: %+v", n)
	}
	if n := e.drops(em0Idx, packet.DropNoNeighbour); n != 1 {
		t.Errorf("no-neighbour drops = %d, want 1", n)
	}
}

func findNeighbor(ns []Neighbor, a netip.Addr) *Neighbor {
	for i := range ns {
		if ns[i].Addr == a {
			return &ns[i]
		}
	}
	return nil
}
