package packet

import "net/netip"

// Kind is what Parse made of a frame.
type Kind uint8

const (
	// KindUnknown is a frame Parse could not make sense of (truncated,
	// malformed, suspicious); Parsed.Drop says why.
	KindUnknown Kind = iota
	// KindOther is a well-formed frame of an EtherType not parsed further
	// (LLDP, LACP, IPX, 802.3 with LLC), or one with a tag that is not
	// parsed through.
	KindOther
	KindARP
	KindIPv4
	KindIPv6
)

var kindNames = [...]string{"unknown", "other", "arp", "ipv4", "ipv6"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(?)"
}

// Tag is one 802.1Q or 802.1ad tag: its TPID and TCI (priority, DEI, VID).
type Tag struct {
	TPID uint16
	TCI  uint16
}

// VID returns the tag's VLAN identifier.
func (t Tag) VID() uint16 { return t.TCI & 0x0fff }

// PCP returns the tag's priority code point.
func (t Tag) PCP() uint8 { return uint8(t.TCI >> 13) }

// Fragment flags.
const (
	FragIsFragment uint8 = 1 << iota // any fragment (offset != 0 or more fragments)
	FragFirst                        // the fragment at offset 0
	FragMore                         // more fragments follow
)

// Flow is a packet's addresses and transport ports. For ICMP and ICMPv6
// echo request and reply both ports hold the identifier; for other ICMP
// messages and protocols without ports they are 0.
type Flow struct {
	Proto uint8
	Src   netip.AddrPort
	Dst   netip.AddrPort
}

// Parsed is what Parse learned about a frame: offsets into the frame and
// decoded fields, so that no layer decodes twice.
type Parsed struct {
	Kind Kind
	// Drop is why Kind is KindUnknown, DropNone otherwise.
	Drop DropReason
	// NTags is the number of VLAN tags in front of EtherType (at most 2);
	// Tags holds them, outermost first.
	NTags uint8
	Tags  [2]Tag
	// EtherType is the type after the tags; below 0x0600 it is an 802.3
	// length.
	EtherType uint16
	// L3 is the offset of the network header (ARP, IPv4, IPv6) in the frame:
	// the byte after EtherType, or, for a frame with a third tag, that
	// tag's TPID.
	L3 uint16
	// L3Len is the length of the network packet as its header says (IPv4
	// total length, IPv6 40 + payload length); the frame may be longer
	// (padding, trailer). It is 0 for KindOther and for frames whose
	// network header was not read.
	L3Len uint32
	// L4 is the offset of the transport header, 0 when there is none to
	// read (a non-first fragment, an unknown protocol with no header).
	L4 uint16
	// Proto is the transport protocol: IPv4's protocol field, IPv6's last
	// next header after the extension headers.
	Proto uint8
	// Frag holds the Frag* flags; FragOff is the fragment offset in bytes.
	Frag    uint8
	FragOff uint16
	// HasOptions reports IPv4 options (IHL > 5) or IPv6 hop-by-hop or
	// destination options.
	HasOptions bool
	// TCPFlags are the TCP header flags; ICMPType and ICMPCode the ICMP or
	// ICMPv6 type and code.
	TCPFlags uint8
	ICMPType uint8
	ICMPCode uint8
	// Flow is the packet's addresses and ports.
	Flow Flow
}
