// Package gso finishes in software what a port with offloads would have
// done in hardware: it splits TCP and UDP super-frames (packet.GSO set, as
// a tap with IFF_VNET_HDR delivers them) into frames that fit a link, and
// completes partial checksums (VIRTIO_NET_HDR_F_NEEDS_CSUM), for ports that
// take neither: pcap files, host NICs without PACKET_VNET_HDR, OpenBSD
// taps.
//
// A super-frame is one Ethernet frame, with up to two VLAN tags, holding
// an IPv4 or IPv6 packet whose TCP or UDP payload is longer than one
// segment. Segment cuts the payload into pieces of GSO.Size bytes (fewer if
// the MTU asks) and gives each its own copy of the headers, as Linux's
// tcp_gso_segment and __udp_gso_segment do:
//
//   - IPv4: total length per segment, identification incremented per
//     segment, header checksum recomputed;
//   - IPv6: payload length per segment;
//   - TCP: sequence number advanced by the bytes before the segment; FIN
//     and PSH only on the last segment, CWR only on the first; checksum
//     computed in full;
//   - UDP (USO, GSO type UDP_L4): length and checksum per datagram.
//
// Every length and offset comes from the frame itself and is checked
// against it: GSO fields from a kernel or another process are hints, not
// trusted offsets.
package gso

import (
	"encoding/binary"
	"errors"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// GSO types, as the virtio-net header's gso_type carries them.
const (
	TypeNone  uint8 = 0    // VIRTIO_NET_HDR_GSO_NONE
	TypeTCPv4 uint8 = 1    // VIRTIO_NET_HDR_GSO_TCPV4
	TypeUDP   uint8 = 3    // VIRTIO_NET_HDR_GSO_UDP (UFO: IP fragmentation)
	TypeTCPv6 uint8 = 4    // VIRTIO_NET_HDR_GSO_TCPV6
	TypeUDPL4 uint8 = 5    // VIRTIO_NET_HDR_GSO_UDP_L4 (USO)
	TypeECN   uint8 = 0x80 // VIRTIO_NET_HDR_GSO_ECN, or-ed into a TCP type
)

// Errors of Segment and FinishChecksum. They are sentinel values so that
// the fast path returns them without allocating; the caller drops the
// packet and counts it.
var (
	ErrMalformed   = errors.New("gso: malformed super-frame")
	ErrUnsupported = errors.New("gso: unsupported GSO type")
	ErrTooMany     = errors.New("gso: more segments than output slots")
	ErrMTU         = errors.New("gso: headers leave no room for payload within the MTU")
	ErrCsumRange   = errors.New("gso: checksum offsets outside the frame")
)

// layout is where the headers of a frame are.
type layout struct {
	l3, l4, hl int  // IP header, transport header, payload offsets
	end        int  // end of the IP packet (the frame may be longer)
	v4         bool // IPv4, else IPv6
	proto      uint8
}

// parse finds the IP and transport headers of b, skipping up to two VLAN
// tags and, for IPv6, extension headers. It reports false for anything
// that is not a well-formed TCP or UDP packet inside b.
func parse(b []byte) (layout, bool) {
	var lo layout
	off := 12
	et := uint16(0)
	for range 3 {
		if off+2 > len(b) {
			return lo, false
		}
		et = binary.BigEndian.Uint16(b[off:])
		if et != header.EtherTypeDot1Q && et != header.EtherTypeDot1AD {
			break
		}
		off += 4
	}
	lo.l3 = off + 2
	switch et {
	case header.EtherTypeIPv4:
		ip := header.IPv4(b[lo.l3:])
		if !ip.IsValid(len(ip)) || ip.IsFragment() {
			return lo, false
		}
		lo.v4 = true
		lo.proto = ip.Protocol()
		lo.l4 = lo.l3 + ip.HeaderLen()
		lo.end = lo.l3 + int(ip.TotalLen())
	case header.EtherTypeIPv6:
		ip := header.IPv6(b[lo.l3:])
		if !ip.IsValid(len(ip)) {
			return lo, false
		}
		lo.end = lo.l3 + header.IPv6Size + int(ip.PayloadLen())
		next, at := ip.NextHeader(), lo.l3+header.IPv6Size
		for header.IsIPv6ExtHeader(next) {
			// A fragment can never be segmented: its payload is not a
			// whole transport segment.
			if next == header.ProtoFragment || at+2 > lo.end {
				return lo, false
			}
			n := header.IPv6ExtHeaderLen(next, b[at:])
			next = b[at]
			at += n
		}
		lo.proto = next
		lo.l4 = at
	default:
		return lo, false
	}
	if lo.end > len(b) || lo.l4 > lo.end {
		return lo, false
	}
	switch lo.proto {
	case header.ProtoTCP:
		tcp := header.TCP(b[lo.l4:lo.end])
		if !tcp.IsValid() {
			return lo, false
		}
		lo.hl = lo.l4 + tcp.DataOffset()
	case header.ProtoUDP:
		if lo.l4+header.UDPSize > lo.end {
			return lo, false
		}
		lo.hl = lo.l4 + header.UDPSize
	default:
		return lo, false
	}
	return lo, true
}

// pseudo returns the pseudo-header sum for a transport segment of n bytes
// in the IP packet at b[l3:].
func (lo *layout) pseudo(b []byte, n int) uint16 {
	if lo.v4 {
		ip := header.IPv4(b[lo.l3:])
		return header.PseudoHeaderChecksum(lo.proto, ip.Src(), ip.Dst(), uint32(n))
	}
	ip := header.IPv6(b[lo.l3:])
	return header.PseudoHeaderChecksum(lo.proto, ip.Src(), ip.Dst(), uint32(n))
}

// Count returns the number of frames Segment makes of p for a link of the
// given MTU (the IP packet size; 0 for no limit), or an error if it would
// fail. It does not allocate.
func Count(p *packet.Packet, mtu int) (int, error) {
	b := p.Bytes()
	lo, ok := parse(b)
	if !ok {
		return 0, ErrMalformed
	}
	mss, err := segSize(p, &lo, mtu)
	if err != nil {
		return 0, err
	}
	payload := lo.end - lo.hl
	if payload == 0 {
		return 1, nil
	}
	return (payload + mss - 1) / mss, nil
}

// segSize returns the payload bytes per segment: GSO.Size, made smaller if
// the headers plus GSO.Size do not fit mtu.
func segSize(p *packet.Packet, lo *layout, mtu int) (int, error) {
	switch t := p.GSO.Type &^ TypeECN; {
	case t == TypeTCPv4 && (!lo.v4 || lo.proto != header.ProtoTCP),
		t == TypeTCPv6 && (lo.v4 || lo.proto != header.ProtoTCP),
		t == TypeUDPL4 && lo.proto != header.ProtoUDP:
		return 0, ErrMalformed
	case t != TypeTCPv4 && t != TypeTCPv6 && t != TypeUDPL4:
		return 0, ErrUnsupported
	}
	mss := int(p.GSO.Size)
	if mtu > 0 {
		// No IP packet is longer than 65535 bytes; a larger MTU would
		// only overflow the arithmetic below.
		mtu = min(mtu, 65535)
		room := mtu - (lo.hl - lo.l3)
		if room <= 0 {
			return 0, ErrMTU
		}
		if mss == 0 || mss > room {
			mss = room
		}
	}
	if mss <= 0 {
		return 0, ErrMalformed
	}
	return mss, nil
}

// Segment splits the super-frame p (p.GSO.Type TCPv4, TCPv6 or UDP_L4,
// with or without the ECN bit) into frames of at most GSO.Size payload
// bytes each, fewer if mtu (the largest IP packet of the link; 0 for no
// limit) asks, with every header and checksum complete. The frames are
// packets from pool placed in out[0:n]; the caller owns them and p, which
// Segment borrows and leaves unchanged. Each segment keeps p's InPort,
// Stamp, Prio and PFTag and a copy of p.Meta with L3Len set to its own
// length; its GSO is zero.
//
// It fails with ErrTooMany, before taking anything from pool, if out has
// fewer slots than segments (Count says how many), and with ErrMalformed,
// ErrUnsupported or ErrMTU for frames it cannot segment. It does not
// allocate once the pool is warm.
func Segment(p *packet.Packet, mtu int, out []*packet.Packet, pool *packet.Pool) (int, error) {
	b := p.Bytes()
	lo, ok := parse(b)
	if !ok {
		return 0, ErrMalformed
	}
	mss, err := segSize(p, &lo, mtu)
	if err != nil {
		return 0, err
	}
	payload := lo.end - lo.hl
	n := 1
	if payload > 0 {
		n = (payload + mss - 1) / mss
	}
	if n > len(out) {
		return 0, ErrTooMany
	}
	hdrs := b[:lo.hl]
	var seq uint32
	var flags uint8
	var id uint16
	if lo.proto == header.ProtoTCP {
		tcp := header.TCP(b[lo.l4:])
		seq, flags = tcp.Seq(), tcp.Flags()
	}
	if lo.v4 {
		id = header.IPv4(b[lo.l3:]).ID()
	}
	for i := range n {
		start := lo.hl + i*mss
		stop := min(start+mss, lo.end)
		q := pool.Get()
		q.SetLen(lo.hl + stop - start)
		s := q.Bytes()
		copy(s, hdrs)
		copy(s[lo.hl:], b[start:stop])
		q.InPort, q.Stamp, q.Prio, q.PFTag = p.InPort, p.Stamp, p.Prio, p.PFTag
		q.Meta = p.Meta
		ipLen := len(s) - lo.l3
		q.Meta.L3Len = uint32(ipLen)
		if lo.v4 {
			ip := header.IPv4(s[lo.l3:])
			ip.SetTotalLen(uint16(ipLen))
			ip.SetID(id + uint16(i))
			ip.UpdateChecksum()
		} else {
			header.IPv6(s[lo.l3:]).SetPayloadLen(uint16(ipLen - header.IPv6Size))
		}
		l4 := s[lo.l4:]
		sum := lo.pseudo(s, len(l4))
		if lo.proto == header.ProtoTCP {
			tcp := header.TCP(l4)
			tcp.SetSeq(seq + uint32(i*mss))
			f := flags
			if i < n-1 {
				f &^= header.TCPFlagFIN | header.TCPFlagPSH
			}
			if i > 0 {
				f &^= header.TCPFlagCWR
			}
			tcp.SetFlags(f)
			tcp.SetChecksum(tcp.ComputeChecksum(sum))
		} else {
			udp := header.UDP(l4)
			udp.SetLength(uint16(len(l4)))
			udp.SetChecksum(udp.ComputeChecksum(sum))
		}
		out[i] = q
	}
	return n, nil
}

// FinishChecksum completes the partial checksum of a frame that has
// GSO.NeedsCsum and no GSO type: it sums the bytes from GSO.CsumStart to
// the end of the IP packet (the checksum field holds the pseudo-header sum
// already, as the sender left it), stores the complement at
// CsumStart+CsumOffset (0xffff for a UDP sum of 0) and clears NeedsCsum. A
// frame without NeedsCsum is left alone. It borrows p and does not
// allocate. ErrCsumRange means the offsets do not fit the frame; a
// super-frame (GSO.Type set) gets ErrUnsupported: Segment it.
func FinishChecksum(p *packet.Packet) error {
	if !p.GSO.NeedsCsum {
		return nil
	}
	if p.GSO.Type&^TypeECN != TypeNone {
		return ErrUnsupported
	}
	b := p.Bytes()
	end, udp := len(b), false
	start := int(p.GSO.CsumStart)
	if lo, ok := parse(b); ok {
		end = lo.end // not the Ethernet padding
		udp = lo.proto == header.ProtoUDP && start == lo.l4
	}
	field := start + int(p.GSO.CsumOffset)
	if start >= end || field+2 > end {
		return ErrCsumRange
	}
	c := ^header.Checksum(b[start:end], 0 /* initial */)
	if c == 0 && udp { // 0 would mean no checksum (RFC 768)
		c = 0xffff
	}
	binary.BigEndian.PutUint16(b[field:], c)
	p.GSO.NeedsCsum = false
	return nil
}

// Finish makes p a frame a port without offloads can send as it is: a
// partial checksum is completed; a super-frame is segmented for mtu (as
// Segment) into out. It returns the number of frames in out; 0 means p
// itself is ready and out is untouched. For a port whose writer calls one
// function for every frame.
func Finish(p *packet.Packet, mtu int, out []*packet.Packet, pool *packet.Pool) (int, error) {
	if p.GSO.Type&^TypeECN != TypeNone {
		return Segment(p, mtu, out, pool)
	}
	return 0, FinishChecksum(p)
}
