package l3

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

func TestForward4(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	e.learnGateway(0)
	req := echo4(guestIP, remoteIP, vetherMAC, 64, 100)
	before := e.r.Counters(em0Idx).OutPackets.Load()
	e.input(vetherIdx, req, sec)
	pk := e.one(em0Idx)
	eth, ip := ethOf(pk), ip4Of(pk)
	if macOf(eth.SrcMAC) != em0MAC || macOf(eth.DstMAC) != gwMAC {
		t.Errorf("Ethernet %v -> %v, want %v -> %v", eth.SrcMAC, eth.DstMAC, em0MAC, gwMAC)
	}
	if ip.TTL != 63 || addrOf(ip.SrcIP) != guestIP || addrOf(ip.DstIP) != remoteIP {
		t.Errorf("IP %v -> %v ttl %d, want %v -> %v ttl 63", ip.SrcIP, ip.DstIP, ip.TTL, guestIP, remoteIP)
	}
	if !bytes.Equal(ip.Payload, req[34:]) {
		t.Errorf("payload changed")
	}
	c := e.r.Counters(em0Idx)
	if n := c.OutPackets.Load() - before; n != 1 {
		t.Errorf("em0 out packets grew by %d, want 1", n)
	}
}

func TestForward6(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	e.learnGateway(0)
	req := echo6(guestMAC, guest6, remote6, vetherMAC, 64, 100)
	e.input(vetherIdx, req, sec)
	pk := e.one(em0Idx)
	if macOf(ethOf(pk).DstMAC) != gwMAC || ip6Of(pk).HopLimit != 63 {
		t.Errorf("to %v hop %d, want %v hop 63", ethOf(pk).DstMAC, ip6Of(pk).HopLimit, gwMAC)
	}
}

func TestForwardingOff(t *testing.T) {
	e := newEnv(t, false)
	e.learnGuest(0)
	e.learnGateway(0)
	e.input(vetherIdx, echo4(guestIP, remoteIP, vetherMAC, 64, 10), sec)
	e.input(vetherIdx, echo6(guestMAC, guest6, remote6, vetherMAC, 64, 10), sec)
	e.none()
	if n := e.drops(vetherIdx, packet.DropForwarding); n != 2 {
		t.Errorf("forwarding-off drops = %d, want 2", n)
	}
	e.r.SetForwarding(true, false)
	e.input(vetherIdx, echo4(guestIP, remoteIP, vetherMAC, 64, 10), sec)
	e.one(em0Idx)
	e.input(vetherIdx, echo6(guestMAC, guest6, remote6, vetherMAC, 64, 10), sec)
	e.none()
	if n := e.drops(vetherIdx, packet.DropForwarding); n != 3 {
		t.Errorf("forwarding-off drops = %d, want 3", n)
	}
}

func TestTimeExceeded(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	e.learnGateway(0)
	req := udp4(guestIP, remoteIP, vetherMAC, false, 40)
	req[14+8] = 1 // TTL
	header.IPv4(req[14:]).UpdateChecksum()
	e.input(vetherIdx, req, sec)
	pk := e.one(vetherIdx)
	ip, ic := ip4Of(pk), icmp4Of(pk)
	if ic.TypeCode != layers.CreateICMPv4TypeCode(11, 0) {
		t.Fatalf("ICMP %v, want time exceeded in transit", ic.TypeCode)
	}
	if addrOf(ip.SrcIP) != vetherIP || addrOf(ip.DstIP) != guestIP || macOf(ethOf(pk).DstMAC) != guestMAC {
		t.Errorf("error %v -> %v (%v), want %v -> %v (%v)", ip.SrcIP, ip.DstIP, ethOf(pk).DstMAC, vetherIP, guestIP, guestMAC)
	}
	checkQuote4(t, ic.Payload, req[14:], 0)
	if n := e.drops(vetherIdx, packet.DropTTL); n != 1 {
		t.Errorf("ttl drops = %d, want 1", n)
	}
}

func TestHopLimitExceeded(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	e.learnGateway(0)
	req := udp6(guest6, remote6, vetherMAC, 1, 1400)
	e.input(vetherIdx, req, sec)
	pk := e.one(vetherIdx)
	ic := icmp6Of(pk)
	if ic.TypeCode != layers.CreateICMPv6TypeCode(3, 0) {
		t.Fatalf("ICMPv6 %v, want time exceeded", ic.TypeCode)
	}
	if got := len(pk.Data()) - 14; got != header.ICMPv6ErrorMax {
		t.Errorf("error is %d bytes, want %d (as much as fits)", got, header.ICMPv6ErrorMax)
	}
	if !bytes.Equal(ic.Payload[4:], req[14:14+1280-48]) {
		t.Errorf("quote differs from the packet")
	}
}

func TestNoRoute(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	must(t, e.r.DeleteRoute(netip.MustParsePrefix("0.0.0.0/0")))
	must(t, e.r.DeleteRoute(netip.MustParsePrefix("::/0")))
	req := udp4(guestIP, remoteIP, vetherMAC, false, 20)
	e.input(vetherIdx, req, sec)
	pk := e.one(vetherIdx)
	if ic := icmp4Of(pk); ic.TypeCode != layers.CreateICMPv4TypeCode(3, 1) {
		t.Errorf("ICMP %v, want host unreachable (3/1)", ic.TypeCode)
	} else {
		checkQuote4(t, ic.Payload, req[14:], 0)
	}
	e.input(vetherIdx, udp6(guest6, remote6, vetherMAC, 64, 20), sec)
	if ic := icmp6Of(e.one(vetherIdx)); ic.TypeCode != layers.CreateICMPv6TypeCode(1, 0) {
		t.Errorf("ICMPv6 %v, want no route (1/0)", ic.TypeCode)
	}
	if n := e.drops(vetherIdx, packet.DropNoRoute); n != 2 {
		t.Errorf("no-route drops = %d, want 2", n)
	}
}

func TestFragmentationNeeded(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	e.learnGateway(0)
	req := udp4(guestIP, remoteIP, vetherMAC, true, 1500-28)
	e.input(vetherIdx, req, sec)
	pk := e.one(vetherIdx)
	ic := icmp4Of(pk)
	if ic.TypeCode != layers.CreateICMPv4TypeCode(3, 4) {
		t.Fatalf("ICMP %v, want fragmentation needed", ic.TypeCode)
	}
	if mtu := ic.Seq; mtu != 1400 {
		t.Errorf("next-hop MTU %d, want 1400", mtu)
	}
	// The quote is the packet as it arrived, TTL included.
	checkQuote4(t, ic.Payload, req[14:], 0)
	if n := e.drops(em0Idx, packet.DropMTU); n != 1 {
		t.Errorf("mtu drops = %d, want 1", n)
	}
}

func TestPacketTooBig(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	e.learnGateway(0)
	e.input(vetherIdx, udp6(guest6, remote6, vetherMAC, 64, 1500-48), sec)
	pk := e.one(vetherIdx)
	ic := icmp6Of(pk)
	if ic.TypeCode != layers.CreateICMPv6TypeCode(2, 0) {
		t.Fatalf("ICMPv6 %v, want packet too big", ic.TypeCode)
	}
	if mtu := binary.BigEndian.Uint32(ic.Payload[:4]); mtu != 1400 {
		t.Errorf("MTU %d, want 1400", mtu)
	}
	if q := header.IPv6(ic.Payload[4:]); q.HopLimit() != 64 {
		t.Errorf("quoted hop limit %d, want 64 (as it arrived)", q.HopLimit())
	}
}

func TestFragment(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []layers.IPv4Option
	}{
		{name: "no options"},
		{name: "options", opts: []layers.IPv4Option{
			{OptionType: 7, OptionLength: 7, OptionData: []byte{4, 0, 0, 0, 0}}, // record route: not copied
			{OptionType: 0x94, OptionLength: 4, OptionData: []byte{0, 0}},       // router alert: copied
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, true)
			e.learnGuest(0)
			e.learnGateway(0)
			ip := ip4(guestIP, remoteIP, layers.IPProtocolUDP, 64)
			ip.Options = tc.opts
			u := &layers.UDP{SrcPort: 4000, DstPort: 4001}
			_ = u.SetNetworkLayerForChecksum(ip)
			req := build(eth4(guestMAC, vetherMAC), ip, u, gopayload(3000))
			e.input(vetherIdx, req, sec)
			got := e.out.take()
			if len(got) != 3 {
				t.Fatalf("sent %d fragments, want 3", len(got))
			}
			hl := int(req[14]&0x0f) * 4
			want := req[14+hl:]
			var data []byte
			for i, f := range got {
				pk := decode(t, f.b)
				fip := ip4Of(pk)
				if f.ifindex != em0Idx || len(f.b)-14 > 1400 {
					t.Errorf("fragment %d: %d bytes out of %d, want <= 1400 out of em0", i, len(f.b)-14, f.ifindex)
				}
				if int(fip.FragOffset)*8 != len(data) {
					t.Errorf("fragment %d: offset %d, want %d", i, int(fip.FragOffset)*8, len(data))
				}
				if more := fip.Flags&layers.IPv4MoreFragments != 0; more != (i < len(got)-1) {
					t.Errorf("fragment %d: MF %v", i, more)
				}
				if fip.Id != 0x1234 || fip.TTL != 63 {
					t.Errorf("fragment %d: id %#x ttl %d, want 0x1234 63", i, fip.Id, fip.TTL)
				}
				fhl := int(f.b[14]&0x0f) * 4
				switch {
				case i == 0 && fhl != hl:
					t.Errorf("first fragment header %d bytes, want %d (all options)", fhl, hl)
				case i > 0 && len(tc.opts) > 0 && fhl != 24:
					t.Errorf("fragment %d header %d bytes, want 24 (copied options)", i, fhl)
				case i > 0 && len(tc.opts) > 0 && f.b[14+20] != 0x94:
					t.Errorf("fragment %d option %#x, want router alert", i, f.b[14+20])
				}
				data = append(data, f.b[14+fhl:]...)
			}
			if !bytes.Equal(data, want) {
				t.Errorf("reassembled %d bytes differ from the %d sent", len(data), len(want))
			}
		})
	}
}

func TestICMPRateLimit(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	ttl1 := udp4(guestIP, remoteIP, vetherMAC, false, 8)
	ttl1[14+8] = 1
	header.IPv4(ttl1[14:]).UpdateChecksum()
	for range 150 {
		e.input(vetherIdx, ttl1, 10*sec)
	}
	if n := len(e.out.take()); n != icmpErrPPS {
		t.Errorf("%d errors in one instant, want %d", n, icmpErrPPS)
	}
	for range 100 {
		e.input(vetherIdx, ttl1, 10*sec+sec/2)
	}
	if n := len(e.out.take()); n != icmpErrPPS/2 {
		t.Errorf("%d errors half a second later, want %d", n, icmpErrPPS/2)
	}
	if n := e.drops(vetherIdx, packet.DropTTL); n != 250 {
		t.Errorf("ttl drops = %d, want 250: limited errors still count their packets", n)
	}
}

func TestNoErrorAboutErrors(t *testing.T) {
	unreach := func(ttl uint8) []byte {
		ip := ip4(guestIP, remoteIP, layers.IPProtocolICMPv4, ttl)
		ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)}
		return build(eth4(guestMAC, vetherMAC), ip, ic, gopayload(28))
	}
	fragment := func() []byte {
		ip := ip4(guestIP, remoteIP, layers.IPProtocolUDP, 1)
		ip.FragOffset = 100
		return build(eth4(guestMAC, vetherMAC), ip, gopayload(64))
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{name: "ICMP error", b: unreach(1)},
		{name: "non-first fragment", b: fragment()},
		{name: "link broadcast", b: func() []byte {
			b := udp4(guestIP, remoteIP, header.BroadcastMAC, false, 8)
			b[14+8] = 1
			header.IPv4(b[14:]).UpdateChecksum()
			return b
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, true)
			e.learnGuest(0)
			e.input(vetherIdx, tc.b, sec)
			e.none()
		})
	}
}

// recorder is a Filter recording the interfaces Out saw and returning v.
type recorder struct {
	v   packet.Verdict
	out []int
}

func (f *recorder) In(int, *packet.Packet) packet.Verdict { return packet.Pass }
func (f *recorder) Out(ifindex int, p *packet.Packet) packet.Verdict {
	f.out = append(f.out, ifindex)
	return f.v
}

func TestFilterOut(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    packet.Verdict
		sent int
	}{
		{name: "pass", v: packet.Pass, sent: 1},
		{name: "block", v: packet.Drop, sent: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, true)
			f := &recorder{v: tc.v}
			e.r.filter = f
			e.learnGuest(0)
			e.learnGateway(0)
			e.input(vetherIdx, echo4(guestIP, remoteIP, vetherMAC, 64, 10), sec)
			if got := len(e.out.take()); got != tc.sent {
				t.Errorf("sent %d, want %d", got, tc.sent)
			}
			if !slices.Equal(f.out, []int{em0Idx}) {
				t.Errorf("Out called on %v, want [%d]", f.out, em0Idx)
			}
			if tc.v == packet.Drop && e.drops(em0Idx, packet.DropFilter) != 1 {
				t.Errorf("pf drops not counted")
			}
		})
	}
}

func TestTaggedInput(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	e.learnGateway(0)
	ip := ip4(guestIP, remoteIP, layers.IPProtocolUDP, 64)
	u := &layers.UDP{SrcPort: 1, DstPort: 2}
	_ = u.SetNetworkLayerForChecksum(ip)
	b := build(&layers.Ethernet{SrcMAC: hw(guestMAC), DstMAC: hw(vetherMAC), EthernetType: layers.EthernetTypeDot1Q},
		&layers.Dot1Q{VLANIdentifier: 10, Type: layers.EthernetTypeIPv4}, ip, u, gopayload(10))
	e.input(vetherIdx, b, sec)
	pk := e.one(em0Idx)
	if pk.Layer(layers.LayerTypeDot1Q) != nil || ip4Of(pk).TTL != 63 {
		t.Errorf("forwarded frame is tagged or TTL wrong:\n%s", pk.Dump())
	}
}

// natFilter is a Filter whose Out translates IPv4 sources to em0's address,
// as nat-to (em0) does.
type natFilter struct{}

func (natFilter) In(int, *packet.Packet) packet.Verdict { return packet.Pass }
func (natFilter) Out(_ int, p *packet.Packet) packet.Verdict {
	b := p.Bytes()
	if p.Meta.Kind != packet.KindIPv4 {
		return packet.Pass
	}
	ip := header.IPv4(b[14:])
	if p.Meta.Proto == header.ProtoUDP && p.Meta.L4 != 0 {
		u := header.UDP(b[p.Meta.L4:])
		u.SetChecksum(header.UpdateAddr(u.Checksum(), ip.Src(), em0IP))
	}
	ip.SetChecksum(header.UpdateAddr(ip.Checksum(), ip.Src(), em0IP))
	ip.SetSrc(em0IP)
	return packet.Pass
}

func TestErrorsAfterNAT(t *testing.T) {
	t.Run("rejected next hop", func(t *testing.T) {
		e := newEnv(t, true)
		e.r.filter = natFilter{}
		e.learnGuest(0)
		e.input(vetherIdx, remoteUDP(1), 0)
		for s := int64(1); s <= arpMaxTries; s++ {
			e.r.Tick(s * sec)
		}
		e.out.take()
		req := remoteUDP(2)
		e.input(vetherIdx, req, (arpMaxTries+1)*sec)
		pk := e.one(vetherIdx)
		ic := icmp4Of(pk)
		if ic.TypeCode != layers.CreateICMPv4TypeCode(3, 1) || addrOf(ip4Of(pk).DstIP) != guestIP {
			t.Fatalf("error:\n%s", pk.Dump())
		}
		checkQuote4(t, ic.Payload, req[14:], 0)
	})
	t.Run("fragmentation needed", func(t *testing.T) {
		e := newEnv(t, true)
		e.r.filter = natFilter{}
		e.learnGuest(0)
		e.learnGateway(0)
		req := udp4(guestIP, remoteIP, vetherMAC, true, 1472)
		e.input(vetherIdx, req, sec)
		pk := e.one(vetherIdx)
		if ic := icmp4Of(pk); ic.TypeCode != layers.CreateICMPv4TypeCode(3, 4) {
			t.Fatalf("error:\n%s", pk.Dump())
		} else {
			checkQuote4(t, ic.Payload, req[14:], 0)
		}
	})
	t.Run("translated", func(t *testing.T) {
		e := newEnv(t, true)
		e.r.filter = natFilter{}
		e.learnGuest(0)
		e.learnGateway(0)
		e.input(vetherIdx, remoteUDP(3), sec)
		if ip := ip4Of(e.one(em0Idx)); addrOf(ip.SrcIP) != em0IP {
			t.Errorf("source %v, want %v", ip.SrcIP, em0IP)
		}
	})
}
