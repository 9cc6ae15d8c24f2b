package l3

import (
	"bytes"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

func TestEchoReply4(t *testing.T) {
	e := newEnv(t, false)
	e.learnGuest(0)
	req := echo4(guestIP, vetherIP, vetherMAC, 64, 56)
	e.input(vetherIdx, req, sec)
	pk := e.one(vetherIdx)
	eth, ip, ic := ethOf(pk), ip4Of(pk), icmp4Of(pk)
	if macOf(eth.DstMAC) != guestMAC || macOf(eth.SrcMAC) != vetherMAC {
		t.Errorf("Ethernet %v -> %v, want %v -> %v", eth.SrcMAC, eth.DstMAC, vetherMAC, guestMAC)
	}
	if addrOf(ip.SrcIP) != vetherIP || addrOf(ip.DstIP) != guestIP || ip.TTL != 255 {
		t.Errorf("IP %v -> %v ttl %d, want %v -> %v ttl 255", ip.SrcIP, ip.DstIP, ip.TTL, vetherIP, guestIP)
	}
	if ic.TypeCode.Type() != layers.ICMPv4TypeEchoReply || ic.Id != 7 || ic.Seq != 1 {
		t.Errorf("ICMP %v id %d seq %d, want echo reply id 7 seq 1", ic.TypeCode, ic.Id, ic.Seq)
	}
	if !bytes.Equal(ic.Payload, payload(56)) {
		t.Errorf("echo data changed")
	}
}

func TestEchoOtherInterface(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fwd   bool
		reply bool
	}{
		{name: "forwarding", fwd: true, reply: true},
		{name: "no forwarding", fwd: false, reply: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.fwd)
			e.learnGuest(0)
			e.input(vetherIdx, echo4(guestIP, em0IP, vetherMAC, 64, 8), sec)
			if !tc.reply {
				e.none()
				if n := e.drops(vetherIdx, packet.DropNotForUs); n != 1 {
					t.Errorf("not-for-us drops = %d, want 1", n)
				}
				return
			}
			pk := e.one(vetherIdx)
			if addrOf(ip4Of(pk).SrcIP) != em0IP || icmp4Of(pk).TypeCode.Type() != layers.ICMPv4TypeEchoReply {
				t.Errorf("reply from %v type %v, want echo reply from %v", ip4Of(pk).SrcIP, icmp4Of(pk).TypeCode, em0IP)
			}
		})
	}
}

func TestEchoBroadcastIgnored(t *testing.T) {
	for _, tc := range []struct {
		name string
		dst  string
	}{
		{name: "subnet broadcast", dst: "10.50.0.255"},
		{name: "limited broadcast", dst: "255.255.255.255"},
		{name: "multicast", dst: "224.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, true)
			e.learnGuest(0)
			e.input(vetherIdx, echo4(guestIP, mustAddr(tc.dst), header.BroadcastMAC, 64, 8), sec)
			e.none()
		})
	}
}

func TestEchoReply6(t *testing.T) {
	for _, tc := range []struct {
		name     string
		src, dst string
	}{
		{name: "global", src: "2001:db8:50::10", dst: "2001:db8:50::1"},
		{name: "link-local", src: "fe80::aa:ff:fe00:10", dst: header.LinkLocalFromMAC(vetherMAC).String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, false)
			src, dst := mustAddr(tc.src), mustAddr(tc.dst)
			e.input(vetherIdx, nsFrame(guestMAC, src, dst, true), 0)
			e.out.take()
			e.input(vetherIdx, echo6(guestMAC, src, dst, vetherMAC, 64, 40), sec)
			pk := e.one(vetherIdx)
			ip, ic := ip6Of(pk), icmp6Of(pk)
			if addrOf(ip.SrcIP) != dst || addrOf(ip.DstIP) != src || ip.HopLimit != 64 {
				t.Errorf("IPv6 %v -> %v hop %d, want %v -> %v hop 64", ip.SrcIP, ip.DstIP, ip.HopLimit, dst, src)
			}
			if ic.TypeCode.Type() != layers.ICMPv6TypeEchoReply {
				t.Errorf("type %v, want echo reply", ic.TypeCode)
			}
			if ec := pk.Layer(layers.LayerTypeICMPv6Echo).(*layers.ICMPv6Echo); ec.Identifier != 7 || ec.SeqNumber != 1 {
				t.Errorf("echo id %d seq %d, want 7 1", ec.Identifier, ec.SeqNumber)
			}
			if macOf(ethOf(pk).DstMAC) != guestMAC {
				t.Errorf("to %v, want %v", ethOf(pk).DstMAC, guestMAC)
			}
		})
	}
}

func TestPortUnreachable(t *testing.T) {
	e := newEnv(t, false)
	e.learnGuest(0)
	req := udp4(guestIP, vetherIP, vetherMAC, false, 100)
	e.input(vetherIdx, req, sec)
	pk := e.one(vetherIdx)
	ic := icmp4Of(pk)
	if ic.TypeCode != layers.CreateICMPv4TypeCode(3, 3) {
		t.Fatalf("ICMP %v, want port unreachable", ic.TypeCode)
	}
	checkQuote4(t, ic.Payload, req[14:], 0)
	if n := e.drops(vetherIdx, packet.DropNoListener); n != 1 {
		t.Errorf("no-listener drops = %d, want 1", n)
	}
}

func TestPortUnreachable6(t *testing.T) {
	e := newEnv(t, false)
	e.learnGuest(0)
	req := udp6(guest6, vether6, vetherMAC, 64, 100)
	e.input(vetherIdx, req, sec)
	pk := e.one(vetherIdx)
	ic := icmp6Of(pk)
	if ic.TypeCode != layers.CreateICMPv6TypeCode(1, 4) {
		t.Fatalf("ICMPv6 %v, want port unreachable", ic.TypeCode)
	}
	if !bytes.Equal(ic.Payload[4:], req[14:]) {
		t.Errorf("quote differs from the packet")
	}
}

func TestProtoUnreachable(t *testing.T) {
	e := newEnv(t, false)
	e.learnGuest(0)
	b := build(eth4(guestMAC, vetherMAC), ip4(guestIP, vetherIP, layers.IPProtocolGRE, 64), gopayload(20))
	e.input(vetherIdx, b, sec)
	pk := e.one(vetherIdx)
	if ic := icmp4Of(pk); ic.TypeCode != layers.CreateICMPv4TypeCode(3, 2) {
		t.Fatalf("ICMP %v, want protocol unreachable", ic.TypeCode)
	}
}

func TestTCPReset(t *testing.T) {
	for _, tc := range []struct {
		name      string
		syn, ack  bool
		wantSeq   uint32
		wantAck   uint32
		wantACKed bool
	}{
		{name: "SYN", syn: true, wantSeq: 0, wantAck: 1001, wantACKed: true},
		{name: "ACK", ack: true, wantSeq: 5000, wantAck: 0, wantACKed: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, false)
			e.learnGuest(0)
			e.input(vetherIdx, tcp4(guestIP, vetherIP, vetherMAC, tc.syn, tc.ack), sec)
			pk := e.one(vetherIdx)
			tcp := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
			if !tcp.RST || tcp.ACK != tc.wantACKed || tcp.Seq != tc.wantSeq || tcp.Ack != tc.wantAck {
				t.Errorf("RST=%v ACK=%v seq %d ack %d, want RST ACK=%v seq %d ack %d",
					tcp.RST, tcp.ACK, tcp.Seq, tcp.Ack, tc.wantACKed, tc.wantSeq, tc.wantAck)
			}
			if tcp.SrcPort != 22 || tcp.DstPort != 40000 {
				t.Errorf("ports %d -> %d, want 22 -> 40000", tcp.SrcPort, tcp.DstPort)
			}
		})
	}
}

func TestTCPReset6(t *testing.T) {
	e := newEnv(t, false)
	e.learnGuest(0)
	ip := ip6(guest6, vether6, layers.IPProtocolTCP, 64)
	tc := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: 77, SYN: true, Window: 1024}
	_ = tc.SetNetworkLayerForChecksum(ip)
	e.input(vetherIdx, build(eth6(guestMAC, vetherMAC), ip, tc), sec)
	pk := e.one(vetherIdx)
	tcp := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if !tcp.RST || !tcp.ACK || tcp.Ack != 78 {
		t.Errorf("RST=%v ACK=%v ack %d, want RST|ACK ack 78", tcp.RST, tcp.ACK, tcp.Ack)
	}
}

func TestTCPResetRateLimited(t *testing.T) {
	e := newEnv(t, false)
	e.learnGuest(0)
	for range 150 {
		e.input(vetherIdx, tcp4(guestIP, vetherIP, vetherMAC, true, false), sec)
	}
	if n := len(e.out.take()); n != rstPPS {
		t.Errorf("sent %d resets in one instant, want %d", n, rstPPS)
	}
}

func TestNoErrorAboutBroadcast(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	e.input(vetherIdx, udp4(guestIP, mustAddr("10.50.0.255"), header.BroadcastMAC, false, 10), sec)
	e.input(vetherIdx, udp4(guestIP, mustAddr("255.255.255.255"), header.BroadcastMAC, false, 10), sec)
	e.none()
}
