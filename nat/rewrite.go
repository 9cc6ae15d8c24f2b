package nat

import (
	"encoding/binary"
	"net/netip"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// Offsets of the fields a rewrite touches, from the start of the transport
// header (RFC 793 section 3.1, RFC 768, RFC 792, RFC 4443 section 2.1).
const (
	offSrcPort   = 0 // TCP and UDP
	offDstPort   = 2 // TCP and UDP
	offUDPCsum   = 6
	offTCPCsum   = 16
	offICMPCsum  = 2
	offICMPIdent = 4 // echo request and reply
)

// RewriteSrc rewrites p's source address to addr and its source port to
// port, updating every checksum that covers them incrementally (RFC 1624)
// and p.Meta.Flow. p must have been parsed (packet.Parse) and its offsets
// must still hold. It borrows p and does not allocate.
//
// What changes, by protocol:
//
//   - the IPv4 header checksum, for an IPv4 address;
//   - TCP and UDP: the port and the checksum (the pseudo-header holds the
//     address); a UDP checksum of 0 (none sent) stays 0;
//   - ICMP and ICMPv6 echo request and reply: port is the identifier (both
//     of Flow's ports hold it, so RewriteSrc and RewriteDst set the same
//     field); the ICMPv6 checksum covers the address through its
//     pseudo-header, the ICMPv4 one does not;
//   - other ICMP messages and other protocols: the address only. An ICMP
//     error is rewritten inside and out by RewriteErrorSrc and
//     RewriteErrorDst instead.
//
// A non-first fragment carries no transport header: only its address is
// rewritten; the transport checksum, in the first fragment, is right once
// every fragment of the datagram got the same rewrite. A frame with a
// partial checksum (p.GSO.NeedsCsum, the checksum start at the transport
// header) holds in its checksum field the uncomplemented sum of the
// pseudo-header only, as a virtio-net header promises: the address change
// is applied to that sum as a sum, and the port change not at all (the
// port is summed when the checksum is completed).
//
// It reports false, changing nothing, when p is not an IPv4 or IPv6 packet
// of addr's family.
func RewriteSrc(p *packet.Packet, addr netip.Addr, port uint16) bool {
	return rewrite(p, addr, port, true)
}

// RewriteDst is RewriteSrc for the destination address and port.
func RewriteDst(p *packet.Packet, addr netip.Addr, port uint16) bool {
	return rewrite(p, addr, port, false)
}

func rewrite(p *packet.Packet, addr netip.Addr, port uint16, src bool) bool {
	m := &p.Meta
	b := p.Bytes()
	old := m.Flow.Dst
	if src {
		old = m.Flow.Src
	}
	oa := old.Addr()
	addr = addr.WithZone("")
	// d is the address change as RFC 1624's ~m + m', summed once and
	// applied to every checksum that covers the address.
	var d uint16
	switch m.Kind {
	case packet.KindIPv4:
		if !addr.Is4() || !oa.Is4() {
			return false
		}
		ip := header.IPv4(b[m.L3:])
		if addr != oa {
			d = addrDelta(oa, addr)
			ip.SetChecksum(applyDelta(ip.Checksum(), d))
			if src {
				ip.SetSrc(addr)
			} else {
				ip.SetDst(addr)
			}
		}
	case packet.KindIPv6:
		if !addr.Is6() || !oa.Is6() {
			return false
		}
		ip := header.IPv6(b[m.L3:])
		if addr != oa {
			d = addrDelta(oa, addr)
			if src {
				ip.SetSrc(addr)
			} else {
				ip.SetDst(addr)
			}
		}
	default:
		return false
	}
	if m.L4 == 0 {
		// No transport header here: a non-first fragment, or a datagram
		// with no payload. The address is all there is to change.
		setFlow(m, src, netip.AddrPortFrom(addr, old.Port()))
		return true
	}
	t := b[m.L4:]
	op := old.Port()
	proto := m.Proto
	if proto == header.ProtoICMP && m.Kind != packet.KindIPv4 || proto == header.ProtoICMPv6 && m.Kind != packet.KindIPv6 {
		// ICMP of the other family: Parse did not read it, and neither
		// does pf; only the address changes.
		proto = 0
	}
	switch proto {
	case header.ProtoTCP:
		partial := isPartial(p, offTCPCsum)
		c := binary.BigEndian.Uint16(t[offTCPCsum:])
		c = fixAddr(c, d, partial)
		if !partial && port != op {
			c = header.Update16(c, op, port)
		}
		binary.BigEndian.PutUint16(t[offTCPCsum:], c)
		putPort(t, src, port)
	case header.ProtoUDP:
		partial := isPartial(p, offUDPCsum)
		c := binary.BigEndian.Uint16(t[offUDPCsum:])
		// RFC 768: 0 means the sender computed no checksum; it stays
		// so. Over IPv6 a 0 is only legal for tunnels (RFC 6935); it is
		// left alone there too rather than turned into a wrong value.
		if c != 0 || partial {
			c = fixAddr(c, d, partial)
			if !partial && port != op {
				c = header.Update16(c, op, port)
			}
			if c == 0 && !partial {
				c = 0xffff // the same sum; 0 would mean none (RFC 768)
			}
			binary.BigEndian.PutUint16(t[offUDPCsum:], c)
		}
		putPort(t, src, port)
	case header.ProtoICMP:
		if !isEchoType(m.Proto, m.ICMPType) {
			port = op
			break
		}
		if port != op {
			c := binary.BigEndian.Uint16(t[offICMPCsum:])
			binary.BigEndian.PutUint16(t[offICMPCsum:], header.Update16(c, op, port))
			binary.BigEndian.PutUint16(t[offICMPIdent:], port)
		}
		m.Flow.Src = netip.AddrPortFrom(m.Flow.Src.Addr(), port)
		m.Flow.Dst = netip.AddrPortFrom(m.Flow.Dst.Addr(), port)
	case header.ProtoICMPv6:
		c := binary.BigEndian.Uint16(t[offICMPCsum:])
		c = applyDelta(c, d) // the pseudo-header
		if isEchoType(m.Proto, m.ICMPType) {
			if port != op {
				c = header.Update16(c, op, port)
				binary.BigEndian.PutUint16(t[offICMPIdent:], port)
			}
			m.Flow.Src = netip.AddrPortFrom(m.Flow.Src.Addr(), port)
			m.Flow.Dst = netip.AddrPortFrom(m.Flow.Dst.Addr(), port)
		} else {
			port = op
		}
		binary.BigEndian.PutUint16(t[offICMPCsum:], c)
	default:
		port = op // no ports to rewrite
	}
	setFlow(m, src, netip.AddrPortFrom(addr, port))
	return true
}

// setFlow stores the new source or destination of m's flow.
func setFlow(m *packet.Parsed, src bool, ap netip.AddrPort) {
	if src {
		m.Flow.Src = ap
	} else {
		m.Flow.Dst = ap
	}
}

// putPort writes a TCP or UDP source or destination port.
func putPort(t []byte, src bool, port uint16) {
	if src {
		binary.BigEndian.PutUint16(t[offSrcPort:], port)
	} else {
		binary.BigEndian.PutUint16(t[offDstPort:], port)
	}
}

// isPartial reports whether p's transport checksum at offset field of the
// transport header is a partial one: the frame asks for its checksum to be
// completed (VIRTIO_NET_HDR_F_NEEDS_CSUM) from the transport header on,
// into that field.
func isPartial(p *packet.Packet, field uint16) bool {
	g := &p.GSO
	return g.NeedsCsum && g.CsumStart == p.Meta.L4 && g.CsumOffset == field
}

// PartialTCP reports whether p's TCP checksum is a partial one (see
// RewriteSrc): its field holds the pseudo-header's sum, and a change to
// the TCP header or payload must leave it alone, as the completion sums
// the new bytes.
func PartialTCP(p *packet.Packet) bool { return isPartial(p, offTCPCsum) }

// fixAddr returns checksum field c after an address it covers (through the
// pseudo-header) changes by delta d (addrDelta). A partial checksum field
// holds the sum itself, not its complement, so the change is added to the
// sum.
func fixAddr(c, d uint16, partial bool) uint16 {
	if partial {
		return header.Combine(c, d)
	}
	return applyDelta(c, d)
}

// addrDelta returns the ones' complement sum of ~m + m' over the 16-bit
// words of an address changing from old to new (RFC 1624 equation 3), so
// that one sum serves every checksum covering the address; 0 when they
// are equal.
func addrDelta(old, new netip.Addr) uint16 {
	if old == new {
		return 0
	}
	return ^header.UpdateAddr(0xffff, old, new)
}

// applyDelta returns checksum field c after the data it covers changed by
// d (addrDelta): HC' = ~(~HC + d).
func applyDelta(c, d uint16) uint16 {
	return ^header.Combine(^c, d)
}

// isEchoType reports whether an ICMP (proto ProtoICMP) or ICMPv6 type is an
// echo request or reply, whose identifier plays the part of a port.
func isEchoType(proto, typ uint8) bool {
	if proto == header.ProtoICMP {
		return header.ICMPv4Type(typ) == header.ICMPv4Echo || header.ICMPv4Type(typ) == header.ICMPv4EchoReply
	}
	return header.ICMPv6Type(typ) == header.ICMPv6EchoRequest || header.ICMPv6Type(typ) == header.ICMPv6EchoReply
}
