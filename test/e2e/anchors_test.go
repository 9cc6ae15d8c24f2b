//go:build linux

package e2e

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// anchorsDir is the seed's per-VM policy on bridged VMs: web01 (tap3,
// 10.50.0.20) and db01 (tap4, 10.50.0.30) on bridge0 with em1; pf.conf has
// the seed's anchor framework and pf.vm/ the per-VM rules written for
// pf's semantics on bridges (see the comments in those files).
const anchorsDir = "../../examples/e2e/anchors"

// connectTimeout bounds a connection that should be refused by pf.
const connectTimeout = 2 * time.Second

// TestAnchors: web01 answers on 80 and 443 from anywhere and on 22 only
// from the admin subnet 10.10.0.0/24; db01 answers 3306 only to web01;
// nothing else crosses between the VMs. The LAN host beyond em1 has an
// admin address (10.10.0.5) and an outside one (198.51.100.7) on the same
// link.
func TestAnchors(t *testing.T) {
	Need(t, "ip", "ping", "ss", "nc")
	e := NewEnv(t)
	host, lan, web01, db01 := e.NS("host"), e.NS("lan"), e.NS("web01"), e.NS("db01")
	e.Veth(host, "em1", lan, "eth0")
	e.Addr(lan, "eth0", "10.10.0.5/24", "198.51.100.7/24")
	e.Must(lan, "ip", "route", "add", "10.50.0.0/24", "dev", "eth0")
	h := e.StartHostnet(host, anchorsDir)
	for _, vm := range []struct{ name, ns, addr string }{{"web01", web01, "10.50.0.20/24"}, {"db01", db01, "10.50.0.30/24"}} {
		tap := h.AttachVM(vm.name, vm.ns, vm.addr)
		e.Must(vm.ns, "ip", "route", "add", "10.10.0.0/24", "dev", tap)
		e.Must(vm.ns, "ip", "route", "add", "198.51.100.0/24", "dev", tap)
	}
	listen := func(ns string, ports ...int) {
		for _, p := range ports {
			e.Start(ns, fmt.Sprintf("nc -l %d", p), "nc", "-lk", "-n", strconv.Itoa(p))
		}
		for _, p := range ports {
			e.WaitListen(ns, p)
		}
	}
	listen(web01, 80, 443, 22)
	listen(db01, 3306, 22)

	const (
		admin   = "10.10.0.5"
		outside = "198.51.100.7"
		web     = "10.50.0.20"
		db      = "10.50.0.30"
	)
	tests := []struct {
		name     string
		ns, src  string
		dst      string
		port     int
		wantOpen bool
	}{
		{"outside -> web01:80", lan, outside, web, 80, true},
		{"outside -> web01:443", lan, outside, web, 443, true},
		{"admin -> web01:80", lan, admin, web, 80, true},
		{"db01 -> web01:80", db01, "", web, 80, true},
		{"admin -> web01:22", lan, admin, web, 22, true},
		{"outside -> web01:22", lan, outside, web, 22, false},
		{"db01 -> web01:22", db01, "", web, 22, false},
		{"web01 -> db01:3306", web01, "", db, 3306, true},
		{"admin -> db01:3306", lan, admin, db, 3306, false},
		{"outside -> db01:3306", lan, outside, db, 3306, false},
		{"web01 -> db01:22", web01, "", db, 22, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			timeout := connectTimeout
			if tc.wantOpen {
				timeout = 5 * time.Second
			}
			if got := e.Connect(tc.ns, tc.src, tc.dst, tc.port, timeout); got != tc.wantOpen {
				t.Errorf("%s: connected = %v, want %v", tc.name, got, tc.wantOpen)
			}
		})
	}
	if e.Ping(web01, db, noPingTimeout) {
		t.Errorf("web01 -> db01 ping: echo reply, want none (default deny between VMs)")
	}
}
