package header

import "encoding/binary"

// TCP header (RFC 9293 section 3.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Source Port          |       Destination Port        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Sequence Number                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Acknowledgment Number                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Data |       |C|E|U|A|P|R|S|F|                               |
//	| Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//	|       |       |R|E|G|K|H|T|N|N|                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           Checksum            |         Urgent Pointer        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           [Options]                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	tcpSrcPort  = 0
	tcpDstPort  = 2
	tcpSeq      = 4
	tcpAck      = 8
	tcpDataOff  = 12
	tcpFlags    = 13
	tcpWindow   = 14
	tcpChecksum = 16
	tcpUrgent   = 18
)

// TCP sizes.
const (
	TCPMinSize = 20 // a header without options
	TCPMaxSize = 60 // a header with 40 bytes of options
)

// TCP flags, as Flags returns them.
const (
	TCPFlagFIN uint8 = 1 << iota
	TCPFlagSYN
	TCPFlagRST
	TCPFlagPSH
	TCPFlagACK
	TCPFlagURG
	TCPFlagECE
	TCPFlagCWR
)

// TCP is a TCP header and, if the slice goes on, its payload. Its methods
// do not check bounds: call IsValid once before using them.
type TCP []byte

// IsValid reports whether h holds a TCP header whose data offset is at
// least TCPMinSize and fits in h.
func (h TCP) IsValid() bool {
	if len(h) < TCPMinSize {
		return false
	}
	off := int(h[tcpDataOff]>>4) * 4
	return off >= TCPMinSize && off <= len(h)
}

// SrcPort returns the source port.
func (h TCP) SrcPort() uint16 { return binary.BigEndian.Uint16(h[tcpSrcPort:]) }

// DstPort returns the destination port.
func (h TCP) DstPort() uint16 { return binary.BigEndian.Uint16(h[tcpDstPort:]) }

// Seq returns the sequence number.
func (h TCP) Seq() uint32 { return binary.BigEndian.Uint32(h[tcpSeq:]) }

// Ack returns the acknowledgment number.
func (h TCP) Ack() uint32 { return binary.BigEndian.Uint32(h[tcpAck:]) }

// DataOffset returns the header length in bytes (the Data Offset field
// times 4).
func (h TCP) DataOffset() int { return int(h[tcpDataOff]>>4) * 4 }

// Flags returns the control bits (TCPFlag*).
func (h TCP) Flags() uint8 { return h[tcpFlags] }

// Window returns the window.
func (h TCP) Window() uint16 { return binary.BigEndian.Uint16(h[tcpWindow:]) }

// Checksum returns the checksum field.
func (h TCP) Checksum() uint16 { return binary.BigEndian.Uint16(h[tcpChecksum:]) }

// UrgentPtr returns the urgent pointer.
func (h TCP) UrgentPtr() uint16 { return binary.BigEndian.Uint16(h[tcpUrgent:]) }

// Options returns the options. The slice aliases h.
func (h TCP) Options() []byte { return h[TCPMinSize:h.DataOffset()] }

// Payload returns the bytes after the header to the end of h. The slice
// aliases h.
func (h TCP) Payload() []byte { return h[h.DataOffset():] }

// SetSrcPort sets the source port.
func (h TCP) SetSrcPort(v uint16) { binary.BigEndian.PutUint16(h[tcpSrcPort:], v) }

// SetDstPort sets the destination port.
func (h TCP) SetDstPort(v uint16) { binary.BigEndian.PutUint16(h[tcpDstPort:], v) }

// SetSeq sets the sequence number.
func (h TCP) SetSeq(v uint32) { binary.BigEndian.PutUint32(h[tcpSeq:], v) }

// SetAck sets the acknowledgment number.
func (h TCP) SetAck(v uint32) { binary.BigEndian.PutUint32(h[tcpAck:], v) }

// SetDataOffset sets the header length in bytes (a multiple of 4 from 20
// to 60), clearing the reserved bits.
func (h TCP) SetDataOffset(n int) { h[tcpDataOff] = uint8(n/4) << 4 }

// SetFlags sets the control bits.
func (h TCP) SetFlags(v uint8) { h[tcpFlags] = v }

// SetWindow sets the window.
func (h TCP) SetWindow(v uint16) { binary.BigEndian.PutUint16(h[tcpWindow:], v) }

// SetChecksum sets the checksum field.
func (h TCP) SetChecksum(v uint16) { binary.BigEndian.PutUint16(h[tcpChecksum:], v) }

// SetUrgentPtr sets the urgent pointer.
func (h TCP) SetUrgentPtr(v uint16) { binary.BigEndian.PutUint16(h[tcpUrgent:], v) }

// ComputeChecksum returns the value the checksum field should hold for the
// segment h (header and payload, all of h) given the pseudo-header sum
// (PseudoHeaderChecksum with len(h) as the length), as if the field were
// zero.
func (h TCP) ComputeChecksum(pseudo uint16) uint16 {
	s := Checksum(h[:tcpChecksum], pseudo)
	s = Checksum(h[tcpChecksum+2:], s)
	return ^s
}

// TCPFields are the fields of a TCP header, for Encode. Building headers is
// for tests and ICMP errors, never the forwarding path.
type TCPFields struct {
	SrcPort   uint16
	DstPort   uint16
	Seq       uint32
	Ack       uint32
	Flags     uint8
	Window    uint16
	Checksum  uint16
	UrgentPtr uint16
	Options   []byte // a multiple of 4 bytes, at most 40
}

// Encode writes f into h, which must have room for TCPMinSize plus the
// options. The checksum is written as given.
func (h TCP) Encode(f *TCPFields) {
	h.SetSrcPort(f.SrcPort)
	h.SetDstPort(f.DstPort)
	h.SetSeq(f.Seq)
	h.SetAck(f.Ack)
	h.SetDataOffset(TCPMinSize + len(f.Options))
	h.SetFlags(f.Flags)
	h.SetWindow(f.Window)
	h.SetChecksum(f.Checksum)
	h.SetUrgentPtr(f.UrgentPtr)
	copy(h[TCPMinSize:], f.Options)
}
