package dataplane

import (
	"sync"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/ipfrag"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/l2"
)

// icmpErrPPS is OpenBSD's net.inet.icmp.errppslimit: at most this many
// ICMP errors a second (icmp_ratelimit).
const icmpErrPPS = 100

// bridgeFragment sends p, a frame the bridge forwards from member to
// member (not one the host sent, which bridge_output never cuts), out of
// member out of b when it does not go as it is: it is too big for out's
// MTU, or it is an IPv6 datagram pf reassembled. As OpenBSD's bridge does
// (bridge_fragment; pf_refragment6 for IPv6):
//
//   - an IPv6 datagram pf reassembled is cut again as it came, into
//     fragments of its largest original fragment's size; a fragment that
//     does not fit out is dropped (DropMTU), and a datagram that cannot
//     be cut is dropped (DropFragment);
//   - an untagged IPv4 packet without DF is cut into fragments that fit
//     out's MTU;
//   - an untagged IPv4 packet with DF is dropped (DropMTU) and its sender
//     gets an ICMP fragmentation needed that names out's MTU
//     (bridge_send_icmp_err);
//   - anything else that does not fit is dropped (DropMTU): IPv6 that
//     came whole, tagged frames, other protocols.
//
// It borrows p.
func (d *Dataplane) bridgeFragment(w *worker, b *bridge, dec *l2.Decision, out *Interface, p *packet.Packet) {
	m := &p.Meta
	switch {
	case m.NTags != 0:
	case m.Kind == packet.KindIPv6 && p.Reassembled.IsSet():
		var f ipfrag.Fragmenter
		if err := f.Init6(p, int(m.L3)); err != nil {
			out.Counters.Drop(packet.DropFragment)
			return
		}
		d.outputFragments(w, out, &f)
		return
	case m.Kind == packet.KindIPv4 && fitsMTU(out, p):
		// Only a reassembled IPv6 datagram is cut when it fits.
		d.output(w, out, p)
		return
	case m.Kind == packet.KindIPv4 && !header.IPv4(p.Bytes()[m.L3:]).DF():
		var f ipfrag.Fragmenter
		if err := f.Init4(p, int(m.L3), out.MTU); err != nil {
			break
		}
		d.outputFragments(w, out, &f)
		return
	case m.Kind == packet.KindIPv4:
		d.needFrag(w, b, b.members[dec.In], out, p)
	}
	if fitsMTU(out, p) {
		d.output(w, out, p)
		return
	}
	out.Counters.Drop(packet.DropMTU)
}

// outputFragments sends every fragment f cuts out of out; one that does
// not fit out's MTU is dropped (DropMTU).
func (d *Dataplane) outputFragments(w *worker, out *Interface, f *ipfrag.Fragmenter) {
	for f.More() {
		q := d.pool.Get()
		f.Next(q)
		if fitsMTU(out, q) {
			d.output(w, out, q)
		} else {
			out.Counters.Drop(packet.DropMTU)
		}
		d.pool.Put(q)
	}
}

// needFrag answers p, an IPv4 packet with DF too big for member out, with
// an ICMP fragmentation needed naming out's MTU, as bridge_send_icmp_err
// builds it from icmp_do_error: from p's destination to its source, TTL
// 255, DF clear, quoting p's IP header and 8 bytes, the Ethernet
// addresses swapped, sent back out of member back (the one p came in
// on) without filtering. Like icmp_do_error it sends nothing for a
// non-first fragment, an ICMP error, a frame to a link broadcast or
// multicast address, and beyond icmpErrPPS a second. It borrows p.
func (d *Dataplane) needFrag(w *worker, b *bridge, back, out *Interface, p *packet.Packet) {
	pb := p.Bytes()
	l3 := int(p.Meta.L3)
	ip := header.IPv4(pb[l3:])
	hl := ip.HeaderLen()
	total := min(int(ip.TotalLen()), len(pb)-l3)
	switch {
	case header.Ethernet(pb).Dst().IsMulticast():
		return
	case ip.FragOff() != 0:
		return
	case ip.Protocol() == header.ProtoICMP && total >= hl+header.ICMPv4MinSize && header.ICMPv4Type(pb[l3+hl]).IsError():
		return
	case !b.icmpRate.allow(w.sec):
		return
	}
	quote := hl + min(8, total-hl)
	n := header.IPv4MinSize + header.ICMPv4MinSize + quote
	r := w.reply
	r.Reset()
	r.SetLen(n)
	rb := r.Bytes()
	ic := header.ICMPv4(rb[header.IPv4MinSize:])
	copy(ic[header.ICMPv4MinSize:], pb[l3:l3+quote])
	ic.Encode(&header.ICMPv4Fields{Type: header.ICMPv4DstUnreachable, Code: header.ICMPv4FragmentationNeeded, Rest: uint32(out.MTU)})
	header.IPv4(rb).Encode(&header.IPv4Fields{TotalLen: uint16(n), ID: b.icmpRate.id(), TTL: 255,
		Protocol: header.ProtoICMP, Src: ip.Dst(), Dst: ip.Src()})
	d.sendReply(w, back, p)
}

// ppsLimit is OpenBSD's ppsratecheck for a bridge's ICMP errors: at most
// icmpErrPPS in one second of the clock. It also numbers the errors'
// IPv4 identifications. Safe for concurrent use.
type ppsLimit struct {
	mu  sync.Mutex
	sec uint32
	n   int
	seq uint32
}

// allow reports whether one more error may go in second sec, and counts
// it if so.
func (l *ppsLimit) allow(sec uint32) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if sec != l.sec {
		l.sec, l.n = sec, 0
	}
	if l.n >= icmpErrPPS {
		return false
	}
	l.n++
	return true
}

// id returns the next identification: the count of errors so far, mixed
// (SplitMix64's finaliser) so that it does not read as a counter, where
// OpenBSD draws ip_randomid.
func (l *ppsLimit) id() uint16 {
	l.mu.Lock()
	l.seq++
	z := uint64(l.seq) * 0x9e3779b97f4a7c15
	l.mu.Unlock()
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return uint16(z ^ z>>31)
}
