package l2

import (
	"testing"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

var (
	sinkDecision Decision
	sinkInt      int
	sinkBool     bool
	sinkTag      packet.Tag
	sinkLearn    LearnResult
	sinkTargets  []int
)

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not exact under -race")
	}
	b := newTestBridge(t, Config{}, func(ms []Member) {
		ms[mTap4].Rules = []Rule{{Action: RulePass, Dir: DirOut, TagName: "x"}}
	})
	learned(t, b, map[string]int{macA: mEm1, macC: mTap4})
	udp4 := ipv4("10.0.0.1", "10.0.0.2", 8)
	fwd := pkt(t, eth(macC, macB, header.EtherTypeIPv4, cat(udp4, make([]byte, 6))))
	flood := pkt(t, eth(bcast, macB, header.EtherTypeIPv4, udp4))
	host := pkt(t, eth("02:00:00:00:00:77", macVether, header.EtherTypeIPv4, udp4))
	vl := pkt(t, eth(macC, macB, header.EtherTypeIPv4, udp4))
	targets := make([]int, 0, b.NumMembers())
	tb := b.Table()
	v := VLAN{TPID: header.EtherTypeDot1Q, VID: 10, TxPrio: PrioPacket, RxPrio: PrioOuter}
	now := uint32(1)
	mA, mC, mMiss := mac(macA), mac(macC), mac("02:00:00:00:00:55")

	tests := []struct {
		name string
		fn   func()
	}{
		{"Bridge.Input forward", func() { sinkDecision = b.Input(fwd, mTap3, now) }},
		{"Bridge.Input flood", func() { sinkDecision = b.Input(flood, mTap3, now) }},
		{"Bridge.Input new second", func() { now++; sinkDecision = b.Input(fwd, mTap3, now) }},
		{"Bridge.HostOutput", func() { sinkDecision = b.HostOutput(host, mVether) }},
		{"Bridge.FloodTargets", func() { d := b.Input(flood, mTap3, now); sinkTargets = b.FloodTargets(&d, targets) }},
		{"Bridge.OutputAllowed", func() {
			d := b.Input(flood, mTap3, now)
			sinkBool, _ = b.OutputAllowed(flood, &d, mTap4)
		}},
		{"Decision.Apply", func() { d := Decision{Tag: 3}; d.Apply(fwd) }},
		{"Table.Learn", func() { sinkLearn = tb.Learn(mA, mEm1, now) }},
		{"Table.Learn move", func() { sinkLearn = tb.Learn(mA, int(now)&1, now) }},
		{"Table.Lookup", func() { sinkInt, sinkBool = tb.Lookup(mC) }},
		{"Table.Lookup miss", func() { sinkInt, sinkBool = tb.Lookup(mMiss) }},
		{"PushTag+PopTag", func() { PushTag(vl, header.EtherTypeDot1Q, 10); sinkTag, sinkBool = PopTag(vl) }},
		{"VLAN.Encap+Decap", func() { v.Encap(vl); sinkTag, sinkBool = v.Decap(vl) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, tc.fn); n != 0 {
				t.Errorf("%s: %v allocs per run, want 0", tc.name, n)
			}
		})
	}
}
