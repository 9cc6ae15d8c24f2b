package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCmd runs hostnet with args and returns its exit status and output.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestHelp(t *testing.T) {
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			code, out, _ := runCmd(t, c.name, "-h")
			if code != 0 {
				t.Errorf("hostnet %s -h exited %d, want 0", c.name, code)
			}
			if c.name != "help" && !strings.Contains(out, "Usage: hostnet "+c.name) {
				t.Errorf("hostnet %s -h printed %q, want a usage line", c.name, out)
			}
		})
	}
	if code, _, errs := runCmd(t, "frobnicate"); code != 2 || !strings.Contains(errs, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, stderr %q", code, errs)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCmd(t, "version")
	if code != 0 || !strings.HasPrefix(out, "hostnet ") {
		t.Errorf("version: exit %d, output %q", code, out)
	}
}

func TestReplayCommand(t *testing.T) {
	ex := filepath.Join("..", "..", "examples", "bridge")
	out := t.TempDir()
	code, stdout, stderr := runCmd(t, "replay", "-f", ex,
		"-r", "em1="+filepath.Join(ex, "in.em1.pcap"),
		"-r", "tap0="+filepath.Join(ex, "in.tap0.pcap"),
		"-r", "tap1="+filepath.Join(ex, "in.tap1.pcap"),
		"-w", out)
	if code != 0 {
		t.Fatalf("replay exited %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "5 frames replayed") {
		t.Errorf("replay printed %q, want 5 frames replayed", stdout)
	}
	for _, line := range []string{"em1        ether   2   2    0        -", "tap1       tap     1   2    0        -"} {
		if !strings.Contains(stdout, line) {
			t.Errorf("replay table lacks %q:\n%s", line, stdout)
		}
	}
	for _, f := range []string{"em1.pcap", "tap0.pcap", "tap1.pcap"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("replay did not write %s: %v", f, err)
		}
	}
}

func TestReplayErrors(t *testing.T) {
	good := writeFiles(t, map[string]string{"hostname.bridge0": "add em1\nadd tap0\nup\n"})
	bad := writeFiles(t, map[string]string{"hostname.bridge0": "add em1\nfrobnicate\nup\n"})
	pcap := filepath.Join("..", "..", "examples", "bridge", "in.em1.pcap")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no output dir", []string{"-f", good, "-r", "em1=" + pcap}, 2, "-w OUTDIR is required"},
		{"no inputs", []string{"-f", good, "-w", t.TempDir()}, 2, "at least one -r"},
		{"bad input flag", []string{"-f", good, "-r", "em1", "-w", t.TempDir()}, 2, "want IF=FILE"},
		{"bad config", []string{"-f", bad, "-r", "em1=" + pcap, "-w", t.TempDir()}, 1, "hostname.bridge0:2"},
		{"unknown interface", []string{"-f", good, "-r", "em9=" + pcap, "-w", t.TempDir()}, 1, `no interface "em9"`},
		{"missing file", []string{"-f", good, "-r", "em1=/nonexistent.pcap", "-w", t.TempDir()}, 1, "/nonexistent.pcap"},
		{"not a port", []string{"-f", good, "-r", "bridge0=" + pcap, "-w", t.TempDir()}, 1, "has no port"},
		{"other link type", []string{"-f", good, "-r", "em1=../../../shared/pcaps/tcpdump-LINKTYPE_IPV4.pcap", "-w", t.TempDir()}, 1, "LINKTYPE_IPV4.pcap"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCmd(t, append([]string{"replay"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("replay %v: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, tc.code, tc.want)
			}
		})
	}
}

func TestCheckCommand(t *testing.T) {
	code, out, stderr := runCmd(t, "check", "-f", filepath.Join("..", "..", "examples", "seed"))
	if code != 0 || !strings.Contains(out, "ok:") {
		t.Errorf("check examples/seed: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	bad := writeFiles(t, map[string]string{
		"hostname.bridge0": "add em1\nfrobnicate\nup\nmaxaddr lots\n",
		"hostname.vether0": "inet 10.0.0.1 255.255.255.0\ndhcp\n",
	})
	code, _, stderr = runCmd(t, "check", "-f", bad)
	if code != 1 {
		t.Errorf("check of a bad directory exited %d, want 1", code)
	}
	for _, want := range []string{"hostname.bridge0:2", "hostname.bridge0:4", "hostname.vether0:2", "nothing applied"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("check stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestCheckWarnsParentAndChild(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"hostname.bridge0": "add em1\nadd vlan10\nup\n",
		"hostname.vlan10":  "parent em1 vnetid 10 up\n",
	})
	code, out, stderr := runCmd(t, "check", "-f", dir)
	if code != 0 {
		t.Fatalf("check exited %d: %s", code, stderr)
	}
	if !strings.Contains(out, "warning: bridge0: vlan10 and its parent em1 are both members") {
		t.Errorf("check did not warn about vlan10 and em1 in one bridge:\n%s", out)
	}
}

func TestReplayPflog(t *testing.T) {
	etc := filepath.Join("..", "..", "test", "testdata", "routed-arp-and-ping", "etc")
	dir := t.TempDir()
	entries, err := os.ReadDir(etc)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(etc, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "pf.conf"), []byte("block log all\n"), 0o644)
	logf := filepath.Join(t.TempDir(), "pflog.pcap")
	in := filepath.Join("..", "..", "test", "testdata", "routed-arp-and-ping", "in.tap0.pcap")
	code, out, stderr := runCmd(t, "replay", "-f", dir, "-r", "tap0="+in, "-w", t.TempDir(), "-l", logf)
	if code != 0 {
		t.Fatalf("replay exited %d: %s", code, stderr)
	}
	if !strings.Contains(out, "pf=1") {
		t.Errorf("replay table does not show the ping blocked by pf:\n%s", out)
	}
	b, err := os.ReadFile(logf)
	if err != nil {
		t.Fatal(err)
	}
	// A pcap header of link type 117 (pflog), then one record: the
	// blocked echo request with its 100-byte pflog header.
	if len(b) < 24 || b[20] != 117 {
		t.Fatalf("pflog file is %d bytes, link type %d; want pcap of link type 117", len(b), b[20])
	}
	if len(b) < 24+16+100+20 {
		t.Errorf("pflog file holds %d bytes, want a header and one logged packet", len(b))
	}
}

// TestCheckExplainsSeedAnchors checks that hostnet check says where the
// seed's per-VM rules, as literally written, differ from their intent.
func TestCheckExplainsSeedAnchors(t *testing.T) {
	code, out, stderr := runCmd(t, "check", "-f", filepath.Join("..", "..", "examples", "seed"))
	if code != 0 {
		t.Fatalf("check exited %d: %s", code, stderr)
	}
	for _, want := range []string{
		"pf.vm/web01.conf:6: warning: tap3 is not an interface or group of this configuration: the rule matches nothing (the VMs' taps: web01 tap0, db01 tap1)",
		"pf.vm/db01.conf:5: warning: tap4 is not an interface",
		`pf.vm/web01.conf:6: warning: this pass rule of anchor vm/web01 is not quick, and "block all" at pf.conf:21 comes after the anchor`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check does not say %q:\n%s", want, out)
		}
	}
	dir := writeFiles(t, map[string]string{
		"vm.conf":          "switch \"lan\" {\n interface bridge0\n}\nvm \"web01\" {\n interface { switch \"lan\" }\n}\n",
		"hostname.bridge0": "up\n",
		"pf.conf":          "block all\nanchor \"vm/*\"\nload anchor \"vm/*\" from \"/etc/pf.vm/*.conf\"\n",
		"pf.vm/web01.conf": "pass in on $vm_if proto tcp to ($vm_if) port 80\n",
	})
	code, out, stderr = runCmd(t, "check", "-f", dir)
	if code != 0 {
		t.Fatalf("check exited %d: %s", code, stderr)
	}
	for _, want := range []string{
		"pf.vm/web01.conf:1: warning: (tap0) has no address: the rule matches nothing",
		"traffic to web01 crosses the bridge out on tap0: write pass out on tap0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check does not say %q:\n%s", want, out)
		}
	}
}
