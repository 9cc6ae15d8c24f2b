package l3

import (
	"net/netip"
	"sync/atomic"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// Every packet the stack sends has its Ethernet header at the start of the
// frame and the network header right after it; transmit fills in the
// addresses once the next hop is resolved.

// drop counts p as dropped for reason on interface ifc, or on the stack's
// own counters when there is none, and Puts it.
func (r *Router) drop(ifc *iface, p *packet.Packet, reason packet.DropReason) {
	if ifc != nil {
		ifc.c.Drop(reason)
	} else {
		r.own.Drop(reason)
	}
	r.pool.Put(p)
}

// dropAll drops every packet of ps, counted on interface ifindex.
func (r *Router) dropAll(ifindex int, ps []*packet.Packet, reason packet.DropReason) {
	ifc := r.st.Load().iface(ifindex)
	for _, p := range ps {
		r.drop(ifc, p, reason)
	}
}

// emit sends p out of ifc to dst MAC. It takes p.
func (r *Router) emit(tx Tx, ifc *iface, p *packet.Packet, dst header.MAC) {
	b := p.Bytes()
	// Whole-array stores: copy() of six bytes would call memmove.
	*(*header.MAC)(b[0:6]) = dst
	*(*header.MAC)(b[6:12]) = ifc.mac
	if tx != nil {
		tx.Tally().Out(ifc.c, len(b))
		tx.Output(ifc.index, p)
		return
	}
	ifc.c.CountOut(len(b))
	r.out.Output(ifc.index, p)
}

// sendHeld sends packets released from a hold queue to mac.
func (r *Router) sendHeld(st *state, ifindex int, mac header.MAC, held []*packet.Packet) {
	ifc := st.iface(ifindex)
	for _, p := range held {
		if ifc == nil {
			r.pool.Put(p)
			continue
		}
		r.emit(nil, ifc, p, mac)
	}
}

// v4key returns the cache key of the IPv4 address in b[0:4].
func v4key(b []byte) nkey {
	var k nkey
	k.a[10], k.a[11] = 0xff, 0xff
	copy(k.a[12:], b[:4])
	return k
}

// gateway caches a gateway's neighbour entry for the routes through it,
// as OpenBSD's rt_gwroute does: a forwarded packet finds its next hop's
// link-layer address without a cache lookup. The entry may be stale (it
// was removed); transmit4 and transmit6 then look it up again.
type gateway struct{ e atomic.Pointer[entry] }

// transmit4 sends IPv4 packet p out of out to next hop nh, resolving nh
// with ARP or holding p until it is resolved; gw is the gateway's cache
// slot when nh is a route's gateway. orig is set when p is forwarded: the
// packet's IP header and 8 bytes as they arrived (before pf out), so that
// a rejected next hop earns its source an ICMP host unreachable quoting
// them (OpenBSD's mcopy); transmit4 uses it only before returning. It
// takes p. With the next hop resolved it does not allocate.
func (r *Router) transmit4(tx Tx, st *state, out *iface, nh []byte, gw *gateway, p *packet.Packet, orig []byte, now int64) {
	nowSec := now / 1e9
	if gw != nil {
		if e := gw.e.Load(); e != nil && r.hit4(tx, e, out, p, nowSec) {
			return
		}
	}
	k := v4key(nh)
	if e := r.arp.shard(k).lookup(k); e != nil {
		if gw != nil && gw.e.Load() != e {
			gw.e.Store(e)
		}
		if r.hit4(tx, e, out, p, nowSec) {
			return
		}
	}
	r.resolve4(tx, st, out, k, p, orig, now)
}

// hit4 sends p to e's address and reports true if e is resolved and
// fresh; it takes p only then.
func (r *Router) hit4(tx Tx, e *entry, out *iface, p *packet.Packet, nowSec int64) bool {
	l := e.fast.Load()
	if l == nil || l.ifindex != out.index || (!l.static && l.expire <= nowSec) {
		return false
	}
	// Refresh an entry in use when its expiry gets close, at most every
	// arpRefreshGap seconds (OpenBSD's arpresolve).
	if !l.static && l.expire-arpRefresh < nowSec && e.refreshed.Load()+arpRefreshGap < nowSec {
		a := e.addr.As4()
		r.refresh4(out, v4key(a[:]), nowSec)
	}
	r.emit(tx, out, p, l.mac)
	return true
}

// refresh4 sends the refresh request for the entry of k if no other
// goroutine did since the caller looked.
func (r *Router) refresh4(out *iface, k nkey, nowSec int64) {
	sh := r.arp.shard(k)
	sh.mu.Lock()
	e := sh.m[k]
	send := e != nil && e.refreshed.Load()+arpRefreshGap < nowSec
	if send {
		e.refreshed.Store(nowSec)
	}
	sh.mu.Unlock()
	if send {
		r.arpRequest(out, netip.AddrFrom16(k.a).Unmap())
	}
}

// resolve4 is transmit4 without a usable entry: OpenBSD's arpresolve.
func (r *Router) resolve4(tx Tx, st *state, out *iface, k nkey, p *packet.Packet, orig []byte, now int64) {
	nowSec := now / 1e9
	nh := netip.AddrFrom16(k.a).Unmap()
	sh := r.arp.shard(k)
	sh.mu.Lock()
	e := r.arp.getLocked(sh, k, nh, out.index, true)
	if e == nil {
		sh.mu.Unlock()
		r.drop(out, p, packet.DropNoNeighbour)
		return
	}
	var dropped []*packet.Packet
	if e.ifindex != out.index {
		if e.static {
			sh.mu.Unlock()
			r.drop(out, p, packet.DropNoNeighbour)
			return
		}
		// The next hop moved to another interface (a route changed):
		// start over there.
		dropped = r.arp.purgeLocked(e)
		e.reset(nh, out.index)
	}
	if e.state == Reachable && (e.static || e.expire > nowSec) {
		mac := e.mac // resolved since transmit4 looked
		e.publishLocked()
		sh.mu.Unlock()
		r.dropAll(out.index, dropped, packet.DropNoNeighbour)
		r.emit(tx, out, p, mac)
		return
	}
	if e.reject && e.expire > nowSec {
		e.publishLocked()
		sh.mu.Unlock()
		r.dropAll(out.index, dropped, packet.DropNoNeighbour)
		if orig != nil {
			r.icmpErrorIP4(st, orig, false, header.ICMPv4DstUnreachable, header.ICMPv4HostUnreachable, 0, 1, now)
		}
		r.drop(out, p, packet.DropNoNeighbour)
		return
	}
	e.reject = false
	e.state = Incomplete
	full := r.arp.holdLocked(e, p)
	send, purged := askLocked(e, nowSec, arpMaxTries)
	if purged {
		// Rejected after arpMaxTries requests: the held packets are
		// dropped without an ICMP error, as OpenBSD does.
		e.reject = true
		e.expire = nowSec + arpDown
		e.refreshed.Store(0)
		dropped = append(dropped, r.arp.purgeLocked(e)...)
	}
	e.publishLocked()
	sh.mu.Unlock()
	r.dropAll(out.index, full, packet.DropHoldFull)
	r.dropAll(out.index, dropped, packet.DropNoNeighbour)
	if send {
		r.arpRequest(out, nh)
	}
}

// askLocked decides, for an unresolved entry at second nowSec, whether to
// send a request (at most one a second) or to give up after tries
// unanswered ones; the caller holds the shard's write lock.
func askLocked(e *entry, nowSec int64, tries int) (send, giveUp bool) {
	if e.asked != 0 && e.lastAsk == nowSec {
		return false, false
	}
	e.lastAsk = nowSec
	if e.asked < tries {
		e.asked++
		return true, false
	}
	e.asked = 0
	return false, true
}

// transmit6 is transmit4 for IPv6 and neighbour discovery. Stale entries
// are used, and probed with a unicast solicitation while in use; a
// reachable entry past its reachable time counts as stale.
func (r *Router) transmit6(tx Tx, st *state, out *iface, nh []byte, gw *gateway, p *packet.Packet, fwd bool, now int64) {
	nowSec := now / 1e9
	if gw != nil {
		if e := gw.e.Load(); e != nil && r.hit6(tx, e, out, p, nowSec) {
			return
		}
	}
	k := nkey{a: [16]byte(nh)}
	if nh[0] == 0xfe && nh[1]&0xc0 == 0x80 {
		k.scope = int32(out.index)
	}
	if e := r.nd.shard(k).lookup(k); e != nil {
		if gw != nil && gw.e.Load() != e {
			gw.e.Store(e)
		}
		if r.hit6(tx, e, out, p, nowSec) {
			return
		}
	}
	r.resolve6(tx, st, out, k, p, fwd, now)
}

// hit6 is hit4 for the neighbour cache.
func (r *Router) hit6(tx Tx, e *entry, out *iface, p *packet.Packet, nowSec int64) bool {
	l := e.fast.Load()
	if l == nil || l.ifindex != out.index {
		return false
	}
	if !l.static && (l.state == Stale || l.expire <= nowSec) &&
		(e.used.Load() != nowSec || e.probed.Load()+ndDelayFirstProbe <= nowSec) {
		r.touch6(out, keyOf(e.addr, out.index), nowSec)
	}
	r.emit(tx, out, p, l.mac)
	return true
}

// touch6 marks a stale entry used and probes it when due.
func (r *Router) touch6(out *iface, k nkey, nowSec int64) {
	sh := r.nd.shard(k)
	sh.mu.Lock()
	e := sh.m[k]
	if e == nil {
		sh.mu.Unlock()
		return
	}
	e.used.Store(nowSec)
	if e.state == Reachable && e.expire <= nowSec {
		e.state = Stale
		e.publishLocked()
	}
	// The first use of a stale entry starts the delay (RFC 4861's DELAY
	// state); still unconfirmed ndDelayFirstProbe seconds later, and then
	// as often, it is probed.
	send := false
	switch p := e.probed.Load(); {
	case p == neverProbed:
		e.probed.Store(nowSec)
	case p+ndDelayFirstProbe <= nowSec && e.probes >= ndMaxUnicastSolicit:
		// Unanswered probes: forget the neighbour; the next packet
		// resolves it afresh (RFC 4861 section 7.3.3, PROBE).
		r.nd.deleteLocked(sh, k, e)
	case p+ndDelayFirstProbe <= nowSec:
		e.probed.Store(nowSec)
		e.probes++
		send = true
	}
	mac, a := e.mac, e.addr
	sh.mu.Unlock()
	if send {
		r.solicit(out, a, mac, true)
	}
}

// resolve6 is transmit6 without a usable entry (RFC 4861 section 7.2.2).
func (r *Router) resolve6(tx Tx, st *state, out *iface, k nkey, p *packet.Packet, fwd bool, now int64) {
	nowSec := now / 1e9
	nh := netip.AddrFrom16(k.a)
	sh := r.nd.shard(k)
	sh.mu.Lock()
	e := r.nd.getLocked(sh, k, nh, out.index, true)
	if e == nil {
		sh.mu.Unlock()
		r.drop(out, p, packet.DropNoNeighbour)
		return
	}
	var dropped []*packet.Packet
	if e.ifindex != out.index {
		if e.static {
			sh.mu.Unlock()
			r.drop(out, p, packet.DropNoNeighbour)
			return
		}
		dropped = r.nd.purgeLocked(e)
		e.reset(nh, out.index)
	}
	if e.state != Incomplete {
		mac := e.mac
		e.used.Store(nowSec)
		e.publishLocked()
		sh.mu.Unlock()
		r.dropAll(out.index, dropped, packet.DropNoNeighbour)
		r.emit(tx, out, p, mac)
		return
	}
	full := r.nd.holdLocked(e, p)
	send, failed := askLocked(e, nowSec, ndMaxMulticastSolicit)
	var unreach []*packet.Packet
	if failed {
		unreach = r.nd.deleteLocked(sh, k, e)
	} else {
		e.publishLocked()
	}
	sh.mu.Unlock()
	r.dropAll(out.index, full, packet.DropHoldFull)
	r.dropAll(out.index, dropped, packet.DropNoNeighbour)
	r.unreachable6(st, out, unreach, now)
	if send {
		r.solicit(out, nh, header.MAC{}, false)
	}
}

// unreachable6 drops packets whose next hop failed to resolve, answering
// each forwarded one with an address unreachable error (RFC 4861 section
// 7.2.2).
func (r *Router) unreachable6(st *state, out *iface, ps []*packet.Packet, now int64) {
	for _, p := range ps {
		r.icmpError6(st, nil, p, header.ICMPv6DstUnreachable, header.ICMPv6AddressUnreachable, 0, 1, now)
		r.drop(out, p, packet.DropNoNeighbour)
	}
}

// Tick runs the stack's timers at time now (nanoseconds on the same clock
// as Input): it retransmits ARP requests and neighbour solicitations for
// entries that hold packets (at most one a second per entry), rejects ARP
// entries after arpMaxTries unanswered requests and drops their held
// packets, fails neighbour entries after ndMaxMulticastSolicit (held
// packets get address unreachable), lets reachable neighbours go stale,
// and removes expired entries. Call it about once a second; it is safe for
// concurrent use and sends what it has to in address order.
func (r *Router) Tick(now int64) {
	nowSec := now / 1e9
	st := r.st.Load()
	type req struct {
		ifindex int
		a       netip.Addr
	}
	var reqs []req
	type drops struct {
		ifindex int
		ps      []*packet.Packet
	}
	var dropped, unreach []drops
	r.arp.each(func(sh *shard, k nkey, e *entry) {
		switch {
		case e.static:
		case e.state == Reachable:
			if e.expire <= nowSec {
				r.arp.deleteLocked(sh, k, e)
			}
		case e.reject:
			if e.expire <= nowSec && len(e.hold) == 0 {
				r.arp.deleteLocked(sh, k, e)
			}
		case len(e.hold) > 0:
			send, giveUp := askLocked(e, nowSec, arpMaxTries)
			if send {
				reqs = append(reqs, req{e.ifindex, e.addr})
			}
			if giveUp {
				e.reject = true
				e.expire = nowSec + arpDown
				e.refreshed.Store(0)
				dropped = append(dropped, drops{e.ifindex, r.arp.purgeLocked(e)})
			}
		case e.lastAsk+arpDown <= nowSec:
			r.arp.deleteLocked(sh, k, e)
		}
	})
	for _, q := range reqs {
		if ifc := st.iface(q.ifindex); ifc != nil {
			r.arpRequest(ifc, q.a)
		}
	}
	for _, d := range dropped {
		r.dropAll(d.ifindex, d.ps, packet.DropNoNeighbour)
	}

	reqs = reqs[:0]
	r.nd.each(func(sh *shard, k nkey, e *entry) {
		switch {
		case e.static:
		case e.state == Reachable:
			if e.expire <= nowSec {
				e.state = Stale
			}
		case e.state == Stale:
			if e.used.Load()+ndStaleKeep <= nowSec && e.expire+ndStaleKeep <= nowSec {
				r.nd.deleteLocked(sh, k, e)
			}
		case len(e.hold) > 0:
			send, failed := askLocked(e, nowSec, ndMaxMulticastSolicit)
			if send {
				reqs = append(reqs, req{e.ifindex, e.addr})
			}
			if failed {
				unreach = append(unreach, drops{e.ifindex, r.nd.deleteLocked(sh, k, e)})
			}
		case e.lastAsk+ndMaxMulticastSolicit < nowSec:
			r.nd.deleteLocked(sh, k, e)
		}
	})
	for _, q := range reqs {
		if ifc := st.iface(q.ifindex); ifc != nil {
			r.solicit(ifc, q.a, header.MAC{}, false)
		}
	}
	for _, d := range unreach {
		if ifc := st.iface(d.ifindex); ifc != nil {
			r.unreachable6(st, ifc, d.ps, now)
		} else {
			r.dropAll(d.ifindex, d.ps, packet.DropNoNeighbour)
		}
	}
}
