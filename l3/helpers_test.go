package l3

import (
	"bytes"
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// The test network: the routed guest segment behind vether0 and the uplink
// em0, as in the seed's routed pattern.
var (
	vetherMAC = header.MAC{0x02, 0, 0, 0, 0, 0x01}
	em0MAC    = header.MAC{0x02, 0, 0, 0, 0, 0x02}
	guestMAC  = header.MAC{0x02, 0xaa, 0, 0, 0, 0x10}
	gwMAC     = header.MAC{0x02, 0xbb, 0, 0, 0, 0x01}

	vetherIP  = netip.MustParseAddr("10.50.0.1")
	guestIP   = netip.MustParseAddr("10.50.0.10")
	em0IP     = netip.MustParseAddr("192.0.2.2")
	gwIP      = netip.MustParseAddr("192.0.2.1")
	remoteIP  = netip.MustParseAddr("198.51.100.7")
	vether6   = netip.MustParseAddr("2001:db8:50::1")
	guest6    = netip.MustParseAddr("2001:db8:50::10")
	em06      = netip.MustParseAddr("2001:db8:1::2")
	gw6       = netip.MustParseAddr("2001:db8:1::1")
	remote6   = netip.MustParseAddr("2001:db8:99::7")
	guestLL   = netip.MustParseAddr("fe80::aa:ff:fe00:10")
	vetherIdx = 1
	em0Idx    = 2
)

const sec = int64(1e9)

// frame is one frame the stack sent.
type frame struct {
	ifindex int
	b       []byte
}

// capture is an Output that keeps a copy of every frame and Puts the
// packet.
type capture struct {
	pool *packet.Pool
	mu   sync.Mutex
	got  []frame
}

func (c *capture) Output(ifindex int, p *packet.Packet) {
	c.mu.Lock()
	c.got = append(c.got, frame{ifindex, append([]byte(nil), p.Bytes()...)})
	c.mu.Unlock()
	c.pool.Put(p)
}

// take returns the frames sent since the last call.
func (c *capture) take() []frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.got
	c.got = nil
	return g
}

// env is a Router on the test network with a capturing Output.
type env struct {
	t    *testing.T
	r    *Router
	out  *capture
	pool *packet.Pool
}

// newEnv returns the test network with forwarding as given, em0's MTU
// 1400, and default routes through gwIP and gw6. The gratuitous ARPs of
// the configuration are taken.
func newEnv(t *testing.T, fwd bool) *env {
	t.Helper()
	pool := packet.NewPool()
	c := &capture{pool: pool}
	r := NewRouter(Config{Pool: pool, Output: c, Forwarding4: fwd, Forwarding6: fwd, Seed: 1})
	must(t, r.AddInterface(vetherIdx, Interface{Name: "vether0", MAC: vetherMAC,
		Addrs: []netip.Prefix{netip.MustParsePrefix("10.50.0.1/24"), netip.MustParsePrefix("2001:db8:50::1/64")}}))
	must(t, r.AddInterface(em0Idx, Interface{Name: "em0", MAC: em0MAC, MTU: 1400,
		Addrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.2/24"), netip.MustParsePrefix("2001:db8:1::2/64")}}))
	must(t, r.AddRoute(netip.MustParsePrefix("0.0.0.0/0"), gwIP))
	must(t, r.AddRoute(netip.MustParsePrefix("::/0"), gw6))
	c.take()
	return &env{t: t, r: r, out: c, pool: pool}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// input hands frame b to the stack on interface ifindex at time now.
func (e *env) input(ifindex int, b []byte, now int64) {
	p := e.pool.Get()
	p.SetFrame(b)
	packet.Parse(p)
	e.r.Input(nil, p, ifindex, now)
}

// learnGuest and learnGateway put the guest and the gateway into the ARP
// and neighbour caches the way they get there on the wire: the guest asks
// for vether0's address, the gateway answers a request.
func (e *env) learnGuest(now int64) {
	e.input(vetherIdx, arpFrame(layers.ARPRequest, guestMAC, guestIP, header.MAC{}, vetherIP, header.BroadcastMAC), now)
	e.input(vetherIdx, nsFrame(guestMAC, guest6, vether6, true), now)
	e.out.take()
}

func (e *env) learnGateway(now int64) {
	e.input(em0Idx, arpFrame(layers.ARPRequest, gwMAC, gwIP, header.MAC{}, em0IP, header.BroadcastMAC), now)
	e.input(em0Idx, nsFrame(gwMAC, gw6, em06, true), now)
	e.out.take()
}

func hw(m header.MAC) net.HardwareAddr { return net.HardwareAddr(m[:]) }

// build serializes layers with lengths and checksums computed; it panics
// on layers that do not serialize, a bug in the test.
func build(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		panic(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func arpFrame(op uint16, sha header.MAC, spa netip.Addr, tha header.MAC, tpa netip.Addr, dst header.MAC) []byte {
	return build(
		&layers.Ethernet{SrcMAC: hw(sha), DstMAC: hw(dst), EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: op, SourceHwAddress: hw(sha), SourceProtAddress: spa.AsSlice(), DstHwAddress: hw(tha), DstProtAddress: tpa.AsSlice()})
}

func eth4(src, dst header.MAC) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: hw(src), DstMAC: hw(dst), EthernetType: layers.EthernetTypeIPv4}
}

func eth6(src, dst header.MAC) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: hw(src), DstMAC: hw(dst), EthernetType: layers.EthernetTypeIPv6}
}

func ip4(src, dst netip.Addr, proto layers.IPProtocol, ttl uint8) *layers.IPv4 {
	return &layers.IPv4{Version: 4, TTL: ttl, Protocol: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice(), Id: 0x1234}
}

func ip6(src, dst netip.Addr, next layers.IPProtocol, hop uint8) *layers.IPv6 {
	return &layers.IPv6{Version: 6, NextHeader: next, HopLimit: hop, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
}

// echo4 is an ICMP echo request from the guest to dst with n bytes of data.
func echo4(src, dst netip.Addr, dstMAC header.MAC, ttl uint8, n int) []byte {
	ip := ip4(src, dst, layers.IPProtocolICMPv4, ttl)
	ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 7, Seq: 1}
	return build(eth4(guestMAC, dstMAC), ip, ic, gopacket.Payload(payload(n)))
}

func echo6(srcMAC header.MAC, src, dst netip.Addr, dstMAC header.MAC, hop uint8, n int) []byte {
	ip := ip6(src, dst, layers.IPProtocolICMPv6, hop)
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)}
	_ = ic.SetNetworkLayerForChecksum(ip)
	ec := &layers.ICMPv6Echo{Identifier: 7, SeqNumber: 1}
	return build(eth6(srcMAC, dstMAC), ip, ic, ec, gopacket.Payload(payload(n)))
}

func udp4(src, dst netip.Addr, dstMAC header.MAC, df bool, n int) []byte {
	ip := ip4(src, dst, layers.IPProtocolUDP, 64)
	if df {
		ip.Flags = layers.IPv4DontFragment
	}
	u := &layers.UDP{SrcPort: 4000, DstPort: 4001}
	_ = u.SetNetworkLayerForChecksum(ip)
	return build(eth4(guestMAC, dstMAC), ip, u, gopacket.Payload(payload(n)))
}

func udp6(src, dst netip.Addr, dstMAC header.MAC, hop uint8, n int) []byte {
	ip := ip6(src, dst, layers.IPProtocolUDP, hop)
	u := &layers.UDP{SrcPort: 4000, DstPort: 4001}
	_ = u.SetNetworkLayerForChecksum(ip)
	return build(eth6(guestMAC, dstMAC), ip, u, gopacket.Payload(payload(n)))
}

func tcp4(src, dst netip.Addr, dstMAC header.MAC, syn, ack bool) []byte {
	ip := ip4(src, dst, layers.IPProtocolTCP, 64)
	tc := &layers.TCP{SrcPort: 40000, DstPort: 22, Seq: 1000, Ack: 5000, SYN: syn, ACK: ack, Window: 1024}
	_ = tc.SetNetworkLayerForChecksum(ip)
	return build(eth4(guestMAC, dstMAC), ip, tc)
}

// nsFrame is a neighbour solicitation from mac/src for target, multicast
// to its solicited-node group; withSLL adds the source link-layer option.
func nsFrame(mac header.MAC, src, target netip.Addr, withSLL bool) []byte {
	dst := header.SolicitedNodeAddr(target)
	ip := ip6(src, dst, layers.IPProtocolICMPv6, 255)
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeNeighborSolicitation, 0)}
	_ = ic.SetNetworkLayerForChecksum(ip)
	ns := &layers.ICMPv6NeighborSolicitation{TargetAddress: target.AsSlice()}
	if withSLL {
		ns.Options = layers.ICMPv6Options{{Type: layers.ICMPv6OptSourceAddress, Data: hw(mac)}}
	}
	return build(eth6(mac, header.IPv6MulticastMAC(dst)), ip, ic, ns)
}

// naFrame is a solicited neighbour advertisement from mac/src for itself
// to dst.
func naFrame(mac header.MAC, src, dst netip.Addr, dstMAC header.MAC, solicited, override bool) []byte {
	ip := ip6(src, dst, layers.IPProtocolICMPv6, 255)
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeNeighborAdvertisement, 0)}
	_ = ic.SetNetworkLayerForChecksum(ip)
	var f uint8
	if solicited {
		f |= 0x40
	}
	if override {
		f |= 0x20
	}
	na := &layers.ICMPv6NeighborAdvertisement{Flags: f, TargetAddress: src.AsSlice(),
		Options: layers.ICMPv6Options{{Type: layers.ICMPv6OptTargetAddress, Data: hw(mac)}}}
	return build(eth6(mac, dstMAC), ip, ic, na)
}

func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

// decode decodes a frame the stack sent and fails the test if it does not
// decode cleanly or any checksum in it is wrong.
func decode(t *testing.T, b []byte) gopacket.Packet {
	t.Helper()
	pk := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
	if el := pk.ErrorLayer(); el != nil {
		t.Fatalf("frame does not decode: %v\n%x", el.Error(), b)
	}
	for _, l := range pk.Layers() {
		if c, ok := l.(interface {
			SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
		}); ok && pk.NetworkLayer() != nil {
			_ = c.SetNetworkLayerForChecksum(pk.NetworkLayer())
		}
	}
	if err, bad := pk.VerifyChecksums(); err != nil || len(bad) > 0 {
		t.Fatalf("checksums: %v %+v\n%s", err, bad, pk.Dump())
	}
	return pk
}

// one expects exactly one frame out of ifindex and returns it decoded.
func (e *env) one(ifindex int) gopacket.Packet {
	e.t.Helper()
	got := e.out.take()
	if len(got) != 1 {
		e.t.Fatalf("sent %d frames, want 1: %+v", len(got), got)
	}
	if got[0].ifindex != ifindex {
		e.t.Fatalf("sent out of %d, want %d", got[0].ifindex, ifindex)
	}
	return decode(e.t, got[0].b)
}

// none expects no frame.
func (e *env) none() {
	e.t.Helper()
	if got := e.out.take(); len(got) != 0 {
		e.t.Fatalf("sent %d frames, want none; first:\n%s", len(got), gopacket.NewPacket(got[0].b, layers.LayerTypeEthernet, gopacket.Default).Dump())
	}
}

// drops returns the count of reason on interface ifindex.
func (e *env) drops(ifindex int, reason packet.DropReason) uint64 {
	return e.r.Counters(ifindex).Drops(reason)
}

func ethOf(pk gopacket.Packet) *layers.Ethernet {
	return pk.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
}
func ip4Of(pk gopacket.Packet) *layers.IPv4 { return pk.Layer(layers.LayerTypeIPv4).(*layers.IPv4) }
func ip6Of(pk gopacket.Packet) *layers.IPv6 { return pk.Layer(layers.LayerTypeIPv6).(*layers.IPv6) }
func icmp4Of(pk gopacket.Packet) *layers.ICMPv4 {
	return pk.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
}
func icmp6Of(pk gopacket.Packet) *layers.ICMPv6 {
	return pk.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
}
func arpOf(pk gopacket.Packet) *layers.ARP { return pk.Layer(layers.LayerTypeARP).(*layers.ARP) }

func macOf(b net.HardwareAddr) header.MAC { return header.MAC(b) }

func addrOf(b net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(b)
	return a.Unmap()
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func gopayload(n int) gopacket.Payload { return gopacket.Payload(payload(n)) }

// checkQuote4 checks that an ICMP error's data (after the 4 bytes of the
// ICMP header that gopacket leaves in the payload: none for ICMPv4, it
// decodes them) is the original IPv4 header and 8 bytes, with TTL ttl if
// ttl is not 0, and a valid header checksum.
func checkQuote4(t *testing.T, quote, orig []byte, ttl uint8) {
	t.Helper()
	hl := int(orig[0]&0x0f) * 4
	want := append([]byte(nil), orig[:hl+8]...)
	if ttl != 0 {
		want[8] = ttl
		header.IPv4(want).UpdateChecksum()
	}
	if !bytes.Equal(quote, want) {
		t.Errorf("quote\n%x\nwant\n%x", quote, want)
	}
	if !header.IPv4(quote).IsChecksumValid() {
		t.Errorf("quoted header checksum is wrong")
	}
}
