package afpacket

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket/layers"
	"github.com/hostnet/hostnet/dataplane/gso"
	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
	"golang.org/x/sys/unix"
)

// cmsg is one control message for a test control buffer.
type cmsg struct {
	level, typ int32
	data       []byte
}

// control lays out msgs as the kernel does in a msg_control buffer. The
// buffer is made of words so that its headers are aligned.
func control(msgs ...cmsg) []byte {
	n := 0
	for _, m := range msgs {
		n += unix.CmsgSpace(len(m.data))
	}
	if n == 0 {
		return nil
	}
	words := make([]uint64, (n+7)/8)
	b := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), n)
	off := 0
	for _, m := range msgs {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&b[off]))
		h.Level, h.Type = m.level, m.typ
		h.SetLen(unix.CmsgLen(len(m.data)))
		copy(b[off+unix.CmsgLen(0):], m.data)
		off += unix.CmsgSpace(len(m.data))
	}
	return b
}

// auxdata returns a PACKET_AUXDATA message reporting status, tci and tpid.
func auxdata(status uint32, tci, tpid uint16) cmsg {
	aux := unix.TpacketAuxdata{Status: status, Len: 60, Snaplen: 60, Mac: 0, Net: 14, Vlan_tci: tci, Vlan_tpid: tpid}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&aux)), auxLen)
	return cmsg{unix.SOL_PACKET, unix.PACKET_AUXDATA, append([]byte(nil), b...)}
}

const (
	vlanValid = unix.TP_STATUS_VLAN_VALID
	tpidValid = unix.TP_STATUS_VLAN_TPID_VALID
	userStat  = unix.TP_STATUS_USER // set on every frame; says nothing of tags
)

func TestAuxTag(t *testing.T) {
	tests := []struct {
		name     string
		ctl      []byte
		tpid     uint16
		tci      uint16
		ok       bool
		shortCtl bool // cut the buffer one byte short of the auxdata
	}{
		{name: "none", ctl: nil},
		{name: "untagged", ctl: control(auxdata(userStat, 0, 0))},
		{name: "802.1Q with TPID", ctl: control(auxdata(userStat|vlanValid|tpidValid, 10, 0x8100)), tpid: 0x8100, tci: 10, ok: true},
		{name: "802.1Q without TPID", ctl: control(auxdata(vlanValid, 0x200a, 0)), tpid: 0x8100, tci: 0x200a, ok: true},
		{name: "802.1ad", ctl: control(auxdata(vlanValid|tpidValid, 100, 0x88a8)), tpid: 0x88a8, tci: 100, ok: true},
		{name: "priority tag TCI 0", ctl: control(auxdata(vlanValid|tpidValid, 0, 0x8100)), tpid: 0x8100, tci: 0, ok: true},
		{name: "priority tag PCP 5", ctl: control(auxdata(vlanValid|tpidValid, 0xa000, 0x8100)), tpid: 0x8100, tci: 0xa000, ok: true},
		{name: "old kernel TCI only", ctl: control(auxdata(0, 42, 0)), tpid: 0x8100, tci: 42, ok: true},
		{name: "TPID without VLAN_VALID", ctl: control(auxdata(tpidValid, 0, 0x8100))},
		{name: "after another message", ctl: control(cmsg{unix.SOL_SOCKET, unix.SO_TIMESTAMP, make([]byte, 16)}, auxdata(vlanValid|tpidValid, 7, 0x8100)), tpid: 0x8100, tci: 7, ok: true},
		{name: "odd-sized message before", ctl: control(cmsg{unix.SOL_SOCKET, unix.SO_MARK, make([]byte, 3)}, auxdata(vlanValid, 9, 0)), tpid: 0x8100, tci: 9, ok: true},
		{name: "other level", ctl: control(cmsg{unix.SOL_SOCKET, unix.PACKET_AUXDATA, make([]byte, auxLen)})},
		{name: "auxdata too short", ctl: control(cmsg{unix.SOL_PACKET, unix.PACKET_AUXDATA, []byte{vlanValid, 0, 0, 0}})},
		{name: "cut short", ctl: control(auxdata(vlanValid, 10, 0x8100)), shortCtl: true},
		{name: "header only", ctl: control(cmsg{unix.SOL_PACKET, unix.PACKET_AUXDATA, nil})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctl := tc.ctl
			if tc.shortCtl {
				ctl = ctl[:unix.CmsgLen(auxLen)-1]
			}
			tpid, tci, ok := auxTag(ctl)
			if ok != tc.ok || (ok && (tpid != tc.tpid || tci != tc.tci)) {
				t.Errorf("auxTag(% x) = %#x, %#x, %v, want %#x, %#x, %v", ctl, tpid, tci, ok, tc.tpid, tc.tci, tc.ok)
			}
		})
	}
}

// TestAuxTagGarbage feeds auxTag headers with lengths that do not fit the
// buffer: it must stop, not read past the end or loop.
func TestAuxTagGarbage(t *testing.T) {
	hdr := unix.CmsgLen(0)
	for _, n := range []int{0, 1, hdr - 1, hdr + 1000, -1} {
		ctl := control(cmsg{unix.SOL_SOCKET, unix.SO_MARK, make([]byte, 8)})
		h := (*unix.Cmsghdr)(unsafe.Pointer(&ctl[0]))
		h.SetLen(n)
		if _, _, ok := auxTag(ctl); ok {
			t.Errorf("auxTag(cmsg_len %d) = ok, want no tag", n)
		}
	}
}

// FuzzAuxTag checks that no control buffer makes auxTag read out of
// bounds or spin, and that it finds what x/sys/unix's own control message
// parser finds: the first PACKET_AUXDATA message, decoded by offset.
func FuzzAuxTag(f *testing.F) {
	f.Add(control(auxdata(vlanValid|tpidValid, 10, 0x8100)))                                                            // 802.1Q VID 10
	f.Add(control(auxdata(userStat, 0, 0)))                                                                             // untagged
	f.Add(control(cmsg{unix.SOL_SOCKET, unix.SO_TIMESTAMP, make([]byte, 16)}, auxdata(vlanValid|tpidValid, 7, 0x88a8))) // two messages
	f.Add([]byte{})                                                                                                     // empty
	f.Fuzz(func(t *testing.T, b []byte) {
		// Aligned copy, as the port's buffers are.
		words := make([]uint64, len(b)/8+1)
		ctl := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(b))
		copy(ctl, b)
		tpid, tci, ok := auxTag(ctl)
		wtpid, wtci, wok := refAuxTag(ctl)
		if tpid != wtpid || tci != wtci || ok != wok {
			t.Errorf("auxTag(% x) = %#x, %#x, %v, want %#x, %#x, %v", ctl, tpid, tci, ok, wtpid, wtci, wok)
		}
	})
}

// refAuxTag is auxTag written with unix.ParseOneSocketControlMessage and
// explicit offsets into struct tpacket_auxdata (tp_status at 0,
// tp_vlan_tci at 16, tp_vlan_tpid at 18, host byte order).
func refAuxTag(b []byte) (tpid, tci uint16, ok bool) {
	for len(b) >= unix.CmsgLen(0) {
		h, data, rest, err := unix.ParseOneSocketControlMessage(b)
		if err != nil {
			return 0, 0, false
		}
		if h.Level == unix.SOL_PACKET && h.Type == unix.PACKET_AUXDATA && len(data) >= 20 {
			status := binary.NativeEndian.Uint32(data[0:])
			tci = binary.NativeEndian.Uint16(data[16:])
			if status&unix.TP_STATUS_VLAN_VALID == 0 && tci == 0 {
				return 0, 0, false
			}
			tpid = 0x8100
			if status&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
				tpid = binary.NativeEndian.Uint16(data[18:])
			}
			return tpid, tci, true
		}
		b = rest
	}
	return 0, 0, false
}

// tagged returns the frame b with tags inserted after its source MAC,
// outermost first, each a TPID and a TCI.
func tagged(b []byte, tags ...[2]uint16) []byte {
	out := append([]byte(nil), b[:12]...)
	for _, tg := range tags {
		out = binary.BigEndian.AppendUint16(out, tg[0])
		out = binary.BigEndian.AppendUint16(out, tg[1])
	}
	return append(out, b[12:]...)
}

func TestPushTag(t *testing.T) {
	tests := []struct {
		name      string
		in        []byte
		headroom  int // bytes of headroom left before the frame; -1: default
		tpid, tci uint16
		want      []byte // nil: pushTag must refuse and change nothing
	}{
		{name: "802.1Q", in: frame(60, 1), headroom: -1, tpid: 0x8100, tci: 10, want: tagged(frame(60, 1), [2]uint16{0x8100, 10})},
		{name: "802.1ad over 802.1Q", in: tagged(frame(64, 2), [2]uint16{0x8100, 10}), headroom: -1, tpid: 0x88a8, tci: 100, want: tagged(frame(64, 2), [2]uint16{0x88a8, 100}, [2]uint16{0x8100, 10})},
		{name: "priority tag", in: frame(60, 3), headroom: -1, tpid: 0x8100, tci: 0, want: tagged(frame(60, 3), [2]uint16{0x8100, 0})},
		{name: "header only", in: frame(14, 4), headroom: -1, tpid: 0x8100, tci: 0xffff, want: tagged(frame(14, 4), [2]uint16{0x8100, 0xffff})},
		{name: "exact headroom", in: frame(60, 5), headroom: 4, tpid: 0x8100, tci: 1, want: tagged(frame(60, 5), [2]uint16{0x8100, 1})},
		{name: "no headroom", in: frame(60, 6), headroom: 3, tpid: 0x8100, tci: 1},
		{name: "too short", in: frame(60, 7)[:13], headroom: -1, tpid: 0x8100, tci: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := packet.New()
			p.SetFrame(tc.in)
			if tc.headroom >= 0 {
				// Start the frame lower in the buffer: an empty frame
				// pushed down to the headroom wanted, then filled.
				p.Reset()
				p.Push(packet.Headroom - tc.headroom)
				p.SetLen(len(tc.in))
				copy(p.Bytes(), tc.in)
				if p.Headroom() != tc.headroom {
					t.Fatalf("setup: headroom %d, want %d", p.Headroom(), tc.headroom)
				}
			}
			ok := pushTag(p, tc.tpid, tc.tci)
			if tc.want == nil {
				if ok || !bytes.Equal(p.Bytes(), tc.in) {
					t.Errorf("pushTag(% x, %#x, %#x) = %v, % x, want false and the frame unchanged", tc.in, tc.tpid, tc.tci, ok, p.Bytes())
				}
				return
			}
			if !ok || !bytes.Equal(p.Bytes(), tc.want) {
				t.Errorf("pushTag(% x, %#x, %#x) = %v, % x, want true, % x", tc.in, tc.tpid, tc.tci, ok, p.Bytes(), tc.want)
			}
		})
	}
}

// peerSrc is the source MAC of frame: the frames the test sends.
var peerSrc = frame(14, 0)[6:12]

// readFrom reads frames from p sent by peerSrc until want have come or the
// timeout passes, and returns them with their GSO state.
func readFrom(t *testing.T, p *Port, want int, timeout time.Duration) ([][]byte, []packet.GSO) {
	t.Helper()
	type result struct {
		frames [][]byte
		gsos   []packet.GSO
	}
	got := make(chan result, 1)
	go func() {
		var r result
		pkts := batch(8)
		for len(r.frames) < want {
			n, err := p.ReadBatch(pkts)
			if err != nil {
				break
			}
			for _, pk := range pkts[:n] {
				if b := pk.Bytes(); len(b) >= 14 && bytes.Equal(b[6:12], peerSrc) {
					r.frames = append(r.frames, append([]byte(nil), b...))
					r.gsos = append(r.gsos, pk.GSO)
				}
			}
		}
		got <- r
	}()
	select {
	case r := <-got:
		return r.frames, r.gsos
	case <-time.After(timeout):
		p.Close()
		r := <-got
		return r.frames, r.gsos
	}
}

// TestVLANRead sends tagged and untagged frames over a veth: the kernel
// takes the outer 802.1Q or 802.1ad tag off each on receipt, and the port
// must put it back, so that every frame reads as it was sent.
func TestVLANRead(t *testing.T) {
	needRoot(t)
	frames := []struct {
		name string
		b    []byte
	}{
		{"untagged", frame(60, 1)},
		{"802.1Q VID 10", tagged(frame(60, 2), [2]uint16{0x8100, 10})},
		{"802.1Q PCP 3 VID 4094", tagged(frame(1514, 3), [2]uint16{0x8100, 3<<13 | 4094})},
		{"priority tag TCI 0", tagged(frame(60, 4), [2]uint16{0x8100, 0})},
		{"priority tag PCP 5", tagged(frame(64, 5), [2]uint16{0x8100, 5 << 13})},
		{"802.1ad VID 100", tagged(frame(80, 6), [2]uint16{0x88a8, 100})},
		{"802.1ad over 802.1Q", tagged(frame(100, 7), [2]uint16{0x88a8, 100}, [2]uint16{0x8100, 10})},
		{"802.1Q over 802.1Q", tagged(frame(100, 8), [2]uint16{0x8100, 20}, [2]uint16{0x8100, 30})},
		{"0x9100 stays in band", tagged(frame(60, 9), [2]uint16{0x9100, 40})},
		{"untagged after tagged", frame(61, 10)},
		// The shortest the kernel takes a tag off: two bytes after the type
		// (it drops one with less).
		{"short 802.1Q", tagged(frame(16, 11), [2]uint16{0x8100, 11})},
	}
	for i, opts := range []Options{{}, {NoVnetHdr: true}} {
		t.Run(fmt.Sprintf("NoVnetHdr=%v", opts.NoVnetHdr), func(t *testing.T) {
			a, b := fmt.Sprintf("hnt2%d", 2*i), fmt.Sprintf("hnt2%d", 2*i+1)
			veth(t, a, b)
			rx := open(t, a, opts)
			tx := open(t, b, Options{NoVnetHdr: true})
			pkts := batch(len(frames))
			for j, f := range frames {
				pkts[j].SetFrame(f.b)
			}
			if n, err := tx.WriteBatch(pkts); n != len(pkts) || err != nil {
				t.Fatalf("WriteBatch = %d, %v", n, err)
			}
			got, _ := readFrom(t, rx, len(frames), 5*time.Second)
			if len(got) != len(frames) {
				t.Fatalf("read %d frames, want %d", len(got), len(frames))
			}
			for j, f := range frames {
				if !bytes.Equal(got[j], f.b) {
					t.Errorf("%s: read % x, want % x", f.name, got[j], f.b)
				}
			}
		})
	}
}

// TestVLANGSO writes a tagged TCPv4 super-frame with its offload state
// over a veth: the kernel takes the tag off on receipt and reports the
// GSO offsets against the untagged frame, and the port, putting the tag
// back, must move them with it.
func TestVLANGSO(t *testing.T) {
	needRoot(t)
	veth(t, "hnt26", "hnt27")
	rx := open(t, "hnt26", Options{})
	tx := open(t, "hnt27", Options{})
	plain := tcpFrame(t, &layers.TCP{SrcPort: 40004, DstPort: 9, Seq: 1, Ack: 1, ACK: true, Window: 512}, make([]byte, 6000))
	copy(plain[6:12], peerSrc)
	f := tagged(plain, [2]uint16{0x8100, 10})
	l4 := 14 + 4 + 20
	ip4 := header.IPv4(f[18:])
	binary.BigEndian.PutUint16(f[l4+16:], ip4.PseudoHeaderChecksum())
	want := packet.GSO{Type: gso.TypeTCPv4, NeedsCsum: true, HdrLen: uint16(l4 + 20), Size: 1448, CsumStart: uint16(l4), CsumOffset: 16}
	pkts := batch(1)
	pkts[0].SetFrame(f)
	pkts[0].GSO = want
	if n, err := tx.WriteBatch(pkts); n != 1 || err != nil {
		t.Fatalf("WriteBatch(tagged super-frame) = %d, %v", n, err)
	}
	got, gsos := readFrom(t, rx, 1, 5*time.Second)
	if len(got) != 1 {
		t.Fatalf("read %d frames, want the tagged super-frame", len(got))
	}
	if !bytes.Equal(got[0], f) {
		t.Errorf("read %d bytes % x..., want the %d bytes written % x...", len(got[0]), got[0][:min(len(got[0]), 40)], len(f), f[:40])
	}
	g := gsos[0]
	if g.Type != want.Type || g.Size != want.Size || !g.NeedsCsum || g.CsumStart != want.CsumStart || g.CsumOffset != want.CsumOffset {
		t.Errorf("GSO = %+v, want %+v", g, want)
	}
	// hdr_len is the kernel's hint (its linear part); it must at least
	// cover the headers of the tagged frame.
	if g.HdrLen < want.HdrLen {
		t.Errorf("GSO.HdrLen = %d, want at least %d", g.HdrLen, want.HdrLen)
	}
	t.Logf("GSO read: %+v", g)

	// The segments package gso cuts from it carry the tag and verify.
	pool := packet.NewPool()
	out := make([]*packet.Packet, 16)
	in := packet.New()
	in.SetFrame(got[0])
	in.GSO = g
	k, err := gso.Segment(in, 1500, out, pool)
	if err != nil {
		t.Fatalf("gso.Segment(tagged super-frame, GSO %+v) = %v", g, err)
	}
	for _, q := range out[:k] {
		b := q.Bytes()
		if binary.BigEndian.Uint32(b[12:]) != 0x8100000a {
			t.Errorf("segment tag % x, want 81 00 00 0a", b[12:16])
		}
		ip4 := header.IPv4(b[18:])
		seg := b[18+ip4.HeaderLen():]
		if !ip4.IsChecksumValid() || header.Checksum(seg, ip4.PseudoHeaderChecksum()) != 0xffff {
			t.Error("segment checksums do not verify")
		}
		pool.Put(q)
	}
}
