package header

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"testing"
)

// slowChecksum is RFC 1071's reference algorithm, 16 bits at a time.
func slowChecksum(b []byte, initial uint16) uint16 {
	s := uint32(initial)
	for len(b) >= 2 {
		s += uint32(binary.BigEndian.Uint16(b))
		s = s&0xffff + s>>16
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

func TestChecksum(t *testing.T) {
	tests := []struct {
		name    string
		b       []byte
		initial uint16
		want    uint16
	}{
		{name: "empty", b: nil, want: 0},
		// RFC 1071 section 3: the sum of 00 01 f2 03 f4 f5 f6 f7 is ddf2.
		{name: "rfc1071", b: []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}, want: 0xddf2},
		{name: "odd", b: []byte{0x01}, want: 0x0100},
		{name: "odd3", b: []byte{0x01, 0x02, 0x03}, want: 0x0402},
		{name: "initial", b: []byte{0x00, 0x01}, initial: 0xfffe, want: 0xffff},
		{name: "carry", b: []byte{0xff, 0xff, 0x00, 0x01}, want: 0x0001},
		{name: "all-ones-64", b: bytesOf(64, 0xff), want: 0xffff},
		// A captured IPv4 header (192.168.0.1 -> 192.168.0.199, UDP) with
		// its checksum b861 in place sums to ffff.
		{name: "ipv4-captured", b: hexBytes("45000073000040004011b861c0a80001c0a800c7"), want: 0xffff},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Checksum(tc.b, tc.initial); got != tc.want {
				t.Errorf("Checksum(%x, %#x) = %#04x, want %#04x", tc.b, tc.initial, got, tc.want)
			}
		})
	}
}

func bytesOf(n int, v byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = v
	}
	return b
}

func hexBytes(s string) []byte {
	b := make([]byte, len(s)/2)
	for i := range b {
		b[i] = unhex(s[2*i])<<4 | unhex(s[2*i+1])
	}
	return b
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	panic("bad hex digit " + string(c))
}

// TestChecksumSlow compares Checksum with the 16-bit reference on random
// data of every length up to 300 bytes.
func TestChecksumSlow(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		for range 20 {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			init := uint16(r.Uint32())
			if got, want := Checksum(b, init), slowChecksum(b, init); got != want {
				t.Fatalf("Checksum(%x, %#x) = %#04x, want %#04x", b, init, got, want)
			}
		}
	}
}

func TestCombine(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		b := make([]byte, 2*(1+r.IntN(40)))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		k := 2 * r.IntN(len(b)/2)
		got := Combine(Checksum(b[:k], 0), Checksum(b[k:], 0))
		if want := Checksum(b, 0); got != want {
			t.Fatalf("Combine(split %x at %d) = %#04x, want %#04x", b, k, got, want)
		}
	}
}

// field returns the checksum field value for b as a full recompute gives
// it.
func field(b []byte) uint16 { return ^Checksum(b, 0) }

// TestUpdateProperty checks that RFC 1624 incremental updates of a
// checksum equal a full recompute, on random data and random changes.
func TestUpdateProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	rnd := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		// Some all-zero and all-ones words, where ones' complement
		// arithmetic has its two zeros.
		switch r.IntN(8) {
		case 0:
			clear(b)
		case 1:
			for i := range b {
				b[i] = 0xff
			}
		}
		return b
	}
	for i := range 20000 {
		b := rnd(2 * (8 + r.IntN(32)))
		check := field(b)
		switch i % 4 {
		case 0: // 16-bit word
			off := 2 * r.IntN(len(b)/2)
			old := binary.BigEndian.Uint16(b[off:])
			nw := binary.BigEndian.Uint16(rnd(2))
			binary.BigEndian.PutUint16(b[off:], nw)
			if got, want := Update16(check, old, nw), field(b); !sameChecksum(got, want) {
				t.Fatalf("Update16(%#04x, %#04x, %#04x) = %#04x, want %#04x", check, old, nw, got, want)
			}
		case 1: // 32-bit word
			off := 2 * r.IntN(len(b)/2-1)
			old := binary.BigEndian.Uint32(b[off:])
			nw := binary.BigEndian.Uint32(rnd(4))
			binary.BigEndian.PutUint32(b[off:], nw)
			if got, want := Update32(check, old, nw), field(b); !sameChecksum(got, want) {
				t.Fatalf("Update32(%#04x, %#08x, %#08x) = %#04x, want %#04x", check, old, nw, got, want)
			}
		case 2: // address, IPv4 or IPv6
			n := 4
			if r.IntN(2) == 0 {
				n = 16
			}
			off := 2 * r.IntN((len(b)-n)/2+1)
			old := addrOf(b[off : off+n])
			nw := addrOf(rnd(n))
			copy(b[off:], nw.AsSlice())
			if got, want := UpdateAddr(check, old, nw), field(b); !sameChecksum(got, want) {
				t.Fatalf("UpdateAddr(%#04x, %v, %v) = %#04x, want %#04x", check, old, nw, got, want)
			}
		case 3: // one byte
			off := r.IntN(len(b))
			old := b[off]
			nw := byte(r.Uint32())
			b[off] = nw
			if got, want := UpdateByte(check, off, old, nw), field(b); !sameChecksum(got, want) {
				t.Fatalf("UpdateByte(%#04x, %d, %#02x, %#02x) = %#04x, want %#04x", check, off, old, nw, got, want)
			}
		}
	}
}

// sameChecksum reports whether two checksum field values are equal as a
// receiver verifies them. RFC 1624 section 3: an incremental update may
// give 0xffff where a full recompute gives 0x0000 only when every
// covered word is zero; both verify the same. Equation 3 never yields
// the other confusion, so anything else must match exactly.
func sameChecksum(a, b uint16) bool {
	return a == b || (a == 0xffff && b == 0) || (a == 0 && b == 0xffff)
}

func addrOf(b []byte) netip.Addr {
	a, _ := netip.AddrFromSlice(b)
	return a
}

func TestPseudoHeaderChecksum(t *testing.T) {
	tests := []struct {
		name     string
		proto    uint8
		src, dst string
		length   uint32
		pseudo   string // the pseudo-header as bytes
	}{
		{
			name: "ipv4-udp", proto: ProtoUDP, src: "192.168.0.1", dst: "192.168.0.199", length: 95,
			pseudo: "c0a80001" + "c0a800c7" + "0011" + "005f",
		},
		{
			name: "ipv6-tcp", proto: ProtoTCP, src: "2001:db8::1", dst: "fe80::abcd:1", length: 70000,
			pseudo: "20010db8000000000000000000000001" + "fe80000000000000000000000000abcd" + "0001" +
				"00011170" + "00000006",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := netip.MustParseAddr(tc.src), netip.MustParseAddr(tc.dst)
			got := PseudoHeaderChecksum(tc.proto, src, dst, tc.length)
			if want := Checksum(hexBytes(tc.pseudo), 0); got != want {
				t.Errorf("PseudoHeaderChecksum(%d, %v, %v, %d) = %#04x, want %#04x", tc.proto, src, dst, tc.length, got, want)
			}
		})
	}
}

func BenchmarkChecksum(b *testing.B) {
	for _, n := range []int{20, 64, 512, 1500, 9001} {
		buf := bytesOf(n, 0xa5)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				sinkU16 = Checksum(buf, 0)
			}
		})
	}
}

var sinkU16 uint16
