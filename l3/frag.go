package l3

import (
	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// fragment4 splits the IPv4 packet in p into fragments that fit out's MTU
// and sends each to next hop nh (RFC 791 section 3.2, "An Example
// Fragmentation Procedure"; OpenBSD's ip_fragment): every fragment but the
// last carries a multiple of 8 payload bytes, offsets count 8-byte units
// from the original's own offset, the first fragment keeps all options and
// the others only those with the copied flag. It takes p; orig is as for
// transmit4.
func (r *Router) fragment4(st *state, out *iface, nh []byte, gw *gateway, p *packet.Packet, orig []byte, now int64) {
	b := p.Bytes()
	ip := header.IPv4(b[ip4Start:])
	hl := ip.HeaderLen()
	total := int(ip.TotalLen())
	payload := b[ip4Start+hl : ip4Start+total]
	origOff, origMF := ip.FragOff(), ip.MF()

	// The header of the later fragments: the fixed part and the copied
	// options, padded with end-of-list to a multiple of 4.
	var h2 [header.IPv4MaxSize]byte
	copy(h2[:], b[ip4Start:ip4Start+header.IPv4MinSize])
	hl2 := header.IPv4MinSize + copyOptions(h2[header.IPv4MinSize:], ip.Options())
	for hl2%4 != 0 {
		h2[hl2] = 0 // end of option list
		hl2++
	}
	header.IPv4(h2[:]).SetVersionIHL(hl2)

	if (out.mtu-hl)&^7 < 8 || (out.mtu-hl2)&^7 < 8 {
		r.drop(out, p, packet.DropMTU)
		return
	}
	for off := 0; off < len(payload); {
		h := b[ip4Start : ip4Start+hl]
		if off > 0 {
			h = h2[:hl2]
		}
		n := (out.mtu - len(h)) &^ 7
		last := off+n >= len(payload)
		if last {
			n = len(payload) - off
		}
		q := r.pool.Get()
		q.SetLen(ip4Start + len(h) + n)
		qb := q.Bytes()
		header.Ethernet(qb).SetType(header.EtherTypeIPv4)
		copy(qb[ip4Start:], h)
		copy(qb[ip4Start+len(h):], payload[off:off+n])
		qip := header.IPv4(qb[ip4Start:])
		qip.SetTotalLen(uint16(len(h) + n))
		var flags uint8
		if !last || origMF {
			flags = header.IPv4FlagMF
		}
		qip.SetFlagsFragOff(flags, origOff+uint16(off))
		qip.UpdateChecksum()
		q.Meta.Frag = packet.FragIsFragment
		q.Meta.FragOff = origOff + uint16(off)
		r.transmit4(nil, st, out, nh, gw, q, orig, now)
		off += n
	}
	r.pool.Put(p)
}

// copyOptions copies the IPv4 options of opts whose copied flag is set
// (RFC 791: the high bit of the type) into dst and returns how many bytes
// it wrote. Options are as Parse checked them.
func copyOptions(dst, opts []byte) int {
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
