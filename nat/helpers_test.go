package nat

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/test/pkt"
)

// pcapDir holds the third-party captures, relative to this package.
const pcapDir = "../../shared/pcaps"

var eth = pkt.Eth{Src: "52:54:00:00:00:01", Dst: "52:54:00:00:00:02"}

// parsed returns a packet holding a copy of frame, parsed.
func parsed(t testing.TB, frame []byte) *packet.Packet {
	t.Helper()
	p := packet.New()
	p.SetFrame(frame)
	packet.Parse(p)
	if p.Meta.Kind != packet.KindIPv4 && p.Meta.Kind != packet.KindIPv6 {
		t.Fatalf("Parse(test frame): kind %v, drop %v", p.Meta.Kind, p.Meta.Drop)
	}
	return p
}

// checkChecksums decodes frame with gopacket and checks every checksum it
// finds against one recomputed from scratch: IPv4 header, TCP, UDP (0 is
// accepted: none), ICMPv4, ICMPv6.
func checkChecksums(t *testing.T, frame []byte) {
	t.Helper()
	// Application payloads (port 53 is taken for DNS) may fail to
	// decode; only the layers up to the transport matter here.
	pk := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	nl := pk.NetworkLayer()
	if nl == nil {
		t.Fatalf("decode: no network layer in % x", frame)
	}
	type netSetter interface {
		SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
	}
	verify := func(name string, err error, r gopacket.ChecksumVerificationResult) {
		t.Helper()
		if err != nil {
			t.Errorf("%s checksum: %v", name, err)
		} else if !r.Valid {
			t.Errorf("%s checksum = %#04x, want %#04x", name, r.Actual, r.Correct)
		}
	}
	n, l4 := 0, 0
	for _, l := range pk.Layers() {
		if s, ok := l.(netSetter); ok {
			if err := s.SetNetworkLayerForChecksum(nl); err != nil {
				t.Fatalf("SetNetworkLayerForChecksum: %v", err)
			}
		}
		switch l.(type) {
		case *layers.TCP, *layers.UDP, *layers.ICMPv4, *layers.ICMPv6:
			l4++
		}
		switch l := l.(type) {
		case *layers.IPv4:
			err, r := l.VerifyChecksum()
			verify("IPv4", err, r)
			n++
		case *layers.TCP:
			err, r := l.VerifyChecksum()
			verify("TCP", err, r)
			n++
		case *layers.UDP:
			err, r := l.VerifyChecksum()
			verify("UDP", err, r)
			n++
		case *layers.ICMPv4:
			err, r := l.VerifyChecksum()
			verify("ICMPv4", err, r)
			n++
		case *layers.ICMPv6:
			err, r := l.VerifyChecksum()
			verify("ICMPv6", err, r)
			n++
		}
	}
	var proto layers.IPProtocol
	switch ip := nl.(type) {
	case *layers.IPv4:
		proto = ip.Protocol
	case *layers.IPv6:
		proto = ip.NextHeader
	}
	switch proto {
	case layers.IPProtocolTCP, layers.IPProtocolUDP, layers.IPProtocolICMPv4, layers.IPProtocolICMPv6:
		if l4 == 0 {
			t.Fatalf("no transport layer decoded in % x", frame)
		}
	}
	if n == 0 {
		t.Fatalf("no checksummed layer decoded in % x", frame)
	}
}

// ipPacket returns the IP packet of an Ethernet frame built by pkt (no
// tags): the bytes after the Ethernet header.
func ipPacket(frame []byte) []byte { return frame[header.EthernetSize:] }

// icmpError builds an ICMP (IPv4) or ICMPv6 error from outer src to dst
// quoting the first quote bytes of the IP packet inner (all of it when
// quote is 0 or larger), with every checksum right.
func icmpError(src, dst string, inner []byte, quote int) []byte {
	if quote > 0 && quote < len(inner) {
		inner = inner[:quote]
	}
	h := pkt.IPHdr{Src: src, Dst: dst, TTL: 64}
	if netip.MustParseAddr(src).Is4() {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolICMPv4,
			SrcIP: pkt.IP(h.Src).To4(), DstIP: pkt.IP(h.Dst).To4()}
		ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeTimeExceeded, 0)}
		e := &layers.Ethernet{SrcMAC: pkt.MAC(eth.Src), DstMAC: pkt.MAC(eth.Dst), EthernetType: layers.EthernetTypeIPv4}
		return pkt.Serialize(e, ip, ic, gopacket.Payload(inner))
	}
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolICMPv6,
		SrcIP: pkt.IP(h.Src), DstIP: pkt.IP(h.Dst)}
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeDestinationUnreachable, 4)}
	ic.SetNetworkLayerForChecksum(ip)
	// The 4 unused bytes of the ICMPv6 error header, then the quote.
	body := append(make([]byte, 4), inner...)
	e := &layers.Ethernet{SrcMAC: pkt.MAC(eth.Src), DstMAC: pkt.MAC(eth.Dst), EthernetType: layers.EthernetTypeIPv6}
	return pkt.Serialize(e, ip, ic, gopacket.Payload(body))
}

// readFrames returns the Ethernet frames of a pcap or pcapng file.
func readFrames(t *testing.T, path string) [][]byte {
	t.Helper()
	frames, err := pkt.ReadCapture(path)
	if err != nil {
		t.Fatalf("read capture: %v", err)
	}
	return frames
}

// fullTransportChecksum recomputes from scratch the checksum the transport
// header of parsed p should hold (TCP, UDP, ICMP, ICMPv6), or reports
// false for other protocols.
func fullTransportChecksum(p *packet.Packet) (field int, want uint16, ok bool) {
	m := &p.Meta
	b := p.Bytes()
	end := int(m.L3) + int(m.L3Len)
	l4 := b[m.L4:end]
	var pseudo uint16
	if m.Proto != header.ProtoICMP {
		pseudo = header.PseudoHeaderChecksum(m.Proto, m.Flow.Src.Addr(), m.Flow.Dst.Addr(), uint32(len(l4)))
	}
	switch m.Proto {
	case header.ProtoTCP:
		field = 16
	case header.ProtoUDP:
		field = 6
	case header.ProtoICMP, header.ProtoICMPv6:
		field = 2
	default:
		return 0, 0, false
	}
	if len(l4) < field+2 {
		// A transport header too short to hold its checksum (ICMP
		// inside IPv6, which Parse does not read as ICMP).
		return 0, 0, false
	}
	s := header.Checksum(l4[:field], pseudo)
	s = header.Checksum(l4[field+2:], s)
	want = ^s
	if m.Proto == header.ProtoUDP && want == 0 {
		want = 0xffff
	}
	return int(m.L4) + field, want, true
}

// u16 reads a big-endian word of b at off.
func u16(b []byte, off int) uint16 { return binary.BigEndian.Uint16(b[off:]) }
