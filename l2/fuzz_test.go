package l2

import (
	"bytes"
	"testing"

	"github.com/hostnet/hostnet/dataplane/header"
)

func FuzzBridgeInput(f *testing.F) {
	udp4 := ipv4("10.0.0.1", "10.0.0.2", 8)
	f.Add(eth(macC, macB, header.EtherTypeIPv4, udp4), uint8(mTap3))                                                      // unknown unicast IPv4
	f.Add(eth(macC, macB, header.EtherTypeIPv4, cat(udp4, make([]byte, 20))), uint8(mTap3))                               // padded IPv4
	f.Add(eth(bcast, macB, header.EtherTypeARP, arp(1, macB, "10.0.0.2", "00:00:00:00:00:00", "10.0.0.1")), uint8(mTap3)) // broadcast ARP
	f.Add(snap(macC, macB, header.EtherTypeIPv4, udp4), uint8(mEm1))                                                      // IPv4 in LLC/SNAP
	f.Add(eth(macC, macB, header.EtherTypeIPv6, ipv6("fe80::1", "fe80::2", 4)), uint8(mTap4))                             // IPv6
	f.Add(eth("01:80:c2:00:00:02", macB, 0x8809, nil), uint8(mEm1))                                                       // LACP
	f.Add(eth(macVether, macB, header.EtherTypeIPv4, udp4, 10), uint8(mTap3))                                             // tagged, to the stack
	f.Add([]byte{1, 2, 3}, uint8(mTap3))                                                                                  // runt
	f.Fuzz(func(t *testing.T, frame []byte, in uint8) {
		b := newTestBridge(t, Config{MaxAddr: 4}, func(ms []Member) {
			ms[mTap3].BlockNonIP = true
			ms[mTap4].Rules = []Rule{{Action: RuleBlock, ARP: ARPOnly, Op: OpRequest}, {Action: RulePass, Tag: 3}}
		})
		learned(t, b, map[string]int{macC: mTap4})
		m := int(in) % b.NumMembers()
		p := pkt(t, frame)
		d := b.Input(p, m, 1)
		if !bytes.Equal(p.Bytes(), frame) {
			t.Fatalf("Input changed the frame")
		}
		switch d.Action {
		case ActionLocal, ActionForward:
			if d.Member < 0 || d.Member >= b.NumMembers() || d.Member == m && d.Action == ActionForward {
				t.Fatalf("decision %+v for a frame on %d", d, m)
			}
		case ActionFlood:
			for _, o := range b.FloodTargets(&d, nil) {
				if o == m {
					t.Fatalf("flood back to the receiving member")
				}
				b.OutputAllowed(p, &d, o)
			}
		case ActionDrop:
			if d.Reason == 0 {
				t.Fatalf("drop without a reason: %+v", d)
			}
		}
		d.Apply(p)
		if p.Len() > len(frame) || (d.Len != 0 && p.Len() != d.Len) {
			t.Fatalf("after Apply Len() = %d, frame %d, decision %+v", p.Len(), len(frame), d)
		}
		b.HostOutput(pkt(t, frame), mVether)
	})
}

func FuzzPushPop(f *testing.F) {
	f.Add(eth(macA, macB, header.EtherTypeIPv4, nil), uint16(0x8100), uint16(10))         // untagged
	f.Add(eth(macA, macB, header.EtherTypeIPv4, nil, 20), uint16(0x88a8), uint16(0xe00a)) // QinQ
	f.Add(make([]byte, 12), uint16(0x8100), uint16(0))                                    // addresses only
	f.Fuzz(func(t *testing.T, frame []byte, tpid, tci uint16) {
		if tpid != header.EtherTypeDot1Q {
			tpid = header.EtherTypeDot1AD
		}
		p := pkt(t, frame)
		if !PushTag(p, tpid, tci) {
			if len(frame) >= header.EthernetSize {
				t.Fatalf("PushTag on %d bytes = false", len(frame))
			}
			return
		}
		tag, ok := PopTag(p)
		if !ok || tag.TPID != tpid || tag.TCI != tci || !bytes.Equal(p.Bytes(), frame) {
			t.Fatalf("push then pop: %+v %v, % x, want % x", tag, ok, p.Bytes(), frame)
		}
	})
}
