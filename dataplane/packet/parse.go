package packet

import (
	"encoding/binary"
	"net/netip"

	"github.com/hostnet/hostnet/dataplane/header"
)

// maxIPv6ExtHeaders bounds the IPv6 extension header walk, as pf's
// pf_hdr_limit does: a longer chain is malformed, and the bound keeps a
// hostile frame from costing thousands of iterations.
const maxIPv6ExtHeaders = 20

// Parse decodes p's frame once into p.Meta. It borrows p, does not
// allocate and never fails: a frame it cannot make sense of gets
// Meta.Kind = KindUnknown and a Meta.Drop reason.
//
//   - Ethernet: a frame shorter than 14 bytes is DropRunt. An EtherType
//     below 0x0600 is an 802.3 length (LLC, STP): KindOther.
//   - Up to two 802.1Q (0x8100) or 802.1ad (0x88a8) tags, outermost first,
//     into Meta.Tags. A third tag is not parsed through: the frame is
//     KindOther with NTags 2 and EtherType the third TPID, and L3 at that
//     tag, so that a bridge still carries it unchanged; a layer that must
//     look inside (vlan input) drops it with DropTooManyTags. A tag cut
//     short is DropMalformed.
//   - ARP: KindARP when the header and its addresses fit (DropMalformed
//     otherwise); L3Len is its length.
//   - IPv4 and IPv6: the header must pass header.IPv4.IsValid or
//     header.IPv6.IsValid against the rest of the frame (DropBadIPHeader);
//     the frame may be longer (padding, FCS), L3Len says where the
//     datagram ends. IPv4 options that run past the header are
//     DropMalformed. Checksums are not verified: the layers that must
//     (ipv4_check in the bridge, the host stack) do it themselves.
//   - IPv6 extension headers: hop-by-hop (first only), routing, fragment,
//     destination options and AH are walked; ESP, no next header and
//     anything else end the walk, and Proto is that value. A chain that
//     runs past the datagram or past maxIPv6ExtHeaders headers is
//     DropMalformed.
//   - Fragments: Frag flags and FragOff are set. A non-first fragment
//     has L4 0 and ports 0. A first fragment too short for its transport
//     header, and an IPv4 TCP fragment at offset 8 (RFC 1858 section 4),
//     are DropTinyFragment; an unfragmented datagram too short for its
//     transport header is DropMalformed.
//   - TCP, UDP, ICMP and ICMPv6 fill Flow's ports, TCPFlags, ICMPType and
//     ICMPCode; for ICMP and ICMPv6 echo request and reply both ports hold
//     the identifier. Other protocols have L4 at their header, if the
//     datagram has any payload, and ports 0.
func Parse(p *Packet) {
	m := &p.Meta
	*m = Parsed{}
	b := p.b
	if len(b) < header.EthernetSize {
		m.Drop = DropRunt
		return
	}
	off := 12 // the EtherType or TPID
	et := binary.BigEndian.Uint16(b[off:])
	for et == header.EtherTypeDot1Q || et == header.EtherTypeDot1AD {
		if m.NTags == 2 {
			break // a third tag: KindOther below
		}
		if len(b) < off+header.Dot1QSize+2 {
			m.Drop = DropMalformed
			return
		}
		m.Tags[m.NTags] = Tag{TPID: et, TCI: binary.BigEndian.Uint16(b[off+2:])}
		m.NTags++
		off += header.Dot1QSize
		et = binary.BigEndian.Uint16(b[off:])
	}
	m.EtherType = et
	switch et {
	case header.EtherTypeIPv4:
		m.L3 = uint16(off + 2)
		parseIPv4(m, b, off+2)
	case header.EtherTypeIPv6:
		m.L3 = uint16(off + 2)
		parseIPv6(m, b, off+2)
	case header.EtherTypeARP:
		m.L3 = uint16(off + 2)
		parseARP(m, b, off+2)
	case header.EtherTypeDot1Q, header.EtherTypeDot1AD:
		// The third tag: L3 points at it, not past its TPID.
		m.L3 = uint16(off)
		m.Kind = KindOther
	default:
		m.L3 = uint16(off + 2)
		m.Kind = KindOther
	}
}

// parseARP checks that an ARP header and its addresses fit (RFC 826: 8
// bytes, then two hardware and two protocol addresses).
func parseARP(m *Parsed, b []byte, off int) {
	h := b[off:]
	if len(h) < 8 {
		m.Drop = DropMalformed
		return
	}
	n := 8 + 2*(int(h[4])+int(h[5]))
	if len(h) < n {
		m.Drop = DropMalformed
		return
	}
	m.L3Len = uint32(n)
	m.Kind = KindARP
}

func parseIPv4(m *Parsed, b []byte, off int) {
	h := b[off:]
	// ipv4_check: version, header length, total length within the frame.
	if len(h) < header.IPv4MinSize || h[0]>>4 != 4 {
		m.Drop = DropBadIPHeader
		return
	}
	hl := int(h[0]&0x0f) * 4
	tl := int(binary.BigEndian.Uint16(h[2:]))
	if hl < header.IPv4MinSize || tl < hl || tl > len(h) {
		m.Drop = DropBadIPHeader
		return
	}
	h = h[:tl]
	m.L3Len = uint32(tl)
	if hl > header.IPv4MinSize {
		m.HasOptions = true
		// An option whose length runs past the header is malformed; pf
		// drops it too (pf_walk_option).
		if !header.IPv4(h).HasValidOptions() {
			m.Drop = DropMalformed
			return
		}
	}
	proto := h[9]
	m.Proto = proto
	src := netip.AddrFrom4([4]byte(h[12:16]))
	dst := netip.AddrFrom4([4]byte(h[16:20]))

	ff := binary.BigEndian.Uint16(h[6:])
	if ff&0x3fff != 0 { // MF or an offset
		fo := ff & 0x1fff
		m.Frag = FragIsFragment
		m.FragOff = fo << 3
		if ff&0x2000 != 0 {
			m.Frag |= FragMore
		}
		if fo != 0 {
			// RFC 1858 section 4.2: a TCP fragment at offset 8 can only
			// serve to overwrite the first fragment's flags.
			if fo == 1 && proto == header.ProtoTCP {
				m.Drop = DropTinyFragment
				return
			}
			// A non-first fragment has no transport header to read.
			m.Kind = KindIPv4
			setFlow(m, proto, netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0))
			return
		}
		m.Frag |= FragFirst
	}
	var sport, dport uint16
	if !parseL4(m, h, hl, proto, header.ProtoICMP, &sport, &dport) {
		return
	}
	m.L4 = uint16(off + hl)
	if hl == tl {
		m.L4 = 0 // no payload, so no header to read
	}
	m.Kind = KindIPv4
	setFlow(m, proto, netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport))
}

// parseL4 reads the transport header at h[l4:] (h ends where the datagram
// does) into m and the ports; icmp is the family's ICMP protocol
// (ProtoICMP or ProtoICMPv6), the other one is left unparsed. It reports false, with m.Drop set, if the
// header does not fit: DropTinyFragment in a first fragment, DropMalformed
// otherwise.
func parseL4(m *Parsed, h []byte, l4 int, proto, icmp uint8, sport, dport *uint16) bool {
	t := h[l4:]
	if proto == header.ProtoICMP || proto == header.ProtoICMPv6 {
		if proto != icmp {
			return true
		}
	}
	switch proto {
	case header.ProtoTCP:
		if len(t) < header.TCPMinSize {
			return short(m)
		}
		doff := int(t[12]>>4) * 4
		if doff < header.TCPMinSize {
			m.Drop = DropMalformed
			return false
		}
		if doff > len(t) {
			return short(m)
		}
		*sport = binary.BigEndian.Uint16(t[0:])
		*dport = binary.BigEndian.Uint16(t[2:])
		m.TCPFlags = t[13]
	case header.ProtoUDP:
		if len(t) < header.UDPSize {
			return short(m)
		}
		// Outside a fragment the UDP length must agree with IP's (pf
		// checks this too); in a first fragment it counts all fragments.
		if m.Frag == 0 {
			if ul := int(binary.BigEndian.Uint16(t[4:])); ul < header.UDPSize || ul > len(t) {
				m.Drop = DropMalformed
				return false
			}
		}
		*sport = binary.BigEndian.Uint16(t[0:])
		*dport = binary.BigEndian.Uint16(t[2:])
	case header.ProtoICMP, header.ProtoICMPv6:
		if len(t) < 8 {
			return short(m)
		}
		m.ICMPType, m.ICMPCode = t[0], t[1]
		if isEcho(proto, t[0]) {
			id := binary.BigEndian.Uint16(t[4:])
			*sport, *dport = id, id
		}
	}
	return true
}

// short sets the drop reason for a transport header cut short.
func short(m *Parsed) bool {
	if m.Frag&FragIsFragment != 0 {
		// RFC 1858 section 3: a first fragment that does not hold the
		// whole transport header lets a later fragment supply the ports
		// and flags that filters matched on. Never let one through.
		m.Drop = DropTinyFragment
	} else {
		m.Drop = DropMalformed
	}
	return false
}

// isEcho reports whether an ICMP or ICMPv6 type is echo request or reply.
func isEcho(proto, typ uint8) bool {
	if proto == header.ProtoICMP {
		return typ == 8 || typ == 0
	}
	return typ == 128 || typ == 129
}

func parseIPv6(m *Parsed, b []byte, off int) {
	h := b[off:]
	if len(h) < header.IPv6Size || h[0]>>4 != 6 {
		m.Drop = DropBadIPHeader
		return
	}
	tl := header.IPv6Size + int(binary.BigEndian.Uint16(h[4:]))
	if tl > len(h) {
		m.Drop = DropBadIPHeader
		return
	}
	h = h[:tl]
	m.L3Len = uint32(tl)
	src := netip.AddrFrom16([16]byte(h[8:24]))
	dst := netip.AddrFrom16([16]byte(h[24:40]))

	nh := h[6]
	l4 := header.IPv6Size
walk:
	for i := 0; ; i++ {
		switch nh {
		case header.ProtoHopByHop, header.ProtoRouting, header.ProtoDstOpts, header.ProtoAH, header.ProtoFragment:
		default:
			break walk
		}
		if i == maxIPv6ExtHeaders {
			m.Drop = DropMalformed
			return
		}
		// RFC 8200 section 4.1: hop-by-hop options only right after the
		// IPv6 header. pf drops it anywhere else, and so do we.
		if nh == header.ProtoHopByHop && i != 0 {
			m.Drop = DropMalformed
			return
		}
		if len(h)-l4 < 8 {
			// Every extension header is at least 8 bytes.
			if m.Frag&FragIsFragment != 0 {
				// RFC 8200 section 4.5: the first fragment holds the whole
				// header chain.
				m.Drop = DropTinyFragment
			} else {
				m.Drop = DropMalformed
			}
			return
		}
		e := h[l4:]
		var n int
		switch nh {
		case header.ProtoFragment:
			n = header.IPv6FragmentSize
			fo := binary.BigEndian.Uint16(e[2:])
			if fo&^6 != 0 { // an offset or M; 0 with M clear is an atomic fragment (RFC 6946)
				m.Frag = FragIsFragment
				m.FragOff = fo &^ 7
				if fo&1 != 0 {
					m.Frag |= FragMore
				}
				if fo&^7 != 0 {
					// A non-first fragment: what follows is payload.
					m.Proto = e[0]
					m.Kind = KindIPv6
					setFlow(m, e[0], netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0))
					return
				}
				m.Frag |= FragFirst
			}
		case header.ProtoAH:
			n = (int(e[1]) + 2) * 4
		default:
			n = (int(e[1]) + 1) * 8
			if nh != header.ProtoRouting {
				m.HasOptions = true
			}
		}
		if n > len(e) {
			if m.Frag&FragIsFragment != 0 {
				m.Drop = DropTinyFragment
			} else {
				m.Drop = DropMalformed
			}
			return
		}
		nh = e[0]
		l4 += n
	}
	m.Proto = nh
	var sport, dport uint16
	if !parseL4(m, h, l4, nh, header.ProtoICMPv6, &sport, &dport) {
		return
	}
	if l4 < tl && nh != header.ProtoNoNext {
		// At most 22 + 40 + maxIPv6ExtHeaders*2048 bytes: fits 16 bits.
		m.L4 = uint16(off + l4)
	}
	m.Kind = KindIPv6
	setFlow(m, nh, netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport))
}

// setFlow stores the flow field by field: building a Flow and copying it
// whole goes through a stack temporary whose narrow stores stall the wide
// loads of the copy (store forwarding), at a third of Parse's time.
func setFlow(m *Parsed, proto uint8, src, dst netip.AddrPort) {
	m.Flow.Proto = proto
	m.Flow.Src = src
	m.Flow.Dst = dst
}
