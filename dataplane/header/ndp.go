package header

import (
	"net/netip"
)

// Neighbour solicitation and advertisement (RFC 4861 sections 4.3 and 4.4),
// taken from the start of the ICMPv6 message:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Code      |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|R|S|O|                     Reserved                            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	+                       Target Address (16)                     +
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Options ...
//	+-+-+-+-+-+-+-+-+-+-+-+-
//
// The R, S and O flags are the advertisement's; a solicitation has its
// Reserved field there. Options (section 4.6) are type, length in units of
// 8 bytes (0 is invalid), and value; the link-layer address options
// (section 4.6.1) carry a MAC on Ethernet:
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |    Length     |    Link-Layer Address ...
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	ndpFlags   = 4
	ndpTarget  = 8
	ndpOptions = 24
)

// NDPMinSize is the size of a neighbour solicitation or advertisement
// without options.
const NDPMinSize = 24

// NDPLinkLayerOptionSize is the size of a link-layer address option for an
// Ethernet address.
const NDPLinkLayerOptionSize = 8

// NDP option types (RFC 4861 section 4.6).
const (
	NDPOptionSourceLinkLayer uint8 = 1
	NDPOptionTargetLinkLayer uint8 = 2
	NDPOptionPrefixInfo      uint8 = 3
	NDPOptionRedirected      uint8 = 4
	NDPOptionMTU             uint8 = 5
)

// Neighbour advertisement flags, in the byte after the checksum.
const (
	NDPFlagRouter    uint8 = 0x80
	NDPFlagSolicited uint8 = 0x40
	NDPFlagOverride  uint8 = 0x20
)

// NDPHopLimit is the hop limit every neighbour discovery message is sent
// with and must arrive with (RFC 4861 section 7.1.1): a message that crossed
// a router is not from a neighbour.
const NDPHopLimit = 255

// NDP is a neighbour solicitation or advertisement message, starting at its
// ICMPv6 header. Its methods do not check bounds: call IsValid once before
// using them.
type NDP []byte

// IsValid reports whether h is long enough for the fixed part, its code is 0
// and its options are well-formed (no zero length, none running past the
// end), as RFC 4861 sections 7.1.1 and 7.1.2 require.
func (h NDP) IsValid() bool {
	if len(h) < NDPMinSize || h[icmp6Code] != 0 {
		return false
	}
	for o := h[ndpOptions:]; len(o) > 0; {
		if len(o) < 2 || o[1] == 0 || int(o[1])*8 > len(o) {
			return false
		}
		o = o[int(o[1])*8:]
	}
	return true
}

// Flags returns the R, S and O flags of an advertisement.
func (h NDP) Flags() uint8 { return h[ndpFlags] & 0xe0 }

// IsRouter reports whether an advertisement has the R flag.
func (h NDP) IsRouter() bool { return h[ndpFlags]&NDPFlagRouter != 0 }

// IsSolicited reports whether an advertisement has the S flag.
func (h NDP) IsSolicited() bool { return h[ndpFlags]&NDPFlagSolicited != 0 }

// IsOverride reports whether an advertisement has the O flag.
func (h NDP) IsOverride() bool { return h[ndpFlags]&NDPFlagOverride != 0 }

// Target returns the target address.
func (h NDP) Target() netip.Addr { return netip.AddrFrom16([16]byte(h[ndpTarget : ndpTarget+16])) }

// Options returns the options that follow the fixed part.
func (h NDP) Options() []byte { return h[ndpOptions:] }

// LinkLayerOption returns the Ethernet address in the first option of type
// typ (NDPOptionSourceLinkLayer or NDPOptionTargetLinkLayer) and reports
// whether there is one. Options are taken as IsValid left them.
func (h NDP) LinkLayerOption(typ uint8) (MAC, bool) {
	for o := h[ndpOptions:]; len(o) >= 2 && o[1] != 0 && int(o[1])*8 <= len(o); o = o[int(o[1])*8:] {
		if o[0] == typ {
			return MAC(o[2:8]), true
		}
	}
	return MAC{}, false
}

// SetFlags sets the R, S and O flags and clears the reserved bits.
func (h NDP) SetFlags(f uint8) {
	h[ndpFlags] = f & 0xe0
	h[ndpFlags+1], h[ndpFlags+2], h[ndpFlags+3] = 0, 0, 0
}

// SetTarget sets the target address.
func (h NDP) SetTarget(a netip.Addr) { v := a.As16(); copy(h[ndpTarget:], v[:]) }

// NDPFields holds a neighbour solicitation or advertisement to encode.
type NDPFields struct {
	Type   ICMPv6Type // ICMPv6NeighborSolicit or ICMPv6NeighborAdvert
	Flags  uint8      // NDPFlag*, advertisements only
	Target netip.Addr
	// LinkLayer, when HasLinkLayer is set, is added as a source link-layer
	// option to a solicitation, a target link-layer option to an
	// advertisement.
	LinkLayer    MAC
	HasLinkLayer bool
}

// Len returns the encoded length of f.
func (f *NDPFields) Len() int {
	if f.HasLinkLayer {
		return NDPMinSize + NDPLinkLayerOptionSize
	}
	return NDPMinSize
}

// Encode writes f into h, which must be f.Len() bytes long, with the
// ICMPv6 checksum for a message from src to dst. It does not allocate.
func (h NDP) Encode(f *NDPFields, src, dst netip.Addr) {
	h[icmp6Type] = uint8(f.Type)
	h[icmp6Code] = 0
	h.SetFlags(f.Flags)
	h.SetTarget(f.Target)
	if f.HasLinkLayer {
		o := h[ndpOptions:]
		o[0] = NDPOptionSourceLinkLayer
		if f.Type == ICMPv6NeighborAdvert {
			o[0] = NDPOptionTargetLinkLayer
		}
		o[1] = 1 // 8 bytes
		copy(o[2:8], f.LinkLayer[:])
	}
	ICMPv6(h).UpdateChecksum(src, dst)
}

// SolicitedNodeAddr returns the solicited-node multicast address of a
// (RFC 4291 section 2.7.1): ff02::1:ff00:0/104 with a's low 24 bits.
func SolicitedNodeAddr(a netip.Addr) netip.Addr {
	v := a.As16()
	return netip.AddrFrom16([16]byte{0xff, 0x02, 10: 0, 11: 0x01, 12: 0xff, 13: v[13], 14: v[14], 15: v[15]})
}

// IPv6MulticastMAC returns the Ethernet address IPv6 multicast address a is
// sent to (RFC 2464 section 7): 33:33 and a's low 32 bits.
func IPv6MulticastMAC(a netip.Addr) MAC {
	v := a.As16()
	return MAC{0x33, 0x33, v[12], v[13], v[14], v[15]}
}

// LinkLocalFromMAC returns the link-local address fe80::/64 with the
// modified EUI-64 interface identifier of m (RFC 4291 appendix A, RFC 2464
// section 4): the universal/local bit inverted and ff:fe in the middle.
func LinkLocalFromMAC(m MAC) netip.Addr {
	return netip.AddrFrom16([16]byte{
		0xfe, 0x80, 8: m[0] ^ 0x02, 9: m[1], 10: m[2], 11: 0xff, 12: 0xfe, 13: m[3], 14: m[4], 15: m[5],
	})
}
