package pfconf

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Format returns the Spec as `pfctl -o none -nv` prints it: the echo of
// macros, tables and options, then the rules of the main ruleset, with
// the rules of each anchor that has any nested in braces below its
// anchor rule.
func (s *Spec) Format() string {
	p := printer{s: s, shown: map[string]bool{}}
	for _, l := range s.Echo {
		p.b.WriteString(l)
		p.b.WriteByte('\n')
	}
	p.writeRules(&s.Main, 0)
	return p.b.String()
}

// FormatRules returns the rules of the ruleset at path ("" for the main
// one) as `pfctl -a PATH -sr` shows them, anchors nested in braces. A
// path ending in "*" shows each child anchor of the parent.
func (s *Spec) FormatRules(path string) (string, error) {
	p := printer{s: s, shown: map[string]bool{}, all: true}
	if parent, ok := strings.CutSuffix(path, "*"); ok {
		parent = strings.TrimSuffix(parent, "/")
		if parent != "" && s.Anchors[parent] == nil && len(s.children(parent)) == 0 {
			return "", fmt.Errorf("anchor %q does not exist", parent)
		}
		p.writeChildren(parent, 0)
		return p.b.String(), nil
	}
	rs := s.Ruleset(path)
	if rs == nil {
		return "", fmt.Errorf("anchor %q does not exist", path)
	}
	p.shown[path] = true
	p.writeRules(rs, 0)
	return p.b.String(), nil
}

// children returns the direct child rulesets of path, in strcmp order.
func (s *Spec) children(path string) []*Ruleset {
	var out []*Ruleset
	for p, rs := range s.Anchors {
		rest := p
		if path != "" {
			var ok bool
			rest, ok = strings.CutPrefix(p, path+"/")
			if !ok {
				continue
			}
		}
		if rest == "" || strings.Contains(rest, "/") {
			continue
		}
		out = append(out, rs)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// printer writes rulesets, each anchor's rules once, nested in braces
// below the first anchor rule that calls it.
type printer struct {
	s     *Spec
	b     strings.Builder
	shown map[string]bool
	// all shows every child of a wildcard anchor (pfctl -sr); without it
	// only children loaded from files are shown there, since inline ones
	// are printed where they are defined and the text must read back.
	all bool
}

func (p *printer) indent(depth int) {
	for range depth {
		p.b.WriteString("  ")
	}
}

func (p *printer) line(depth int, s string) {
	p.indent(depth)
	p.b.WriteString(s)
	p.b.WriteByte('\n')
}

func (p *printer) writeRules(rs *Ruleset, depth int) {
	for i := range rs.Rules {
		r := &rs.Rules[i]
		line := FormatRule(r)
		if r.Action != Anchor {
			p.line(depth, line)
			continue
		}
		if parent, ok := strings.CutSuffix(r.AnchorPath, "*"); ok {
			parent = strings.TrimSuffix(parent, "/")
			if len(p.visibleChildren(parent)) == 0 {
				p.line(depth, line)
				continue
			}
			p.line(depth, line+" {")
			p.writeChildren(parent, depth+1)
			p.line(depth, "}")
			continue
		}
		sub := p.s.Anchors[r.AnchorPath]
		if sub == nil || len(sub.Rules) == 0 || p.shown[r.AnchorPath] {
			if isUnnamed(r.AnchorCall) {
				// An empty unnamed inline anchor: print its braces so
				// the text reads back (pfctl prints the bare line).
				p.line(depth, line+" {")
				p.line(depth, "}")
				continue
			}
			p.line(depth, line)
			continue
		}
		p.shown[r.AnchorPath] = true
		p.line(depth, line+" {")
		p.writeRules(sub, depth+1)
		p.line(depth, "}")
	}
}

// visibleChildren returns the children of parent a wildcard anchor rule
// shows.
func (p *printer) visibleChildren(parent string) []*Ruleset {
	var out []*Ruleset
	for _, k := range p.s.children(parent) {
		if p.shown[k.Path] || len(k.Rules) == 0 && !p.all {
			continue
		}
		if p.all || k.File != "" {
			out = append(out, k)
		}
	}
	return out
}

// writeChildren writes each child of parent as `anchor "name" all`, with
// its rules in braces.
func (p *printer) writeChildren(parent string, depth int) {
	for _, k := range p.visibleChildren(parent) {
		name := k.Path
		if parent != "" {
			name = strings.TrimPrefix(k.Path, parent+"/")
		}
		line := fmt.Sprintf("anchor \"%s\" all", name)
		if len(k.Rules) == 0 {
			p.line(depth, line)
			continue
		}
		p.shown[k.Path] = true
		p.line(depth, line+" {")
		p.writeRules(k, depth+1)
		p.line(depth, "}")
	}
}

// isUnnamed reports whether an anchor call is a generated name (last
// component starting with "_"), which print_rule hides.
func isUnnamed(call string) bool {
	if i := strings.LastIndexByte(call, '/'); i >= 0 {
		call = call[i+1:]
	}
	return strings.HasPrefix(call, "_")
}

// formatTable prints a table definition (print_tabledef).
func formatTable(t *Table, addrs bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "table <%s>", t.Name)
	if t.Const {
		b.WriteString(" const")
	}
	if t.Persist {
		b.WriteString(" persist")
	}
	if t.Counters {
		b.WriteString(" counters")
	}
	for i := 0; i < len(t.Inits); i++ {
		ti := t.Inits[i]
		if ti.File != "" {
			fmt.Fprintf(&b, " file \"%s\"", ti.File)
			continue
		}
		b.WriteString(" {")
		for {
			for _, e := range t.Inits[i].Addrs {
				if e.Not {
					b.WriteString(" !")
				} else {
					b.WriteString(" ")
				}
				b.WriteString(prefixString(e.Prefix))
			}
			if i+1 < len(t.Inits) && t.Inits[i+1].File == "" {
				i++
				continue
			}
			break
		}
		b.WriteString(" }")
	}
	if addrs && len(t.Inits) == 0 {
		b.WriteString(" { }")
	}
	return b.String()
}

// prefixString prints an address with /bits only when it is not a host.
func prefixString(p netip.Prefix) string {
	if p.Bits() == p.Addr().BitLen() {
		return p.Addr().String()
	}
	return p.Addr().String() + fmt.Sprintf("/%d", p.Bits())
}

func isAnyAddr(a Addr) bool {
	switch a.Type {
	case AddrAny:
		return true
	case AddrMask:
		return a.Prefix.Bits() == 0 && a.Prefix.Addr().IsUnspecified()
	}
	return false
}

// formatAddr prints an address (print_addr).
func formatAddr(a Addr, af AF) string {
	switch a.Type {
	case AddrAny:
		return "any"
	case AddrDynamic:
		var b strings.Builder
		b.WriteString("(" + a.Name)
		if a.Mod&ModNetwork != 0 {
			b.WriteString(":network")
		}
		if a.Mod&ModBroadcast != 0 {
			b.WriteString(":broadcast")
		}
		if a.Mod&ModPeer != 0 {
			b.WriteString(":peer")
		}
		if a.Mod&ModNoAlias != 0 {
			b.WriteString(":0")
		}
		b.WriteString(")")
		limit := 128
		if af == Inet {
			limit = 32
		}
		if a.Bits < limit {
			fmt.Fprintf(&b, "/%d", a.Bits)
		}
		return b.String()
	case AddrTable:
		return "<" + a.Name + ">"
	case AddrRange:
		return a.From.String() + " - " + a.To.String()
	case AddrMask:
		if isAnyAddr(a) {
			return "any"
		}
		return prefixString(a.Prefix)
	case AddrNoRoute:
		return "no-route"
	case AddrURPFFailed:
		return "urpf-failed"
	}
	return "?"
}

func opString(op PortOp, a1, a2 string) string {
	switch op {
	case PortInside:
		return " " + a1 + " >< " + a2
	case PortOutside:
		return " " + a1 + " <> " + a2
	case PortEq:
		return " = " + a1
	case PortNe:
		return " != " + a1
	case PortLt:
		return " < " + a1
	case PortLe:
		return " <= " + a1
	case PortGt:
		return " > " + a1
	case PortGe:
		return " >= " + a1
	case PortRange:
		return " " + a1 + ":" + a2
	}
	return ""
}

func formatFlags(f uint8) string {
	var b strings.Builder
	for i, c := range "FSRPAUEW" {
		if f&(1<<i) != 0 {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func formatUGID(p Port, what string) string {
	a1, a2 := fmt.Sprint(p.A), fmt.Sprint(p.B)
	if p.A == 1<<32-1 && (p.Op == PortEq || p.Op == PortNe) {
		a1 = "unknown"
	}
	return " " + what + opString(p.Op, a1, a2)
}

// formatPool prints a pool (print_pool). nat selects the nat-to port
// rules, else the rdr-to ones; route prints neither.
func formatPool(pl *Pool, af AF, kind int) string {
	var b strings.Builder
	b.WriteString(formatAddr(pl.Addr, af))
	if pl.If != "" {
		b.WriteString("@" + pl.If)
	}
	p1, p2 := pl.PortLo, pl.PortHi
	switch kind {
	case poolNAT:
		if (p1 != 50001 || p2 != 65535) && (p1 != 0 || p2 != 0) {
			if p1 == p2 {
				fmt.Fprintf(&b, " port %d", p1)
			} else {
				fmt.Fprintf(&b, " port %d:%d", p1, p2)
			}
		}
	case poolRDR:
		if p1 != 0 {
			fmt.Fprintf(&b, " port %d", p1)
			if p2 != 0 && p2 != p1 {
				fmt.Fprintf(&b, ":%d", p2)
			}
		}
	}
	switch pl.Type {
	case PoolBitmask:
		b.WriteString(" bitmask")
	case PoolRandom:
		b.WriteString(" random")
	case PoolSourceHash:
		fmt.Fprintf(&b, " source-hash 0x%x", pl.Key[:])
	case PoolRoundRobin:
		b.WriteString(" round-robin")
	case PoolLeastStates:
		b.WriteString(" least-states")
	}
	if pl.Sticky {
		b.WriteString(" sticky-address")
	}
	if kind == poolNAT && p1 == 0 && p2 == 0 {
		b.WriteString(" static-port")
	}
	return b.String()
}

const (
	poolNAT = iota
	poolRDR
	poolRoute
)

// FormatRule prints one rule as pfctl's print_rule does, without a
// newline.
func FormatRule(r *Rule) string {
	var b strings.Builder
	switch r.Action {
	case Pass:
		b.WriteString("pass")
	case Match:
		b.WriteString("match")
	case Block:
		b.WriteString("block")
	case Anchor:
		if isUnnamed(r.AnchorCall) {
			b.WriteString("anchor")
		} else {
			fmt.Fprintf(&b, "anchor \"%s\"", r.AnchorCall)
		}
	}
	if r.Action == Block {
		switch r.Return {
		case ReturnBoth:
			b.WriteString(" return")
		case ReturnRST:
			if r.ReturnTTL == 0 {
				b.WriteString(" return-rst")
			} else {
				fmt.Fprintf(&b, " return-rst(ttl %d)", r.ReturnTTL)
			}
		case ReturnICMP:
			c4 := icmpCodeName(uint8(r.ReturnICMP4>>8), uint8(r.ReturnICMP4), Inet)
			if c4 == "" {
				c4 = fmt.Sprint(r.ReturnICMP4 & 255)
			}
			c6 := icmpCodeName(uint8(r.ReturnICMP6>>8), uint8(r.ReturnICMP6), Inet6)
			if c6 == "" {
				c6 = fmt.Sprint(r.ReturnICMP6 & 255)
			}
			switch r.AF {
			case Inet:
				b.WriteString(" return-icmp(" + c4 + ")")
			case Inet6:
				b.WriteString(" return-icmp6(" + c6 + ")")
			default:
				b.WriteString(" return-icmp(" + c4 + ", " + c6 + ")")
			}
		default:
			b.WriteString(" drop")
		}
	}
	switch r.Dir {
	case In:
		b.WriteString(" in")
	case Out:
		b.WriteString(" out")
	}
	if r.Log != 0 {
		b.WriteString(" log")
		if r.Log&^LogOn != 0 || r.LogIf != 0 {
			var opts []string
			if r.Log&LogAll != 0 {
				opts = append(opts, "all")
			}
			if r.Log&LogMatches != 0 {
				opts = append(opts, "matches")
			}
			if r.Log&LogUser != 0 {
				opts = append(opts, "user")
			}
			if r.LogIf != 0 {
				opts = append(opts, fmt.Sprintf("to pflog%d", r.LogIf))
			}
			b.WriteString(" (" + strings.Join(opts, ", ") + ")")
		}
	}
	if r.Quick {
		b.WriteString(" quick")
	}
	if r.Interface != "" {
		if r.InterfaceNot {
			b.WriteString(" on ! " + r.Interface)
		} else {
			b.WriteString(" on " + r.Interface)
		}
	}
	if r.AF != AFAny {
		b.WriteString(" " + r.AF.String())
	}
	if r.Proto != 0 {
		if n := protoName(r.Proto); n != "" {
			b.WriteString(" proto " + n)
		} else {
			fmt.Fprintf(&b, " proto %d", r.Proto)
		}
	}
	if isAnyAddr(r.Src.Addr) && isAnyAddr(r.Dst.Addr) && !r.Src.Not && !r.Dst.Not &&
		r.Src.Port.Op == PortNone && r.Dst.Port.Op == PortNone {
		b.WriteString(" all")
	} else {
		b.WriteString(" from ")
		writeEndpoint(&b, &r.Src, r.AF)
		b.WriteString(" to ")
		writeEndpoint(&b, &r.Dst, r.AF)
	}
	if r.ReceivedOn != "" {
		if r.ReceivedOnNot {
			b.WriteString(" !received-on " + r.ReceivedOn)
		} else {
			b.WriteString(" received-on " + r.ReceivedOn)
		}
	}
	if r.User.Op != PortNone {
		b.WriteString(formatUGID(r.User, "user"))
	}
	if r.Group.Op != PortNone {
		b.WriteString(formatUGID(r.Group, "group"))
	}
	if r.Flags != 0 || r.FlagsMask != 0 {
		b.WriteString(" flags " + formatFlags(r.Flags) + "/" + formatFlags(r.FlagsMask))
	} else if (r.Action == Pass || r.Action == Match) && (r.Proto == 0 || r.Proto == protoTCP) &&
		!r.Fragment && r.State != NoState {
		b.WriteString(" flags any")
	}
	if r.ICMPType != 0 {
		if r.AF != Inet6 {
			b.WriteString(" icmp-type")
		} else {
			b.WriteString(" icmp6-type")
		}
		if n := icmpTypeName(r.ICMPType-1, r.AF); n != "" {
			b.WriteString(" " + n)
		} else {
			fmt.Fprintf(&b, " %d", r.ICMPType-1)
		}
		if r.ICMPCode != 0 {
			if n := icmpCodeName(r.ICMPType-1, r.ICMPCode-1, r.AF); n != "" {
				b.WriteString(" code " + n)
			} else {
				fmt.Fprintf(&b, " code %d", r.ICMPCode-1)
			}
		}
	}
	if r.TOS != 0 {
		fmt.Fprintf(&b, " tos 0x%2.2x", r.TOS)
	}
	if r.PrioSet {
		fmt.Fprintf(&b, " prio %d", r.Prio)
	}
	if r.MaxPktRate.Limit != 0 {
		fmt.Fprintf(&b, " max-pkt-rate %d/%d", r.MaxPktRate.Limit, r.MaxPktRate.Seconds)
	}
	if r.SetPrioSet || r.SetTOSSet {
		var opts []string
		if r.SetPrioSet {
			if r.SetPrio[0] == r.SetPrio[1] {
				opts = append(opts, fmt.Sprintf("prio %d", r.SetPrio[0]))
			} else {
				opts = append(opts, fmt.Sprintf("prio(%d, %d)", r.SetPrio[0], r.SetPrio[1]))
			}
		}
		if r.SetTOSSet {
			opts = append(opts, fmt.Sprintf("tos 0x%2.2x", r.SetTOS))
		}
		b.WriteString(" set (" + strings.Join(opts, ", ") + ")")
	}
	var ropts []string
	if r.MaxStates != 0 {
		ropts = append(ropts, fmt.Sprintf("max %d", r.MaxStates))
	}
	if r.NoSync {
		ropts = append(ropts, "no-sync")
	}
	if r.SourceTrack {
		if r.SourceTrackRule {
			ropts = append(ropts, "source-track rule")
		} else {
			ropts = append(ropts, "source-track global")
		}
	}
	if r.MaxSrcStates != 0 {
		ropts = append(ropts, fmt.Sprintf("max-src-states %d", r.MaxSrcStates))
	}
	if r.MaxSrcConn != 0 {
		ropts = append(ropts, fmt.Sprintf("max-src-conn %d", r.MaxSrcConn))
	}
	if r.MaxSrcConnRate.Limit != 0 {
		ropts = append(ropts, fmt.Sprintf("max-src-conn-rate %d/%d", r.MaxSrcConnRate.Limit, r.MaxSrcConnRate.Seconds))
	}
	if r.MaxSrcNodes != 0 {
		ropts = append(ropts, fmt.Sprintf("max-src-nodes %d", r.MaxSrcNodes))
	}
	if r.Overload != "" {
		o := "overload <" + r.Overload + ">"
		if r.Flush {
			o += " flush"
		}
		if r.FlushGlobal {
			o += " global"
		}
		ropts = append(ropts, o)
	}
	if r.IfBound {
		ropts = append(ropts, "if-bound")
	}
	if r.Sloppy {
		ropts = append(ropts, "sloppy")
	}
	if r.Pflow {
		ropts = append(ropts, "pflow")
	}
	for i, v := range r.Timeouts {
		if v != 0 {
			ropts = append(ropts, fmt.Sprintf("%s %d", TimeoutNames[i], v))
		}
	}
	switch {
	case r.State == NoState && r.Action == Pass:
		b.WriteString(" no state")
	case r.State == KeepState && len(ropts) > 0:
		b.WriteString(" keep state")
	case r.State == ModulateState:
		b.WriteString(" modulate state")
	case r.State == SynproxyState:
		b.WriteString(" synproxy state")
	}
	if r.Probability != 0 {
		s := fmt.Sprintf("%f", float64(r.Probability)*100/(1<<32))
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
		b.WriteString(" probability " + s + "%")
	}
	if len(ropts) > 0 {
		b.WriteString(" (" + strings.Join(ropts, ", ") + ")")
	}
	if r.Fragment {
		b.WriteString(" fragment")
	}
	if r.ScrubNoDF || r.ScrubRandomID || r.ScrubMinTTL != 0 || r.ScrubTCP || r.ScrubMaxMSS != 0 {
		var opts []string
		if r.ScrubNoDF {
			opts = append(opts, "no-df")
		}
		if r.ScrubRandomID {
			opts = append(opts, "random-id")
		}
		if r.ScrubMinTTL != 0 {
			opts = append(opts, fmt.Sprintf("min-ttl %d", r.ScrubMinTTL))
		}
		if r.ScrubTCP {
			opts = append(opts, "reassemble tcp")
		}
		if r.ScrubMaxMSS != 0 {
			opts = append(opts, fmt.Sprintf("max-mss %d", r.ScrubMaxMSS))
		}
		b.WriteString(" scrub (" + strings.Join(opts, " ") + ")")
	}
	if r.AllowOpts {
		b.WriteString(" allow-opts")
	}
	if r.Label != "" {
		b.WriteString(" label \"" + r.Label + "\"")
	}
	if r.Once {
		b.WriteString(" once")
	}
	if r.Tag != "" {
		b.WriteString(" tag " + r.Tag)
	}
	if r.Tagged != "" {
		if r.TaggedNot {
			b.WriteString(" !")
		}
		b.WriteString(" tagged " + r.Tagged)
	}
	if r.Action != Anchor {
		switch {
		case r.AFTo != AFAny && r.NAT != nil:
			b.WriteString(" af-to " + r.AFTo.String() + " from " + formatPool(r.NAT, r.AFTo, poolNAT))
			if r.RDR != nil {
				b.WriteString(" to " + formatPool(r.RDR, r.AFTo, poolRDR))
			}
		default:
			if r.NAT != nil {
				b.WriteString(" nat-to " + formatPool(r.NAT, r.AF, poolNAT))
			}
			if r.RDR != nil {
				b.WriteString(" rdr-to " + formatPool(r.RDR, r.AF, poolRDR))
			}
		}
	}
	if r.Route != nil {
		switch r.RouteType {
		case RouteTo:
			b.WriteString(" route-to ")
		case ReplyTo:
			b.WriteString(" reply-to ")
		case DupTo:
			b.WriteString(" dup-to ")
		}
		b.WriteString(formatPool(r.Route, r.AF, poolRoute))
	}
	return b.String()
}

func writeEndpoint(b *strings.Builder, e *Endpoint, af AF) {
	if e.Not {
		b.WriteString("! ")
	}
	b.WriteString(formatAddr(e.Addr, af))
	if e.Port.Op != PortNone {
		b.WriteString(" port" + opString(e.Port.Op, fmt.Sprint(e.Port.A), fmt.Sprint(e.Port.B)))
	}
}
