package nat

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
)

// HashKey is the 128-bit key of a source-hash pool (struct
// pf_poolhashkey), in the byte order pfctl prints it.
type HashKey [16]byte

// String returns the key as pfctl prints it: 0x and 32 hex digits.
func (k HashKey) String() string { return "0x" + hex.EncodeToString(k[:]) }

// ParseHashKey returns the key of `source-hash KEY` as pfctl makes it: a
// hex key (0x and 32 hex digits) is taken as it is; any other text is
// hashed with MD5 (regress pf36: "foobarlicious" prints as
// 0x4da8e393fd22f577426cfdf7fe52d3b0). pfctl draws a random key when the
// rule gives none; the caller does that with its own source, so that
// replay repeats.
func ParseHashKey(s string) (HashKey, error) {
	var k HashKey
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		h := s[2:]
		if len(h) != 32 {
			return k, errors.New("nat: hex hash key must have 32 digits")
		}
		if _, err := hex.Decode(k[:], []byte(h)); err != nil {
			return k, errors.New("nat: bad hex hash key")
		}
		return k, nil
	}
	return HashKey(md5.Sum([]byte(s))), nil
}

// mix is Bob Jenkins' 96-bit mix, as pf_lb.c has it (after bridge_hash).
func mix(a, b, c uint32) (uint32, uint32, uint32) {
	a -= b
	a -= c
	a ^= c >> 13
	b -= c
	b -= a
	b ^= a << 8
	c -= a
	c -= b
	c ^= b >> 13
	a -= b
	a -= c
	a ^= c >> 12
	b -= c
	b -= a
	b ^= a << 16
	c -= a
	c -= b
	c ^= b >> 5
	a -= b
	a -= c
	a ^= c >> 3
	b -= c
	b -= a
	b ^= a << 10
	c -= a
	c -= b
	c ^= b >> 15
	return a, b, c
}

// sourceHash returns pf_hash(addr, key) as an address of addr's family:
// pf_lb.c reads the address and key as 32-bit words in host order, so
// the words are taken little-endian here, as on amd64 and arm64.
// (inferred: the function was read, not run against a kernel.)
func sourceHash(addr netip.Addr, k *HashKey) netip.Addr {
	key := func(i int) uint32 { return binary.LittleEndian.Uint32(k[4*i:]) }
	a, b, c := uint32(0x9e3779b9), uint32(0x9e3779b9), key(0)
	if addr.Is4() {
		v := addr.As4()
		a += binary.LittleEndian.Uint32(v[:])
		b += key(1)
		_, _, c = mix(a, b, c)
		var out [4]byte
		binary.LittleEndian.PutUint32(out[:], c+key(2))
		return netip.AddrFrom4(out)
	}
	v := addr.As16()
	w := func(i int) uint32 { return binary.LittleEndian.Uint32(v[4*i:]) }
	var out [16]byte
	a += w(0)
	b += w(2)
	a, b, c = mix(a, b, c)
	binary.LittleEndian.PutUint32(out[0:], c)
	a += w(1)
	b += w(3)
	c += key(1)
	a, b, c = mix(a, b, c)
	binary.LittleEndian.PutUint32(out[4:], c)
	a += w(2)
	b += w(1)
	c += key(2)
	a, b, c = mix(a, b, c)
	binary.LittleEndian.PutUint32(out[8:], c)
	a += w(3)
	b += w(0)
	c += key(3)
	_, _, c = mix(a, b, c)
	binary.LittleEndian.PutUint32(out[12:], c)
	return netip.AddrFrom16(out)
}
