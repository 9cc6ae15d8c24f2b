package l3

import (
	"bytes"
	"slices"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/test/pkt"
)

// TestRefragment6 forwards IPv6 datagrams that pf reassembled
// (packet.Reassembled set) out of em0, whose MTU is 1400: they leave in
// the fragments they came in (pf_refragment6), each checked against the
// MTU as ip6_forward checks it.
func TestRefragment6(t *testing.T) {
	tests := []struct {
		name    string
		n       int // UDP payload bytes
		reass   packet.Reassembled
		sizes   []int // data bytes of the fragments out of em0
		ptb     int   // packet too big back to the guest
		mtuDrop uint64
		frDrop  uint64
	}{
		{name: "as it came", n: 2992, reass: packet.Reassembled{HdrLen: 40, MaxLen: 1232, ID: 9}, sizes: []int{1232, 1232, 536}},
		{name: "cut even when it fits", n: 500, reass: packet.Reassembled{HdrLen: 40, MaxLen: 256, ID: 9}, sizes: []int{256, 252}},
		{name: "pieces too big", n: 2992, reass: packet.Reassembled{HdrLen: 40, MaxLen: 1448, ID: 9}, sizes: []int{104}, ptb: 1, mtuDrop: 2},
		{name: "pieces under 8 bytes", n: 0, reass: packet.Reassembled{HdrLen: 40, MaxLen: 7, ID: 9}, frDrop: 1},
		{name: "not reassembled and too big", n: 1452, ptb: 1, mtuDrop: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, true)
			e.learnGuest(0)
			e.learnGateway(0)
			req := udp6(guest6, remote6, vetherMAC, 64, tc.n)
			p := e.pool.Get()
			p.SetFrame(req)
			packet.Parse(p)
			p.Reassembled = tc.reass
			e.r.Input(nil, p, vetherIdx, sec)
			var frags [][]byte
			ptb := 0
			for _, f := range e.out.take() {
				pk := decode(t, f.b)
				switch {
				case f.ifindex == em0Idx && pk.Layer(layers.LayerTypeIPv6Fragment) != nil:
					frags = append(frags, f.b)
				case f.ifindex == vetherIdx && pk.Layer(layers.LayerTypeICMPv6) != nil && icmp6Of(pk).TypeCode.Type() == layers.ICMPv6TypePacketTooBig:
					ptb++
				default:
					t.Errorf("sent %s out of %d", pkt.Summary(f.b), f.ifindex)
				}
			}
			if ptb != tc.ptb {
				t.Errorf("%d packet too big, want %d", ptb, tc.ptb)
			}
			if got := e.drops(em0Idx, packet.DropMTU); got != tc.mtuDrop {
				t.Errorf("em0 dropped %d as mtu, want %d", got, tc.mtuDrop)
			}
			if got := e.drops(em0Idx, packet.DropFragment); got != tc.frDrop {
				t.Errorf("em0 dropped %d as fragment, want %d", got, tc.frDrop)
			}
			if len(tc.sizes) == 0 {
				if len(frags) != 0 {
					t.Errorf("em0 sent %d fragments, want none", len(frags))
				}
				return
			}
			if tc.ptb > 0 {
				// Only the last piece fits: check it alone.
				fh := decode(t, frags[0]).Layer(layers.LayerTypeIPv6Fragment).(*layers.IPv6Fragment)
				if len(frags) != 1 || fh.MoreFragments || len(fh.Payload) != tc.sizes[0] || !bytes.Equal(fh.Payload, req[len(req)-tc.sizes[0]:]) {
					t.Errorf("em0 sent %d fragments, want only the last %d bytes", len(frags), tc.sizes[0])
				}
				return
			}
			fr, err := pkt.Defrag6(frags, 1400)
			if err != nil {
				t.Fatalf("Defrag6: %v", err)
			}
			if !slices.Equal(fr.Sizes, tc.sizes) {
				t.Errorf("fragments of %v data bytes, want %v", fr.Sizes, tc.sizes)
			}
			if fr.ID != tc.reass.ID || fr.Header[7] != 63 {
				t.Errorf("identification %d hop limit %d, want %d and 63", fr.ID, fr.Header[7], tc.reass.ID)
			}
			if !bytes.Equal(fr.Payload, req[14+40:]) {
				t.Errorf("fragments join into %d bytes, not the %d sent", len(fr.Payload), len(req)-54)
			}
			for _, f := range frags {
				if eth := ethOf(decode(t, f)); macOf(eth.DstMAC) != gwMAC || macOf(eth.SrcMAC) != em0MAC {
					t.Errorf("fragment %s > %s, want %s > %s", eth.SrcMAC, eth.DstMAC, em0MAC, gwMAC)
				}
			}
		})
	}
}
