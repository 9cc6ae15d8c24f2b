package header

import (
	"encoding/binary"
	"net/netip"
)

// IPv6 header (RFC 8200 section 3):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version| Traffic Class |           Flow Label                  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Payload Length        |  Next Header  |   Hop Limit   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	+                                                               +
//	|                                                               |
//	+                         Source Address                        +
//	|                                                               |
//	+                                                               +
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	+                                                               +
//	|                                                               |
//	+                      Destination Address                      +
//	|                                                               |
//	+                                                               +
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	ipv6VersTCFlow = 0
	ipv6PayloadLen = 4
	ipv6NextHeader = 6
	ipv6HopLimit   = 7
	ipv6Src        = 8
	ipv6Dst        = 24
)

// IPv6 sizes.
const (
	IPv6Size     = 40 // the fixed header
	IPv6AddrSize = 16
	// IPv6MinMTU is the smallest link MTU IPv6 allows (RFC 8200 section 5).
	IPv6MinMTU = 1280
)

// IPv6 extension headers (RFC 8200 section 4) are the next header values
// ProtoHopByHop, ProtoRouting, ProtoFragment, ProtoDstOpts, ProtoAH,
// ProtoESP, ProtoMobility, ProtoHIP, ProtoShim6 and ProtoExperiment (and
// 254). ESP encrypts what follows it, so a parser stops there, as it does at
// ProtoNoNext.

// IsIPv6ExtHeader reports whether next header value p names an IPv6
// extension header whose length a parser can read to skip it: every
// extension header but ESP (whose payload is opaque) and no next header.
func IsIPv6ExtHeader(p uint8) bool {
	switch p {
	case ProtoHopByHop, ProtoRouting, ProtoFragment, ProtoDstOpts, ProtoAH,
		ProtoMobility, ProtoHIP, ProtoShim6, ProtoExperiment, ProtoExperiment + 1:
		return true
	}
	return false
}

// IPv6ExtHeaderLen returns the length in bytes of the extension header of
// type p whose first two bytes are b[0] (next header) and b[1] (length): 8
// for a fragment header, (b[1]+2)*4 for AH (RFC 4302 section 2.2), and
// (b[1]+1)*8 for the others (RFC 8200 section 4.3). b must hold at
// least 2 bytes.
func IPv6ExtHeaderLen(p uint8, b []byte) int {
	switch p {
	case ProtoFragment:
		return IPv6FragmentSize
	case ProtoAH:
		return (int(b[1]) + 2) * 4
	}
	return (int(b[1]) + 1) * 8
}

// IPv6 is an IPv6 header and, if the slice goes on, the payload. Its
// methods do not check bounds: call IsValid once before using them.
type IPv6 []byte

// IsValid reports whether h holds an IPv6 header of a datagram that fits
// in n bytes: at least IPv6Size bytes, version 6, and 40 plus the payload
// length no longer than n. A payload length of 0 is taken as it stands
// (jumbograms, RFC 2675, are not supported). n is usually len(h); bytes of
// h beyond the payload are padding or an Ethernet trailer. The address
// checks of OpenBSD's ipv6_check are HasValidAddrs.
func (h IPv6) IsValid(n int) bool {
	if len(h) < IPv6Size || h[ipv6VersTCFlow]>>4 != 6 {
		return false
	}
	return IPv6Size+int(binary.BigEndian.Uint16(h[ipv6PayloadLen:])) <= n
}

// HasValidAddrs reports whether the addresses pass OpenBSD's ipv6_check
// for a packet received on a non-loopback interface: the source is not
// multicast, the destination not unspecified, neither is loopback,
// IPv4-mapped or IPv4-compatible, and the destination is not
// interface-local multicast. Such packets are spoofed or corrupt.
func (h IPv6) HasValidAddrs() bool {
	src := h[ipv6Src : ipv6Src+16]
	dst := h[ipv6Dst : ipv6Dst+16]
	if src[0] == 0xff || isUnspecified6(dst) {
		return false
	}
	if isLoopback6(src) || isLoopback6(dst) {
		return false
	}
	if dst[0] == 0xff && dst[1]&0x0f == 1 {
		return false // ff01::/16, interface-local
	}
	return !isV4Mapped6(src) && !isV4Mapped6(dst) && !isV4Compat6(src) && !isV4Compat6(dst)
}

func zero64(b []byte) bool { return binary.BigEndian.Uint64(b) == 0 }

func isUnspecified6(a []byte) bool { return zero64(a[0:]) && zero64(a[8:]) }

func isLoopback6(a []byte) bool {
	return zero64(a[0:]) && binary.BigEndian.Uint64(a[8:]) == 1
}

func isV4Mapped6(a []byte) bool {
	return zero64(a[0:]) && binary.BigEndian.Uint32(a[8:]) == 0xffff
}

// isV4Compat6 is ::a.b.c.d, other than :: and ::1 (RFC 4291 section 2.5.5.1).
func isV4Compat6(a []byte) bool {
	return zero64(a[0:]) && binary.BigEndian.Uint32(a[8:]) == 0 && binary.BigEndian.Uint32(a[12:]) > 1
}

// Version returns the version field (6 for a valid header).
func (h IPv6) Version() uint8 { return h[ipv6VersTCFlow] >> 4 }

// TrafficClass returns the Traffic Class (DSCP and ECN).
func (h IPv6) TrafficClass() uint8 {
	return uint8(binary.BigEndian.Uint16(h[ipv6VersTCFlow:]) >> 4)
}

// FlowLabel returns the 20-bit Flow Label.
func (h IPv6) FlowLabel() uint32 {
	return binary.BigEndian.Uint32(h[ipv6VersTCFlow:]) & 0x000fffff
}

// PayloadLen returns the Payload Length: the bytes after the fixed header,
// extension headers included.
func (h IPv6) PayloadLen() uint16 { return binary.BigEndian.Uint16(h[ipv6PayloadLen:]) }

// NextHeader returns the type of the header after the fixed one.
func (h IPv6) NextHeader() uint8 { return h[ipv6NextHeader] }

// HopLimit returns the Hop Limit.
func (h IPv6) HopLimit() uint8 { return h[ipv6HopLimit] }

// Src returns the source address.
func (h IPv6) Src() netip.Addr { return netip.AddrFrom16([16]byte(h[ipv6Src : ipv6Src+16])) }

// Dst returns the destination address.
func (h IPv6) Dst() netip.Addr { return netip.AddrFrom16([16]byte(h[ipv6Dst : ipv6Dst+16])) }

// Payload returns the bytes after the fixed header up to the payload
// length. The slice aliases h.
func (h IPv6) Payload() []byte { return h[IPv6Size : IPv6Size+int(h.PayloadLen())] }

// SetVersionTCFlow sets the version to 6, the traffic class and the flow
// label.
func (h IPv6) SetVersionTCFlow(tc uint8, flow uint32) {
	binary.BigEndian.PutUint32(h[ipv6VersTCFlow:], 6<<28|uint32(tc)<<20|flow&0x000fffff)
}

// SetTrafficClass sets the Traffic Class, keeping version and flow label.
func (h IPv6) SetTrafficClass(tc uint8) {
	v := binary.BigEndian.Uint32(h[ipv6VersTCFlow:])
	binary.BigEndian.PutUint32(h[ipv6VersTCFlow:], v&^0x0ff00000|uint32(tc)<<20)
}

// SetPayloadLen sets the Payload Length.
func (h IPv6) SetPayloadLen(v uint16) { binary.BigEndian.PutUint16(h[ipv6PayloadLen:], v) }

// SetNextHeader sets the Next Header.
func (h IPv6) SetNextHeader(v uint8) { h[ipv6NextHeader] = v }

// SetHopLimit sets the Hop Limit.
func (h IPv6) SetHopLimit(v uint8) { h[ipv6HopLimit] = v }

// SetSrc sets the source address, which must be an IPv6 address.
func (h IPv6) SetSrc(a netip.Addr) { v := a.As16(); copy(h[ipv6Src:], v[:]) }

// SetDst sets the destination address, which must be an IPv6 address.
func (h IPv6) SetDst(a netip.Addr) { v := a.As16(); copy(h[ipv6Dst:], v[:]) }

// IPv6Fields are the fields of an IPv6 header, for Encode. Building headers
// is for tests and ICMP errors, never the forwarding path.
type IPv6Fields struct {
	TrafficClass uint8
	FlowLabel    uint32
	PayloadLen   uint16
	NextHeader   uint8
	HopLimit     uint8
	Src          netip.Addr
	Dst          netip.Addr
}

// Encode writes f into h, which must have room for IPv6Size bytes.
func (h IPv6) Encode(f *IPv6Fields) {
	h.SetVersionTCFlow(f.TrafficClass, f.FlowLabel)
	h.SetPayloadLen(f.PayloadLen)
	h.SetNextHeader(f.NextHeader)
	h.SetHopLimit(f.HopLimit)
	h.SetSrc(f.Src)
	h.SetDst(f.Dst)
}

// IPv6 fragment header (RFC 8200 section 4.5):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Identification                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	ipv6FragNext  = 0
	ipv6FragOffM  = 2
	ipv6FragIdent = 4
)

// IPv6FragmentSize is the size of an IPv6 fragment header.
const IPv6FragmentSize = 8

// IPv6Fragment is an IPv6 fragment extension header. Its methods do not
// check bounds: the caller checks len >= IPv6FragmentSize.
type IPv6Fragment []byte

// NextHeader returns the type of the header after the fragment header.
func (h IPv6Fragment) NextHeader() uint8 { return h[ipv6FragNext] }

// FragOff returns the fragment offset in bytes (the field times 8).
func (h IPv6Fragment) FragOff() uint16 {
	return binary.BigEndian.Uint16(h[ipv6FragOffM:]) &^ 7
}

// More reports whether the M (more fragments) flag is set.
func (h IPv6Fragment) More() bool { return h[ipv6FragOffM+1]&1 != 0 }

// ID returns the Identification field.
func (h IPv6Fragment) ID() uint32 { return binary.BigEndian.Uint32(h[ipv6FragIdent:]) }

// Encode writes a fragment header: next header, the offset in bytes (a
// multiple of 8), the M flag and the identification.
func (h IPv6Fragment) Encode(next uint8, off uint16, more bool, id uint32) {
	h[ipv6FragNext] = next
	h[1] = 0
	v := off &^ 7
	if more {
		v |= 1
	}
	binary.BigEndian.PutUint16(h[ipv6FragOffM:], v)
	binary.BigEndian.PutUint32(h[ipv6FragIdent:], id)
}
