package l3

import (
	"net/netip"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// arpFrameSize is an ARP frame as the stack sends it: Ethernet header and
// ARP packet, unpadded (the port or the wire pads short frames).
const arpFrameSize = header.EthernetSize + header.ARPSize

// sendARP builds and sends one ARP packet out of ifc to Ethernet dst.
func (r *Router) sendARP(ifc *iface, dst header.MAC, f *header.ARPFields) {
	p := r.pool.Get()
	p.SetLen(arpFrameSize)
	b := p.Bytes()
	header.Ethernet(b).SetType(header.EtherTypeARP)
	header.ARP(b[header.EthernetSize:]).Encode(f)
	r.emit(nil, ifc, p, dst)
}

// arpRequest broadcasts a request for target from the address of ifc on
// target's network.
func (r *Router) arpRequest(ifc *iface, target netip.Addr) {
	src, ok := ifc.src4(target)
	if !ok {
		return
	}
	r.sendARP(ifc, header.BroadcastMAC, &header.ARPFields{
		Op: header.ARPRequest, SenderMAC: ifc.mac, SenderIP: src, TargetIP: target,
	})
}

// gratuitousARP announces a on interface ifindex: a broadcast request with
// sender and target both a (RFC 5227 section 3, OpenBSD's arp_ifinit).
func (r *Router) gratuitousARP(ifindex int, mac header.MAC, a netip.Addr) {
	ifc := r.st.Load().iface(ifindex)
	if ifc == nil {
		return
	}
	r.sendARP(ifc, header.BroadcastMAC, &header.ARPFields{
		Op: header.ARPRequest, SenderMAC: mac, SenderIP: a, TargetIP: a,
	})
}

// inputARP is OpenBSD's in_arpinput: it learns from requests and replies
// and answers requests for the receiving interface's addresses. It takes
// p.
func (r *Router) inputARP(st *state, in *iface, p *packet.Packet, now int64) {
	l3 := int(p.Meta.L3)
	a := header.ARP(p.Bytes()[l3:])
	if !a.IsValid() || (a.Op() != header.ARPRequest && a.Op() != header.ARPReply) {
		r.drop(in, p, packet.DropMalformed)
		return
	}
	sha, spa, tpa := a.SenderHardwareAddr(), a.SenderProtocolAddr(), a.TargetProtocolAddr()
	switch {
	case sha == in.mac:
		// Our own request, looped back by the bridge or the wire.
		r.drop(in, p, packet.DropOwnSource)
		return
	case sha.IsMulticast():
		// A group address cannot be a host's: refuse to learn it
		// (OpenBSD: "ether address is broadcast").
		r.drop(in, p, packet.DropMalformed)
		return
	}
	forUs := in.hasAddr(tpa)
	learned := false
	if spa.IsValid() && !spa.IsUnspecified() && !isLocal4(st, spa) {
		learned = r.learn4(st, in, spa, sha, forUs, now/1e9)
	}
	if a.Op() != header.ARPRequest || !forUs || spa == tpa {
		// Not a question for us (or a gratuitous announcement): only
		// what was learned counts.
		if learned || forUs {
			r.pool.Put(p)
		} else {
			r.drop(in, p, packet.DropNotForUs)
		}
		return
	}
	// Answer in place: the reply goes back to the asker's MAC on the
	// interface the request came in on.
	if l3 != header.EthernetSize {
		p.Pull(l3 - header.EthernetSize)
	}
	p.SetLen(arpFrameSize)
	b := p.Bytes()
	header.Ethernet(b).SetType(header.EtherTypeARP)
	header.ARP(b[header.EthernetSize:]).Encode(&header.ARPFields{
		Op: header.ARPReply, SenderMAC: in.mac, SenderIP: tpa, TargetMAC: sha, TargetIP: spa,
	})
	r.emit(nil, in, p, sha)
}

// isLocal4 reports whether a is an address of any interface of the host.
func isLocal4(st *state, a netip.Addr) bool {
	for _, ifc := range st.ifs {
		if ifc != nil && ifc.hasAddr(a) {
			return true
		}
	}
	return false
}

// learn4 records that spa is at sha on in, by the rules of OpenBSD's
// in_arpinput: a packet whose target is an address of in creates or
// updates the entry, anything else only updates an existing one; a static
// entry, or one on another interface, is never overwritten. Packets held
// for the entry are sent. It reports whether an entry was created or
// updated.
func (r *Router) learn4(st *state, in *iface, spa netip.Addr, sha header.MAC, create bool, nowSec int64) bool {
	k := keyOf(spa, 0)
	sh := r.arp.shard(k)
	sh.mu.Lock()
	e := r.arp.getLocked(sh, k, spa, in.index, create)
	if e == nil || e.static || e.ifindex != in.index {
		// XXX OpenBSD logs these ("attempt to overwrite permanent
		// entry", "... entry on em0 by em1"); hostnet counts nothing,
		// since the packet itself is still handled.
		sh.mu.Unlock()
		return false
	}
	e.mac = sha
	e.state = Reachable
	e.expire = nowSec + arpKeep
	e.asked = 0
	e.reject = false
	e.publishLocked()
	held := r.arp.purgeLocked(e)
	sh.mu.Unlock()
	r.sendHeld(st, in.index, sha, held)
	return true
}
