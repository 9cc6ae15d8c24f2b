package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hostnet/hostnet/bench"
	"github.com/hostnet/hostnet/internal/netns"
)

// needBench skips a test of the tap part without root or its tools,
// unless CI=true, where it must run.
func needBench(t *testing.T) {
	t.Helper()
	needRoot(t)
	if cmds, pkgs := bench.MissingTools(exec.LookPath); len(cmds) > 0 {
		why := fmt.Sprintf("needs %s: apt-get install %s", strings.Join(cmds, " "), strings.Join(pkgs, " "))
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: %s", why)
		}
		t.Skip(why)
	}
}

// checkNoBench fails t if a namespace or a link named with prefix is
// left, or a process of pids still runs.
func checkNoBench(t *testing.T, prefix string, pids []string) {
	t.Helper()
	for _, ns := range netns.Names(prefix + "-") {
		t.Errorf("namespace %s left behind", ns)
		netns.Delete(ns)
	}
	out, err := exec.Command("ip", "-o", "link", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("ip -o link show: %v\n%s", err, out)
	}
	if strings.Contains(string(out), prefix) {
		t.Errorf("links named %s* left behind:\n%s", prefix, out)
	}
	for _, pid := range pids {
		if _, err := os.Stat("/proc/" + pid); err == nil {
			cmdline, _ := os.ReadFile("/proc/" + pid + "/cmdline")
			t.Errorf("process %s (%s) of the run still runs", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		}
	}
}

// TestBenchTap runs `hostnet bench -duration 1s` as a person would, and
// then interrupts one: every figure is there for hostnet and for the
// Linux bridge, and nothing is left behind either time. Speed is
// reported, never judged.
func TestBenchTap(t *testing.T) {
	needBench(t)
	bin := demoBinary(t)

	t.Run("run", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "bench", "-duration", "1s", "-j")
		var out, errs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errs
		err := cmd.Run()
		t.Logf("hostnet bench -duration 1s -j:\n%s\nstderr:\n%s", out.String(), errs.String())
		if err != nil {
			t.Fatalf("hostnet bench: %v", err)
		}
		var rep benchReport
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("hnb%d", cmd.Process.Pid)
		if rep.Tap == nil || rep.Tap.Prefix != want {
			t.Fatalf("hostnet bench -j: tap part %+v, want one with prefix %s", rep.Tap, want)
		}
		checkNoBench(t, want, nil)
		if len(rep.Memory) != len(bench.InMemory) || len(rep.Errors) > 0 {
			t.Errorf("hostnet bench -j: in memory %+v, errors %q, want %d scenarios and no error", rep.Memory, rep.Errors, len(bench.InMemory))
		}
		for _, p := range []bench.Path{rep.Tap.Hostnet, rep.Tap.Linux} {
			figures := map[string]float64{"TCP Gbit/s": p.TCPGbps, "UDP sent pps": p.UDPSentPPS, "UDP received pps": p.UDPRecvPPS,
				"pings": float64(p.Pings), "ping mean": p.PingAvgUs, "ping median": p.PingP50Us, "ping p99": p.PingP99Us}
			for what, v := range figures {
				if v <= 0 {
					t.Errorf("%s: %s = %v, want a figure", p.Name, what, v)
				}
			}
			if len(p.Errors) > 0 {
				t.Errorf("%s: errors %q", p.Name, p.Errors)
			}
		}
		for _, line := range []string{"through hostnet", "through linux bridge", "Linux bridge br0 in namespace " + want + "-lb"} {
			if !strings.Contains(errs.String(), line) {
				t.Errorf("hostnet bench: no progress line with %q on stderr", line)
			}
		}
	})

	t.Run("interrupted", func(t *testing.T) {
		cmd := exec.Command(bin, "bench", "-tap", "-duration", "3s")
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		prefix := fmt.Sprintf("hnb%d", cmd.Process.Pid)
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				cmd.Process.Kill()
				cmd.Wait()
			}
		})
		lines := make(chan string, 64)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		var got []string
		deadline := time.After(time.Minute)
	wait:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("hostnet bench ended before measuring:\n%s", strings.Join(got, "\n"))
				}
				got = append(got, l)
				if strings.Contains(l, "round trips (ping -i 0.01) through hostnet") {
					break wait
				}
			case <-deadline:
				t.Fatalf("hostnet bench: no measurement after a minute:\n%s", strings.Join(got, "\n"))
			}
		}
		// The processes it started: hostnet run and the iperf3 server.
		var pids []string
		for _, ns := range []string{prefix + "-hn", prefix + "-b"} {
			out, _ := exec.Command("ip", "netns", "pids", ns).Output()
			pids = append(pids, strings.Fields(string(out))...)
		}
		if len(pids) < 2 {
			t.Errorf("ip netns pids %s-hn and %s-b: %q, want hostnet run and iperf3", prefix, prefix, pids)
		}
		time.Sleep(500 * time.Millisecond) // inside the measurement
		cmd.Process.Signal(syscall.SIGTERM)
		for l := range lines {
			got = append(got, l)
		}
		cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != 130 {
			t.Errorf("hostnet bench after SIGTERM: exit %d, want 130\n%s", code, strings.Join(got, "\n"))
		}
		if !strings.Contains(strings.Join(got, "\n"), "interrupted; everything it made is removed") {
			t.Errorf("hostnet bench after SIGTERM printed\n%s\nwant it to say it removed everything", strings.Join(got, "\n"))
		}
		checkNoBench(t, prefix, pids)
	})
}
