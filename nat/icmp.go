package nat

import (
	"encoding/binary"
	"net/netip"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// An ICMP or ICMPv6 error quotes the packet that caused it (RFC 792, RFC
// 4443 section 2.4): the message's 8-byte header, then the quoted IP
// header and at least the first 8 bytes of what followed it:
//
//	outer IP | ICMP type code csum unused | quoted IP | quoted transport (>= 8 bytes) ...
//	         ^ Meta.L4                    ^ Inner.L3  ^ Inner.L4
//
// pf trusts only the first 8 bytes of a quoted TCP header (ports and
// sequence number) and of a UDP or ICMP one; so does ParseInner.

// maxInnerExtHeaders bounds the walk of a quoted IPv6 header chain, as
// packet.Parse bounds the outer one.
const maxInnerExtHeaders = 20

// Offsets in a quoted IP header.
const (
	offIPv4Csum = 10
	offIPv4Src  = 12
	offIPv4Dst  = 16
	offIPv6Src  = 8
	offIPv6Dst  = 24
)

// Inner is the packet quoted by an ICMP or ICMPv6 error, as ParseInner
// finds it. Its offsets are into the frame, like packet.Parsed's.
type Inner struct {
	// Flow is the quoted packet's protocol, addresses and ports as it was
	// sent: its source is where the error is going back to. For a quoted
	// ICMP or ICMPv6 echo both ports hold the identifier; for other
	// protocols without ports they are 0.
	Flow packet.Flow
	// L3 is the offset of the quoted IP header, L4 that of its transport
	// header (8 bytes of which are present for TCP, UDP, ICMP and ICMPv6;
	// for other protocols L4 may be at the end of the quote).
	L3, L4 uint16
	// ICMPType is the type of a quoted ICMP or ICMPv6 message.
	ICMPType uint8
	// Seq is the quoted TCP sequence number, for pf's window check.
	Seq uint32
}

// IsICMPError reports whether p (parsed) is an ICMP error (destination
// unreachable, source quench, redirect, time exceeded, parameter problem)
// or an ICMPv6 error (types 0-127) with its header in the frame.
func IsICMPError(p *packet.Packet) bool {
	m := &p.Meta
	if m.L4 == 0 {
		return false
	}
	switch m.Kind {
	case packet.KindIPv4:
		return m.Proto == header.ProtoICMP && header.ICMPv4Type(m.ICMPType).IsError()
	case packet.KindIPv6:
		return m.Proto == header.ProtoICMPv6 && header.ICMPv6Type(m.ICMPType).IsError()
	}
	return false
}

// ParseInner decodes the packet quoted by the ICMP or ICMPv6 error p,
// which must have been parsed (packet.Parse), so that pf can look up the
// state of the quoted flow. It borrows p and does not allocate.
//
// It reports false when p is not an ICMP error (IsICMPError), or the quote
// is unusable as pf finds it (pf_test_state_icmp): a quoted IP header
// that is cut short, of the other family, or of a non-first fragment (an
// error never refers to one, RFC 792), an IPv6 header chain that is
// malformed or cut, or fewer than 8 bytes of a quoted TCP, UDP, ICMP or
// ICMPv6 header. pf also requires the quoted source to equal the outer
// destination; that check, like the state lookup, is the caller's.
func ParseInner(p *packet.Packet) (Inner, bool) {
	var in Inner
	if !IsICMPError(p) {
		return in, false
	}
	m := &p.Meta
	b := p.Bytes()
	end := int(m.L3) + int(m.L3Len) // the outer datagram's end, not the frame's
	if end > len(b) {
		return in, false
	}
	off := int(m.L4) + header.ICMPv4MinSize // same for ICMPv6
	if off > end {
		return in, false
	}
	q := b[off:end]
	var proto uint8
	var src, dst netip.Addr
	l4 := 0
	if m.Kind == packet.KindIPv4 {
		if len(q) < header.IPv4MinSize || q[0]>>4 != 4 {
			return in, false
		}
		hl := int(q[0]&0x0f) * 4
		if hl < header.IPv4MinSize || hl > len(q) {
			return in, false
		}
		if binary.BigEndian.Uint16(q[6:])&0x1fff != 0 {
			return in, false // a non-first fragment
		}
		proto = q[9]
		src = netip.AddrFrom4([4]byte(q[offIPv4Src : offIPv4Src+4]))
		dst = netip.AddrFrom4([4]byte(q[offIPv4Dst : offIPv4Dst+4]))
		l4 = hl
		if proto == header.ProtoICMPv6 {
			return in, false
		}
	} else {
		if len(q) < header.IPv6Size || q[0]>>4 != 6 {
			return in, false
		}
		src = netip.AddrFrom16([16]byte(q[offIPv6Src : offIPv6Src+16]))
		dst = netip.AddrFrom16([16]byte(q[offIPv6Dst : offIPv6Dst+16]))
		nh := q[6]
		l4 = header.IPv6Size
		for i := 0; ; i++ {
			if !header.IsIPv6ExtHeader(nh) {
				break
			}
			// A quoted chain gets the bounds the outer one gets.
			if i == maxInnerExtHeaders || len(q)-l4 < 8 {
				return in, false
			}
			e := q[l4:]
			if nh == header.ProtoFragment && binary.BigEndian.Uint16(e[2:])&^7 != 0 {
				return in, false // a non-first fragment
			}
			n := header.IPv6ExtHeaderLen(nh, e)
			if n > len(e) {
				return in, false
			}
			nh = e[0]
			l4 += n
		}
		proto = nh
		if proto == header.ProtoICMP {
			return in, false
		}
	}
	if off+l4 > 0xffff {
		// Offsets are 16 bits, as packet.Parsed's; only a hostile
		// 64 KB error with a long quoted header chain gets here.
		return in, false
	}
	t := q[l4:]
	var sport, dport uint16
	switch proto {
	case header.ProtoTCP, header.ProtoUDP:
		if len(t) < 8 {
			return in, false
		}
		sport = binary.BigEndian.Uint16(t[offSrcPort:])
		dport = binary.BigEndian.Uint16(t[offDstPort:])
		if proto == header.ProtoTCP {
			in.Seq = binary.BigEndian.Uint32(t[4:])
		}
	case header.ProtoICMP, header.ProtoICMPv6:
		if len(t) < 8 {
			return in, false
		}
		in.ICMPType = t[0]
		if isEchoType(proto, t[0]) {
			sport = binary.BigEndian.Uint16(t[offICMPIdent:])
			dport = sport
		}
	}
	in.L3 = uint16(off)
	in.L4 = uint16(off + l4)
	in.Flow.Proto = proto
	in.Flow.Src = netip.AddrPortFrom(src, sport)
	in.Flow.Dst = netip.AddrPortFrom(dst, dport)
	return in, true
}

// RewriteErrorSrc rewrites an ICMP or ICMPv6 error for a translated
// connection, as pf's pf_translate_icmp does: the quoted packet's source
// becomes addr and port (port is the identifier of a quoted echo, and is
// ignored for protocols without ports), and the outer destination becomes
// addr too, since the error goes back to the quoted packet's sender. in is
// ParseInner's result for p, and is updated with p.Meta.Flow. It borrows
// p and does not allocate.
//
// Checksums: the outer IPv4 header checksum and the ICMP checksum (which
// covers the quote, and for ICMPv6 the outer addresses through the
// pseudo-header) are updated incrementally (RFC 1624). The quoted IPv4
// header checksum is updated too, so that the quote stays a well-formed
// header; pf leaves it stale, which no receiver checks. Quoted transport
// checksums are treated as pf treats them: a quoted TCP or ICMP checksum
// is left as it is (the quote is often cut short, so it could not be
// checked anyway), a quoted UDP checksum is set to 0, as if none had been
// sent, so that it cannot be found wrong.
//
// It reports false, changing nothing, when addr is not of p's family.
func RewriteErrorSrc(p *packet.Packet, in *Inner, addr netip.Addr, port uint16) bool {
	return rewriteError(p, in, addr, port, true)
}

// RewriteErrorDst is RewriteErrorSrc for the quoted packet's destination
// and the outer source: the error of a host behind an rdr-to, or of the
// inside host of a nat-to connection, about a packet it received, leaves
// with the translated address as its source.
func RewriteErrorDst(p *packet.Packet, in *Inner, addr netip.Addr, port uint16) bool {
	return rewriteError(p, in, addr, port, false)
}

func rewriteError(p *packet.Packet, in *Inner, addr netip.Addr, port uint16, src bool) bool {
	m := &p.Meta
	b := p.Bytes()
	v4 := m.Kind == packet.KindIPv4
	if v4 && !addr.Is4() || !v4 && (m.Kind != packet.KindIPv6 || !addr.Is6()) {
		return false
	}
	addr = addr.WithZone("")
	icmp := b[m.L4:]
	c := binary.BigEndian.Uint16(icmp[offICMPCsum:])

	// The outer header: destination for a quoted source, and vice versa.
	outer := m.Flow.Src.Addr()
	if src {
		outer = m.Flow.Dst.Addr()
	}
	if outer != addr {
		if v4 {
			ip := header.IPv4(b[m.L3:])
			ip.SetChecksum(header.UpdateAddr(ip.Checksum(), outer, addr))
			if src {
				ip.SetDst(addr)
			} else {
				ip.SetSrc(addr)
			}
		} else {
			ip := header.IPv6(b[m.L3:])
			c = header.UpdateAddr(c, outer, addr) // the ICMPv6 pseudo-header
			if src {
				ip.SetDst(addr)
			} else {
				ip.SetSrc(addr)
			}
		}
		if src {
			m.Flow.Dst = netip.AddrPortFrom(addr, m.Flow.Dst.Port())
		} else {
			m.Flow.Src = netip.AddrPortFrom(addr, m.Flow.Src.Port())
		}
	}

	// The quoted IP header. Every field below sits at an even offset from
	// the start of the ICMP message (its header is 8 bytes, IP headers and
	// IPv6 extension headers are multiples of 4), so each is one or more
	// whole 16-bit words of the ICMP checksum.
	old := in.Flow.Dst
	if src {
		old = in.Flow.Src
	}
	oa := old.Addr()
	q := b[in.L3:]
	if oa != addr {
		c = header.UpdateAddr(c, oa, addr)
		if v4 {
			// As pf_translate_icmp does, the quoted IPv4 header
			// checksum is left as it was (PF.md 5.5).
			if src {
				header.IPv4(q).SetSrc(addr)
			} else {
				header.IPv4(q).SetDst(addr)
			}
		} else if src {
			header.IPv6(q).SetSrc(addr)
		} else {
			header.IPv6(q).SetDst(addr)
		}
	}

	// The quoted transport header.
	t := b[in.L4:]
	op := old.Port()
	switch in.Flow.Proto {
	case header.ProtoTCP, header.ProtoUDP:
		if port != op {
			c = header.Update16(c, op, port)
			putPort(t, src, port)
		}
		if in.Flow.Proto == header.ProtoUDP {
			if uc := binary.BigEndian.Uint16(t[offUDPCsum:]); uc != 0 {
				c = header.Update16(c, uc, 0)
				binary.BigEndian.PutUint16(t[offUDPCsum:], 0)
			}
		}
	case header.ProtoICMP, header.ProtoICMPv6:
		if !isEchoType(in.Flow.Proto, in.ICMPType) {
			port = op
			break
		}
		if port != op {
			c = header.Update16(c, op, port)
			binary.BigEndian.PutUint16(t[offICMPIdent:], port)
		}
		in.Flow.Src = netip.AddrPortFrom(in.Flow.Src.Addr(), port)
		in.Flow.Dst = netip.AddrPortFrom(in.Flow.Dst.Addr(), port)
	default:
		port = op
	}
	binary.BigEndian.PutUint16(icmp[offICMPCsum:], c)
	if src {
		in.Flow.Src = netip.AddrPortFrom(addr, port)
	} else {
		in.Flow.Dst = netip.AddrPortFrom(addr, port)
	}
	return true
}
