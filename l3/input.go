package l3

import (
	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// Input takes p, a frame received on interface ifindex that the dataplane
// hands to the stack: ARP, IPv4 or IPv6 addressed to the interface's MAC,
// broadcast or multicast, with p.Meta filled by packet.Parse and pf in
// already passed. now is the time in nanoseconds on a monotonic clock (the
// packet timestamps in replay). The stack answers, forwards or drops p;
// every drop is counted on the receiving interface (or, past the route
// lookup, the egress one) under its packet.DropReason. A forwarded packet
// leaves through tx (see Tx), which may be nil. Input is safe for
// concurrent use; forwarding a packet whose next hop is resolved does not
// allocate.
func (r *Router) Input(tx Tx, p *packet.Packet, ifindex int, now int64) {
	st := r.st.Load()
	in := st.iface(ifindex)
	if in == nil {
		r.drop(nil, p, packet.DropUnclaimed)
		return
	}
	r.countIn(tx, in.c, p.Len())
	m := &p.Meta
	if m.Kind == packet.KindUnknown {
		reason := m.Drop
		if reason == packet.DropNone {
			reason = packet.DropMalformed
		}
		r.drop(in, p, reason)
		return
	}
	eth := header.Ethernet(p.Bytes())
	if d := eth.Dst(); d != in.mac && !d.IsMulticast() {
		r.drop(in, p, packet.DropNotForUs)
		return
	}
	if m.L3 != header.EthernetSize {
		normalize(p)
	}
	switch m.Kind {
	case packet.KindIPv4:
		r.input4(tx, st, in, p, now)
	case packet.KindIPv6:
		r.input6(tx, st, in, p, now)
	case packet.KindARP:
		r.inputARP(st, in, p, now)
	default:
		r.drop(in, p, packet.DropUnclaimed)
	}
}

// normalize turns a tagged frame into an untagged one by moving the start
// of the frame to just before the network header, so that every frame the
// stack handles has its network header at EthernetSize. The EtherType is
// already in place (a tag sits before it); the addresses are copied.
func normalize(p *packet.Packet) {
	m := &p.Meta
	eth := header.Ethernet(p.Bytes())
	dst, src := eth.Dst(), eth.Src()
	d := int(m.L3) - header.EthernetSize
	eth = header.Ethernet(p.Pull(d))
	eth.SetDst(dst)
	eth.SetSrc(src)
	m.L3 = header.EthernetSize
	if m.L4 != 0 {
		m.L4 -= uint16(d)
	}
	m.NTags = 0
}

// trim cuts the frame to the network packet, dropping Ethernet padding and
// trailers, and returns the frame.
func trim(p *packet.Packet) []byte {
	if n := int(p.Meta.L3) + int(p.Meta.L3Len); p.Len() != n {
		p.SetLen(n)
	}
	return p.Bytes()
}

// input4 is ip_input after pf: local delivery, or forwarding.
func (r *Router) input4(tx Tx, st *state, in *iface, p *packet.Packet, now int64) {
	b := trim(p)
	if !header.IPv4(b[ip4Start:]).IsChecksumValid() {
		// ipv4_check drops a bad header checksum before anything else,
		// for forwarded packets as for the host's own.
		r.drop(in, p, packet.DropBadIPHeader)
		return
	}
	dst := b[header.EthernetSize+16 : header.EthernetSize+20]
	rt := st.rt4.lookup(dst)
	if rt != nil && rt.flags&(RouteLocal|RouteBroadcast) != 0 {
		r.local4(st, in, p, rt.ifindex, rt.flags&RouteBroadcast != 0, now)
		return
	}
	switch {
	case dst[0] == 255 && dst[1] == 255 && dst[2] == 255 && dst[3] == 255:
		r.local4(st, in, p, in.index, true, now)
		return
	case dst[0] >= 224 && dst[0] < 240:
		// Multicast: no group is joined and nothing is routed.
		r.drop(in, p, packet.DropNoListener)
		return
	case dst[0] >= 240 || dst[0] == 0 || dst[0] == 127 || header.Ethernet(b).Dst().IsMulticast():
		// Not forwardable (in_canforward), or a link-layer broadcast
		// of a unicast packet.
		r.drop(in, p, packet.DropNotForUs)
		return
	}
	if !r.fwd4.Load() {
		r.drop(in, p, packet.DropForwarding)
		return
	}
	if p.Meta.HasOptions && hasSourceRoute(header.IPv4(b[ip4Start:]).Options()) {
		// Source routing is off (OpenBSD's ip_dosourceroute=0): the
		// packet is refused with source route failed.
		r.icmpError4(st, p, header.ICMPv4DstUnreachable, header.ICMPv4SourceRouteFailed, 0, 0, now)
		r.drop(in, p, packet.DropNoRoute)
		return
	}
	r.forward4(tx, st, in, p, rt, now)
}

// hasSourceRoute reports whether IPv4 options opts (as Parse checked
// them) hold a loose or strict source route (RFC 791).
func hasSourceRoute(opts []byte) bool {
	for i := 0; i < len(opts); {
		switch opts[i] {
		case 0: // end of option list
			return false
		case 1: // no operation
			i++
			continue
		case 0x83, 0x89: // LSRR, SSRR
			return true
		}
		if i+1 >= len(opts) || opts[i+1] < 2 {
			return false
		}
		i += int(opts[i+1])
	}
	return false
}

// forward4 is ip_forward: TTL, route, pf out, MTU, next hop. It takes p.
func (r *Router) forward4(tx Tx, st *state, in *iface, p *packet.Packet, rt *rtEntry, now int64) {
	b := p.Bytes()
	ip := header.IPv4(b[header.EthernetSize:])
	if ip.TTL() <= 1 {
		r.icmpError4(st, p, header.ICMPv4TimeExceeded, header.ICMPv4TTLExceeded, 0, 0, now)
		r.drop(in, p, packet.DropTTL)
		return
	}
	if rt == nil {
		// OpenBSD answers a missing route with host unreachable.
		r.icmpError4(st, p, header.ICMPv4DstUnreachable, header.ICMPv4HostUnreachable, 0, 0, now)
		r.drop(in, p, packet.DropNoRoute)
		return
	}
	ip.DecTTL()
	out := st.ifs[rt.ifindex]
	size := int(ip.TotalLen())
	if size > out.mtu && ip.DF() {
		// Checked before pf out, so that the quote is the packet as it
		// arrived (OpenBSD quotes its copy from before pf); a packet pf
		// out would block gets the error too.
		r.icmpError4(st, p, header.ICMPv4DstUnreachable, header.ICMPv4FragmentationNeeded, uint32(out.mtu), 1, now)
		r.drop(out, p, packet.DropMTU)
		return
	}
	// orig is what an error found later quotes: the header and 8 bytes,
	// copied before pf out may translate them.
	orig := b[ip4Start : ip4Start+min(size, ip.HeaderLen()+8)]
	var snap [header.IPv4MaxSize + 8]byte
	if r.filter != nil {
		orig = snap[:copy(snap[:], orig)]
		switch r.filterOut(tx, out.index, p) {
		case packet.Drop:
			r.drop(out, p, packet.DropFilter)
			return
		case packet.Taken:
			return
		}
		b = p.Bytes()
		ip = header.IPv4(b[ip4Start:])
		if [4]byte(b[ip4Start+16:]) != [4]byte(orig[16:20]) {
			// pf redirected the packet: route it again.
			if rt = st.rt4.lookup(b[ip4Start+16:]); rt == nil || rt.flags&(RouteLocal|RouteBroadcast) != 0 {
				r.icmpErrorIP4(st, orig, false, header.ICMPv4DstUnreachable, header.ICMPv4HostUnreachable, 0, 1, now)
				r.drop(out, p, packet.DropNoRoute)
				return
			}
			out = st.ifs[rt.ifindex]
		}
		size = int(ip.TotalLen())
	}
	nh := b[ip4Start+16 : ip4Start+20]
	if rt.flags&RouteGateway != 0 {
		nh = rt.gwb[:4]
	}
	if size > out.mtu {
		if ip.DF() {
			r.icmpErrorIP4(st, orig, false, header.ICMPv4DstUnreachable, header.ICMPv4FragmentationNeeded, uint32(out.mtu), 1, now)
			r.drop(out, p, packet.DropMTU)
			return
		}
		r.fragment4(st, out, nh, rt.gwc, p, orig, now)
		return
	}
	r.transmit4(tx, st, out, nh, rt.gwc, p, orig, now)
}

// local4 delivers a packet addressed to the host: to owner's address, or a
// broadcast. It takes p.
func (r *Router) local4(st *state, in *iface, p *packet.Packet, owner int, bcast bool, now int64) {
	if owner != in.index && !r.fwd4.Load() {
		// Without forwarding, the host is a strong end system: only
		// the receiving interface's own addresses are accepted
		// (ip_input's "wrong interface").
		r.drop(in, p, packet.DropNotForUs)
		return
	}
	m := &p.Meta
	if m.Frag&packet.FragIsFragment != 0 {
		// hostnet does not reassemble: nothing local takes fragments.
		r.drop(in, p, packet.DropFragment)
		return
	}
	b := p.Bytes()
	src := header.IPv4(b[ip4Start:]).Src()
	if !src.IsGlobalUnicast() && !src.IsLinkLocalUnicast() {
		// No answer to 0.0.0.0, multicast, broadcast or loopback
		// sources.
		r.drop(in, p, packet.DropNotForUs)
		return
	}
	switch m.Proto {
	case header.ProtoICMP:
		if m.L4 == 0 {
			r.drop(in, p, packet.DropMalformed)
			return
		}
		icmp := header.ICMPv4(b[m.L4:])
		if !icmp.IsValid() || !icmp.IsChecksumValid() {
			r.drop(in, p, packet.DropMalformed)
			return
		}
		if icmp.Type() == header.ICMPv4Echo && icmp.Code() == 0 && !bcast {
			r.echoReply4(st, in, p, now)
			return
		}
		// Echo to a broadcast (icmpbmcastecho is 0), replies and
		// errors: nothing here listens.
	case header.ProtoUDP:
		if !bcast {
			r.icmpError4(st, p, header.ICMPv4DstUnreachable, header.ICMPv4PortUnreachable, 0, 0, now)
		}
	case header.ProtoTCP:
		if !bcast && m.L4 != 0 && m.TCPFlags&header.TCPFlagRST == 0 {
			r.tcpReset4(st, p, now)
		}
	default:
		if !bcast {
			r.icmpError4(st, p, header.ICMPv4DstUnreachable, header.ICMPv4ProtoUnreachable, 0, 0, now)
		}
	}
	r.drop(in, p, packet.DropNoListener)
}

// input6 is ip6_input after pf: local delivery, neighbour discovery, or
// forwarding.
func (r *Router) input6(tx Tx, st *state, in *iface, p *packet.Packet, now int64) {
	b := trim(p)
	ip := header.IPv6(b[header.EthernetSize:])
	dst := b[header.EthernetSize+24 : header.EthernetSize+40]
	switch {
	case dst[0] == 0xff:
		// Multicast: all nodes, or the solicited-node group of one of
		// our addresses; nothing else is joined.
		d := ip.Dst()
		if d == allNodes || in.hasSolicitedNode(d) {
			r.local6(st, in, p, true, now)
			return
		}
		r.drop(in, p, packet.DropNoListener)
		return
	case dst[0] == 0xfe && dst[1]&0xc0 == 0x80:
		// Link-local: ours on this link, or no one's; never forwarded.
		if in.ll.IsValid() && [16]byte(dst) == in.ll.As16() {
			r.local6(st, in, p, false, now)
			return
		}
		r.drop(in, p, packet.DropNotForUs)
		return
	}
	rt := st.rt6.lookup(dst)
	if rt != nil && rt.flags&RouteLocal != 0 {
		if rt.ifindex != in.index && !r.fwd6.Load() {
			r.drop(in, p, packet.DropNotForUs)
			return
		}
		r.local6(st, in, p, false, now)
		return
	}
	if header.Ethernet(b).Dst().IsMulticast() {
		r.drop(in, p, packet.DropNotForUs)
		return
	}
	if !r.fwd6.Load() {
		r.drop(in, p, packet.DropForwarding)
		return
	}
	r.forward6(tx, st, in, p, rt, now)
}

// forward6 is ip6_forward. It takes p.
func (r *Router) forward6(tx Tx, st *state, in *iface, p *packet.Packet, rt *rtEntry, now int64) {
	b := p.Bytes()
	ip := header.IPv6(b[header.EthernetSize:])
	src := b[header.EthernetSize+8 : header.EthernetSize+24]
	switch {
	case src[0] == 0xff || (src[0] == 0 && isZeroOrOne(src)):
		// Multicast, unspecified or loopback: no packet comes from
		// there.
		r.drop(in, p, packet.DropNotForUs)
		return
	case src[0] == 0xfe && src[1]&0xc0 == 0x80:
		// A link-local source cannot leave its link (RFC 4291 section
		// 2.5.6): beyond scope.
		r.icmpError6(st, in, p, header.ICMPv6DstUnreachable, header.ICMPv6BeyondScope, 0, 0, now)
		r.drop(in, p, packet.DropNoRoute)
		return
	}
	if ip.HopLimit() <= 1 {
		r.icmpError6(st, in, p, header.ICMPv6TimeExceeded, header.ICMPv6HopLimitExceeded, 0, 0, now)
		r.drop(in, p, packet.DropTTL)
		return
	}
	if rt == nil {
		r.icmpError6(st, in, p, header.ICMPv6DstUnreachable, header.ICMPv6NoRoute, 0, 0, now)
		r.drop(in, p, packet.DropNoRoute)
		return
	}
	ip.SetHopLimit(ip.HopLimit() - 1)
	out := st.ifs[rt.ifindex]
	if header.IPv6Size+int(ip.PayloadLen()) > out.mtu {
		// Checked before pf out, as for IPv4's fragmentation needed.
		r.icmpError6(st, in, p, header.ICMPv6PacketTooBig, 0, uint32(out.mtu), 1, now)
		r.drop(out, p, packet.DropMTU)
		return
	}
	if r.filter != nil {
		old := [16]byte(b[header.EthernetSize+24:])
		switch r.filterOut(tx, out.index, p) {
		case packet.Drop:
			r.drop(out, p, packet.DropFilter)
			return
		case packet.Taken:
			return
		}
		b = p.Bytes()
		ip = header.IPv6(b[header.EthernetSize:])
		if [16]byte(b[header.EthernetSize+24:]) != old {
			// XXX the errors below quote the packet as pf left it.
			if rt = st.rt6.lookup(b[header.EthernetSize+24:]); rt == nil || rt.flags&RouteLocal != 0 {
				r.icmpError6(st, in, p, header.ICMPv6DstUnreachable, header.ICMPv6NoRoute, 0, 1, now)
				r.drop(out, p, packet.DropNoRoute)
				return
			}
			out = st.ifs[rt.ifindex]
			if header.IPv6Size+int(ip.PayloadLen()) > out.mtu {
				r.icmpError6(st, in, p, header.ICMPv6PacketTooBig, 0, uint32(out.mtu), 1, now)
				r.drop(out, p, packet.DropMTU)
				return
			}
		}
	}
	nh := b[header.EthernetSize+24 : header.EthernetSize+40]
	if rt.flags&RouteGateway != 0 {
		nh = rt.gwb[:16]
	}
	r.transmit6(tx, st, out, nh, rt.gwc, p, true, now)
}

// local6 delivers a packet to the host: to one of its addresses, or to a
// group it is in (mcast). It takes p.
func (r *Router) local6(st *state, in *iface, p *packet.Packet, mcast bool, now int64) {
	m := &p.Meta
	if m.Frag&packet.FragIsFragment != 0 {
		r.drop(in, p, packet.DropFragment)
		return
	}
	b := p.Bytes()
	ip := header.IPv6(b[header.EthernetSize:])
	switch m.Proto {
	case header.ProtoICMPv6:
		if m.L4 == 0 {
			r.drop(in, p, packet.DropMalformed)
			return
		}
		icmp := header.ICMPv6(b[m.L4:])
		if !icmp.IsValid() || !icmp.IsChecksumValid(ip.Src(), ip.Dst()) {
			r.drop(in, p, packet.DropMalformed)
			return
		}
		switch icmp.Type() {
		case header.ICMPv6EchoRequest:
			if !mcast && icmp.Code() == 0 {
				r.echoReply6(st, in, p, now)
				return
			}
		case header.ICMPv6NeighborSolicit, header.ICMPv6NeighborAdvert:
			nd := header.NDP(icmp)
			if ip.HopLimit() != header.NDPHopLimit || !nd.IsValid() {
				// RFC 4861 section 7.1: a message that crossed a
				// router, or a malformed one, is dropped.
				r.drop(in, p, packet.DropMalformed)
				return
			}
			if icmp.Type() == header.ICMPv6NeighborSolicit {
				r.inputNS(st, in, p, ip, nd, now)
			} else {
				r.inputNA(st, in, p, ip, nd, now)
			}
			return
		}
	case header.ProtoUDP:
		if !mcast {
			r.icmpError6(st, in, p, header.ICMPv6DstUnreachable, header.ICMPv6PortUnreachable, 0, 0, now)
		}
	case header.ProtoTCP:
		if !mcast && m.L4 != 0 && m.TCPFlags&header.TCPFlagRST == 0 {
			r.tcpReset6(st, in, p, now)
		}
	case header.ProtoNoNext:
	default:
		if !mcast {
			r.icmpError6(st, in, p, header.ICMPv6ParamProblem, header.ICMPv6UnknownNextHeader, nextHeaderPointer(b[header.EthernetSize:]), 0, now)
		}
	}
	r.drop(in, p, packet.DropNoListener)
}

// isZeroOrOne reports whether the 16 bytes of a are :: or ::1.
func isZeroOrOne(a []byte) bool {
	for _, c := range a[:15] {
		if c != 0 {
			return false
		}
	}
	return a[15] <= 1
}

// nextHeaderPointer returns the offset in the IPv6 packet ip of the Next
// Header field that names the last header, for a parameter problem (RFC
// 4443 section 3.4).
func nextHeaderPointer(ip []byte) uint32 {
	ptr, nh, off := 6, ip[6], header.IPv6Size
	for header.IsIPv6ExtHeader(nh) && off+8 <= len(ip) {
		n := header.IPv6ExtHeaderLen(nh, ip[off:])
		ptr, nh = off, ip[off]
		off += n
	}
	return uint32(ptr)
}
