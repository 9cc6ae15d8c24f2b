package filter

import (
	"encoding/binary"
	"sync"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// Reassembly limits. pf bounds fragments by a pool limit and a timeout
// (`set timeout frag`, 60 s); hostnet holds whole packets, so it bounds
// the number held and the fragments of one datagram.
const (
	// MaxHeldFragments is the most fragments held at once, all
	// datagrams together.
	MaxHeldFragments = 1024
	// maxFragsPerDatagram is pf's PF_FRAG_ENTRY_LIMIT.
	maxFragsPerDatagram = 64
)

type fragKey struct {
	src, dst [16]byte
	id       uint32
	proto    uint8
	af       uint8
}

type fragPiece struct {
	p        *packet.Packet
	off      int // offset of the data in the datagram
	data     int // offset of the data in p's frame
	n        int // data length
	hdr      int // IP header length (v4) or unfragmentable part (v6)
	fragHdr  int // v6: offset of the fragment header in the frame
	prevNext int // v6: offset of the next-header byte pointing at it
}

type fragEntry struct {
	pieces []fragPiece
	total  int // datagram data length, -1 until the last fragment came
	first  int64
}

// reassembler holds fragments until their datagram is whole (pf_reassemble,
// pf_reassemble6). Held packets are the filter's until it gives them back
// to Options.Pool.
type reassembler struct {
	mu      sync.Mutex
	entries map[fragKey]*fragEntry
	held    int
}

// fragInfo finds where p's fragment data lies.
func fragInfo(p *packet.Packet) (k fragKey, pc fragPiece, more bool, ok bool) {
	m := &p.Meta
	b := p.Bytes()
	l3 := int(m.L3)
	end := l3 + int(m.L3Len)
	if end > len(b) {
		return k, pc, false, false
	}
	pc.p, pc.off = p, int(m.FragOff)
	more = m.Frag&packet.FragMore != 0
	if m.Kind == packet.KindIPv4 {
		h := header.IPv4(b[l3:])
		k.af, k.proto = 4, h.Protocol()
		k.id = uint32(h.ID())
		s, d := h.Src().As16(), h.Dst().As16()
		k.src, k.dst = s, d
		pc.hdr = h.HeaderLen()
		pc.data = l3 + pc.hdr
	} else {
		h := header.IPv6(b[l3:])
		k.af = 6
		k.src, k.dst = h.Src().As16(), h.Dst().As16()
		nh := h.NextHeader()
		off := l3 + header.IPv6Size
		prev := l3 + 6
		for i := 0; nh != header.ProtoFragment; i++ {
			if i == 20 || !header.IsIPv6ExtHeader(nh) || off+8 > end {
				return k, pc, false, false
			}
			n := header.IPv6ExtHeaderLen(nh, b[off:])
			prev, nh = off, b[off]
			off += n
		}
		if off+header.IPv6FragmentSize > end {
			return k, pc, false, false
		}
		fh := header.IPv6Fragment(b[off:])
		k.proto = fh.NextHeader()
		k.id = fh.ID()
		pc.hdr = off - l3
		pc.fragHdr, pc.prevNext = off, prev
		pc.data = off + header.IPv6FragmentSize
	}
	pc.n = end - pc.data
	if pc.n < 0 || more && pc.n%8 != 0 {
		return k, pc, false, false
	}
	return k, pc, more, true
}

// add takes fragment p. It returns done when p now holds the whole
// datagram (re-parsed), taken when the filter kept p, and a drop reason
// otherwise; put gives held packets back.
func (r *reassembler) add(p *packet.Packet, now int64, put func(*packet.Packet)) (done, taken bool) {
	k, pc, more, ok := fragInfo(p)
	if !ok {
		return false, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.entries == nil {
		r.entries = map[fragKey]*fragEntry{}
	}
	e := r.entries[k]
	if e == nil {
		e = &fragEntry{total: -1, first: now}
		r.entries[k] = e
	}
	// Overlaps, a second last fragment, data past the end: the whole
	// datagram is dropped (RFC 5722 for IPv6; pf trims IPv4 overlaps,
	// hostnet does not).
	bad := pc.off+pc.n > 65535 || len(e.pieces) >= maxFragsPerDatagram
	if !more {
		if e.total >= 0 && e.total != pc.off+pc.n {
			bad = true
		}
		e.total = pc.off + pc.n
	}
	for _, q := range e.pieces {
		if pc.off < q.off+q.n && q.off < pc.off+pc.n || e.total >= 0 && q.off+q.n > e.total {
			bad = true
		}
	}
	if bad {
		r.dropLocked(k, e, put)
		return false, false
	}
	// Whole?
	if e.total >= 0 {
		have := pc.n
		for _, q := range e.pieces {
			have += q.n
		}
		if have == e.total {
			r.assembleLocked(k, e, pc, put)
			return true, false
		}
	}
	if r.held >= MaxHeldFragments {
		return false, false
	}
	e.pieces = append(e.pieces, pc)
	r.held++
	return false, true
}

func (r *reassembler) dropLocked(k fragKey, e *fragEntry, put func(*packet.Packet)) {
	for _, q := range e.pieces {
		put(q.p)
	}
	r.held -= len(e.pieces)
	delete(r.entries, k)
}

// assembleLocked builds the datagram in last's packet: its layer 2
// header, the first fragment's IP header (without the fragment header
// for IPv6), then every fragment's data at its offset.
func (r *reassembler) assembleLocked(k fragKey, e *fragEntry, last fragPiece, put func(*packet.Packet)) {
	p := last.p
	l3 := int(p.Meta.L3)
	first := last
	for _, q := range e.pieces {
		if q.off == 0 {
			first = q
		}
	}
	hl := first.hdr
	if k.af == 6 {
		hl = first.hdr // unfragmentable part, fragment header dropped
	}
	space := p.Space()
	base := l3 + hl
	// Move p's own data first (it may overlap where it goes), then the
	// first fragment's header, then the others.
	copy(space[base+last.off:], space[last.data:last.data+last.n])
	if first.p != p {
		copy(space[l3:base], first.p.Bytes()[int(first.p.Meta.L3):int(first.p.Meta.L3)+hl])
	} else if k.af == 6 {
		// p is the first fragment: its header is in place.
	}
	for _, q := range e.pieces {
		copy(space[base+q.off:], q.p.Bytes()[q.data:q.data+q.n])
	}
	p.SetLen(base + e.total)
	b := p.Bytes()
	if k.af == 4 {
		h := header.IPv4(b[l3:])
		h.SetTotalLen(uint16(hl + e.total))
		h.SetFlagsFragOff(h.Flags()&^header.IPv4FlagMF, 0)
		h.UpdateChecksum()
	} else {
		// The byte that named the fragment header names what it carried.
		prev := first.prevNext - int(first.p.Meta.L3) + l3
		b[prev] = k.proto
		binary.BigEndian.PutUint16(b[l3+4:], uint16(hl-header.IPv6Size+e.total))
		// What pf_refragment6 needs to cut it again (pf_reassemble6's
		// fragment tag); the caller draws the identification.
		maxLen := last.n
		for _, q := range e.pieces {
			maxLen = max(maxLen, q.n)
		}
		p.Reassembled = packet.Reassembled{HdrLen: uint16(hl), MaxLen: uint16(maxLen)}
	}
	for _, q := range e.pieces {
		put(q.p)
	}
	r.held -= len(e.pieces)
	delete(r.entries, k)
	packet.Parse(p)
}

// reassemble is add for f: a reassembled IPv6 datagram gets the
// identification its fragments will carry when they are cut again, drawn
// from f's seeded source, as ip6_fragment draws ip6_randomid.
func (f *Filter) reassemble(p *packet.Packet, now int64) (done, taken bool) {
	done, taken = f.frags.add(p, now, f.put)
	if done && p.Reassembled.IsSet() {
		p.Reassembled.ID = uint32(f.rnd.Uint64())
	}
	return done, taken
}

// purge drops datagrams older than timeout seconds.
func (r *reassembler) purge(now, timeout int64, put func(*packet.Packet)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, e := range r.entries {
		if now-e.first >= timeout {
			r.dropLocked(k, e, put)
		}
	}
}
