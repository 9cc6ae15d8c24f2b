package filter

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/filter/pfconf"
)

// Interface indexes of the test host: the seed's layout.
const (
	ifEm0    = 1
	ifVether = 2
	ifTap3   = 3
	ifTap4   = 4
	ifLo0    = 5
	ifEm1    = 6
)

func testIfaces() []Interface {
	return []Interface{
		{Index: ifEm0, Name: "em0", Groups: []string{"all", "egress"}, Addrs: []netip.Prefix{netip.MustParsePrefix("203.0.113.1/24"), netip.MustParsePrefix("2001:db8::1/64")}},
		{Index: ifVether, Name: "vether0", Groups: []string{"all", "vether"}, Addrs: []netip.Prefix{netip.MustParsePrefix("10.50.0.1/24")}},
		{Index: ifTap3, Name: "tap3", Groups: []string{"all", "tap"}},
		{Index: ifTap4, Name: "tap4", Groups: []string{"all", "tap"}},
		{Index: ifLo0, Name: "lo0", Groups: []string{"all", "lo"}, Loopback: true, Addrs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}},
		{Index: ifEm1, Name: "em1", Groups: []string{"all"}},
	}
}

func parseOpts(ifs []Interface) pfconf.ParseOptions {
	var opts pfconf.ParseOptions
	for _, i := range ifs {
		pi := pfconf.Interface{Name: i.Name, Groups: i.Groups, Loopback: i.Loopback, Broadcast: !i.Loopback}
		for _, a := range i.Addrs {
			pi.Addrs = append(pi.Addrs, pfconf.IfAddr{Addr: a.Addr(), Bits: a.Bits()})
		}
		opts.Interfaces = append(opts.Interfaces, pi)
	}
	return opts
}

// newTestFilter compiles conf for the test host and loads it.
func newTestFilter(t testing.TB, conf string, opts Options) *Filter {
	t.Helper()
	ifs := testIfaces()
	spec, err := pfconf.ParseWith("pf.conf", strings.NewReader(conf), parseOpts(ifs))
	if err != nil {
		t.Fatalf("ParseWith: %v", err)
	}
	env := Env{Interfaces: ifs, Seed: 1}
	rs, err := Compile(spec, env)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	f := NewFilter(opts)
	f.Load(rs)
	return f
}

var macA = net.HardwareAddr{2, 0, 0, 0, 0, 1}
var macB = net.HardwareAddr{2, 0, 0, 0, 0, 2}

func ipLayer(src, dst string, proto layers.IPProtocol) (gopacket.SerializableLayer, gopacket.NetworkLayer, layers.EthernetType) {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	if s.Is4() {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: s.AsSlice(), DstIP: d.AsSlice()}
		return ip, ip, layers.EthernetTypeIPv4
	}
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: s.AsSlice(), DstIP: d.AsSlice()}
	return ip, ip, layers.EthernetTypeIPv6
}

func build(t testing.TB, ls ...gopacket.SerializableLayer) *packet.Packet {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	p := packet.New()
	p.SetFrame(buf.Bytes())
	packet.Parse(p)
	return p
}

type tcpOpt struct {
	flags   string // letters of FSRPAU
	seq     uint32
	ack     uint32
	win     uint16
	payload int
}

func tcpPkt(t testing.TB, src string, sport uint16, dst string, dport uint16, o tcpOpt) *packet.Packet {
	t.Helper()
	ipl, nl, et := ipLayer(src, dst, layers.IPProtocolTCP)
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: o.seq, Ack: o.ack, Window: o.win}
	if tcp.Window == 0 {
		tcp.Window = 65535
	}
	for _, c := range o.flags {
		switch c {
		case 'F':
			tcp.FIN = true
		case 'S':
			tcp.SYN = true
		case 'R':
			tcp.RST = true
		case 'P':
			tcp.PSH = true
		case 'A':
			tcp.ACK = true
		case 'U':
			tcp.URG = true
		}
	}
	tcp.SetNetworkLayerForChecksum(nl)
	eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: et}
	return build(t, eth, ipl, tcp, gopacket.Payload(make([]byte, o.payload)))
}

func udpPkt(t testing.TB, src string, sport uint16, dst string, dport uint16) *packet.Packet {
	t.Helper()
	ipl, nl, et := ipLayer(src, dst, layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	udp.SetNetworkLayerForChecksum(nl)
	eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: et}
	return build(t, eth, ipl, udp, gopacket.Payload([]byte("hello")))
}

// echoPkt builds an ICMP or ICMPv6 echo request (reply when reply).
func echoPkt(t testing.TB, src, dst string, id uint16, reply bool) *packet.Packet {
	t.Helper()
	s := netip.MustParseAddr(src)
	eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB}
	if s.Is4() {
		ipl, _, et := ipLayer(src, dst, layers.IPProtocolICMPv4)
		eth.EthernetType = et
		typ := uint8(layers.ICMPv4TypeEchoRequest)
		if reply {
			typ = layers.ICMPv4TypeEchoReply
		}
		ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: id, Seq: 1}
		return build(t, eth, ipl, ic, gopacket.Payload([]byte("ping")))
	}
	ipl, nl, et := ipLayer(src, dst, layers.IPProtocolICMPv6)
	eth.EthernetType = et
	typ := uint8(layers.ICMPv6TypeEchoRequest)
	if reply {
		typ = layers.ICMPv6TypeEchoReply
	}
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, 0)}
	ic.SetNetworkLayerForChecksum(nl)
	echo := &layers.ICMPv6Echo{Identifier: id, SeqNumber: 1}
	return build(t, eth, ipl, ic, echo, gopacket.Payload([]byte("ping")))
}

// icmpErrPkt builds an ICMPv4 port unreachable from src to dst quoting
// the IP packet of quoted (its L3 onwards).
func icmpErrPkt(t testing.TB, src, dst string, quoted *packet.Packet) *packet.Packet {
	t.Helper()
	ipl, _, et := ipLayer(src, dst, layers.IPProtocolICMPv4)
	q := quoted.Bytes()[quoted.Meta.L3:]
	hl := int(q[0]&0x0f) * 4
	q = q[:hl+8]
	ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodePort)}
	eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: et}
	return build(t, eth, ipl, ic, gopacket.Payload(append([]byte(nil), q...)))
}

// decoded decodes p with gopacket and fails the test on any bad checksum.
func decoded(t testing.TB, p *packet.Packet) gopacket.Packet {
	t.Helper()
	g := gopacket.NewPacket(p.Bytes(), layers.LayerTypeEthernet, gopacket.Default)
	if el := g.ErrorLayer(); el != nil && g.TransportLayer() == nil {
		t.Fatalf("decode: %v", el.Error())
	}
	return checkSums(t, g)
}

// decodedIP decodes a reply (an IP packet without Ethernet).
func decodedIP(t testing.TB, b []byte) gopacket.Packet {
	t.Helper()
	lt := layers.LayerTypeIPv4
	if b[0]>>4 == 6 {
		lt = layers.LayerTypeIPv6
	}
	g := gopacket.NewPacket(b, lt, gopacket.Default)
	if el := g.ErrorLayer(); el != nil && g.TransportLayer() == nil && g.Layer(layers.LayerTypeICMPv4) == nil && g.Layer(layers.LayerTypeICMPv6) == nil {
		t.Fatalf("decode: %v", el.Error())
	}
	return checkSums(t, g)
}

func checkSums(t testing.TB, g gopacket.Packet) gopacket.Packet {
	t.Helper()
	type verifier interface {
		VerifyChecksum() (error, gopacket.ChecksumVerificationResult)
	}
	for _, l := range g.Layers() {
		if v, ok := l.(verifier); ok {
			if _, isICMP6 := l.(*layers.ICMPv6); isICMP6 {
				// needs the network layer set for the pseudo-header
				ic := l.(*layers.ICMPv6)
				ic.SetNetworkLayerForChecksum(g.NetworkLayer())
			}
			if tcp, ok := l.(*layers.TCP); ok {
				tcp.SetNetworkLayerForChecksum(g.NetworkLayer())
			}
			if udp, ok := l.(*layers.UDP); ok {
				if udp.Checksum == 0 {
					continue
				}
				udp.SetNetworkLayerForChecksum(g.NetworkLayer())
			}
			err, res := v.VerifyChecksum()
			if err != nil {
				t.Fatalf("%v: verify: %v", l.LayerType(), err)
			}
			if !res.Valid {
				t.Fatalf("%v: bad checksum: got %#04x, want %#04x", l.LayerType(), res.Actual, res.Correct)
			}
		}
	}
	return g
}

// test runs f.Test and returns the verdict.
func test(f *Filter, dir Dir, ifindex int, p *packet.Packet, now int64) Result {
	return f.Test(dir, ifindex, p, now)
}

func src4(p *packet.Packet) netip.AddrPort { return p.Meta.Flow.Src }
func dst4(p *packet.Packet) netip.AddrPort { return p.Meta.Flow.Dst }

func gopacketPayload(n int) gopacket.Payload { return gopacket.Payload(make([]byte, n)) }
