package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hostnet/hostnet/dataplane"
	"github.com/hostnet/hostnet/dataplane/config"
	"github.com/hostnet/hostnet/filter/pfconf"
)

const pfctlUsage = `Usage: hostnet pfctl [-jnqv] [-a ANCHOR] [-o none|basic] -f FILE
       hostnet pfctl [-socket PATH] [-j] [-a ANCHOR] -s rules|states|info|...

Pfctl reads pf.conf(5) as OpenBSD's pfctl(8) does. With -n it parses FILE
and loads nothing: it prints every error as FILE:LINE: message and exits 1
if there is any; with -v it also prints the parsed ruleset in pfctl's
normalised form (macros, tables and options as parsed, then the expanded
rules, each anchor's rules nested in braces below its anchor rule).

include and load anchor paths resolve inside the directory of FILE (an
absolute /etc/X means DIR/X), and load anchor "vm/*" from
"/etc/pf.vm/*.conf" loads each file into vm/<name>. Interface addresses
and vm.conf's VMs (for $vm_name and $vm_if in vm anchors) come from the
hostname.IF files and vm.conf of that directory when they are there.

Without -n, and with -s, -F or -k, the command goes to the running
daemon (hostnet run) through its control socket.

Flags:
  -a ANCHOR  print only the rules of ANCHOR ("vm/web01", or "vm/*" for
             every child of vm)
  -f FILE    the pf.conf to read
  -h         print this help
  -j         print JSON: with -n, the parsed ruleset as data
  -n         parse only, load nothing
  -o LEVEL   none (the default): rules as written; basic: also merge six
             or more rules differing in one address into a table, as
             pfctl's default optimizer does
  -q         print errors only
  -v         print the parsed ruleset (-vv is the same offline)
  -s WHAT    show rules, states, info (daemon)
  -F WHAT    flush (daemon)
  -k HOST    kill the states of HOST (daemon)
  -socket PATH  the control socket of hostnet run (default /run/hostnet.sock)
`

// cmdPfctl implements `hostnet pfctl`: the offline forms (-n -f) here,
// everything that needs the running daemon through pfctlLive.
func cmdPfctl(args []string, stdout, stderr io.Writer) int {
	var (
		noAction, quiet, asJSON bool
		verbose                 int
		file, anchor            string
		optimize                = "none"
		daemonFlag              bool
		socket                  = defaultSocket
		daemonArgs              []string // args without -socket, as the daemon gets them
	)
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-socket" || a == "--socket" {
			if i+1 >= len(args) {
				fmt.Fprintf(stderr, "hostnet pfctl: option -socket needs an argument\n%s", pfctlUsage)
				return 2
			}
			i++
			socket = args[i]
			continue
		}
		if v, ok := strings.CutPrefix(a, "-socket="); ok {
			socket = v
			continue
		}
		daemonArgs = append(daemonArgs, a)
		if a == "--" {
			i++
			if i < len(args) {
				fmt.Fprintf(stderr, "hostnet pfctl: unexpected argument %q\n", args[i])
				return 2
			}
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			fmt.Fprintf(stderr, "hostnet pfctl: unexpected argument %q\n%s", a, pfctlUsage)
			return 2
		}
		if a == "-help" || a == "--help" {
			fmt.Fprint(stdout, pfctlUsage)
			return 0
		}
		cluster := a[1:]
		for j := 0; j < len(cluster); j++ {
			c := cluster[j]
			switch c {
			case 'h':
				fmt.Fprint(stdout, pfctlUsage)
				return 0
			case 'n':
				noAction = true
			case 'q':
				quiet = true
			case 'j':
				asJSON = true
			case 'v':
				verbose++
			case 'e', 'd':
				// The daemon explains why pf cannot be switched.
				daemonFlag = true
			case 'f', 'a', 'o', 's', 'F', 'k':
				val := cluster[j+1:]
				if val == "" {
					i++
					if i >= len(args) {
						fmt.Fprintf(stderr, "hostnet pfctl: option -%c needs an argument\n%s", c, pfctlUsage)
						return 2
					}
					val = args[i]
					daemonArgs = append(daemonArgs, val)
				}
				switch c {
				case 'f':
					file = val
				case 'a':
					anchor = val
				case 'o':
					if val != "none" && val != "basic" {
						fmt.Fprintf(stderr, "hostnet pfctl: -o %s: want none or basic\n", val)
						return 2
					}
					optimize = val
				default:
					daemonFlag = true
				}
				j = len(cluster)
			default:
				fmt.Fprintf(stderr, "hostnet pfctl: unknown option -%c\n%s", c, pfctlUsage)
				return 2
			}
		}
	}
	if daemonFlag || file != "" && !noAction {
		if file != "" && !filepath.IsAbs(file) {
			// The daemon runs elsewhere: name the file absolutely.
			if abs, err := filepath.Abs(file); err == nil {
				for k, a := range daemonArgs {
					if a == file {
						daemonArgs[k] = abs
					} else if strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.HasSuffix(a, "f"+file) {
						daemonArgs[k] = strings.TrimSuffix(a, file) + abs
					}
				}
			}
		}
		return pfctlLive(socket, daemonArgs, stdout, stderr)
	}
	if file == "" {
		fmt.Fprintf(stderr, "hostnet pfctl: nothing to do: want -nf FILE, or -s WHAT\n%s", pfctlUsage)
		return 2
	}
	dir, base := filepath.Split(file)
	if dir == "" {
		dir = "."
	}
	opts := pfOptionsFromDir(dir)
	spec, err := pfconf.Load(dir, base, opts)
	if err != nil {
		printPFErrors(stderr, err)
		fmt.Fprintf(stderr, "hostnet pfctl: syntax error in config file: pf rules not loaded\n")
		return 1
	}
	if optimize == "basic" {
		spec.Optimize()
	}
	if asJSON {
		var v any = spec
		if anchor != "" {
			rs := spec.Ruleset(strings.Trim(anchor, "/"))
			if rs == nil {
				fmt.Fprintf(stderr, "hostnet pfctl: anchor %q does not exist\n", anchor)
				return 1
			}
			v = rs
		}
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			fmt.Fprintf(stderr, "hostnet pfctl: %v\n", err)
			return 1
		}
		stdout.Write(append(b, '\n'))
		return 0
	}
	if verbose == 0 || quiet {
		return 0
	}
	if anchor == "" {
		fmt.Fprint(stdout, spec.Format())
		return 0
	}
	out, err := spec.FormatRules(strings.Trim(anchor, "/"))
	if err != nil {
		fmt.Fprintf(stderr, "hostnet pfctl: %v\n", err)
		return 1
	}
	fmt.Fprint(stdout, out)
	return 0
}

// printPFErrors prints each error joined in err on its own line.
func printPFErrors(w io.Writer, err error) {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		fmt.Fprintln(w, e)
	}
}

// pfOptionsFromDir fills the parse options from the configuration
// directory's hostname.IF files and vm.conf, when they are there and
// load; without them pf.conf is parsed with no interface knowledge.
func pfOptionsFromDir(dir string) pfconf.ParseOptions {
	spec, _, err := config.Load(dir)
	if err != nil || spec == nil {
		return pfconf.ParseOptions{}
	}
	return dataplane.PFOptions(spec)
}

// checkPF parses DIR/pf.conf and every anchor file it loads, for
// `hostnet check`. It returns a summary ("N pf rules in M anchors", or
// "no pf.conf"), warnings as "FILE:LINE: warning: MSG" and the parse
// errors.
func checkPF(dir string, spec *config.Spec) (string, []string, error) {
	if _, err := os.Stat(filepath.Join(dir, "pf.conf")); errors.Is(err, os.ErrNotExist) {
		return "no pf.conf", nil, nil
	}
	if spec == nil {
		spec, _, _ = config.Load(dir) // its errors are the caller's to report
	}
	var opts pfconf.ParseOptions
	if spec != nil {
		opts = dataplane.PFOptions(spec)
	}
	pf, err := pfconf.Load(dir, "pf.conf", opts)
	if err != nil {
		return "", nil, err
	}
	n := len(pf.Main.Rules)
	for _, rs := range pf.Anchors {
		n += len(rs.Rules)
	}
	var warns []string
	if spec != nil {
		warns = pfWarnings(dir, pf, spec)
	}
	return fmt.Sprintf("%d pf rules in %d anchors", n, len(pf.Anchors)), warns, nil
}

// pfWarnings finds rules that load but cannot do what they seem to say:
// a dynamic address (IF) of an interface that has no address, so the
// rule matches nothing.
func pfWarnings(dir string, pf *pfconf.Spec, spec *config.Spec) []string {
	noAddr := map[string]bool{}
	names := map[string]bool{}
	for _, ifc := range spec.Interfaces {
		names[ifc.Name] = true
		for _, g := range dataplane.PFOptions(&config.Spec{Interfaces: []config.Interface{ifc}, Gateways: spec.Gateways}).Interfaces[0].Groups {
			names[g] = true
		}
		if len(ifc.Inet) == 0 && len(ifc.Inet6) == 0 {
			noAddr[ifc.Name] = true
		}
	}
	names["all"], names["any"], names["egress"], names["lo"] = true, true, true, true
	// The VMs' taps, for messages that name the tap a rule meant.
	var taps []string
	vmTap := map[string]string{} // tap -> vm
	for _, vm := range spec.VMs {
		for _, vi := range vm.Interfaces {
			taps = append(taps, fmt.Sprintf("%s %s", vm.Name, vi.IfName))
			vmTap[vi.IfName] = vm.Name
		}
	}
	tapList := ""
	if len(taps) > 0 {
		tapList = " (the VMs' taps: " + strings.Join(taps, ", ") + ")"
	}
	var warns []string
	check := func(rs *pfconf.Ruleset) {
		seen := map[string]bool{}
		warn := func(r *pfconf.Rule, format string, args ...any) {
			f := strings.TrimPrefix(r.File, filepath.Clean(dir)+"/")
			w := fmt.Sprintf("%s:%d: warning: ", f, r.Line) + fmt.Sprintf(format, args...)
			if !seen[w] {
				seen[w] = true
				warns = append(warns, w)
			}
		}
		hint := func(name string) string {
			if strings.HasPrefix(name, "tap") {
				return tapList
			}
			return ""
		}
		for i := range rs.Rules {
			r := &rs.Rules[i]
			if r.Interface != "" && !names[r.Interface] {
				warn(r, "%s is not an interface or group of this configuration: the rule matches nothing%s", r.Interface, hint(r.Interface))
			}
			for _, a := range []pfconf.Addr{r.Src.Addr, r.Dst.Addr} {
				if a.Type != pfconf.AddrDynamic {
					continue
				}
				switch {
				case a.Name == r.Interface && !names[a.Name]:
					// Said above.
				case !names[a.Name]:
					warn(r, "(%s) names no interface of this configuration: the rule matches nothing%s", a.Name, hint(a.Name))
				case noAddr[a.Name]:
					warn(r, "(%s) has no address: the rule matches nothing", a.Name)
				}
			}
			// A pass in on a VM's tap sees what the VM sends. What the
			// bridge forwards to the VM leaves by its tap: out on it.
			if vm, ok := vmTap[r.Interface]; ok && r.Action == pfconf.Pass && r.Dir == pfconf.In && r.Dst.Addr.Type == pfconf.AddrDynamic && r.Dst.Addr.Name == r.Interface {
				warn(r, "pass in on %s ... to (%s) is for traffic %s sends to itself; traffic to %s crosses the bridge out on %s: write pass out on %s", r.Interface, r.Interface, vm, vm, r.Interface, r.Interface)
			}
		}
	}
	check(&pf.Main)
	paths := make([]string, 0, len(pf.Anchors))
	for p := range pf.Anchors {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		check(pf.Anchors[p])
	}
	return append(warns, shadowedAnchors(dir, pf, paths)...)
}

// shadowedAnchors warns about an anchor called before a `block all` in
// the main ruleset whose pass rules are not quick: last match wins, so
// the block decides every packet they match (the seed's micro-
// segmentation policy, as written).
func shadowedAnchors(dir string, pf *pfconf.Spec, paths []string) []string {
	var warns []string
	rel := func(f string) string { return strings.TrimPrefix(f, filepath.Clean(dir)+"/") }
	main := pf.Main.Rules
	for i := range main {
		call := &main[i]
		if call.Action != pfconf.Anchor || call.Quick {
			continue
		}
		var block *pfconf.Rule
		for j := i + 1; j < len(main) && block == nil; j++ {
			r := &main[j]
			if r.Action == pfconf.Block && r.Interface == "" && r.Proto == 0 && r.Dir == pfconf.DirBoth &&
				r.Src.Addr.Type == pfconf.AddrAny && !r.Src.Not && r.Dst.Addr.Type == pfconf.AddrAny && !r.Dst.Not && r.Src.Port.Op == pfconf.PortNone && r.Dst.Port.Op == pfconf.PortNone {
				block = r
			}
		}
		if block == nil {
			continue
		}
		prefix, glob := strings.CutSuffix(call.AnchorPath, "*")
		for _, p := range paths {
			if glob && (!strings.HasPrefix(p, prefix) || strings.Contains(p[len(prefix):], "/")) || !glob && p != call.AnchorPath {
				continue
			}
			for _, r := range pf.Anchors[p].Rules {
				if r.Action == pfconf.Pass && !r.Quick {
					warns = append(warns, fmt.Sprintf("%s:%d: warning: this pass rule of anchor %s is not quick, and \"block all\" at %s:%d comes after the anchor: last match wins, so the block decides every packet it matches; write pass ... quick", rel(r.File), r.Line, p, rel(block.File), block.Line))
					break
				}
			}
		}
	}
	return warns
}
