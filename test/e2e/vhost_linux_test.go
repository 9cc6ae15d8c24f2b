package e2e

import "testing"

// TestTaggedHost checks the harness's tagged hosts against each other on
// a veth pair: same VLAN answers, another VLAN does not.
func TestTaggedHost(t *testing.T) {
	e := NewEnv(t)
	a, b := e.NS("a"), e.NS("b")
	e.Veth(a, "eth0", b, "eth0")
	a10 := e.TaggedHost(a, "eth0", 10, "10.1.0.1")
	e.TaggedHost(b, "eth0", 10, "10.1.0.2")
	a20 := e.TaggedHost(a, "eth0", 20, "10.1.0.3")
	if !a10.Ping("10.1.0.2", pingTimeout) {
		t.Errorf("VLAN 10 host -> VLAN 10 host: no echo reply")
	}
	if a20.Ping("10.1.0.2", noPingTimeout) {
		t.Errorf("VLAN 20 host -> VLAN 10 host: echo reply, want none")
	}
}
