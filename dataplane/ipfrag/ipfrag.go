// Package ipfrag cuts IP packets into fragments. The stack (l3) and the
// bridge (dataplane) share it:
//
//   - IPv4 is cut to a link's MTU as RFC 791 section 3.2 and OpenBSD's
//     ip_fragment do: every fragment but the last carries a multiple of 8
//     data bytes, offsets count from the original's own offset, the first
//     fragment keeps all options and the others only those whose copied
//     flag is set.
//   - An IPv6 datagram that pf reassembled is cut again as it came, as
//     OpenBSD's pf_refragment6 and ip6_fragment do (RFC 8200 section 4.5):
//     the unfragmentable part, a fragment header, and at most the largest
//     original fragment's data, rounded down to a multiple of 8.
//
// A Fragmenter reads the frame of one packet and writes each fragment
// into a packet the caller owns, link header included:
//
//	var f ipfrag.Fragmenter
//	if err := f.Init4(p, l3, mtu); err != nil { ... }
//	for f.More() {
//		q := pool.Get()
//		f.Next(q)
//		... send q ...
//	}
//
// A Fragmenter is a value the caller keeps on its stack; it does not
// allocate.
package ipfrag

import (
	"errors"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

var (
	// ErrMTU is returned for an MTU (or an IPv6 fragment size) that
	// leaves room for less than 8 data bytes per fragment, OpenBSD's
	// EMSGSIZE.
	ErrMTU = errors.New("ipfrag: no room for 8 data bytes per fragment")
	// ErrMalformed is returned for a packet whose headers do not describe
	// it: a length past the frame, an IPv6 unfragmentable part that is
	// not a chain of extension headers.
	ErrMalformed = errors.New("ipfrag: malformed packet")
)

// Fragmenter cuts one packet into fragments. The zero value has nothing
// to cut; Init4 or Init6 prepares it.
type Fragmenter struct {
	p     *packet.Packet
	six   bool
	done  bool
	l3    int // offset of the IP header in p's frame
	start int // offset of the fragmentable part in p's frame
	end   int // its end
	off   int // next byte to cut, from start

	// IPv4
	h2      [header.IPv4MaxSize]byte // the later fragments' header
	hl2     int
	mtu     int    // largest IP packet to write
	origOff uint16 // the original's fragment offset, in bytes
	origMF  bool

	// IPv6
	next  int // offset, from l3, of the next-header byte that names the fragment header
	proto uint8
	len   int // data bytes per fragment but the last
	id    uint32
}

// Init4 prepares to cut the IPv4 packet at offset l3 of p's frame into
// fragments of at most mtu bytes of IP packet. It borrows p, without
// changing it, until the last Next. It fails with ErrMTU when mtu leaves
// less than 8 data bytes for a fragment and ErrMalformed when the
// header's lengths do not fit the frame. The DF flag is the caller's to
// check: Init4 cuts what it is given.
func (f *Fragmenter) Init4(p *packet.Packet, l3, mtu int) error {
	*f = Fragmenter{}
	b := p.Bytes()
	if l3 < 0 || l3+header.IPv4MinSize > len(b) {
		return ErrMalformed
	}
	ip := header.IPv4(b[l3:])
	hl, total := ip.HeaderLen(), int(ip.TotalLen())
	if hl < header.IPv4MinSize || total < hl || l3+total > len(b) {
		return ErrMalformed
	}
	// The header of the later fragments: the fixed part and the copied
	// options, padded with end-of-list to a multiple of 4.
	copy(f.h2[:], b[l3:l3+header.IPv4MinSize])
	f.hl2 = header.IPv4MinSize + CopyOptions(f.h2[header.IPv4MinSize:], ip.Options())
	for f.hl2%4 != 0 {
		f.h2[f.hl2] = 0 // end of option list
		f.hl2++
	}
	header.IPv4(f.h2[:]).SetVersionIHL(f.hl2)
	if (mtu-hl)&^7 < 8 || (mtu-f.hl2)&^7 < 8 {
		return ErrMTU
	}
	f.p, f.l3, f.start, f.end, f.mtu = p, l3, l3+hl, l3+total, mtu
	f.origOff, f.origMF = ip.FragOff(), ip.MF()
	return nil
}

// Init6 prepares to cut the IPv6 datagram at offset l3 of p's frame, as
// p.Reassembled describes it: the unfragmentable part (the IPv6 header
// and the extension headers that came before the fragment header) is
// repeated in every fragment, followed by a fragment header with
// identification p.Reassembled.ID and at most p.Reassembled.MaxLen data
// bytes, rounded down to a multiple of 8 (pf_refragment6's MTU of
// hdrlen + 8 + maxlen). In the fragments, the last next-header byte of
// the unfragmentable part names the fragment header (44) and the fragment
// header what that byte named, as pf_refragment6 writes them. It borrows
// p, without changing it, until the last Next. It fails with ErrMTU when
// the fragment size is below 8 (a datagram that came as one fragment of
// fewer than 8 bytes; OpenBSD drops it too) and with ErrMalformed when p
// is not a reassembled IPv6 datagram that fits its frame.
func (f *Fragmenter) Init6(p *packet.Packet, l3 int) error {
	*f = Fragmenter{}
	b := p.Bytes()
	r := p.Reassembled
	hdr := int(r.HdrLen)
	if l3 < 0 || hdr < header.IPv6Size || l3+hdr > len(b) {
		return ErrMalformed
	}
	ip := header.IPv6(b[l3:])
	end := l3 + header.IPv6Size + int(ip.PayloadLen())
	if ip.Version() != 6 || end > len(b) || end < l3+hdr {
		return ErrMalformed
	}
	// Find the last next-header byte of the unfragmentable part: it
	// names what the fragment header will carry.
	next, nh, off := 6, ip.NextHeader(), header.IPv6Size
	for off < hdr {
		if !header.IsIPv6ExtHeader(nh) || nh == header.ProtoFragment || off+2 > hdr {
			return ErrMalformed
		}
		l := header.IPv6ExtHeaderLen(nh, b[l3+off:])
		next, nh = off, b[l3+off]
		off += l
	}
	if off != hdr {
		return ErrMalformed
	}
	n := int(r.MaxLen) &^ 7
	if n < 8 {
		return ErrMTU
	}
	f.p, f.six, f.l3, f.start, f.end = p, true, l3, l3+hdr, end
	f.next, f.proto, f.len, f.id = next, nh, n, r.ID
	return nil
}

// More reports whether a fragment is left to write.
func (f *Fragmenter) More() bool { return f.p != nil && !f.done }

// Next writes the next fragment into q and parses it: the bytes of the
// packet's frame before the IP header (the link header), then
//
//   - for IPv4, the fragment's header (the original's for the first, the
//     fixed part and the copied options for the others) with its length,
//     flags (MF set but on the original's last piece), offset and checksum
//     set, then its data;
//   - for IPv6, the unfragmentable part with its payload length set, a
//     fragment header (next header, offset, M flag, identification;
//     reserved bytes zero), then the data.
//
// It copies the packet's annotations (InPort, Stamp, Prio, PFTag). It
// borrows q and must only be called while More reports true.
func (f *Fragmenter) Next(q *packet.Packet) {
	b := f.p.Bytes()
	left := f.end - f.start - f.off
	q.Reset()
	if f.six {
		n := min(f.len, left)
		last := n == left
		q.SetLen(f.start + header.IPv6FragmentSize + n)
		qb := q.Bytes()
		copy(qb, b[:f.start])
		header.IPv6(qb[f.l3:]).SetPayloadLen(uint16(f.start - f.l3 - header.IPv6Size + header.IPv6FragmentSize + n))
		qb[f.l3+f.next] = header.ProtoFragment
		header.IPv6Fragment(qb[f.start:]).Encode(f.proto, uint16(f.off), !last, f.id)
		copy(qb[f.start+header.IPv6FragmentSize:], b[f.start+f.off:f.start+f.off+n])
		f.off += n
		f.done = last
	} else {
		h := b[f.l3:f.start]
		if f.off > 0 {
			h = f.h2[:f.hl2]
		}
		n := min((f.mtu-len(h))&^7, left)
		last := n == left
		q.SetLen(f.l3 + len(h) + n)
		qb := q.Bytes()
		copy(qb, b[:f.l3])
		copy(qb[f.l3:], h)
		copy(qb[f.l3+len(h):], b[f.start+f.off:f.start+f.off+n])
		qip := header.IPv4(qb[f.l3:])
		qip.SetTotalLen(uint16(len(h) + n))
		flags := header.IPv4(h).Flags() &^ header.IPv4FlagMF
		if !last || f.origMF {
			flags |= header.IPv4FlagMF
		}
		qip.SetFlagsFragOff(flags, f.origOff+uint16(f.off))
		qip.UpdateChecksum()
		f.off += n
		f.done = last
	}
	q.InPort = f.p.InPort
	q.Stamp = f.p.Stamp
	q.Prio = f.p.Prio
	q.PFTag = f.p.PFTag
	packet.Parse(q)
}

// CopyOptions copies the IPv4 options of opts whose copied flag is set
// (RFC 791: the high bit of the type) into dst and returns how many bytes
// it wrote. It stops at end of list and at an option whose length does
// not fit. dst must hold len(opts) bytes.
func CopyOptions(dst, opts []byte) int {
	n := 0
	for i := 0; i < len(opts); {
		t := opts[i]
		switch t {
		case 0: // end of option list
			return n
		case 1: // no operation
			i++
			continue
		}
		if i+1 >= len(opts) || opts[i+1] < 2 || i+int(opts[i+1]) > len(opts) {
			return n
		}
		l := int(opts[i+1])
		if t&0x80 != 0 {
			n += copy(dst[n:], opts[i:i+l])
		}
		i += l
	}
	return n
}
