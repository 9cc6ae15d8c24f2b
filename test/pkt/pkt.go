// Package pkt builds frames for hostnet's tests: Ethernet, 802.1Q and
// 802.1ad tags, ARP, IPv4, IPv6, TCP, UDP, ICMP and ICMPv6, with lengths and
// checksums filled in by gopacket's serializer. It also parses hex pasted
// from a capture and prints frames as one line each, in the manner of
// `tcpdump -e -n`. Only tests import it; it is never on the fast path.
package pkt

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// MAC parses a colon-separated MAC address and panics on error (test input).
func MAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(fmt.Sprintf("pkt.MAC(%q): %v", s, err))
	}
	return m
}

// IP parses an address and panics on error (test input).
func IP(s string) net.IP {
	a := netip.MustParseAddr(s)
	return net.IP(a.AsSlice())
}

// Eth is the Ethernet header of a frame to build.
type Eth struct {
	Src, Dst string // MACs
	// Tags are VLAN tags, outermost first.
	Tags []Tag
}

// Tag is one VLAN tag: TPID 0x8100 (802.1Q, the default) or 0x88a8.
type Tag struct {
	TPID     uint16
	VID      uint16
	Priority uint8
}

// Serialize joins layers into a frame with lengths and checksums fixed.
// Unlike gopacket's Ethernet layer, it does not pad a short frame to 60
// bytes: frames are as a host's tap or capture would show them (use Pad
// for a padded one).
func Serialize(ls ...gopacket.SerializableLayer) []byte {
	if eth, ok := ls[0].(*layers.Ethernet); ok {
		rest := serialize(ls[1:]...)
		hdr := make([]byte, 14, 14+len(rest))
		copy(hdr[0:6], eth.DstMAC)
		copy(hdr[6:12], eth.SrcMAC)
		binary.BigEndian.PutUint16(hdr[12:], uint16(eth.EthernetType))
		return append(hdr, rest...)
	}
	return serialize(ls...)
}

func serialize(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		panic(fmt.Sprintf("pkt: serialize: %v", err))
	}
	return append([]byte(nil), buf.Bytes()...)
}

// ethLayers returns the Ethernet and tag layers for e, the last one
// carrying next as its type.
func ethLayers(e Eth, next layers.EthernetType) []gopacket.SerializableLayer {
	eth := &layers.Ethernet{SrcMAC: MAC(e.Src), DstMAC: MAC(e.Dst), EthernetType: next}
	out := []gopacket.SerializableLayer{eth}
	if len(e.Tags) == 0 {
		return out
	}
	tpid := func(t Tag) layers.EthernetType {
		if t.TPID == 0 {
			return layers.EthernetTypeDot1Q
		}
		return layers.EthernetType(t.TPID)
	}
	eth.EthernetType = tpid(e.Tags[0])
	for i, t := range e.Tags {
		typ := next
		if i+1 < len(e.Tags) {
			typ = tpid(e.Tags[i+1])
		}
		out = append(out, &layers.Dot1Q{Priority: t.Priority, VLANIdentifier: t.VID, Type: typ})
	}
	return out
}

// Raw builds a frame of an arbitrary EtherType with payload.
func Raw(e Eth, etherType uint16, payload []byte) []byte {
	ls := ethLayers(e, layers.EthernetType(etherType))
	ls = append(ls, gopacket.Payload(payload))
	return Serialize(ls...)
}

// ARP builds an ARP request (op 1) or reply (op 2).
func ARP(e Eth, op uint16, sha string, spa string, tha string, tpa string) []byte {
	a := &layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: op,
		SourceHwAddress: MAC(sha), SourceProtAddress: IP(spa).To4(),
		DstHwAddress: MAC(tha), DstProtAddress: IP(tpa).To4(),
	}
	return Serialize(append(ethLayers(e, layers.EthernetTypeARP), a)...)
}

// IP describes the network header of a frame to build.
type IPHdr struct {
	Src, Dst string
	TTL      uint8 // 64 when 0
	DF       bool  // IPv4 don't fragment
	ID       uint16
	TOS      uint8
}

func ipLayer(h IPHdr, proto layers.IPProtocol) (gopacket.SerializableLayer, layers.EthernetType, gopacket.NetworkLayer) {
	ttl := h.TTL
	if ttl == 0 {
		ttl = 64
	}
	src := netip.MustParseAddr(h.Src)
	if src.Is4() {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: ttl, Protocol: proto, Id: h.ID, TOS: h.TOS,
			SrcIP: IP(h.Src).To4(), DstIP: IP(h.Dst).To4()}
		if h.DF {
			ip.Flags = layers.IPv4DontFragment
		}
		return ip, layers.EthernetTypeIPv4, ip
	}
	ip := &layers.IPv6{Version: 6, HopLimit: ttl, NextHeader: proto, TrafficClass: h.TOS,
		SrcIP: IP(h.Src), DstIP: IP(h.Dst)}
	return ip, layers.EthernetTypeIPv6, ip
}

// UDP builds a UDP datagram over IPv4 or IPv6 (by the source address).
func UDP(e Eth, h IPHdr, sport, dport uint16, payload []byte) []byte {
	ip, et, nl := ipLayer(h, layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	u.SetNetworkLayerForChecksum(nl)
	return Serialize(append(ethLayers(e, et), ip, u, gopacket.Payload(payload))...)
}

// TCP flags for TCPSeg.
const (
	FIN = 1 << iota
	SYN
	RST
	PSH
	ACK
)

// TCPSeg describes a TCP segment.
type TCPSeg struct {
	Sport, Dport uint16
	Seq, Ack     uint32
	Flags        uint8
	Window       uint16 // 65535 when 0
	Payload      []byte
}

// TCP builds a TCP segment over IPv4 or IPv6.
func TCP(e Eth, h IPHdr, s TCPSeg) []byte {
	ip, et, nl := ipLayer(h, layers.IPProtocolTCP)
	w := s.Window
	if w == 0 {
		w = 65535
	}
	t := &layers.TCP{SrcPort: layers.TCPPort(s.Sport), DstPort: layers.TCPPort(s.Dport),
		Seq: s.Seq, Ack: s.Ack, Window: w,
		FIN: s.Flags&FIN != 0, SYN: s.Flags&SYN != 0, RST: s.Flags&RST != 0,
		PSH: s.Flags&PSH != 0, ACK: s.Flags&ACK != 0}
	t.SetNetworkLayerForChecksum(nl)
	return Serialize(append(ethLayers(e, et), ip, t, gopacket.Payload(s.Payload))...)
}

// Ping builds an ICMP (IPv4) or ICMPv6 echo request (reply when reply is
// set) with identifier id and sequence seq.
func Ping(e Eth, h IPHdr, reply bool, id, seq uint16, payload []byte) []byte {
	src := netip.MustParseAddr(h.Src)
	if src.Is4() {
		ip, et, _ := ipLayer(h, layers.IPProtocolICMPv4)
		typ := uint8(layers.ICMPv4TypeEchoRequest)
		if reply {
			typ = layers.ICMPv4TypeEchoReply
		}
		ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: id, Seq: seq}
		return Serialize(append(ethLayers(e, et), ip, ic, gopacket.Payload(payload))...)
	}
	ip, et, nl := ipLayer(h, layers.IPProtocolICMPv6)
	typ := uint8(layers.ICMPv6TypeEchoRequest)
	if reply {
		typ = layers.ICMPv6TypeEchoReply
	}
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, 0)}
	ic.SetNetworkLayerForChecksum(nl)
	echo := &layers.ICMPv6Echo{Identifier: id, SeqNumber: seq}
	return Serialize(append(ethLayers(e, et), ip, ic, echo, gopacket.Payload(payload))...)
}

// Pad returns frame extended to n bytes with the given trailer byte, as a
// NIC pads short frames (or leaves a trailer behind the IP packet).
func Pad(frame []byte, n int, fill byte) []byte {
	out := append([]byte(nil), frame...)
	for len(out) < n {
		out = append(out, fill)
	}
	return out
}

// Hex parses hex digits pasted from a capture (spaces, newlines, colons and
// tcpdump's 0x0000: offsets are ignored) and panics on bad input.
func Hex(s string) []byte {
	var b strings.Builder
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimSpace(line)
		if i := strings.Index(line, ":"); i >= 0 && strings.HasPrefix(line, "0x") {
			line = line[i+1:]
		}
		for _, r := range line {
			switch {
			case r >= '0' && r <= '9', r >= 'a' && r <= 'f', r >= 'A' && r <= 'F':
				b.WriteRune(r)
			}
		}
	}
	out, err := hex.DecodeString(b.String())
	if err != nil {
		panic(fmt.Sprintf("pkt.Hex: %v", err))
	}
	return out
}

// Summary returns a one-line description of a frame in the manner of
// `tcpdump -e -n`: MACs, tags, then the innermost layers.
func Summary(frame []byte) string {
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	var parts []string
	for _, l := range p.Layers() {
		switch l := l.(type) {
		case *layers.Ethernet:
			parts = append(parts, fmt.Sprintf("%s > %s", l.SrcMAC, l.DstMAC))
		case *layers.Dot1Q:
			parts = append(parts, fmt.Sprintf("vlan %d p %d", l.VLANIdentifier, l.Priority))
		case *layers.ARP:
			op := "request"
			if l.Operation == 2 {
				op = "reply"
			}
			parts = append(parts, fmt.Sprintf("ARP %s who-has %v tell %v (%s)", op,
				net.IP(l.DstProtAddress), net.IP(l.SourceProtAddress), net.HardwareAddr(l.SourceHwAddress)))
		case *layers.IPv4:
			parts = append(parts, fmt.Sprintf("IP %v > %v ttl %d len %d id %d", l.SrcIP, l.DstIP, l.TTL, l.Length, l.Id))
		case *layers.IPv6:
			parts = append(parts, fmt.Sprintf("IP6 %v > %v hlim %d plen %d", l.SrcIP, l.DstIP, l.HopLimit, l.Length))
		case *layers.TCP:
			parts = append(parts, fmt.Sprintf("tcp %d > %d seq %d ack %d", l.SrcPort, l.DstPort, l.Seq, l.Ack))
		case *layers.UDP:
			parts = append(parts, fmt.Sprintf("udp %d > %d", l.SrcPort, l.DstPort))
		case *layers.ICMPv4:
			parts = append(parts, fmt.Sprintf("icmp %s", l.TypeCode))
		case *layers.ICMPv6:
			parts = append(parts, fmt.Sprintf("icmp6 %s", l.TypeCode))
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("undecodable %d bytes", len(frame))
	}
	return fmt.Sprintf("%s, length %d", strings.Join(parts, ", "), len(frame))
}
