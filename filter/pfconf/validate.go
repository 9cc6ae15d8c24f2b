package pfconf

import (
	"errors"
	"sort"
)

// Validate checks what the grammar alone does not: documented ranges and
// sizes (limits, priorities, names), and references between rules,
// anchors and pools. Parse and Load call it, so a Spec they return is
// valid; it is exported for Specs built or edited in code.
func (s *Spec) Validate() error {
	if s == nil {
		return ErrNoSpec
	}
	var l errList
	file := s.File
	for k, v := range s.Options.Limits {
		if v == 0 {
			l.add(file, 0, "set limit %s 0: a limit must be at least 1", k)
		}
	}
	for k := range s.Options.Timeouts {
		if timeoutIndex(k) < 0 {
			l.add(file, 0, "unknown timeout %s", k)
		}
	}
	if s.Options.HostIDSet && s.Options.HostID == 0 {
		l.add(file, 0, "hostid must be non-zero")
	}
	check := func(rs *Ruleset) {
		tables := map[string]bool{}
		for _, t := range rs.Tables {
			if len(t.Name) == 0 || len(t.Name) >= 32 {
				l.add(file, t.Line, "table name %q: must be 1 to 31 characters", t.Name)
			}
			if tables[t.Name] {
				l.add(file, t.Line, "table <%s> defined twice", t.Name)
			}
			tables[t.Name] = true
		}
		for i := range rs.Rules {
			r := &rs.Rules[i]
			f := r.File
			if f == "" {
				f = file
			}
			if r.PrioSet && r.Prio > 7 {
				l.add(f, r.Line, "prio %d out of range (0-7)", r.Prio)
			}
			if r.SetPrioSet && (r.SetPrio[0] > 7 || r.SetPrio[1] > 7) {
				l.add(f, r.Line, "set prio out of range (0-7)")
			}
			if len(r.Label) >= 64 {
				l.add(f, r.Line, "label too long (max 63 characters)")
			}
			if len(r.Tag) >= 64 || len(r.Tagged) >= 64 {
				l.add(f, r.Line, "tag name too long (max 63 characters)")
			}
			if r.ICMPType != 0 && r.Proto != protoICMP && r.Proto != protoICMP6 {
				l.add(f, r.Line, "icmp-type/code only applies to icmp")
			}
			if (r.Src.Port.Op != PortNone || r.Dst.Port.Op != PortNone) && r.Proto != protoTCP && r.Proto != protoUDP {
				l.add(f, r.Line, "port only applies to tcp/udp")
			}
			if r.Action == Anchor {
				if r.AnchorPath == "" {
					l.add(f, r.Line, "anchor rule without an anchor path")
				} else if r.AnchorPath[len(r.AnchorPath)-1] != '*' && s.Anchors[r.AnchorPath] == nil {
					l.add(f, r.Line, "anchor %q does not exist", r.AnchorPath)
				}
			}
			if r.Action != Anchor && (r.AnchorCall != "" || r.AnchorPath != "") {
				l.add(f, r.Line, "anchor path on a rule that is not an anchor rule")
			}
			for _, pl := range []*Pool{r.NAT, r.RDR, r.Route} {
				if pl != nil && pl.Addr.Type == AddrTable && rs.Table(pl.Addr.Name) == nil && s.Main.Table(pl.Addr.Name) == nil {
					l.add(f, r.Line, "table <%s> does not exist: a translation or route-to table must be defined", pl.Addr.Name)
				}
			}
			if r.AFTo != AFAny && r.NAT == nil {
				l.add(f, r.Line, "af-to without a source pool")
			}
		}
	}
	check(&s.Main)
	paths := make([]string, 0, len(s.Anchors))
	for p := range s.Anchors {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		rs := s.Anchors[p]
		if rs == nil || rs.Path != p {
			l.add(file, 0, "anchor %q: ruleset path mismatch", p)
			continue
		}
		check(rs)
	}
	return l.err()
}

// ErrNoSpec is returned by Validate on a nil Spec.
var ErrNoSpec = errors.New("pfconf: nil Spec")
