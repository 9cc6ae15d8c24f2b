package test

import (
	"testing"

	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/test/pkt"
)

func init() {
	scenarios = append(scenarios,
		scenario{
			// A routed packet blocked out on em0 with block return: the
			// answer goes back the way the packet came, out of vether0
			// into bridge1 to the guest, and the drop is counted once.
			name: "pf-block-return-out-routed",
			conf: routed(map[string]string{"pf.conf": "pass\nblock return out on em0 proto tcp to port 25\nblock return out on em0 proto udp to port 53\n"}),
			inputs: []input{
				{ifname: "tap0", frames: []frame{
					{at(1), guestARP},
					{at(2), seg(macGuest, ipGuest, 40025, macVether, ipFar, 25, pkt.SYN, 9000, 0, "")},
					{at(3), pkt.UDP(guestEth, pkt.IPHdr{Src: ipGuest, Dst: ipFar, ID: 10}, 40053, 53, []byte("query"))},
				}},
			},
			check: func(t *testing.T, r result) {
				expectFlows(t, r, "tap0",
					"tcp 198.51.100.7:25 > 10.50.0.10:40025 RA",
					"icmp 10.50.0.1 > 10.50.0.10 DestinationUnreachable(Port)",
				)
				expectFlows(t, r, "em0")
				expectDrops(t, r, "em0", packet.DropFilter, 2)
			},
		},
		scenario{
			// A bridged packet blocked out on its destination member with
			// block return: the answer goes back to the sender's member
			// (em1), as if from the destination, not to the destination.
			name: "pf-block-return-out-bridged",
			conf: map[string]string{
				"hostname.bridge0": "add em1\nadd tap0\nadd tap1\nup\n",
				"pf.conf":          "pass\nblock return out on tap1 proto tcp to port 22\n",
			},
			inputs: []input{
				{ifname: "tap1", frames: []frame{{at(0), udp(macC, bcast, "C announces itself")}}},
				{ifname: "em1", frames: []frame{{at(1), seg(macA, "10.0.0.1", 1000, macC, "10.0.0.3", 22, pkt.SYN, 100, 0, "")}}},
			},
			check: func(t *testing.T, r result) {
				expectFlows(t, r, "em1",
					"udp 10.0.0.3:4000 > 10.0.0.255:5000",
					"tcp 10.0.0.3:22 > 10.0.0.1:1000 RA",
				)
				expectFlows(t, r, "tap1")
				for _, p := range decodeAll(r, "em1") {
					if p.NetworkLayer() == nil {
						continue
					}
					if eth := p.LinkLayer().LinkFlow(); eth.Src().String() != macC && eth.Src().String() != macC {
						t.Errorf("answer from %s, want it from %s (the destination)", eth.Src(), macC)
					}
				}
				expectDrops(t, r, "tap1", packet.DropFilter, 1)
			},
		},
	)
}
