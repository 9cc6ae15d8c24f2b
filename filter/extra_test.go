package filter

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/packet"
)

func TestNAT66AndICMPv6Echo(t *testing.T) {
	f := newTestFilter(t, "block all\npass out on em0 inet6 nat-to 2001:db8::1\n", Options{})
	p := tcpPkt(t, "fd00::5", 4000, "2001:db8:1::7", 443, syn)
	if r := test(f, Out, ifEm0, p, 1); r.Verdict != packet.Pass {
		t.Fatalf("SYN: %v", r.Verdict)
	}
	decoded(t, p)
	n := src4(p)
	if n.Addr() != netip.MustParseAddr("2001:db8::1") || n.Port() < 50001 {
		t.Fatalf("source %v", n)
	}
	rep := tcpPkt(t, "2001:db8:1::7", 443, "2001:db8::1", n.Port(), tcpOpt{flags: "SA", seq: 9, ack: syn.seq + 1})
	if r := test(f, In, ifEm0, rep, 1); r.Verdict != packet.Pass || dst4(rep) != netip.MustParseAddrPort("[fd00::5]:4000") {
		t.Fatalf("reply: %v to %v", r.Verdict, dst4(rep))
	}
	decoded(t, rep)
	ping := echoPkt(t, "fd00::5", "2001:db8:1::7", 33, false)
	if r := test(f, Out, ifEm0, ping, 1); r.Verdict != packet.Pass {
		t.Fatalf("echo: %v", r.Verdict)
	}
	decoded(t, ping)
	pong := echoPkt(t, "2001:db8:1::7", "2001:db8::1", src4(ping).Port(), true)
	if r := test(f, In, ifEm0, pong, 1); r.Verdict != packet.Pass || dst4(pong).Addr() != netip.MustParseAddr("fd00::5") || dst4(pong).Port() != 33 {
		t.Fatalf("echo reply: %v to %v", r.Verdict, dst4(pong))
	}
	decoded(t, pong)
}

func TestICMPErrorForTCPOutOfWindow(t *testing.T) {
	f := newTestFilter(t, "block all\npass out on em0 proto tcp\n", Options{})
	p := tcpPkt(t, "203.0.113.1", 4000, "198.51.100.7", 80, tcpOpt{flags: "S", seq: 1000})
	test(f, Out, ifEm0, p, 1)
	if r := test(f, In, ifEm0, icmpErrPkt(t, "192.0.2.254", "203.0.113.1", p), 1); r.Verdict != packet.Pass {
		t.Errorf("error quoting the SYN: %v, want pass (state)", r.Verdict)
	}
	far := tcpPkt(t, "203.0.113.1", 4000, "198.51.100.7", 80, tcpOpt{flags: "A", seq: 1000 + 1<<30})
	if r := test(f, In, ifEm0, icmpErrPkt(t, "192.0.2.254", "203.0.113.1", far), 1); r.Verdict != packet.Drop {
		t.Errorf("error quoting an out-of-window sequence: %v, want drop", r.Verdict)
	}
	other := udpPkt(t, "203.0.113.1", 4000, "198.51.100.7", 80)
	if r := test(f, In, ifEm0, icmpErrPkt(t, "192.0.2.254", "203.0.113.1", other), 1); r.Verdict != packet.Drop {
		t.Errorf("error about no state: %v, want drop (block all)", r.Verdict)
	}
}

func TestBlockReturnIPv6RST(t *testing.T) {
	f := newTestFilter(t, "block return-rst(ttl 10) all\n", Options{})
	p := tcpPkt(t, "2001:db8::7", 4000, "2001:db8::1", 22, tcpOpt{flags: "PA", seq: 7, ack: 99, payload: 10})
	reply := packet.New()
	r := f.TestReply(In, ifEm0, p, reply, 1)
	if !r.Reply {
		t.Fatalf("no reply: %+v", r)
	}
	g := decodedIP(t, reply.Bytes())
	tcp := g.Layer(layers.LayerTypeTCP).(*layers.TCP)
	ip := g.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	if tcp.Seq != 99 || tcp.Ack != 17 || !tcp.RST || !tcp.ACK || ip.HopLimit != 64 {
		t.Errorf("RST seq %d ack %d hop %d, want 99, 17, 64 (ttl ignored for IPv6)", tcp.Seq, tcp.Ack, ip.HopLimit)
	}
}

func TestIPOptionsRouterAlert(t *testing.T) {
	ra := []layers.IPv4Option{{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}}}
	mk := func(proto layers.IPProtocol) *packet.Packet {
		ip := &layers.IPv4{Version: 4, TTL: 1, Protocol: proto, SrcIP: []byte{10, 50, 0, 5}, DstIP: []byte{224, 0, 0, 22}, Options: ra}
		return build(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}, ip, gopacketPayload(8))
	}
	f := newTestFilter(t, "pass all no state\n", Options{})
	igmp := mk(layers.IPProtocolIGMP)
	if !igmp.Meta.HasOptions {
		t.Fatal("Parse did not see the option")
	}
	if r := test(f, In, ifVether, igmp, 1); r.Verdict != packet.Pass {
		t.Errorf("IGMP with router alert: %v, want pass", r.Verdict)
	}
	if r := test(f, In, ifVether, mk(layers.IPProtocol(253)), 1); r.Verdict != packet.Drop {
		t.Errorf("other protocol with router alert: %v, want drop (ip-option)", r.Verdict)
	}
}
