package test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/test/pkt"
)

// udpTagged is udp() with VLAN tags, outermost first.
func udpTagged(src, dst, payload string, tags ...pkt.Tag) []byte {
	return pkt.UDP(pkt.Eth{Src: src, Dst: dst, Tags: tags}, pkt.IPHdr{Src: ipOf(src), Dst: ipOf(dst)}, 4000, 5000, []byte(payload))
}

func bridgeStats(t *testing.T, r result, name string) (learned, moved, full uint64, n int) {
	t.Helper()
	b := r.stats[name].Bridge
	if b == nil {
		t.Fatalf("%s has no bridge counters", name)
	}
	return b.Learned, b.Moved, b.TableFull, b.Addresses
}

const macD = "02:00:00:00:00:0d"

func init() {
	scenarios = append(scenarios, l2Scenarios...)
}

var l2Scenarios = []scenario{
	{
		// em1 is a trunk: every VID crosses bridge0 with its tag.
		name: "trunk-tags-unchanged",
		conf: bridge2,
		inputs: []input{
			{ifname: "em1", frames: []frame{
				{at(0), udpTagged(macA, macB, "vid 10", pkt.Tag{VID: 10, Priority: 2})},
				{at(1), udpTagged(macC, macB, "vid 20", pkt.Tag{VID: 20})},
			}},
			{ifname: "tap0", frames: []frame{{at(2), udpTagged(macB, macA, "reply vid 10", pkt.Tag{VID: 10})}}},
		},
		check: func(t *testing.T, r result) {
			expect(t, r, "tap0", udpTagged(macA, macB, "vid 10", pkt.Tag{VID: 10, Priority: 2}), udpTagged(macC, macB, "vid 20", pkt.Tag{VID: 20}))
			expect(t, r, "em1", udpTagged(macB, macA, "reply vid 10", pkt.Tag{VID: 10}))
		},
	},
	{
		// Only VLAN 10 reaches the VMs, untagged; replies leave em1
		// tagged 10 with priority 3 (PCP 3); VID 20 is dropped.
		name: "vlan10-in-bridge",
		conf: map[string]string{
			"hostname.bridge0": "add vlan10\nadd tap0\nup\n",
			"hostname.vlan10":  "vlandev em1\nvlan 10\nup\n",
		},
		inputs: []input{
			{ifname: "em1", frames: []frame{
				{at(0), udpTagged(macA, macB, "vid 10", pkt.Tag{VID: 10})},
				{at(1), udpTagged(macC, macB, "vid 20", pkt.Tag{VID: 20})},
				{at(2), udp(macC, macB, "untagged")},
			}},
			{ifname: "tap0", frames: []frame{{at(3), udp(macB, macA, "reply")}}},
		},
		check: func(t *testing.T, r result) {
			expect(t, r, "tap0", udp(macA, macB, "vid 10"))
			expect(t, r, "em1", udpTagged(macB, macA, "reply", pkt.Tag{VID: 10, Priority: 3}))
			expectDrops(t, r, "em1", packet.DropNoVLAN, 1)
			expectDrops(t, r, "em1", packet.DropUnclaimed, 1)
		},
	},
	{
		// em1 and its child vlan10 in one bridge: VID 10 enters through
		// vlan10 untagged, other VIDs through em1 tagged; a flood leaves
		// em1 both untagged and tagged 10 (hostnet check warns).
		name: "parent-and-child-in-bridge",
		conf: map[string]string{
			"hostname.bridge0": "add em1\nadd vlan10\nadd tap0\nup\n",
			"hostname.vlan10":  "parent em1\nvnetid 10\nup\n",
		},
		inputs: []input{
			{ifname: "tap0", frames: []frame{{at(0), udp(macB, bcast, "flood")}}},
			{ifname: "em1", frames: []frame{
				{at(1), udpTagged(macA, macB, "vid 10", pkt.Tag{VID: 10})},
				{at(2), udpTagged(macC, macB, "vid 20", pkt.Tag{VID: 20})},
			}},
		},
		check: func(t *testing.T, r result) {
			expect(t, r, "em1", udp(macB, bcast, "flood"), udpTagged(macB, bcast, "flood", pkt.Tag{VID: 10, Priority: 3}))
			expect(t, r, "tap0", udp(macA, macB, "vid 10"), udpTagged(macC, macB, "vid 20", pkt.Tag{VID: 20}))
		},
	},
	{
		// QinQ: svlan1 takes S-VID 200 on em1, vlan1 C-VID 2001 on it.
		name: "qinq",
		conf: map[string]string{
			"hostname.bridge0": "add vlan1\nadd tap0\nup\n",
			"hostname.svlan1":  "parent em1 vnetid 200 up\n",
			"hostname.vlan1":   "parent svlan1 vnetid 2001 up\n",
		},
		inputs: []input{
			{ifname: "em1", shared: "tcpdump-802.1ad_QinQ.pcap"},
		},
		check: func(t *testing.T, r result) {
			in := readShared(t, "tcpdump-802.1ad_QinQ.pcap")
			got := r.out["tap0"]
			if len(got) == 0 {
				t.Fatal("tap0 got nothing")
			}
			// Both tags removed: the frame is the input less 8 bytes.
			want := append(append([]byte(nil), in[0][:12]...), in[0][20:]...)
			if !bytes.Equal(got[0], want) {
				t.Errorf("tap0 frame 1:\n got %s\nwant %s", pkt.Summary(got[0]), pkt.Summary(want))
			}
		},
	},
	{
		// A reply from the VM gets both tags on the way out.
		name: "qinq-push",
		conf: map[string]string{
			"hostname.bridge0": "add vlan1\nadd tap0\nup\n",
			"hostname.svlan1":  "parent em1 vnetid 200 up\n",
			"hostname.vlan1":   "parent svlan1 vnetid 2001 txprio 5 up\n",
		},
		inputs: []input{
			{ifname: "tap0", frames: []frame{{at(0), udp(macB, macA, "out")}}},
		},
		check: func(t *testing.T, r result) {
			expect(t, r, "em1", udpTagged(macB, macA, "out", pkt.Tag{TPID: 0x88a8, VID: 200, Priority: 3}, pkt.Tag{VID: 2001, Priority: 5}))
		},
	},
	{
		// A priority tag (0x8100, VID 0) is removed and the frame is
		// untagged; one hiding another tag is dropped; 0x88a8 with VID 0
		// is not a priority tag and crosses unchanged.
		name: "priority-tags",
		conf: bridge2,
		inputs: []input{
			{ifname: "em1", frames: []frame{
				{at(0), udpTagged(macA, macB, "prio tag", pkt.Tag{VID: 0, Priority: 6})},
				{at(1), udpTagged(macA, macB, "prio tag over vid 10", pkt.Tag{VID: 0}, pkt.Tag{VID: 10})},
				{at(2), udpTagged(macA, macB, "s-tag vid 0", pkt.Tag{TPID: 0x88a8, VID: 0})},
			}},
		},
		check: func(t *testing.T, r result) {
			expect(t, r, "tap0", udp(macA, macB, "prio tag"), udpTagged(macA, macB, "s-tag vid 0", pkt.Tag{TPID: 0x88a8, VID: 0}))
			expectDrops(t, r, "em1", packet.DropNoVLAN, 1)
		},
	},
	{
		// maxaddr 2: the third source is not learned, so frames to it
		// flood; the refusal is counted.
		name: "maxaddr",
		conf: map[string]string{"hostname.bridge0": "add em1\nadd tap0\nadd tap1\nmaxaddr 2\nup\n"},
		inputs: []input{
			{ifname: "em1", frames: []frame{{at(0), udp(macA, bcast, "A")}}},
			{ifname: "tap0", frames: []frame{{at(1), udp(macB, bcast, "B")}, {at(3), udp(macB, macC, "to C")}, {at(4), udp(macB, macA, "to A")}}},
			{ifname: "tap1", frames: []frame{{at(2), udp(macC, bcast, "C")}}},
		},
		check: func(t *testing.T, r result) {
			// "to C" floods to em1 and tap1: C was never learned.
			expect(t, r, "em1", udp(macB, bcast, "B"), udp(macC, bcast, "C"), udp(macB, macC, "to C"), udp(macB, macA, "to A"))
			expect(t, r, "tap1", udp(macA, bcast, "A"), udp(macB, bcast, "B"), udp(macB, macC, "to C"))
			learned, _, full, n := bridgeStats(t, r, "bridge0")
			if learned != 2 || full != 1 || n != 2 {
				t.Errorf("bridge0 learned %d, refused %d, holds %d; want 2, 1, 2", learned, full, n)
			}
		},
	},
	{
		// A static entry never moves, whatever sources say.
		name: "static-never-moves",
		conf: map[string]string{"hostname.bridge0": "add em1\nadd tap0\nadd tap1\nstatic tap0 " + macB + "\nup\n"},
		inputs: []input{
			{ifname: "em1", frames: []frame{{at(0), udp(macB, macA, "B spoofed on em1")}}},
			{ifname: "tap1", frames: []frame{{at(1), udp(macC, macB, "to B")}}},
		},
		check: func(t *testing.T, r result) {
			expect(t, r, "tap0", udp(macB, macA, "B spoofed on em1"), udp(macC, macB, "to B"))
			expect(t, r, "em1")
			_, moved, _, _ := bridgeStats(t, r, "bridge0")
			if moved != 0 {
				t.Errorf("bridge0 moved %d entries, want 0", moved)
			}
		},
	},
	{
		// tap0 and tap1 share protected domain 1: they never exchange
		// frames, but both reach em1 and em1 reaches both.
		name: "protected",
		conf: map[string]string{"hostname.bridge0": "add em1\nadd tap0\nadd tap1\nprotected tap0 1\nprotected tap1 1,2\nup\n"},
		inputs: []input{
			{ifname: "tap0", frames: []frame{{at(0), udp(macB, bcast, "B bcast")}, {at(2), udp(macB, macC, "B to C")}}},
			{ifname: "tap1", frames: []frame{{at(1), udp(macC, macA, "C to A")}}},
			{ifname: "em1", frames: []frame{{at(3), udp(macA, macC, "A to C")}, {at(4), udp(macA, macB, "A to B")}}},
		},
		check: func(t *testing.T, r result) {
			expect(t, r, "em1", udp(macB, bcast, "B bcast"), udp(macC, macA, "C to A"))
			expect(t, r, "tap1", udp(macA, macC, "A to C"))
			expect(t, r, "tap0", udp(macA, macB, "A to B"))
			expectDrops(t, r, "tap1", packet.DropProtected, 2)
		},
	},
	{
		// em2 is a span port: one copy of every frame the bridge
		// receives, dropped ones included, before any filtering.
		name: "span",
		conf: map[string]string{"hostname.bridge0": "add em1\nadd tap0\naddspan em2\nup\n"},
		inputs: []input{
			{ifname: "em1", frames: []frame{{at(0), udp(macA, macB, "A to B")}, {at(2), udpTagged(macA, "01:80:c2:00:00:0e", "lldp-ish", pkt.Tag{VID: 5})}}},
			{ifname: "tap0", frames: []frame{{at(1), udp(macB, macA, "B to A")}}},
		},
		check: func(t *testing.T, r result) {
			expect(t, r, "em2", udp(macA, macB, "A to B"), udp(macB, macA, "B to A"), udpTagged(macA, "01:80:c2:00:00:0e", "lldp-ish", pkt.Tag{VID: 5}))
		},
	},
	{
		// blocknonip on tap0: IPX and VLAN-tagged frames (even carrying
		// IP) are dropped there; IPv4, IPv6 and ARP cross.
		name: "blocknonip",
		conf: map[string]string{"hostname.bridge0": "add em1\nadd tap0\nblocknonip tap0\nup\n"},
		inputs: []input{
			{ifname: "tap0", frames: []frame{
				{at(0), pkt.Raw(pkt.Eth{Src: macB, Dst: macA}, 0x8137, bytes.Repeat([]byte{0xff}, 30))},
				{at(1), udpTagged(macB, macA, "tagged ip", pkt.Tag{VID: 10})},
				{at(2), udp(macB, macA, "ipv4")},
				{at(3), pkt.UDP(pkt.Eth{Src: macB, Dst: macA}, pkt.IPHdr{Src: "2001:db8::2", Dst: "2001:db8::1"}, 1, 2, []byte("ipv6"))},
				{at(4), pkt.ARP(pkt.Eth{Src: macB, Dst: bcast}, 1, macB, "10.0.0.2", "00:00:00:00:00:00", "10.0.0.1")},
			}},
			{ifname: "em1", frames: []frame{{at(5), pkt.Raw(pkt.Eth{Src: macA, Dst: bcast}, 0x8137, bytes.Repeat([]byte{0xee}, 30))}}},
		},
		check: func(t *testing.T, r result) {
			got := r.out["em1"]
			if len(got) != 3 {
				t.Fatalf("em1 got %d frames, want IPv4, IPv6 and ARP:\n%s", len(got), listing(got))
			}
			for i, et := range []uint16{0x0800, 0x86dd, 0x0806} {
				if g := binary.BigEndian.Uint16(got[i][12:]); g != et {
					t.Errorf("em1 frame %d has ethertype %#04x, want %#04x", i+1, g, et)
				}
			}
			// The IPX broadcast from em1 is not flooded to tap0 either.
			expect(t, r, "tap0")
			expectDrops(t, r, "tap0", packet.DropBlockNonIP, 3)
		},
	},
}

func init() {
	scenarios = append(scenarios,
		scenario{
			// A 7306-byte frame (a GSO super-frame captured on its sender)
			// does not fit tap0's 1500 MTU: dropped and counted, and
			// since it has DF its sender gets a fragmentation needed
			// (bridge_send_icmp_err). tap1 has a 9000 MTU and takes it.
			name: "mtu",
			conf: map[string]string{
				"hostname.bridge0": "add em1\nadd tap0\nadd tap1\nup\n",
				"hostname.tap1":    "mtu 9000 up\n",
			},
			inputs: []input{{ifname: "em1", shared: "tcpdump-gso-ipv4.pcap"}},
			check: func(t *testing.T, r result) {
				in := readShared(t, "tcpdump-gso-ipv4.pcap")
				expect(t, r, "tap0")
				expect(t, r, "tap1", in[0])
				expectDrops(t, r, "tap0", packet.DropMTU, 1)
				if n := len(icmp4(r, "em1", 3 /* destination unreachable */)); n != 1 {
					t.Errorf("em1 got %d unreachables, want 1 fragmentation needed", n)
				}
			},
		})
}
