package main

import (
	"strings"
	"testing"

	"github.com/hostnet/hostnet/dataplane"
	"github.com/hostnet/hostnet/dataplane/config"
)

// genFromFiles builds a generation from configuration files, without
// ports.
func genFromFiles(t *testing.T, files map[string]string) *generation {
	t.Helper()
	dir := writeFiles(t, files)
	spec, _, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	dp, err := dataplane.New(spec, dataplane.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &generation{spec: spec, dp: dp}
}

func TestFormatStatus(t *testing.T) {
	vms := []statusVM{
		{ID: 1, Name: "web01", VCPUs: 1, MaxMem: 1 << 30, Owner: "root", State: "unknown", Interfaces: []statusVMPort{
			{Tap: "tap0", LLAddr: "fe:e1:ba:d0:00:01", Switch: "lan", Bridge: "bridge0", Port: true},
			{Tap: "tap1", LLAddr: "fe:e1:ba:d0:00:02", Locked: true, Port: true},
		}},
		{ID: 2, Name: "db", VCPUs: 1, Owner: "_vm", State: "stopped", Interfaces: []statusVMPort{}},
	}
	want := "" +
		"   ID   PID VCPUS  MAXMEM  CURMEM     TTY        OWNER    STATE NAME  TAP     LLADDR            SWITCH     BRIDGE\n" +
		"    1     -     1    1.0G       -       -         root  unknown web01 tap0    fe:e1:ba:d0:00:01 lan        bridge0\n" +
		"                                                                      tap1    fe:e1:ba:d0:00:02* -          -\n" +
		"    2     -     1       -       -       -          _vm  stopped db    -       -                 -          -\n" +
		"(* locked lladdr: frames from the VM must have this source MAC)\n"
	var b strings.Builder
	formatStatus(&b, vms)
	if got := b.String(); got != want {
		t.Errorf("formatStatus =\n%s\nwant\n%s", got, want)
	}
}

func TestFmtScaled(t *testing.T) {
	tests := []struct {
		name string
		n    int64
		want string
	}{
		{"bytes", 512, "512B"},
		{"1G", 1 << 30, "1.0G"},
		{"1.5G", 3 << 29, "1.5G"},
		{"512M", 512 << 20, "512M"},
		{"16G", 16 << 30, "16G"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fmtScaled(tc.n); got != tc.want {
				t.Errorf("fmtScaled(%d) = %q, want %q", tc.n, got, tc.want)
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	g := genFromFiles(t, map[string]string{"vm.conf": `switch "lan" {
	interface bridge0
	locked lladdr
}
vm "web01" {
	memory 1G
	owner alice
	interface { switch "lan" }
	interface tap7 { lladdr 02:00:00:00:00:07 }
}
vm "off" {
	disable
	memory 512M
}
`})
	vms := statusOf(g)
	if len(vms) != 2 {
		t.Fatalf("statusOf = %+v, want 2 VMs", vms)
	}
	w := vms[0]
	if w.ID != 1 || w.Name != "web01" || w.MaxMem != 1<<30 || w.Owner != "alice" || w.State != "unknown" || len(w.Interfaces) != 2 {
		t.Fatalf("web01 = %+v", w)
	}
	if p := w.Interfaces[0]; p.Tap != "tap0" || p.Switch != "lan" || p.Bridge != "bridge0" || !p.Locked || p.Port || !strings.HasPrefix(p.LLAddr, "fe:e1:ba:d0:") {
		t.Errorf("web01 NIC 0 = %+v, want tap0 on lan in bridge0, locked, no port", p)
	}
	if p := w.Interfaces[1]; p.Tap != "tap7" || p.LLAddr != "02:00:00:00:00:07" || p.Bridge != "" || p.Locked {
		t.Errorf("web01 NIC 1 = %+v, want tap7 02:00:00:00:00:07 in no bridge", p)
	}
	if o := vms[1]; o.State != "stopped" || o.Owner != "root" || len(o.Interfaces) != 0 {
		t.Errorf("off = %+v, want stopped, owner root, no NICs", o)
	}
}

func TestHypervisorState(t *testing.T) {
	carrier := map[string]bool{"tap0": true, "tap1": true, "tap2": false}
	lookup := func(name string) (bool, bool) {
		on, ok := carrier[name]
		return on, ok
	}
	vm := func(taps ...string) statusVM {
		var v statusVM
		for _, tp := range taps {
			v.Interfaces = append(v.Interfaces, statusVMPort{Tap: tp})
		}
		return v
	}
	tests := []struct {
		name string
		vm   statusVM
		want string
	}{
		{"all carrier", vm("tap0", "tap1"), "running"},
		{"no carrier", vm("tap2"), "stopped"},
		{"mixed", vm("tap0", "tap2"), "unknown"},
		{"cannot tell", vm("tap9"), "unknown"},
		{"no NICs", vm(), "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hypervisorState(tc.vm, lookup); got != tc.want {
				t.Errorf("hypervisorState(%v) = %q, want %q", tc.vm.Interfaces, got, tc.want)
			}
		})
	}
}
