package header

import "encoding/binary"

// UDP header (RFC 768):
//
//	 0      7 8     15 16    23 24    31
//	+--------+--------+--------+--------+
//	|     Source      |   Destination   |
//	|      Port       |      Port       |
//	+--------+--------+--------+--------+
//	|                 |                 |
//	|     Length      |    Checksum     |
//	+--------+--------+--------+--------+
const (
	udpSrcPort  = 0
	udpDstPort  = 2
	udpLength   = 4
	udpChecksum = 6
)

// UDPSize is the size of a UDP header.
const UDPSize = 8

// UDP is a UDP header and, if the slice goes on, its payload. Its methods
// do not check bounds: the caller checks len >= UDPSize (or calls IsValid).
type UDP []byte

// IsValid reports whether h holds a UDP header whose length field is at
// least UDPSize and no longer than n. n is usually the IP payload length.
func (h UDP) IsValid(n int) bool {
	if len(h) < UDPSize {
		return false
	}
	l := int(binary.BigEndian.Uint16(h[udpLength:]))
	return l >= UDPSize && l <= n
}

// SrcPort returns the source port.
func (h UDP) SrcPort() uint16 { return binary.BigEndian.Uint16(h[udpSrcPort:]) }

// DstPort returns the destination port.
func (h UDP) DstPort() uint16 { return binary.BigEndian.Uint16(h[udpDstPort:]) }

// Length returns the length field: header and data, in bytes.
func (h UDP) Length() uint16 { return binary.BigEndian.Uint16(h[udpLength:]) }

// Checksum returns the checksum field; 0 over IPv4 means none was computed.
func (h UDP) Checksum() uint16 { return binary.BigEndian.Uint16(h[udpChecksum:]) }

// Payload returns the data up to the length field. The slice aliases h.
func (h UDP) Payload() []byte { return h[UDPSize:h.Length()] }

// SetSrcPort sets the source port.
func (h UDP) SetSrcPort(v uint16) { binary.BigEndian.PutUint16(h[udpSrcPort:], v) }

// SetDstPort sets the destination port.
func (h UDP) SetDstPort(v uint16) { binary.BigEndian.PutUint16(h[udpDstPort:], v) }

// SetLength sets the length field.
func (h UDP) SetLength(v uint16) { binary.BigEndian.PutUint16(h[udpLength:], v) }

// SetChecksum sets the checksum field.
func (h UDP) SetChecksum(v uint16) { binary.BigEndian.PutUint16(h[udpChecksum:], v) }

// ComputeChecksum returns the value the checksum field should hold for the
// datagram h[:Length()] given the pseudo-header sum (PseudoHeaderChecksum
// with Length() as the length), as if the field were zero. A computed 0 is
// sent as 0xffff (RFC 768), since 0 means no checksum.
func (h UDP) ComputeChecksum(pseudo uint16) uint16 {
	s := Checksum(h[:udpChecksum], pseudo)
	s = Checksum(h[udpChecksum+2:h.Length()], s)
	if c := ^s; c != 0 {
		return c
	}
	return 0xffff
}

// Encode writes the header: ports, length and checksum as given.
func (h UDP) Encode(src, dst, length, checksum uint16) {
	h.SetSrcPort(src)
	h.SetDstPort(dst)
	h.SetLength(length)
	h.SetChecksum(checksum)
}
