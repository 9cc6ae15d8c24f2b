package l2

import (
	"encoding/binary"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// Priority settings of a vlan interface (vlan(4) txprio and rxprio), besides
// a fixed priority 0-7.
const (
	// PrioPacket: txprio takes the packet's priority; rxprio keeps it.
	PrioPacket = -1
	// PrioOuter: rxprio takes the priority from the tag removed (the
	// default).
	PrioOuter = -2
)

// DefaultPrio is the priority of a packet nothing has set (OpenBSD's
// IFQ_DEFPRIO).
const DefaultPrio = 3

// PCPFromPrio returns the 802.1p priority code point for packet priority
// prio (0-7). IEEE 802.1p has 0 and 1 swapped: priority 0 is sent as PCP 1
// and priority 1 as PCP 0.
func PCPFromPrio(prio uint8) uint8 {
	prio &= 7
	if prio <= 1 {
		return 1 - prio
	}
	return prio
}

// PrioFromPCP returns the packet priority of 802.1p code point pcp: the
// inverse of PCPFromPrio.
func PrioFromPCP(pcp uint8) uint8 { return PCPFromPrio(pcp) }

// PushTag inserts an 802.1Q (tpid 0x8100) or 802.1ad (0x88a8) tag with tci
// after the frame's source address, in the packet's headroom: the 12
// address bytes move forward, the payload stays where it is. It reports
// false, changing nothing, when the headroom is too small or the frame is
// shorter than an Ethernet header. p.Meta is kept up to date for a frame that
// had fewer than two tags; a third tag makes it KindUnknown with
// DropTooManyTags, as Parse would. PushTag borrows p and does not allocate.
func PushTag(p *packet.Packet, tpid, tci uint16) bool {
	if p.Len() < header.EthernetSize {
		return false
	}
	b, ok := p.Push(header.Dot1QSize)
	if !ok {
		return false
	}
	// Move the addresses 4 bytes forward, as two words.
	a, c := binary.LittleEndian.Uint64(b[4:12]), binary.LittleEndian.Uint32(b[12:16])
	binary.LittleEndian.PutUint64(b[0:8], a)
	binary.LittleEndian.PutUint32(b[8:12], c)
	binary.BigEndian.PutUint32(b[12:16], uint32(tpid)<<16|uint32(tci))

	m := &p.Meta
	if m.NTags >= 2 {
		*m = packet.Parsed{Kind: packet.KindUnknown, Drop: packet.DropTooManyTags}
		return true
	}
	m.Tags[1] = m.Tags[0]
	m.Tags[0] = packet.Tag{TPID: tpid, TCI: tci}
	m.NTags++
	if m.L3 != 0 {
		m.L3 += header.Dot1QSize
	}
	if m.L4 != 0 {
		m.L4 += header.Dot1QSize
	}
	return true
}

// PopTag removes the outermost tag, if the frame has one (TPID 0x8100 or
// 0x88a8), and returns it: the 12 address bytes move back over it. p.Meta
// is kept up to date. PopTag borrows p and does not allocate.
func PopTag(p *packet.Packet) (packet.Tag, bool) {
	b := p.Bytes()
	if len(b) < header.EthernetSize+header.Dot1QSize {
		return packet.Tag{}, false
	}
	w := binary.BigEndian.Uint32(b[12:16])
	t := packet.Tag{TPID: uint16(w >> 16), TCI: uint16(w)}
	if t.TPID != header.EtherTypeDot1Q && t.TPID != header.EtherTypeDot1AD {
		return packet.Tag{}, false
	}
	// Move the addresses 4 bytes back, over the tag, as two words.
	a, c := binary.LittleEndian.Uint32(b[0:4]), binary.LittleEndian.Uint64(b[4:12])
	binary.LittleEndian.PutUint64(b[8:16], c)
	binary.LittleEndian.PutUint32(b[4:8], a)
	p.Pull(header.Dot1QSize)

	if m := &p.Meta; m.NTags > 0 {
		m.Tags[0], m.Tags[1] = m.Tags[1], packet.Tag{}
		m.NTags--
		if m.L3 >= header.Dot1QSize {
			m.L3 -= header.Dot1QSize
		}
		if m.L4 >= header.Dot1QSize {
			m.L4 -= header.Dot1QSize
		}
	}
	return t, true
}

// VLAN is the tagging of one vlan or svlan interface. Its zero priorities
// mean a fixed priority 0: start from NewVLAN for vlan(4)'s defaults.
type VLAN struct {
	// TPID is header.EtherTypeDot1Q for vlan, header.EtherTypeDot1AD for
	// svlan.
	TPID uint16
	VID  header.VID
	// TxPrio is the priority sent (0-7), or PrioPacket.
	TxPrio int
	// RxPrio is the priority given to a received packet (0-7), PrioOuter
	// or PrioPacket.
	RxPrio int
}

// NewVLAN returns the tagging of a vlan (tpid 0x8100) or svlan (0x88a8)
// interface with vlan(4)'s defaults: txprio packet, rxprio outer.
func NewVLAN(tpid uint16, vid header.VID) VLAN {
	return VLAN{TPID: tpid, VID: vid, TxPrio: PrioPacket, RxPrio: PrioOuter}
}

// Encap pushes v's tag onto p (vlan_transmit): the PCP comes from the
// packet's priority, or TxPrio when set, with 802.1p's swap of 0 and 1. It
// reports false when the headroom is exhausted. It does not allocate.
func (v *VLAN) Encap(p *packet.Packet) bool {
	prio := p.Prio
	if v.TxPrio >= 0 {
		prio = uint8(v.TxPrio)
	}
	return PushTag(p, v.TPID, header.MakeTCI(PCPFromPrio(prio), false, v.VID))
}

// Decap removes the outermost tag from p (vlan_input) and sets the
// packet's priority as RxPrio says. It reports false, changing nothing,
// if p has no tag. It does not allocate.
func (v *VLAN) Decap(p *packet.Packet) (packet.Tag, bool) {
	t, ok := PopTag(p)
	if !ok {
		return t, false
	}
	switch {
	case v.RxPrio == PrioOuter:
		p.Prio = PrioFromPCP(t.PCP())
	case v.RxPrio >= 0:
		p.Prio = uint8(v.RxPrio)
	}
	return t, true
}
