package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const seedAnchors = "../../filter/pfconf/testdata/seed-anchors/pf.conf"

// noDaemon is a control socket path nothing listens on.
const noDaemon = "/nonexistent/hostnet-test.sock"

func runPfctl(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = cmdPfctl(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestPfctl checks the offline forms of hostnet pfctl.
func TestPfctl(t *testing.T) {
	full := `set skip on { lo }
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
`
	web01 := `pass in on tap3 proto tcp from any to (tap3) port = 80 flags S/SA
pass in on tap3 proto tcp from any to (tap3) port = 443 flags S/SA
pass in on tap3 inet proto tcp from 10.10.0.0/24 to (tap3) port = 22 flags S/SA
`
	tests := []struct {
		name      string
		args      []string
		code      int
		stdout    string
		stderrHas string
		stdoutHas string
	}{
		{name: "nvf", args: []string{"-nvf", seedAnchors}, stdout: full},
		{name: "separate flags", args: []string{"-n", "-v", "-f", seedAnchors}, stdout: full},
		{name: "vv", args: []string{"-nvvf", seedAnchors}, stdout: full},
		{name: "nf prints nothing", args: []string{"-nf", seedAnchors}, stdout: ""},
		{name: "anchor", args: []string{"-a", "vm/web01", "-nvf", seedAnchors}, stdout: web01},
		{name: "anchor glued", args: []string{"-avm/web01", "-nvf", seedAnchors}, stdout: web01},
		{name: "missing anchor", args: []string{"-a", "vm/none", "-nvf", seedAnchors}, code: 1, stderrHas: `anchor "vm/none" does not exist`},
		{name: "help", args: []string{"-h"}, stdoutHas: "Usage: hostnet pfctl"},
		{name: "show goes to the daemon", args: []string{"-socket", noDaemon, "-sr"}, code: 1, stderrHas: "hostnet pfctl: "},
		{name: "flush goes to the daemon", args: []string{"-socket=" + noDaemon, "-F", "states"}, code: 1, stderrHas: "hostnet pfctl: "},
		{name: "load goes to the daemon", args: []string{"-socket", noDaemon, "-f", seedAnchors}, code: 1, stderrHas: "hostnet pfctl: "},
		{name: "json", args: []string{"-a", "vm/db01", "-njf", seedAnchors}, stdoutHas: `"Path": "vm/db01"`},
		{name: "unknown option", args: []string{"-x"}, code: 2, stderrHas: "unknown option -x"},
		{name: "no file", args: []string{"-nv"}, code: 2, stderrHas: "nothing to do"},
		{name: "missing argument", args: []string{"-nvf"}, code: 2, stderrHas: "option -f needs an argument"},
		{name: "bad optimizer", args: []string{"-o", "fast", "-nf", seedAnchors}, code: 2, stderrHas: "-o fast"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runPfctl(tc.args...)
			if code != tc.code {
				t.Errorf("pfctl %q = exit %d, want %d (stderr %q)", tc.args, code, tc.code, errOut)
			}
			if tc.stdoutHas == "" && out != tc.stdout {
				t.Errorf("pfctl %q stdout =\n%s\nwant\n%s", tc.args, out, tc.stdout)
			}
			if tc.stdoutHas != "" && !strings.Contains(out, tc.stdoutHas) {
				t.Errorf("pfctl %q stdout = %q, want it to contain %q", tc.args, out, tc.stdoutHas)
			}
			if tc.stderrHas != "" && !strings.Contains(errOut, tc.stderrHas) {
				t.Errorf("pfctl %q stderr = %q, want it to contain %q", tc.args, errOut, tc.stderrHas)
			}
		})
	}
}

// TestPfctlErrors checks that every error is printed as FILE:LINE and the
// exit status is 1.
func TestPfctlErrors(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "pf.conf")
	if err := os.WriteFile(f, []byte("pass on $nope\nblock in proto nosuch\npass\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runPfctl("-nvf", f)
	if code != 1 || out != "" {
		t.Errorf("pfctl -nvf bad = exit %d, stdout %q; want 1 and nothing", code, out)
	}
	for _, w := range []string{f + ":1: macro 'nope' not defined", f + ":2: unknown protocol nosuch"} {
		if !strings.Contains(errOut, w+"\n") {
			t.Errorf("pfctl -nvf bad stderr = %q, want a line %q", errOut, w)
		}
	}
}

// TestPfctlConfigDir checks that interface addresses and VM taps come
// from the hostname.IF files and vm.conf beside pf.conf.
func TestPfctlConfigDir(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"hostname.vether0": "inet 10.50.0.1 255.255.255.0\nup\n",
		"hostname.bridge1": "add vether0\nup\n",
		"vm.conf":          "switch \"isolated\" {\n\tinterface bridge1\n}\nvm \"db01\" {\n\tmemory 512M\n\tinterface tap4 { switch \"isolated\" }\n}\n",
		"pf.conf":          "anchor \"vm/*\"\nload anchor \"vm/*\" from \"/etc/pf.vm/*.conf\"\npass in on vether0 to vether0\npass in on tap4 to (tap4)\n",
		"pf.vm/db01.conf":  "pass in on $vm_if proto tcp to port 3306 label $vm_name\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := runPfctl("-nvf", filepath.Join(dir, "pf.conf"))
	want := `anchor "vm/*" all {
  anchor "db01" all {
    pass in on tap4 proto tcp from any to any port = 3306 flags S/SA label "db01"
  }
}
pass in on vether0 inet from any to 10.50.0.1 flags S/SA
pass in on tap4 from any to (tap4) flags S/SA
`
	if code != 0 || out != want {
		t.Errorf("pfctl -nvf = exit %d\n%s\nwant\n%s\nstderr %s", code, out, want, errOut)
	}
	summary, warns, err := checkPF(dir, nil)
	wantWarn := []string{
		"pf.conf:4: warning: (tap4) has no address: the rule matches nothing",
		"pf.conf:4: warning: pass in on tap4 ... to (tap4) is for traffic db01 sends to itself; traffic to db01 crosses the bridge out on tap4: write pass out on tap4",
	}
	if err != nil || summary != "4 pf rules in 1 anchors" || strings.Join(warns, "\n") != strings.Join(wantWarn, "\n") {
		t.Errorf("checkPF = %q, %q, %v; want \"4 pf rules in 1 anchors\" and %q", summary, warns, err, wantWarn)
	}
}

// TestCheckPF checks the summary, warnings and errors hostnet check gets.
func TestCheckPF(t *testing.T) {
	summary, warns, err := checkPF(t.TempDir(), nil)
	if summary != "no pf.conf" || warns != nil || err != nil {
		t.Errorf("checkPF(empty dir) = %q, %v, %v; want \"no pf.conf\"", summary, warns, err)
	}
	summary, _, err = checkPF("../../filter/pfconf/testdata/seed-anchors", nil)
	if err != nil || summary != "9 pf rules in 2 anchors" {
		t.Errorf("checkPF(seed) = %q, %v; want \"9 pf rules in 2 anchors\"", summary, err)
	}
}
