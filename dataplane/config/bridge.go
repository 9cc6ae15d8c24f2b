package config

import (
	"bufio"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

func (ifp *Interface) member(name string) int {
	return slices.IndexFunc(ifp.Members, func(m BridgeMember) bool { return m.Name == name })
}

// memberArg reads an interface name that must be a member of the bridge.
func (p *hnParser) memberArg(a *args, kw word) (int, *posErr) {
	w, e := a.next(kw, "member interface")
	if e != nil {
		return -1, e
	}
	i := p.ifp.member(w.s)
	if i < 0 {
		return -1, errAt(w, "%s %s: %s is not a member of %s", kw.s, w.s, w.s, p.ifp.Name)
	}
	return i, nil
}

func (p *hnParser) bridgeCommand(a *args, kw word, line int) *posErr {
	ifp := p.ifp
	switch kw.s {
	case "add":
		w, e := a.next(kw, "interface")
		if e != nil {
			return e
		}
		k, err := KindOf(w.s)
		switch {
		case err != nil:
			return errAt(w, "add: %v", err)
		case w.s == ifp.Name:
			return errAt(w, "add: %s cannot be a member of itself", w.s)
		case k == Bridge:
			return errAt(w, "add: %s is a bridge; a bridge cannot be a member of a bridge", w.s)
		case ifp.member(w.s) >= 0:
			return errAt(w, "add: %s is already a member of %s", w.s, ifp.Name)
		case slices.Contains(ifp.Spans, w.s):
			return errAt(w, "add: %s is a span port of %s; a span port cannot be a member", w.s, ifp.Name)
		}
		ifp.Members = append(ifp.Members, BridgeMember{Name: w.s, Learn: true, Discover: true, Line: line})
	case "del":
		i, e := p.memberArg(a, kw)
		if e != nil {
			return e
		}
		name := ifp.Members[i].Name
		// bridge(4) forgets a removed member's addresses and rules.
		ifp.Members = slices.Delete(ifp.Members, i, i+1)
		ifp.Static = slices.DeleteFunc(ifp.Static, func(s StaticEntry) bool { return s.If == name })
		ifp.Rules = slices.DeleteFunc(ifp.Rules, func(r BridgeRule) bool { return r.If == name })
	case "timeout":
		n, e := intArg(a, kw, "seconds", 0, 1<<31-1)
		if e != nil {
			return e
		}
		ifp.Timeout = n
	case "maxaddr":
		n, e := intArg(a, kw, "address count", 0, MaxMaxAddr)
		if e != nil {
			return e
		}
		ifp.MaxAddr = n
	case "static":
		i, e := p.memberArg(a, kw)
		if e != nil {
			return e
		}
		m, e := macArg(a, kw, true)
		if e != nil {
			return e
		}
		se := StaticEntry{If: ifp.Members[i].Name, MAC: m}
		if j := slices.IndexFunc(ifp.Static, func(s StaticEntry) bool { return s.MAC == m }); j >= 0 {
			ifp.Static[j] = se
		} else {
			ifp.Static = append(ifp.Static, se)
		}
	case "deladdr":
		w, _ := a.peek()
		m, e := macArg(a, kw, false)
		if e != nil {
			return e
		}
		j := slices.IndexFunc(ifp.Static, func(s StaticEntry) bool { return s.MAC == m })
		if j < 0 {
			return errAt(w, "deladdr %s: no static entry for %s in %s", m, m, ifp.Name)
		}
		ifp.Static = slices.Delete(ifp.Static, j, j+1)
	case "flush":
		// Removes learned entries only; the configuration holds none.
	case "flushall":
		ifp.Static = nil
	case "protected":
		i, e := p.memberArg(a, kw)
		if e != nil {
			return e
		}
		w, e := a.next(kw, "domain ids like 1,2")
		if e != nil {
			return e
		}
		var ids []int
		for f := range strings.SplitSeq(w.s, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n < 1 || n > 31 || f[0] == '+' {
				return errAt(w, "protected: invalid domain id %q; want a comma list of ids 1-31", f)
			}
			if !slices.Contains(ids, n) {
				ids = append(ids, n)
			}
		}
		slices.Sort(ids)
		ifp.Members[i].Protected = ids
	case "-protected":
		i, e := p.memberArg(a, kw)
		if e != nil {
			return e
		}
		ifp.Members[i].Protected = nil
	case "learn", "-learn", "discover", "-discover", "blocknonip", "-blocknonip":
		i, e := p.memberArg(a, kw)
		if e != nil {
			return e
		}
		on := kw.s[0] != '-'
		m := &ifp.Members[i]
		switch strings.TrimPrefix(kw.s, "-") {
		case "learn":
			m.Learn = on
		case "discover":
			m.Discover = on
		default:
			m.BlockNonIP = on
		}
	case "addspan":
		w, e := a.next(kw, "interface")
		if e != nil {
			return e
		}
		k, err := KindOf(w.s)
		switch {
		case err != nil:
			return errAt(w, "addspan: %v", err)
		case w.s == ifp.Name || k == Bridge:
			return errAt(w, "addspan: %s is a bridge; want an interface that sends frames", w.s)
		case ifp.member(w.s) >= 0:
			return errAt(w, "addspan: %s is a member of %s; a span port cannot be a member", w.s, ifp.Name)
		case slices.Contains(ifp.Spans, w.s):
			return errAt(w, "addspan: %s is already a span port of %s", w.s, ifp.Name)
		}
		ifp.Spans = append(ifp.Spans, w.s)
	case "delspan":
		w, e := a.next(kw, "interface")
		if e != nil {
			return e
		}
		j := slices.Index(ifp.Spans, w.s)
		if j < 0 {
			return errAt(w, "delspan: %s is not a span port of %s", w.s, ifp.Name)
		}
		ifp.Spans = slices.Delete(ifp.Spans, j, j+1)
	case "rule":
		rest := a.w[a.i:]
		a.i = len(a.w)
		r, e := parseRule(rest, kw, ifp)
		if e != nil {
			return e
		}
		r.File, r.Line = p.file, line
		ifp.Rules = append(ifp.Rules, r)
	case "rulefile":
		w, e := a.next(kw, "file name")
		if e != nil {
			return e
		}
		return p.rulefile(w)
	case "flushrule":
		i, e := p.memberArg(a, kw)
		if e != nil {
			return e
		}
		name := ifp.Members[i].Name
		ifp.Rules = slices.DeleteFunc(ifp.Rules, func(r BridgeRule) bool { return r.If == name })
	}
	return nil
}

// macArg reads a MAC address; unicast requires a unicast, non-zero one.
func macArg(a *args, kw word, unicast bool) (MAC, *posErr) {
	w, e := a.next(kw, "MAC address")
	if e != nil {
		return MAC{}, e
	}
	m, err := ParseMAC(w.s)
	if err != nil {
		return m, errAt(w, "%s: %v", kw.s, err)
	}
	if unicast && (m.IsMulticast() || m.IsZero()) {
		return m, errAt(w, "%s %s: want a unicast address", kw.s, m)
	}
	return m, nil
}

// rulefile reads bridge rules, one per line without the word rule, as
// ifconfig(8) does. Its errors are reported at the rule file's lines.
func (p *hnParser) rulefile(w word) *posErr {
	f, name, err := p.opts.open(w.s)
	if err != nil {
		return errAt(w, "rulefile: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	n := 0
	for sc.Scan() {
		n++
		ws, bad := splitWords(sc.Text())
		if bad > 0 {
			p.errs.add(name, n, bad, "unterminated quoted string")
			continue
		}
		if len(ws) == 0 {
			continue
		}
		if ws[0].s == "rule" {
			ws = ws[1:]
		}
		r, e := parseRule(ws, word{s: "rule", col: 1}, p.ifp)
		if e != nil {
			p.errs.add(name, n, e.col, "%s", e.msg)
			continue
		}
		r.File, r.Line = name, n
		p.ifp.Rules = append(p.ifp.Rules, r)
	}
	if err := sc.Err(); err != nil {
		p.errs.add(name, n+1, 0, "%v", err)
	}
	return nil
}

// parseRule parses the words after "rule", as ifconfig(8)'s bridge_rule.
func parseRule(ws []word, kw word, br *Interface) (BridgeRule, *posErr) {
	var r BridgeRule
	a := &args{w: ws}
	w, e := a.next(kw, "pass or block")
	if e != nil {
		return r, e
	}
	switch w.s {
	case "pass":
		r.Action = Pass
	case "block":
		r.Action = Block
	default:
		return r, errAt(w, "rule: unknown action %q; want pass or block", w.s)
	}
	if w, e = a.next(w, "direction or on"); e != nil {
		return r, e
	}
	switch w.s {
	case "in":
		r.Dir = DirIn
	case "out":
		r.Dir = DirOut
	case "in/out":
		r.Dir = DirBoth
	case "on":
		a.i--
	default:
		return r, errAt(w, "rule: unknown direction %q; want in, out, in/out or on", w.s)
	}
	if w, e = a.next(w, "on"); e != nil {
		return r, e
	}
	if w.s != "on" {
		return r, errAt(w, "rule: unexpected %q; want on IF", w.s)
	}
	if w, e = a.next(w, "interface"); e != nil {
		return r, e
	}
	if br.member(w.s) < 0 {
		return r, errAt(w, "rule on %s: %s is not a member of %s", w.s, w.s, br.Name)
	}
	r.If = w.s
	for a.more() {
		w, _ = a.next(w, "")
		switch w.s {
		case "src", "dst":
			m, e := macArg(a, w, false)
			if e != nil {
				return r, e
			}
			if w.s == "src" {
				if r.Src != nil {
					return r, errAt(w, "rule: src given twice")
				}
				r.Src = &m
			} else {
				if r.Dst != nil {
					return r, errAt(w, "rule: dst given twice")
				}
				r.Dst = &m
			}
		case "tag":
			t, e := a.next(w, "tag name")
			if e != nil {
				return r, e
			}
			if r.Tag != "" {
				return r, errAt(w, "rule: tag given twice")
			}
			if t.s == "" || len(t.s) > 63 || strings.ContainsAny(t.s, " \t\"'\\#") {
				return r, errAt(t, "rule: invalid tag %q; want a name of 1-63 characters", t.s)
			}
			r.Tag = t.s
		case "arp", "rarp":
			if r.ARP != nil {
				return r, errAt(w, "rule: arp or rarp given twice")
			}
			r.ARP = &ARPMatch{RARP: w.s == "rarp"}
			if e := parseARP(a, r.ARP); e != nil {
				return r, e
			}
		default:
			return r, errAt(w, "rule: unknown keyword %q; want src, dst, tag, arp or rarp", w.s)
		}
	}
	return r, nil
}

func parseARP(a *args, m *ARPMatch) *posErr {
	for a.more() {
		w, _ := a.peek()
		switch w.s {
		case "request", "reply":
			a.i++
			if m.Op != ARPAny {
				return errAt(w, "rule: request or reply given twice")
			}
			m.Op = ARPRequest
			if w.s == "reply" {
				m.Op = ARPReply
			}
		case "sha", "tha":
			a.i++
			v, e := macArg(a, w, false)
			if e != nil {
				return e
			}
			dst := &m.SHA
			if w.s == "tha" {
				dst = &m.THA
			}
			if *dst != nil {
				return errAt(w, "rule: %s given twice", w.s)
			}
			*dst = &v
		case "spa", "tpa":
			a.i++
			v, e := a.next(w, "IPv4 address")
			if e != nil {
				return e
			}
			ip, err := netip.ParseAddr(v.s)
			if err != nil || !ip.Is4() {
				return errAt(v, "rule: %s %q: want an IPv4 address", w.s, v.s)
			}
			dst := &m.SPA
			if w.s == "tpa" {
				dst = &m.TPA
			}
			if dst.IsValid() {
				return errAt(w, "rule: %s given twice", w.s)
			}
			*dst = ip
		default:
			return nil
		}
	}
	return nil
}
