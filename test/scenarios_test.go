package test

import (
	"bytes"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/test/pkt"
)

// Hosts of the scenarios: A sits beyond em1, B and C are VMs.
const (
	macA  = "02:00:00:00:00:0a"
	macB  = "02:00:00:00:00:0b"
	macC  = "02:00:00:00:00:0c"
	bcast = "ff:ff:ff:ff:ff:ff"
)

// ipOf is the IPv4 address of a scenario host; 10.0.0.254 for any other
// MAC (multicast groups).
func ipOf(mac string) string {
	ip, ok := map[string]string{macA: "10.0.0.1", macB: "10.0.0.2", macC: "10.0.0.3", macD: "10.0.0.4", bcast: "10.0.0.255"}[mac]
	if !ok {
		return "10.0.0.254"
	}
	return ip
}

func udp(src, dst string, payload string) []byte {
	return pkt.UDP(pkt.Eth{Src: src, Dst: dst}, pkt.IPHdr{Src: ipOf(src), Dst: ipOf(dst)}, 4000, 5000, []byte(payload))
}

func at(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// expect checks that ifname sent exactly want, in order.
func expect(t *testing.T, r result, ifname string, want ...[]byte) {
	t.Helper()
	got := r.out[ifname]
	if len(got) != len(want) {
		t.Errorf("%s sent %d frames, want %d:\n%s", ifname, len(got), len(want), listing(got))
		return
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("%s frame %d:\n got %s\nwant %s", ifname, i+1, pkt.Summary(got[i]), pkt.Summary(want[i]))
		}
	}
}

func drops(r result, ifname string, reason packet.DropReason) uint64 {
	for _, d := range r.stats[ifname].Drops {
		if d.Reason == reason {
			return d.N
		}
	}
	return 0
}

func expectDrops(t *testing.T, r result, ifname string, reason packet.DropReason, n uint64) {
	t.Helper()
	if got := drops(r, ifname, reason); got != n {
		t.Errorf("%s dropped %d frames as %s, want %d (stats %+v)", ifname, got, reason, n, r.stats[ifname])
	}
}

// readShared returns the frames of a capture in ../shared/pcaps.
func readShared(t *testing.T, name string) [][]byte {
	t.Helper()
	return readPcap(t, shared+"/pcaps/"+name)
}

// dstOf returns a frame's destination MAC as a string.
func dstOf(b []byte) string {
	p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
	if e, ok := p.LinkLayer().(*layers.Ethernet); ok {
		return e.DstMAC.String()
	}
	return ""
}

var bridge2 = map[string]string{"hostname.bridge0": "add em1\nadd tap0\nup\n"}
var bridge3 = map[string]string{"hostname.bridge0": "add em1\nadd tap0\nadd tap1\nup\n"}

var (
	a2b1 = udp(macA, macB, "A to B, B unknown")
	b2a  = udp(macB, macA, "B to A, A learned on em1")
	a2b2 = udp(macA, macB, "A to B, B learned on tap0")
	c2b  = udp(macC, macB, "C to B")
	bcB  = udp(macB, bcast, "B broadcast")
)

var scenarios = []scenario{
	{
		name: "flood-then-learn-2",
		conf: bridge2,
		inputs: []input{
			{ifname: "em1", frames: []frame{{at(0), a2b1}, {at(2), a2b2}}},
			{ifname: "tap0", frames: []frame{{at(1), b2a}}},
		},
		check: func(t *testing.T, r result) {
			expect(t, r, "tap0", a2b1, a2b2)
			expect(t, r, "em1", b2a)
		},
	},
	{
		name: "flood-then-learn-3",
		conf: bridge3,
		inputs: []input{
			{ifname: "em1", frames: []frame{{at(0), a2b1}, {at(2), a2b2}}},
			{ifname: "tap0", frames: []frame{{at(1), b2a}, {at(3), bcB}}},
			{ifname: "tap1", frames: []frame{{at(4), c2b}}},
		},
		check: func(t *testing.T, r result) {
			// Unknown unicast floods to both other members; once B is
			// learned on tap0, only tap0 gets frames for B.
			expect(t, r, "tap0", a2b1, a2b2, c2b)
			expect(t, r, "tap1", a2b1, bcB)
			expect(t, r, "em1", b2a, bcB)
		},
	},
	{
		name: "arp-broadcast",
		conf: bridge3,
		inputs: []input{
			{ifname: "em1", shared: "chrissanders-arp_resolution.pcapng"},
		},
		check: func(t *testing.T, r result) {
			in := readShared(t, "chrissanders-arp_resolution.pcapng")
			// The request is broadcast: flooded unchanged (a 42-byte runt
			// stays 42 bytes). The reply is to a MAC learned on em1 from
			// the request, so it stays on em1's segment.
			expect(t, r, "tap0", in[0])
			expect(t, r, "tap1", in[0])
			expectDrops(t, r, "em1", packet.DropSameLink, 1)
		},
	},
	{
		name:   "vlan-trunk-transparent",
		conf:   bridge2,
		inputs: []input{{ifname: "em1", shared: "gopacket-test_vlan.pcap"}},
		check: func(t *testing.T, r result) {
			in := readShared(t, "gopacket-test_vlan.pcap")
			// Every frame carries VID 32 and both hosts are beyond em1:
			// the first frames flood with their tags unchanged; once both
			// MACs are learned on em1, the rest stay there.
			got := r.out["tap0"]
			if len(got) == 0 {
				t.Fatalf("tap0 got nothing")
			}
			for i, g := range got {
				if !bytes.Equal(g, in[i]) {
					t.Errorf("tap0 frame %d changed:\n got %s\nwant %s", i+1, pkt.Summary(g), pkt.Summary(in[i]))
				}
			}
			expectDrops(t, r, "em1", packet.DropSameLink, uint64(len(in)-len(got)))
		},
	},
	{
		name: "link-local-control",
		conf: bridge2,
		inputs: []input{
			{ifname: "em1", shared: "tcpdump-LLDP_and_CDP.pcap"},
			{ifname: "tap0", shared: "tcpdump-LACP.pcap"},
			{ifname: "em1", shared: "tcpdump-802.1D_spanning_tree.pcap"},
		},
		check: func(t *testing.T, r result) {
			var cdp, stp [][]byte
			for _, f := range readShared(t, "tcpdump-LLDP_and_CDP.pcap") {
				if dstOf(f) == "01:00:0c:cc:cc:cc" {
					cdp = append(cdp, f)
				}
			}
			stp = readShared(t, "tcpdump-802.1D_spanning_tree.pcap")
			// LLDP (01:80:c2:00:00:0e) and LACP (...:02) never cross;
			// CDP and STP (...:00) are flooded unchanged.
			for _, f := range r.out["tap0"] {
				if d := dstOf(f); d == "01:80:c2:00:00:0e" {
					t.Errorf("LLDP frame forwarded to tap0: %s", pkt.Summary(f))
				}
			}
			if len(r.out["em1"]) != 0 {
				t.Errorf("LACP frames forwarded to em1:\n%s", listing(r.out["em1"]))
			}
			n := 0
			for _, f := range r.out["tap0"] {
				if dstOf(f) == "01:00:0c:cc:cc:cc" {
					n++
				}
			}
			if n != len(cdp) {
				t.Errorf("tap0 got %d CDP frames, want %d", n, len(cdp))
			}
			if len(r.out["tap0"]) != len(cdp)+len(stp) {
				t.Errorf("tap0 got %d frames, want %d CDP + %d STP", len(r.out["tap0"]), len(cdp), len(stp))
			}
			expectDrops(t, r, "em1", packet.DropReservedGroup, 8)
			expectDrops(t, r, "tap0", packet.DropReservedGroup, 20)
		},
	},
	{
		name: "trim-to-ip-length",
		conf: bridge2,
		inputs: []input{
			{ifname: "em1", frames: []frame{{at(0), pkt.Pad(udp(macA, macB, "x"), 64, 0xee)}}},
			{ifname: "tap0", shared: "chrissanders-ppa1e-destunreachable.pcap"},
		},
		check: func(t *testing.T, r result) {
			expect(t, r, "tap0", udp(macA, macB, "x"))
			// Every frame of the capture ends with a 4-byte FCS: it does
			// not cross.
			in := readShared(t, "chrissanders-ppa1e-destunreachable.pcap")
			// Both hosts of the capture are on tap0: only frames sent
			// before both MACs were learned there cross to em1.
			got := r.out["em1"]
			if len(got) == 0 {
				t.Fatalf("em1 sent nothing")
			}
			expectDrops(t, r, "tap0", packet.DropSameLink, uint64(len(in)-len(got)))
			for i := range got {
				if !bytes.Equal(got[i], in[i][:len(in[i])-4]) {
					t.Errorf("em1 frame %d: got %d bytes, want the input less its FCS (%d bytes)", i+1, len(got[i]), len(in[i])-4)
				}
			}
		},
	},
	{
		name: "mac-move",
		conf: bridge3,
		inputs: []input{
			{ifname: "em1", frames: []frame{{at(0), udp(macB, macA, "B on em1")}}},
			{ifname: "tap1", frames: []frame{{at(1), udp(macC, macB, "to B on em1")}, {at(3), udp(macC, macB, "to B on tap0")}}},
			{ifname: "tap0", frames: []frame{{at(2), udp(macB, macA, "B moved to tap0")}}},
		},
		check: func(t *testing.T, r result) {
			expect(t, r, "em1", udp(macC, macB, "to B on em1"), udp(macB, macA, "B moved to tap0"))
			expect(t, r, "tap0", udp(macB, macA, "B on em1"), udp(macC, macB, "to B on tap0"))
		},
	},
	{
		name: "aging",
		conf: map[string]string{"hostname.bridge0": "add em1\nadd tap0\nadd tap1\ntimeout 10\nup\n"},
		inputs: []input{
			// B is learned on tap0 at 0 and at 40.
			{ifname: "tap0", frames: []frame{{at(0), udp(macB, macA, "learn B")}, {at(40), udp(macB, macA, "learn B again")}}},
			// At 9 (idle less than one timeout) B is known; at 31 (idle
			// more than two timeouts) it floods; at 45, B is known again.
			{ifname: "em1", frames: []frame{{at(9), udp(macA, macB, "t=9")}, {at(31), udp(macA, macB, "t=31")}, {at(45), udp(macA, macB, "t=45")}}},
		},
		check: func(t *testing.T, r result) {
			expect(t, r, "tap0", udp(macA, macB, "t=9"), udp(macA, macB, "t=31"), udp(macA, macB, "t=45"))
			expect(t, r, "tap1", udp(macB, macA, "learn B"), udp(macA, macB, "t=31"))
			expect(t, r, "em1", udp(macB, macA, "learn B"), udp(macB, macA, "learn B again"))
		},
	},
}
