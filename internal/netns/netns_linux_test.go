package netns

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestLabel(t *testing.T) {
	for _, tc := range []struct{ ns, want string }{{"", "(root namespace)"}, {"hnb1-a", "hnb1-a"}} {
		if got := Label(tc.ns); got != tc.want {
			t.Errorf("Label(%q) = %q, want %q", tc.ns, got, tc.want)
		}
	}
}

func TestRun(t *testing.T) {
	out, err := Run(context.Background(), "", 5*time.Second, "sh", "-c", "echo out; echo err >&2")
	if err != nil || out != "out\nerr\n" {
		t.Errorf("Run(echo) = %q, %v, want %q, nil", out, err, "out\nerr\n")
	}
	_, err = Run(context.Background(), "", 100*time.Millisecond, "sleep", "5")
	if err == nil || !strings.Contains(err.Error(), "timed out after 100ms") {
		t.Errorf("Run(sleep 5) within 100ms: error %v, want it to say it timed out", err)
	}
	err = Must(context.Background(), "", "sh", "-c", "echo why; exit 3")
	if err == nil || !strings.Contains(err.Error(), "(root namespace): sh -c echo why; exit 3: exit status 3\nwhy") {
		t.Errorf("Must(exit 3) = %v, want the namespace, the command, the status and the output", err)
	}
}

// TestProc starts a process and stops it by PID, once with SIGTERM and
// once when it ignores SIGTERM.
func TestProc(t *testing.T) {
	tests := []struct {
		name  string
		shell string
	}{
		{"stops on SIGTERM", "echo started; exec sleep 30"},
		{"ignores SIGTERM", "trap '' TERM; echo started; while :; do sleep 0.1; done"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Start("", "sh", "sh", "-c", tc.shell)
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(p.Output(), "started") && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if p.Exited() || p.Err() != nil {
				t.Fatalf("%s exited early: %v", p.Name, p.Err())
			}
			if err := p.Wait(10 * time.Millisecond); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("(pid %d) still running", p.PID())) {
				t.Errorf("Wait(10ms) on a running process = %v, want it to say so", err)
			}
			p.Stop()
			if !p.Exited() {
				t.Fatalf("%s (pid %d) still runs after Stop", p.Name, p.PID())
			}
			if p.Err() == nil {
				t.Errorf("Err after Stop = nil, want how it was ended")
			}
			if err := p.Signal(os.Interrupt); err == nil {
				t.Errorf("Signal after exit = nil, want an error")
			}
		})
	}
}

// TestNamespaces makes two namespaces joined by a veth pair, pings
// across, waits for a listening socket, and deletes them.
func TestNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true: needs root (network namespaces, veth pairs)")
		}
		t.Skip("needs root (network namespaces, veth pairs)")
	}
	for _, tool := range []string{"ip", "ss", "ping", "nc"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("CI=true: needs %s", tool)
			}
			t.Skipf("needs %s", tool)
		}
	}
	ctx := context.Background()
	prefix := fmt.Sprintf("hnn%d-", os.Getpid())
	a, b := prefix+"a", prefix+"b"
	t.Cleanup(func() {
		for _, ns := range Names(prefix) {
			Delete(ns)
		}
	})
	for _, ns := range []string{a, b} {
		if err := Add(ctx, ns); err != nil {
			t.Fatal(err)
		}
		if !Exists(ns) {
			t.Fatalf("Exists(%q) = false after Add", ns)
		}
	}
	if err := Add(ctx, a); err == nil {
		t.Errorf("Add(%q) twice = nil, want an error", a)
	}
	if got := strings.Join(Names(prefix), " "); got != a+" "+b {
		t.Errorf("Names(%q) = %q, want %q", prefix, got, a+" "+b)
	}
	if out, _ := Run(ctx, a, 5*time.Second, "cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6"); out != "1\n" {
		t.Errorf("%s: disable_ipv6 = %q, want 1", a, out)
	}
	if err := Veth(ctx, a, "v0", b, "v0"); err != nil {
		t.Fatal(err)
	}
	if err := Addr(ctx, a, "v0", "198.18.9.1/24"); err != nil {
		t.Fatal(err)
	}
	if err := Addr(ctx, b, "v0", "198.18.9.2/24"); err != nil {
		t.Fatal(err)
	}
	if err := Must(ctx, a, "ping", "-n", "-c", "1", "-W", "2", "198.18.9.2"); err != nil {
		t.Error(err)
	}
	p, err := Start(b, "nc", "nc", "-l", "-n", "9999")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	if err := WaitSocket(ctx, b, "-Hltn", 9999, 5*time.Second); err != nil {
		t.Error(err)
	}
	if err := WaitSocket(ctx, a, "-Hltn", 9999, 100*time.Millisecond); err == nil {
		t.Errorf("WaitSocket in %s, where nothing listens = nil, want an error", a)
	}
	p.Stop()
	for _, ns := range []string{a, b} {
		if err := Delete(ns); err != nil {
			t.Error(err)
		}
		if Exists(ns) {
			t.Errorf("Exists(%q) = true after Delete", ns)
		}
	}
	if err := Delete(a); err == nil {
		t.Errorf("Delete(%q) twice = nil, want an error", a)
	}
}
