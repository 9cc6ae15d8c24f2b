package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hostnet/hostnet/bench"
)

// benchReport is what `hostnet bench` measured, as -j prints it.
type benchReport struct {
	// Memory is the in-memory part: the frame path over memports.
	Memory []bench.Result `json:"memory,omitempty"`
	// Tap is the part through tap devices, hostnet against the Linux
	// bridge.
	Tap *bench.TapResult `json:"tap,omitempty"`
	// Errors say which part could not run, and why.
	Errors []string `json:"errors,omitempty"`
}

// benchFlags are the parsed flags of `hostnet bench`.
type benchFlags struct {
	duration time.Duration
	mem, tap bool // the parts to run
	json     bool
}

// parseBenchFlags parses the flags of `hostnet bench`; done reports that
// the command must stop with code (after -h or an error, printed).
func parseBenchFlags(args []string, stdout, stderr io.Writer) (f benchFlags, code int, done bool) {
	fs := newFlagSet("bench", "[-duration D] [-mem | -tap] [-j]",
		`Bench measures hostnet's forwarding fast path, in two parts, in one run:

In memory (no root needed): frames run through the whole frame path on
one goroutine over in-memory ports, 64 at a time as a port's reader hands
them over, as go test -bench ./bench does with the same scenarios: a bridge forwarding known unicast of 64 and of 1500
bytes, and the router with NAT over 1000 established UDP flows. It prints
the time per frame, millions of frames a second, the frame bytes as
Gbit/s and allocations per frame.

Through tap devices (needs root, and iperf3, ping, ip and ss: apt-get
install iperf3 iputils-ping iproute2): two network namespaces play two VMs. Each has a NIC on hostnet (hostnet run in a
namespace of its own, with both VMs' taps in one bridge, the taps moved
into the VMs' namespaces) and a NIC on a Linux bridge (veth pairs into a
bridge in another namespace), so that both paths join the same two
kernels on the same machine in the same run. Over each path it measures
TCP throughput (one iperf3 stream), small-packet UDP (iperf3 -u -l 64 -b
0: the datagrams a second the receiver gets from a sender that sends as
fast as it can, and the loss) and round trips (ping every 10 ms: mean,
median and 99th percentile), and prints hostnet and the Linux bridge side
by side with their ratio. Speed is reported, never judged.

Progress goes to stderr. Everything the tap part makes (namespaces,
bridge, veths, taps, processes) is named after this process's PID and
removed at the end, on an error and on Ctrl-C or SIGTERM.`, stderr)
	fs.DurationVar(&f.duration, "duration", 3*time.Second, "length of each measurement (the tap part rounds it up to whole seconds)")
	fs.BoolVar(&f.mem, "mem", false, "run the in-memory part only")
	fs.BoolVar(&f.tap, "tap", false, "run the part through tap devices only")
	fs.BoolVar(&f.json, "j", false, "print JSON")
	if code, done := parseFlags(fs, args, stdout); done {
		return f, code, true
	}
	var err error
	switch {
	case fs.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case f.mem && f.tap:
		err = errors.New("-mem and -tap each run one part only; give neither for both")
	case f.duration <= 0:
		err = fmt.Errorf("-duration %v: want a positive duration", f.duration)
	}
	if err != nil {
		fmt.Fprintf(stderr, "hostnet bench: %v\n", err)
		return f, 2, true
	}
	if !f.mem && !f.tap {
		f.mem, f.tap = true, true
	}
	return f, 0, false
}

func cmdBench(args []string, stdout, stderr io.Writer) int {
	f, code, done := parseBenchFlags(args, stdout, stderr)
	if done {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var rep benchReport
	if f.mem {
		for _, c := range bench.InMemory {
			if ctx.Err() != nil {
				break
			}
			fmt.Fprintf(stderr, "bench: in memory: %s, %v\n", c.Name, f.duration)
			r, err := measure(c, f.duration)
			if err != nil {
				rep.Errors = append(rep.Errors, "in memory: "+err.Error())
				continue
			}
			rep.Memory = append(rep.Memory, r)
		}
	}
	if f.tap && ctx.Err() == nil {
		self, err := os.Executable()
		if err == nil {
			rep.Tap, err = bench.Tap(ctx, bench.TapOptions{Hostnet: self, Duration: f.duration, Progress: stderr})
		}
		if err != nil && ctx.Err() == nil {
			rep.Errors = append(rep.Errors, "through tap devices: "+tapHint(err))
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "hostnet bench: interrupted; everything it made is removed\n")
		return 130
	}
	if f.json {
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		printBench(stdout, &rep)
	}
	if len(rep.Errors) > 0 || rep.Tap != nil && (len(rep.Tap.Hostnet.Errors) > 0 || len(rep.Tap.Linux.Errors) > 0) {
		for _, e := range rep.Errors {
			fmt.Fprintf(stderr, "hostnet bench: %s\n", e)
		}
		return 1
	}
	return 0
}

// measure builds the scenario of c and measures it for d.
func measure(c bench.Case, d time.Duration) (bench.Result, error) {
	s, err := c.New()
	if err != nil {
		return bench.Result{}, err
	}
	defer s.Close()
	return s.Measure(d)
}

// tapHint adds what to do to the errors a person can fix.
func tapHint(err error) string {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "needs root"):
		return msg + ": run it with sudo, or give -mem for the in-memory part alone"
	case strings.HasPrefix(msg, "missing "):
		return msg + ", or give -mem for the in-memory part alone"
	}
	return msg
}

// printBench prints rep as two tables, one per part, with a line for
// each path that could not be measured; the parts that could not run at
// all are the command's errors, on stderr.
func printBench(w io.Writer, rep *benchReport) {
	if len(rep.Memory) > 0 {
		fmt.Fprintf(w, "In memory: the frame path on one goroutine over memports, in batches, %.1fs each\n\n", rep.Memory[0].Seconds)
		rows := [][]string{{"scenario", "ns/frame", "Mpps", "Gbit/s", "allocs/frame"}}
		for _, r := range rep.Memory {
			rows = append(rows, []string{r.Name, fmt.Sprintf("%.1f", r.NsPerFrame), fmt.Sprintf("%.2f", r.Mpps),
				fmt.Sprintf("%.2f", r.Gbps), fmt.Sprintf("%.0f", r.AllocsPerFrame)})
		}
		printTable(w, rows)
	}
	if t := rep.Tap; t != nil {
		if len(rep.Memory) > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "Through tap devices: namespaces %s-a and %s-b, %.0fs each\n\n", t.Prefix, t.Prefix, t.Seconds)
		table := [][]string{{"", "hostnet", "linux bridge", "hostnet/linux"}}
		h, l := &t.Hostnet, &t.Linux
		rows := []struct {
			what   string
			format string
			h, l   float64
			ratio  bool // a loss has no meaningful ratio
		}{
			{"TCP throughput, Gbit/s", "%.2f", h.TCPGbps, l.TCPGbps, true},
			{"UDP 64 B received, pps", "%.0f", h.UDPRecvPPS, l.UDPRecvPPS, true},
			{"UDP 64 B sent, pps", "%.0f", h.UDPSentPPS, l.UDPSentPPS, true},
			{"UDP 64 B loss, %", "%.1f", h.UDPLossPercent, l.UDPLossPercent, false},
			{"ping mean, us", "%.1f", h.PingAvgUs, l.PingAvgUs, true},
			{"ping median, us", "%.1f", h.PingP50Us, l.PingP50Us, true},
			{"ping 99th percentile, us", "%.1f", h.PingP99Us, l.PingP99Us, true},
		}
		for _, r := range rows {
			hs, ls := figure(r.format, r.h, len(h.Errors) > 0), figure(r.format, r.l, len(l.Errors) > 0)
			ratio := "-"
			if r.ratio && hs != "-" && ls != "-" && r.l != 0 {
				ratio = fmt.Sprintf("%.2f", r.h/r.l)
			}
			table = append(table, []string{r.what, hs, ls, ratio})
		}
		printTable(w, table)
		fmt.Fprintf(w, "(pings answered: hostnet %d, linux bridge %d; lost: %d, %d)\n", h.Pings, l.Pings, h.PingLost, l.PingLost)
		for _, p := range []*bench.Path{h, l} {
			for _, e := range p.Errors {
				fmt.Fprintf(w, "%s: not measured: %s\n", p.Name, e)
			}
		}
	}
}

// figure formats v, or "-" for a figure of a path that failed before it
// was measured.
func figure(format string, v float64, failed bool) string {
	if failed && v == 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

// printTable prints rows as columns two spaces apart: the first
// left-aligned, the others (figures) right-aligned.
func printTable(w io.Writer, rows [][]string) {
	var width []int
	for _, row := range rows {
		for i, c := range row {
			if i == len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], len(c))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		for i, c := range row {
			if i == 0 {
				fmt.Fprintf(&b, "%-*s", width[0], c)
			} else {
				fmt.Fprintf(&b, "  %*s", width[i], c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}
