package config

import (
	"net/netip"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	bridge := func(edit func(*Interface)) Interface {
		b := newInterface("bridge0", Bridge)
		b.File, b.Line = "hostname.bridge0", 1
		b.Members = []BridgeMember{{Name: "em1", Learn: true, Discover: true, Line: 1}}
		edit(b)
		return *b
	}
	em1 := Interface{Name: "em1", Kind: Ether, Up: true}
	vlan := func(edit func(*Interface)) Interface {
		v := newInterface("vlan10", VLAN)
		v.File, v.Line, v.Parent, v.VNetID = "hostname.vlan10", 1, "em1", 10
		edit(v)
		return *v
	}
	tests := []struct {
		name string
		spec Spec
		want []string // nil: valid
	}{
		{"valid", Spec{Interfaces: []Interface{bridge(func(*Interface) {}), em1, vlan(func(*Interface) {})}}, nil},
		{"twice", Spec{Interfaces: []Interface{em1, em1}}, []string{`interface em1 is defined twice`}},
		{"kind differs from name", Spec{Interfaces: []Interface{{Name: "tap0", Kind: Ether}}}, []string{`interface tap0 has kind ether; its name says tap`}},
		{"bad name", Spec{Interfaces: []Interface{{Name: "veb0", File: "x"}}}, []string{`x: veb0: veb(4) interfaces are not supported`}},
		{"mtu", Spec{Interfaces: []Interface{{Name: "em0", File: "hostname.em0", Line: 1, MTU: 70000}}}, []string{`hostname.em0:1: em0: mtu 70000; want 68-65535`}},
		{"rdomain", Spec{Interfaces: []Interface{{Name: "em0", RDomain: 300}}}, []string{`em0: rdomain 300; want 0-255`}},
		{"bridge options on a nic", Spec{Interfaces: []Interface{{Name: "em0", Spans: []string{"em2"}}}}, []string{`em0 is not a bridge but has bridge members`}},
		{"vlan ranges", Spec{Interfaces: []Interface{em1, vlan(func(v *Interface) { v.VNetID, v.TxPrio, v.RxPrio = 5000, 9, -3 })}}, []string{
			`vlan10: vnetid 5000; want 1-4094`, `vlan10: txprio 9; want 0-7 or packet`, `vlan10: rxprio -3; want 0-7, packet or outer`}},
		{"bridge ranges", Spec{Interfaces: []Interface{em1, bridge(func(b *Interface) { b.Timeout, b.MaxAddr = -1, MaxMaxAddr+1 })}}, []string{
			`bridge0: timeout -1; want 0 or more seconds`, `bridge0: maxaddr 1048577; want 0-1048576`}},
		{"member missing", Spec{Interfaces: []Interface{bridge(func(*Interface) {})}}, []string{`hostname.bridge0:1: bridge0: member em1 does not exist`}},
		{"member is a bridge", Spec{Interfaces: []Interface{bridge(func(b *Interface) { b.Members[0].Name = "bridge1" }), {Name: "bridge1", Kind: Bridge, MaxAddr: 100}}}, []string{
			`bridge0: member bridge1 is a bridge; a bridge cannot be a member of a bridge`}},
		{"protected id", Spec{Interfaces: []Interface{em1, bridge(func(b *Interface) { b.Members[0].Protected = []int{40} })}}, []string{`bridge0: protected id 40 of em1; want 1-31`}},
		{"span and member of one bridge", Spec{Interfaces: []Interface{em1, bridge(func(b *Interface) { b.Spans = []string{"em1"} })}}, []string{
			`em1 is a span port of bridge0 and a member of bridge0; a span port cannot be a member`}},
		{"span port is a bridge", Spec{Interfaces: []Interface{em1, bridge(func(b *Interface) { b.Spans = []string{"bridge0"} })}}, []string{`bridge0: span port bridge0 is a bridge`}},
		{"static and rule on a non-member", Spec{Interfaces: []Interface{em1, bridge(func(b *Interface) {
			b.Static = []StaticEntry{{If: "em2", MAC: MAC{0, 1, 2, 3, 4, 5}}, {If: "em1", MAC: MAC{1, 1, 2, 3, 4, 5}}}
			b.Rules = []BridgeRule{{If: "em3", File: "hostname.bridge0", Line: 3}}
		})}}, []string{
			`bridge0: static em2 00:01:02:03:04:05: em2 is not a member`,
			`bridge0: static 01:01:02:03:04:05: want a unicast address`,
			`hostname.bridge0:3: bridge0: rule on em3: em3 is not a member`,
		}},
		{"vlan parent missing", Spec{Interfaces: []Interface{vlan(func(*Interface) {})}}, []string{`vlan10: parent em1 does not exist`}},
		{"vlan own parent", Spec{Interfaces: []Interface{vlan(func(v *Interface) { v.Parent = "vlan10" })}}, []string{`vlan10 cannot be its own parent`}},
		{"vlan on vlan", Spec{Interfaces: []Interface{em1, vlan(func(*Interface) {}), vlan(func(v *Interface) { v.Name, v.Parent = "vlan11", "vlan10" })}}, []string{
			`vlan11: parent vlan10 is a vlan; want a host NIC, tap, vether or svlan`}},
		{"vm taps and macs", Spec{VMs: []VM{
			{Name: "a", File: "vm.conf", Line: 1, Interfaces: []VMInterface{{Line: 2, IfName: "em0", MAC: MAC{2}}, {Line: 3, IfName: "tap1", MAC: MAC{1}}}},
			{Name: "b", File: "vm.conf", Line: 5, Interfaces: []VMInterface{{Line: 6, IfName: "tap1", MAC: MAC{2}}}},
		}}, []string{
			`vm.conf:2: vm "a": interface em0 is not a tap`,
			`vm.conf:3: vm "a": lladdr 01:00:00:00:00:00 is not a unicast address`,
			`vm.conf:6: vm "b": tap1 is also the interface of vm "a"`,
			`vm.conf:6: vm "b": lladdr 02:00:00:00:00:00 is also used by vm "a"`,
		}},
		{"too many vm interfaces", Spec{VMs: []VM{{Name: "a", File: "vm.conf", Line: 1, Interfaces: make([]VMInterface, 5)}}}, []string{`vm.conf:1: vm "a" has 5 interfaces; at most 4`}},
		{"gateways", Spec{Gateways: []netip.Addr{addr("10.0.0.1"), addr("10.0.0.2")}}, []string{`mygate: more than one IPv4 or IPv6 gateway`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			if tc.want == nil {
				if err != nil {
					t.Errorf("Validate(%+v) = %v, want nil", tc.spec, err)
				}
				return
			}
			checkErrors(t, "Validate", tc.name, err, tc.want)
		})
	}
}

func TestDisabledSwitch(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"hostname.bridge0": "up\n",
		"vm.conf":          "switch s {\n\tinterface bridge0\n\tdisable\n}\nvm a { interface { switch s } }\n",
	})
	s, warns, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m := s.Interface("bridge0").Members; m != nil {
		t.Errorf("bridge0 members = %v, want none (the switch is disabled)", m)
	}
	if len(warns) != 1 || warns[0].String() != `vm.conf:5: warning: vm "a": switch "s" is disabled; interface tap0 joins no bridge` {
		t.Errorf("warnings = %v, want one about the disabled switch", warns)
	}
}

func TestStaticOnFullTable(t *testing.T) {
	ifp, err := ParseHostnameIf("hostname.bridge0", "bridge0", strings.NewReader(
		"add em1\nadd tap0\nmaxaddr 1\nstatic em1 02:00:00:00:00:01\nstatic tap0 02:00:00:00:00:02\nup\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := &Spec{Interfaces: []Interface{*ifp,
		{Name: "em1", Kind: Ether, Up: true, VNetID: -1},
		{Name: "tap0", Kind: Tap, Up: true, VNetID: -1}}}
	err = s.Validate()
	if err == nil || !strings.Contains(err.Error(), "the address table is full (maxaddr 1") {
		t.Errorf("Validate() = %v, want an error about the full table", err)
	}
}
