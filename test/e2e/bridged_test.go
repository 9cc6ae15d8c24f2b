//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Configuration directories of the bridged scenarios, from the package
// directory.
const (
	bridgedDir       = "../../examples/e2e/bridged"        // bridge0: em1, web01, web02
	bridgedVLAN10Dir = "../../examples/e2e/bridged-vlan10" // bridge0: vlan10 on em1, web01, web02
	bridgedPFDir     = "../../examples/e2e/bridged-pf"     // bridged/ with a default-deny, stateful pf.conf
)

// pingTimeout bounds one reachability check that should succeed; one that
// should fail is given noPingTimeout.
const (
	pingTimeout   = 10 * time.Second
	noPingTimeout = 3 * time.Second
)

// bridgedEnv is the bridged topology: hostnet in "host" with em1, whose
// veth peer eth0 is in "lan"; the VMs web01 and web02 in namespaces of
// their own on their taps.
type bridgedEnv struct {
	e            *Env
	h            *Hostnet
	host, lan    string
	web01, web02 string
	tap01, tap02 string
}

// startBridged builds the topology and runs hostnet on dir. setupLAN runs
// before hostnet starts; the VMs get vmAddrs (nil: no address).
func startBridged(t *testing.T, dir string, setupLAN func(e *Env, lan string), web01Addrs, web02Addrs []string) *bridgedEnv {
	t.Helper()
	e := NewEnv(t)
	b := &bridgedEnv{e: e, host: e.NS("host"), lan: e.NS("lan"), web01: e.NS("web01"), web02: e.NS("web02")}
	e.Veth(b.host, "em1", b.lan, "eth0")
	if setupLAN != nil {
		setupLAN(e, b.lan)
	}
	b.h = e.StartHostnet(b.host, dir)
	b.tap01 = b.h.AttachVM("web01", b.web01, web01Addrs...)
	b.tap02 = b.h.AttachVM("web02", b.web02, web02Addrs...)
	return b
}

// TestBridged: two VMs and a LAN host on bridge0 (em1 in it) reach each
// other, and the bridge learns the three of them.
func TestBridged(t *testing.T) {
	Need(t, "ip", "ping")
	b := startBridged(t, bridgedDir, func(e *Env, lan string) {
		e.Addr(lan, "eth0", "10.10.0.2/24")
	}, []string{"10.10.0.11/24"}, []string{"10.10.0.12/24"})
	hosts := []struct{ name, ns, addr string }{
		{"lan host", b.lan, "10.10.0.2"},
		{"web01", b.web01, "10.10.0.11"},
		{"web02", b.web02, "10.10.0.12"},
	}
	for _, from := range hosts {
		for _, to := range hosts {
			if from == to {
				continue
			}
			if !b.e.Ping(from.ns, to.addr, pingTimeout) {
				t.Errorf("%s -> %s (%s): no echo reply through bridge0 within %v", from.name, to.name, to.addr, pingTimeout)
			}
		}
	}
	addr := b.h.MustCLI("ifconfig", "bridge0", "addr")
	for _, vm := range []string{"web01", "web02"} {
		mac := b.h.VMPort(vm).LLAddr
		if !strings.Contains(addr, mac) {
			t.Errorf("hostnet ifconfig bridge0 addr: no %s (%s) learned:\n%s", vm, mac, addr)
		}
	}
	t.Logf("hostnet ifconfig bridge0 addr:\n%s", addr)
}

// TestBridgedDHCP: the seed's first troubleshooting case. A VM with no
// address gets a lease from dnsmasq on the LAN side of em1, takes the
// address and reaches the LAN host from it.
func TestBridgedDHCP(t *testing.T) {
	Need(t, "ip", "ping", "ss", "dnsmasq", "busybox")
	tmp := t.TempDir()
	var lanNS string
	b := startBridged(t, bridgedDir, func(e *Env, lan string) {
		lanNS = lan
		e.Addr(lan, "eth0", "10.10.0.2/24")
	}, nil, []string{"10.10.0.12/24"})
	e := b.e
	e.Start(lanNS, "dnsmasq", "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--user=root",
		"--interface=eth0", "--bind-interfaces", "--port=0", "--log-dhcp",
		"--dhcp-range=10.10.0.100,10.10.0.150,255.255.255.0,10m",
		"--dhcp-leasefile="+filepath.Join(tmp, "leases"), "--pid-file="+filepath.Join(tmp, "dnsmasq.pid"))
	e.WaitListenUDP(lanNS, 67)

	script := filepath.Join(tmp, "udhcpc.script")
	if err := os.WriteFile(script, []byte(`#!/bin/sh
case "$1" in
bound|renew) ip addr add "$ip/${mask:-24}" dev "$interface" ;;
esac
`), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := e.Run(b.web01, 30*time.Second, "busybox", "udhcpc", "-i", b.tap01, "-f", "-n", "-q", "-t", "5", "-T", "2", "-s", script)
	if err != nil {
		t.Fatalf("web01: udhcpc on %s: %v\n%s", b.tap01, err, out)
	}
	got := e.Must(b.web01, "ip", "-4", "-o", "addr", "show", "dev", b.tap01)
	m := regexp.MustCompile(`inet (10\.10\.0\.(\d+))/24`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("web01: no address from the lease on %s:\n%s\nudhcpc:\n%s", b.tap01, got, out)
	}
	t.Logf("web01 leased %s through bridge0 (udhcpc: %s)", m[1], strings.TrimSpace(out))
	if !e.Ping(b.web01, "10.10.0.2", pingTimeout) {
		t.Errorf("web01 (%s) -> lan host 10.10.0.2: no echo reply", m[1])
	}
}
