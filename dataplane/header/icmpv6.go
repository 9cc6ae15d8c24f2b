package header

import (
	"encoding/binary"
	"net/netip"
)

// ICMPv6 (RFC 4443 section 2.1). The layout of the first eight bytes is
// ICMP's; the four bytes after the checksum are an echo's identifier and
// sequence number, a packet too big message's MTU (32 bits), a parameter
// problem's pointer (32 bits), or reserved (neighbour discovery messages
// carry flags there, RFC 4861 section 4):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Code      |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Identifier / MTU / Pointer / Reserved / Flags        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Message Body ...
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The checksum covers the IPv6 pseudo-header (RFC 8200 section 8.1) and the
// whole message.
const (
	icmp6Type     = 0
	icmp6Code     = 1
	icmp6Checksum = 2
	icmp6Ident    = 4
	icmp6Seq      = 6
	icmp6MTU      = 4
	icmp6Pointer  = 4
)

// ICMPv6MinSize is the size of the ICMPv6 header with its four
// type-specific bytes.
const ICMPv6MinSize = 8

// ICMPv6Type is an ICMPv6 message type.
type ICMPv6Type uint8

// ICMPv6 message types (RFC 4443, RFC 4861 section 4).
const (
	ICMPv6DstUnreachable  ICMPv6Type = 1
	ICMPv6PacketTooBig    ICMPv6Type = 2
	ICMPv6TimeExceeded    ICMPv6Type = 3
	ICMPv6ParamProblem    ICMPv6Type = 4
	ICMPv6EchoRequest     ICMPv6Type = 128
	ICMPv6EchoReply       ICMPv6Type = 129
	ICMPv6RouterSolicit   ICMPv6Type = 133
	ICMPv6RouterAdvert    ICMPv6Type = 134
	ICMPv6NeighborSolicit ICMPv6Type = 135
	ICMPv6NeighborAdvert  ICMPv6Type = 136
	ICMPv6Redirect        ICMPv6Type = 137
)

// IsError reports whether t is an ICMPv6 error message: types 0-127
// (RFC 4443 section 2.1). No ICMPv6 error is ever sent about one.
func (t ICMPv6Type) IsError() bool { return t < 128 }

// ICMPv6Code is an ICMPv6 message code; its meaning depends on the type.
type ICMPv6Code uint8

// Destination unreachable codes (RFC 4443 section 3.1).
const (
	ICMPv6NoRoute            ICMPv6Code = 0
	ICMPv6AdminProhibited    ICMPv6Code = 1
	ICMPv6BeyondScope        ICMPv6Code = 2
	ICMPv6AddressUnreachable ICMPv6Code = 3
	ICMPv6PortUnreachable    ICMPv6Code = 4
	ICMPv6SrcAddrFailed      ICMPv6Code = 5
	ICMPv6RejectRoute        ICMPv6Code = 6
)

// Time exceeded codes (RFC 4443 section 3.3).
const (
	ICMPv6HopLimitExceeded   ICMPv6Code = 0
	ICMPv6ReassemblyExceeded ICMPv6Code = 1
)

// Parameter problem codes (RFC 4443 section 3.4).
const (
	ICMPv6ErroneousHeader    ICMPv6Code = 0
	ICMPv6UnknownNextHeader  ICMPv6Code = 1
	ICMPv6UnrecognizedOption ICMPv6Code = 2
)

// ICMPv6ErrorMax is the largest IPv6 packet carrying an ICMPv6 error: an
// error quotes as much of the offending packet as fits in the minimum MTU
// (RFC 4443 section 2.4 (c)).
const ICMPv6ErrorMax = IPv6MinMTU

// ICMPv6 is an ICMPv6 message. Its methods do not check bounds: call
// IsValid once before using them.
type ICMPv6 []byte

// IsValid reports whether h holds at least the ICMPv6 header.
func (h ICMPv6) IsValid() bool { return len(h) >= ICMPv6MinSize }

// Type returns the message type.
func (h ICMPv6) Type() ICMPv6Type { return ICMPv6Type(h[icmp6Type]) }

// Code returns the message code.
func (h ICMPv6) Code() ICMPv6Code { return ICMPv6Code(h[icmp6Code]) }

// Checksum returns the checksum field.
func (h ICMPv6) Checksum() uint16 { return binary.BigEndian.Uint16(h[icmp6Checksum:]) }

// Ident returns an echo message's identifier.
func (h ICMPv6) Ident() uint16 { return binary.BigEndian.Uint16(h[icmp6Ident:]) }

// Seq returns an echo message's sequence number.
func (h ICMPv6) Seq() uint16 { return binary.BigEndian.Uint16(h[icmp6Seq:]) }

// MTU returns a packet too big message's MTU.
func (h ICMPv6) MTU() uint32 { return binary.BigEndian.Uint32(h[icmp6MTU:]) }

// Pointer returns a parameter problem's pointer.
func (h ICMPv6) Pointer() uint32 { return binary.BigEndian.Uint32(h[icmp6Pointer:]) }

// Payload returns what follows the eight-byte header.
func (h ICMPv6) Payload() []byte { return h[ICMPv6MinSize:] }

// SetType sets the message type.
func (h ICMPv6) SetType(t ICMPv6Type) { h[icmp6Type] = uint8(t) }

// SetCode sets the message code.
func (h ICMPv6) SetCode(c ICMPv6Code) { h[icmp6Code] = uint8(c) }

// SetChecksum sets the checksum field.
func (h ICMPv6) SetChecksum(v uint16) { binary.BigEndian.PutUint16(h[icmp6Checksum:], v) }

// SetIdent sets an echo message's identifier.
func (h ICMPv6) SetIdent(v uint16) { binary.BigEndian.PutUint16(h[icmp6Ident:], v) }

// SetSeq sets an echo message's sequence number.
func (h ICMPv6) SetSeq(v uint16) { binary.BigEndian.PutUint16(h[icmp6Seq:], v) }

// SetMTU sets a packet too big message's MTU.
func (h ICMPv6) SetMTU(v uint32) { binary.BigEndian.PutUint32(h[icmp6MTU:], v) }

// SetPointer sets a parameter problem's pointer.
func (h ICMPv6) SetPointer(v uint32) { binary.BigEndian.PutUint32(h[icmp6Pointer:], v) }

// ComputeChecksum returns the checksum of the whole message h sent from src
// to dst, skipping the checksum field. It does not allocate.
func (h ICMPv6) ComputeChecksum(src, dst netip.Addr) uint16 {
	s := PseudoHeaderChecksum(ProtoICMPv6, src, dst, uint32(len(h)))
	s = Checksum(h[:icmp6Checksum], s)
	s = Checksum(h[icmp6Checksum+2:], s)
	return ^s
}

// UpdateChecksum sets the checksum field for a message from src to dst.
func (h ICMPv6) UpdateChecksum(src, dst netip.Addr) { h.SetChecksum(h.ComputeChecksum(src, dst)) }

// IsChecksumValid reports whether the checksum of a message from src to dst
// is right.
func (h ICMPv6) IsChecksumValid(src, dst netip.Addr) bool {
	s := PseudoHeaderChecksum(ProtoICMPv6, src, dst, uint32(len(h)))
	return Checksum(h, s) == 0xffff
}

// ICMPv6Fields holds an ICMPv6 header to encode. Rest is the four
// type-specific bytes as one word: ident<<16|seq for echo, the MTU for
// packet too big, the pointer for parameter problem, flags<<24 for a
// neighbour advertisement, 0 otherwise.
type ICMPv6Fields struct {
	Type ICMPv6Type
	Code ICMPv6Code
	Rest uint32
}

// Encode writes f into the first ICMPv6MinSize bytes of h and then sets the
// checksum over all of h for a message from src to dst, so the body must
// already be in place. It does not allocate.
func (h ICMPv6) Encode(f *ICMPv6Fields, src, dst netip.Addr) {
	h.SetType(f.Type)
	h.SetCode(f.Code)
	binary.BigEndian.PutUint32(h[icmp6Ident:], f.Rest)
	h.UpdateChecksum(src, dst)
}
