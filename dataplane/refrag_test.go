package dataplane

import (
	"testing"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// withDF returns an IPv4 frame with DF set and its header checksum fixed.
func withDF(frame []byte) []byte {
	b := append([]byte(nil), frame...)
	ip := header.IPv4(b[header.EthernetSize:])
	ip.SetFlagsFragOff(header.IPv4FlagDF, 0)
	ip.UpdateChecksum()
	return b
}

// TestBridgeFragment checks what the bridge does with IPv4 too big for a
// member (bridge_fragment): cut to the member's MTU without DF, dropped
// with a fragmentation needed back to the sender with DF; and that what
// fits goes whole.
func TestBridgeFragment(t *testing.T) {
	tests := []struct {
		name      string
		frame     []byte
		wantTap0  []int // frame lengths out of tap0
		wantEm1   int   // frames back out of em1 (fragmentation needed)
		wantDrops uint64
	}{
		{name: "fits", frame: udpFrame(macA, macB, 1014), wantTap0: []int{1014}},
		{name: "cut to 1000", frame: udpFrame(macA, macB, 2514), wantTap0: []int{1010, 1010, 562}},
		{name: "DF answered", frame: withDF(udpFrame(macA, macB, 2514)), wantEm1: 1, wantDrops: 1},
		{name: "DF to a broadcast not answered", frame: withDF(udpFrame(macA, header.BroadcastMAC, 2514)), wantDrops: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, ports := memDataplane(t, load(t, map[string]string{
				"hostname.bridge0": "add em1\nadd tap0\nup\n",
				"hostname.tap0":    "mtu 1000 up\n",
			}))
			w := d.NewWorker()
			w.SetClock(1e9)
			inject(w, d, "tap0", udpFrame(macB, macA, 60)) // learn B on tap0
			ports["em1"].Take()
			inject(w, d, "em1", tc.frame)
			sent := ports["tap0"].Take()
			var lens []int
			for _, f := range sent {
				lens = append(lens, len(f))
			}
			if len(lens) != len(tc.wantTap0) {
				t.Fatalf("tap0 sent frames of %v bytes, want %v", lens, tc.wantTap0)
			}
			for i := range lens {
				if lens[i] != tc.wantTap0[i] {
					t.Errorf("tap0 sent frames of %v bytes, want %v", lens, tc.wantTap0)
					break
				}
			}
			back := ports["em1"].Take()
			if len(back) != tc.wantEm1 {
				t.Fatalf("em1 got %d frames back, want %d", len(back), tc.wantEm1)
			}
			for _, b := range back {
				p := packet.New()
				p.SetFrame(b)
				packet.Parse(p)
				ic := header.ICMPv4(b[p.Meta.L4:])
				if p.Meta.Proto != header.ProtoICMP || ic.Type() != header.ICMPv4DstUnreachable || ic.Code() != header.ICMPv4FragmentationNeeded || !ic.IsChecksumValid() {
					t.Errorf("em1 got %x, want a fragmentation needed", b)
				}
				if header.Ethernet(b).Dst() != macA || header.Ethernet(b).Src() != macB {
					t.Errorf("fragmentation needed %v > %v, want %v > %v", header.Ethernet(b).Src(), header.Ethernet(b).Dst(), macB, macA)
				}
			}
			tap0, _ := d.Interface("tap0")
			if got := tap0.Counters.Drops(packet.DropMTU); got != tc.wantDrops {
				t.Errorf("tap0 dropped %d as mtu, want %d", got, tc.wantDrops)
			}
		})
	}
}
