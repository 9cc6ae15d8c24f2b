package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMissingTools(t *testing.T) {
	tests := []struct {
		name     string
		have     []string
		wantCmds string
		wantPkgs string
	}{
		{"all there", []string{"ip", "ping", "dnsmasq", "busybox", "curl", "nc", "python3"}, "", ""},
		{"none there", nil, "ip ping dnsmasq busybox curl nc python3", "iproute2 iputils-ping dnsmasq busybox curl netcat-openbsd python3"},
		{"nc and dnsmasq missing", []string{"ip", "ping", "busybox", "curl", "python3"}, "dnsmasq nc", "dnsmasq netcat-openbsd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			have := map[string]bool{}
			for _, h := range tc.have {
				have[h] = true
			}
			look := func(c string) (string, error) {
				if have[c] {
					return "/usr/bin/" + c, nil
				}
				return "", errors.New("not found")
			}
			cmds, pkgs := missingTools(look)
			if got := strings.Join(cmds, " "); got != tc.wantCmds {
				t.Errorf("missingTools(%v) commands = %q, want %q", tc.have, got, tc.wantCmds)
			}
			if got := strings.Join(pkgs, " "); got != tc.wantPkgs {
				t.Errorf("missingTools(%v) packages = %q, want %q", tc.have, got, tc.wantPkgs)
			}
		})
	}
}

func TestDemoResult(t *testing.T) {
	tests := []struct {
		name         string
		want, passed bool
		detail       string
		wantOut      string
	}{
		{"passes as the seed says", true, true, "", "demo: a -> b ping: ok (why)\n      $ ip netns exec ns ping b\n"},
		{"blocked as the seed says", false, false, "timeout", "demo: a -> b ping: blocked (why)\n      $ ip netns exec ns ping b\n"},
		{"fails", true, false, "100% packet loss", "demo: a -> b ping: FAILED, the seed says it passes (why)\n      $ ip netns exec ns ping b\n      -> 100% packet loss\n"},
		{"passes when the seed blocks", false, true, "", "demo: a -> b ping: PASSED, the seed says blocked (why)\n      $ ip netns exec ns ping b\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			d := &demo{out: &out}
			d.result("a -> b ping", tc.want, tc.passed, "why", "ns", []string{"ping", "b"}, tc.detail)
			if out.String() != tc.wantOut {
				t.Errorf("result(want %v, passed %v) printed\n%q, want\n%q", tc.want, tc.passed, out.String(), tc.wantOut)
			}
			if ok := tc.want == tc.passed; (d.passed == 1) != ok || (d.failed == 1) == ok {
				t.Errorf("result(want %v, passed %v): passed %d, failed %d", tc.want, tc.passed, d.passed, d.failed)
			}
		})
	}
}

func TestDemoFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"help", []string{"demo", "-h"}, 0, "-keep"},
		{"stray argument", []string{"demo", "now"}, 2, `unexpected argument "now"`},
		{"bad flag", []string{"demo", "-x"}, 2, "flag provided but not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if code := run(tc.args, &out, &out); code != tc.wantCode {
				t.Errorf("hostnet %s = %d, want %d\n%s", strings.Join(tc.args, " "), code, tc.wantCode, out.String())
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("hostnet %s printed\n%s\nwant it to contain %q", strings.Join(tc.args, " "), out.String(), tc.wantOut)
			}
		})
	}
}

func TestStopCommands(t *testing.T) {
	s := stopCommands("/tmp/x/hostnet.pid")
	for _, want := range []string{"kill $(cat /tmp/x/hostnet.pid)", "ip netns del hn-demo-host", "ip netns del hn-demo-web01", "ip netns del hn-demo-db01"} {
		if !strings.Contains(s, want) {
			t.Errorf("stopCommands() = %q, want it to contain %q", s, want)
		}
	}
}

// TestDemo runs `hostnet demo` on the seed as a user would, from a built
// binary: every step is tried and printed with its command (whether the
// seed's pf.conf lets the bridged ones pass depends on pf, so only the
// routed segment's own address is required to answer), the status
// commands are shown, and nothing is left behind.
func TestDemo(t *testing.T) {
	needRoot(t)
	if _, err := os.Stat("/run/netns/" + demoNS.host); err == nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: namespace %s exists: a demo is still running", demoNS.host)
		}
		t.Skipf("namespace %s exists: a demo started with -keep is still running", demoNS.host)
	}
	bin := filepath.Join(t.TempDir(), "hostnet")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, bin, "demo", "-f", "../../examples/seed")
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("hostnet demo:\n%s", out)
	if err != nil {
		t.Fatalf("hostnet demo: %v", err)
	}
	for _, want := range []string{
		"demo: web01 DHCP from the lan host's dnsmasq: ",
		"demo: web01 -> lan host ping: ",
		"$ ip netns exec hn-demo-web01 ping -n -c 2 -W 1 10.10.0.2",
		"demo: lan host (10.10.0.2) -> web01 nc :22: ",
		"demo: db01 -> vether0 ping 10.50.0.1: ok",
		"demo: wan host -> db01 nc :3306: ",
		"$ hostnet status",
		"$ hostnet netstat -rn",
		"demo: done; everything removed",
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("hostnet demo: no line %q", want)
		}
	}
	for _, ns := range []string{demoNS.host, demoNS.lan, demoNS.wan, demoNS.web01, demoNS.db01} {
		if _, err := os.Stat("/run/netns/" + ns); err == nil {
			t.Errorf("namespace %s left behind", ns)
			exec.Command("ip", "netns", "del", ns).Run()
		}
	}
}
