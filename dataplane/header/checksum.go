package header

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// The Internet checksum (RFC 1071) is the ones' complement of the ones'
// complement sum of the data taken as 16-bit big-endian words. The functions
// here work on the sum itself, not its complement, so that sums of separate
// pieces (a pseudo-header, a header, a payload) can be combined; the value
// written into a checksum field is the complement of the final sum:
//
//	sum := header.PseudoHeaderChecksum(header.ProtoUDP, src, dst, n)
//	sum = header.Checksum(udp[:n], sum)
//	udp.SetChecksum(^sum)
//
// A datagram whose checksum field is right sums to 0xffff.

// Checksum returns the ones' complement sum of b, added to initial, folded
// to 16 bits. An odd final byte is padded with a zero byte, as RFC 1071
// says, so only the last piece of a combined sum may have an odd length.
// It does not allocate.
func Checksum(b []byte, initial uint16) uint16 {
	var sum, carry uint64
	sum = uint64(initial)
	// Add 64-bit big-endian words with end-around carry: the ones'
	// complement sum is independent of the word size it is computed in
	// (RFC 1071 section 2(C)), so the 64-bit sum folds to the 16-bit one.
	for len(b) >= 32 {
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[0:]), 0)
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[8:]), carry)
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[16:]), carry)
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[24:]), carry)
		sum += carry
		b = b[32:]
	}
	for len(b) >= 8 {
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b), 0)
		sum += carry
		b = b[8:]
	}
	if len(b) >= 4 {
		sum, carry = bits.Add64(sum, uint64(binary.BigEndian.Uint32(b)), 0)
		sum += carry
		b = b[4:]
	}
	if len(b) >= 2 {
		sum, carry = bits.Add64(sum, uint64(binary.BigEndian.Uint16(b)), 0)
		sum += carry
		b = b[2:]
	}
	if len(b) == 1 {
		sum, carry = bits.Add64(sum, uint64(b[0])<<8, 0)
		sum += carry
	}
	return fold64(sum)
}

// fold64 folds a 64-bit ones' complement sum to 16 bits.
func fold64(s uint64) uint16 {
	s = (s >> 32) + (s & 0xffffffff)
	s = (s >> 32) + (s & 0xffffffff)
	return fold32(uint32(s))
}

// fold32 folds a 32-bit ones' complement sum to 16 bits.
func fold32(s uint32) uint16 {
	s = (s >> 16) + (s & 0xffff)
	s = (s >> 16) + (s & 0xffff)
	return uint16(s)
}

// Combine returns the ones' complement sum of two sums.
func Combine(a, b uint16) uint16 {
	return fold32(uint32(a) + uint32(b))
}

// PseudoHeaderChecksum returns the sum of the pseudo-header that TCP, UDP
// and ICMPv6 checksums cover: for IPv4 (RFC 793 section 3.1, RFC 768)
// source, destination, protocol and the transport length; for IPv6
// (RFC 8200 section 8.1) the same with 128-bit addresses. src and dst must
// be of the same family; length is the transport header plus payload. It
// does not allocate.
func PseudoHeaderChecksum(proto uint8, src, dst netip.Addr, length uint32) uint16 {
	sum := addrSum(src) + addrSum(dst) + uint64(proto) + uint64(length>>16) + uint64(length&0xffff)
	return fold64(sum)
}

// addrSum returns the unfolded sum of a's 16-bit words (at most eight
// words, so it cannot overflow 64 bits).
func addrSum(a netip.Addr) uint64 {
	if a.Is4() {
		v := a.As4()
		return uint64(binary.BigEndian.Uint32(v[:]))>>16&0xffff + uint64(binary.BigEndian.Uint16(v[2:]))
	}
	v := a.As16()
	return wordSum(binary.BigEndian.Uint64(v[:8])) + wordSum(binary.BigEndian.Uint64(v[8:]))
}

// wordSum returns the sum of the four 16-bit words of x.
func wordSum(x uint64) uint64 {
	return x>>48 + x>>32&0xffff + x>>16&0xffff + x&0xffff
}

// Update16 returns checksum field value check after a 16-bit word covered by
// it changes from old to new, by RFC 1624 equation 3: HC' = ~(~HC + ~m + m').
// It does not allocate.
func Update16(check, old, new uint16) uint16 {
	return ^fold32(uint32(^check) + uint32(^old) + uint32(new))
}

// Update32 is Update16 for a 32-bit word (two adjacent 16-bit words, such
// as a TCP sequence number or an IPv4 address) changing from old to new.
func Update32(check uint16, old, new uint32) uint16 {
	s := uint32(^check) +
		uint32(^uint16(old>>16)) + uint32(^uint16(old)) +
		uint32(uint16(new>>16)) + uint32(uint16(new))
	return ^fold32(s)
}

// UpdateAddr is Update16 for an address covered by the checksum (the IPv4
// header checksum, or a TCP, UDP or ICMPv6 pseudo-header) changing from old
// to new. Both must be of the same family.
func UpdateAddr(check uint16, old, new netip.Addr) uint16 {
	// ~m for each word of old: the sum of ~w over k words is
	// k*0xffff - sum(w), computed without going negative.
	n := uint64(2)
	if old.Is6() {
		n = 8
	}
	s := uint64(^check) + n*0xffff - addrSum(old) + addrSum(new)
	return ^fold64(s)
}

// UpdateByte is Update16 for one byte at offset off in the data covered by
// the checksum (a TTL, a protocol number): an even offset is the high half
// of its 16-bit word, an odd one the low half.
func UpdateByte(check uint16, off int, old, new uint8) uint16 {
	if off%2 == 0 {
		return Update16(check, uint16(old)<<8, uint16(new)<<8)
	}
	return Update16(check, uint16(old), uint16(new))
}
