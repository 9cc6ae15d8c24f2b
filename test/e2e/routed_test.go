//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// routedDir is the seed's routed pattern: db01 on bridge1 behind vether0
// (10.50.0.1/24), em0 192.0.2.1/24 toward the WAN host 192.0.2.2 (also
// mygate), forwarding on, and the seed's pf.conf with nat-to ($wan).
const routedDir = "../../examples/e2e/routed"

// routedEnv is hostnet in "host" with em0 toward "wan" (eth0
// 192.0.2.2/24, with a route back to 10.50.0.0/24 through em0, so that
// only pf keeps it out) and db01 (10.50.0.20/24, default route via
// 10.50.0.1) on its tap.
type routedEnv struct {
	e             *Env
	h             *Hostnet
	host, wan, vm string
}

func startRouted(t *testing.T, dir string) *routedEnv {
	t.Helper()
	e := NewEnv(t)
	r := &routedEnv{e: e, host: e.NS("host"), wan: e.NS("wan"), vm: e.NS("db01")}
	e.Veth(r.host, "em0", r.wan, "eth0")
	e.Addr(r.wan, "eth0", "192.0.2.2/24")
	e.Must(r.wan, "ip", "route", "add", "10.50.0.0/24", "via", "192.0.2.1")
	r.h = e.StartHostnet(r.host, dir)
	tap := r.h.AttachVM("db01", r.vm, "10.50.0.20/24")
	e.Must(r.vm, "ip", "route", "add", "default", "via", "10.50.0.1", "dev", tap)
	return r
}

// httpServer starts python3's HTTP server on port in ns and returns it;
// its log (stderr) names the peer of every request.
func httpServer(t *testing.T, e *Env, ns string, port int) *Proc {
	t.Helper()
	p := e.Start(ns, "python3 http.server", "python3", "-u", "-m", "http.server", "--bind", "0.0.0.0", "--directory", t.TempDir(), strconv.Itoa(port))
	e.WaitListen(ns, port)
	return p
}

// TestRouted: the guest reaches vether0, reaches the WAN host through NAT
// (the server logs em0's address as the peer), and the WAN host cannot
// open a connection to the guest.
func TestRouted(t *testing.T) {
	Need(t, "ip", "ping", "ss", "curl", "nc", "python3")
	r := startRouted(t, routedDir)
	e := r.e
	if !e.Ping(r.vm, "10.50.0.1", pingTimeout) {
		t.Fatalf("db01 -> vether0 10.50.0.1: no echo reply")
	}
	if !e.Ping(r.vm, "192.0.2.2", pingTimeout) {
		t.Errorf("db01 -> WAN host 192.0.2.2: no echo reply through NAT")
	}
	srv := httpServer(t, e, r.wan, 8080)
	out, err := e.Run(r.vm, 15*time.Second, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", "http://192.0.2.2:8080/")
	if err != nil || strings.TrimSpace(out) != "200" {
		t.Errorf("db01: curl http://192.0.2.2:8080/: %v %s", err, out)
	}
	time.Sleep(200 * time.Millisecond) // the log line follows the response
	log := srv.Output()
	if !strings.Contains(log, "192.0.2.1 - -") {
		t.Errorf("WAN server log: no request from em0's address 192.0.2.1 (NAT):\n%s", log)
	}
	if strings.Contains(log, "10.50.0.20") {
		t.Errorf("WAN server log: the guest's own address 10.50.0.20 reached the WAN:\n%s", log)
	}

	e.Start(r.vm, "nc -l", "nc", "-lk", "-n", "9000")
	e.WaitListen(r.vm, 9000)
	if e.Connect(r.wan, "", "10.50.0.20", 9000, 3*time.Second) {
		t.Errorf("WAN host -> db01:9000: connected, want blocked (pf: block all, no pass in on em0)")
	}
}

// TestRoutedNoForwarding: with net.inet.ip.forwarding=0 the guest still
// reaches vether0 but nothing crosses to the WAN.
func TestRoutedNoForwarding(t *testing.T) {
	Need(t, "ip", "ping")
	dir := CopyDir(t, routedDir)
	if err := os.WriteFile(filepath.Join(dir, "sysctl.conf"), []byte("net.inet.ip.forwarding=0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := startRouted(t, dir)
	if !r.e.Ping(r.vm, "10.50.0.1", pingTimeout) {
		t.Errorf("db01 -> vether0 10.50.0.1: no echo reply")
	}
	if r.e.Ping(r.vm, "192.0.2.2", noPingTimeout) {
		t.Errorf("db01 -> WAN host 192.0.2.2 with forwarding=0: echo reply, want none")
	}
	if r.e.Ping(r.wan, "10.50.0.20", noPingTimeout) {
		t.Errorf("WAN host -> db01 with forwarding=0: echo reply, want none")
	}
}
