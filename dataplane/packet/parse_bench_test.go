package packet

import (
	"strconv"
	"testing"

	"github.com/hostnet/hostnet/dataplane/header"
)

// benchFrame returns an untagged TCP/IPv4 frame of n bytes (n >= 54): an
// ACK carrying n-54 bytes of payload.
func benchFrame(n int) []byte {
	payload := make([]byte, n-header.EthernetSize-header.IPv4MinSize-header.TCPMinSize)
	return cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoTCP, 0x4000, nil, tcp(40000, 443, header.TCPFlagACK, payload)))
}

func BenchmarkParse(b *testing.B) {
	for _, n := range []int{64, 512, 1500, 9001} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			p := New()
			p.SetFrame(benchFrame(n))
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				Parse(p)
			}
			if p.Meta.Kind != KindIPv4 {
				b.Fatalf("Parse(benchFrame(%d)) Kind = %v, want ipv4", n, p.Meta.Kind)
			}
		})
	}
}

// BenchmarkParseKinds measures Parse over the other common shapes.
func BenchmarkParseKinds(b *testing.B) {
	frames := []struct {
		name  string
		frame []byte
	}{
		{"udp6", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoUDP, udp(1, 2, make([]byte, 64))))},
		{"vlan-udp4", cat(eth(header.EtherTypeIPv4, ctag, 10), ipv4(header.ProtoUDP, 0, nil, udp(1, 2, make([]byte, 18))))},
		{"arp", pad(cat(eth(header.EtherTypeARP), arp()), 60)},
		{"ipv6-ext-frag", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoHopByHop, cat(ext(header.ProtoFragment, 1), frag6(header.ProtoUDP, 0, true), udp(1, 2, nil))))},
	}
	for _, f := range frames {
		b.Run(f.name, func(b *testing.B) {
			p := New()
			p.SetFrame(f.frame)
			b.ReportAllocs()
			b.SetBytes(int64(len(f.frame)))
			for b.Loop() {
				Parse(p)
			}
		})
	}
}
