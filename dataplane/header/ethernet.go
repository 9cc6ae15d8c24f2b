// Package header holds []byte-typed views of the wire formats hostnet
// reads and writes, and the Internet checksum. Accessor methods do not check
// bounds: the caller checks the length (or calls IsValid) once before using
// them. Nothing here allocates.
package header

import "encoding/binary"

// Ethernet II header (IEEE 802.3 clause 3.2):
//
//	 0                   1
//	+--------+--------+--------+--------+--------+--------+
//	|                Destination MAC (6 octets)           |
//	+--------+--------+--------+--------+--------+--------+
//	|                  Source MAC (6 octets)              |
//	+--------+--------+--------+--------+--------+--------+
//	|    EtherType    |
//	+--------+--------+
const (
	ethDst  = 0
	ethSrc  = 6
	ethType = 12
)

// EthernetSize is the size of an untagged Ethernet header.
const EthernetSize = 14

// EtherTypes hostnet knows by name.
const (
	EtherTypeIPv4   uint16 = 0x0800
	EtherTypeARP    uint16 = 0x0806
	EtherTypeRARP   uint16 = 0x8035
	EtherTypeDot1Q  uint16 = 0x8100 // 802.1Q customer tag
	EtherTypeIPv6   uint16 = 0x86dd
	EtherTypeDot1AD uint16 = 0x88a8 // 802.1ad service tag
	EtherTypeLLDP   uint16 = 0x88cc
)

// MAC is a 48-bit IEEE 802 address. It is comparable and usable as a map key.
type MAC [6]byte

// BroadcastMAC is ff:ff:ff:ff:ff:ff.
var BroadcastMAC = MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// IsMulticast reports whether m is a group address (broadcast included).
func (m MAC) IsMulticast() bool { return m[0]&1 != 0 }

// IsBroadcast reports whether m is ff:ff:ff:ff:ff:ff.
func (m MAC) IsBroadcast() bool { return m == BroadcastMAC }

// IsZero reports whether m is 00:00:00:00:00:00.
func (m MAC) IsZero() bool { return m == MAC{} }

const hexDigits = "0123456789abcdef"

// String returns m as six lower-case hex pairs separated by colons.
func (m MAC) String() string {
	var b [17]byte
	for i, v := range m {
		if i > 0 {
			b[i*3-1] = ':'
		}
		b[i*3] = hexDigits[v>>4]
		b[i*3+1] = hexDigits[v&0xf]
	}
	return string(b[:])
}

// Ethernet is an Ethernet II header.
type Ethernet []byte

// Dst returns the destination address.
func (h Ethernet) Dst() MAC { return MAC(h[ethDst : ethDst+6]) }

// Src returns the source address.
func (h Ethernet) Src() MAC { return MAC(h[ethSrc : ethSrc+6]) }

// Type returns the EtherType (or, below 0x0600, the 802.3 length).
func (h Ethernet) Type() uint16 { return binary.BigEndian.Uint16(h[ethType:]) }

// SetDst sets the destination address.
func (h Ethernet) SetDst(m MAC) { copy(h[ethDst:], m[:]) }

// SetSrc sets the source address.
func (h Ethernet) SetSrc(m MAC) { copy(h[ethSrc:], m[:]) }

// SetType sets the EtherType.
func (h Ethernet) SetType(t uint16) { binary.BigEndian.PutUint16(h[ethType:], t) }
