package filter

import (
	"testing"

	"github.com/hostnet/hostnet/dataplane/packet"
)

var sinkResult Result

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("skipped under -race: sync.Pool and the race detector allocate")
	}
	// Established TCP, untranslated.
	f := newTestFilter(t, "block all\npass in on em0 proto tcp to port 22\n", Options{})
	c, s := "198.51.100.7", "203.0.113.1"
	test(f, In, ifEm0, tcpPkt(t, c, 4000, s, 22, tcpOpt{flags: "S", seq: 100}), 1)
	test(f, Out, ifEm0, tcpPkt(t, s, 22, c, 4000, tcpOpt{flags: "SA", seq: 500, ack: 101}), 1)
	est := tcpPkt(t, c, 4000, s, 22, tcpOpt{flags: "A", seq: 101, ack: 501})
	test(f, In, ifEm0, est, 1)

	// Established TCP through nat-to: the packet is rewritten, so each run
	// starts from a fresh copy.
	g := newTestFilter(t, "pass out on em0 nat-to 203.0.113.1\n", Options{})
	out := tcpPkt(t, "10.50.0.5", 4000, c, 80, tcpOpt{flags: "S", seq: 100})
	test(g, Out, ifEm0, out, 1)
	natted := src4(out)
	test(g, In, ifEm0, tcpPkt(t, c, 80, natted.Addr().String(), natted.Port(), tcpOpt{flags: "SA", seq: 500, ack: 101}), 1)
	orig := tcpPkt(t, "10.50.0.5", 4000, c, 80, tcpOpt{flags: "A", seq: 101, ack: 501})
	work := packet.New()

	// A miss that the rules block, and one passed without state.
	miss := tcpPkt(t, c, 4001, s, 23, tcpOpt{flags: "S", seq: 1})
	h := newTestFilter(t, "block all\npass in on em0 proto udp no state\n", Options{})
	udp := udpPkt(t, c, 1, s, 2)

	// Established TCP under every scrub option.
	sc := newTestFilter(t, "match in all scrub (no-df random-id min-ttl 15 max-mss 1440 reassemble tcp) set tos 0x10\npass in on em0 proto tcp to port 22\n", Options{})
	test(sc, In, ifEm0, tcpPkt(t, c, 4000, s, 22, tcpOpt{flags: "S", seq: 100}), 1)
	test(sc, Out, ifEm0, tcpPkt(t, s, 22, c, 4000, tcpOpt{flags: "SA", seq: 500, ack: 101}), 1)
	scEst := tcpPkt(t, c, 4000, s, 22, tcpOpt{flags: "A", seq: 101, ack: 501})

	// Established TCP whose timestamps are modulated and checked.
	tsf := newTestFilter(t, "pass in on em0 proto tcp scrub (reassemble tcp)\n", Options{})
	tsSyn := scrubPkt(t, c, 4000, s, 22, hdr{flags: "S", seq: 100, ts: 1, tsval: 1000})
	test(tsf, In, ifEm0, tsSyn, 1)
	tsSA := scrubPkt(t, s, 22, c, 4000, hdr{flags: "SA", seq: 500, ack: 101, ts: 1, tsval: 5000, tsecr: readHdr(t, tsSyn).tsval})
	test(tsf, Out, ifEm0, tsSA, 1)
	tsAck := scrubPkt(t, c, 4000, s, 22, hdr{flags: "A", seq: 101, ack: 501, ts: 1, tsval: 1001, tsecr: readHdr(t, tsSA).tsval})
	tsWork := packet.New()
	tsWork.CopyFrom(tsAck)
	if r := tsf.Test(In, ifEm0, tsWork, 2); r.Verdict != packet.Pass {
		t.Fatalf("timestamped ACK: %+v, want pass", r)
	}

	// A SYN passed without state, its MSS clamped.
	ns := newTestFilter(t, "pass in proto tcp no state scrub (no-df random-id min-ttl 15 max-mss 1440) set tos 0x10\n", Options{})
	syn := tcpPkt(t, c, 4002, s, 22, tcpOpt{flags: "S", seq: 1})

	tests := []struct {
		name string
		fn   func()
	}{
		{"StateHit", func() { sinkResult = f.Test(In, ifEm0, est, 2) }},
		{"StateHitNAT", func() { work.CopyFrom(orig); sinkResult = g.Test(Out, ifEm0, work, 2) }},
		{"RuleMissBlock", func() { sinkResult = f.Test(In, ifEm0, miss, 2) }},
		{"RulePassNoState", func() { sinkResult = h.Test(In, ifEm0, udp, 2) }},
		{"StateHitScrub", func() { sinkResult = sc.Test(In, ifEm0, scEst, 2) }},
		{"StateHitTimestamps", func() { tsWork.CopyFrom(tsAck); sinkResult = tsf.Test(In, ifEm0, tsWork, 2) }},
		{"RulePassNoStateScrub", func() { sinkResult = ns.Test(In, ifEm0, syn, 2) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, tc.fn); n != 0 {
				t.Errorf("AllocsPerRun = %v, want 0", n)
			}
		})
	}
	if sinkResult.Verdict != packet.Pass {
		t.Errorf("last verdict %v", sinkResult.Verdict)
	}
}
