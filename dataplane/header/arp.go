package header

import (
	"encoding/binary"
	"net/netip"
)

// ARP packet for IPv4 over Ethernet (RFC 826; field names as in RFC 5494):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Hardware Type         |         Protocol Type         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Hw Addr Len  | Proto Addr Len|           Operation           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|            Sender Hardware Address (6 octets) ...             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  ... Sender Hw Address        |  Sender Protocol Address ...  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  ... Sender Protocol Address  |  Target Hardware Address ...  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|              ... Target Hardware Address (6 octets)           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|              Target Protocol Address (4 octets)               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	arpHType = 0
	arpPType = 2
	arpHLen  = 4
	arpPLen  = 5
	arpOp    = 6
	arpSHA   = 8
	arpSPA   = 14
	arpTHA   = 18
	arpTPA   = 24
)

// ARPSize is the size of an ARP packet for IPv4 over Ethernet.
const ARPSize = 28

// ARPHardwareEthernet is the ARP hardware type of Ethernet (RFC 826).
const ARPHardwareEthernet uint16 = 1

// ARPOp is an ARP operation code.
type ARPOp uint16

// ARP operation codes (RFC 826).
const (
	ARPRequest ARPOp = 1
	ARPReply   ARPOp = 2
)

// ARP is an ARP packet for IPv4 over Ethernet. Its methods do not check
// bounds: call IsValid once before using them.
type ARP []byte

// HardwareType returns the hardware address space (1 for Ethernet).
func (h ARP) HardwareType() uint16 { return binary.BigEndian.Uint16(h[arpHType:]) }

// ProtocolType returns the protocol address space (an EtherType).
func (h ARP) ProtocolType() uint16 { return binary.BigEndian.Uint16(h[arpPType:]) }

// HardwareLen returns the length of a hardware address in bytes.
func (h ARP) HardwareLen() uint8 { return h[arpHLen] }

// ProtocolLen returns the length of a protocol address in bytes.
func (h ARP) ProtocolLen() uint8 { return h[arpPLen] }

// Op returns the operation code.
func (h ARP) Op() ARPOp { return ARPOp(binary.BigEndian.Uint16(h[arpOp:])) }

// SenderHardwareAddr returns the sender's MAC.
func (h ARP) SenderHardwareAddr() MAC { return MAC(h[arpSHA : arpSHA+6]) }

// SenderProtocolAddr returns the sender's IPv4 address.
func (h ARP) SenderProtocolAddr() netip.Addr {
	return netip.AddrFrom4([4]byte(h[arpSPA : arpSPA+4]))
}

// TargetHardwareAddr returns the target's MAC (zero in a request).
func (h ARP) TargetHardwareAddr() MAC { return MAC(h[arpTHA : arpTHA+6]) }

// TargetProtocolAddr returns the target's IPv4 address.
func (h ARP) TargetProtocolAddr() netip.Addr {
	return netip.AddrFrom4([4]byte(h[arpTPA : arpTPA+4]))
}

// SetOp sets the operation code.
func (h ARP) SetOp(op ARPOp) { binary.BigEndian.PutUint16(h[arpOp:], uint16(op)) }

// SetSenderHardwareAddr sets the sender's MAC.
func (h ARP) SetSenderHardwareAddr(m MAC) { copy(h[arpSHA:], m[:]) }

// SetSenderProtocolAddr sets the sender's IPv4 address; a must be IPv4.
func (h ARP) SetSenderProtocolAddr(a netip.Addr) { v := a.As4(); copy(h[arpSPA:], v[:]) }

// SetTargetHardwareAddr sets the target's MAC.
func (h ARP) SetTargetHardwareAddr(m MAC) { copy(h[arpTHA:], m[:]) }

// SetTargetProtocolAddr sets the target's IPv4 address; a must be IPv4.
func (h ARP) SetTargetProtocolAddr(a netip.Addr) { v := a.As4(); copy(h[arpTPA:], v[:]) }

// IsValid reports whether h is at least ARPSize bytes long and is an
// Ethernet/IPv4 ARP packet: hardware type 1 with 6-byte addresses, protocol
// type 0x0800 with 4-byte addresses. Other kinds (RFC 826 allows any) are
// not for hostnet's stack.
func (h ARP) IsValid() bool {
	return len(h) >= ARPSize &&
		h.HardwareType() == ARPHardwareEthernet && h.ProtocolType() == EtherTypeIPv4 &&
		h.HardwareLen() == 6 && h.ProtocolLen() == 4
}

// ARPFields holds the fields of an Ethernet/IPv4 ARP packet to encode.
type ARPFields struct {
	Op        ARPOp
	SenderMAC MAC
	SenderIP  netip.Addr // IPv4
	TargetMAC MAC
	TargetIP  netip.Addr // IPv4
}

// Encode writes f into h, which must be at least ARPSize bytes long, with
// the Ethernet hardware type and the IPv4 protocol type. It does not
// allocate.
func (h ARP) Encode(f *ARPFields) {
	binary.BigEndian.PutUint16(h[arpHType:], ARPHardwareEthernet)
	binary.BigEndian.PutUint16(h[arpPType:], EtherTypeIPv4)
	h[arpHLen] = 6
	h[arpPLen] = 4
	h.SetOp(f.Op)
	h.SetSenderHardwareAddr(f.SenderMAC)
	h.SetSenderProtocolAddr(f.SenderIP)
	h.SetTargetHardwareAddr(f.TargetMAC)
	h.SetTargetProtocolAddr(f.TargetIP)
}
