package header_test

import (
	"fmt"
	"net/netip"

	"github.com/hostnet/hostnet/dataplane/header"
)

// A NAT rewrite of a UDP datagram's source address and port, with the IPv4
// header checksum and the UDP checksum updated incrementally (RFC 1624)
// rather than recomputed over the payload.
func ExampleUpdateAddr() {
	b := make([]byte, header.IPv4MinSize+header.UDPSize+4)
	ip := header.IPv4(b)
	ip.Encode(&header.IPv4Fields{
		TotalLen: uint16(len(b)), TTL: 64, Protocol: header.ProtoUDP,
		Src: netip.MustParseAddr("10.50.0.7"), Dst: netip.MustParseAddr("192.0.2.1"),
	})
	udp := header.UDP(ip.Payload())
	udp.Encode(40000, 53, uint16(len(udp)), 0)
	copy(udp[header.UDPSize:], "ping")
	udp.SetChecksum(udp.ComputeChecksum(ip.PseudoHeaderChecksum()))

	newSrc := netip.MustParseAddr("203.0.113.5")
	ip.SetChecksum(header.UpdateAddr(ip.Checksum(), ip.Src(), newSrc))
	c := header.UpdateAddr(udp.Checksum(), ip.Src(), newSrc)
	udp.SetChecksum(header.Update16(c, udp.SrcPort(), 61000))
	ip.SetSrc(newSrc)
	udp.SetSrcPort(61000)

	fmt.Println(ip.Src(), udp.SrcPort())
	fmt.Println("IPv4 checksum valid:", ip.IsChecksumValid())
	fmt.Println("UDP checksum valid:", header.Checksum(udp, ip.PseudoHeaderChecksum()) == 0xffff)
	// Output:
	// 203.0.113.5 61000
	// IPv4 checksum valid: true
	// UDP checksum valid: true
}

// Decrementing the TTL of a forwarded datagram keeps its header checksum
// right without summing the header again.
func ExampleIPv4_DecTTL() {
	ip := header.IPv4(make([]byte, header.IPv4MinSize))
	ip.Encode(&header.IPv4Fields{
		TotalLen: header.IPv4MinSize, TTL: 64, Protocol: header.ProtoICMP,
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"),
	})
	ip.DecTTL()
	fmt.Println(ip.TTL(), ip.IsChecksumValid())
	// Output: 63 true
}
