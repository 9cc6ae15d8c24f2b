package l3

import (
	"slices"
	"testing"

	"github.com/hostnet/hostnet/dataplane/packet"
)

// txRecorder is a Tx: it captures what it sends, records pf out, and
// counts into its own tally.
type txRecorder struct {
	capture
	recorder
	tally *packet.Tally
}

func (x *txRecorder) Tally() *packet.Tally { return x.tally }

// TestInputTx checks that a forwarded packet leaves through the caller's
// Tx (its pf out, its output, its tally) while what the stack sends on its
// own (an echo reply) takes Config's Output, and that the stack's counts
// reach the interface counters only when the tally is flushed.
func TestInputTx(t *testing.T) {
	e := newEnv(t, true)
	e.r.filter = &recorder{v: packet.Pass} // Config's: must not be asked
	e.learnGuest(0)
	e.learnGateway(0)
	tx := &txRecorder{capture: capture{pool: e.pool}, recorder: recorder{v: packet.Pass}, tally: packet.NewTally()}
	em0, vether := e.r.Counters(em0Idx), e.r.Counters(vetherIdx)
	outBefore, inBefore := em0.OutPackets.Load(), vether.InPackets.Load()

	p := e.pool.Get()
	p.SetFrame(echo4(guestIP, remoteIP, vetherMAC, 64, 100))
	packet.Parse(p)
	e.r.Input(tx, p, vetherIdx, sec)
	got := tx.take()
	if len(got) != 1 || got[0].ifindex != em0Idx {
		t.Fatalf("Tx sent %+v, want one frame out of em0 (%d)", got, em0Idx)
	}
	decode(t, got[0].b)
	if !slices.Equal(tx.out, []int{em0Idx}) {
		t.Errorf("Tx pf out called on %v, want [%d]", tx.out, em0Idx)
	}
	if f := e.r.filter.(*recorder); len(f.out) != 0 {
		t.Errorf("Config's Filter called on %v for a packet with a Tx", f.out)
	}
	e.none()
	if em0.OutPackets.Load() != outBefore || vether.InPackets.Load() != inBefore {
		t.Errorf("counters moved before the tally was flushed")
	}
	tx.tally.Flush()
	if n := em0.OutPackets.Load() - outBefore; n != 1 {
		t.Errorf("em0 out grew by %d after Flush, want 1", n)
	}
	if n := vether.InPackets.Load() - inBefore; n != 1 {
		t.Errorf("vether0 in grew by %d after Flush, want 1", n)
	}

	// The stack's own answer goes through Config's Output.
	q := e.pool.Get()
	q.SetFrame(echo4(guestIP, vetherIP, vetherMAC, 64, 10))
	packet.Parse(q)
	e.r.Input(tx, q, vetherIdx, sec)
	if got := tx.take(); len(got) != 0 {
		t.Errorf("Tx sent %d frames for an echo to the host, want 0", len(got))
	}
	e.one(vetherIdx)
}
