package filter

import (
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// bigUDP builds a UDP datagram with n bytes of payload.
func bigUDP(t *testing.T, src, dst string, n int) *packet.Packet {
	t.Helper()
	ipl, nl, et := ipLayer(src, dst, layers.IPProtocolUDP)
	udp := &layers.UDP{SrcPort: 1000, DstPort: 53}
	udp.SetNetworkLayerForChecksum(nl)
	pl := make([]byte, n)
	for i := range pl {
		pl[i] = byte(i * 7)
	}
	return build(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: et}, ipl, udp, gopacket.Payload(pl))
}

// fragment splits p's IP datagram into fragments of size bytes of data
// (a multiple of 8), as frames with p's Ethernet header.
func fragment(t *testing.T, p *packet.Packet, size int) []*packet.Packet {
	t.Helper()
	b := p.Bytes()
	l3 := int(p.Meta.L3)
	var out []*packet.Packet
	if p.Meta.Kind == packet.KindIPv4 {
		hl := header.IPv4(b[l3:]).HeaderLen()
		data := b[l3+hl : l3+int(p.Meta.L3Len)]
		for off := 0; off < len(data); off += size {
			end := min(off+size, len(data))
			f := append(append([]byte(nil), b[:l3+hl]...), data[off:end]...)
			h := header.IPv4(f[l3:])
			h.SetTotalLen(uint16(hl + end - off))
			var fl uint8
			if end < len(data) {
				fl = header.IPv4FlagMF
			}
			h.SetFlagsFragOff(fl, uint16(off))
			h.UpdateChecksum()
			q := packet.New()
			q.SetFrame(f)
			packet.Parse(q)
			out = append(out, q)
		}
		return out
	}
	data := b[l3+header.IPv6Size : l3+int(p.Meta.L3Len)]
	for off := 0; off < len(data); off += size {
		end := min(off+size, len(data))
		f := append([]byte(nil), b[:l3+header.IPv6Size]...)
		fh := make([]byte, 8)
		header.IPv6Fragment(fh).Encode(header.ProtoUDP, uint16(off), end < len(data), 0xabcd)
		f = append(append(f, fh...), data[off:end]...)
		f[l3+6] = header.ProtoFragment
		binary.BigEndian.PutUint16(f[l3+4:], uint16(8+end-off))
		q := packet.New()
		q.SetFrame(f)
		packet.Parse(q)
		out = append(out, q)
	}
	return out
}

func TestReassembly(t *testing.T) {
	for _, tc := range []struct {
		name     string
		src, dst string
		order    []int
	}{
		{"IPv4 in order", "198.51.100.7", "203.0.113.1", []int{0, 1, 2}},
		{"IPv4 out of order", "198.51.100.7", "203.0.113.1", []int{2, 0, 1}},
		{"IPv6 in order", "2001:db8::7", "2001:db8::1", []int{0, 1, 2}},
		{"IPv6 last first", "2001:db8::7", "2001:db8::1", []int{2, 1, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFilter(t, "block all\npass in proto udp to port 53\n", Options{})
			whole := bigUDP(t, tc.src, tc.dst, 3000)
			want := append([]byte(nil), whole.Bytes()...)
			frags := fragment(t, whole, 1232)
			if len(frags) != 3 {
				t.Fatalf("%d fragments", len(frags))
			}
			for i, k := range tc.order {
				r := f.Test(In, ifEm0, frags[k], 1)
				if i < 2 {
					if r.Verdict != packet.Taken {
						t.Fatalf("fragment %d: %v, want taken", k, r.Verdict)
					}
					continue
				}
				if r.Verdict != packet.Pass {
					t.Fatalf("completing fragment: %+v, want pass", r)
				}
				got := frags[k].Bytes()
				decoded(t, frags[k])
				if string(got) != string(want) {
					t.Errorf("reassembled %d bytes, want the original %d", len(got), len(want))
				}
			}
			if f.States() != 1 {
				t.Errorf("States() = %d, want 1", f.States())
			}
		})
	}
	t.Run("overlap drops the datagram", func(t *testing.T) {
		f := newTestFilter(t, "pass all\n", Options{})
		frags := fragment(t, bigUDP(t, "198.51.100.7", "203.0.113.1", 3000), 1232)
		f.Test(In, ifEm0, frags[0], 1)
		dup := packet.New()
		dup.CopyFrom(frags[0])
		if r := f.Test(In, ifEm0, dup, 1); r.Verdict != packet.Drop || r.Reason != packet.DropFragment {
			t.Errorf("overlapping fragment: %+v, want drop fragment", r)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		f := newTestFilter(t, "pass all\n", Options{})
		frags := fragment(t, bigUDP(t, "198.51.100.7", "203.0.113.1", 3000), 1232)
		f.Test(In, ifEm0, frags[0], 1)
		f.Purge(61)
		f.Test(In, ifEm0, frags[1], 62)
		if r := f.Test(In, ifEm0, frags[2], 62); r.Verdict != packet.Taken {
			t.Errorf("after the frag timeout the datagram restarted: %v, want taken", r.Verdict)
		}
	})
	t.Run("set reassemble no", func(t *testing.T) {
		f := newTestFilter(t, "set reassemble no\nblock all\npass in proto udp to port 53 no state\n", Options{})
		frags := fragment(t, bigUDP(t, "198.51.100.7", "203.0.113.1", 3000), 1232)
		for i, want := range []packet.Verdict{packet.Drop, packet.Drop} {
			if r := f.Test(In, ifEm0, frags[i+1], 1); r.Verdict != want {
				t.Errorf("fragment %d: %v, want %v (a port rule never matches a fragment)", i+1, r.Verdict, want)
			}
		}
		g := newTestFilter(t, "set reassemble no\nblock all\npass in proto udp fragment no state\n", Options{})
		if r := g.Test(In, ifEm0, frags[1], 1); r.Verdict != packet.Pass {
			t.Errorf("fragment rule: %v, want pass", r.Verdict)
		}
	})
}

// TestReassembledRecord checks what reassembly records for refragmenting
// (pf_reassemble6's fragment tag): the unfragmentable length, the largest
// fragment and a new identification for IPv6; nothing for IPv4, which
// is cut to the egress MTU instead.
func TestReassembledRecord(t *testing.T) {
	for _, tc := range []struct {
		name     string
		src, dst string
		size     int
		order    []int
		want     packet.Reassembled // ID: only whether it is set
	}{
		{"IPv6 1232", "2001:db8::7", "2001:db8::1", 1232, []int{0, 1, 2}, packet.Reassembled{HdrLen: 40, MaxLen: 1232, ID: 1}},
		{"IPv6 last first", "2001:db8::7", "2001:db8::1", 1000, []int{3, 2, 1, 0}, packet.Reassembled{HdrLen: 40, MaxLen: 1000, ID: 1}},
		{"IPv4", "198.51.100.7", "203.0.113.1", 1232, []int{0, 1, 2}, packet.Reassembled{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFilter(t, "pass all\n", Options{})
			frags := fragment(t, bigUDP(t, tc.src, tc.dst, 3000), tc.size)
			if len(frags) != len(tc.order) {
				t.Fatalf("%d fragments, want %d", len(frags), len(tc.order))
			}
			var r Result
			for _, k := range tc.order {
				r = f.Test(In, ifEm0, frags[k], 1)
			}
			last := frags[tc.order[len(tc.order)-1]]
			if r.Verdict != packet.Pass {
				t.Fatalf("completing fragment: %+v, want pass", r)
			}
			got := last.Reassembled
			if (got.ID != 0) != (tc.want.ID != 0) {
				t.Errorf("Reassembled.ID = %#x, want it set: %v", got.ID, tc.want.ID != 0)
			}
			got.ID, tc.want.ID = 0, 0
			if got != tc.want {
				t.Errorf("Reassembled = %+v, want %+v", got, tc.want)
			}
		})
	}
	t.Run("each datagram its own identification", func(t *testing.T) {
		f := newTestFilter(t, "pass all\n", Options{})
		var ids []uint32
		for range 2 {
			frags := fragment(t, bigUDP(t, "2001:db8::7", "2001:db8::1", 3000), 1232)
			for _, q := range frags {
				f.Test(In, ifEm0, q, 1)
			}
			ids = append(ids, frags[2].Reassembled.ID)
		}
		if ids[0] == ids[1] {
			t.Errorf("both datagrams got identification %#x", ids[0])
		}
	})
}
