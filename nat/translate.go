package nat

import (
	"encoding/binary"
	"net/netip"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// Translate4 rewrites IPv4 TCP or UDP packet p to source src:sport and
// destination dst:dport (addresses as big-endian words) in one pass: what
// RewriteSrc then RewriteDst do, with one delta summed for the IPv4 header
// checksum and one for the transport checksum. It is an established
// translated state's fast path. It reports false, changing nothing, for
// any other packet (IPv6, ICMP, a fragment without ports, a partial
// checksum); the caller then uses RewriteSrc and RewriteDst. It borrows p
// and does not allocate.
func Translate4(p *packet.Packet, src uint32, sport uint16, dst uint32, dport uint16) bool {
	m := &p.Meta
	if m.Kind != packet.KindIPv4 || m.L4 == 0 || p.GSO.NeedsCsum {
		return false
	}
	off := offTCPCsum
	switch m.Proto {
	case header.ProtoTCP:
	case header.ProtoUDP:
		off = offUDPCsum
	default:
		return false
	}
	b := p.Bytes()
	ip, t := b[m.L3:], b[m.L4:]
	if len(ip) < header.IPv4MinSize || len(t) < off+2 {
		return false
	}
	osrc, odst := binary.BigEndian.Uint32(ip[12:]), binary.BigEndian.Uint32(ip[16:])
	osp, odp := binary.BigEndian.Uint16(t[offSrcPort:]), binary.BigEndian.Uint16(t[offDstPort:])
	// RFC 1624 equation 3: HC' = ~(~HC + ~m + m') over every changed word.
	da := delta32(osrc, src) + delta32(odst, dst)
	ic := binary.BigEndian.Uint16(ip[10:])
	binary.BigEndian.PutUint16(ip[10:], ^fold(uint32(^ic)+da))
	c := binary.BigEndian.Uint16(t[off:])
	if m.Proto == header.ProtoTCP || c != 0 { // a UDP checksum of 0 (none) stays 0
		dp := uint32(^osp) + uint32(sport) + uint32(^odp) + uint32(dport)
		c = ^fold(uint32(^c) + da + dp)
		if c == 0 && m.Proto == header.ProtoUDP {
			c = 0xffff // the same sum; 0 would mean none (RFC 768)
		}
		binary.BigEndian.PutUint16(t[off:], c)
	}
	binary.BigEndian.PutUint32(ip[12:], src)
	binary.BigEndian.PutUint32(ip[16:], dst)
	binary.BigEndian.PutUint16(t[offSrcPort:], sport)
	binary.BigEndian.PutUint16(t[offDstPort:], dport)
	m.Flow.Src = netip.AddrPortFrom(addr4(src), sport)
	m.Flow.Dst = netip.AddrPortFrom(addr4(dst), dport)
	return true
}

// delta32 is ~old + new over the two 16-bit words of a 32-bit field.
func delta32(old, new uint32) uint32 {
	return uint32(^uint16(old>>16)) + uint32(^uint16(old)) + new>>16 + new&0xffff
}

// fold folds a 32-bit ones' complement sum to 16 bits.
func fold(s uint32) uint16 {
	s = s>>16 + s&0xffff
	s = s>>16 + s&0xffff
	return uint16(s)
}

func addr4(a uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
}
