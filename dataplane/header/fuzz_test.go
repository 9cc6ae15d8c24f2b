package header

import (
	"encoding/binary"
	"testing"
)

// FuzzChecksum compares Checksum with the 16-bit reference of RFC 1071,
// and Update16 with a full recompute.
func FuzzChecksum(f *testing.F) {
	f.Add([]byte{}, uint16(0), 0, uint16(0))                          // empty
	f.Add([]byte{0x01}, uint16(0xffff), 0, uint16(1))                 // odd length, all-ones initial
	f.Add(hexBytes("0001f203f4f5f6f7"), uint16(0), 2, uint16(0xffff)) // RFC 1071 example
	f.Add(hexBytes(capturedIPv4), uint16(0), 10, uint16(0))           // a header, checksum field cleared
	f.Add(make([]byte, 40), uint16(0), 8, uint16(0xffff))             // all zero: ones' complement's two zeros
	f.Fuzz(func(t *testing.T, b []byte, initial uint16, off int, nw uint16) {
		if got, want := Checksum(b, initial), slowChecksum(b, initial); got != want {
			t.Fatalf("Checksum(%x, %#x) = %#04x, want %#04x", b, initial, got, want)
		}
		if len(b) < 2 {
			return
		}
		b = b[:len(b)&^1]
		off = int(uint(off)%uint(len(b)/2)) * 2
		check := ^Checksum(b, 0)
		old := binary.BigEndian.Uint16(b[off:])
		binary.BigEndian.PutUint16(b[off:], nw)
		if got, want := Update16(check, old, nw), ^Checksum(b, 0); !sameChecksum(got, want) {
			t.Fatalf("Update16(%#04x, %#04x, %#04x) = %#04x, want %#04x", check, old, nw, got, want)
		}
	})
}

func FuzzTCPIsValid(f *testing.F) {
	f.Add(hexBytes(capturedSYN)[20:])                                                   // a SYN with options
	f.Add(make([]byte, 19))                                                             // one byte short
	f.Add(append([]byte{0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0}, make([]byte, 7)...)) // offset 60, 20 bytes
	f.Fuzz(func(t *testing.T, b []byte) {
		h := TCP(b)
		if !h.IsValid() {
			return
		}
		if d := h.DataOffset(); d < TCPMinSize || d > len(b) {
			t.Fatalf("TCP(%x).IsValid() = true with data offset %d", b, d)
		}
		_ = h.Options()
		_ = h.Payload()
	})
}

func FuzzUDPIsValid(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 0, 8, 0, 0}, 8)       // header only
	f.Add([]byte{0, 1, 0, 2, 0, 9, 0, 0}, 9)       // length beyond the slice
	f.Add([]byte{0, 1, 0, 2, 0xff, 0xff, 0, 0}, 0) // length beyond n
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		h := UDP(b)
		if !h.IsValid(n) {
			return
		}
		if l := int(h.Length()); l < UDPSize || l > n {
			t.Fatalf("UDP(%x).IsValid(%d) = true with length %d", b, n, l)
		}
		if n <= len(b) {
			_ = h.Payload()
		}
	})
}
