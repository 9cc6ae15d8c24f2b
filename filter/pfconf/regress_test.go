package pfconf

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// regressInterfaces are the interfaces the upstream .ok files assume
// (pfctl-regress/README.md): lo0 with 127.0.0.1/8, ::1 and fe80::1%lo0,
// and the address-less lo1000000, lo1000001, tun1000000, tun1000001, in
// groups lo and tun.
var regressInterfaces = []Interface{
	{Name: "lo0", Loopback: true, Groups: []string{"lo"}, Addrs: []IfAddr{
		{Addr: netip.MustParseAddr("::1"), Bits: 128},
		{Addr: netip.MustParseAddr("fe80::1%lo0"), Bits: 64},
		{Addr: netip.MustParseAddr("127.0.0.1"), Bits: 8},
	}},
	{Name: "lo1000000", Loopback: true, Groups: []string{"lo"}},
	{Name: "lo1000001", Loopback: true, Groups: []string{"lo"}},
	{Name: "tun1000000", PointToPoint: true, Groups: []string{"tun"}},
	{Name: "tun1000001", PointToPoint: true, Groups: []string{"tun"}},
}

func regressDir() string {
	if d := os.Getenv("PFCTL_REGRESS_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "pfctl-regress")
}

// regressOptions are the parse options of the regress run: the fixture
// interfaces, /dev/null as an empty file, other relative paths (pf95's
// include upstream) in the regress directory, as from its object
// directory.
func regressOptions(dir string) ParseOptions {
	return ParseOptions{
		Interfaces: regressInterfaces,
		ReadFile: func(name string) ([]byte, error) {
			if name == "/dev/null" {
				return nil, nil
			}
			if !filepath.IsAbs(name) {
				name = filepath.Join(dir, name)
			}
			return os.ReadFile(name)
		},
	}
}

// loadAnchorTests are loaded into an anchor and listed with
// `pfctl -a 'regress/*' -sr` upstream, with the default optimizer.
var loadAnchorTests = map[string]bool{"pf112": true, "pf113": true}

// pairName matches the inputs of the pf and selfpf targets (not pfail,
// pfopt, pfr and the others).
var pairName = regexp.MustCompile(`^pf[0-9]+\.in$`)

var autoTableRE = regexp.MustCompile(`__automatic_[0-9a-f]*_.*>`)

// regressOutput prints file as the upstream Makefile target for test
// name would.
func regressOutput(dir, name, file string) (string, error) {
	opts := regressOptions(dir)
	if loadAnchorTests[name] {
		opts.ReadFile = nil
		s, err := Load(dir, file, opts)
		if err != nil {
			return "", err
		}
		s.Optimize()
		out, err := s.FormatRules("*")
		if err != nil {
			return "", err
		}
		return autoTableRE.ReplaceAllString(out, "__automatic_>"), nil
	}
	src, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return "", err
	}
	s, err := ParseWith("-", strings.NewReader(string(src)), opts)
	if err != nil {
		return "", err
	}
	return s.Format(), nil
}

// TestRegress runs every pfN.in of the pfctl regress corpus and checks
// the printed rules against pfN.ok byte for byte, then feeds pfN.ok back
// (selfpf) and checks it prints unchanged.
func TestRegress(t *testing.T) {
	dir := regressDir()
	all, err := filepath.Glob(filepath.Join(dir, "pf*.in"))
	var ins []string
	for _, f := range all {
		if pairName.MatchString(filepath.Base(f)) {
			ins = append(ins, f)
		}
	}
	if err != nil || len(ins) == 0 {
		t.Fatalf("no pfN.in files in %s (set PFCTL_REGRESS_DIR): %v", dir, err)
	}
	sort.Slice(ins, func(i, j int) bool {
		var a, b int
		fmt.Sscanf(filepath.Base(ins[i]), "pf%d.in", &a)
		fmt.Sscanf(filepath.Base(ins[j]), "pf%d.in", &b)
		return a < b
	})
	pass := 0
	var failed []string
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in")
		okFile := name + ".ok"
		want, err := os.ReadFile(filepath.Join(dir, okFile))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			failed = append(failed, name)
			continue
		}
		good := true
		for _, src := range []string{name + ".in", okFile} {
			got, err := regressOutput(dir, name, src)
			if err != nil {
				t.Errorf("%s: parse %s: %v", name, src, err)
				good = false
				continue
			}
			if got != string(want) {
				t.Errorf("%s: print(parse(%s)) differs from %s:\n%s", name, src, okFile, lineDiff(string(want), got))
				good = false
			}
		}
		if good {
			pass++
		} else {
			failed = append(failed, name)
		}
	}
	fmt.Printf("pfctl-regress: %d/%d pairs pass\n", pass, len(ins))
	if len(failed) > 0 {
		fmt.Printf("pfctl-regress: failing: %s\n", strings.Join(failed, " "))
	}
}

// lineDiff shows the lines of want and got that differ.
func lineDiff(want, got string) string {
	w := strings.Split(want, "\n")
	g := strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "  line %d:\n    want %q\n    got  %q\n", i+1, wl, gl)
		}
	}
	return b.String()
}
