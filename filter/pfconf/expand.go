package pfconf

import (
	"fmt"
	"strings"
)

// finishRule applies the parse-time defaults of a pass/block/match rule
// and expands it into the current ruleset.
func (p *parser) finishRule(rp *ruleParse) {
	r := &rp.r
	if r.Action == Pass && !rp.stateSet {
		r.State = KeepState
	}
	if r.Action != Pass && rp.stateSet && r.State != NoState {
		p.fail("keep state is only valid on pass rules")
	}
	if r.State != NoState && !r.IfBound && p.ld.spec.Options.StatePolicy == StateIfBound {
		r.IfBound = true
	}
	if r.Action == Pass && !rp.flagsSet && !r.Fragment && r.State != NoState {
		r.Flags, r.FlagsMask = 1<<1, 1<<1|1<<4 // S/SA
	}
	if rp.binat {
		if r.Dir == In {
			p.fail("binat-to can only be used outbound")
		}
		r.Dir = Out
	}
	if r.AFTo != AFAny {
		if r.Dir != In {
			p.fail("af-to can only be used with direction in")
		}
		if r.AF == AFAny {
			p.fail("af-to requires an address family on the rule (inet or inet6)")
		}
		if r.AF == r.AFTo {
			p.fail("af-to: the new address family must differ from the rule's")
		}
	} else {
		if rp.nat != nil && r.Dir != Out {
			p.fail("nat-to can only be used outbound")
		}
		if rp.rdr != nil && r.Dir != In {
			p.fail("rdr-to can only be used inbound")
		}
	}
	if rp.route != nil {
		if r.Action == Match {
			p.fail("route-to, reply-to and dup-to are not supported on match rules")
		}
		if r.Dir == DirBoth {
			p.fail("direction must be explicit with rules that specify routing")
		}
	}
	if r.Overload != "" && r.MaxSrcConn == 0 && r.MaxSrcConnRate.Seconds == 0 {
		p.fail("'overload' requires 'max-src-conn' or 'max-src-conn-rate'")
	}
	p.expand(rp, p.rs)
}

// maxExpansion bounds the rules one statement may expand into, so a
// few lists cannot exhaust memory.
const maxExpansion = 1 << 14

// decideAF returns the family shared by every host of a list, or AFAny.
func decideAF(hs []hostNode) AF {
	if len(hs) == 0 {
		return AFAny
	}
	af := hs[0].af
	for _, h := range hs[1:] {
		if h.af != af {
			return AFAny
		}
	}
	return af
}

// expand writes one rule per combination of the rule's lists, in
// pfctl's order (expand_rule): interface, protocol, icmp type, source
// address, source port, destination address, destination port, user,
// group.
func (p *parser) expand(rp *ruleParse, rs *Ruleset) {
	r0 := rp.r
	af := r0.AF
	if af == AFAny {
		af = decideAF(rp.srcHosts)
	}
	if af == AFAny {
		af = decideAF(rp.dstHosts)
	}
	ifs := rp.ifs
	if len(ifs) == 0 {
		ifs = []ifNode{{}}
	}
	protos := rp.protos
	if len(protos) == 0 {
		protos = []uint8{0}
	}
	icmps := rp.icmps
	if len(icmps) == 0 {
		icmps = []icmpNode{{}}
	}
	srcs, dsts := rp.srcHosts, rp.dstHosts
	if len(srcs) == 0 {
		srcs = []hostNode{{}}
	}
	if len(dsts) == 0 {
		dsts = []hostNode{{}}
	}
	sports, dports := rp.srcPorts, rp.dstPorts
	if len(sports) == 0 {
		sports = []Port{{}}
	}
	if len(dports) == 0 {
		dports = []Port{{}}
	}
	uids, gids := rp.uids, rp.gids
	if len(uids) == 0 {
		uids = []Port{{}}
	}
	if len(gids) == 0 {
		gids = []Port{{}}
	}
	n := 1
	for _, l := range []int{len(ifs), len(protos), len(icmps), len(srcs), len(sports), len(dsts), len(dports), len(uids), len(gids)} {
		n *= l
		if n > maxExpansion {
			p.fail("rule expands to more than %d rules", maxExpansion)
		}
	}
	added := 0
	for _, ifn := range ifs {
		for _, proto := range protos {
			for _, icmp := range icmps {
				for _, src := range srcs {
					for _, sport := range sports {
						for _, dst := range dsts {
							for _, dport := range dports {
								for _, uid := range uids {
									for _, gid := range gids {
										if p.expandOne(rp, rs, af, ifn, proto, icmp, src, sport, dst, dport, uid, gid) {
											added++
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
	if added == 0 && !p.stmtErr {
		p.fail("rule expands to no valid combination of address family, addresses and interfaces")
	}
}

// pool is a collapsed translation target.
type collapsed struct {
	pool Pool
	af   AF
}

// collapse turns a redirect spec into a pool for a rule of family af,
// creating an automatic table for several addresses (collapse_redirspec).
func (p *parser) collapse(rs *redirSpec, af AF, rdr bool) *collapsed {
	if rs == nil {
		return nil
	}
	var hosts []hostNode
	var chosen AF
	for _, h := range rs.hosts {
		if h.af != AFAny {
			if af != AFAny && af != h.af {
				continue
			}
			if af == AFAny && chosen != AFAny && chosen != h.af {
				p.fail("translation spec contains addresses with different address families")
			}
			chosen = h.af
		}
		hosts = append(hosts, h)
	}
	if len(hosts) == 0 {
		p.fail("no translation address with matching address family found")
	}
	c := &collapsed{af: chosen}
	c.pool.Type = rs.typ
	c.pool.Key = rs.key
	c.pool.Sticky = rs.sticky
	if len(hosts) == 1 {
		c.pool.Addr = hosts[0].addr
		if rs.route {
			c.pool.If = hosts[0].zone
		}
	} else {
		name := fmt.Sprintf("__automatic_%d", p.ld.autoTable)
		p.ld.autoTable++
		tb := Table{Name: name, Line: rs.line, Const: true, Auto: true}
		var list []TableEntry
		for _, h := range hosts {
			if h.addr.Type != AddrMask {
				p.fail("only addresses may be listed in a translation list")
			}
			list = append(list, TableEntry{Prefix: h.addr.Prefix})
		}
		tb.Inits = []TableInit{{Addrs: list}}
		tb.Entries = list
		p.rs.Tables = append(p.rs.Tables, tb)
		p.echof("%s", formatTable(&tb, true))
		c.pool.Addr = Addr{Type: AddrTable, Name: name}
	}
	multi := c.pool.Addr.Type == AddrTable || c.pool.Addr.Type == AddrDynamic && c.pool.Addr.Mod&ModNoAlias == 0
	if multi {
		switch c.pool.Type {
		case PoolNone:
			c.pool.Type = PoolRoundRobin
		case PoolRoundRobin, PoolRandom, PoolLeastStates:
		default:
			p.fail("only round-robin, random or least-states valid for multiple translation addresses")
		}
	}
	if !rdr {
		switch {
		case rs.static:
			c.pool.PortLo, c.pool.PortHi = 0, 0
		case rs.portSet:
			c.pool.PortLo, c.pool.PortHi = rs.portA, rs.portB
		default:
			c.pool.PortLo, c.pool.PortHi = 50001, 65535
		}
	} else if rs.portSet {
		c.pool.PortLo, c.pool.PortHi = rs.portA, rs.portB
		if c.pool.PortHi == 0 {
			// An rdr-to range whose high port is 0 is its low port
			// alone (pf_get_transaddr reads a 0 as no range), which
			// is how port N reads and how print_pool prints it.
			c.pool.PortHi = c.pool.PortLo
		}
	}
	return c
}

func (p *parser) expandOne(rp *ruleParse, rs *Ruleset, af AF, ifn ifNode, proto uint8, icmp icmpNode,
	src hostNode, sport Port, dst hostNode, dport Port, uid, gid Port) bool {
	r := rp.r
	r.AF = af
	var nat, rdr, route *collapsed
	if r.AFTo != AFAny {
		nat = p.collapse(rp.nat, r.AFTo, false)
		rdr = p.collapse(rp.rdr, r.AFTo, true)
	} else {
		rdr = p.collapse(rp.rdr, r.AF, true)
		nat = p.collapse(rp.nat, r.AF, false)
	}
	route = p.collapse(rp.route, r.AF, true)

	if r.AF != AFAny && src.af != AFAny && r.AF != src.af ||
		r.AF != AFAny && dst.af != AFAny && r.AF != dst.af ||
		src.af != AFAny && dst.af != AFAny && src.af != dst.af ||
		src.zone != "" && dst.zone != "" && src.zone != dst.zone ||
		ifn.name != "" && src.zone != "" && ifn.name != src.zone ||
		ifn.name != "" && dst.zone != "" && ifn.name != dst.zone {
		return false
	}
	if r.AF == AFAny {
		if src.af != AFAny {
			r.AF = src.af
		} else if dst.af != AFAny {
			r.AF = dst.af
		}
	}
	switch {
	case ifn.name != "":
		r.Interface = ifn.name
	case src.zone != "":
		r.Interface = src.zone
	case dst.zone != "":
		r.Interface = dst.zone
	}
	r.InterfaceNot = ifn.not
	if r.AFTo == AFAny {
		for _, c := range []*collapsed{nat, rdr, route} {
			if c == nil || c.af == AFAny {
				continue
			}
			if r.AF == AFAny {
				r.AF = c.af
			} else if r.AF != c.af {
				return false
			}
		}
	}
	for _, h := range []hostNode{src, dst} {
		if h.badMask != 0 {
			p.fail("illegal netmask /%d for an IPv4 address", h.badMask)
		}
	}
	r.Proto = proto
	r.Src = Endpoint{Addr: anyIfZero(src.addr), Not: src.not, Port: sport}
	r.Dst = Endpoint{Addr: anyIfZero(dst.addr), Not: dst.not, Port: dport}
	r.User, r.Group = uid, gid
	r.ICMPType, r.ICMPCode = icmp.typ, icmp.code
	if (r.State == ModulateState || r.State == SynproxyState) && r.Proto != 0 && r.Proto != protoTCP {
		r.State = KeepState
	}
	if r.Proto != 0 && r.Proto != protoTCP {
		r.Flags, r.FlagsMask = 0, 0
	}
	if icmp.proto != 0 && r.Proto != icmp.proto {
		p.fail("icmp-type mismatch")
	}
	if (sport.Op != PortNone || dport.Op != PortNone) && r.Proto != protoTCP && r.Proto != protoUDP {
		p.fail("port only applies to tcp/udp")
	}
	if r.ICMPType != 0 && r.AF == AFAny {
		p.fail("must indicate address family with icmp-type/code")
	}
	r.Nr = len(rs.Rules)
	r.Label = expandLabel(r.Label, &r, src, dst)
	r.Tag = expandLabel(r.Tag, &r, src, dst)
	r.Tagged = expandLabel(r.Tagged, &r, src, dst)
	if len(r.Label) >= 64 {
		p.fail("label too long after expansion: %q", r.Label)
	}
	if nat != nil {
		pl := nat.pool
		r.NAT = &pl
	}
	if rdr != nil {
		pl := rdr.pool
		if rp.rdr.portStar {
			pl.PortHi = pl.PortLo
			if dport.Op == PortRange {
				pl.PortHi = pl.PortLo + uint16(dport.B-dport.A)
			}
		}
		r.RDR = &pl
	}
	if route != nil {
		pl := route.pool
		r.Route = &pl
	}
	rs.Rules = append(rs.Rules, r)

	if rp.binat {
		if r.Src.Not {
			p.fail("binat-to: the source cannot be negated")
		}
		switch r.Src.Addr.Type {
		case AddrMask, AddrDynamic:
		default:
			p.fail("binat-to needs a source address or (interface)")
		}
		if r.NAT.Addr.Type == AddrTable {
			p.fail("binat-to: only one translation address is allowed")
		}
		rb := r
		rb.Dir = In
		rb.NAT = nil
		rb.Src = Endpoint{Addr: r.Dst.Addr, Not: r.Dst.Not, Port: r.Dst.Port}
		rb.Dst = Endpoint{Addr: r.NAT.Addr, Port: r.Src.Port}
		pool := Pool{Addr: r.Src.Addr}
		if pool.Addr.Type == AddrDynamic && pool.Addr.Mod&ModNoAlias == 0 || pool.Addr.Type == AddrTable {
			pool.Type = PoolRoundRobin
		}
		rb.RDR = &pool
		rb.Nr = len(rs.Rules)
		rs.Rules = append(rs.Rules, rb)
	}
	return true
}

// anyIfZero turns 0.0.0.0/0 and ::/0 into any: pf keeps them the same
// way (a zero address and mask); the family they gave stays on the rule.
func anyIfZero(a Addr) Addr {
	if isAnyAddr(a) {
		return Addr{}
	}
	return a
}

// expandLabel replaces the label macros $if, $srcaddr, $dstaddr,
// $srcport, $dstport, $proto and $nr (expand_label).
func expandLabel(s string, r *Rule, src, dst hostNode) string {
	if !strings.Contains(s, "$") {
		return s
	}
	ifn := r.Interface
	if ifn == "" {
		ifn = "any"
	}
	s = strings.ReplaceAll(s, "$if", ifn)
	if strings.Contains(s, "$srcaddr") {
		s = strings.ReplaceAll(s, "$srcaddr", labelAddr(r.AF, src))
	}
	if strings.Contains(s, "$dstaddr") {
		s = strings.ReplaceAll(s, "$dstaddr", labelAddr(r.AF, dst))
	}
	s = strings.ReplaceAll(s, "$srcport", labelPort(r.Src.Port))
	s = strings.ReplaceAll(s, "$dstport", labelPort(r.Dst.Port))
	if strings.Contains(s, "$proto") {
		n := protoName(r.Proto)
		if n == "" {
			n = fmt.Sprint(r.Proto)
		}
		s = strings.ReplaceAll(s, "$proto", n)
	}
	s = strings.ReplaceAll(s, "$nr", fmt.Sprint(r.Nr))
	return s
}

func labelAddr(af AF, h hostNode) string {
	var t string
	switch h.addr.Type {
	case AddrDynamic:
		t = "(" + h.addr.Name + ")"
	case AddrTable:
		t = "<" + h.addr.Name + ">"
	case AddrNoRoute:
		t = "no-route"
	case AddrURPFFailed:
		t = "urpf-failed"
	case AddrAny:
		t = "any"
	case AddrMask:
		pr := h.addr.Prefix
		if af == AFAny || pr.Bits() == 0 && pr.Addr().IsUnspecified() {
			t = "any"
		} else if pr.Bits() < fullBits(pr.Addr()) {
			t = pr.String()
		} else {
			t = pr.Addr().String()
		}
	default:
		t = "?"
	}
	if h.not {
		return "! " + t
	}
	return t
}

func labelPort(p Port) string {
	a, b := fmt.Sprint(p.A), fmt.Sprint(p.B)
	switch p.Op {
	case PortInside:
		return a + "><" + b
	case PortOutside:
		return a + "<>" + b
	case PortEq:
		return a
	case PortNe:
		return "!=" + a
	case PortLt:
		return "<" + a
	case PortLe:
		return "<=" + a
	case PortGt:
		return ">" + a
	case PortGe:
		return ">=" + a
	}
	return ""
}

// anchorStmt parses `anchor [NAME] [rule parameters] [{ rules }]`.
func (p *parser) anchorStmt() {
	p.next()
	rp := &ruleParse{}
	rp.r.File, rp.r.Line = p.file, p.stmtLine
	rp.r.Action = Anchor
	name := ""
	named := false
	if t := p.peek(); t.kind == tString || t.kind == tWord && !keywords[t.s] {
		p.next()
		name, named = t.s, true
		if name == "" {
			p.fail("anchor name must not be empty")
		}
		if name[0] == '_' || strings.Contains(name, "/_") {
			p.fail("anchor names beginning with '_' are reserved for internal use")
		}
	}
	p.ruleCommon(rp)
	p.filterOpts(rp)
	if rp.stateSet || rp.flagsSet || rp.nat != nil || rp.rdr != nil || rp.route != nil {
		p.fail("anchor rules cannot keep state, check flags or translate")
	}
	inline := isPunct(p.peek(), "{")
	if !named {
		if !inline {
			p.fail("anchor without a name needs an inline ruleset")
		}
		p.ld.inlineNr++
		name = fmt.Sprintf("_%d", p.ld.inlineNr)
	}
	if strings.Contains(name, "*") && (inline || !strings.HasSuffix(name, "/*") && name != "*" || strings.Count(name, "*") > 1) {
		p.fail("anchor %q: wildcard only allowed as the last component \"/*\" of a non-inline anchor", name)
	}
	call := name
	path, err := anchorPath(p.rs.Path, strings.TrimSuffix(strings.TrimSuffix(name, "*"), "/"))
	if name == "*" {
		path, err = p.rs.Path, nil
	}
	if err != nil {
		p.fail("anchor %q: %v", name, err)
	}
	if strings.HasSuffix(name, "*") {
		if path == "" {
			path = "*"
		} else {
			path += "/*"
		}
	}
	rp.r.AnchorCall, rp.r.AnchorPath = call, path
	if inline {
		p.next()
		sub := p.ld.anchor(path)
		if len(sub.Rules) > 0 {
			p.fail("anchor %q already has rules", name)
		}
		saved := p.rs
		p.rs = sub
		p.block()
		p.rs = saved
	} else if !strings.HasSuffix(path, "*") {
		p.ld.anchor(path)
	}
	p.expand(rp, p.rs)
}

// block parses statements up to the closing brace of an inline anchor.
func (p *parser) block() {
	line := p.stmtLine
	p.blockDepth++
	defer func() { p.blockDepth-- }()
	for {
		p.skipNL()
		t := p.peek()
		if t.kind == tEOF {
			p.stmtErr = false
			p.errorAt(line, "unterminated inline anchor: missing \"}\"")
			panic(stmtError{})
		}
		if isPunct(t, "}") {
			p.next()
			p.stmtErr = false
			return
		}
		p.statement()
	}
}

// antispoof parses `antispoof [log] [quick] for IFS [inet|inet6] [label L]`.
func (p *parser) antispoof() {
	p.next()
	var log LogFlags
	var logIf uint8
	quick := false
	for {
		if p.accept("log") {
			var r Rule
			p.logOpts(&r)
			log, logIf = r.Log, r.LogIf
			continue
		}
		if p.accept("quick") {
			quick = true
			continue
		}
		break
	}
	p.expect("for")
	var ifs []ifNode
	p.list(func() {
		if p.acceptPunct("(") {
			n := p.str("an interface")
			p.expectPunct(")")
			ifs = append(ifs, ifNode{name: n, dynamic: true})
			return
		}
		ifs = append(ifs, ifNode{name: p.str("an interface")})
	})
	var af AF
	if p.accept("inet") {
		af = Inet
	} else if p.accept("inet6") {
		af = Inet6
	}
	label := ""
	if p.accept("label") {
		label = p.str("a label")
	}
	for _, i := range ifs {
		base := ruleParse{}
		base.r = Rule{File: p.file, Line: p.stmtLine, Action: Block, Dir: In, Log: log, LogIf: logIf, Quick: quick, AF: af, Label: label}
		rp := base
		rp.ifs = []ifNode{{name: i.name, not: true}}
		if i.dynamic {
			rp.srcHosts = []hostNode{{addr: Addr{Type: AddrDynamic, Name: i.name, Mod: ModNetwork, Bits: 128}}}
		} else {
			if !p.ld.ifaExists(i.name) {
				p.fail("antispoof: interface %s not found", i.name)
			}
			rp.srcHosts = p.ld.ifaLookup(i.name, ModNetwork)
			if len(rp.srcHosts) == 0 {
				p.fail("antispoof: interface %s has no usable address", i.name)
			}
		}
		p.expandQuiet(&rp)
		ifc := p.ld.ifs[i.name]
		if !i.dynamic && (ifc == nil || !ifc.Loopback) {
			own := base
			own.srcHosts = p.ld.ifaLookup(i.name, 0)
			if len(own.srcHosts) > 0 {
				p.expandQuiet(&own)
			}
		}
	}
}

// expandQuiet expands a generated rule, where no valid combination
// (an address family filtered away) is not an error.
func (p *parser) expandQuiet(rp *ruleParse) {
	af := rp.r.AF
	for _, ifn := range append([]ifNode{}, rp.ifs...) {
		for _, src := range rp.srcHosts {
			p.expandOne(rp, p.rs, af, ifn, 0, icmpNode{}, src, Port{}, hostNode{}, Port{}, Port{}, Port{})
		}
	}
	if len(rp.ifs) == 0 {
		for _, src := range rp.srcHosts {
			p.expandOne(rp, p.rs, af, ifNode{}, 0, icmpNode{}, src, Port{}, hostNode{}, Port{}, Port{}, Port{})
		}
	}
}
