package header

import (
	"encoding/binary"
	"net/netip"
)

// IPv4 header (RFC 791 section 3.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version|  IHL  |Type of Service|          Total Length         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Identification        |Flags|      Fragment Offset    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Time to Live |    Protocol   |         Header Checksum       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       Source Address                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Destination Address                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Options                    |    Padding    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	ipv4VersIHL   = 0
	ipv4TOS       = 1
	ipv4TotalLen  = 2
	ipv4ID        = 4
	ipv4FlagsFrag = 6
	ipv4TTL       = 8
	ipv4Protocol  = 9
	ipv4Checksum  = 10
	ipv4Src       = 12
	ipv4Dst       = 16
)

// IPv4 sizes.
const (
	IPv4MinSize     = 20    // a header without options
	IPv4MaxSize     = 60    // a header with 40 bytes of options
	IPv4MaxTotalLen = 65535 // the largest datagram
	IPv4AddrSize    = 4
)

// IPv4 flags, as Flags returns them (the top three bits of the sixth
// 16-bit word, shifted down).
const (
	IPv4FlagMF uint8 = 1 << 0 // more fragments
	IPv4FlagDF uint8 = 1 << 1 // don't fragment
	IPv4FlagRF uint8 = 1 << 2 // reserved, must be zero
)

// IP protocol numbers (IANA "Assigned Internet Protocol Numbers"), used in
// the IPv4 protocol field and the IPv6 next header field.
const (
	ProtoHopByHop   uint8 = 0
	ProtoICMP       uint8 = 1
	ProtoIGMP       uint8 = 2
	ProtoIPv4       uint8 = 4 // IP in IP
	ProtoTCP        uint8 = 6
	ProtoUDP        uint8 = 17
	ProtoIPv6       uint8 = 41
	ProtoRouting    uint8 = 43 // IPv6 routing header
	ProtoFragment   uint8 = 44 // IPv6 fragment header
	ProtoGRE        uint8 = 47
	ProtoESP        uint8 = 50
	ProtoAH         uint8 = 51
	ProtoICMPv6     uint8 = 58
	ProtoNoNext     uint8 = 59 // IPv6 no next header
	ProtoDstOpts    uint8 = 60 // IPv6 destination options
	ProtoSCTP       uint8 = 132
	ProtoMobility   uint8 = 135 // IPv6 mobility header
	ProtoUDPLite    uint8 = 136
	ProtoHIP        uint8 = 139
	ProtoShim6      uint8 = 140
	ProtoExperiment uint8 = 253 // RFC 3692 experimentation, also an IPv6 extension header
)

// IPv4 is an IPv4 header, with its options and, if the slice goes on, the
// payload. Its methods do not check bounds: call IsValid once before using
// them.
type IPv4 []byte

// IsValid reports whether h holds a plausible IPv4 header of a datagram
// that fits in n bytes, as OpenBSD's ipv4_check has it: at least
// IPv4MinSize bytes, version 4, a header length (IHL) of at least 20 bytes
// that fits in h, and a total length no shorter than the header and no
// longer than n. n is usually len(h); bytes of h beyond the total length
// are padding or an Ethernet trailer. OpenBSD's ipv4_check is all of
// IsValid(n), IsChecksumValid and HasValidAddrs.
func (h IPv4) IsValid(n int) bool {
	if len(h) < IPv4MinSize || h[ipv4VersIHL]>>4 != 4 {
		return false
	}
	hl := int(h[ipv4VersIHL]&0x0f) * 4
	tl := int(binary.BigEndian.Uint16(h[ipv4TotalLen:]))
	return hl >= IPv4MinSize && hl <= len(h) && tl >= hl && tl <= n
}

// HasValidAddrs reports whether neither address is in 127.0.0.0/8, which
// must not appear on a wire (RFC 1122 section 3.2.1.3); ipv4_check drops
// such packets on any interface but loopback.
func (h IPv4) HasValidAddrs() bool { return h[ipv4Src] != 127 && h[ipv4Dst] != 127 }

// Version returns the version field (4 for a valid header).
func (h IPv4) Version() uint8 { return h[ipv4VersIHL] >> 4 }

// IHL returns the Internet Header Length field, in 32-bit words.
func (h IPv4) IHL() uint8 { return h[ipv4VersIHL] & 0x0f }

// HeaderLen returns the header length in bytes (IHL * 4).
func (h IPv4) HeaderLen() int { return int(h[ipv4VersIHL]&0x0f) * 4 }

// TOS returns the Type of Service byte (DSCP and ECN).
func (h IPv4) TOS() uint8 { return h[ipv4TOS] }

// TotalLen returns the Total Length field: header and data, in bytes.
func (h IPv4) TotalLen() uint16 { return binary.BigEndian.Uint16(h[ipv4TotalLen:]) }

// ID returns the Identification field.
func (h IPv4) ID() uint16 { return binary.BigEndian.Uint16(h[ipv4ID:]) }

// Flags returns the three flag bits (IPv4FlagMF, IPv4FlagDF, IPv4FlagRF).
func (h IPv4) Flags() uint8 { return h[ipv4FlagsFrag] >> 5 }

// DF reports whether the Don't Fragment flag is set.
func (h IPv4) DF() bool { return h[ipv4FlagsFrag]&0x40 != 0 }

// MF reports whether the More Fragments flag is set.
func (h IPv4) MF() bool { return h[ipv4FlagsFrag]&0x20 != 0 }

// FragOff returns the fragment offset in bytes (the field times 8).
func (h IPv4) FragOff() uint16 {
	return (binary.BigEndian.Uint16(h[ipv4FlagsFrag:]) & 0x1fff) << 3
}

// IsFragment reports whether h is a fragment: MF set or a non-zero offset.
func (h IPv4) IsFragment() bool {
	return binary.BigEndian.Uint16(h[ipv4FlagsFrag:])&0x3fff != 0
}

// TTL returns the Time to Live.
func (h IPv4) TTL() uint8 { return h[ipv4TTL] }

// Protocol returns the protocol of the payload (ProtoTCP, ...).
func (h IPv4) Protocol() uint8 { return h[ipv4Protocol] }

// Checksum returns the Header Checksum field.
func (h IPv4) Checksum() uint16 { return binary.BigEndian.Uint16(h[ipv4Checksum:]) }

// Src returns the source address.
func (h IPv4) Src() netip.Addr { return netip.AddrFrom4([4]byte(h[ipv4Src : ipv4Src+4])) }

// Dst returns the destination address.
func (h IPv4) Dst() netip.Addr { return netip.AddrFrom4([4]byte(h[ipv4Dst : ipv4Dst+4])) }

// Options returns the options (empty when IHL is 5). The slice aliases h.
func (h IPv4) Options() []byte { return h[IPv4MinSize:h.HeaderLen()] }

// HasValidOptions reports whether the options are well formed (RFC 791
// section 3.1): each is End of Option List (which ends them), No
// Operation, or a type, a length of at least 2 and that many bytes in all,
// within the header. It does not judge what the options say.
func (h IPv4) HasValidOptions() bool {
	o := h[IPv4MinSize:h.HeaderLen()]
	for len(o) > 0 {
		switch o[0] {
		case 0: // End of Option List
			return true
		case 1: // No Operation
			o = o[1:]
		default:
			if len(o) < 2 || o[1] < 2 || int(o[1]) > len(o) {
				return false
			}
			o = o[o[1]:]
		}
	}
	return true
}

// Payload returns the data after the header up to the total length. The
// slice aliases h.
func (h IPv4) Payload() []byte { return h[h.HeaderLen():h.TotalLen()] }

// SetVersionIHL sets the version to 4 and the header length to hl bytes
// (a multiple of 4 from 20 to 60).
func (h IPv4) SetVersionIHL(hl int) { h[ipv4VersIHL] = 4<<4 | uint8(hl/4)&0x0f }

// SetTOS sets the Type of Service byte.
func (h IPv4) SetTOS(v uint8) { h[ipv4TOS] = v }

// SetTotalLen sets the Total Length field.
func (h IPv4) SetTotalLen(v uint16) { binary.BigEndian.PutUint16(h[ipv4TotalLen:], v) }

// SetID sets the Identification field.
func (h IPv4) SetID(v uint16) { binary.BigEndian.PutUint16(h[ipv4ID:], v) }

// SetFlagsFragOff sets the flags (IPv4Flag*) and the fragment offset in
// bytes (a multiple of 8).
func (h IPv4) SetFlagsFragOff(flags uint8, off uint16) {
	binary.BigEndian.PutUint16(h[ipv4FlagsFrag:], uint16(flags&7)<<13|(off>>3)&0x1fff)
}

// SetTTL sets the Time to Live.
func (h IPv4) SetTTL(v uint8) { h[ipv4TTL] = v }

// SetProtocol sets the protocol field.
func (h IPv4) SetProtocol(v uint8) { h[ipv4Protocol] = v }

// SetChecksum sets the Header Checksum field.
func (h IPv4) SetChecksum(v uint16) { binary.BigEndian.PutUint16(h[ipv4Checksum:], v) }

// SetSrc sets the source address, which must be an IPv4 address.
func (h IPv4) SetSrc(a netip.Addr) { v := a.As4(); copy(h[ipv4Src:], v[:]) }

// SetDst sets the destination address, which must be an IPv4 address.
func (h IPv4) SetDst(a netip.Addr) { v := a.As4(); copy(h[ipv4Dst:], v[:]) }

// ComputeChecksum returns the value the Header Checksum field should hold,
// computed over the header (options included) as if the field were zero.
func (h IPv4) ComputeChecksum() uint16 {
	hl := h.HeaderLen()
	s := Checksum(h[:ipv4Checksum], 0 /* initial */)
	s = Checksum(h[ipv4Checksum+2:hl], s)
	return ^s
}

// UpdateChecksum sets the Header Checksum field to ComputeChecksum.
func (h IPv4) UpdateChecksum() { h.SetChecksum(h.ComputeChecksum()) }

// IsChecksumValid reports whether the header, options included, sums to
// 0xffff, as a header with a correct checksum does.
func (h IPv4) IsChecksumValid() bool {
	return Checksum(h[:h.HeaderLen()], 0 /* initial */) == 0xffff
}

// DecTTL decrements the TTL by one and updates the header checksum
// incrementally (RFC 1624). The caller checks that the TTL is above 1.
func (h IPv4) DecTTL() {
	old := binary.BigEndian.Uint16(h[ipv4TTL:])
	h[ipv4TTL]--
	h.SetChecksum(Update16(h.Checksum(), old, binary.BigEndian.Uint16(h[ipv4TTL:])))
}

// PseudoHeaderChecksum returns the sum of the transport pseudo-header for
// this datagram (source, destination, protocol and the payload length from
// the header).
func (h IPv4) PseudoHeaderChecksum() uint16 {
	return PseudoHeaderChecksum(h.Protocol(), h.Src(), h.Dst(), uint32(int(h.TotalLen())-h.HeaderLen()))
}

// IPv4Fields are the fields of an IPv4 header, for Encode. Building headers
// is for tests and ICMP errors, never the forwarding path.
type IPv4Fields struct {
	TOS      uint8
	TotalLen uint16
	ID       uint16
	Flags    uint8  // IPv4Flag*
	FragOff  uint16 // in bytes, a multiple of 8
	TTL      uint8
	Protocol uint8
	Src      netip.Addr
	Dst      netip.Addr
	Options  []byte // a multiple of 4 bytes, at most 40
}

// Encode writes f into h, which must have room for IPv4MinSize plus the
// options, and sets the header checksum.
func (h IPv4) Encode(f *IPv4Fields) {
	hl := IPv4MinSize + len(f.Options)
	h.SetVersionIHL(hl)
	h.SetTOS(f.TOS)
	h.SetTotalLen(f.TotalLen)
	h.SetID(f.ID)
	h.SetFlagsFragOff(f.Flags, f.FragOff)
	h.SetTTL(f.TTL)
	h.SetProtocol(f.Protocol)
	h.SetChecksum(0)
	h.SetSrc(f.Src)
	h.SetDst(f.Dst)
	copy(h[IPv4MinSize:hl], f.Options)
	h.UpdateChecksum()
}
