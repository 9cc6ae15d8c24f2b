package l3

import (
	"net/netip"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// allNodes is ff02::1, where advertisements answering duplicate address
// detection go (RFC 4861 section 7.2.4).
var allNodes = netip.MustParseAddr("ff02::1")

// ip6FrameStart is where the IPv6 header of a frame the stack builds
// starts; its payload starts at ip6Payload.
const (
	ip6FrameStart = header.EthernetSize
	ip6Payload    = ip6FrameStart + header.IPv6Size
)

// newIPv6 returns a packet holding an Ethernet header (addresses unset) and
// an IPv6 header for a payload of n bytes, and the payload.
func (r *Router) newIPv6(src, dst netip.Addr, next, hop uint8, n int) (*packet.Packet, []byte) {
	p := r.pool.Get()
	p.SetLen(ip6Payload + n)
	b := p.Bytes()
	header.Ethernet(b).SetType(header.EtherTypeIPv6)
	header.IPv6(b[ip6FrameStart:]).Encode(&header.IPv6Fields{
		PayloadLen: uint16(n), NextHeader: next, HopLimit: hop, Src: src, Dst: dst,
	})
	return p, b[ip6Payload:]
}

// solicit sends a neighbour solicitation for target out of ifc: to its
// solicited-node group, or with unicast set, to target at mac (a probe of
// a stale entry).
func (r *Router) solicit(ifc *iface, target netip.Addr, mac header.MAC, unicast bool) {
	src, ok := ifc.src6(target)
	if !ok {
		return
	}
	dst := header.SolicitedNodeAddr(target)
	dmac := header.IPv6MulticastMAC(dst)
	if unicast {
		dst, dmac = target, mac
	}
	f := header.NDPFields{Type: header.ICMPv6NeighborSolicit, Target: target, LinkLayer: ifc.mac, HasLinkLayer: true}
	p, body := r.newIPv6(src, dst, header.ProtoICMPv6, header.NDPHopLimit, f.Len())
	header.NDP(body).Encode(&f, src, dst)
	r.emit(nil, ifc, p, dmac)
}

// inputNS answers a neighbour solicitation for one of in's addresses (RFC
// 4861 section 7.2.3) and learns the solicitor's link-layer address. It
// takes p; ip is its IPv6 header and nd the message.
func (r *Router) inputNS(st *state, in *iface, p *packet.Packet, ip header.IPv6, nd header.NDP, now int64) {
	src, dst, target := ip.Src(), ip.Dst(), nd.Target()
	sll, hasSLL := nd.LinkLayerOption(header.NDPOptionSourceLinkLayer)
	dad := src.IsUnspecified()
	switch {
	case target.IsMulticast() || (dad && (hasSLL || !dst.IsMulticast())):
		r.drop(in, p, packet.DropMalformed)
		return
	case !in.hasAddr(target):
		r.drop(in, p, packet.DropNotForUs)
		return
	}
	if hasSLL && !dad {
		r.learn6(st, in, src, sll, now/1e9)
	}
	r.pool.Put(p)

	flags := header.NDPFlagOverride
	if r.fwd6.Load() {
		flags |= header.NDPFlagRouter
	}
	naDst := src
	if dad {
		// Duplicate address detection for an address we hold: answer
		// to all nodes, unsolicited, so the newcomer backs off. hostnet
		// does not run DAD for its own addresses.
		naDst = allNodes
	} else {
		flags |= header.NDPFlagSolicited
	}
	f := header.NDPFields{Type: header.ICMPv6NeighborAdvert, Flags: flags, Target: target, LinkLayer: in.mac, HasLinkLayer: true}
	q, body := r.newIPv6(target, naDst, header.ProtoICMPv6, header.NDPHopLimit, f.Len())
	header.NDP(body).Encode(&f, target, naDst)
	switch {
	case dad:
		r.emit(nil, in, q, header.IPv6MulticastMAC(naDst))
	case hasSLL:
		r.emit(nil, in, q, sll)
	default:
		// A unicast probe without the option: resolve the asker.
		a := src.As16()
		r.transmit6(nil, st, in, a[:], nil, q, false, now)
	}
}

// inputNA processes a neighbour advertisement (RFC 4861 section 7.2.5).
// It takes p.
func (r *Router) inputNA(st *state, in *iface, p *packet.Packet, ip header.IPv6, nd header.NDP, now int64) {
	target := nd.Target()
	if target.IsMulticast() || (nd.IsSolicited() && ip.Dst().IsMulticast()) {
		r.drop(in, p, packet.DropMalformed)
		return
	}
	if in.hasAddr(target) {
		// Someone else claims our address. XXX OpenBSD logs the
		// duplicate; hostnet keeps the address and drops the claim.
		r.drop(in, p, packet.DropNotForUs)
		return
	}
	tll, hasTLL := nd.LinkLayerOption(header.NDPOptionTargetLinkLayer)
	solicited, override := nd.IsSolicited(), nd.IsOverride()
	r.pool.Put(p)
	r.learnNA(st, in, target, tll, hasTLL, solicited, override, now/1e9)
}

// learn6 records a link-layer address from a solicitation's source option:
// a new entry is created stale, a changed address makes it stale, and an
// incomplete entry is completed and its held packets sent.
func (r *Router) learn6(st *state, in *iface, a netip.Addr, mac header.MAC, nowSec int64) {
	k := keyOf(a, in.index)
	sh := r.nd.shard(k)
	sh.mu.Lock()
	e := r.nd.getLocked(sh, k, a, in.index, true)
	if e == nil || e.static || e.ifindex != in.index {
		sh.mu.Unlock()
		return
	}
	var held []*packet.Packet
	if e.state == Incomplete || e.mac != mac {
		e.mac = mac
		e.state = Stale
		e.asked = 0
		e.used.Store(nowSec)
		held = r.nd.purgeLocked(e)
		e.publishLocked()
	}
	sh.mu.Unlock()
	r.sendHeld(st, in.index, mac, held)
}

// learnNA applies an advertisement to an existing entry; advertisements
// never create entries.
func (r *Router) learnNA(st *state, in *iface, a netip.Addr, mac header.MAC, hasMAC, solicited, override bool, nowSec int64) {
	k := keyOf(a, in.index)
	sh := r.nd.shard(k)
	sh.mu.Lock()
	e := sh.m[k]
	if e == nil || e.static || e.ifindex != in.index {
		sh.mu.Unlock()
		return
	}
	var held []*packet.Packet
	switch {
	case e.state == Incomplete:
		if !hasMAC {
			break
		}
		e.mac = mac
		e.state = Stale
		if solicited {
			e.state = Reachable
			e.expire = nowSec + ndReachableTime
		}
		e.probed.Store(neverProbed)
		e.probes = 0
		e.asked = 0
		e.used.Store(nowSec)
		held = r.nd.purgeLocked(e)
	case hasMAC && mac != e.mac && !override:
		// A different address without the override flag: keep ours, but
		// stop trusting it.
		if e.state == Reachable {
			e.state = Stale
		}
	default:
		if hasMAC && mac != e.mac {
			e.mac = mac
			e.state = Stale
		}
		if solicited {
			e.state = Reachable
			e.expire = nowSec + ndReachableTime
			e.probed.Store(neverProbed)
			e.probes = 0
		}
	}
	mac = e.mac
	e.publishLocked()
	sh.mu.Unlock()
	r.sendHeld(st, in.index, mac, held)
}
