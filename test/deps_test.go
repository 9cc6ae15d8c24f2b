package test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/hostnet/hostnet"

// rule says what one package of hostnet may depend on, directly or not
// (STYLE.md section 1). Imports flow one way: header, packet, the port
// backends, then l2, l3, nat, filter, then dataplane, then cmd.
type rule struct {
	pkg string // path below the module; a trailing "/..." covers subpackages
	// local lists the hostnet packages it may depend on; "*" is any.
	local []string
	// external lists module path prefixes outside the standard library it
	// may depend on.
	external []string
	why      string
}

var (
	sys     = "golang.org/x/sys"
	water   = "github.com/songgao/water"
	gopkt   = "github.com/gopacket/gopacket"
	anyExt  = []string{sys, water, gopkt}
	ports   = []string{"dataplane/packet", "dataplane/header"}
	lower   = []string{"dataplane/packet", "dataplane/header"}
	stdOnly = []string(nil)
)

var rules = []rule{
	{pkg: "dataplane/header", why: "wire formats use the standard library only"},
	{pkg: "dataplane/packet", local: []string{"dataplane/header"}, why: "the packet vocabulary sits on header alone"},
	{pkg: "dataplane/memport", local: ports, external: anyExt, why: "a port backend moves frames and knows no layer"},
	{pkg: "dataplane/pcapport", local: ports, external: anyExt, why: "a port backend moves frames and knows no layer"},
	{pkg: "dataplane/tap", local: ports, external: anyExt, why: "a port backend moves frames and knows no layer"},
	{pkg: "dataplane/afpacket", local: ports, external: anyExt, why: "a port backend moves frames and knows no layer"},
	{pkg: "dataplane/gso", local: ports, external: []string{sys}, why: "segmentation is a port-level service"},
	{pkg: "dataplane/config", local: stdOnly, why: "config files parse to plain data with the standard library only"},
	{pkg: "filter/pfconf", local: stdOnly, why: "pf.conf parses to plain data with the standard library only"},
	{pkg: "l2", local: lower, why: "the bridge knows packets and headers, not l3, nat, filter or dataplane"},
	{pkg: "dataplane/ipfrag", local: lower, why: "fragmenting is shared by l3 and the bridge, below both"},
	{pkg: "l3", local: []string{"dataplane/packet", "dataplane/header", "dataplane/ipfrag"}, why: "the IP stack knows packets, headers and fragmenting, not l2, nat, filter or dataplane"},
	{pkg: "nat", local: lower, why: "translation mechanics know no rules, bridges or routes"},
	{pkg: "filter", local: []string{"dataplane/packet", "dataplane/header", "nat", "filter/pfconf"}, why: "pf uses nat and pfconf, never l2, l3 or dataplane"},
	{pkg: "dataplane", local: []string{"dataplane/...", "l2", "l3", "nat", "filter/..."}, external: anyExt, why: "the frame path composes the layers and never imports cmd"},
	{pkg: "cmd/...", local: []string{"*"}, external: []string{"*"}, why: "cmd is the top"},
	{pkg: "cmd/hostnet/capfilter", local: stdOnly, why: "the capture filter matches bytes with the standard library only"},
	{pkg: "bench", local: []string{"*"}, external: []string{"*"}, why: "benchmarks may import anything"},
	{pkg: "internal/netns", local: stdOnly, why: "namespaces are made with ip(8) and the standard library only"},
	{pkg: "test/...", local: []string{"*"}, external: []string{"*"}, why: "test helpers may import anything"},
}

func covers(pattern, path string) bool {
	if rest, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == rest || strings.HasPrefix(path, rest+"/")
	}
	return pattern == path
}

func ruleFor(path string) (rule, bool) {
	best, found := rule{}, false
	for _, r := range rules {
		if covers(r.pkg, path) && (!found || len(r.pkg) > len(best.pkg)) {
			best, found = r, true
		}
	}
	return best, found
}

func allowed(list []string, path string) bool {
	for _, l := range list {
		if l == "*" || covers(l, path) || strings.HasPrefix(path, l+"/") || path == l {
			return true
		}
	}
	return false
}

// TestImportRules runs `go list -deps` for every package of the module and
// fails on a dependency STYLE.md section 1 forbids, naming the rule.
func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}|{{join .Deps \" \"}}|{{join .Imports \" \"}}", module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	n := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "|", 3)
		if len(parts) != 3 {
			t.Fatalf("go list printed %q", line)
		}
		path, ok := strings.CutPrefix(parts[0], module+"/")
		if !ok {
			continue
		}
		n++
		r, ok := ruleFor(path)
		if !ok {
			t.Errorf("%s: no import rule covers this package; add one to test/deps_test.go", path)
			continue
		}
		for dep := range strings.FieldsSeq(parts[1]) {
			if local, ok := strings.CutPrefix(dep, module+"/"); ok {
				if (strings.HasPrefix(local, "cmd/") || local == "bench") && !strings.HasPrefix(path, "cmd/") {
					t.Errorf("%s depends on %s: nothing outside cmd may import cmd, and only cmd (hostnet bench) bench", path, local)
					continue
				}
				if strings.HasPrefix(local, "test") {
					t.Errorf("%s depends on %s: only _test.go files may import test", path, local)
					continue
				}
				if !allowed(r.local, local) {
					t.Errorf("%s depends on %s: %s", path, local, r.why)
				}
			}
		}
		// Modules outside the standard library are checked on direct
		// imports: what an allowed module pulls in is its own choice.
		for dep := range strings.FieldsSeq(parts[2]) {
			first, _, _ := strings.Cut(dep, "/")
			if !strings.Contains(first, ".") || strings.HasPrefix(dep, module+"/") {
				continue // standard library, or checked above
			}
			if !allowed(r.external, dep) {
				t.Errorf("%s imports %s: %s", path, dep, r.why)
			}
		}
	}
	if n == 0 {
		t.Fatal("go list found no packages of the module")
	}
}

// TestImportRuleMatching checks the rule lookup itself, so that a broken
// matcher cannot pass every package.
func TestImportRuleMatching(t *testing.T) {
	tests := []struct {
		name, pkg, dep string
		want           bool
	}{
		{"l2 may use packet", "l2", "dataplane/packet", true},
		{"l2 may not use l3", "l2", "l3", false},
		{"l3 may not use dataplane", "l3", "dataplane", false},
		{"l3 may use ipfrag", "l3", "dataplane/ipfrag", true},
		{"l3 may not use gso", "l3", "dataplane/gso", false},
		{"filter may use pfconf", "filter", "filter/pfconf", true},
		{"filter may not use l2", "filter", "l2", false},
		{"config is standard library only", "dataplane/config", "dataplane/header", false},
		{"dataplane may use l2", "dataplane", "l2", true},
		{"dataplane may use a port", "dataplane", "dataplane/pcapport", true},
		{"a port may not use l2", "dataplane/tap", "l2", false},
		{"cmd may use anything", "cmd/hostnet", "filter", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := ruleFor(tc.pkg)
			if !ok {
				t.Fatalf("ruleFor(%q) found no rule", tc.pkg)
			}
			if got := allowed(r.local, tc.dep); got != tc.want {
				t.Errorf("allowed(%q -> %q) = %v, want %v", tc.pkg, tc.dep, got, tc.want)
			}
		})
	}
}
