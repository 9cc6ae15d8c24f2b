package e2e

import "testing"

// TestBridgedVLAN10: with vlan10 (parent em1, vnetid 10) in bridge0
// instead of em1, an untagged VM reaches a LAN host on VLAN 10 and not one
// on VLAN 20, though both are on its subnet. The LAN hosts are tagged
// hosts on the LAN's end of em1 (TaggedHost: this kernel may have no
// 8021q for Linux VLAN devices).
func TestBridgedVLAN10(t *testing.T) {
	Need(t, "ip", "ping")
	b := startBridged(t, bridgedVLAN10Dir, nil, []string{"10.10.0.11/24"}, []string{"10.10.0.12/24"})
	e := b.e
	lan10 := e.TaggedHost(b.lan, "eth0", 10, "10.10.0.10")
	lan20 := e.TaggedHost(b.lan, "eth0", 20, "10.10.0.20")
	if !e.Ping(b.web01, "10.10.0.10", pingTimeout) {
		t.Errorf("web01 -> VLAN 10 host 10.10.0.10: no echo reply through vlan10")
	}
	if !lan10.Ping("10.10.0.12", pingTimeout) {
		t.Errorf("VLAN 10 host -> web02 10.10.0.12: no echo reply through vlan10")
	}
	if e.Ping(b.web01, "10.10.0.20", noPingTimeout) {
		t.Errorf("web01 -> VLAN 20 host 10.10.0.20: echo reply, want none (only VLAN 10 is bridged)")
	}
	if lan20.Ping("10.10.0.11", noPingTimeout) {
		t.Errorf("VLAN 20 host -> web01 10.10.0.11: echo reply, want none (only VLAN 10 is bridged)")
	}
}

// TestBridgedTrunk: with em1 itself in bridge0, frames of VLANs 10 and 20
// cross tagged and unchanged between LAN hosts on those VLANs and a VM
// that speaks both VLANs on its tap.
func TestBridgedTrunk(t *testing.T) {
	Need(t, "ip", "ping")
	b := startBridged(t, bridgedDir, nil, nil, nil)
	e := b.e
	lan10 := e.TaggedHost(b.lan, "eth0", 10, "10.10.10.2")
	lan20 := e.TaggedHost(b.lan, "eth0", 20, "10.10.20.2")
	vm10 := e.TaggedHost(b.web01, b.tap01, 10, "10.10.10.11")
	vm20 := e.TaggedHost(b.web01, b.tap01, 20, "10.10.20.11")
	for _, c := range []struct {
		name string
		from *TaggedHost
		to   string
	}{
		{"web01 VLAN 10 -> LAN VLAN 10 host", vm10, "10.10.10.2"},
		{"web01 VLAN 20 -> LAN VLAN 20 host", vm20, "10.10.20.2"},
		{"LAN VLAN 10 host -> web01 VLAN 10", lan10, "10.10.10.11"},
		{"LAN VLAN 20 host -> web01 VLAN 20", lan20, "10.10.20.11"},
	} {
		if !c.from.Ping(c.to, pingTimeout) {
			t.Errorf("%s (%s): no echo reply across the trunk", c.name, c.to)
		}
	}
}
