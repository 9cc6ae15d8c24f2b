package filter

import (
	"net/netip"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/filter/pfconf"
)

// icmpErrorsPerSecond is the stack's icmp_error rate limit.
const icmpErrorsPerSecond = 100

// buildReply builds the answer of a `block return`, `return-rst` or
// `return-icmp` rule r to the blocked packet p (PF.md 1.4) into reply:
// a TCP RST|ACK for TCP under return and return-rst (never to a RST, nor
// when the segment's checksum is bad), else an ICMP or ICMPv6
// unreachable with the rule's codes (never to an ICMP error, a fragment,
// a multicast or broadcast packet, an unspecified or multicast source).
// It reports whether it built one.
func (f *Filter) buildReply(r *rule, pd *pdesc, p *packet.Packet, reply *packet.Packet, now int64) bool {
	if pd.frag {
		return false
	}
	mode := r.r.Return
	if pd.proto == header.ProtoTCP && mode != pfconf.ReturnICMP && pd.flags&thRST == 0 {
		// A segment with a bad checksum gets nothing, not even the
		// ICMP answer (PF.md 0.8): pf_test_rule's RST branch checks the
		// checksum and does not fall through.
		if !tcpChecksumOK(pd, p) {
			return false
		}
		return buildRST(r, pd, p, reply)
	}
	if mode == pfconf.ReturnRST {
		return false
	}
	if pd.icmpErr || pd.af == 6 && pd.proto == header.ProtoICMPv6 && pd.icmpT == 137 {
		return false
	}
	src, dst := pd.osrc.Addr(), pd.odst.Addr()
	if !src.IsValid() || src.IsUnspecified() || src.IsMulticast() || dst.IsMulticast() {
		return false
	}
	if pd.af == 4 && (dst == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || isBroadcast(pd, dst)) {
		return false
	}
	if !f.icmpAllowed(now) {
		return false
	}
	return f.buildUnreach(r, pd, p, reply)
}

// isBroadcast reports whether dst is the broadcast address of one of the
// interface's IPv4 networks.
func isBroadcast(pd *pdesc, dst netip.Addr) bool {
	if pd.ife == nil {
		return false
	}
	for _, a := range pd.ife.Addrs {
		if !a.Addr().Is4() || a.Bits() >= 31 || !a.Contains(dst) {
			continue
		}
		m := a.Masked().Addr().As4()
		d := dst.As4()
		host := uint32(d[0])<<24 | uint32(d[1])<<16 | uint32(d[2])<<8 | uint32(d[3])
		net := uint32(m[0])<<24 | uint32(m[1])<<16 | uint32(m[2])<<8 | uint32(m[3])
		if host|net == host && host-net == 1<<(32-a.Bits())-1 {
			return true
		}
	}
	return false
}

// icmpAllowed applies the 100 per second limit of icmp_error.
func (f *Filter) icmpAllowed(now int64) bool {
	if f.icmpRate.sec.Swap(now) != now {
		f.icmpRate.n.Store(0)
	}
	return f.icmpRate.n.Add(1) <= icmpErrorsPerSecond
}

func tcpChecksumOK(pd *pdesc, p *packet.Packet) bool {
	m := &p.Meta
	if p.GSO.NeedsCsum {
		return true // a partial checksum is completed later; trust it
	}
	end := int(m.L3) + pd.iplen
	b := p.Bytes()
	if end > len(b) || int(m.L4) > end {
		return false
	}
	seg := b[m.L4:end]
	sum := header.PseudoHeaderChecksum(header.ProtoTCP, pd.osrc.Addr(), pd.odst.Addr(), uint32(len(seg)))
	return header.Checksum(seg, sum) == 0xffff
}

// buildRST builds pf_send_tcp's RST|ACK: from the blocked packet's
// destination to its source, seq = its ACK, ack = its seq + payload (+1
// for SYN, +1 for FIN), window 0, TTL from return-rst (ttl N) or 64 (IPv6:
// always 64), TOS lowdelay, DF set.
func buildRST(r *rule, pd *pdesc, p *packet.Packet, reply *packet.Packet) bool {
	m := &p.Meta
	th := header.TCP(p.Bytes()[m.L4:])
	seg := parseSeg(th, int(m.L3)+pd.iplen-int(m.L4))
	ack := seg.seq + seg.plen
	if seg.flags&thSYN != 0 {
		ack++
	}
	if seg.flags&thFIN != 0 {
		ack++
	}
	src, dst := pd.odst.Addr(), pd.osrc.Addr()
	ttl := uint8(64)
	if r.r.ReturnTTL != 0 && pd.af == 4 {
		ttl = r.r.ReturnTTL
	}
	reply.Reset()
	iph := header.IPv4MinSize
	if pd.af == 6 {
		iph = header.IPv6Size
	}
	n := iph + header.TCPMinSize
	reply.SetLen(n)
	b := reply.Bytes()
	t := header.TCP(b[iph:])
	t.Encode(&header.TCPFields{SrcPort: pd.odst.Port(), DstPort: pd.osrc.Port(),
		Seq: seg.ack, Ack: ack, Flags: thRST | thACK})
	t.SetChecksum(t.ComputeChecksum(header.PseudoHeaderChecksum(header.ProtoTCP, src, dst, header.TCPMinSize)))
	if pd.af == 4 {
		header.IPv4(b).Encode(&header.IPv4Fields{TOS: 0x10, TotalLen: uint16(n), Flags: header.IPv4FlagDF,
			TTL: ttl, Protocol: header.ProtoTCP, Src: src, Dst: dst})
	} else {
		header.IPv6(b).Encode(&header.IPv6Fields{TrafficClass: 0x10, PayloadLen: header.TCPMinSize,
			NextHeader: header.ProtoTCP, HopLimit: 64, Src: src, Dst: dst})
	}
	return true
}

// buildUnreach builds icmp_error's / icmp6_error's answer: the rule's
// unreachable code, quoting the IPv4 header plus 8 bytes (TTL 255), or as
// much of the IPv6 packet as fits in 1280 bytes (hop limit 64). The
// source is the blocked packet's destination when it is one of the
// host's addresses, else the receiving interface's address of the
// family, else the destination.
func (f *Filter) buildUnreach(r *rule, pd *pdesc, p *packet.Packet, reply *packet.Packet) bool {
	m := &p.Meta
	orig := p.Bytes()[m.L3:]
	if pd.iplen < len(orig) {
		orig = orig[:pd.iplen]
	}
	dst := pd.osrc.Addr()
	src := f.replySource(pd, int(p.InPort))
	reply.Reset()
	if pd.af == 4 {
		q := header.IPv4(orig).HeaderLen() + 8
		if q > len(orig) {
			q = len(orig)
		}
		n := header.IPv4MinSize + header.ICMPv4MinSize + q
		reply.SetLen(n)
		b := reply.Bytes()
		ic := header.ICMPv4(b[header.IPv4MinSize:])
		copy(ic[header.ICMPv4MinSize:], orig[:q])
		ic.Encode(&header.ICMPv4Fields{Type: header.ICMPv4Type(r.r.ReturnICMP4 >> 8), Code: header.ICMPv4Code(r.r.ReturnICMP4)})
		header.IPv4(b).Encode(&header.IPv4Fields{TotalLen: uint16(n), TTL: 255,
			Protocol: header.ProtoICMP, Src: src, Dst: dst})
		return true
	}
	q := len(orig)
	if max := header.IPv6MinMTU - header.IPv6Size - header.ICMPv6MinSize; q > max {
		q = max
	}
	n := header.IPv6Size + header.ICMPv6MinSize + q
	reply.SetLen(n)
	b := reply.Bytes()
	ic := header.ICMPv6(b[header.IPv6Size:])
	copy(ic[header.ICMPv6MinSize:], orig[:q])
	ic.Encode(&header.ICMPv6Fields{Type: header.ICMPv6Type(r.r.ReturnICMP6 >> 8), Code: header.ICMPv6Code(r.r.ReturnICMP6)}, src, dst)
	header.IPv6(b).Encode(&header.IPv6Fields{PayloadLen: uint16(header.ICMPv6MinSize + q),
		NextHeader: header.ProtoICMPv6, HopLimit: 64, Src: src, Dst: dst})
	return true
}

func (f *Filter) replySource(pd *pdesc, inport int) netip.Addr {
	dst := pd.odst.Addr()
	rs := f.rs.Load()
	if rs != nil {
		for _, a := range rs.ifs.Load().all {
			if a.Addr() == dst {
				return dst
			}
		}
	}
	// As icmp_reflect: an address of the interface the packet was
	// received on (the way back to its sender), else of the interface pf
	// blocked it on.
	pick := func(e *ifEntry) (netip.Addr, bool) {
		if e == nil {
			return netip.Addr{}, false
		}
		for _, a := range e.Addrs {
			if a.Addr().Is4() == dst.Is4() && !(a.Addr().Is6() && a.Addr().IsLinkLocalUnicast()) {
				return a.Addr(), true
			}
		}
		return netip.Addr{}, false
	}
	if rs != nil {
		if a, ok := pick(rs.ifs.Load().entry(inport)); ok {
			return a
		}
	}
	if a, ok := pick(pd.ife); ok {
		return a
	}
	return dst
}
