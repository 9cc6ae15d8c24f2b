package pfconf

import (
	"math"
	"strconv"
	"strings"
)

// ifNode is one interface of an `on` list.
type ifNode struct {
	name    string
	not     bool
	dynamic bool // antispoof for (IF)
}

// icmpNode is one icmp-type element: type and code stored +1.
type icmpNode struct {
	typ, code uint8
	proto     uint8
}

// redirSpec is a nat-to, rdr-to, binat-to, af-to or route-to target
// before expansion.
type redirSpec struct {
	hosts    []hostNode
	portSet  bool
	portA    uint16
	portB    uint16
	portStar bool
	typ      PoolType
	key      [16]byte
	sticky   bool
	static   bool
	af       AF   // af-to
	route    bool // route-to, reply-to, dup-to: zone is the interface
	line     int
}

// ruleParse is a rule as written: the template plus its lists.
type ruleParse struct {
	r          Rule
	ifs        []ifNode
	protos     []uint8
	srcHosts   []hostNode
	srcPorts   []Port
	dstHosts   []hostNode
	dstPorts   []Port
	uids, gids []Port
	icmps      []icmpNode
	nat, rdr   *redirSpec
	route      *redirSpec
	binat      bool
	flagsSet   bool
	stateSet   bool
	anchorBody bool
}

// ruleStmt parses pass, block and match rules.
func (p *parser) ruleStmt() {
	rp := &ruleParse{}
	rp.r.File, rp.r.Line = p.file, p.stmtLine
	switch p.next().s {
	case "pass":
		rp.r.Action = Pass
	case "match":
		rp.r.Action = Match
	case "block":
		rp.r.Action = Block
		p.blockSpec(&rp.r)
	}
	p.ruleCommon(rp)
	p.filterOpts(rp)
	p.finishRule(rp)
}

// blockSpec parses drop/return/return-rst/return-icmp after block.
func (p *parser) blockSpec(r *Rule) {
	r.ReturnICMP4 = 3<<8 | 3 // port unreachable
	r.ReturnICMP6 = 1<<8 | 4
	t := p.peek()
	switch {
	case isWord(t, "drop"):
		p.next()
		r.Return = ReturnDrop
	case isWord(t, "return"):
		p.next()
		r.Return = ReturnBoth
	case isWord(t, "return-rst"):
		p.next()
		r.Return = ReturnRST
		if p.acceptPunct("(") {
			p.expect("ttl")
			r.ReturnTTL = uint8(p.number("a ttl", 0, 255))
			p.expectPunct(")")
		}
	case isWord(t, "return-icmp"):
		p.next()
		r.Return = ReturnICMP
		if p.acceptPunct("(") {
			r.ReturnICMP4 = p.icmpReturnCode(Inet)
			if p.acceptPunct(",") || !isPunct(p.peek(), ")") {
				r.ReturnICMP6 = p.icmpReturnCode(Inet6)
			}
			p.expectPunct(")")
		}
	case isWord(t, "return-icmp6"):
		p.next()
		r.Return = ReturnICMP
		if p.acceptPunct("(") {
			r.ReturnICMP6 = p.icmpReturnCode(Inet6)
			p.expectPunct(")")
		}
	default:
		if p.policy == PolicyReturn {
			r.Return = ReturnBoth
		}
	}
}

// icmpReturnCode parses an unreachable code name or number.
func (p *parser) icmpReturnCode(af AF) uint16 {
	t := p.next()
	unreach := uint16(3)
	if af == Inet6 {
		unreach = 1
	}
	if t.kind == tNumber {
		n, _ := strconv.Atoi(t.s)
		if n < 0 || n > 255 {
			p.fail("illegal icmp code %d", n)
		}
		return unreach<<8 | uint16(n)
	}
	if t.kind == tWord || t.kind == tString {
		typ, code, ok := icmpCodeByName(t.s, af)
		if !ok || uint16(typ) != unreach {
			p.fail("unknown icmp code %s", t.s)
		}
		return uint16(typ)<<8 | uint16(code)
	}
	p.failTok(t, "an icmp code")
	return 0
}

// ruleCommon parses dir, log, quick, on, af, proto and from/to.
func (p *parser) ruleCommon(rp *ruleParse) {
	r := &rp.r
	if p.accept("in") {
		r.Dir = In
	} else if p.accept("out") {
		r.Dir = Out
	}
	for {
		if p.accept("log") {
			p.logOpts(r)
			continue
		}
		if p.accept("quick") {
			r.Quick = true
			continue
		}
		break
	}
	if p.accept("on") {
		rp.ifs = p.ifList()
	}
	if p.accept("inet") {
		r.AF = Inet
	} else if p.accept("inet6") {
		r.AF = Inet6
	}
	if p.accept("proto") {
		p.list(func() {
			t := p.next()
			switch t.kind {
			case tNumber:
				n, _ := strconv.Atoi(t.s)
				if n < 0 || n > 255 {
					p.fail("protocol outside range")
				}
				rp.protos = append(rp.protos, uint8(n))
			case tWord, tString:
				n, ok := protoByName(t.s)
				if !ok {
					p.fail("unknown protocol %s", t.s)
				}
				rp.protos = append(rp.protos, n)
			default:
				p.failTok(t, "a protocol")
			}
		})
		for _, n := range rp.protos {
			if n == 0 {
				p.fail("proto 0 cannot be used")
			}
		}
	}
	if p.accept("all") {
		return
	}
	if p.accept("from") {
		rp.srcHosts, rp.srcPorts = p.ipPortSpec()
	}
	if p.accept("to") {
		rp.dstHosts, rp.dstPorts = p.ipPortSpec()
	}
}

func (p *parser) logOpts(r *Rule) {
	r.Log |= LogOn
	if !p.acceptPunct("(") {
		return
	}
	for {
		switch t := p.next(); {
		case isWord(t, "all"):
			r.Log |= LogAll
		case isWord(t, "matches"):
			r.Log |= LogMatches
		case isWord(t, "user"):
			r.Log |= LogUser
		case isWord(t, "to"):
			n := p.str("a pflog interface")
			if !strings.HasPrefix(n, "pflog") {
				p.fail("%s: not a pflog interface", n)
			}
			v, err := strconv.Atoi(n[len("pflog"):])
			if err != nil || v < 0 || v > 255 {
				p.fail("%s: not a pflog interface", n)
			}
			r.LogIf = uint8(v)
		default:
			p.failTok(t, "all, matches, user or to")
		}
		if p.acceptPunct(",") {
			continue
		}
		p.expectPunct(")")
		return
	}
}

// list parses one item or a { } list of them (commas and newlines
// optional), calling item for each.
func (p *parser) list(item func()) {
	if p.acceptPunct("{") {
		p.skipNL()
		for !p.acceptPunct("}") {
			if p.peek().kind == tEOF {
				p.failTok(p.peek(), `"}"`)
			}
			item()
			p.acceptPunct(",")
			p.skipNL()
		}
		return
	}
	item()
}

// ifList parses `[!] IF` or `{ [!] IF ... }`.
func (p *parser) ifList() []ifNode {
	var out []ifNode
	p.list(func() {
		not := p.acceptPunct("!")
		t := p.next()
		if t.kind != tWord && t.kind != tString {
			p.failTok(t, "an interface name")
		}
		if len(t.s) >= 16 {
			p.fail("interface name too long: %s", t.s)
		}
		out = append(out, ifNode{name: t.s, not: not})
	})
	return out
}

// ipPortSpec parses `ipspec [port portspec]` or `port portspec`. A nil
// host list means any.
func (p *parser) ipPortSpec() ([]hostNode, []Port) {
	var hosts []hostNode
	if !isWord(p.peek(), "port") {
		hosts = p.ipSpec()
	}
	var ports []Port
	if p.accept("port") {
		ports = p.portSpec()
	}
	return hosts, ports
}

// ipSpec parses any, one host or a { } list.
func (p *parser) ipSpec() []hostNode {
	if p.accept("any") {
		return []hostNode{{}}
	}
	var out []hostNode
	if isPunct(p.peek(), "{") {
		p.next()
		p.skipNL()
		for !p.acceptPunct("}") {
			if p.peek().kind == tEOF {
				p.failTok(p.peek(), `"}"`)
			}
			out = append(out, p.ipSpec()...)
			p.acceptPunct(",")
			p.skipNL()
		}
		if len(out) == 0 {
			p.fail("empty address list")
		}
		return out
	}
	not := p.acceptPunct("!")
	hs := p.hostItem(false)
	for i := range hs {
		hs[i].not = not
	}
	return hs
}

// hostItem parses one host: a name, address, address/bits, range,
// (dynamic), <table>, no-route, urpf-failed, self.
func (p *parser) hostItem(pool bool) []hostNode {
	t := p.next()
	switch {
	case isWord(t, "no-route") && !pool:
		return []hostNode{{addr: Addr{Type: AddrNoRoute}}}
	case isWord(t, "urpf-failed") && !pool:
		return []hostNode{{addr: Addr{Type: AddrURPFFailed}}}
	case isWord(t, "any") && !pool:
		return []hostNode{{}}
	case isWord(t, "route"):
		p.fail("route labels are not supported by hostnet")
	case isPunct(t, "<"):
		n := p.next()
		if n.kind != tWord && n.kind != tString && n.kind != tNumber {
			p.failTok(n, "a table name")
		}
		p.expectPunct(">")
		if len(n.s) >= 32 {
			p.fail("table name too long: %s", n.s)
		}
		return []hostNode{{addr: Addr{Type: AddrTable, Name: n.s}}}
	case isPunct(t, "("):
		n := p.next()
		if n.kind != tWord && n.kind != tString {
			p.failTok(n, "an interface name")
		}
		p.expectPunct(")")
		h, err := dynHost(n.s)
		if err != nil {
			p.fail("%v", err)
		}
		if p.acceptPunct("/") {
			h.addr.Bits = int(p.number("a netmask", 0, 128))
		}
		return []hostNode{h}
	case t.kind == tWord || t.kind == tString || t.kind == tNumber:
		s := t.s
		if p.acceptPunct("-") {
			e := p.str("an address")
			a, ok1, _ := hostIP(s, -1)
			b, ok2, _ := hostIP(e, -1)
			if !ok1 || !ok2 || a.af != b.af {
				p.fail("invalid address range %s - %s", s, e)
			}
			return []hostNode{{af: a.af, addr: Addr{Type: AddrRange, From: a.addr.Prefix.Addr(), To: b.addr.Prefix.Addr()}}}
		}
		mask := -1
		if p.acceptPunct("/") {
			mask = int(p.number("a netmask", 0, 128))
		}
		hs, err := p.ld.host(s, mask)
		if err != nil {
			p.fail("%v", err)
		}
		return hs
	}
	p.failTok(t, "an address")
	return nil
}

// portSpec parses a port or a { } list of them.
func (p *parser) portSpec() []Port {
	var out []Port
	p.list(func() { out = append(out, p.portItem()) })
	return out
}

var unaryOps = map[string]PortOp{"=": PortEq, "!=": PortNe, "<": PortLt, "<=": PortLe, ">": PortGt, ">=": PortGe}

func (p *parser) portItem() Port {
	if t := p.peek(); t.kind == tPunct {
		op, ok := unaryOps[t.s]
		if !ok {
			p.failTok(t, "a port")
		}
		p.next()
		a, _, rng, _ := p.portRange(false)
		if rng {
			p.fail("':' cannot be used with an other port operator")
		}
		return Port{Op: op, A: uint32(a), B: uint32(a)}
	}
	a, b, rng, _ := p.portRange(false)
	if t := p.peek(); isPunct(t, "<>") || isPunct(t, "><") {
		p.next()
		c, _, rng2, _ := p.portRange(false)
		if rng || rng2 {
			p.fail("':' cannot be used with an other port operator")
		}
		op := PortInside
		if t.s == "<>" {
			op = PortOutside
		}
		return Port{Op: op, A: uint32(a), B: uint32(c)}
	}
	if rng {
		return Port{Op: PortRange, A: uint32(a), B: uint32(b)}
	}
	return Port{Op: PortEq, A: uint32(a), B: uint32(a)}
}

// portRange parses "N", "name", "a:b" or (star allowed) "a:*".
func (p *parser) portRange(star bool) (a, b uint16, rng, isStar bool) {
	t := p.next()
	if t.kind != tWord && t.kind != tNumber && t.kind != tString {
		p.failTok(t, "a port")
	}
	s := t.s
	i := strings.IndexByte(s, ':')
	if i < 0 {
		a = p.service(s)
		return a, a, false, false
	}
	if s[i+1:] == "*" && star {
		return p.service(s[:i]), 0, false, true
	}
	return p.service(s[:i]), p.service(s[i+1:]), true, false
}

// service resolves a port number or service name (getservice).
func (p *parser) service(s string) uint16 {
	if n, ok := atoul(s); ok {
		if n > 65535 {
			p.fail("illegal port value %d", n)
		}
		return uint16(n)
	}
	if v, ok := services[s]; ok {
		return v
	}
	p.fail("unknown port %s", s)
	return 0
}

// atoul parses like strtoul(s, 0): decimal, 0x hex or 0 octal.
func atoul(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	base := 10
	switch {
	case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X"):
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	n, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

var tosNames = map[string]uint8{
	"lowdelay": 0x10, "throughput": 0x08, "reliability": 0x04,
	"critical": 0xa0, "inetcontrol": 0xc0, "netcontrol": 0xe0,
	"af11": 0x28, "af12": 0x30, "af13": 0x38, "af21": 0x48, "af22": 0x50,
	"af23": 0x58, "af31": 0x68, "af32": 0x70, "af33": 0x78, "af41": 0x88,
	"af42": 0x90, "af43": 0x98, "ef": 0xb8, "va": 0xb0, "cs0": 0x00,
	"cs1": 0x20, "cs2": 0x40, "cs3": 0x60, "cs4": 0x80, "cs5": 0xa0,
	"cs6": 0xc0, "cs7": 0xe0,
}

func (p *parser) tos() uint8 {
	t := p.next()
	switch t.kind {
	case tNumber:
		n, _ := strconv.Atoi(t.s)
		if n < 0 || n > 255 {
			p.fail("illegal tos value %s", t.s)
		}
		return uint8(n)
	case tWord, tString:
		if v, ok := tosNames[t.s]; ok {
			return v
		}
		if strings.HasPrefix(t.s, "0x") {
			n, err := strconv.ParseUint(t.s[2:], 16, 8)
			if err == nil {
				return uint8(n)
			}
		}
		p.fail("illegal tos value %s", t.s)
	}
	p.failTok(t, "a tos value")
	return 0
}

// parseFlags turns "FSRPAUEW" letters into TCP flag bits.
func parseFlags(s string) (uint8, bool) {
	var f uint8
	for _, c := range s {
		i := strings.IndexRune("FSRPAUEW", c)
		if i < 0 {
			return 0, false
		}
		f |= 1 << i
	}
	return f, true
}

// filterOpts parses the options after from/to, in any order.
func (p *parser) filterOpts(rp *ruleParse) {
	r := &rp.r
	for {
		t := p.peek()
		if t.kind != tWord && !isPunct(t, "!") {
			return
		}
		if isPunct(t, "!") {
			p.next()
			p.expect("tagged")
			r.Tagged = p.str("a tag name")
			r.TaggedNot = true
			continue
		}
		switch t.s {
		case "user", "group":
			p.next()
			var ids []Port
			p.list(func() { ids = append(ids, p.idItem(t.s)) })
			if t.s == "user" {
				rp.uids = ids
			} else {
				rp.gids = ids
			}
		case "flags":
			p.next()
			rp.flagsSet = true
			if p.accept("any") {
				r.Flags, r.FlagsMask = 0, 0
				break
			}
			if !isPunct(p.peek(), "/") {
				s := p.str("tcp flags")
				f, ok := parseFlags(s)
				if !ok {
					p.fail("bogus flags %s", s)
				}
				r.Flags = f
			}
			p.expectPunct("/")
			s := p.str("tcp flags")
			m, ok := parseFlags(s)
			if !ok {
				p.fail("bogus flags %s", s)
			}
			r.FlagsMask = m
		case "icmp-type", "icmp6-type":
			p.next()
			af, proto := Inet, uint8(protoICMP)
			if t.s == "icmp6-type" {
				af, proto = Inet6, protoICMP6
			}
			p.list(func() { rp.icmps = append(rp.icmps, p.icmpItem(af, proto)) })
		case "tos":
			p.next()
			r.TOS = p.tos()
			if r.TOS == 0 {
				p.fail("tos 0 cannot be matched")
			}
		case "prio":
			p.next()
			r.Prio = uint8(p.number("a priority", 0, 7))
			r.PrioSet = true
		case "no":
			p.next()
			p.expect("state")
			r.State = NoState
			rp.stateSet = true
		case "keep", "modulate", "synproxy":
			p.next()
			p.expect("state")
			rp.stateSet = true
			switch t.s {
			case "keep":
				r.State = KeepState
			case "modulate":
				r.State = ModulateState
			case "synproxy":
				r.State = SynproxyState
			}
			if p.acceptPunct("(") {
				p.stateOpts(r)
			}
		case "fragment":
			p.next()
			r.Fragment = true
		case "allow-opts":
			p.next()
			r.AllowOpts = true
		case "label":
			p.next()
			r.Label = p.str("a label")
			if len(r.Label) >= 64 {
				p.fail("rule label too long (max 63 chars)")
			}
		case "tag":
			p.next()
			r.Tag = p.str("a tag name")
		case "tagged":
			p.next()
			r.Tagged = p.str("a tag name")
		case "probability":
			p.next()
			s := p.str("a probability")
			v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
			if strings.HasSuffix(s, "%") {
				v *= 0.01
			}
			if err != nil || v < 0 || v > 1 {
				p.fail("invalid probability: %s", s)
			}
			r.Probability = uint32(v * math.MaxUint32)
		case "rtable":
			p.next()
			p.fail("rtable: routing domains are not supported by hostnet")
		case "received-on":
			p.next()
			not := p.acceptPunct("!")
			r.ReceivedOn = p.str("an interface")
			r.ReceivedOnNot = not
		case "once":
			p.next()
			r.Once = true
		case "max-pkt-rate":
			p.next()
			r.MaxPktRate.Limit = uint32(p.number("a packet count", 0, 1<<32-1))
			p.expectPunct("/")
			r.MaxPktRate.Seconds = uint32(p.number("seconds", 1, 1<<32-1))
		case "scrub":
			p.next()
			p.scrubOpts(r)
		case "set":
			p.next()
			p.setOpts(r)
		case "queue":
			p.fail("queue: queueing is not supported by hostnet")
		case "nat-to", "rdr-to", "binat-to":
			p.next()
			rs := p.redirPool(true)
			switch t.s {
			case "nat-to":
				if rp.nat != nil {
					p.fail("nat-to already specified")
				}
				rp.nat = rs
			case "rdr-to":
				if rp.rdr != nil {
					p.fail("rdr-to already specified")
				}
				rp.rdr = rs
			case "binat-to":
				if rp.nat != nil {
					p.fail("nat-to already specified")
				}
				rp.nat, rp.binat = rs, true
				rs.static = true
			}
		case "af-to":
			p.next()
			var af AF
			if p.accept("inet") {
				af = Inet
			} else if p.accept("inet6") {
				af = Inet6
			} else {
				p.failTok(p.next(), "inet or inet6")
			}
			p.expect("from")
			rp.nat = p.redirPool(true)
			rp.nat.af = af
			r.AFTo = af
			if p.accept("to") {
				rp.rdr = p.redirPool(true)
				rp.rdr.af = af
			}
		case "route-to", "reply-to", "dup-to":
			p.next()
			switch t.s {
			case "route-to":
				r.RouteType = RouteTo
			case "reply-to":
				r.RouteType = ReplyTo
			case "dup-to":
				r.RouteType = DupTo
			}
			rp.route = p.routeSpec()
		case "divert-to", "divert-reply", "divert-packet":
			p.fail("%s is not supported by hostnet", t.s)
		case "os":
			p.fail("os fingerprints are not supported by hostnet")
		default:
			return
		}
	}
}

func (p *parser) idItem(what string) Port {
	one := func() uint32 {
		t := p.next()
		switch {
		case t.kind == tNumber:
			n, err := strconv.ParseUint(t.s, 10, 32)
			if err != nil {
				p.fail("illegal %s value %s", what, t.s)
			}
			return uint32(n)
		case isWord(t, "unknown"):
			return math.MaxUint32
		case t.kind == tWord || t.kind == tString:
			if t.s == "root" || t.s == "wheel" && what == "group" {
				return 0
			}
			p.fail("unknown %s %s (use the numeric id)", what, t.s)
		}
		p.failTok(t, "a "+what+" id")
		return 0
	}
	if t := p.peek(); t.kind == tPunct {
		op, ok := unaryOps[t.s]
		if !ok {
			p.failTok(t, "a "+what)
		}
		p.next()
		a := one()
		return Port{Op: op, A: a, B: a}
	}
	a := one()
	if t := p.peek(); isPunct(t, "<>") || isPunct(t, "><") {
		p.next()
		b := one()
		op := PortInside
		if t.s == "<>" {
			op = PortOutside
		}
		return Port{Op: op, A: a, B: b}
	}
	return Port{Op: PortEq, A: a, B: a}
}

func (p *parser) icmpItem(af AF, proto uint8) icmpNode {
	t := p.next()
	var typ uint8
	switch t.kind {
	case tNumber:
		n, _ := strconv.Atoi(t.s)
		if n < 0 || n > 255 {
			p.fail("illegal icmp-type %d", n)
		}
		typ = uint8(n)
	case tWord, tString:
		v, ok := icmpTypeByName(t.s, af)
		if !ok {
			p.fail("unknown icmp-type %s", t.s)
		}
		typ = v
	default:
		p.failTok(t, "an icmp type")
	}
	n := icmpNode{typ: typ + 1, proto: proto}
	if p.accept("code") {
		c := p.next()
		switch c.kind {
		case tNumber:
			v, _ := strconv.Atoi(c.s)
			if v < 0 || v > 255 {
				p.fail("illegal icmp-code %d", v)
			}
			n.code = uint8(v) + 1
		case tWord, tString:
			ct, cc, ok := icmpCodeByName(c.s, af)
			if !ok || ct != typ {
				p.fail("unknown icmp-code %s", c.s)
			}
			n.code = cc + 1
		default:
			p.failTok(c, "an icmp code")
		}
	}
	return n
}

// stateOpts parses the ( ... ) after keep/modulate/synproxy state.
func (p *parser) stateOpts(r *Rule) {
	srctrack := 0 // 1 global, 2 rule
	statelock := false
	for {
		t := p.next()
		switch {
		case isWord(t, "max"):
			r.MaxStates = uint32(p.number("a state limit", 1, 1<<32-1))
		case isWord(t, "no-sync"):
			r.NoSync = true
		case isWord(t, "source-track"):
			if srctrack != 0 {
				p.fail("state option 'source-track' multiple definitions")
			}
			srctrack = 1
			if p.accept("rule") {
				srctrack = 2
			} else {
				p.accept("global")
			}
		case isWord(t, "max-src-states"):
			r.MaxSrcStates = uint32(p.number("a limit", 1, 1<<32-1))
			r.SourceTrack = true
		case isWord(t, "max-src-nodes"):
			r.MaxSrcNodes = uint32(p.number("a limit", 1, 1<<32-1))
			r.SourceTrack, r.SourceTrackRule = true, true
		case isWord(t, "max-src-conn"):
			r.MaxSrcConn = uint32(p.number("a limit", 1, 1<<32-1))
			r.SourceTrack, r.SourceTrackRule = true, true
		case isWord(t, "max-src-conn-rate"):
			r.MaxSrcConnRate.Limit = uint32(p.number("a limit", 1, 1<<32-1))
			p.expectPunct("/")
			r.MaxSrcConnRate.Seconds = uint32(p.number("seconds", 1, 1<<32-1))
			r.SourceTrack, r.SourceTrackRule = true, true
			r.Timeouts[tmSrcTrack] = r.MaxSrcConnRate.Seconds
		case isWord(t, "overload"):
			r.Overload = p.tableName()
			if p.accept("flush") {
				r.Flush = true
				if p.accept("global") {
					r.FlushGlobal = true
				}
			}
		case isWord(t, "if-bound"), isWord(t, "floating"):
			if statelock {
				p.fail("state locking option: multiple definitions")
			}
			statelock = true
			r.IfBound = t.s == "if-bound"
		case isWord(t, "sloppy"):
			r.Sloppy = true
		case isWord(t, "pflow"):
			r.Pflow = true
		case t.kind == tWord || t.kind == tString:
			i := timeoutIndex(t.s)
			if i < 0 {
				p.fail("illegal timeout name %s", t.s)
			}
			r.Timeouts[i] = uint32(p.number("a timeout", 0, 1<<32-1))
		default:
			p.failTok(t, "a state option")
		}
		if p.acceptPunct(",") {
			continue
		}
		if p.acceptPunct(")") {
			break
		}
		p.failTok(p.next(), `"," or ")"`)
	}
	if srctrack != 0 {
		r.SourceTrack = true
		if srctrack == 2 {
			r.SourceTrackRule = true
		}
	}
	if !statelock {
		r.IfBound = p.ld.spec.Options.StatePolicy == StateIfBound
	}
	if r.MaxStates != 0 && r.Timeouts[tmAdaptiveStart] == 0 && r.Timeouts[tmAdaptiveEnd] == 0 {
		r.Timeouts[tmAdaptiveStart] = r.MaxStates / 10 * 6
		r.Timeouts[tmAdaptiveEnd] = r.MaxStates / 10 * 12
	}
}

func (p *parser) scrubOpts(r *Rule) {
	p.expectPunct("(")
	for !p.acceptPunct(")") {
		t := p.next()
		switch {
		case isWord(t, "no-df"):
			r.ScrubNoDF = true
		case isWord(t, "random-id"):
			r.ScrubRandomID = true
		case isWord(t, "min-ttl"):
			r.ScrubMinTTL = uint8(p.number("a ttl", 0, 255))
		case isWord(t, "max-mss"):
			r.ScrubMaxMSS = uint16(p.number("an mss", 0, 65535))
		case isWord(t, "reassemble"):
			if s := p.str("tcp"); s != "tcp" {
				p.fail("reassemble %s: only tcp", s)
			}
			r.ScrubTCP = true
		default:
			p.failTok(t, "a scrub option")
		}
		p.acceptPunct(",")
	}
}

func (p *parser) setOpts(r *Rule) {
	one := func() {
		t := p.next()
		switch {
		case isWord(t, "prio"):
			if p.acceptPunct("(") {
				a := p.number("a priority", 0, 7)
				p.acceptPunct(",")
				b := p.number("a priority", 0, 7)
				p.expectPunct(")")
				r.SetPrio = [2]uint8{uint8(a), uint8(b)}
			} else {
				a := p.number("a priority", 0, 7)
				r.SetPrio = [2]uint8{uint8(a), uint8(a)}
			}
			r.SetPrioSet = true
		case isWord(t, "tos"):
			r.SetTOS = p.tos()
			r.SetTOSSet = true
		case isWord(t, "queue"):
			p.fail("set queue: queueing is not supported by hostnet")
		case isWord(t, "delay"):
			p.fail("set delay is not supported by hostnet")
		default:
			p.failTok(t, "prio or tos")
		}
	}
	if p.acceptPunct("(") {
		for !p.acceptPunct(")") {
			one()
			p.acceptPunct(",")
		}
		return
	}
	one()
}

// redirPool parses a translation target with its port and pool options.
func (p *parser) redirPool(ports bool) *redirSpec {
	rs := &redirSpec{line: p.stmtLine}
	if p.acceptPunct("{") {
		p.skipNL()
		for !p.acceptPunct("}") {
			rs.hosts = append(rs.hosts, p.hostItem(true)...)
			p.acceptPunct(",")
			p.skipNL()
		}
	} else {
		rs.hosts = p.hostItem(true)
	}
	for _, h := range rs.hosts {
		switch {
		case h.addr.Type == AddrNoRoute, h.addr.Type == AddrURPFFailed, isAnyAddr(h.addr):
			p.fail("invalid translation address")
		}
	}
	if ports && p.accept("port") {
		a, b, rng, star := p.portRange(true)
		rs.portSet, rs.portA, rs.portB, rs.portStar = true, a, b, star
		if !rng && !star {
			rs.portB = a
		}
	}
	p.poolOpts(rs)
	return rs
}

func (p *parser) poolOpts(rs *redirSpec) {
	setType := func(t PoolType) {
		if rs.typ != PoolNone {
			p.fail("pool type cannot be redefined")
		}
		rs.typ = t
	}
	for {
		t := p.peek()
		switch {
		case isWord(t, "bitmask"):
			p.next()
			setType(PoolBitmask)
		case isWord(t, "random"):
			p.next()
			setType(PoolRandom)
		case isWord(t, "round-robin"):
			p.next()
			setType(PoolRoundRobin)
		case isWord(t, "least-states"):
			p.next()
			setType(PoolLeastStates)
		case isWord(t, "source-hash"):
			p.next()
			setType(PoolSourceHash)
			if k := p.peek(); (k.kind == tWord && !keywords[k.s]) || k.kind == tString {
				p.next()
				key, err := sourceHashKey(k.s)
				if err != nil {
					p.fail("%v", err)
				}
				rs.key = key
			}
		case isWord(t, "sticky-address"):
			p.next()
			if rs.sticky {
				p.fail("sticky-address cannot be redefined")
			}
			rs.sticky = true
		case isWord(t, "static-port"):
			p.next()
			rs.static = true
		default:
			return
		}
	}
}

// routeSpec parses a route-to/reply-to/dup-to target: ADDR[@IF], a list
// of them, or the old (IF ADDR) form.
func (p *parser) routeSpec() *redirSpec {
	rs := &redirSpec{line: p.stmtLine, route: true}
	item := func() {
		if p.acceptPunct("(") {
			ifn := p.str("an interface")
			hs := p.hostItem(true)
			p.expectPunct(")")
			for i := range hs {
				hs[i].zone = ifn
			}
			rs.hosts = append(rs.hosts, hs...)
			return
		}
		t := p.peek()
		if (t.kind == tWord || t.kind == tString) && strings.Contains(t.s, "@") {
			p.next()
			i := strings.IndexByte(t.s, '@')
			hs, err := p.ld.host(t.s[:i], -1)
			if err != nil {
				p.fail("%v", err)
			}
			for j := range hs {
				hs[j].zone = t.s[i+1:]
			}
			rs.hosts = append(rs.hosts, hs...)
			return
		}
		rs.hosts = append(rs.hosts, p.hostItem(true)...)
	}
	p.list(item)
	p.poolOpts(rs)
	return rs
}
