package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/bench"
)

func TestBenchFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string // a part of what -h prints
		stderr   string // a part of the error
		mem, tap bool
	}{
		{name: "both parts by default", args: nil, mem: true, tap: true},
		{name: "memory only", args: []string{"-mem"}, mem: true},
		{name: "taps only", args: []string{"-tap", "-duration", "2s"}, tap: true},
		{name: "help", args: []string{"-h"}, code: 0, stdout: "needs"},
		{name: "both flags", args: []string{"-mem", "-tap"}, code: 2, stderr: "-mem and -tap each run one part only"},
		{name: "zero duration", args: []string{"-duration", "0s"}, code: 2, stderr: "-duration 0s: want a positive duration"},
		{name: "negative duration", args: []string{"-duration", "-1s"}, code: 2, stderr: "-duration -1s: want a positive duration"},
		{name: "bad duration", args: []string{"-duration", "fast"}, code: 2, stderr: `invalid value "fast" for flag -duration`},
		{name: "argument", args: []string{"now"}, code: 2, stderr: `unexpected argument "now"`},
		{name: "unknown flag", args: []string{"-n", "3"}, code: 2, stderr: "flag provided but not defined: -n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			f, code, done := parseBenchFlags(tc.args, &out, &errb)
			wantDone := tc.code != 0 || tc.stdout != ""
			if done != wantDone || code != tc.code {
				t.Fatalf("parseBenchFlags(%q) = code %d, done %v, want %d, %v; stderr %q", tc.args, code, done, tc.code, wantDone, errb.String())
			}
			if !strings.Contains(out.String(), tc.stdout) {
				t.Errorf("parseBenchFlags(%q) printed %q, want %q in it", tc.args, out.String(), tc.stdout)
			}
			if !strings.Contains(errb.String(), tc.stderr) {
				t.Errorf("parseBenchFlags(%q) stderr = %q, want %q in it", tc.args, errb.String(), tc.stderr)
			}
			if !done && (f.mem != tc.mem || f.tap != tc.tap) {
				t.Errorf("parseBenchFlags(%q) parts = mem %v tap %v, want %v %v", tc.args, f.mem, f.tap, tc.mem, tc.tap)
			}
		})
	}
}

// TestBenchHelp: -h says what is measured and what the tap part needs.
func TestBenchHelp(t *testing.T) {
	code, out, _ := runCmd(t, "bench", "-h")
	if code != 0 {
		t.Fatalf("hostnet bench -h: exit %d", code)
	}
	for _, want := range []string{"Usage: hostnet bench", "root", "iperf3", "Linux bridge", "TCP throughput", "-l 64", "ping", "-duration", "-mem", "-tap", "-j"} {
		if !strings.Contains(out, want) {
			t.Errorf("hostnet bench -h printed\n%s\nwant %q in it", out, want)
		}
	}
	if _, out, _ := runCmd(t, "help"); !strings.Contains(out, "bench") {
		t.Errorf("hostnet help printed\n%s\nwant the bench command", out)
	}
}

// sampleReport is a report of both parts, with figures that print
// exactly.
func sampleReport() *benchReport {
	return &benchReport{
		Memory: []bench.Result{
			{Name: "bridge-forward/64", FrameBytes: 64, Frames: 1000, Seconds: 1, NsPerFrame: 100, Mpps: 10, Gbps: 5.12},
			{Name: "routed-nat/1k", FrameBytes: 64, Frames: 500, Seconds: 1, NsPerFrame: 250, Mpps: 4, Gbps: 2.05, AllocsPerFrame: 0},
		},
		Tap: &bench.TapResult{Prefix: "hnb42", Seconds: 3,
			Hostnet: bench.Path{Name: "hostnet", TCPGbps: 10, UDPSentPPS: 800000, UDPRecvPPS: 200000, UDPLossPercent: 75,
				Pings: 300, PingAvgUs: 80, PingP50Us: 70, PingP99Us: 400},
			Linux: bench.Path{Name: "linux bridge", TCPGbps: 20, UDPSentPPS: 500000, UDPRecvPPS: 400000, UDPLossPercent: 20,
				Pings: 299, PingLost: 1, PingAvgUs: 40, PingP50Us: 35, PingP99Us: 100},
		},
	}
}

func TestPrintBench(t *testing.T) {
	linuxDown := sampleReport()
	linuxDown.Tap.Linux = bench.Path{Name: "linux bridge", Errors: []string{"cannot create a Linux bridge here"}}
	tests := []struct {
		name string
		rep  *benchReport
		want string
	}{
		{"both parts", sampleReport(), `In memory: the frame path on one goroutine over memports, in batches, 1.0s each

scenario           ns/frame   Mpps  Gbit/s  allocs/frame
bridge-forward/64     100.0  10.00    5.12             0
routed-nat/1k         250.0   4.00    2.05             0

Through tap devices: namespaces hnb42-a and hnb42-b, 3s each

                          hostnet  linux bridge  hostnet/linux
TCP throughput, Gbit/s      10.00         20.00           0.50
UDP 64 B received, pps     200000        400000           0.50
UDP 64 B sent, pps         800000        500000           1.60
UDP 64 B loss, %             75.0          20.0              -
ping mean, us                80.0          40.0           2.00
ping median, us              70.0          35.0           2.00
ping 99th percentile, us    400.0         100.0           4.00
(pings answered: hostnet 300, linux bridge 299; lost: 0, 1)
`},
		{"no linux bridge", linuxDown, `In memory: the frame path on one goroutine over memports, in batches, 1.0s each

scenario           ns/frame   Mpps  Gbit/s  allocs/frame
bridge-forward/64     100.0  10.00    5.12             0
routed-nat/1k         250.0   4.00    2.05             0

Through tap devices: namespaces hnb42-a and hnb42-b, 3s each

                          hostnet  linux bridge  hostnet/linux
TCP throughput, Gbit/s      10.00             -              -
UDP 64 B received, pps     200000             -              -
UDP 64 B sent, pps         800000             -              -
UDP 64 B loss, %             75.0             -              -
ping mean, us                80.0             -              -
ping median, us              70.0             -              -
ping 99th percentile, us    400.0             -              -
(pings answered: hostnet 300, linux bridge 0; lost: 0, 0)
linux bridge: not measured: cannot create a Linux bridge here
`},
		{"memory only, tap part refused", &benchReport{Memory: sampleReport().Memory[:1],
			Errors: []string{"through tap devices: needs root"}}, `In memory: the frame path on one goroutine over memports, in batches, 1.0s each

scenario           ns/frame   Mpps  Gbit/s  allocs/frame
bridge-forward/64     100.0  10.00    5.12             0
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			printBench(&b, tc.rep)
			if b.String() != tc.want {
				t.Errorf("printBench printed\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}

// TestBenchJSON: -j's keys, and a round trip of the report.
func TestBenchJSON(t *testing.T) {
	b, err := json.Marshal(sampleReport())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"memory":[{"name":"bridge-forward/64","frame_bytes":64,"frames":1000,"seconds":1,"ns_per_frame":100,"mpps":10,"gbit_per_s":5.12,"allocs_per_frame":0}`,
		`"tap":{"prefix":"hnb42","seconds":3,"hostnet":{"name":"hostnet","tcp_gbit_per_s":10,`,
		`"linux_bridge":{"name":"linux bridge"`, `"udp64_received_pps":400000`, `"udp64_sent_pps":500000`,
		`"udp64_loss_percent":20`, `"pings":299`, `"ping_lost":1`, `"ping_avg_us":40`, `"ping_p50_us":35`, `"ping_p99_us":100`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("the report as JSON is\n%s\nwant %s in it", b, key)
		}
	}
	var back benchReport
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, sampleReport()) {
		t.Errorf("JSON round trip = %+v, want %+v", back, sampleReport())
	}
}

// TestBenchMem runs the in-memory part for a short time: every scenario
// has figures, and no allocation (outside -race).
func TestBenchMem(t *testing.T) {
	code, out, errs := runCmd(t, "bench", "-mem", "-duration", "20ms", "-j")
	if code != 0 {
		t.Fatalf("hostnet bench -mem: exit %d\n%s", code, errs)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("hostnet bench -mem -j: %v\n%s", err, out)
	}
	if len(rep.Memory) != len(bench.InMemory) || rep.Tap != nil || len(rep.Errors) > 0 {
		t.Fatalf("hostnet bench -mem -j = %+v, want the %d in-memory scenarios alone", rep, len(bench.InMemory))
	}
	for i, r := range rep.Memory {
		if r.Name != bench.InMemory[i].Name || r.Frames == 0 || r.NsPerFrame <= 0 || r.Mpps <= 0 || r.Gbps <= 0 {
			t.Errorf("hostnet bench -mem -j scenario %d = %+v, want %s with figures", i, r, bench.InMemory[i].Name)
		}
	}
	for _, c := range bench.InMemory {
		if !strings.Contains(errs, "bench: in memory: "+c.Name) {
			t.Errorf("hostnet bench -mem: stderr %q, want a progress line for %s", errs, c.Name)
		}
	}
}

func TestTapHint(t *testing.T) {
	tests := []struct{ err, want string }{
		{"needs root: network namespaces", "needs root: network namespaces: run it with sudo, or give -mem for the in-memory part alone"},
		{"missing iperf3: apt-get install iperf3", "missing iperf3: apt-get install iperf3, or give -mem for the in-memory part alone"},
		{"iperf3 server: exit 1", "iperf3 server: exit 1"},
	}
	for _, tc := range tests {
		if got := tapHint(errors.New(tc.err)); got != tc.want {
			t.Errorf("tapHint(%q) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
