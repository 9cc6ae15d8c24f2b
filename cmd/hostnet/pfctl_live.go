package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hostnet/hostnet/filter"
	"github.com/hostnet/hostnet/filter/pfconf"
)

// pfctlLive sends `hostnet pfctl ARGS` (-sr, -vvsr, -ss, -si, -st,
// -a 'vm/*' -sr, -f FILE, -F states, -k HOST) to the daemon listening on
// socket and prints its answer: the text, or with -j among args the JSON.
// It returns the exit status: 1 when the daemon cannot be reached or
// refuses, with the reason on stderr. cmdPfctl calls it for every form
// that needs the running daemon.
func pfctlLive(socket string, args []string, stdout, stderr io.Writer) int {
	json := slices.Contains(args, "-j")
	return remote("pfctl", clientFlags{socket: &socket, json: &json}, args, stdout, stderr)
}

// pfctlRequest is a live pfctl command line, parsed.
type pfctlRequest struct {
	verbose  int
	json     bool
	quiet    bool
	noAction bool // -n: parse FILE only, load nothing
	enable   bool // -e
	disable  bool // -d
	anchor   string
	show     string   // the full -s modifier: "rules", "states", ...
	flush    string   // the full -F modifier
	kill     []string // -k arguments, at most two
	file     string
}

// pfctlShowOpts and pfctlFlushOpts are pfctl's -s and -F modifiers: a
// modifier may be abbreviated to any prefix (case matters: -s s is
// states, -s S Sources). No prefix is shared by two of them.
var (
	pfctlShowOpts = []string{"queue", "rules", "Anchors", "Sources", "nat", "info",
		"Interfaces", "labels", "timeouts", "memory", "Tables", "osfp", "states", "all"}
	pfctlFlushOpts = []string{"nat", "queue", "rules", "Sources", "states", "info",
		"Tables", "osfp", "Reset", "all"}
)

// lookupPfctlOpt returns the modifier of list that abbrev abbreviates.
func lookupPfctlOpt(abbrev string, list []string) (string, error) {
	for _, o := range list {
		if abbrev != "" && strings.HasPrefix(o, abbrev) {
			return o, nil
		}
	}
	return "", fmt.Errorf("unknown modifier %q", abbrev)
}

// parsePfctlArgs parses the arguments of a live pfctl as cmdPfctl passes
// them (its own, without -socket): option clusters such as -vvsr, and
// values either in the cluster or in the next argument.
func parsePfctlArgs(args []string) (*pfctlRequest, error) {
	req := &pfctlRequest{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			if i+1 < len(args) {
				return nil, fmt.Errorf("unexpected argument %q", args[i+1])
			}
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			return nil, fmt.Errorf("unexpected argument %q", a)
		}
		cluster := a[1:]
		for j := 0; j < len(cluster); j++ {
			c := cluster[j]
			switch c {
			case 'v':
				req.verbose++
				continue
			case 'j':
				req.json = true
				continue
			case 'q':
				req.quiet = true
				continue
			case 'n':
				req.noAction = true
				continue
			case 'e':
				req.enable = true
				continue
			case 'd':
				req.disable = true
				continue
			case 'f', 'a', 'o', 's', 'F', 'k':
			default:
				return nil, fmt.Errorf("unknown option -%c", c)
			}
			val := cluster[j+1:]
			if val == "" {
				i++
				if i >= len(args) {
					return nil, fmt.Errorf("option -%c needs an argument", c)
				}
				val = args[i]
			}
			j = len(cluster)
			var err error
			switch c {
			case 'f':
				req.file = val
			case 'a':
				req.anchor = strings.Trim(val, "/")
			case 'o':
				// The optimizer applies to loading, which reads
				// pf.conf as the configuration says.
			case 's':
				if req.show, err = lookupPfctlOpt(val, pfctlShowOpts); err != nil {
					return nil, fmt.Errorf("-s %s: %v", val, err)
				}
			case 'F':
				if req.flush, err = lookupPfctlOpt(val, pfctlFlushOpts); err != nil {
					return nil, fmt.Errorf("-F %s: %v", val, err)
				}
			case 'k':
				if len(req.kill) == 2 {
					return nil, errors.New("-k: at most two (a source and a destination)")
				}
				req.kill = append(req.kill, val)
			}
		}
	}
	return req, nil
}

// pfctlRule is one rule of pfctl -sr -j: its anchor ("" for the main
// ruleset), its number there (-vv's @N), its text and its counters.
type pfctlRule struct {
	Anchor   string              `json:"anchor"`
	Nr       int                 `json:"nr"`
	Rule     string              `json:"rule"`
	Counters filter.RuleCounters `json:"counters"`
}

// pfctlTimeout is one timeout of pfctl -st -j.
type pfctlTimeout struct {
	Name  string `json:"name"`
	Value uint32 `json:"value"`
	Unit  string `json:"unit"` // "s", or "states" for adaptive.start and adaptive.end
}

// noPF is the answer to pfctl when the configuration has no pf.conf.
func noPF(dir string) error {
	return fmt.Errorf("no pf.conf in %s: pf passes everything", dir)
}

// pfctlServe is the daemon's side of pfctlLive: it gets the arguments as
// the CLI was given them and returns the text to print and the value for
// -j. As pfctl does, it shows (-s) first, then flushes (-F), kills (-k)
// and loads (-f).
func pfctlServe(d *daemon, ctx context.Context, args []string) (string, any, error) {
	req, err := parsePfctlArgs(args)
	if err != nil {
		return "", nil, err
	}
	if req.enable || req.disable {
		return "", nil, fmt.Errorf("pf is always enabled in hostnet: it filters when %s has a pf.conf and passes everything when it has none", d.dir)
	}
	if req.show == "" && req.flush == "" && len(req.kill) == 0 && req.file == "" {
		return "", nil, errors.New("nothing to do: want -s WHAT, -F states, -k HOST or -f FILE")
	}
	// Refuse a load before doing anything else.
	load := req.file != "" && !req.noAction
	if load && req.anchor != "" {
		return "", nil, fmt.Errorf("-a %s -f %s: hostnet loads anchors from pf.conf's load anchor lines: edit them and load pf.conf", req.anchor, req.file)
	}
	if load {
		if err := d.checkPFConfPath(req.file); err != nil {
			return "", nil, err
		}
	}
	var f *filter.Filter
	if g := d.current(); g != nil {
		f = g.dp.Filter()
	}
	if f == nil && (req.show != "" || req.flush != "" || len(req.kill) > 0) {
		return "", nil, noPF(d.dir)
	}
	now := time.Now().Unix()
	if f != nil {
		// Only the first call counts: the daemon marks pf running when
		// it loads it; this covers a daemon that does not.
		f.MarkRunning(now)
	}
	var text bytes.Buffer
	data := map[string]any{}
	if req.show != "" {
		v, err := pfctlShow(&text, f, req, now)
		if err != nil {
			return "", nil, err
		}
		data["show"] = v
	}
	if req.flush != "" {
		n, err := pfctlFlush(d, f, req.flush)
		if err != nil {
			return "", nil, err
		}
		if !req.quiet {
			fmt.Fprintf(&text, "%d states cleared\n", n)
		}
		data["flush"] = map[string]any{"states": n}
	}
	if len(req.kill) > 0 {
		n, srcs, dsts, err := pfctlKill(f, req.kill)
		if err != nil {
			return "", nil, err
		}
		if !req.quiet {
			fmt.Fprintf(&text, "killed %d states from %d sources and %d destinations\n", n, srcs, dsts)
		}
		data["kill"] = map[string]any{"killed": n, "sources": srcs, "destinations": dsts}
	}
	if load {
		sum, err := d.reload()
		if err != nil {
			return "", nil, err
		}
		if !req.quiet {
			text.WriteString(sum + "\n")
		}
		data["load"] = map[string]any{"generation": d.current().n, "summary": sum}
	}
	if len(data) == 1 {
		for _, v := range data {
			return text.String(), v, nil
		}
	}
	return text.String(), data, nil
}

// pfctlShow writes what -s req.show shows and, under -j, returns it as
// data.
func pfctlShow(w *bytes.Buffer, f *filter.Filter, req *pfctlRequest, now int64) (any, error) {
	switch req.show {
	case "rules":
		if err := f.WriteRules(w, req.anchor, req.verbose); err != nil {
			return nil, errors.New(strings.TrimPrefix(err.Error(), "pfctl: "))
		}
		if !req.json {
			return nil, nil
		}
		return pfctlRules(f, req.anchor)
	case "states":
		if err := f.WriteStates(w, now, req.verbose); err != nil {
			return nil, err
		}
		if !req.json {
			return nil, nil
		}
		lines := f.StateLines(now)
		if lines == nil {
			lines = []filter.StateLine{}
		}
		return lines, nil
	case "Anchors":
		paths, err := pfctlAnchors(f, req.anchor, req.verbose > 0)
		if err != nil {
			return nil, err
		}
		for _, p := range paths {
			w.WriteString("  " + p + "\n")
		}
		return paths, nil
	case "info":
		if err := f.WriteStatus(w, now, req.verbose); err != nil {
			return nil, err
		}
		if !req.json {
			return nil, nil
		}
		return f.Status(), nil
	case "timeouts":
		return pfctlTimeouts(w, f)
	case "all":
		// pfctl -sa: each part under its title, a blank line between.
		all := map[string]any{}
		for i, part := range []struct{ title, show string }{
			{"FILTER RULES:", "rules"}, {"STATES:", "states"}, {"INFO:", "info"}, {"TIMEOUTS:", "timeouts"},
		} {
			if i > 0 {
				w.WriteByte('\n')
			}
			w.WriteString(part.title + "\n")
			sub := *req
			sub.show = part.show
			v, err := pfctlShow(w, f, &sub, now)
			if err != nil {
				return nil, err
			}
			all[part.show] = v
		}
		return all, nil
	}
	return nil, fmt.Errorf("-s %s: hostnet pfctl shows rules, Anchors, states, info, timeouts and all", req.show)
}

// pfctlAnchors returns the anchors below anchor ("" for the main
// ruleset) as pfctl -sA lists them: the children, by name, each followed
// with recursive by its own. An anchor that holds only anchors ("vm" of
// "vm/web01") is listed too.
func pfctlAnchors(f *filter.Filter, anchor string, recursive bool) ([]string, error) {
	paths := []string{}
	rs := f.Ruleset()
	if rs == nil {
		return paths, nil
	}
	kids := map[string][]string{} // parent path -> child paths
	seen := map[string]bool{"": true}
	for p := range rs.Spec().Anchors {
		for p != "" && !seen[p] {
			seen[p] = true
			parent := ""
			if i := strings.LastIndexByte(p, '/'); i >= 0 {
				parent = p[:i]
			}
			kids[parent] = append(kids[parent], p)
			p = parent
		}
	}
	if !seen[anchor] {
		return nil, fmt.Errorf("anchor %q does not exist", anchor)
	}
	var walk func(p string)
	walk = func(p string) {
		k := kids[p]
		sort.Strings(k)
		for _, c := range k {
			paths = append(paths, c)
			if recursive {
				walk(c)
			}
		}
	}
	walk(anchor)
	return paths, nil
}

// pfctlRules returns the rules WriteRules prints for anchor, with their
// counters.
func pfctlRules(f *filter.Filter, anchor string) ([]pfctlRule, error) {
	out := []pfctlRule{}
	rs := f.Ruleset()
	if rs == nil {
		return out, nil
	}
	spec := rs.Spec()
	var paths []string
	if parent, ok := strings.CutSuffix(anchor, "*"); ok {
		parent = strings.TrimSuffix(parent, "/")
		for p := range spec.Anchors {
			dir := ""
			if i := strings.LastIndexByte(p, '/'); i >= 0 {
				dir = p[:i]
			}
			if p != "" && dir == parent {
				paths = append(paths, p)
			}
		}
		sort.Strings(paths)
	} else {
		paths = []string{anchor}
	}
	for _, p := range paths {
		set := spec.Ruleset(p)
		if set == nil {
			return nil, fmt.Errorf("anchor %q does not exist", p)
		}
		for i := range set.Rules {
			r := &set.Rules[i]
			c, _ := f.Counters(p, r.Nr)
			out = append(out, pfctlRule{Anchor: p, Nr: r.Nr, Rule: pfconf.FormatRule(r), Counters: c})
		}
	}
	return out, nil
}

// pfctlTimeouts writes pfctl -st and returns the timeouts as data, read
// back from the lines WriteTimeouts prints ("tcp.first  120s",
// "adaptive.start  6000 states").
func pfctlTimeouts(w *bytes.Buffer, f *filter.Filter) ([]pfctlTimeout, error) {
	var b bytes.Buffer
	if err := f.WriteTimeouts(&b); err != nil {
		return nil, err
	}
	w.Write(b.Bytes())
	var out []pfctlTimeout
	for line := range strings.Lines(b.String()) {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		t := pfctlTimeout{Name: fields[0], Unit: "s"}
		num := strings.TrimSuffix(fields[1], "s")
		if len(fields) == 3 {
			t.Unit = fields[2]
		}
		v, err := strconv.ParseUint(num, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("timeouts: %q: %v", line, err)
		}
		t.Value = uint32(v)
		out = append(out, t)
	}
	return out, nil
}

// pfctlFlush flushes what -F what names and returns how many states went.
func pfctlFlush(d *daemon, f *filter.Filter, what string) (int, error) {
	switch what {
	case "states":
		return f.FlushStates(), nil
	case "rules", "all", "Reset":
		return 0, fmt.Errorf("-F %s: hostnet's rules are %s: edit it and load it with pfctl -f %[2]s; -F states flushes the states",
			what, filepath.Join(d.dir, "pf.conf"))
	}
	return 0, fmt.Errorf("-F %s: hostnet pfctl flushes states only", what)
}

// pfctlKill kills the states from the first -k host (address or network)
// to the second, if any, and returns how many, with pfctl's counts of
// sources and destinations.
func pfctlKill(f *filter.Filter, hosts []string) (killed, srcs, dsts int, err error) {
	var pfx [2]netip.Prefix
	for i, h := range hosts {
		p, err := parseKillHost(h)
		if err != nil {
			return 0, 0, 0, err
		}
		pfx[i] = p
	}
	if len(hosts) == 2 && pfx[0].Addr().Is4() != pfx[1].Addr().Is4() {
		// pfctl pairs only addresses of one family and counts only
		// the destinations it paired: nothing to kill.
		return 0, 1, 0, nil
	}
	return f.KillStates(pfx[0], pfx[1]), 1, len(hosts) - 1, nil
}

// parseKillHost parses a -k argument: an address or a network.
func parseKillHost(h string) (netip.Prefix, error) {
	if strings.Contains(h, "/") {
		p, err := netip.ParsePrefix(h)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("-k %s: not a network: %v", h, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(h)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("-k %s: want an address or a network (hostnet does not resolve host names)", h)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// checkPFConfPath accepts the FILE of pfctl -f when it is the daemon's
// pf.conf: DIR/pf.conf, or /etc/pf.conf, which hostnet reads as
// DIR/pf.conf. A relative FILE is taken as relative to the directory the
// daemon was started in.
func (d *daemon) checkPFConfPath(file string) error {
	want := filepath.Join(d.dir, "pf.conf")
	same := file == "/etc/pf.conf" || filepath.Clean(file) == filepath.Clean(want)
	if !same {
		fi, err1 := os.Stat(file)
		wi, err2 := os.Stat(want)
		same = err1 == nil && err2 == nil && os.SameFile(fi, wi)
	}
	if !same {
		return fmt.Errorf("-f %s: hostnet reads pf.conf from its configuration directory: edit %s and load it with pfctl -f %[2]s", file, want)
	}
	if _, err := os.Stat(want); err != nil {
		return fmt.Errorf("-f %s: %v: without pf.conf pf passes everything; hostnet reload reloads the rest", file, err)
	}
	return nil
}

func (d *daemon) handlePfctl(ctx context.Context, args []string) (string, any, error) {
	return pfctlServe(d, ctx, args)
}
