package pfconf

import "fmt"

// tableThreshold is how many rules differing in one address pfctl's
// optimizer turns into a table (pfctl_optimize.c TABLE_THRESHOLD).
const tableThreshold = 6

// Optimize applies the part of pfctl's basic ruleset optimizer that
// changes which rules exist: a run of six or more consecutive rules that
// differ only in one plain (non-negated address/mask) source or
// destination address becomes one rule over a const automatic table
// named __automatic_<ruleset>_<n>. Evaluation order and results are
// unchanged.
func (s *Spec) Optimize() {
	n := 0
	s.optimize(&s.Main, &n)
	for _, p := range sortedKeys(s.Anchors) {
		s.optimize(s.Anchors[p], &n)
	}
}

func (s *Spec) optimize(rs *Ruleset, n *int) {
	var out []Rule
	for i := 0; i < len(rs.Rules); {
		j, side := combineRun(rs.Rules, i)
		if j-i < tableThreshold {
			out = append(out, rs.Rules[i])
			i++
			continue
		}
		name := fmt.Sprintf("__automatic_%x_%d", len(rs.Path), *n)
		*n++
		tb := Table{Name: name, Const: true, Auto: true, Line: rs.Rules[i].Line}
		for _, r := range rs.Rules[i:j] {
			e := TableEntry{Prefix: r.Src.Addr.Prefix}
			if side == 1 {
				e.Prefix = r.Dst.Addr.Prefix
			}
			tb.Entries = append(tb.Entries, e)
		}
		tb.Inits = []TableInit{{Addrs: tb.Entries}}
		rs.Tables = append(rs.Tables, tb)
		r := rs.Rules[i]
		if side == 0 {
			r.Src.Addr = Addr{Type: AddrTable, Name: name}
		} else {
			r.Dst.Addr = Addr{Type: AddrTable, Name: name}
		}
		out = append(out, r)
		i = j
	}
	for k := range out {
		out[k].Nr = k
	}
	rs.Rules = out
}

// combineRun returns the end of the run of rules starting at i that
// differ only in their source (side 0) or destination (side 1) address.
func combineRun(rules []Rule, i int) (end, side int) {
	best, bestSide := i+1, 0
	for side := 0; side < 2; side++ {
		j := i + 1
		for j < len(rules) && onlyAddrDiffers(&rules[i], &rules[j], side) {
			j++
		}
		if j > best {
			best, bestSide = j, side
		}
	}
	return best, bestSide
}

func onlyAddrDiffers(a, b *Rule, side int) bool {
	ea, eb := &a.Src, &b.Src
	if side == 1 {
		ea, eb = &a.Dst, &b.Dst
	}
	if ea.Addr.Type != AddrMask || eb.Addr.Type != AddrMask || ea.Not || eb.Not {
		return false
	}
	x, y := *a, *b
	x.Nr, y.Nr, x.Line, y.Line = 0, 0, 0, 0
	if side == 0 {
		x.Src.Addr, y.Src.Addr = Addr{}, Addr{}
	} else {
		x.Dst.Addr, y.Dst.Addr = Addr{}, Addr{}
	}
	return rulesEqual(&x, &y)
}

// rulesEqual compares two rules field by field, pools by value.
func rulesEqual(a, b *Rule) bool {
	x, y := *a, *b
	if !poolEqual(x.NAT, y.NAT) || !poolEqual(x.RDR, y.RDR) || !poolEqual(x.Route, y.Route) {
		return false
	}
	x.NAT, y.NAT, x.RDR, y.RDR, x.Route, y.Route = nil, nil, nil, nil, nil, nil
	return x == y
}

func poolEqual(a, b *Pool) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func sortedKeys(m map[string]*Ruleset) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
