package filter

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/hostnet/hostnet/filter/pfconf"
)

// RuleCounters are one rule's counters (pfctl -vsr).
type RuleCounters struct {
	Evaluations uint64
	Packets     [2]uint64 // in, out
	Bytes       [2]uint64
	States      int64 // current
	Creations   uint64
}

// liveCounts sums the live states' counters per rule: a state's packets
// move to its rule's counters when it goes.
func (f *Filter) liveCounts() map[*rule]*[4]uint64 {
	m := map[*rule]*[4]uint64{}
	f.states.each(func(s *state) {
		if s.rule == nil || s.dead() {
			return
		}
		c := m[s.rule]
		if c == nil {
			c = &[4]uint64{}
			m[s.rule] = c
		}
		d0, d1 := 0, 1
		if s.dir() == Out {
			d0, d1 = 1, 0
		}
		c[d0] += s.packets[0]
		c[d1] += s.packets[1]
		c[2+d0] += s.bytes[0]
		c[2+d1] += s.bytes[1]
	})
	return m
}

func (r *rule) counters(live map[*rule]*[4]uint64) RuleCounters {
	c := RuleCounters{Evaluations: r.evaluations.Load(), States: r.states.Load(), Creations: r.creations.Load()}
	for i := 0; i < 2; i++ {
		c.Packets[i] = r.packets[i].Load()
		c.Bytes[i] = r.bytes[i].Load()
	}
	if l := live[r]; l != nil {
		c.Packets[0] += l[0]
		c.Packets[1] += l[1]
		c.Bytes[0] += l[2]
		c.Bytes[1] += l[3]
	}
	return c
}

// WriteRules prints the rules of the anchor at path ("" for the main
// ruleset; "vm/*" for each child of vm in turn) as `pfctl -a PATH -sr`
// does, with verbose 1 (-v) adding the counter lines and 2 (-vv) the
// `@N` rule numbers.
func (f *Filter) WriteRules(w io.Writer, path string, verbose int) error {
	rs := f.rs.Load()
	if rs == nil {
		return nil
	}
	var sets []*ruleset
	if path == "*" || strings.HasSuffix(path, "/*") {
		parent := strings.TrimSuffix(strings.TrimSuffix(path, "*"), "/")
		var kids []string
		for p := range rs.anchors {
			if p == "" {
				continue
			}
			dir := ""
			if i := strings.LastIndexByte(p, '/'); i >= 0 {
				dir = p[:i]
			}
			if dir == parent {
				kids = append(kids, p)
			}
		}
		sort.Strings(kids)
		for _, k := range kids {
			sets = append(sets, rs.anchors[k])
		}
	} else {
		a, ok := rs.anchors[path]
		if !ok {
			return fmt.Errorf("pfctl: anchor %q does not exist", path)
		}
		sets = []*ruleset{a}
	}
	live := f.liveCounts()
	bw := bufio.NewWriter(w)
	for _, set := range sets {
		for _, r := range set.rules {
			if verbose >= 2 {
				fmt.Fprintf(bw, "@%d ", r.nr)
			}
			bw.WriteString(pfconf.FormatRule(r.r))
			bw.WriteByte('\n')
			if verbose >= 1 {
				c := r.counters(live)
				fmt.Fprintf(bw, "  [ Evaluations: %-8d  Packets: %-10d  Bytes: %-10d  States: %-6d]\n",
					c.Evaluations, c.Packets[0]+c.Packets[1], c.Bytes[0]+c.Bytes[1], c.States)
				fmt.Fprintf(bw, "  [ Inserted: uid %d pid %d State Creations: %-6d]\n", 0, 0, c.Creations)
			}
		}
	}
	return bw.Flush()
}

// Counters returns the counters of rule nr of the anchor at path ("" for
// main), and whether there is such a rule.
func (f *Filter) Counters(path string, nr int) (RuleCounters, bool) {
	rs := f.rs.Load()
	if rs == nil {
		return RuleCounters{}, false
	}
	a := rs.anchors[path]
	if a == nil {
		return RuleCounters{}, false
	}
	for _, r := range a.rules {
		if r.nr == nr {
			return r.counters(f.liveCounts()), true
		}
	}
	return RuleCounters{}, false
}

func hostString(ap stateKey, i int) string {
	a, p := ap.addr(i), ap.port(i)
	s := a.String()
	if p != 0 || ap.proto == 6 || ap.proto == 17 {
		if ap.af == 6 {
			return fmt.Sprintf("%s[%d]", s, p)
		}
		return fmt.Sprintf("%s:%d", s, p)
	}
	return s
}

var protoNames = map[uint8]string{1: "icmp", 6: "tcp", 17: "udp", 58: "ipv6-icmp", 47: "gre", 50: "esp", 51: "ah"}

// StateLine is one state as pfctl -ss prints it, with its -v details.
type StateLine struct {
	Line string
	// Seq is a TCP state's sequence windows, the first -v line:
	// "[seqlo + window]" per side, then "wscale N" when both sides
	// scale. Empty for other protocols.
	Seq     string
	Details string // age, expiry, counters, rule (the -v line)
	ID      uint64
}

// StateLines returns the states as pfctl -ss prints them (PF.md 8.2), in
// creation order, with the -v detail line computed at now.
func (f *Filter) StateLines(now int64) []StateLine {
	rs := f.rs.Load()
	type item struct {
		id uint64
		l  StateLine
	}
	var out []item
	count := f.states.count.Load()
	f.states.each(func(s *state) {
		ifname := "all"
		if s.ifindex >= 0 && rs != nil {
			if e := rs.ifs.Load().entry(int(s.ifindex)); e != nil {
				ifname = e.Name
			}
		}
		nk, sk := s.key[skStack], s.key[skWire]
		if s.dir() == Out {
			nk, sk = s.key[skWire], s.key[skStack]
		}
		proto := protoNames[nk.proto]
		if proto == "" {
			proto = fmt.Sprint(nk.proto)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s %s", ifname, proto, hostString(nk, 1))
		if nk.addr(1) != sk.addr(1) || nk.port(1) != sk.port(1) {
			fmt.Fprintf(&b, " (%s)", hostString(sk, 1))
		}
		if s.dir() == Out {
			b.WriteString(" -> ")
		} else {
			b.WriteString(" <- ")
		}
		b.WriteString(hostString(nk, 0))
		if nk.addr(0) != sk.addr(0) || nk.port(0) != sk.port(0) {
			fmt.Fprintf(&b, " (%s)", hostString(sk, 0))
		}
		src, dst := s.src, s.dst
		if s.dir() != Out {
			src, dst = s.dst, s.src
		}
		b.WriteString("       ")
		switch nk.proto {
		case 6:
			fmt.Fprintf(&b, "%s:%s", tcpStateNames[min(int(src.state), len(tcpStateNames)-1)], tcpStateNames[min(int(dst.state), len(tcpStateNames)-1)])
		case 1, 58:
			fmt.Fprintf(&b, "%d:%d", src.state, dst.state)
		default:
			fmt.Fprintf(&b, "%s:%s", udpStateNames[min(int(src.state), 2)], udpStateNames[min(int(dst.state), 2)])
		}
		var seq string
		if nk.proto == 6 {
			// print_seq: [seqlo + seqhi-seqlo], per side.
			var q strings.Builder
			q.WriteString("   ")
			for i, p := range [2]peer{src, dst} {
				if i == 1 {
					q.WriteString("  ")
				}
				fmt.Fprintf(&q, "[%d + %d]", p.seqlo, p.seqhi-p.seqlo)
				if src.wscale != 0 && dst.wscale != 0 {
					fmt.Fprintf(&q, " wscale %d", p.wscale&wscaleMask)
				}
			}
			seq = q.String()
		}
		var d strings.Builder
		exp := int64(0)
		if rs != nil {
			exp = rs.expiresAt(s.rule, s.timeout, int64(s.last), count) - now
		}
		fmt.Fprintf(&d, "   age %s, expires in %s, %d:%d pkts, %d:%d bytes", hms(now-int64(s.creation)), hms(max(exp, 0)),
			s.packets[0], s.packets[1], s.bytes[0], s.bytes[1])
		if s.anchorNr != 0 {
			fmt.Fprintf(&d, ", anchor %d", s.anchorNr-1)
		}
		if s.rule != nil {
			fmt.Fprintf(&d, ", rule %d", s.rule.nr)
		}
		if s.sloppy() {
			d.WriteString(", sloppy")
		}
		if s.sn != nil {
			d.WriteString(", source-track")
		}
		out = append(out, item{s.id, StateLine{Line: b.String(), Seq: seq, Details: d.String(), ID: s.id}})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	lines := make([]StateLine, len(out))
	for i := range out {
		lines[i] = out[i].l
	}
	return lines
}

func hms(sec int64) string {
	if sec < 0 {
		sec = 0
	}
	return fmt.Sprintf("%.2d:%.2d:%.2d", sec/3600, sec/60%60, sec%60)
}

// WriteStates prints the states as pfctl -ss (verbose 0) or -vss
// (verbose >= 1) does.
func (f *Filter) WriteStates(w io.Writer, now int64, verbose int) error {
	bw := bufio.NewWriter(w)
	for _, l := range f.StateLines(now) {
		bw.WriteString(l.Line)
		bw.WriteByte('\n')
		if verbose >= 1 && l.Seq != "" {
			bw.WriteString(l.Seq)
			bw.WriteByte('\n')
		}
		if verbose >= 1 {
			bw.WriteString(l.Details)
			bw.WriteByte('\n')
		}
		if verbose >= 2 {
			fmt.Fprintf(bw, "   id: %016x creatorid: %08x\n", l.ID, 0)
		}
	}
	return bw.Flush()
}

// Status is pf's struct pf_status as pfctl -si shows it.
type Status struct {
	Running  bool
	Since    int64 // seconds: when the first ruleset was loaded
	States   int64
	Searches uint64
	Inserts  uint64
	Removals uint64
	Counters [pfresMax]uint64 // by PFRES_* reason
	Limits   [limitMax]uint64
}

// ReasonNames are the names of Status.Counters, in pf's order.
var ReasonNames = pfresNames

// Status returns the status counters.
func (f *Filter) Status() Status {
	st := Status{Running: f.rs.Load() != nil, Since: f.since.Load(), States: f.states.count.Load(),
		Searches: f.searches.Load(), Inserts: f.inserts.Load(), Removals: f.removals.Load()}
	for i := range st.Counters {
		st.Counters[i] = f.counters[i].Load()
	}
	// Packets that matched a state, after the one that created it.
	hits := f.hits.Load()
	f.states.each(func(s *state) {
		if n := s.packets[0] + s.packets[1]; n > 0 {
			hits += n - 1
		}
	})
	st.Searches += hits
	st.Counters[pfresMatch] += hits
	for i := range st.Limits {
		st.Limits[i] = f.limits[i].Load()
	}
	return st
}

// MarkRunning records the time pf was enabled, for the status line.
func (f *Filter) MarkRunning(now int64) { f.since.CompareAndSwap(0, now) }

// WriteStatus prints the status as pfctl -si (verbose 0) or -vsi prints
// it (PF.md 8.3), at now (seconds).
func (f *Filter) WriteStatus(w io.Writer, now int64, verbose int) error {
	st := f.Status()
	bw := bufio.NewWriter(w)
	up := int64(0)
	if st.Since != 0 {
		up = now - st.Since
	}
	status := "Disabled"
	if st.Running {
		status = fmt.Sprintf("Enabled for %d days %.2d:%.2d:%.2d", up/86400, up/3600%24, up/60%60, up%60)
	}
	fmt.Fprintf(bw, "%-44s%15s\n\n", "Status: "+status, "Debug: err")
	rate := func(n uint64) string {
		r := 0.0
		if up > 0 {
			r = float64(n) / float64(up)
		}
		return fmt.Sprintf("%14.1f/s", r)
	}
	fmt.Fprintf(bw, "%-27s %14s %16s\n", "State Table", "Total", "Rate")
	fmt.Fprintf(bw, "  %-25s %14d\n", "current entries", st.States)
	fmt.Fprintf(bw, "  %-25s %14d\n", "half-open tcp", f.halfOpen())
	fmt.Fprintf(bw, "  %-25s %14d %s\n", "searches", st.Searches, rate(st.Searches))
	fmt.Fprintf(bw, "  %-25s %14d %s\n", "inserts", st.Inserts, rate(st.Inserts))
	fmt.Fprintf(bw, "  %-25s %14d %s\n", "removals", st.Removals, rate(st.Removals))
	fmt.Fprintf(bw, "Counters\n")
	for i, n := range st.Counters {
		fmt.Fprintf(bw, "  %-25s %14d %s\n", pfresNames[i], n, rate(n))
	}
	if verbose >= 1 {
		names := [limitMax]string{"max states per rule", "max-src-states", "max-src-nodes", "max-src-conn",
			"max-src-conn-rate", "overload table insertion", "overload flush states"}
		fmt.Fprintf(bw, "Limit Counters\n")
		for i, n := range st.Limits {
			fmt.Fprintf(bw, "  %-25s %14d %s\n", names[i], n, rate(n))
		}
	}
	return bw.Flush()
}

func (f *Filter) halfOpen() int {
	n := 0
	f.states.each(func(s *state) {
		if s.key[0].proto == 6 && (s.src.state < tcpsEstablished || s.dst.state < tcpsEstablished) {
			n++
		}
	})
	return n
}

// WriteTimeouts prints the timeouts in force as pfctl -st does.
func (f *Filter) WriteTimeouts(w io.Writer) error {
	rs := f.rs.Load()
	t := defaultTimeouts
	if rs != nil {
		t = rs.timeouts
	}
	bw := bufio.NewWriter(w)
	for i, n := range pfconf.TimeoutNames {
		unit := "s"
		if i == tmAdaptiveStart || i == tmAdaptiveEnd {
			unit = " states"
		}
		fmt.Fprintf(bw, "%-20s %10d%s\n", n, t[i], unit)
	}
	return bw.Flush()
}
