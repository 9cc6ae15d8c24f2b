package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hostnet/hostnet/dataplane"
	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/memport"
)

// memPorts opens memport ports in place of taps and host NICs and
// remembers every one it opened.
type memPorts struct {
	mu     sync.Mutex
	ports  map[string]*memport.Port
	opened map[string]int
}

func newMemPorts() *memPorts {
	return &memPorts{ports: map[string]*memport.Port{}, opened: map[string]int{}}
}

func (m *memPorts) open(ifc *dataplane.Interface) (*livePort, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := memport.New(ifc.Name, 256)
	m.ports[ifc.Name] = p
	m.opened[ifc.Name]++
	return &livePort{name: ifc.Name, kind: ifc.Kind, port: p, desc: "memport"}, nil
}

func (m *memPorts) port(name string) *memport.Port {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ports[name]
}

func (m *memPorts) opens(name string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.opened[name]
}

// testLogger logs to the test.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

const twoVMs = `switch "lan" {
	interface bridge0
}
vm "web01" {
	memory 1024M
	disk "/var/vm/web01.img"
	interface tap0 { switch "lan" }
}
vm "db01" {
	memory 512M
	disk "/var/vm/db01.img"
	interface tap1 { switch "lan" }
}
`

const threeVMs = twoVMs + `vm "app01" {
	memory 2G
	interface tap2 { switch "lan" }
}
`

const oneVM = `switch "lan" {
	interface bridge0
}
vm "web01" {
	memory 1024M
	interface tap0 { switch "lan" }
}
`

// frame returns an Ethernet frame of a local experimental ethertype
// (bridged as any non-IP frame is) from src to dst.
func frame(dst, src header.MAC) []byte {
	b := make([]byte, 60)
	copy(b[0:6], dst[:])
	copy(b[6:12], src[:])
	b[12], b[13] = 0x88, 0xb5
	return b
}

var (
	macA  = header.MAC{0x02, 0, 0, 0, 0, 0x0a}
	macB  = header.MAC{0x02, 0, 0, 0, 0, 0x0b}
	bcast = header.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

func startMemDaemon(t *testing.T, vmconf string) (*daemon, *memPorts, string) {
	t.Helper()
	checkLeaks(t)
	dir := writeFiles(t, map[string]string{"vm.conf": vmconf})
	d := newDaemon(dir, testLogger(t))
	mp := newMemPorts()
	d.open = mp.open
	if err := d.start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(d.close)
	return d, mp, dir
}

// learned returns the bridge's table as MAC -> member name.
func learned(t *testing.T, d *daemon, bridge string) map[string]string {
	t.Helper()
	br := d.current().dp.Bridge(bridge)
	if br == nil {
		t.Fatalf("no bridge %s", bridge)
	}
	out := map[string]string{}
	for _, e := range br.Table().Entries() {
		out[e.MAC.String()] = br.Member(e.Member).Name
	}
	return out
}

// exchange sends a broadcast from A on tap0 and a unicast reply from B on
// tap1, and waits for both to be forwarded.
func exchange(t *testing.T, mp *memPorts) {
	t.Helper()
	tap0, tap1 := mp.port("tap0"), mp.port("tap1")
	if err := tap0.Inject(frame(bcast, macA)); err != nil {
		t.Fatal(err)
	}
	if !tap1.WaitSent(1, 5*time.Second) {
		t.Fatalf("broadcast from tap0 did not reach tap1")
	}
	if err := tap1.Inject(frame(macA, macB)); err != nil {
		t.Fatal(err)
	}
	if !tap0.WaitSent(1, 5*time.Second) {
		t.Fatalf("unicast from tap1 did not reach tap0")
	}
}

func TestDaemonReloadKeepsPortsAndMACs(t *testing.T) {
	d, mp, dir := startMemDaemon(t, twoVMs)
	exchange(t, mp)
	want := map[string]string{macA.String(): "tap0", macB.String(): "tap1"}
	if got := learned(t, d, "bridge0"); !equalMaps(got, want) {
		t.Fatalf("learned = %v, want %v", got, want)
	}
	gen := d.current().n

	// A VM more: its tap opens, the others stay open, the MACs stay.
	if err := os.WriteFile(filepath.Join(dir, "vm.conf"), []byte(threeVMs), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := d.reload()
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	if !strings.Contains(sum, "ports opened: tap2") || !strings.Contains(sum, "2 learned addresses kept") {
		t.Errorf("reload summary = %q, want tap2 opened and 2 addresses kept", sum)
	}
	if got := d.current().n; got != gen+1 {
		t.Errorf("generation = %d, want %d", got, gen+1)
	}
	for _, name := range []string{"tap0", "tap1", "tap2"} {
		if n := mp.opens(name); n != 1 {
			t.Errorf("%s opened %d times, want 1", name, n)
		}
	}
	if got := learned(t, d, "bridge0"); !equalMaps(got, want) {
		t.Errorf("after reload learned = %v, want %v", got, want)
	}
	// The readers use the new dataplane: a frame to A is forwarded by the
	// new bridge, which knows A from the old one.
	tap0 := mp.port("tap0")
	before := len(tap0.Sent())
	if err := mp.port("tap2").Inject(frame(macA, header.MAC{0x02, 0, 0, 0, 0, 0x0c})); err != nil {
		t.Fatal(err)
	}
	if !tap0.WaitSent(before+1, 5*time.Second) {
		t.Fatalf("frame from tap2 to A did not reach tap0 after reload")
	}
	if n := len(mp.port("tap1").Sent()); n != 1 {
		t.Errorf("tap1 sent %d frames, want 1 (the unicast to A is not flooded)", n)
	}

	// A bad configuration changes nothing.
	if err := os.WriteFile(filepath.Join(dir, "vm.conf"), []byte("switch \"lan\" {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.reload(); err == nil || !strings.Contains(err.Error(), "unchanged") {
		t.Fatalf("reload of a bad vm.conf: err = %v, want an error saying nothing changed", err)
	}
	if got := d.current().n; got != gen+1 {
		t.Errorf("after a failed reload generation = %d, want %d", got, gen+1)
	}
	if _, ok := d.current().dp.Interface("tap2"); !ok {
		t.Errorf("after a failed reload tap2 is gone")
	}

	// A VM less: its tap is closed, the others stay.
	if err := os.WriteFile(filepath.Join(dir, "vm.conf"), []byte(oneVM), 0o644); err != nil {
		t.Fatal(err)
	}
	if sum, err = d.reload(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if !strings.Contains(sum, "closed: tap1,tap2") {
		t.Errorf("reload summary = %q, want tap1,tap2 closed", sum)
	}
	if err := mp.port("tap1").Inject(frame(bcast, macB)); !errors.Is(err, memport.ErrClosed) {
		t.Errorf("tap1 after its VM was removed: Inject = %v, want ErrClosed", err)
	}
	if n := mp.opens("tap0"); n != 1 {
		t.Errorf("tap0 opened %d times, want 1", n)
	}
	want = map[string]string{macA.String(): "tap0"}
	if got := learned(t, d, "bridge0"); !equalMaps(got, want) {
		t.Errorf("after removing tap1 learned = %v, want %v (addresses of removed members are not kept)", got, want)
	}
}

func TestDaemonCloseClosesPorts(t *testing.T) {
	d, mp, _ := startMemDaemon(t, twoVMs)
	d.close()
	for _, name := range []string{"tap0", "tap1"} {
		if err := mp.port(name).Inject(frame(bcast, macA)); !errors.Is(err, memport.ErrClosed) {
			t.Errorf("%s after close: Inject = %v, want ErrClosed", name, err)
		}
	}
	if _, err := d.reload(); err == nil {
		t.Errorf("reload after close succeeded")
	}
}

func TestDaemonStartFails(t *testing.T) {
	dir := writeFiles(t, map[string]string{"vm.conf": "vm \"x\" {\n"})
	d := newDaemon(dir, testLogger(t))
	d.open = newMemPorts().open
	if err := d.start(); err == nil {
		d.close()
		t.Fatalf("start with a bad vm.conf succeeded")
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// startSocketDaemon runs runDaemon on memports with a control socket in a
// short temporary directory, and returns the daemon and the socket path.
func startSocketDaemon(t *testing.T, files map[string]string) (*daemon, *memPorts, string, string) {
	t.Helper()
	checkLeaks(t)
	dir := writeFiles(t, files)
	sdir, err := os.MkdirTemp("", "hn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sdir) })
	sock := filepath.Join(sdir, "s")
	mp := newMemPorts()
	ready := make(chan *daemon, 1)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- runDaemon(ctx, runOptions{dir: dir, socket: sock, pidFile: filepath.Join(sdir, "pid"), log: testLogger(t),
			open: mp.open, ready: func(d *daemon) { ready <- d }})
	}()
	var d *daemon
	select {
	case d = <-ready:
	case err := <-errc:
		cancel()
		t.Fatalf("runDaemon: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("daemon not ready after 10s")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("runDaemon: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("daemon did not stop within 10s")
		}
		if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket %s left behind: %v", sock, err)
		}
	})
	return d, mp, sock, dir
}

func TestCLIAgainstDaemon(t *testing.T) {
	_, mp, sock, dir := startSocketDaemon(t, map[string]string{
		"vm.conf":          twoVMs,
		"hostname.vether0": "inet 10.50.0.1 255.255.255.0\ninet6 2001:db8::1 64\nup\n",
		"hostname.bridge1": "add vether0\nup\n",
		"mygate":           "10.50.0.254\n",
	})
	exchange(t, mp)

	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode: %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	pid, err := os.ReadFile(filepath.Join(filepath.Dir(sock), "pid"))
	if err != nil || strings.TrimSpace(string(pid)) == "" {
		t.Errorf("pid file: %q, %v", pid, err)
	}

	tests := []struct {
		name string
		args []string
		want []string // substrings of stdout
	}{
		{"status", []string{"status"}, []string{"web01", "tap0", "db01", "tap1", "bridge0", "1.0G", "512M"}},
		{"ifconfig", []string{"ifconfig"}, []string{"bridge0: flags=41<UP,RUNNING>", "tap0: flags=8943<UP,BROADCAST,RUNNING,PROMISC,SIMPLEX,MULTICAST> mtu 1500",
			"\ttap0 flags=3<LEARNING,DISCOVER>\n\t\tport ", "inet 10.50.0.1 netmask 0xffffff00 broadcast 10.50.0.255", "Addresses (max cache: 100, timeout: 240):"}},
		{"ifconfig IF", []string{"ifconfig", "vether0"}, []string{"vether0: flags=8943<UP,BROADCAST,RUNNING,PROMISC,SIMPLEX,MULTICAST> mtu 1500", "inet6 2001:db8::1 prefixlen 64", "inet6 fe80::", "%vether0 prefixlen 64 scopeid 0x"}},
		{"ifconfig IF -v", []string{"ifconfig", "-v", "vether0"}, []string{"stack: in 0 packets, out "}},
		{"ifconfig addr", []string{"ifconfig", "bridge0", "addr"}, []string{macA.String() + " tap0 1 flags=0<>\n", macB.String() + " tap1 1 flags=0<>\n"}},
		{"ifconfig addr -v", []string{"ifconfig", "bridge0", "addr", "-v"}, []string{macA.String() + " tap0 1 flags=0<> age "}},
		{"ifconfig -v", []string{"ifconfig", "-v", "tap0"}, []string{"vm: web01 guest lladdr fe:e1:ba:d0", "counters: in 1 packets 60 bytes, out 1 packets 60 bytes"}},
		{"netstat", []string{"netstat", "-rn"}, []string{"10.50.0/24         10.50.0.1          UCn", "default            10.50.0.254        UGS", "2001:db8::/64"}},
		{"arp", []string{"arp", "-an"}, []string{"10.50.0.1 ", "vether0 permanent l"}},
		{"ndp", []string{"ndp", "-an"}, []string{"2001:db8::1 ", "fe80::", "%vether0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCmd(t, append(tc.args, "-socket", sock)...)
			if code != 0 {
				t.Fatalf("hostnet %v: exit %d, stderr %q", tc.args, code, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("hostnet %v printed\n%s\nwant it to contain %q", tc.args, out, w)
				}
			}
			code, js, errs := runCmd(t, append(tc.args, "-socket", sock, "-j")...)
			if code != 0 || !json.Valid([]byte(js)) {
				t.Errorf("hostnet %v -j: exit %d, stderr %q, output not JSON:\n%s", tc.args, code, errs, js)
			}
		})
	}

	t.Run("addr json", func(t *testing.T) {
		_, js, _ := runCmd(t, "ifconfig", "bridge0", "addr", "-j", "-socket", sock)
		var addrs []ifBridgeAddr
		if err := json.Unmarshal([]byte(js), &addrs); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, a := range addrs {
			got[a.MAC] = a.Iface
		}
		want := map[string]string{macA.String(): "tap0", macB.String(): "tap1"}
		if !equalMaps(got, want) {
			t.Errorf("ifconfig bridge0 addr -j = %v, want %v", got, want)
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			args []string
			want string
		}{
			{"no such interface", []string{"ifconfig", "em9"}, "no such interface"},
			{"addr of a tap", []string{"ifconfig", "tap0", "addr"}, "not a bridge"},
			{"pfctl", []string{"pfctl-live"}, "no pf.conf in"},
			{"tcpdump unknown if", []string{"tcpdump", "-i", "em9", "-c", "1"}, "no such interface"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var out, errb bytes.Buffer
				var code int
				if tc.args[0] == "pfctl-live" {
					code = pfctlLive(sock, []string{"-sr"}, &out, &errb)
				} else {
					code = run(append(tc.args, "-socket", sock), &out, &errb)
				}
				if code != 1 || !strings.Contains(errb.String(), tc.want) {
					t.Errorf("%v: exit %d, stderr %q, want 1 and %q", tc.args, code, errb.String(), tc.want)
				}
			})
		}
	})

	t.Run("tcpdump", func(t *testing.T) {
		pcap := filepath.Join(t.TempDir(), "tap1.pcap")
		type result struct {
			code      int
			out, errs string
		}
		done := make(chan result, 2)
		go func() {
			c, o, e := runCmd(t, "tcpdump", "-i", "tap1", "-c", "2", "-socket", sock)
			done <- result{c, o, e}
		}()
		go func() {
			c, o, e := runCmd(t, "tcpdump", "-i", "tap1", "-c", "1", "-w", pcap, "-socket", sock)
			done <- result{c, o, e}
		}()
		// Frames until both captures have what they want.
		var results []result
		deadline := time.After(10 * time.Second)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for len(results) < 2 {
			select {
			case r := <-done:
				results = append(results, r)
			case <-tick.C:
				mp.port("tap1").Inject(frame(macA, macB))
			case <-deadline:
				t.Fatalf("tcpdump did not end within 10s")
			}
		}
		for _, r := range results {
			if r.code != 0 {
				t.Errorf("tcpdump: exit %d, stderr %q", r.code, r.errs)
			}
		}
		var text string
		for _, r := range results {
			text += r.out
		}
		if want := macB.String() + " " + macA.String() + " 88b5 60:"; strings.Count(text, want) != 2 {
			t.Errorf("tcpdump printed %q, want 2 lines with %q", text, want)
		}
		b, err := os.ReadFile(pcap)
		if err != nil {
			t.Fatal(err)
		}
		// A pcap header (24 bytes), a record header (16) and the frame.
		if len(b) != 24+16+60 {
			t.Errorf("tcpdump -w wrote %d bytes, want %d (one 60-byte frame)", len(b), 24+16+60)
		}
	})

	t.Run("tcpdump filter", func(t *testing.T) {
		type result struct {
			code      int
			out, errs string
		}
		done := make(chan result, 1)
		// MACs of their own, so that the bridge's table stays as the
		// other subtests expect it.
		macC, macD := header.MAC{0x02, 0, 0, 0, 0, 0x0c}, header.MAC{0x02, 0, 0, 0, 0, 0x0d}
		go func() {
			c, o, e := runCmd(t, "tcpdump", "-i", "tap1", "-c", "3", "-socket", sock, "ether", "src", macC.String())
			done <- result{c, o, e}
		}()
		var r result
		deadline := time.After(10 * time.Second)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
	wait:
		for {
			select {
			case r = <-done:
				break wait
			case <-tick.C:
				// Two frames from D for each from C: only C's match.
				mp.port("tap1").Inject(frame(macC, macD))
				mp.port("tap1").Inject(frame(macC, macD))
				mp.port("tap1").Inject(frame(macD, macC))
			case <-deadline:
				t.Fatalf("tcpdump with a filter did not end within 10s")
			}
		}
		if r.code != 0 {
			t.Fatalf("tcpdump: exit %d, stderr %q", r.code, r.errs)
		}
		lines := strings.Split(strings.TrimSpace(r.out), "\n")
		if len(lines) != 3 {
			t.Fatalf("tcpdump printed %d lines, want 3: %q", len(lines), r.out)
		}
		for _, l := range lines {
			if want := " " + macC.String() + " " + macD.String() + " 88b5"; !strings.Contains(l, want) {
				t.Errorf("tcpdump ether src %s printed %q, want only frames from it", macC, l)
			}
		}
		// A bad expression is refused before anything is captured.
		c, _, e := runCmd(t, "tcpdump", "-i", "tap1", "-socket", sock, "port", "http")
		if c != 2 || !strings.Contains(e, "expected a port number") {
			t.Errorf("tcpdump port http: exit %d, stderr %q; want 2 and the filter error", c, e)
		}
	})

	t.Run("reload", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, "vm.conf"), []byte(threeVMs), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errs := runCmd(t, "reload", "-socket", sock)
		if code != 0 || !strings.Contains(out, "ports opened: tap2") {
			t.Errorf("reload: exit %d, stdout %q, stderr %q", code, out, errs)
		}
		_, out, _ = runCmd(t, "ifconfig", "bridge0", "addr", "-socket", sock)
		if !strings.Contains(out, macA.String()+" tap0") || !strings.Contains(out, macB.String()+" tap1") {
			t.Errorf("after reload ifconfig bridge0 addr = %q, want both MACs", out)
		}
		if err := os.WriteFile(filepath.Join(dir, "vm.conf"), []byte("vm {\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errs = runCmd(t, "reload", "-socket", sock)
		if code != 1 || !strings.Contains(errs, "vm.conf:") || !strings.Contains(errs, "unchanged") {
			t.Errorf("bad reload: exit %d, stderr %q, want 1, the error and 'unchanged'", code, errs)
		}
		_, out, _ = runCmd(t, "status", "-socket", sock)
		if !strings.Contains(out, "app01") {
			t.Errorf("after a failed reload status = %q, want app01 still there", out)
		}
	})
}

// TestCaptureSurvivesReload: a tcpdump running across a reload goes on
// seeing the interface's frames, and stops cleanly.
func TestCaptureSurvivesReload(t *testing.T) {
	d, mp, dir := startMemDaemon(t, twoVMs)
	s := &capSub{ch: make(chan capFrame, 16)}
	if err := d.subscribe("tap1", s); err != nil {
		t.Fatal(err)
	}
	if err := d.subscribe("tap9", &capSub{}); err == nil {
		t.Errorf("subscribe to a missing interface succeeded")
	}
	recv := func(when string) {
		t.Helper()
		if err := mp.port("tap1").Inject(frame(bcast, macB)); err != nil {
			t.Fatal(err)
		}
		select {
		case f := <-s.ch:
			if header.MAC(f.data[6:12]) != macB {
				t.Errorf("%s: captured a frame from %x, want %s", when, f.data[6:12], macB)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no frame captured on tap1 within 5s", when)
		}
	}
	recv("before reload")
	if err := os.WriteFile(filepath.Join(dir, "vm.conf"), []byte(threeVMs), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.reload(); err != nil {
		t.Fatal(err)
	}
	recv("after reload")
	d.unsubscribe("tap1", s)
	if len(d.caps) != 0 {
		t.Errorf("after the last client left, %d capture hubs remain", len(d.caps))
	}
	if err := mp.port("tap1").Inject(frame(bcast, macB)); err != nil {
		t.Fatal(err)
	}
	mp.port("tap0").WaitSent(3, 5*time.Second)
	if len(s.ch) != 0 {
		t.Errorf("a frame was captured after unsubscribe")
	}
}
