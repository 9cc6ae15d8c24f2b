//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
)

// iperfResult is what the tests read of `iperf3 -J`.
type iperfResult struct {
	End struct {
		SumSent struct {
			Bytes         float64 `json:"bytes"`
			BitsPerSecond float64 `json:"bits_per_second"`
			Retransmits   int     `json:"retransmits"`
		} `json:"sum_sent"`
		SumReceived struct {
			Bytes         float64 `json:"bytes"`
			BitsPerSecond float64 `json:"bits_per_second"`
		} `json:"sum_received"`
	} `json:"end"`
	Error string `json:"error"`
}

// iperf runs an iperf3 server in serverNS and a TCP client in clientNS
// for secs seconds, calling during (if set) once the client has started.
// It returns the client's result; the client must exit 0.
func iperf(t *testing.T, e *Env, serverNS, clientNS, addr string, secs int, during func()) iperfResult {
	t.Helper()
	e.Start(serverNS, "iperf3 server", "iperf3", "-s", "-1", "-p", "5201")
	e.WaitListen(serverNS, 5201)
	done := make(chan struct{})
	var out string
	var err error
	go func() {
		defer close(done)
		out, err = e.Run(clientNS, time.Duration(secs+20)*time.Second, "iperf3", "-c", addr, "-p", "5201", "-t", strconv.Itoa(secs), "-J")
	}()
	if during != nil {
		during()
	}
	<-done
	var r iperfResult
	if jerr := json.Unmarshal([]byte(out), &r); jerr != nil {
		t.Fatalf("iperf3 -c %s: %v (exit: %v)\n%s", addr, jerr, err, out)
	}
	if err != nil || r.Error != "" {
		t.Fatalf("iperf3 -c %s: exit %v, error %q", addr, err, r.Error)
	}
	return r
}

func gbits(bps float64) string { return fmt.Sprintf("%.2f Gbit/s", bps/1e9) }

// TestReloadUnderTraffic: an iperf3 TCP stream between two bridged VMs
// keeps running across a SIGHUP that adds an unrelated bridge rule
// (hostname.bridge0 `rule block in on em1 src MAC` for a MAC no one has):
// iperf3 ends with status 0, no reset, and bytes through the whole run.
func TestReloadUnderTraffic(t *testing.T) {
	Need(t, "ip", "ss", "iperf3")
	dir := CopyDir(t, bridgedDir)
	b := startBridged(t, dir, nil, []string{"10.10.0.11/24"}, []string{"10.10.0.12/24"})
	if !b.e.Ping(b.web01, "10.10.0.12", pingTimeout) {
		t.Fatalf("web01 -> web02: no echo reply before the stream")
	}
	r := iperf(t, b.e, b.web02, b.web01, "10.10.0.12", 6, func() {
		time.Sleep(2 * time.Second)
		conf := "add em1\nup\nrule block in on em1 src 02:00:5e:00:53:99\n"
		if err := os.WriteFile(filepath.Join(dir, "hostname.bridge0"), []byte(conf), 0o644); err != nil {
			t.Error(err)
			return
		}
		if err := b.h.Reload(); err != nil {
			t.Errorf("SIGHUP to hostnet (pid %d): %v", b.h.PID(), err)
		}
	})
	if r.End.SumReceived.Bytes == 0 || r.End.SumReceived.BitsPerSecond == 0 {
		t.Errorf("iperf3 across the reload received nothing: %+v", r.End)
	}
	t.Logf("iperf3 across a SIGHUP: %s received, %.0f MB, %d retransmits", gbits(r.End.SumReceived.BitsPerSecond), r.End.SumReceived.Bytes/1e6, r.End.SumSent.Retransmits)
}

// TestReloadPFUnderTraffic: the same across a SIGHUP that adds an
// unrelated pf rule (block in on em1 to port 9999) to a default-deny
// ruleset whose pass rules match SYNs only: the stream's later segments
// pass only if its states survive the reload, as pf's do across pfctl -f.
func TestReloadPFUnderTraffic(t *testing.T) {
	Need(t, "ip", "ss", "iperf3")
	dir := CopyDir(t, bridgedPFDir)
	b := startBridged(t, dir, func(e *Env, lan string) {
		e.Addr(lan, "eth0", "10.10.0.2/24")
	}, []string{"10.10.0.11/24"}, []string{"10.10.0.12/24"})
	if !b.e.Ping(b.web01, "10.10.0.12", pingTimeout) {
		t.Fatalf("web01 -> web02: no echo reply before the stream")
	}
	// The rule the reload adds is seen to take effect.
	b.e.Start(b.web02, "nc -l 9999", "nc", "-lk", "-n", "9999")
	b.e.WaitListen(b.web02, 9999)
	if !b.e.Connect(b.lan, "", "10.10.0.12", 9999, 5*time.Second) {
		t.Fatalf("lan host -> web02:9999 before the reload: not connected")
	}
	pfconf := filepath.Join(dir, "pf.conf")
	conf, err := os.ReadFile(pfconf)
	if err != nil {
		t.Fatal(err)
	}
	r := iperf(t, b.e, b.web02, b.web01, "10.10.0.12", 6, func() {
		time.Sleep(2 * time.Second)
		conf := append(conf, "block in on em1 proto tcp to port 9999\n"...)
		if err := os.WriteFile(pfconf, conf, 0o644); err != nil {
			t.Error(err)
			return
		}
		if err := b.h.Reload(); err != nil {
			t.Errorf("SIGHUP to hostnet (pid %d): %v", b.h.PID(), err)
		}
	})
	if r.End.SumReceived.Bytes == 0 || r.End.SumReceived.BitsPerSecond == 0 {
		t.Errorf("iperf3 across the reload received nothing: %+v", r.End)
	}
	if b.e.Connect(b.lan, "", "10.10.0.12", 9999, connectTimeout) {
		t.Errorf("lan host -> web02:9999 after the reload: connected, want blocked by the new rule")
	}
	t.Logf("iperf3 across a pf reload: %s received, %.0f MB, %d retransmits", gbits(r.End.SumReceived.BitsPerSecond), r.End.SumReceived.Bytes/1e6, r.End.SumSent.Retransmits)
}

// TestOffloads: a TCP transfer between two VMs on bridge0 crosses hostnet
// as super-frames: the frames captured on web02's tap (hostnet tcpdump) are
// larger than an Ethernet MTU, and the tap's counters average more than
// 1514 bytes a frame. The throughput is logged, never asserted.
func TestOffloads(t *testing.T) {
	Need(t, "ip", "ss", "iperf3")
	b := startBridged(t, bridgedDir, nil, []string{"10.10.0.11/24"}, []string{"10.10.0.12/24"})
	e := b.e
	if !e.Ping(b.web01, "10.10.0.12", pingTimeout) {
		t.Fatalf("web01 -> web02: no echo reply before the transfer")
	}
	pcap := filepath.Join(t.TempDir(), "tap.pcap")
	var capture *Proc
	r := iperf(t, e, b.web02, b.web01, "10.10.0.12", 4, func() {
		time.Sleep(time.Second)
		capture = e.Start("", "hostnet tcpdump", b.h.bin, "tcpdump", "-socket", b.h.Socket, "-i", b.tap02, "-c", "200", "-w", pcap)
	})
	if err := capture.Wait(10 * time.Second); err != nil {
		t.Errorf("hostnet tcpdump -i %s -c 200: %v\n%s", b.tap02, err, capture.Output())
	}
	t.Logf("iperf3 web01 -> web02 through bridge0: %s (%d retransmits)", gbits(r.End.SumReceived.BitsPerSecond), r.End.SumSent.Retransmits)

	n, big, maxLen := 0, 0, 0
	if f, err := os.Open(pcap); err != nil {
		t.Errorf("capture: %v", err)
	} else {
		defer f.Close()
		rd, err := pcapgo.NewReader(f)
		if err != nil {
			t.Fatalf("capture %s: %v", pcap, err)
		}
		for {
			_, ci, err := rd.ReadPacketData()
			if err != nil {
				break
			}
			n++
			if ci.Length > 1514 {
				big++
			}
			maxLen = max(maxLen, ci.Length)
		}
	}
	t.Logf("capture on %s: %d frames, %d larger than 1514 bytes, largest %d bytes", b.tap02, n, big, maxLen)
	if big == 0 {
		t.Errorf("capture on %s: no frame larger than 1514 bytes in %d: super-frames were segmented", b.tap02, n)
	}

	in := b.h.Counters(b.tap01)
	if in.InPackets > 0 {
		t.Logf("%s in: %d frames, %d bytes, %d bytes a frame on average", b.tap01, in.InPackets, in.InBytes, in.InBytes/in.InPackets)
	}
	c := b.h.Counters(b.tap02)
	if c.OutPackets == 0 {
		t.Fatalf("hostnet ifconfig %s: no frames out", b.tap02)
	}
	avg := c.OutBytes / c.OutPackets
	t.Logf("%s out: %d frames, %d bytes, %d bytes a frame on average", b.tap02, c.OutPackets, c.OutBytes, avg)
	if avg <= 1514 {
		t.Errorf("%s out: %d bytes a frame on average, want more than 1514 (super-frames)", b.tap02, avg)
	}
}
