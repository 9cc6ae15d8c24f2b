package header

import "encoding/binary"

// 802.1Q / 802.1ad tag (IEEE 802.1Q-2018 section 9.6), as it sits in a
// frame after the source MAC, in front of the EtherType it encapsulates:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   TPID (0x8100 or 0x88a8)     | PCP |D|         VID           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	dot1qTPID = 0
	dot1qTCI  = 2
)

// Dot1QSize is the size of one tag.
const Dot1QSize = 4

// VID is a 12-bit VLAN identifier. 0 means a priority-tagged frame with no
// VLAN; 4095 is reserved.
type VID uint16

// VID limits.
const (
	VIDNone VID = 0    // priority tag only
	VIDMax  VID = 4094 // the highest usable VID
)

// IsValid reports whether v names a VLAN: 1 to 4094.
func (v VID) IsValid() bool { return v >= 1 && v <= VIDMax }

// Dot1Q is an 802.1Q (customer) or 802.1ad (service) tag: TPID and TCI.
// Its methods do not check bounds: the caller checks len >= Dot1QSize.
type Dot1Q []byte

// TPID returns the Tag Protocol Identifier (EtherTypeDot1Q or
// EtherTypeDot1AD).
func (h Dot1Q) TPID() uint16 { return binary.BigEndian.Uint16(h[dot1qTPID:]) }

// TCI returns the Tag Control Information: PCP, DEI and VID.
func (h Dot1Q) TCI() uint16 { return binary.BigEndian.Uint16(h[dot1qTCI:]) }

// PCP returns the Priority Code Point (0-7).
func (h Dot1Q) PCP() uint8 { return h[dot1qTCI] >> 5 }

// DEI reports whether the Drop Eligible Indicator is set.
func (h Dot1Q) DEI() bool { return h[dot1qTCI]&0x10 != 0 }

// VID returns the VLAN identifier.
func (h Dot1Q) VID() VID { return VID(binary.BigEndian.Uint16(h[dot1qTCI:]) & 0x0fff) }

// SetTPID sets the Tag Protocol Identifier.
func (h Dot1Q) SetTPID(v uint16) { binary.BigEndian.PutUint16(h[dot1qTPID:], v) }

// SetTCI sets the Tag Control Information.
func (h Dot1Q) SetTCI(v uint16) { binary.BigEndian.PutUint16(h[dot1qTCI:], v) }

// SetPCP sets the Priority Code Point, keeping DEI and VID.
func (h Dot1Q) SetPCP(v uint8) { h[dot1qTCI] = h[dot1qTCI]&0x1f | v<<5 }

// SetDEI sets or clears the Drop Eligible Indicator.
func (h Dot1Q) SetDEI(v bool) {
	if v {
		h[dot1qTCI] |= 0x10
	} else {
		h[dot1qTCI] &^= 0x10
	}
}

// SetVID sets the VLAN identifier, keeping PCP and DEI.
func (h Dot1Q) SetVID(v VID) {
	tci := h.TCI()&0xf000 | uint16(v)&0x0fff
	binary.BigEndian.PutUint16(h[dot1qTCI:], tci)
}

// MakeTCI returns a TCI from its parts.
func MakeTCI(pcp uint8, dei bool, vid VID) uint16 {
	t := uint16(pcp&7)<<13 | uint16(vid)&0x0fff
	if dei {
		t |= 0x1000
	}
	return t
}
