package packet

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/hostnet/hostnet/dataplane/header"
)

// A small frame builder for the tables below. Each function returns the
// bytes of one header (and its payload); cat joins them.

var (
	macA = header.MAC{0x02, 0, 0, 0, 0, 0x0a}
	macB = header.MAC{0x02, 0, 0, 0, 0, 0x0b}
	v4A  = netip.MustParseAddr("10.0.0.1")
	v4B  = netip.MustParseAddr("10.0.0.2")
	v6A  = netip.MustParseAddr("2001:db8::a")
	v6B  = netip.MustParseAddr("2001:db8::b")
)

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// eth returns an Ethernet header with the given tags (TPID, TCI pairs)
// in front of EtherType typ.
func eth(typ uint16, tags ...uint16) []byte {
	b := make([]byte, 12, 14+2*len(tags))
	copy(b, macB[:])
	copy(b[6:], macA[:])
	for _, t := range tags {
		b = binary.BigEndian.AppendUint16(b, t)
	}
	return binary.BigEndian.AppendUint16(b, typ)
}

// ipv4 returns an IPv4 header with options opts followed by payload; the
// total length covers both. frag is the flags and offset word.
func ipv4(proto uint8, frag uint16, opts []byte, payload []byte) []byte {
	hl := header.IPv4MinSize + len(opts)
	b := make([]byte, hl+len(payload))
	h := header.IPv4(b)
	h.Encode(&header.IPv4Fields{
		TotalLen: uint16(len(b)), ID: 7, Flags: uint8(frag >> 13), FragOff: (frag & 0x1fff) << 3,
		TTL: 64, Protocol: proto, Src: v4A, Dst: v4B, Options: opts,
	})
	copy(b[hl:], payload)
	return b
}

// ipv6 returns an IPv6 header with next header nh followed by payload.
func ipv6(nh uint8, payload []byte) []byte {
	b := make([]byte, header.IPv6Size+len(payload))
	header.IPv6(b).Encode(&header.IPv6Fields{
		PayloadLen: uint16(len(payload)), NextHeader: nh, HopLimit: 64, Src: v6A, Dst: v6B,
	})
	copy(b[header.IPv6Size:], payload)
	return b
}

// ext returns an IPv6 extension header of type typ (hop-by-hop, routing,
// destination options) of n*8 bytes, padded with PadN.
func ext(nh uint8, n int) []byte {
	b := make([]byte, n*8)
	b[0] = nh
	b[1] = uint8(n - 1)
	b[2] = 1 // PadN
	b[3] = uint8(len(b) - 4)
	return b
}

// ah returns an authentication header with a 96-bit ICV (24 bytes).
func ah(nh uint8) []byte {
	b := make([]byte, 24)
	b[0] = nh
	b[1] = 4
	return b
}

// frag6 returns an IPv6 fragment header.
func frag6(nh uint8, off uint16, more bool) []byte {
	b := make([]byte, header.IPv6FragmentSize)
	header.IPv6Fragment(b).Encode(nh, off, more, 0x1234)
	return b
}

func tcp(sport, dport uint16, flags uint8, payload []byte) []byte {
	b := make([]byte, header.TCPMinSize+len(payload))
	header.TCP(b).Encode(&header.TCPFields{SrcPort: sport, DstPort: dport, Seq: 1, Flags: flags, Window: 512})
	copy(b[header.TCPMinSize:], payload)
	return b
}

func udp(sport, dport uint16, payload []byte) []byte {
	b := make([]byte, header.UDPSize+len(payload))
	header.UDP(b).Encode(sport, dport, uint16(len(b)), 0)
	copy(b[header.UDPSize:], payload)
	return b
}

// icmp returns an ICMP or ICMPv6 header: type, code, checksum 0 and the
// 4-byte rest of header (identifier and sequence for echo).
func icmp(typ, code uint8, id, seq uint16) []byte {
	return []byte{typ, code, 0, 0, byte(id >> 8), byte(id), byte(seq >> 8), byte(seq)}
}

// arp returns an ARP request for IPv4 over Ethernet.
func arp() []byte {
	b := []byte{0, 1, 8, 0, 6, 4, 0, 1}
	b = append(b, macA[:]...)
	b = append(b, v4A.AsSlice()...)
	b = append(b, make([]byte, 6)...)
	return append(b, v4B.AsSlice()...)
}

func pad(b []byte, n int) []byte {
	if len(b) >= n {
		return b
	}
	return append(b, make([]byte, n-len(b))...)
}

func flow(proto uint8, src, dst netip.Addr, sport, dport uint16) Flow {
	return Flow{Proto: proto, Src: netip.AddrPortFrom(src, sport), Dst: netip.AddrPortFrom(dst, dport)}
}

func parseBytes(b []byte) Parsed {
	p := New()
	p.SetFrame(b)
	Parse(p)
	return p.Meta
}

const (
	ctag = header.EtherTypeDot1Q
	stag = header.EtherTypeDot1AD
)

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
		want  Parsed
	}{
		// Ethernet and tags.
		{"runt", make([]byte, 13), Parsed{Drop: DropRunt}},
		{"empty", nil, Parsed{Drop: DropRunt}},
		{"header-only", eth(0x88b5), Parsed{Kind: KindOther, EtherType: 0x88b5, L3: 14}},
		{"lldp", pad(eth(header.EtherTypeLLDP), 60), Parsed{Kind: KindOther, EtherType: header.EtherTypeLLDP, L3: 14}},
		{"llc-802.3", pad(eth(38), 60), Parsed{Kind: KindOther, EtherType: 38, L3: 14}},
		{"arp", eth(header.EtherTypeARP, 0)[:0:0], Parsed{}}, // replaced below
		{"arp-short", cat(eth(header.EtherTypeARP), arp()[:27]),
			Parsed{EtherType: header.EtherTypeARP, L3: 14, Drop: DropMalformed}},
		{"arp-header-short", cat(eth(header.EtherTypeARP), arp()[:7]),
			Parsed{EtherType: header.EtherTypeARP, L3: 14, Drop: DropMalformed}},
		{"vlan-tcp", cat(eth(header.EtherTypeIPv4, ctag, 0x200a), ipv4(header.ProtoTCP, 0, nil, tcp(1000, 80, header.TCPFlagSYN, nil))),
			Parsed{Kind: KindIPv4, NTags: 1, Tags: [2]Tag{{ctag, 0x200a}}, EtherType: header.EtherTypeIPv4, L3: 18, L3Len: 40, L4: 38,
				Proto: header.ProtoTCP, TCPFlags: header.TCPFlagSYN, Flow: flow(header.ProtoTCP, v4A, v4B, 1000, 80)}},
		{"qinq-arp", cat(eth(header.EtherTypeARP, stag, 200, ctag, 2001), arp()),
			Parsed{Kind: KindARP, NTags: 2, Tags: [2]Tag{{stag, 200}, {ctag, 2001}}, EtherType: header.EtherTypeARP, L3: 22, L3Len: 28}},
		{"three-tags", cat(eth(header.EtherTypeIPv4, stag, 1, ctag, 2, ctag, 3), ipv4(header.ProtoUDP, 0, nil, udp(1, 2, nil))),
			Parsed{Kind: KindOther, NTags: 2, Tags: [2]Tag{{stag, 1}, {ctag, 2}}, EtherType: ctag, L3: 20}},
		{"tag-cut", eth(header.EtherTypeIPv4, ctag, 5)[:17], Parsed{Drop: DropMalformed}},
		{"tag-then-nothing", eth(header.EtherTypeIPv4, ctag, 5),
			Parsed{NTags: 1, Tags: [2]Tag{{ctag, 5}}, EtherType: header.EtherTypeIPv4, L3: 18, Drop: DropBadIPHeader}},

		// IPv4.
		{"tcp4-padded", pad(cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoTCP, 0, nil, tcp(1000, 80, header.TCPFlagACK|header.TCPFlagPSH, nil))), 60),
			Parsed{Kind: KindIPv4, EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 40, L4: 34, Proto: header.ProtoTCP,
				TCPFlags: header.TCPFlagACK | header.TCPFlagPSH, Flow: flow(header.ProtoTCP, v4A, v4B, 1000, 80)}},
		{"udp4-options", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoUDP, 0, []byte{0x94, 4, 0, 0}, udp(53, 5353, []byte("q")))),
			Parsed{Kind: KindIPv4, EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 33, L4: 38, Proto: header.ProtoUDP, HasOptions: true,
				Flow: flow(header.ProtoUDP, v4A, v4B, 53, 5353)}},
		{"icmp4-echo", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoICMP, 0, nil, icmp(8, 0, 0x4242, 1))),
			Parsed{Kind: KindIPv4, EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 28, L4: 34, Proto: header.ProtoICMP, ICMPType: 8,
				Flow: flow(header.ProtoICMP, v4A, v4B, 0x4242, 0x4242)}},
		{"icmp4-echo-reply", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoICMP, 0, nil, icmp(0, 0, 7, 1))),
			Parsed{Kind: KindIPv4, EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 28, L4: 34, Proto: header.ProtoICMP,
				Flow: flow(header.ProtoICMP, v4A, v4B, 7, 7)}},
		{"icmp4-unreachable", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoICMP, 0, nil, icmp(3, 1, 0x4242, 1))),
			Parsed{Kind: KindIPv4, EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 28, L4: 34, Proto: header.ProtoICMP, ICMPType: 3, ICMPCode: 1,
				Flow: flow(header.ProtoICMP, v4A, v4B, 0, 0)}},
		{"gre4", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoGRE, 0, nil, []byte{0, 0, 0x08, 0})),
			Parsed{Kind: KindIPv4, EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 24, L4: 34, Proto: header.ProtoGRE,
				Flow: flow(header.ProtoGRE, v4A, v4B, 0, 0)}},
		{"ipv4-no-payload", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoGRE, 0, nil, nil)),
			Parsed{Kind: KindIPv4, EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 20, Proto: header.ProtoGRE,
				Flow: flow(header.ProtoGRE, v4A, v4B, 0, 0)}},
		{"udp4-bad-length", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoUDP, 0, nil, udp(1, 2, nil)[:8:8])),
			Parsed{EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 28, Proto: header.ProtoUDP}}, // replaced below
		{"tcp4-truncated", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoTCP, 0, nil, tcp(1, 2, 0, nil)[:19])),
			Parsed{EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 39, Proto: header.ProtoTCP, Drop: DropMalformed}},
		{"tcp4-data-offset-16", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoTCP, 0, nil, dataOff(tcp(1, 2, 0, nil), 4))),
			Parsed{EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 40, Proto: header.ProtoTCP, Drop: DropMalformed}},
		{"tcp4-options-cut", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoTCP, 0, nil, dataOff(tcp(1, 2, 0, nil), 6))),
			Parsed{EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 40, Proto: header.ProtoTCP, Drop: DropMalformed}},
		{"tcp4-options", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoTCP, 0, nil, dataOff(tcp(1, 2, header.TCPFlagSYN, make([]byte, 4)), 6))),
			Parsed{Kind: KindIPv4, EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 44, L4: 34, Proto: header.ProtoTCP,
				TCPFlags: header.TCPFlagSYN, Flow: flow(header.ProtoTCP, v4A, v4B, 1, 2)}},
		{"icmp4-truncated", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoICMP, 0, nil, icmp(8, 0, 1, 1)[:4])),
			Parsed{EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 24, Proto: header.ProtoICMP, Drop: DropMalformed}},

		// IPv4 fragments.
		{"frag4-first", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoUDP, 0x2000, nil, udp(1, 2, make([]byte, 64))[:24])),
			Parsed{Kind: KindIPv4, EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 44, L4: 34, Proto: header.ProtoUDP,
				Frag: FragIsFragment | FragFirst | FragMore, Flow: flow(header.ProtoUDP, v4A, v4B, 1, 2)}},
		{"frag4-middle", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoUDP, 0x2000|185, nil, make([]byte, 16))),
			Parsed{Kind: KindIPv4, EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 36, Proto: header.ProtoUDP,
				Frag: FragIsFragment | FragMore, FragOff: 1480, Flow: flow(header.ProtoUDP, v4A, v4B, 0, 0)}},
		{"frag4-last", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoTCP, 370, nil, make([]byte, 16))),
			Parsed{Kind: KindIPv4, EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 36, Proto: header.ProtoTCP,
				Frag: FragIsFragment, FragOff: 2960, Flow: flow(header.ProtoTCP, v4A, v4B, 0, 0)}},
		{"frag4-tiny-tcp", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoTCP, 0x2000, nil, tcp(1, 2, 0, nil)[:16])),
			Parsed{EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 36, Proto: header.ProtoTCP,
				Frag: FragIsFragment | FragFirst | FragMore, Drop: DropTinyFragment}},
		{"frag4-tiny-tcp-options", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoTCP, 0x2000, nil, cat([]byte{0, 1, 0, 2}, make([]byte, 8), []byte{0x70}, make([]byte, 11)))), // data offset 28 > 24
			Parsed{EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 44, Proto: header.ProtoTCP,
				Frag: FragIsFragment | FragFirst | FragMore, Drop: DropTinyFragment}},
		{"frag4-tiny-icmp", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoICMP, 0x2000, nil, icmp(8, 0, 1, 1)[:4])),
			Parsed{EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 24, Proto: header.ProtoICMP,
				Frag: FragIsFragment | FragFirst | FragMore, Drop: DropTinyFragment}},
		{"frag4-tcp-offset-8", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoTCP, 1, nil, make([]byte, 16))),
			Parsed{EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 36, Proto: header.ProtoTCP,
				Frag: FragIsFragment, FragOff: 8, Drop: DropTinyFragment}},
		{"frag4-udp-offset-8", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoUDP, 1, nil, make([]byte, 16))),
			Parsed{Kind: KindIPv4, EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 36, Proto: header.ProtoUDP,
				Frag: FragIsFragment, FragOff: 8, Flow: flow(header.ProtoUDP, v4A, v4B, 0, 0)}},
		{"df-is-not-fragment", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoUDP, 0x4000, nil, udp(1, 2, nil))),
			Parsed{Kind: KindIPv4, EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 28, L4: 34, Proto: header.ProtoUDP,
				Flow: flow(header.ProtoUDP, v4A, v4B, 1, 2)}},

		// IPv4 headers that fail ipv4_check.
		{"ipv4-ihl4", cat(eth(header.EtherTypeIPv4), ihl(ipv4(header.ProtoUDP, 0, nil, udp(1, 2, nil)), 4)),
			Parsed{EtherType: header.EtherTypeIPv4, L3: 14, Drop: DropBadIPHeader}},
		{"ipv4-version6", cat(eth(header.EtherTypeIPv4), ipv6(header.ProtoUDP, udp(1, 2, nil))),
			Parsed{EtherType: header.EtherTypeIPv4, L3: 14, Drop: DropBadIPHeader}},
		{"ipv4-total-beyond-frame", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoUDP, 0, nil, udp(1, 2, make([]byte, 10))))[:50],
			Parsed{EtherType: header.EtherTypeIPv4, L3: 14, Drop: DropBadIPHeader}},
		{"ipv4-total-below-header", cat(eth(header.EtherTypeIPv4), totalLen(ipv4(header.ProtoUDP, 0, nil, udp(1, 2, nil)), 19)),
			Parsed{EtherType: header.EtherTypeIPv4, L3: 14, Drop: DropBadIPHeader}},
		{"ipv4-header-cut", cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoUDP, 0, nil, nil)[:19]),
			Parsed{EtherType: header.EtherTypeIPv4, L3: 14, Drop: DropBadIPHeader}},
		{"ipv4-options-cut", cat(eth(header.EtherTypeIPv4), ihl(ipv4(header.ProtoUDP, 0, nil, nil), 6)),
			Parsed{EtherType: header.EtherTypeIPv4, L3: 14, Drop: DropBadIPHeader}},

		// IPv6.
		{"tcp6", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoTCP, tcp(443, 50000, header.TCPFlagFIN|header.TCPFlagACK, []byte("bye")))),
			Parsed{Kind: KindIPv6, EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 63, L4: 54, Proto: header.ProtoTCP,
				TCPFlags: header.TCPFlagFIN | header.TCPFlagACK, Flow: flow(header.ProtoTCP, v6A, v6B, 443, 50000)}},
		{"udp6-hbh-dstopts", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoHopByHop, cat(ext(header.ProtoDstOpts, 1), ext(header.ProtoUDP, 2), udp(546, 547, nil)))),
			Parsed{Kind: KindIPv6, EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 72, L4: 78, Proto: header.ProtoUDP, HasOptions: true,
				Flow: flow(header.ProtoUDP, v6A, v6B, 546, 547)}},
		{"udp6-routing", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoRouting, cat(ext(header.ProtoUDP, 3), udp(1, 2, nil)))),
			Parsed{Kind: KindIPv6, EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 72, L4: 78, Proto: header.ProtoUDP,
				Flow: flow(header.ProtoUDP, v6A, v6B, 1, 2)}},
		{"tcp6-ah", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoAH, cat(ah(header.ProtoTCP), tcp(22, 2222, header.TCPFlagRST, nil)))),
			Parsed{Kind: KindIPv6, EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 84, L4: 78, Proto: header.ProtoTCP,
				TCPFlags: header.TCPFlagRST, Flow: flow(header.ProtoTCP, v6A, v6B, 22, 2222)}},
		{"esp6", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoESP, make([]byte, 16))),
			Parsed{Kind: KindIPv6, EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 56, L4: 54, Proto: header.ProtoESP,
				Flow: flow(header.ProtoESP, v6A, v6B, 0, 0)}},
		{"no-next6", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoDstOpts, ext(header.ProtoNoNext, 1))),
			Parsed{Kind: KindIPv6, EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 48, Proto: header.ProtoNoNext, HasOptions: true,
				Flow: flow(header.ProtoNoNext, v6A, v6B, 0, 0)}},
		{"icmp6-echo", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoICMPv6, icmp(128, 0, 0x99, 3))),
			Parsed{Kind: KindIPv6, EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 48, L4: 54, Proto: header.ProtoICMPv6, ICMPType: 128,
				Flow: flow(header.ProtoICMPv6, v6A, v6B, 0x99, 0x99)}},
		{"icmp6-echo-reply", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoICMPv6, icmp(129, 0, 0x99, 3))),
			Parsed{Kind: KindIPv6, EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 48, L4: 54, Proto: header.ProtoICMPv6, ICMPType: 129,
				Flow: flow(header.ProtoICMPv6, v6A, v6B, 0x99, 0x99)}},
		{"icmp6-ns", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoICMPv6, cat(icmp(135, 0, 0, 0), v6B.AsSlice()))),
			Parsed{Kind: KindIPv6, EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 64, L4: 54, Proto: header.ProtoICMPv6, ICMPType: 135,
				Flow: flow(header.ProtoICMPv6, v6A, v6B, 0, 0)}},
		{"icmp4-in-ipv6", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoICMP, icmp(8, 0, 5, 5))),
			Parsed{Kind: KindIPv6, EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 48, L4: 54, Proto: header.ProtoICMP,
				Flow: flow(header.ProtoICMP, v6A, v6B, 0, 0)}},
		{"ipv6-payload-beyond-frame", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoUDP, udp(1, 2, make([]byte, 10))))[:70],
			Parsed{EtherType: header.EtherTypeIPv6, L3: 14, Drop: DropBadIPHeader}},
		{"ipv6-version4", cat(eth(header.EtherTypeIPv6), pad(ipv4(header.ProtoUDP, 0, nil, udp(1, 2, nil)), 40)),
			Parsed{EtherType: header.EtherTypeIPv6, L3: 14, Drop: DropBadIPHeader}},
		{"ipv6-header-cut", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoUDP, nil)[:39]),
			Parsed{EtherType: header.EtherTypeIPv6, L3: 14, Drop: DropBadIPHeader}},
		{"ipv6-hbh-second", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoDstOpts, cat(ext(header.ProtoHopByHop, 1), ext(header.ProtoUDP, 1), udp(1, 2, nil)))),
			Parsed{EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 64, HasOptions: true, Drop: DropMalformed}},
		{"ipv6-ext-cut", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoDstOpts, ext(header.ProtoUDP, 2)[:12])),
			Parsed{EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 52, HasOptions: true, Drop: DropMalformed}},
		{"ipv6-ext-under-8", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoRouting, []byte{header.ProtoUDP, 0, 0, 0})),
			Parsed{EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 44, Drop: DropMalformed}},
		{"ipv6-udp-cut", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoUDP, udp(1, 2, nil)[:7])),
			Parsed{EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 47, Proto: header.ProtoUDP, Drop: DropMalformed}},
		{"ipv6-too-many-ext", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoDstOpts, dstoptsChain(21, header.ProtoUDP))),
			Parsed{EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 40 + 21*8 + 8, HasOptions: true, Drop: DropMalformed}},
		{"ipv6-20-ext", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoDstOpts, dstoptsChain(20, header.ProtoUDP))),
			Parsed{Kind: KindIPv6, EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 40 + 20*8 + 8, L4: 14 + 40 + 160, Proto: header.ProtoUDP, HasOptions: true,
				Flow: flow(header.ProtoUDP, v6A, v6B, 1, 2)}},

		// IPv6 fragments.
		{"frag6-first", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoFragment, cat(frag6(header.ProtoICMPv6, 0, true), icmp(128, 0, 0x77, 1), make([]byte, 8)))),
			Parsed{Kind: KindIPv6, EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 64, L4: 62, Proto: header.ProtoICMPv6, ICMPType: 128,
				Frag: FragIsFragment | FragFirst | FragMore, Flow: flow(header.ProtoICMPv6, v6A, v6B, 0x77, 0x77)}},
		{"frag6-last", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoFragment, cat(frag6(header.ProtoICMPv6, 1448, false), make([]byte, 16)))),
			Parsed{Kind: KindIPv6, EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 64, Proto: header.ProtoICMPv6,
				Frag: FragIsFragment, FragOff: 1448, Flow: flow(header.ProtoICMPv6, v6A, v6B, 0, 0)}},
		{"frag6-after-routing", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoRouting, cat(ext(header.ProtoFragment, 1), frag6(header.ProtoTCP, 8, true), make([]byte, 8)))),
			Parsed{Kind: KindIPv6, EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 64, Proto: header.ProtoTCP,
				Frag: FragIsFragment | FragMore, FragOff: 8, Flow: flow(header.ProtoTCP, v6A, v6B, 0, 0)}},
		{"frag6-atomic", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoFragment, cat(frag6(header.ProtoUDP, 0, false), udp(7, 9, nil)))),
			Parsed{Kind: KindIPv6, EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 56, L4: 62, Proto: header.ProtoUDP,
				Flow: flow(header.ProtoUDP, v6A, v6B, 7, 9)}},
		{"frag6-tiny-tcp", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoFragment, cat(frag6(header.ProtoTCP, 0, true), tcp(1, 2, 0, nil)[:8]))),
			Parsed{EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 56, Proto: header.ProtoTCP,
				Frag: FragIsFragment | FragFirst | FragMore, Drop: DropTinyFragment}},
		{"frag6-chain-cut", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoFragment, cat(frag6(header.ProtoDstOpts, 0, true), ext(header.ProtoTCP, 2)[:8]))),
			Parsed{EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 56, HasOptions: true,
				Frag: FragIsFragment | FragFirst | FragMore, Drop: DropTinyFragment}},
		{"frag6-chain-cut-short", cat(eth(header.EtherTypeIPv6), ipv6(header.ProtoFragment, cat(frag6(header.ProtoDstOpts, 0, true), make([]byte, 4)))),
			Parsed{EtherType: header.EtherTypeIPv6, L3: 14, L3Len: 52,
				Frag: FragIsFragment | FragFirst | FragMore, Drop: DropTinyFragment}},
	}
	// Cases whose frames read better built here.
	for i := range tests {
		switch tests[i].name {
		case "arp":
			tests[i].frame = pad(cat(eth(header.EtherTypeARP), arp()), 60)
			tests[i].want = Parsed{Kind: KindARP, EtherType: header.EtherTypeARP, L3: 14, L3Len: 28}
		case "udp4-bad-length":
			u := udp(1, 2, nil)
			binary.BigEndian.PutUint16(u[4:], 9) // longer than the IP payload
			tests[i].frame = cat(eth(header.EtherTypeIPv4), ipv4(header.ProtoUDP, 0, nil, u))
			tests[i].want = Parsed{EtherType: header.EtherTypeIPv4, L3: 14, L3Len: 28, Proto: header.ProtoUDP, Drop: DropMalformed}
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseBytes(tc.frame); got != tc.want {
				t.Errorf("Parse(%x) =\n%+v, want\n%+v", tc.frame, got, tc.want)
			}
		})
	}
}

// ihl rewrites an IPv4 header's IHL to n words.
func ihl(b []byte, n uint8) []byte {
	b[0] = 4<<4 | n
	return b
}

// dataOff rewrites a TCP header's data offset to n words.
func dataOff(b []byte, n uint8) []byte {
	b[12] = n << 4
	return b
}

// totalLen rewrites an IPv4 header's total length.
func totalLen(b []byte, n uint16) []byte {
	binary.BigEndian.PutUint16(b[2:], n)
	return b
}

// dstoptsChain returns n destination options headers of 8 bytes each,
// then a UDP header.
func dstoptsChain(n int, last uint8) []byte {
	var b []byte
	for i := range n {
		nh := header.ProtoDstOpts
		if i == n-1 {
			nh = last
		}
		b = append(b, ext(nh, 1)...)
	}
	return append(b, udp(1, 2, nil)...)
}

// TestParseResets checks that Parse clears what an earlier Parse of the
// same packet left.
func TestParseResets(t *testing.T) {
	p := New()
	p.SetFrame(cat(eth(header.EtherTypeIPv4, ctag, 7), ipv4(header.ProtoTCP, 0, []byte{1, 1, 1, 1}, tcp(1, 2, header.TCPFlagSYN, nil))))
	Parse(p)
	if p.Meta.Kind != KindIPv4 {
		t.Fatalf("Parse(tagged tcp) Kind = %v, want ipv4", p.Meta.Kind)
	}
	frame := pad(eth(header.EtherTypeLLDP), 60)
	copy(p.Bytes(), frame)
	p.SetLen(len(frame))
	Parse(p)
	if want := (Parsed{Kind: KindOther, EtherType: header.EtherTypeLLDP, L3: 14}); p.Meta != want {
		t.Errorf("Parse(lldp after tcp) = %+v, want %+v", p.Meta, want)
	}
}

func TestTag(t *testing.T) {
	tests := []struct {
		tci uint16
		vid uint16
		pcp uint8
	}{
		{0x000a, 10, 0},
		{0xf0c8, 200, 7},
		{0x3fff, 4095, 1},
	}
	for _, tc := range tests {
		tag := Tag{TPID: ctag, TCI: tc.tci}
		if tag.VID() != tc.vid || tag.PCP() != tc.pcp {
			t.Errorf("Tag{TCI: %#04x}: VID, PCP = %d, %d, want %d, %d", tc.tci, tag.VID(), tag.PCP(), tc.vid, tc.pcp)
		}
		if h := header.Dot1Q([]byte{0x81, 0, byte(tc.tci >> 8), byte(tc.tci)}); uint16(h.VID()) != tag.VID() || h.PCP() != tag.PCP() {
			t.Errorf("Tag{TCI: %#04x} disagrees with header.Dot1Q: VID %d, PCP %d", tc.tci, h.VID(), h.PCP())
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindUnknown: "unknown", KindOther: "other", KindARP: "arp", KindIPv4: "ipv4", KindIPv6: "ipv6", 99: "Kind(?)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(k), got, want)
		}
	}
}
