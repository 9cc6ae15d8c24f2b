package packet

import (
	"testing"

	"github.com/hostnet/hostnet/dataplane/header"
)

// FuzzParse checks that Parse never panics, keeps its offsets inside the
// frame (checkParsed), agrees with gopacket on addresses, protocol and
// ports, and ignores bytes after the datagram: a parsed frame with a
// trailer appended parses the same.
func FuzzParse(f *testing.F) {
	f.Add(benchFrame(64))                                                                                                                        // TCP/IPv4, the common case
	f.Add(make([]byte, 13))                                                                                                                      // runt
	f.Add(pad(eth(header.EtherTypeLLDP), 60))                                                                                                    // other EtherType
	f.Add(pad(eth(38), 60))                                                                                                                      // 802.3 length, LLC
	f.Add(cat(eth(header.EtherTypeARP, stag, 200, ctag, 2001), arp()))                                                                           // QinQ ARP
	f.Add(cat(eth(header.EtherTypeIPv4, stag, 1, ctag, 2, ctag, 3), ipv4(17, 0, nil, nil)))                                                      // three tags
	f.Add(eth(header.EtherTypeIPv4, ctag, 5)[:17])                                                                                               // tag cut short
	f.Add(cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoUDP, 0, []byte{0x94, 4, 0, 0}, udp(53, 53, nil))))                                     // IPv4 options
	f.Add(cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoICMP, 0, nil, icmp(8, 0, 1, 1))))                                                      // ICMP echo
	f.Add(cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoTCP, 0x2000, nil, tcp(1, 2, 0, nil)[:8])))                                             // tiny first fragment
	f.Add(cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoTCP, 1, nil, make([]byte, 16))))                                                       // TCP at offset 8
	f.Add(cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoUDP, 0x2000|185, nil, make([]byte, 16))))                                              // middle fragment
	f.Add(cat(eth(header.EtherTypeIPv4), ihl(ipv4(header.ProtoUDP, 0, nil, udp(1, 2, nil)), 4)))                                                 // IHL 4
	f.Add(cat(eth(header.EtherTypeIPv4), ihl(ipv4(header.ProtoUDP, 0, nil, udp(1, 2, nil)), 15)))                                                // IHL 15 past the datagram
	f.Add(cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoTCP, tcp(1, 2, header.TCPFlagSYN, nil))))                                              // TCP/IPv6
	f.Add(cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoHopByHop, cat(ext(header.ProtoDstOpts, 1), ext(header.ProtoUDP, 2), udp(1, 2, nil))))) // ext chain
	f.Add(cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoAH, cat(ah(header.ProtoTCP), tcp(1, 2, 0, nil)))))                                     // AH
	f.Add(cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoFragment, cat(frag6(header.ProtoICMPv6, 0, true), icmp(128, 0, 1, 1)))))               // first fragment
	f.Add(cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoFragment, cat(frag6(header.ProtoTCP, 8, false), make([]byte, 8)))))                    // later fragment
	f.Add(cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoDstOpts, dstoptsChain(21, header.ProtoUDP))))                                          // chain too long
	f.Add(cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoESP, make([]byte, 16))))                                                               // ESP ends the walk
	f.Fuzz(func(t *testing.T, b []byte) {
		p := New()
		if len(b) > MaxFrame {
			b = b[:MaxFrame]
		}
		p.SetFrame(b)
		Parse(p)
		m := p.Meta
		if msg := checkParsed(b, m); msg != "" {
			t.Fatalf("Parse(%x) = %+v: %s", b, m, msg)
		}
		if msg := compareGopacket(b, m); msg != "" {
			t.Fatalf("Parse(%x) = %+v: %s", b, m, msg)
		}
		if m.Kind == KindUnknown || len(b)+8 > MaxFrame {
			return
		}
		// A trailer (padding, FCS) changes nothing.
		p.SetFrame(cat(b, []byte{0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0}))
		Parse(p)
		if p.Meta != m {
			t.Fatalf("Parse(%x + trailer) = %+v, want %+v as without", b, p.Meta, m)
		}
	})
}
