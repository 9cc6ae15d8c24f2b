package header

import "encoding/binary"

// ICMP for IPv4 (RFC 792). Every message starts with type, code and
// checksum; the next four bytes depend on the type (an echo's identifier and
// sequence number, the next-hop MTU of fragmentation needed (RFC 1191), a
// parameter problem's pointer) and the data follows:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Code      |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Identifier / unused / Pointer| Sequence Number / Next-Hop MTU|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Data (echo) or Internet Header + 64 bits of Data (errors)  ...
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The checksum covers the whole ICMP message and no pseudo-header.
const (
	icmpType     = 0
	icmpCode     = 1
	icmpChecksum = 2
	icmpIdent    = 4
	icmpSeq      = 6
	icmpPointer  = 4
	icmpMTU      = 6
)

// ICMPv4MinSize is the size of the ICMP header: type, code, checksum and
// the four type-specific bytes.
const ICMPv4MinSize = 8

// ICMPv4Type is an ICMP message type.
type ICMPv4Type uint8

// ICMP message types (RFC 792, RFC 1122, RFC 1256).
const (
	ICMPv4EchoReply      ICMPv4Type = 0
	ICMPv4DstUnreachable ICMPv4Type = 3
	ICMPv4SourceQuench   ICMPv4Type = 4
	ICMPv4Redirect       ICMPv4Type = 5
	ICMPv4Echo           ICMPv4Type = 8
	ICMPv4RouterAdvert   ICMPv4Type = 9
	ICMPv4RouterSolicit  ICMPv4Type = 10
	ICMPv4TimeExceeded   ICMPv4Type = 11
	ICMPv4ParamProblem   ICMPv4Type = 12
	ICMPv4Timestamp      ICMPv4Type = 13
	ICMPv4TimestampReply ICMPv4Type = 14
	ICMPv4InfoRequest    ICMPv4Type = 15
	ICMPv4InfoReply      ICMPv4Type = 16
	ICMPv4MaskRequest    ICMPv4Type = 17
	ICMPv4MaskReply      ICMPv4Type = 18
)

// IsError reports whether t is an ICMP error message (RFC 1122 section
// 3.2.2): destination unreachable, source quench, redirect, time exceeded
// or parameter problem. No ICMP error is ever sent about one.
func (t ICMPv4Type) IsError() bool {
	switch t {
	case ICMPv4DstUnreachable, ICMPv4SourceQuench, ICMPv4Redirect,
		ICMPv4TimeExceeded, ICMPv4ParamProblem:
		return true
	}
	return false
}

// ICMPv4Code is an ICMP message code; its meaning depends on the type.
type ICMPv4Code uint8

// Destination unreachable codes (RFC 792, RFC 1122, RFC 1812).
const (
	ICMPv4NetUnreachable      ICMPv4Code = 0
	ICMPv4HostUnreachable     ICMPv4Code = 1
	ICMPv4ProtoUnreachable    ICMPv4Code = 2
	ICMPv4PortUnreachable     ICMPv4Code = 3
	ICMPv4FragmentationNeeded ICMPv4Code = 4
	ICMPv4SourceRouteFailed   ICMPv4Code = 5
	ICMPv4NetProhibited       ICMPv4Code = 9
	ICMPv4HostProhibited      ICMPv4Code = 10
	ICMPv4AdminProhibited     ICMPv4Code = 13
)

// Time exceeded codes (RFC 792).
const (
	ICMPv4TTLExceeded        ICMPv4Code = 0
	ICMPv4ReassemblyExceeded ICMPv4Code = 1
)

// ICMPv4 is an ICMP message. Its methods do not check bounds: call IsValid
// once before using them.
type ICMPv4 []byte

// IsValid reports whether h holds at least the ICMP header.
func (h ICMPv4) IsValid() bool { return len(h) >= ICMPv4MinSize }

// Type returns the message type.
func (h ICMPv4) Type() ICMPv4Type { return ICMPv4Type(h[icmpType]) }

// Code returns the message code.
func (h ICMPv4) Code() ICMPv4Code { return ICMPv4Code(h[icmpCode]) }

// Checksum returns the checksum field.
func (h ICMPv4) Checksum() uint16 { return binary.BigEndian.Uint16(h[icmpChecksum:]) }

// Ident returns an echo or timestamp message's identifier.
func (h ICMPv4) Ident() uint16 { return binary.BigEndian.Uint16(h[icmpIdent:]) }

// Seq returns an echo or timestamp message's sequence number.
func (h ICMPv4) Seq() uint16 { return binary.BigEndian.Uint16(h[icmpSeq:]) }

// MTU returns the next-hop MTU of a fragmentation-needed message
// (RFC 1191 section 4).
func (h ICMPv4) MTU() uint16 { return binary.BigEndian.Uint16(h[icmpMTU:]) }

// Pointer returns a parameter problem's pointer to the offending octet.
func (h ICMPv4) Pointer() uint8 { return h[icmpPointer] }

// Payload returns what follows the header: an echo's data or an error's
// quoted datagram.
func (h ICMPv4) Payload() []byte { return h[ICMPv4MinSize:] }

// SetType sets the message type.
func (h ICMPv4) SetType(t ICMPv4Type) { h[icmpType] = uint8(t) }

// SetCode sets the message code.
func (h ICMPv4) SetCode(c ICMPv4Code) { h[icmpCode] = uint8(c) }

// SetChecksum sets the checksum field.
func (h ICMPv4) SetChecksum(v uint16) { binary.BigEndian.PutUint16(h[icmpChecksum:], v) }

// SetIdent sets an echo message's identifier.
func (h ICMPv4) SetIdent(v uint16) { binary.BigEndian.PutUint16(h[icmpIdent:], v) }

// SetSeq sets an echo message's sequence number.
func (h ICMPv4) SetSeq(v uint16) { binary.BigEndian.PutUint16(h[icmpSeq:], v) }

// SetMTU sets a fragmentation-needed message's next-hop MTU; the unused
// half before it is the caller's to zero.
func (h ICMPv4) SetMTU(v uint16) { binary.BigEndian.PutUint16(h[icmpMTU:], v) }

// SetPointer sets a parameter problem's pointer.
func (h ICMPv4) SetPointer(v uint8) { h[icmpPointer] = v }

// ComputeChecksum returns the checksum of the whole message h, skipping the
// checksum field itself. It does not allocate.
func (h ICMPv4) ComputeChecksum() uint16 {
	s := Checksum(h[:icmpChecksum], 0 /* initial */)
	s = Checksum(h[icmpChecksum+2:], s)
	return ^s
}

// UpdateChecksum sets the checksum field from the message's contents.
func (h ICMPv4) UpdateChecksum() { h.SetChecksum(h.ComputeChecksum()) }

// IsChecksumValid reports whether the message's checksum is right.
func (h ICMPv4) IsChecksumValid() bool { return Checksum(h, 0 /* initial */) == 0xffff }

// ICMPv4Fields holds an ICMP header to encode. Rest is the four
// type-specific bytes as one word: ident<<16|seq for echo, the MTU for
// fragmentation needed, pointer<<24 for parameter problem, 0 otherwise.
type ICMPv4Fields struct {
	Type ICMPv4Type
	Code ICMPv4Code
	Rest uint32
}

// Encode writes f into the first ICMPv4MinSize bytes of h and then sets the
// checksum over all of h, so the payload must already be in place. It does
// not allocate.
func (h ICMPv4) Encode(f *ICMPv4Fields) {
	h.SetType(f.Type)
	h.SetCode(f.Code)
	binary.BigEndian.PutUint32(h[icmpIdent:], f.Rest)
	h.UpdateChecksum()
}
