package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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
		{"none there", nil, "ip ping dnsmasq busybox curl nc python3", "iproute2 iputils-ping dnsmasq-base busybox curl netcat-openbsd python3"},
		{"nc and dnsmasq missing", []string{"ip", "ping", "busybox", "curl", "python3"}, "dnsmasq nc", "dnsmasq-base netcat-openbsd"},
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

func TestShellJoin(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"plain", []string{"ping", "-c", "2", "10.0.0.1"}, "ping -c 2 10.0.0.1"},
		{"glob", []string{"pfctl", "-a", "vm/*", "-sr"}, "pfctl -a 'vm/*' -sr"},
		{"dollar", []string{"echo", "$wan"}, "echo '$wan'"},
		{"quote", []string{"echo", "it's"}, `echo 'it'\''s'`},
		{"empty", []string{"echo", ""}, "echo ''"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := shellJoin(tc.args); got != tc.want {
				t.Errorf("shellJoin(%q) = %q, want %q", tc.args, got, tc.want)
			}
		})
	}
}

func TestDropDiff(t *testing.T) {
	tests := []struct {
		name          string
		before, after map[string]uint64
		want          string
	}{
		{"nothing", map[string]uint64{"em1 pf-block": 3}, map[string]uint64{"em1 pf-block": 3}, ""},
		{"new reason", nil, map[string]uint64{"tap0 pf-block": 2}, "tap0 pf-block 2"},
		{"grown, sorted", map[string]uint64{"em1 pf-block": 1}, map[string]uint64{"em1 pf-block": 4, "em0 no-route": 1}, "em0 no-route 1, em1 pf-block 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := dropDiff(tc.before, tc.after); got != tc.want {
				t.Errorf("dropDiff(%v, %v) = %q, want %q", tc.before, tc.after, got, tc.want)
			}
		})
	}
}

func TestStopCommands(t *testing.T) {
	s := stopCommands(namesFor("hn-demo"), "/tmp/x/hostnet.pid")
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
	needDemo(t)
	bin := demoBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	names := testNames()
	cmd := exec.CommandContext(ctx, bin, "demo", "-f", "../../examples/seed", "-ns", testPrefix())
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("hostnet demo:\n%s", out)
	if err != nil {
		t.Fatalf("hostnet demo: %v", err)
	}
	for _, want := range []string{
		"demo: web01 DHCP from the lan host's dnsmasq: ",
		"demo: web01 -> lan host ping: ",
		"$ ip netns exec " + names.web01 + " ping -n -c 2 -W 1 10.10.0.2",
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
	checkNoDemo(t)
}

// TestDemoSeedMeant runs the demo on examples/e2e/demo, the seed's files
// made to do what the seed means under pf's semantics on bridges: every
// step must come out as the seed says, NAT included.
func TestDemoSeedMeant(t *testing.T) {
	needDemo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, demoBinary(t), "demo", "-f", "../../examples/e2e/demo", "-ns", testPrefix())
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("hostnet demo -f examples/e2e/demo:\n%s", out)
	if err != nil {
		t.Fatalf("hostnet demo: %v", err)
	}
	for _, want := range []string{
		"demo: 9 steps as the seed says, 0 not",
		"demo: the WAN host's HTTP server saw these peers (em0 is what NAT shows): 192.0.2.1\n",
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("hostnet demo -f examples/e2e/demo: no line %q", want)
		}
	}
	checkNoDemo(t)
}

// testPrefix is the -ns prefix of the demo tests: the test binary's PID
// keeps them apart from a demo someone runs and from other test runs.
func testPrefix() string { return fmt.Sprintf("hn-demo-t%d", os.Getpid()) }

func testNames() demoNames { return namesFor(testPrefix()) }

// needDemo skips a test that runs the demo, unless CI=true, when it
// cannot run here.
func needDemo(t *testing.T) {
	t.Helper()
	needRoot(t)
}

// checkNoDemo fails t if any namespace of the demo is left, and removes it.
func checkNoDemo(t *testing.T) {
	t.Helper()
	for _, ns := range testNames().all() {
		if _, err := os.Stat("/run/netns/" + ns); err == nil {
			t.Errorf("namespace %s left behind", ns)
			exec.Command("ip", "netns", "del", ns).Run()
		}
	}
}

// demoBinary builds hostnet for a demo test: the demo runs the daemon as
// a subprocess of its own executable, which a test binary is not.
func demoBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hostnet")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startDemo starts `hostnet demo -f DIR ARGS` and returns it with a channel of
// its output lines; the test's cleanup kills it by PID if it still runs.
func startDemo(t *testing.T, dir string, args ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(demoBinary(t), append([]string{"demo", "-f", dir, "-ns", testPrefix()}, args...)...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	go func() {
		cmd.Wait()
		pw.Close()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	return cmd, lines
}

// waitLine reads lines until one contains want, within timeout; it
// returns the lines read.
func waitLine(t *testing.T, lines <-chan string, want string, timeout time.Duration) []string {
	t.Helper()
	var got []string
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("hostnet demo ended without %q:\n%s", want, strings.Join(got, "\n"))
			}
			got = append(got, l)
			if strings.Contains(l, want) {
				return got
			}
		case <-deadline:
			t.Fatalf("hostnet demo: no %q after %v:\n%s", want, timeout, strings.Join(got, "\n"))
		}
	}
}

// TestDemoInterrupt: Ctrl-C (SIGINT) in the middle of the demo removes
// everything it made.
func TestDemoInterrupt(t *testing.T) {
	needDemo(t)
	cmd, lines := startDemo(t, "../../examples/seed")
	waitLine(t, lines, "demo: servers:", 2*time.Minute)
	cmd.Process.Signal(os.Interrupt)
	rest := waitLine(t, lines, "demo: interrupted; everything removed", time.Minute)
	for range lines {
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("hostnet demo after SIGINT: exit %d, want 130\n%s", code, strings.Join(rest, "\n"))
	}
	checkNoDemo(t)
}

// TestDemoKeep: -keep leaves the topology and hostnet running, and the
// commands it prints stop it all.
func TestDemoKeep(t *testing.T) {
	needDemo(t)
	cmd, lines := startDemo(t, "../../examples/e2e/demo", "-keep")
	got := waitLine(t, lines, "Stop it with:", 2*time.Minute)
	for l := range lines {
		got = append(got, l)
	}
	t.Cleanup(func() { checkNoDemo(t) })
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("hostnet demo -keep: exit %d\n%s", code, strings.Join(got, "\n"))
	}
	for _, ns := range []string{testNames().host, testNames().web01} {
		if _, err := os.Stat("/run/netns/" + ns); err != nil {
			t.Errorf("hostnet demo -keep: namespace %s gone: %v", ns, err)
		}
	}
	var stop []string
	for i, l := range got {
		if l == "Stop it with:" {
			stop = got[i+1:]
		}
	}
	if len(stop) == 0 {
		t.Fatalf("hostnet demo -keep: no stop commands:\n%s", strings.Join(got, "\n"))
	}
	script := strings.Join(stop, "\n")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "sh", "-ec", script).CombinedOutput(); err != nil {
		t.Errorf("the stop commands failed: %v\n%s\n%s", err, script, out)
	}
}
