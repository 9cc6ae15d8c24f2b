package ipfrag_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"strconv"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/ipfrag"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/test/pkt"
)

var eth = pkt.Eth{Src: "02:00:00:00:00:0a", Dst: "02:00:00:00:00:0b"}

// payload returns n bytes that differ from one offset to the next, so
// that a misplaced piece shows.
func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// udp4 builds an IPv4 UDP frame of n payload bytes with IP options opts
// (a multiple of 4 bytes) and the given flags and fragment offset.
func udp4(n int, opts []byte, df bool, off uint16, mf bool) []byte {
	b := pkt.UDP(eth, pkt.IPHdr{Src: "10.0.0.1", Dst: "10.0.0.2", ID: 0x4242, DF: df}, 4000, 5000, payload(n))
	b = slices.Insert(b, 14+20, opts...)
	ip := header.IPv4(b[14:])
	ip.SetVersionIHL(20 + len(opts))
	ip.SetTotalLen(uint16(len(b) - 14))
	var flags uint8
	if df {
		flags |= header.IPv4FlagDF
	}
	if mf {
		flags |= header.IPv4FlagMF
	}
	ip.SetFlagsFragOff(flags, off)
	ip.UpdateChecksum()
	return b
}

func newPacket(b []byte) *packet.Packet {
	p := packet.New()
	p.SetFrame(b)
	packet.Parse(p)
	return p
}

// cut runs f over p and returns the fragments' frames.
func cut(t *testing.T, f *ipfrag.Fragmenter) [][]byte {
	t.Helper()
	var out [][]byte
	for f.More() {
		q := packet.New()
		f.Next(q)
		out = append(out, slices.Clone(q.Bytes()))
		if len(out) > 10000 {
			t.Fatal("More never reports false")
		}
	}
	return out
}

var (
	routerAlert  = []byte{0x94, 4, 0, 0}              // copied
	recordRoute  = []byte{7, 7, 4, 0, 0, 0, 0, 1}     // not copied, then a no-op
	lsrr         = []byte{0x83, 7, 4, 10, 0, 0, 9, 0} // copied, then end of list
	optsMixed    = slices.Concat(routerAlert, recordRoute)
	optsCopiedSR = slices.Concat(lsrr, recordRoute)
)

func TestFragment4(t *testing.T) {
	tests := []struct {
		name    string
		n       int    // UDP payload bytes
		opts    []byte // IP options
		df      bool
		off     uint16 // the original's own fragment offset
		mf      bool
		mtu     int
		sizes   []int // data bytes per fragment
		laterHL int   // header length of the fragments after the first
		wantErr error
	}{
		{name: "1500 into 576", n: 1472, mtu: 576, sizes: []int{552, 552, 376}, laterHL: 20},
		{name: "odd mtu 1001", n: 1472, mtu: 1001, sizes: []int{976, 504}, laterHL: 20},
		{name: "minimum mtu 68", n: 1472, mtu: 68, sizes: append(slices.Repeat([]int{48}, 30), 40), laterHL: 20},
		{name: "last piece of 8", n: 1472, mtu: 756, sizes: []int{736, 736, 8}, laterHL: 20},
		{name: "fits: one fragment", n: 100, mtu: 1500, sizes: []int{108}, laterHL: 20},
		{name: "9000 into 1500", n: 8972, mtu: 1500, sizes: []int{1480, 1480, 1480, 1480, 1480, 1480, 100}, laterHL: 20},
		{name: "options copied only when flagged", n: 1472, opts: optsMixed, mtu: 576, sizes: []int{544, 552, 384}, laterHL: 24},
		{name: "copied source route", n: 1000, opts: optsCopiedSR, mtu: 500, sizes: []int{464, 472, 72}, laterHL: 28},
		{name: "DF kept", n: 1472, df: true, mtu: 1000, sizes: []int{976, 504}, laterHL: 20},
		{name: "fragment of a middle fragment", n: 1472, off: 1480, mf: true, mtu: 1000, sizes: []int{976, 504}, laterHL: 20},
		{name: "fragment of the last fragment", n: 1472, off: 800, mtu: 1000, sizes: []int{976, 504}, laterHL: 20},
		{name: "mtu leaves 7 bytes", n: 1472, mtu: 27, wantErr: ipfrag.ErrMTU},
		{name: "options leave no room", n: 1472, opts: optsMixed, mtu: 39, wantErr: ipfrag.ErrMTU},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := udp4(tc.n, tc.opts, tc.df, tc.off, tc.mf)
			p := newPacket(in)
			var f ipfrag.Fragmenter
			err := f.Init4(p, 14, tc.mtu)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Init4(mtu %d) = %v, want %v", tc.mtu, err, tc.wantErr)
			}
			if err != nil {
				if f.More() {
					t.Errorf("More() = true after Init4 failed")
				}
				return
			}
			frags := cut(t, &f)
			if !bytes.Equal(p.Bytes(), in) {
				t.Errorf("Init4 and Next changed the packet")
			}
			var sizes []int
			var data []byte
			for i, b := range frags {
				d := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
				ip, ok := d.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				if !ok {
					t.Fatalf("fragment %d: no IPv4: %s", i+1, pkt.Summary(b))
				}
				if !bytes.Equal(b[:14], in[:14]) {
					t.Errorf("fragment %d: Ethernet header %x, want %x", i+1, b[:14], in[:14])
				}
				if pkt.Checksum(ip.Contents) != 0 {
					t.Errorf("fragment %d: bad header checksum %#04x", i+1, ip.Checksum)
				}
				if int(ip.Length) > tc.mtu || int(ip.Length) != len(b)-14 {
					t.Errorf("fragment %d: length %d in a %d-byte frame, MTU %d", i+1, ip.Length, len(b), tc.mtu)
				}
				if want := int(tc.off) + len(data); int(ip.FragOffset)*8 != want {
					t.Errorf("fragment %d: offset %d, want %d", i+1, int(ip.FragOffset)*8, want)
				}
				last := i == len(frags)-1
				if mf := ip.Flags&layers.IPv4MoreFragments != 0; mf != (!last || tc.mf) {
					t.Errorf("fragment %d: MF %v, want %v", i+1, mf, !last || tc.mf)
				}
				if df := ip.Flags&layers.IPv4DontFragment != 0; df != tc.df {
					t.Errorf("fragment %d: DF %v, want %v", i+1, df, tc.df)
				}
				if ip.Id != 0x4242 || ip.TTL != 64 || ip.Protocol != layers.IPProtocolUDP {
					t.Errorf("fragment %d: id %#x ttl %d proto %v, want the original's", i+1, ip.Id, ip.TTL, ip.Protocol)
				}
				hl := int(ip.IHL) * 4
				switch {
				case i == 0 && !bytes.Equal(b[14+20:14+hl], tc.opts):
					t.Errorf("first fragment options %x, want all of %x", b[14+20:14+hl], tc.opts)
				case i > 0 && hl != tc.laterHL:
					t.Errorf("fragment %d: header %d bytes, want %d", i+1, hl, tc.laterHL)
				}
				if i > 0 {
					for _, o := range ip.Options {
						if o.OptionType > 1 && o.OptionType&0x80 == 0 {
							t.Errorf("fragment %d: option %d, which is not copied", i+1, o.OptionType)
						}
					}
				}
				sizes = append(sizes, len(ip.Payload))
				data = append(data, ip.Payload...)
			}
			if !slices.Equal(sizes, tc.sizes) {
				t.Errorf("fragment sizes %v, want %v", sizes, tc.sizes)
			}
			if want := in[14+20+len(tc.opts):]; !bytes.Equal(data, want) {
				t.Errorf("data joined differs from the original payload (%d bytes, want %d)", len(data), len(want))
			}
			if tc.off == 0 && !tc.mf {
				fr, err := pkt.Defrag4(frags, tc.mtu)
				if err != nil {
					t.Fatalf("Defrag4: %v", err)
				}
				if !pkt.TransportChecksumOK(pkt.IP("10.0.0.1"), pkt.IP("10.0.0.2"), 17, fr.Payload) {
					t.Errorf("UDP checksum of the reassembled datagram is wrong")
				}
			}
		})
	}
}

func TestFragment4Malformed(t *testing.T) {
	in := udp4(100, nil, false, 0, false)
	tests := []struct {
		name string
		b    []byte
		l3   int
	}{
		{name: "length past the frame", b: in[:100], l3: 14},
		{name: "no room for a header", b: in[:30], l3: 14},
		{name: "offset past the frame", b: in, l3: len(in)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := packet.New()
			p.SetFrame(tc.b)
			var f ipfrag.Fragmenter
			if err := f.Init4(p, tc.l3, 68); !errors.Is(err, ipfrag.ErrMalformed) {
				t.Errorf("Init4 = %v, want %v", err, ipfrag.ErrMalformed)
			}
		})
	}
}

// udp6 builds an IPv6 UDP frame of n payload bytes with extension
// headers ext (each a whole header whose first byte is rewritten to chain
// them) before the UDP header, and returns it with the unfragmentable
// length.
func udp6(n int, ext ...[]byte) ([]byte, int) {
	b := pkt.UDP(eth, pkt.IPHdr{Src: "2001:db8::1", Dst: "2001:db8::2", TTL: 60}, 4000, 5000, payload(n))
	at, hdr := 14+6, 14+40
	for _, e := range ext {
		e = slices.Clone(e)
		e[0] = b[at]
		b[at] = exthdrType(e)
		b = slices.Insert(b, hdr, e...)
		at = hdr
		hdr += len(e)
	}
	binary.BigEndian.PutUint16(b[14+4:], uint16(len(b)-14-40))
	return b, hdr - 14
}

var (
	hopByHop = []byte{0, 0, 1, 4, 0, 0, 0, 0}                                                         // PadN
	routing  = []byte{0, 2, 4, 0, 0, 0, 0, 0, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9} // type 4 (segment routing), one address
)

func exthdrType(e []byte) uint8 {
	if len(e) == 8 {
		return header.ProtoHopByHop
	}
	return header.ProtoRouting
}

func TestRefragment6(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		ext     [][]byte
		maxLen  uint16
		sizes   []int
		wantErr error
	}{
		{name: "three fragments", n: 3000 - 8, maxLen: 1232, sizes: []int{1232, 1232, 536}},
		{name: "max not a multiple of 8", n: 3000 - 8, maxLen: 1237, sizes: []int{1232, 1232, 536}},
		{name: "odd sizes kept", n: 2000 - 8, maxLen: 1000, sizes: []int{1000, 1000}},
		{name: "one fragment of 108 cut at 104, as ip6_fragment rounds", n: 100, maxLen: 108, sizes: []int{104, 4}},
		{name: "one fragment of 8 bytes", n: 0, maxLen: 8, sizes: []int{8}},
		{name: "hop-by-hop repeated", n: 2500, ext: [][]byte{hopByHop}, maxLen: 1448, sizes: []int{1448, 1060}},
		{name: "hop-by-hop and routing repeated", n: 2500, ext: [][]byte{hopByHop, routing}, maxLen: 1200, sizes: []int{1200, 1200, 108}},
		{name: "maximum under 8", n: 4, maxLen: 7, wantErr: ipfrag.ErrMTU},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, hdr := udp6(tc.n, tc.ext...)
			p := newPacket(in)
			p.Reassembled = packet.Reassembled{HdrLen: uint16(hdr), MaxLen: tc.maxLen, ID: 0xdeadbeef}
			var f ipfrag.Fragmenter
			err := f.Init6(p, 14)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Init6(maxlen %d) = %v, want %v", tc.maxLen, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			frags := cut(t, &f)
			if !bytes.Equal(p.Bytes(), in) {
				t.Errorf("Init6 and Next changed the packet")
			}
			fr, err := pkt.Defrag6(frags, hdr+8+int(tc.maxLen))
			if err != nil {
				t.Fatalf("Defrag6: %v", err)
			}
			if !slices.Equal(fr.Sizes, tc.sizes) {
				t.Errorf("fragment sizes %v, want %v", fr.Sizes, tc.sizes)
			}
			if fr.ID != 0xdeadbeef {
				t.Errorf("identification %#x, want 0xdeadbeef", fr.ID)
			}
			if !bytes.Equal(fr.Header, in[14:14+hdr]) {
				t.Errorf("unfragmentable part\n got %x\nwant %x", fr.Header, in[14:14+hdr])
			}
			if !bytes.Equal(fr.Payload, in[14+hdr:]) {
				t.Errorf("data joined differs from the original (%d bytes, want %d)", len(fr.Payload), len(in)-14-hdr)
			}
			if !pkt.TransportChecksumOK(pkt.IP("2001:db8::1"), pkt.IP("2001:db8::2"), 17, fr.Payload) {
				t.Errorf("UDP checksum of the reassembled datagram is wrong")
			}
			for i, b := range frags {
				if !bytes.Equal(b[:14], in[:14]) {
					t.Errorf("fragment %d: Ethernet header %x, want %x", i+1, b[:14], in[:14])
				}
				// The fragment header sits right after the
				// unfragmentable part: next header, reserved 0,
				// offset and M, identification.
				fh := b[14+hdr : 14+hdr+8]
				if fh[0] != header.ProtoUDP || fh[1] != 0 || fh[3]&6 != 0 {
					t.Errorf("fragment %d: fragment header %x", i+1, fh)
				}
			}
		})
	}
}

func TestRefragment6Malformed(t *testing.T) {
	in, _ := udp6(100)
	tests := []struct {
		name string
		r    packet.Reassembled
	}{
		{name: "not reassembled", r: packet.Reassembled{}},
		{name: "unfragmentable part names no extension header", r: packet.Reassembled{HdrLen: 48, MaxLen: 1000}},
		{name: "unfragmentable part past the datagram", r: packet.Reassembled{HdrLen: 400, MaxLen: 1000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPacket(in)
			p.Reassembled = tc.r
			var f ipfrag.Fragmenter
			if err := f.Init6(p, 14); !errors.Is(err, ipfrag.ErrMalformed) {
				t.Errorf("Init6(%+v) = %v, want %v", tc.r, err, ipfrag.ErrMalformed)
			}
		})
	}
}

var sinkN int

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not kept under the race detector")
	}
	p4 := newPacket(udp4(8972, optsMixed, false, 0, false))
	in6, hdr := udp6(8000, hopByHop)
	p6 := newPacket(in6)
	p6.Reassembled = packet.Reassembled{HdrLen: uint16(hdr), MaxLen: 1448, ID: 7}
	q := packet.New()
	tests := []struct {
		name string
		fn   func()
	}{
		{"Fragment4", func() {
			var f ipfrag.Fragmenter
			_ = f.Init4(p4, 14, 1500)
			for f.More() {
				f.Next(q)
				sinkN += q.Len()
			}
		}},
		{"Refragment6", func() {
			var f ipfrag.Fragmenter
			_ = f.Init6(p6, 14)
			for f.More() {
				f.Next(q)
				sinkN += q.Len()
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, tc.fn); n != 0 {
				t.Errorf("%s: %v allocations, want 0", tc.name, n)
			}
		})
	}
}

func BenchmarkFragment4(b *testing.B) {
	for _, size := range []int{1500, 9001} {
		p := newPacket(udp4(size-28, nil, false, 0, false))
		q := packet.New()
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				var f ipfrag.Fragmenter
				_ = f.Init4(p, 14, 576)
				for f.More() {
					f.Next(q)
				}
			}
		})
	}
}

func BenchmarkRefragment6(b *testing.B) {
	in, hdr := udp6(9001 - 48)
	p := newPacket(in)
	p.Reassembled = packet.Reassembled{HdrLen: uint16(hdr), MaxLen: 1232, ID: 7}
	q := packet.New()
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		var f ipfrag.Fragmenter
		_ = f.Init6(p, 14)
		for f.More() {
			f.Next(q)
		}
	}
}

func TestCopyOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []byte
		want []byte
	}{
		{name: "none", opts: nil, want: nil},
		{name: "record route dropped", opts: []byte{7, 7, 4, 0, 0, 0, 0, 0}, want: nil},
		{name: "router alert kept", opts: []byte{0x94, 4, 0, 0}, want: []byte{0x94, 4, 0, 0}},
		{name: "nop and end", opts: []byte{1, 0x94, 4, 0, 0, 0, 0x83, 3, 0}, want: []byte{0x94, 4, 0, 0}},
		{name: "mixed", opts: []byte{7, 3, 4, 0x83, 7, 4, 0, 0, 0, 0}, want: []byte{0x83, 7, 4, 0, 0, 0, 0}},
		{name: "truncated", opts: []byte{0x83, 9, 4}, want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]byte, 40)
			n := ipfrag.CopyOptions(dst, tc.opts)
			if string(dst[:n]) != string(tc.want) {
				t.Errorf("CopyOptions(%x) = %x, want %x", tc.opts, dst[:n], tc.want)
			}
		})
	}
}

// FuzzFragment cuts arbitrary frames: Init4 and Init6 must refuse what
// they cannot cut, and what they cut must fit the MTU (IPv4) or the
// fragment size (IPv6) and join back into the original data.
func FuzzFragment(f *testing.F) {
	in4 := udp4(1472, optsMixed, false, 0, false)
	in6, hdr := udp6(2500, hopByHop, routing)
	f.Add(in4, uint16(576), uint16(0), uint16(0))                          // IPv4 with options
	f.Add(in4[:300], uint16(68), uint16(0), uint16(0))                     // truncated: length past the frame
	f.Add(in6, uint16(0), uint16(hdr), uint16(1232))                       // IPv6 with extension headers
	f.Add(in6, uint16(0), uint16(hdr+8), uint16(1232))                     // unfragmentable part ends inside a header
	f.Add(udp4(0, nil, false, 0, false), uint16(28), uint16(0), uint16(0)) // empty payload
	f.Fuzz(func(t *testing.T, frame []byte, mtu, hdrLen, maxLen uint16) {
		if len(frame) < 14 || len(frame) > 9100 {
			return
		}
		p := packet.New()
		p.SetFrame(frame)
		p.Reassembled = packet.Reassembled{HdrLen: hdrLen, MaxLen: maxLen, ID: 1}
		var fr ipfrag.Fragmenter
		var start, end, limit int
		if hdrLen == 0 {
			if fr.Init4(p, 14, int(mtu)) != nil {
				return
			}
			ip := header.IPv4(frame[14:])
			start, end, limit = 14+ip.HeaderLen(), 14+int(ip.TotalLen()), 14+int(mtu)
		} else {
			if fr.Init6(p, 14) != nil {
				return
			}
			start = 14 + int(hdrLen)
			end = 14 + 40 + int(header.IPv6(frame[14:]).PayloadLen())
			limit = start + 8 + int(maxLen)
		}
		var data []byte
		q := packet.New()
		for n := 0; fr.More(); n++ {
			if n > 9000 {
				t.Fatal("More never reports false")
			}
			fr.Next(q)
			if q.Len() > limit {
				t.Fatalf("fragment of %d bytes, limit %d", q.Len(), limit)
			}
			b := q.Bytes()
			if hdrLen == 0 {
				data = append(data, b[14+header.IPv4(b[14:]).HeaderLen():]...)
			} else {
				data = append(data, b[start+8:]...)
			}
		}
		if !bytes.Equal(data, frame[start:end]) {
			t.Fatalf("fragments join into %d bytes, want the original %d", len(data), end-start)
		}
	})
}
