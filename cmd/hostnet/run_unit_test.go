package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// checkLeaks fails the test if goroutines it started are still running a
// few seconds after its cleanups. Call it first, so that its cleanup runs
// last.
func checkLeaks(t *testing.T) {
	t.Helper()
	before := len(goroutines())
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		gs := goroutines()
		for len(gs) > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			gs = goroutines()
		}
		if len(gs) > before {
			t.Errorf("%d goroutines left running (%d before):\n%s", len(gs)-before, before, strings.Join(gs, "\n\n"))
		}
	})
}

// goroutines returns the stacks of the running goroutines, less the
// testing framework's and the runtime's that live as long as the process
// (the signal loop that the first signal.Notify starts).
func goroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "os/signal.signal_recv") || strings.Contains(g, "testing.(*T).Run") ||
			strings.Contains(g, "testing.tRunner") || strings.Contains(g, "testing.runTests") {
			continue
		}
		out = append(out, g)
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRunCommandSignals runs `hostnet run` itself on a configuration with
// no taps (no root needed): JSON logs, the pid file, SIGHUP reloads,
// SIGTERM stops it and removes the socket and the pid file.
func TestRunCommandSignals(t *testing.T) {
	checkLeaks(t)
	dir := writeFiles(t, map[string]string{"hostname.vether0": "inet 10.50.0.1/24\nup\n"})
	sdir := shortDir(t)
	sock, pidFile := filepath.Join(sdir, "s"), filepath.Join(sdir, "pid")
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"run", "-f", dir, "-socket", sock, "-pid", pidFile, "-log", "json", "-v"}, &stdout, &stderr)
	}()
	waitFor(t, "the control socket", func() bool { return checkSocket(sock) == nil })
	b, err := os.ReadFile(pidFile)
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("pid file = %q, %v; want %d", b, err, os.Getpid())
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the SIGHUP reload", func() bool { return strings.Contains(stderr.String(), "configuration reloaded") })
	if code, out, _ := runCmd(t, "ifconfig", "vether0", "-socket", sock); code != 0 || !strings.Contains(out, "inet 10.50.0.1 netmask 0xffffff00") {
		t.Errorf("ifconfig vether0: exit %d, %q", code, out)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("hostnet run exited %d, want 0; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("hostnet run did not stop within 10s of SIGTERM")
	}
	if fileExists(sock) || fileExists(pidFile) {
		t.Errorf("after SIGTERM socket left: %v, pid file left: %v", fileExists(sock), fileExists(pidFile))
	}
	sc := bufio.NewScanner(strings.NewReader(stderr.String()))
	lines := 0
	for sc.Scan() {
		lines++
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec["msg"] == nil {
			t.Errorf("-log json wrote a line that is not a JSON record: %q", sc.Text())
		}
	}
	if lines < 3 {
		t.Errorf("-log json wrote %d lines, want the start, the reload and the stop", lines)
	}
}

func TestRunCommandFails(t *testing.T) {
	checkLeaks(t)
	sdir := shortDir(t)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad config", []string{"run", "-f", writeFiles(t, map[string]string{"vm.conf": "vm {\n"}), "-socket", filepath.Join(sdir, "a")}, 1, "vm.conf:"},
		{"no such directory", []string{"run", "-f", filepath.Join(sdir, "none"), "-socket", filepath.Join(sdir, "b")}, 1, "no such file"},
		{"bad log format", []string{"run", "-log", "xml"}, 2, "want text or json"},
		{"argument", []string{"run", "extra"}, 2, "unexpected argument"},
		{"socket directory missing", []string{"run", "-f", sdir, "-socket", filepath.Join(sdir, "x", "s")}, 1, "control socket"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runCmd(t, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Errorf("hostnet %v: exit %d, stderr %q; want %d and %q", tc.args, code, errs, tc.code, tc.want)
			}
		})
	}
	if fileExists(filepath.Join(sdir, "a")) {
		t.Errorf("a daemon that failed to start left its socket")
	}
}

func TestWritePidFile(t *testing.T) {
	dir := shortDir(t)
	p := filepath.Join(dir, "pid")
	// A live process other than us: refused.
	os.WriteFile(p, []byte(strconv.Itoa(os.Getppid())+"\n"), 0o644)
	if err := writePidFile(p); err == nil || !strings.Contains(err.Error(), "is running") {
		t.Errorf("writePidFile over a live pid: %v, want refused", err)
	}
	// A stale one: replaced.
	os.WriteFile(p, []byte("999999999\n"), 0o644)
	if err := writePidFile(p); err != nil {
		t.Fatalf("writePidFile over a stale pid: %v", err)
	}
	if b, _ := os.ReadFile(p); strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("pid file = %q, want %d", b, os.Getpid())
	}
}
