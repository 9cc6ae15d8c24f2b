package filter

import (
	"net/netip"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/filter/pfconf"
	"github.com/hostnet/hostnet/nat"
)

// pdesc is pf's packet descriptor: what rules and states look at. src,
// dst and their ports are the translated values (pf's nsaddr, ndaddr)
// once a match rule translated them; osrc and odst stay as received.
type pdesc struct {
	dir     Dir
	ifindex int
	ife     *ifEntry
	rcv     *ifEntry
	af      uint8
	proto   uint8
	src     netip.AddrPort
	dst     netip.AddrPort
	osrc    netip.AddrPort
	odst    netip.AddrPort
	flags   uint8
	icmpT   uint8
	icmpC   uint8
	tos     uint8
	tag     uint16
	frag    bool // a fragment that was not reassembled
	icmp    bool // ICMP or ICMPv6
	icmpErr bool
	noState bool // never creates state: ICMP error, neighbour advertisement
	reply   bool // an ICMP reply type: stateful rules are skipped
	badOpts bool // IP options pf refuses unless allow-opts
	iplen   int
}

// evalCtx is one walk of the ruleset (pf_test_rule's ctx).
type evalCtx struct {
	f      *Filter
	rs     *Ruleset
	t      *ifTable
	pd     pdesc
	rm     *rule // last matching pass or block
	am     *rule // innermost anchor rule of rm
	natR   *rule // the rule whose nat-to gave pd.src
	rdrR   *rule
	tag    uint16
	fail   bool // translation failed or anchors nested too deep
	reason uint8
	pkt    *packet.Packet
	now    int64
	// logMatches is set by a matching rule with log (matches): every
	// later matching rule logs the packet too.
	logMatches bool
	logged     bool
	// act collects the scrub options of the matching match rules, then
	// the deciding rule's (pf's pd->act).
	act actions
}

// walk evaluates rs, called through anchor rule am (nil for main), and
// reports whether a quick rule ended the evaluation (pf_match_rule).
func (c *evalCtx) walk(rs *ruleset, am *rule, depth int) bool {
	if depth > maxAnchorDepth {
		c.fail, c.reason = true, pfresMatch
		return true
	}
	pd := &c.pd
	rules := rs.rules
	for i := 0; i < len(rules); {
		r := rules[i]
		r.evaluations.Add(1)
		if r.ifID >= 0 && pd.ife.matchName(r.ifID) == r.ifNot {
			i = int(r.skip[skipIf])
			continue
		}
		if r.dir != 0 && r.dir != pd.dir {
			i = int(r.skip[skipDir])
			continue
		}
		if r.af != 0 && r.af != pd.af {
			i = int(r.skip[skipAF])
			continue
		}
		if r.proto != 0 && r.proto != pd.proto {
			i = int(r.skip[skipProto])
			continue
		}
		if !c.addrMatch(&r.src, pd.src.Addr()) {
			i = int(r.skip[skipSrcAddr])
			continue
		}
		if !c.addrMatch(&r.dst, pd.dst.Addr()) {
			i = int(r.skip[skipDstAddr])
			continue
		}
		if r.sport.op != pfconf.PortNone || r.dport.op != pfconf.PortNone {
			if pd.frag {
				i++
				continue
			}
			if pd.proto == header.ProtoTCP || pd.proto == header.ProtoUDP {
				if !r.sport.match(pd.src.Port()) {
					i = int(r.skip[skipSrcPort])
					continue
				}
				if !r.dport.match(pd.dst.Port()) {
					i = int(r.skip[skipDstPort])
					continue
				}
			}
		}
		if !c.rest(r) {
			i++
			continue
		}
		// The rule matches.
		if r.tag != 0 {
			c.tag = r.tag
		}
		if c.logMatches && r.action != pfconf.Anchor {
			c.logged = c.f.logRule(c, r, am, rs, actMatch, pfresMatch) || c.logged
		}
		if r.log&pfconf.LogMatches != 0 {
			c.logMatches = true
		}
		switch r.action {
		case pfconf.Match:
			if !c.translate(r) {
				return true
			}
			c.act.add(&r.act)
			if r.log != 0 {
				c.logged = c.f.logRule(c, r, am, rs, actMatch, pfresMatch) || c.logged
			}
		case pfconf.Pass, pfconf.Block:
			c.rm, c.am = r, am
		case pfconf.Anchor:
			for _, child := range r.children {
				if c.walk(child, r, depth+1) {
					return true
				}
				if r.quick && c.am == r {
					return true
				}
			}
			i++
			continue
		}
		if r.quick {
			return true
		}
		i++
	}
	return false
}

// rest tests what follows the ports, in pf's order.
func (c *evalCtx) rest(r *rule) bool {
	pd := &c.pd
	if r.mask != 0 && pd.proto == header.ProtoTCP {
		if pd.frag || pd.flags&r.mask != r.flags {
			return false
		}
	}
	if r.icmpT != 0 || r.icmpC != 0 {
		if pd.frag || !pd.icmp {
			return false
		}
		if r.icmpT != 0 && r.icmpT != pd.icmpT+1 {
			return false
		}
		if r.icmpC != 0 && r.icmpC != pd.icmpC+1 {
			return false
		}
	}
	// Stateful rules do not see replies: a state is never created by one.
	if r.state && !r.sloppy && pd.reply {
		return false
	}
	if r.frag && !pd.frag {
		return false
	}
	if r.tos != 0 && r.tos != pd.tos {
		return false
	}
	if r.prob != 0 && uint32(c.f.rnd.Uint64()) > r.prob {
		return false
	}
	if r.tagged != 0 && (c.tag == r.tagged) == r.tagNot {
		return false
	}
	if r.rcvID >= 0 && pd.rcv.matchName(r.rcvID) == r.rcvNot {
		return false
	}
	return true
}

// addrMatch tests one rule address against a (pf_match_addr and the
// dynamic, table, no-route and urpf-failed cases).
func (c *evalCtx) addrMatch(m *addrMatch, a netip.Addr) bool {
	in := false
	switch m.typ {
	case pfconf.AddrAny:
		in = true
	case pfconf.AddrMask:
		in = m.prefix.Contains(a)
	case pfconf.AddrRange:
		in = a.Is4() == m.from.Is4() && a.Compare(m.from) >= 0 && a.Compare(m.to) <= 0
	case pfconf.AddrTable:
		in = m.table.contains(a)
	case pfconf.AddrDynamic:
		if m.dyn < len(c.t.dyn) {
			for _, p := range c.t.dyn[m.dyn] {
				if p.Contains(a) {
					in = true
					break
				}
			}
		}
	case pfconf.AddrNoRoute:
		if c.t.route != nil {
			_, ok := c.t.route(a)
			in = !ok
		}
	case pfconf.AddrURPFFailed:
		if c.t.route != nil {
			idx, ok := c.t.route(a)
			in = !ok || idx != c.pd.ifindex
		}
	}
	return in != m.not
}

// translate applies r's nat-to and rdr-to to pd at once, so that later
// rules see the translated addresses (pf_get_transaddr). It reports false
// when no translation could be found.
func (c *evalCtx) translate(r *rule) bool {
	pd := &c.pd
	if r.rdr != nil {
		req := c.request()
		ap, err := r.rdr.pool.Rdr(&req, r.rdr.portLow)
		if err != nil {
			c.fail, c.reason = true, pfresTranslate
			return false
		}
		pd.dst = ap
		if pd.icmp {
			pd.dst = netip.AddrPortFrom(ap.Addr(), pd.dst.Port())
		}
		c.rdrR = r
	}
	if r.nat != nil {
		req := c.request()
		ap, err := r.nat.pool.NAT(&req)
		if err != nil {
			c.fail, c.reason = true, pfresTranslate
			if err == nat.ErrSourceLimit {
				c.reason = pfresSrcLimit
			}
			return false
		}
		pd.src = ap
		if pd.icmp && pd.dst.Port() == pd.osrc.Port() {
			// An echo's identifier is in both ports.
			pd.dst = netip.AddrPortFrom(pd.dst.Addr(), ap.Port())
		}
		c.natR = r
	}
	return true
}

func (c *evalCtx) request() nat.Request {
	pd := &c.pd
	return nat.Request{
		Flow:     flowOf(pd),
		ICMPType: pd.icmpT,
		Rand:     c.f.rand,
		InUse:    &inUse{t: c.f.states, dir: pd.dir, af: pd.af},
	}
}

// inUse answers the NAT port search: is the translated tuple some state's
// wire key already, on any interface.
type inUse struct {
	t   *stateTable
	dir Dir
	af  uint8
}

// InUse implements nat.InUse.
func (u *inUse) InUse(f flowT) bool {
	k := keyFor(u.dir, u.af, f.Proto, f.Src, f.Dst)
	return u.t.has(&k)
}
