package filter

import (
	"net/netip"
	"testing"

	"github.com/hostnet/hostnet/dataplane/packet"
)

// TestStateLink follows a routed, translated flow: pf in on vether0 finds
// its state and hands it to pf out on em0 in the packet, and pf out links
// the in state to the out state it finds (OpenBSD's sk_reverse). The link
// is only a hint: a killed out state is not used, and a packet whose in
// state links to another flow's out state is looked up in the table.
func TestStateLink(t *testing.T) {
	f := newTestFilter(t, "match out on em0 from 10.50.0.0/24 nat-to 192.0.2.2\npass\n", Options{})
	// send runs one packet of flow sport in on vether0 then out on em0
	// and returns it after pf out, with the in state pf in found.
	send := func(sport uint16) (*packet.Packet, *state) {
		t.Helper()
		p := udpPkt(t, "10.50.0.10", sport, "198.51.100.7", 53)
		if r := f.Test(In, ifVether, p, 1); r.Verdict != packet.Pass {
			t.Fatalf("pf in: %v", r.Verdict)
		}
		in, _ := p.PFState.(*state)
		if in == nil {
			t.Fatalf("pf in left no state in the packet")
		}
		if r := f.Test(Out, ifEm0, p, 1); r.Verdict != packet.Pass {
			t.Fatalf("pf out: %v", r.Verdict)
		}
		if a := src4(p).Addr(); a != netip.MustParseAddr("192.0.2.2") {
			t.Fatalf("pf out: source %v, want 192.0.2.2 (nat-to)", a)
		}
		return p, in
	}
	p, in := send(4000) // creates both states, and the link
	first := src4(p)
	out := in.reverse.Load()
	if out == nil {
		t.Fatal("after a packet out: the in state links to nothing")
	}
	send(4000)
	if p, _ := send(4000); src4(p) != first {
		t.Errorf("through the link: translated to %v, want the state's %v", src4(p), first)
	}
	if n := out.packets[0]; n != 3 {
		t.Errorf("out state counted %d packets, want 3", n)
	}

	// Kill the out state: the link to it must not be followed.
	f.states.remove(out)
	if p, _ := send(4000); src4(p).Addr() != netip.MustParseAddr("192.0.2.2") {
		t.Errorf("after the kill: source %v", src4(p))
	}
	if l := in.reverse.Load(); l == out || l == nil || l.dead() {
		t.Errorf("after the kill: link %p (dead %v), want a new live out state", l, l != nil && l.dead())
	}

	// Another flow's packet carrying this in state: the link's keys do
	// not match it, so the table decides.
	p2, _ := send(5000)
	p = udpPkt(t, "10.50.0.10", 5000, "198.51.100.7", 53)
	if r := f.Test(In, ifVether, p, 1); r.Verdict != packet.Pass {
		t.Fatal(r.Verdict)
	}
	p.PFState = in // the wrong in state
	if r := f.Test(Out, ifEm0, p, 1); r.Verdict != packet.Pass {
		t.Fatal(r.Verdict)
	}
	if want := src4(p2); src4(p) != want {
		t.Errorf("with a wrong link: translated to %v, want flow 5000's %v", src4(p), want)
	}
}
