package l3

import (
	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/ipfrag"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// fragment4 splits the IPv4 packet in p into fragments that fit out's MTU
// and sends each to next hop nh, as OpenBSD's ip_fragment does (cut by
// ipfrag.Fragmenter, which the bridge shares). It takes p; orig is as for
// transmit4.
func (r *Router) fragment4(st *state, out *iface, nh []byte, gw *gateway, p *packet.Packet, orig []byte, now int64) {
	var f ipfrag.Fragmenter
	if err := f.Init4(p, ip4Start, out.mtu); err != nil {
		r.drop(out, p, packet.DropMTU)
		return
	}
	for f.More() {
		q := r.pool.Get()
		f.Next(q)
		r.transmit4(nil, st, out, nh, gw, q, orig, now)
	}
	r.pool.Put(p)
}

// tooBig6 reports whether the IPv6 packet in p, forwarded, does not fit
// out's MTU. A datagram pf reassembled is never too big as a whole: it
// leaves as the fragments it came in (forwardOut6), each checked then.
func tooBig6(out *iface, p *packet.Packet) bool {
	if p.Reassembled.IsSet() {
		return false
	}
	return header.IPv6Size+int(header.IPv6(p.Bytes()[ip6FrameStart:]).PayloadLen()) > out.mtu
}

// forwardOut6 sends forwarded IPv6 packet p, which pf out passed, out of
// out to next hop nh. A datagram pf reassembled is cut again to its
// largest original fragment (OpenBSD's pf_refragment6 at the end of
// pf_test for ip6_forward) and each fragment goes through the MTU check
// of ip6_forward again: one too big earns its sender a packet too big
// quoting it. Otherwise p is transmitted as it is. It takes p.
func (r *Router) forwardOut6(tx Tx, st *state, in, out *iface, nh []byte, gw *gateway, p *packet.Packet, now int64) {
	if !p.Reassembled.IsSet() {
		r.transmit6(tx, st, out, nh, gw, p, true, now)
		return
	}
	var f ipfrag.Fragmenter
	if err := f.Init6(p, ip6FrameStart); err != nil {
		// pf_refragment6 drops what ip6_fragment refuses.
		r.drop(out, p, packet.DropFragment)
		return
	}
	for f.More() {
		q := r.pool.Get()
		f.Next(q)
		if q.Len()-ip6FrameStart > out.mtu {
			r.icmpError6(st, in, q, header.ICMPv6PacketTooBig, 0, uint32(out.mtu), 1, now)
			r.drop(out, q, packet.DropMTU)
			continue
		}
		r.transmit6(tx, st, out, nh, gw, q, true, now)
	}
	r.pool.Put(p)
}
