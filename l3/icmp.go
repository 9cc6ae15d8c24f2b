package l3

import (
	"net/netip"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// TTLs of what the stack originates, OpenBSD's: ICMP messages go out with
// MAXTTL (icmp_reflect), TCP resets with ip_defttl, IPv6 with
// ip6_defhlim.
const (
	icmpTTL  = 255
	defTTL   = 64
	defHLim  = 64
	ip4Start = header.EthernetSize
	ip4Body  = ip4Start + header.IPv4MinSize
)

// newIPv4 returns a packet holding an Ethernet header (addresses unset) and
// an option-less IPv4 header for a payload of n bytes, and the payload.
func (r *Router) newIPv4(src, dst netip.Addr, proto, ttl uint8, n int) (*packet.Packet, []byte) {
	p := r.pool.Get()
	p.SetLen(ip4Body + n)
	b := p.Bytes()
	header.Ethernet(b).SetType(header.EtherTypeIPv4)
	header.IPv4(b[ip4Start:]).Encode(&header.IPv4Fields{
		TotalLen: uint16(header.IPv4MinSize + n), ID: r.nextID(), TTL: ttl, Protocol: proto, Src: src, Dst: dst,
	})
	return p, b[ip4Body:]
}

// send4 routes and sends an IPv4 packet the host originates, fragmenting
// it if it is too big for the egress interface. It takes p.
func (r *Router) send4(st *state, p *packet.Packet, now int64) {
	b := p.Bytes()
	dst := b[ip4Start+16 : ip4Start+20]
	rt := st.rt4.lookup(dst)
	if rt == nil || rt.flags&RouteLocal != 0 {
		r.drop(nil, p, packet.DropNoRoute)
		return
	}
	out := st.ifs[rt.ifindex]
	nh := dst
	if rt.flags&RouteGateway != 0 {
		nh = rt.gwb[:4]
	}
	if int(header.IPv4(b[ip4Start:]).TotalLen()) > out.mtu {
		r.fragment4(st, out, nh, rt.gwc, p, nil, now)
		return
	}
	r.transmit4(nil, st, out, nh, rt.gwc, p, nil, now)
}

// send6 routes and sends an IPv6 packet the host originates; in is the
// interface a link-local destination is on. It takes p.
func (r *Router) send6(st *state, in *iface, p *packet.Packet, now int64) {
	b := p.Bytes()
	dst := b[ip6FrameStart+24 : ip6FrameStart+40]
	out := in
	nh := dst
	var gw *gateway
	if !(dst[0] == 0xfe && dst[1]&0xc0 == 0x80) {
		rt := st.rt6.lookup(dst)
		if rt == nil || rt.flags&RouteLocal != 0 {
			r.drop(nil, p, packet.DropNoRoute)
			return
		}
		out = st.ifs[rt.ifindex]
		if rt.flags&RouteGateway != 0 {
			nh = rt.gwb[:16]
		}
		gw = rt.gwc
	}
	if p.Len()-ip6FrameStart > out.mtu {
		// The host sends nothing bigger than what it answers; an echo
		// reply to a bigger interface could be, and is dropped.
		r.drop(out, p, packet.DropMTU)
		return
	}
	r.transmit6(nil, st, out, nh, gw, p, false, now)
}

// isBroadcast4 reports whether a is a broadcast or multicast destination
// for the host: the limited broadcast, a group, or a connected network's
// broadcast address.
func isBroadcast4(st *state, a netip.Addr) bool {
	if a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return true
	}
	rt := st.rt4.lookupAddr(a)
	return rt != nil && rt.flags&RouteBroadcast != 0
}

// icmpError4 sends an ICMP error of type typ and code about the IPv4
// packet in p (network header at EthernetSize), quoting its header and
// the first 8 bytes of its payload (RFC 792). rest is the word after the
// checksum (the next-hop MTU of fragmentation needed, RFC 1191). ttlBack
// is added back to the quoted TTL, so that the quote shows the packet as
// it arrived. It borrows p.
func (r *Router) icmpError4(st *state, p *packet.Packet, typ header.ICMPv4Type, code header.ICMPv4Code, rest uint32, ttlBack uint8, now int64) {
	b := p.Bytes()
	r.icmpErrorIP4(st, b[ip4Start:], header.Ethernet(b).Dst().IsMulticast(), typ, code, rest, ttlBack, now)
}

// icmpErrorIP4 is icmpError4 for the packet whose IPv4 header (and at
// least 8 bytes after it, or all of it) is in b; linkMcast says it came in
// a link-layer broadcast or multicast frame. It borrows b.
//
// As RFC 1122 section 3.2.2 and RFC 1812 section 4.3.2.7 require, no error
// is sent about an ICMP error, a packet to a broadcast or multicast
// address (IP or link layer), a packet from an address that does not name
// one host (or from the host itself), or a fragment other than the first;
// and at most icmpErrPPS a second.
func (r *Router) icmpErrorIP4(st *state, b []byte, linkMcast bool, typ header.ICMPv4Type, code header.ICMPv4Code, rest uint32, ttlBack uint8, now int64) {
	if len(b) < header.IPv4MinSize {
		return
	}
	ip := header.IPv4(b)
	hl := ip.HeaderLen()
	total := min(int(ip.TotalLen()), len(b))
	if hl > total {
		return
	}
	src, dst := ip.Src(), ip.Dst()
	switch {
	case ip.FragOff() != 0:
		return
	case ip.Protocol() == header.ProtoICMP && total >= hl+1 && header.ICMPv4Type(b[hl]).IsError():
		return
	case linkMcast, isBroadcast4(st, dst):
		return
	case !src.IsGlobalUnicast() && !src.IsLinkLocalUnicast(), isBroadcast4(st, src), isLocal4(st, src):
		return
	case !r.icmp4.allow(now):
		return
	}
	rt := st.rt4.lookupAddr(src)
	if rt == nil || rt.flags&RouteLocal != 0 {
		return
	}
	out := st.ifs[rt.ifindex]
	nh := src
	if rt.flags&RouteGateway != 0 {
		nh = rt.gw
	}
	from, ok := dst, isLocal4(st, dst)
	if !ok {
		if from, ok = out.src4(nh); !ok {
			return
		}
	}
	quote := min(total, hl+8)
	q, body := r.newIPv4(from, src, header.ProtoICMP, icmpTTL, header.ICMPv4MinSize+quote)
	copy(body[header.ICMPv4MinSize:], b[:quote])
	if ttlBack != 0 {
		qip := header.IPv4(body[header.ICMPv4MinSize:])
		qip.SetTTL(qip.TTL() + ttlBack)
		qip.UpdateChecksum()
	}
	header.ICMPv4(body).Encode(&header.ICMPv4Fields{Type: typ, Code: code, Rest: rest})
	r.send4(st, q, now)
}

// echoReply4 turns the echo request in p into its reply, in place (as
// icmp_reflect does): addresses swapped, options dropped, TTL 255, a new
// identification. It takes p.
func (r *Router) echoReply4(st *state, in *iface, p *packet.Packet, now int64) {
	b := p.Bytes()
	ip := header.IPv4(b[ip4Start:])
	hl := ip.HeaderLen()
	src, dst, tos := ip.Src(), ip.Dst(), ip.TOS()
	if hl > header.IPv4MinSize {
		n := copy(b[ip4Body:], b[ip4Start+hl:])
		p.SetLen(ip4Body + n)
		b = p.Bytes()
	}
	p.Meta.L4 = ip4Body
	icmp := header.ICMPv4(b[ip4Body:])
	icmp.SetChecksum(header.Update16(icmp.Checksum(), uint16(header.ICMPv4Echo)<<8, uint16(header.ICMPv4EchoReply)<<8))
	icmp.SetType(header.ICMPv4EchoReply)
	header.IPv4(b[ip4Start:]).Encode(&header.IPv4Fields{
		TOS: tos, TotalLen: uint16(len(b) - ip4Start), ID: r.nextID(), TTL: icmpTTL,
		Protocol: header.ProtoICMP, Src: dst, Dst: src,
	})
	r.send4(st, p, now)
}

// rstFields computes a reset answering TCP segment t carrying n payload
// bytes (tcp_respond, RFC 793 "Reset Generation"): a segment with ACK
// gets a RST at its acknowledgment number, any other a RST|ACK
// acknowledging it.
func rstFields(t header.TCP, n int) header.TCPFields {
	f := header.TCPFields{SrcPort: t.DstPort(), DstPort: t.SrcPort()}
	if t.Flags()&header.TCPFlagACK != 0 {
		f.Seq = t.Ack()
		f.Flags = header.TCPFlagRST
		return f
	}
	ack := t.Seq() + uint32(n)
	if t.Flags()&header.TCPFlagSYN != 0 {
		ack++
	}
	if t.Flags()&header.TCPFlagFIN != 0 {
		ack++
	}
	f.Ack = ack
	f.Flags = header.TCPFlagRST | header.TCPFlagACK
	return f
}

// tcpReset4 answers a TCP segment to a port nothing listens on with a
// reset, at most rstPPS a second. It borrows p.
func (r *Router) tcpReset4(st *state, p *packet.Packet, now int64) {
	b := p.Bytes()
	ip := header.IPv4(b[ip4Start:])
	t := header.TCP(b[p.Meta.L4:])
	if !t.IsValid() || !r.rst.allow(now) {
		return
	}
	src, dst := ip.Src(), ip.Dst()
	n := int(ip.TotalLen()) - ip.HeaderLen() - t.DataOffset()
	f := rstFields(t, n)
	q, body := r.newIPv4(dst, src, header.ProtoTCP, defTTL, header.TCPMinSize)
	th := header.TCP(body)
	th.Encode(&f)
	th.SetChecksum(th.ComputeChecksum(header.PseudoHeaderChecksum(header.ProtoTCP, dst, src, header.TCPMinSize)))
	r.send4(st, q, now)
}

// icmpError6 sends an ICMPv6 error about the IPv6 packet in p, quoting as
// much of it as fits in the minimum MTU (RFC 4443 section 2.4 (c)). rest is
// the MTU of packet too big or the pointer of parameter problem; hopBack is
// added back to the quoted hop limit. It borrows p.
//
// No error is sent about an ICMPv6 error, a packet from the unspecified or
// a multicast address, a packet to a multicast address (IP or link layer;
// RFC 4443 section 2.4 (e) allows packet too big there, hostnet does not
// route multicast), or a non-first fragment; and at most icmpErrPPS a
// second.
func (r *Router) icmpError6(st *state, in *iface, p *packet.Packet, typ header.ICMPv6Type, code header.ICMPv6Code, rest uint32, hopBack uint8, now int64) {
	b := p.Bytes()
	ip := header.IPv6(b[ip6FrameStart:])
	total := min(header.IPv6Size+int(ip.PayloadLen()), len(b)-ip6FrameStart)
	src, dst := ip.Src(), ip.Dst()
	m := &p.Meta
	switch {
	case isLocal6(st, src):
		return // about a packet of our own
	case m.Frag&packet.FragIsFragment != 0 && m.FragOff != 0:
		return
	case m.Proto == header.ProtoICMPv6 && m.L4 != 0 && int(m.L4) < len(b) && header.ICMPv6Type(b[m.L4]).IsError():
		return
	case header.Ethernet(b).Dst().IsMulticast(), dst.IsMulticast():
		return
	case src.IsUnspecified(), src.IsMulticast(), src.IsLoopback():
		return
	case !r.icmp6.allow(now):
		return
	}
	if !src.IsLinkLocalUnicast() {
		// A link-local source goes back out of the interface the
		// packet came in on; any other is routed.
		in = nil
	} else if in == nil {
		return
	}
	from := dst
	if !isLocal6(st, dst) {
		out := in
		if out == nil {
			rt := st.rt6.lookupAddr(src)
			if rt == nil || rt.flags&RouteLocal != 0 {
				return
			}
			out = st.ifs[rt.ifindex]
		}
		var ok bool
		if from, ok = out.src6(src); !ok {
			return
		}
	}
	quote := min(total, header.ICMPv6ErrorMax-header.IPv6Size-header.ICMPv6MinSize)
	q, body := r.newIPv6(from, src, header.ProtoICMPv6, defHLim, header.ICMPv6MinSize+quote)
	copy(body[header.ICMPv6MinSize:], b[ip6FrameStart:ip6FrameStart+quote])
	if hopBack != 0 {
		qip := header.IPv6(body[header.ICMPv6MinSize:])
		qip.SetHopLimit(qip.HopLimit() + hopBack)
	}
	header.ICMPv6(body).Encode(&header.ICMPv6Fields{Type: typ, Code: code, Rest: rest}, from, src)
	r.send6(st, in, q, now)
}

// isLocal6 reports whether a is an address of any interface of the host.
func isLocal6(st *state, a netip.Addr) bool {
	for _, ifc := range st.ifs {
		if ifc != nil && ifc.hasAddr(a) {
			return true
		}
	}
	return false
}

// echoReply6 answers an ICMPv6 echo request in place. It takes p.
func (r *Router) echoReply6(st *state, in *iface, p *packet.Packet, now int64) {
	b := p.Bytes()
	ip := header.IPv6(b[ip6FrameStart:])
	src, dst := ip.Src(), ip.Dst()
	if src.IsUnspecified() || src.IsMulticast() {
		r.drop(in, p, packet.DropNotForUs)
		return
	}
	m := &p.Meta
	if int(m.L4) != ip6Payload {
		// Move the ICMPv6 message up over the extension headers: the
		// reply carries none.
		n := copy(b[ip6Payload:], b[m.L4:])
		p.SetLen(ip6Payload + n)
		b = p.Bytes()
	}
	m.L4 = ip6Payload
	icmp := header.ICMPv6(b[ip6Payload:])
	icmp.SetType(header.ICMPv6EchoReply)
	header.IPv6(b[ip6FrameStart:]).Encode(&header.IPv6Fields{
		TrafficClass: ip.TrafficClass(), PayloadLen: uint16(len(icmp)), NextHeader: header.ProtoICMPv6,
		HopLimit: defHLim, Src: dst, Dst: src,
	})
	icmp.UpdateChecksum(dst, src)
	r.send6(st, in, p, now)
}

// tcpReset6 is tcpReset4 for IPv6; in is the receiving interface.
func (r *Router) tcpReset6(st *state, in *iface, p *packet.Packet, now int64) {
	b := p.Bytes()
	ip := header.IPv6(b[ip6FrameStart:])
	t := header.TCP(b[p.Meta.L4:])
	if !t.IsValid() || !r.rst.allow(now) {
		return
	}
	src, dst := ip.Src(), ip.Dst()
	n := ip6FrameStart + header.IPv6Size + int(ip.PayloadLen()) - int(p.Meta.L4) - t.DataOffset()
	f := rstFields(t, n)
	q, body := r.newIPv6(dst, src, header.ProtoTCP, defHLim, header.TCPMinSize)
	th := header.TCP(body)
	th.Encode(&f)
	th.SetChecksum(th.ComputeChecksum(header.PseudoHeaderChecksum(header.ProtoTCP, dst, src, header.TCPMinSize)))
	r.send6(st, in, q, now)
}
