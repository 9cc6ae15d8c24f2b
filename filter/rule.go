package filter

import (
	"net/netip"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/filter/pfconf"
	"github.com/hostnet/hostnet/nat"
)

// testRule evaluates the ruleset for a packet no state took
// (pf_test_rule) and acts on the decision: block (with its answer), pass
// without state (untranslated), or pass creating a state, which is when
// translation happens.
func (f *Filter) testRule(rs *Ruleset, t *ifTable, pdp *pdesc, p *packet.Packet, reply *packet.Packet, now int64) Result {
	// The descriptor is copied into the walk's context so that nothing
	// the context holds points at the caller's stack.
	var cv evalCtx
	c := &cv
	c.pd = *pdp
	pd := &c.pd
	c.f, c.rs, c.t, c.tag, c.pkt, c.now = f, rs, t, pd.tag, p, now
	c.walk(rs.main, nil, 0)
	if c.fail {
		r := f.drop(int(c.reason), packet.DropFilter)
		if c.reason == pfresTranslate {
			r.Reason = packet.DropNATFull
		} else if c.reason == pfresSrcLimit {
			r.Reason = packet.DropStateLimit
		}
		return r
	}
	r := c.rm
	logged := c.logged
	di := 0
	if pd.dir == Out {
		di = 1
	}
	if r == nil {
		// The default rule: pass, no state, no translation (PF.md 1.1, 1.3).
		if pd.badOpts {
			return f.drop(pfresIPOption, packet.DropFilter)
		}
		f.counters[pfresMatch].Add(1)
		// The match rules' scrub options still apply; max-mss is the
		// default rule's, none.
		c.act.maxMSS = 0
		f.applyActions(p, &c.act)
		return Result{Log: logged}
	}
	if c.tag != 0 {
		p.PFTag = c.tag
	}
	if r.action == pfconf.Block {
		r.packets[di].Add(1)
		r.bytes[di].Add(uint64(pd.iplen))
		res := f.drop(pfresMatch, packet.DropFilter)
		res.Log = logged
		if r.log != 0 {
			res.Log = f.logRule(c, r, c.am, r.rs, actDrop, pfresMatch) || logged
		}
		if reply != nil && r.r.Return != pfconf.ReturnDrop {
			res.Reply = f.buildReply(r, pd, p, reply, now)
		}
		return res
	}
	// Pass: the final rule's own translation replaces the match rules',
	// its scrub options join theirs (PF.md 1.2).
	c.act.add(&r.act)
	if r.nat != nil || r.rdr != nil {
		if !c.translate(r) {
			res := f.drop(int(c.reason), packet.DropNATFull)
			if c.reason == pfresSrcLimit {
				res.Reason = packet.DropStateLimit
			}
			return res
		}
	}
	if pd.badOpts && !r.r.AllowOpts {
		res := f.drop(pfresIPOption, packet.DropFilter)
		res.Log = f.logRule(c, r, c.am, r.rs, actDrop, pfresIPOption)
		return res
	}
	res := Result{Log: logged}
	if r.state && !pd.frag && !pd.noState {
		// The state counts its packets, the first included; they are
		// folded into the rule's counters when it goes.
		if reason, dr := f.createState(rs, c.am, c.tag, r, &c.act, pd, p, now); reason != pfresMatch {
			return f.drop(reason, dr)
		}
	} else {
		r.packets[di].Add(1)
		r.bytes[di].Add(uint64(pd.iplen))
		// Without a state pf clamps the MSS by the deciding rule's own
		// max-mss only (pf_test: r->max_mss), not the match rules'.
		c.act.maxMSS = r.act.maxMSS
	}
	f.counters[pfresMatch].Add(1)
	if r.log != 0 {
		res.Log = f.logRule(c, r, c.am, r.rs, actPass, pfresMatch) || logged
	}
	f.applyActions(p, &c.act)
	return res
}

// createState creates the state of a packet passed by r, keeping the
// scrub actions act for its packets, and translates the packet if a
// nat-to or rdr-to applies (only now: PF.md 1.3). It
// returns pfresMatch on success, else pf's reason and the drop reason.
func (f *Filter) createState(rs *Ruleset, am *rule, tag uint16, r *rule, act *actions, pd *pdesc, p *packet.Packet, now int64) (int, packet.DropReason) {
	if f.states.count.Load() >= int64(rs.limitStates) {
		return pfresMemory, packet.DropStateLimit
	}
	if r.r.MaxStates != 0 && r.states.Load() >= int64(r.r.MaxStates) {
		f.limits[limMaxStates].Add(1)
		return pfresMaxStates, packet.DropStateLimit
	}
	s := &state{rule: r, ifindex: -1, creation: uint32(now), last: uint32(now), tag: tag}
	if pd.dir == Out {
		s.flags |= sfOut
	}
	if r.sloppy {
		s.flags |= sfSloppy
	}
	if r.log&pfconf.LogAll != 0 {
		s.flags |= sfLogAll
	}
	if am != nil {
		s.anchorNr = uint32(am.nr) + 1
	}
	if r.ifBound { // pfconf applied set state-policy
		s.ifindex = int16(pd.ifindex)
	}
	// Keys: the packet as it is (wire for in, stack for out) and as it
	// will be after translation.
	orig := keyFor(pd.dir, pd.af, pd.proto, pd.osrc, pd.odst)
	xl := keyFor(pd.dir, pd.af, pd.proto, pd.src, pd.dst)
	if pd.dir == In {
		s.key[skWire], s.key[skStack] = orig, xl
	} else {
		s.key[skStack], s.key[skWire] = orig, xl
	}
	s.setActions(act, ipTTL(p))
	var ts *tsScrub
	switch pd.proto {
	case header.ProtoTCP:
		m := &p.Meta
		th, seglen := header.TCP(p.Bytes()[m.L4:]), int(m.L3)+pd.iplen-int(m.L4)
		seg := parseSeg(th, seglen)
		initTCP(s, &seg)
		if s.tcpScrubbed() {
			// pf_create_state: the creator's side starts with this
			// packet, whose timestamps are normalised at once.
			ts = &tsScrub{}
			n := tcpOptEnd(th, seglen)
			ts[0].init(th, n, now, f.rnd)
			c := tsCheck{partial: nat.PartialTCP(p), plen: seg.plen, srcState: s.src.state, dstState: s.dst.state, creation: now, now: now}
			if !normalize(th, n, &ts[0], &ts[1], &c) {
				return pfresTS, packet.DropFilter
			}
		}
	case header.ProtoICMP, header.ProtoICMPv6:
		s.timeout = tmICMPFirst
	case header.ProtoUDP:
		s.src.state, s.dst.state = udpSingle, udpNoTraffic
		s.timeout = tmUDPFirst
	default:
		s.src.state, s.dst.state = udpSingle, udpNoTraffic
		s.timeout = tmOtherFirst
	}
	if r.r.SourceTrack {
		if reason := f.srcTrack(s, pd, now); reason != pfresMatch {
			return reason, packet.DropStateLimit
		}
	}
	s.id = f.states.nextID.Add(1)
	s.packets[0] = 1
	s.bytes[0] = uint64(pd.iplen)
	ok, o := f.states.insert(s, ts)
	if !ok && f.states.recyclable(o) {
		// A closed TCP connection's keys go to the new state.
		f.removeState(o)
		ok, _ = f.states.insert(s, ts)
	}
	if !ok {
		f.srcRelease(s, now)
		return pfresStateIns, packet.DropFilter
	}
	f.inserts.Add(1)
	r.states.Add(1)
	r.creations.Add(1)
	if pd.dir == In {
		p.PFState = s
	} else if in, _ := p.PFState.(*state); in != nil {
		in.reverse.Store(s)
	}
	if s.translated() {
		if pd.src != pd.osrc {
			nat.RewriteSrc(p, pd.src.Addr(), pd.src.Port())
		}
		if pd.dst != pd.odst {
			nat.RewriteDst(p, pd.dst.Addr(), pd.dst.Port())
		}
	}
	return pfresMatch, packet.DropNone
}

// removeState takes s out of the table and folds its counters into its
// rule's.
func (f *Filter) removeState(s *state) {
	found, pk, by := f.states.remove(s)
	if !found {
		return
	}
	f.removals.Add(1)
	if n := pk[0] + pk[1]; n > 0 {
		f.hits.Add(n - 1)
	}
	if r := s.rule; r != nil {
		r.states.Add(-1)
		// packets[0] counts the state's own direction.
		d0, d1 := 0, 1
		if s.dir() == Out {
			d0, d1 = 1, 0
		}
		r.packets[d0].Add(pk[0])
		r.packets[d1].Add(pk[1])
		r.bytes[d0].Add(by[0])
		r.bytes[d1].Add(by[1])
	}
	f.srcRelease(s, int64(s.last))
}

// trackSloppy is pf_tcp_track_sloppy: flags alone drive the states.
func trackSloppy(s *state, g *tcpSeg, fromSrc bool) trackResult {
	src, dst := &s.src, &s.dst
	if !fromSrc {
		src, dst = dst, src
	}
	res := trackOK
	if g.flags&thSYN != 0 && src.state < tcpsSynSent {
		src.state = tcpsSynSent
	}
	if g.flags&thFIN != 0 && src.state < tcpsClosing {
		src.state = tcpsClosing
	}
	if g.flags&thACK != 0 {
		switch {
		case dst.state == tcpsSynSent:
			dst.state = tcpsEstablished
			if src.state == tcpsEstablished {
				res = trackEstablished
			}
		case dst.state == tcpsClosing:
			dst.state = tcpsFinWait2
		case src.state == tcpsSynSent && dst.state < tcpsSynSent:
			// Handle a half-seen handshake (asymmetric routing).
			src.state, dst.state = tcpsEstablished, tcpsEstablished
		case src.state == tcpsClosing && dst.state == tcpsEstablished:
			dst.state = tcpsFinWait2
		}
	}
	if g.flags&thRST != 0 {
		src.state, dst.state = tcpsTimeWait, tcpsTimeWait
	}
	s.timeout = tcpTimeout(src.state, dst.state)
	return res
}

// Purge removes the states that expired by now (seconds), as pf's purge
// thread does. Call it from a timer, not per packet. It returns the
// number of states removed.
func (f *Filter) Purge(now int64) int {
	rs := f.rs.Load()
	if rs == nil {
		return 0
	}
	count := f.states.count.Load()
	var dead []*state
	f.states.each(func(s *state) {
		if s.dead() || now >= rs.expiresAt(s.rule, s.timeout, int64(s.last), count) {
			dead = append(dead, s)
		}
	})
	for _, s := range dead {
		f.removeState(s)
	}
	f.purgeSrcNodes(rs, now)
	f.frags.purge(now, int64(rs.timeouts[tmFrag]), f.put)
	return len(dead)
}

// States returns the number of states.
func (f *Filter) States() int { return int(f.states.count.Load()) }

var _ = netip.Addr{}
