package pfconf

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadSeed loads the seed's own pf.conf excerpts.
func TestLoadSeed(t *testing.T) {
	tests := []struct {
		name, dir, want string
	}{
		{"routed segment with NAT", "testdata/seed-nat", `set skip on { lo }
wan = "em0"
isol_net = "10.50.0.0/24"
match out on em0 inet from 10.50.0.0/24 to any nat-to (em0) round-robin
block drop all
pass in on vether0 inet from 10.50.0.0/24 to any flags S/SA
pass out on em0 proto tcp from (em0) to any flags S/SA
pass out on em0 proto udp from (em0) to any
pass out on em0 proto icmp from (em0) to any
`},
		{"per-VM anchors", "testdata/seed-anchors", `set skip on { lo }
anchor "vm/*" all {
  anchor "db01" all {
    pass in on tap4 inet proto tcp from 10.50.0.20 to (tap4) port = 3306 flags S/SA
  }
  anchor "web01" all {
    pass in on tap3 proto tcp from any to (tap3) port = 80 flags S/SA
    pass in on tap3 proto tcp from any to (tap3) port = 443 flags S/SA
    pass in on tap3 inet proto tcp from 10.10.0.0/24 to (tap3) port = 22 flags S/SA
  }
}
block drop all
pass out on egress proto tcp all flags S/SA
pass out on egress proto udp all
pass out on egress proto icmp all
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Load(tc.dir, "pf.conf", ParseOptions{})
			if err != nil {
				t.Fatalf("Load(%q) error: %v", tc.dir, err)
			}
			if got := s.Format(); got != tc.want {
				t.Errorf("Load(%q) prints\n%s\nwant\n%s", tc.dir, got, tc.want)
			}
		})
	}
}

// TestLoadAnchors checks the glob form of load anchor, the vm macros,
// includes by absolute and relative path, and printing one anchor.
func TestLoadAnchors(t *testing.T) {
	opts := ParseOptions{VMs: []VM{{Name: "web01", If: "tap3"}, {Name: "db01", If: "tap4"}}}
	s, err := Load("testdata/vm-macros", "pf.conf", opts)
	if err != nil {
		t.Fatalf("Load error: %v", err)
	}
	want := `admin = "10.10.0.0/24"
set skip on { lo }
set block-policy return
anchor "vm/*" all {
  anchor "db01" all {
    pass in on tap9 inet proto tcp from 10.50.0.20 to (tap9) port = 3306 flags S/SA
    block drop in on tap9 all
  }
  anchor "web01" all {
    pass in on tap3 proto tcp from any to (tap3) port = 80 flags S/SA label "web01"
    pass in on tap3 proto tcp from any to (tap3) port = 443 flags S/SA label "web01"
  }
}
block return in all
pass out inet from 10.10.0.0/24 to any flags S/SA
`
	if got := s.Format(); got != want {
		t.Errorf("Load prints\n%s\nwant\n%s", got, want)
	}
	for _, tc := range []struct{ path, want string }{
		{"vm/web01", "pass in on tap3 proto tcp from any to (tap3) port = 80 flags S/SA label \"web01\"\npass in on tap3 proto tcp from any to (tap3) port = 443 flags S/SA label \"web01\"\n"},
		{"vm/*", "anchor \"db01\" all {\n  pass in on tap9 inet proto tcp from 10.50.0.20 to (tap9) port = 3306 flags S/SA\n  block drop in on tap9 all\n}\nanchor \"web01\" all {\n  pass in on tap3 proto tcp from any to (tap3) port = 80 flags S/SA label \"web01\"\n  pass in on tap3 proto tcp from any to (tap3) port = 443 flags S/SA label \"web01\"\n}\n"},
	} {
		got, err := s.FormatRules(tc.path)
		if err != nil || got != tc.want {
			t.Errorf("FormatRules(%q) = %q, %v, want %q", tc.path, got, err, tc.want)
		}
	}
	if _, err := s.FormatRules("vm/nope"); err == nil {
		t.Errorf("FormatRules(%q) = nil error, want one", "vm/nope")
	}
	if tb := s.Ruleset("").Table("none"); tb != nil {
		t.Errorf("Table(none) = %+v, want nil", tb)
	}
	if rs := s.Ruleset("vm/web01"); rs == nil || rs.File != filepath.Join("testdata/vm-macros", "pf.vm/web01.conf") {
		t.Errorf("Ruleset(vm/web01) = %+v, want File testdata/vm-macros/pf.vm/web01.conf", rs)
	}
}

// TestLoadAnchorErrors checks that an anchor file has its own macros and
// that its errors name it.
func TestLoadAnchorErrors(t *testing.T) {
	_, err := Load("testdata/anchor-errors", "pf.conf", ParseOptions{})
	if err == nil {
		t.Fatal("Load: no error, want the anchor file's")
	}
	f := filepath.Join("testdata/anchor-errors", "pf.vm/web01.conf")
	want := []string{f + ":2: macro 'admin' not defined", f + ":3: macro 'vm_if' not defined"}
	got := strings.Split(err.Error(), "\n")
	if len(got) != len(want) {
		t.Fatalf("Load errors = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Load error %d = %q, want %q", i, got[i], want[i])
		}
	}
}

// TestLoadMissingFile checks the error for a load anchor file that is
// not there.
func TestLoadMissingFile(t *testing.T) {
	_, err := ParseWith("pf.conf", strings.NewReader("anchor \"a\"\nload anchor \"a\" from \"/etc/none.conf\"\n"), ParseOptions{Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "pf.conf:2: load anchor \"a\": cannot read") {
		t.Errorf("Parse(load of a missing file) = %v, want pf.conf:2: load anchor \"a\": cannot read ...", err)
	}
}

// TestOptimize checks the table merge of the basic optimizer.
func TestOptimize(t *testing.T) {
	src := "pass in proto tcp from { 10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6 } to any port 22\npass out\n"
	s, err := parseTest(t, src)
	if err != nil {
		t.Fatal(err)
	}
	s.Optimize()
	want := "pass in inet proto tcp from <__automatic_0_0> to any port = 22 flags S/SA\npass out all flags S/SA\n"
	got, _ := s.FormatRules("")
	if got != want {
		t.Errorf("Optimize: rules\n%s\nwant\n%s", got, want)
	}
	if n := len(s.Main.Tables); n != 1 || len(s.Main.Tables[0].Entries) != 6 {
		t.Errorf("Optimize: tables %+v, want one of 6 entries", s.Main.Tables)
	}
	s, _ = parseTest(t, "pass from { 10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 }\n")
	s.Optimize()
	if len(s.Main.Rules) != 5 {
		t.Errorf("Optimize merged 5 rules, want them kept (threshold 6)")
	}
}

// TestTableFile checks `file` in a table definition: addresses and
// comments read through ParseOptions.ReadFile, paths inside Dir.
func TestTableFile(t *testing.T) {
	files := map[string]string{
		"/cfg/bad.txt":  "# blocked\n192.0.2.1 !192.0.2.0/24\n2001:db8::/32 # v6\n",
		"/cfg/oops.txt": "192.0.2.1\nnot-an-address\n",
	}
	opts := ParseOptions{Dir: "/cfg", ReadFile: func(name string) ([]byte, error) {
		if b, ok := files[name]; ok {
			return []byte(b), nil
		}
		return nil, errNoFiles
	}}
	s, err := ParseWith("pf.conf", strings.NewReader("table <bad> persist file \"/etc/bad.txt\"\n"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Format(), "table <bad> persist file \"/etc/bad.txt\"\n"; got != want {
		t.Errorf("Format = %q, want %q", got, want)
	}
	if s.Main.Table("bad") == nil {
		t.Errorf("Table(bad) = nil, want the table")
	}
	var got []string
	for _, e := range s.Main.Tables[0].Entries {
		n := ""
		if e.Not {
			n = "!"
		}
		got = append(got, n+e.Prefix.String())
	}
	if want := "192.0.2.1/32 !192.0.2.0/24 2001:db8::/32"; strings.Join(got, " ") != want {
		t.Errorf("entries = %q, want %q", got, want)
	}
	_, err = ParseWith("pf.conf", strings.NewReader("\ntable <t> file \"oops.txt\"\n"), opts)
	if err == nil || !strings.Contains(err.Error(), "pf.conf:2: oops.txt:2: no IP address found for not-an-address") {
		t.Errorf("Parse(bad table file) = %v, want pf.conf:2: oops.txt:2: ...", err)
	}
}

// TestAnchorPath checks anchor names relative to the anchor being parsed.
func TestAnchorPath(t *testing.T) {
	tests := []struct {
		base, name, want string
		bad              bool
	}{
		{"", "a", "a", false},
		{"a", "b", "a/b", false},
		{"a/b", "../c", "a/c", false},
		{"a", "/x/y", "x/y", false},
		{"", "..", "", true},
		{"", "", "", true},
	}
	for _, tc := range tests {
		got, err := anchorPath(tc.base, tc.name)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("anchorPath(%q, %q) = %q, %v; want %q (error %v)", tc.base, tc.name, got, err, tc.want, tc.bad)
		}
	}
}

// TestIncludeErrors checks that an error in an included file names that
// file and its line.
func TestIncludeErrors(t *testing.T) {
	opts := ParseOptions{Dir: "/cfg", ReadFile: func(name string) ([]byte, error) {
		if name == "/cfg/inc.conf" {
			return []byte("pass\npass proto nosuch\n"), nil
		}
		return nil, errNoFiles
	}}
	_, err := ParseWith("/cfg/pf.conf", strings.NewReader("include \"/etc/inc.conf\"\nblock proto nosuch2\n"), opts)
	want := "/cfg/inc.conf:2: unknown protocol nosuch\n/cfg/pf.conf:2: unknown protocol nosuch2"
	if err == nil || err.Error() != want {
		t.Errorf("Parse(include with errors) = %v, want %q", err, want)
	}
}
