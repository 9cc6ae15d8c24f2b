package l2

import (
	"bytes"
	"testing"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

func TestPushPop(t *testing.T) {
	udp4 := ipv4("10.0.0.1", "10.0.0.2", 8)
	tests := []struct {
		name  string
		frame []byte
		tpid  uint16
		tci   uint16
	}{
		{"untagged, 802.1Q", eth(macA, macB, header.EtherTypeIPv4, udp4), header.EtherTypeDot1Q, header.MakeTCI(3, false, 10)},
		{"untagged, 802.1ad", eth(macA, macB, header.EtherTypeIPv4, udp4), header.EtherTypeDot1AD, header.MakeTCI(0, true, 4094)},
		{"tagged, QinQ", eth(macA, macB, header.EtherTypeIPv4, udp4, 10), header.EtherTypeDot1AD, header.MakeTCI(5, false, 20)},
		{"minimum", eth(macA, macB, 0x88b5, nil), header.EtherTypeDot1Q, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := pkt(t, tc.frame)
			if !PushTag(p, tc.tpid, tc.tci) {
				t.Fatalf("PushTag = false")
			}
			want := append(append(append([]byte{}, tc.frame[:12]...), byte(tc.tpid>>8), byte(tc.tpid), byte(tc.tci>>8), byte(tc.tci)), tc.frame[12:]...)
			if !bytes.Equal(p.Bytes(), want) {
				t.Fatalf("after PushTag\n got % x\nwant % x", p.Bytes(), want)
			}
			tag, ok := PopTag(p)
			if !ok || tag.TPID != tc.tpid || tag.TCI != tc.tci {
				t.Errorf("PopTag = %+v, %v, want {%#x %#x}", tag, ok, tc.tpid, tc.tci)
			}
			if !bytes.Equal(p.Bytes(), tc.frame) {
				t.Errorf("push then pop\n got % x\nwant % x", p.Bytes(), tc.frame)
			}
		})
	}
}

func TestPushHeadroom(t *testing.T) {
	p := pkt(t, eth(macA, macB, header.EtherTypeIPv4, ipv4("10.0.0.1", "10.0.0.2", 8)))
	n := 0
	for PushTag(p, header.EtherTypeDot1Q, uint16(n+1)) {
		n++
	}
	if n != packet.Headroom/header.Dot1QSize {
		t.Errorf("pushed %d tags into %d bytes of headroom", n, packet.Headroom)
	}
	before := append([]byte{}, p.Bytes()...)
	if PushTag(p, header.EtherTypeDot1Q, 1) || !bytes.Equal(p.Bytes(), before) {
		t.Errorf("PushTag with no headroom changed the frame or succeeded")
	}
	// Pop them all back: the last pushed comes off first.
	for i := n; i > 0; i-- {
		tag, ok := PopTag(p)
		if !ok || tag.TCI != uint16(i) {
			t.Fatalf("PopTag = %+v, %v, want TCI %d", tag, ok, i)
		}
	}
	if _, ok := PopTag(p); ok {
		t.Errorf("PopTag of an untagged frame = true")
	}
	if PushTag(pkt(t, make([]byte, 13)), header.EtherTypeDot1Q, 1) {
		t.Errorf("PushTag on a 13-byte frame = true")
	}
	if _, ok := PopTag(pkt(t, eth(macA, macB, header.EtherTypeDot1Q, []byte{0, 1, 8}))); ok {
		t.Errorf("PopTag of a truncated tag = true")
	}
}

func TestTagMeta(t *testing.T) {
	p := pkt(t, eth(macA, macB, header.EtherTypeIPv4, ipv4("10.0.0.1", "10.0.0.2", 8)))
	p.Meta = packet.Parsed{Kind: packet.KindIPv4, EtherType: header.EtherTypeIPv4, L3: 14, L4: 34}
	PushTag(p, header.EtherTypeDot1Q, 10)
	PushTag(p, header.EtherTypeDot1AD, 20)
	m := p.Meta
	if m.NTags != 2 || m.Tags[0].VID() != 20 || m.Tags[1].VID() != 10 || m.L3 != 22 || m.L4 != 42 {
		t.Errorf("after two pushes Meta = %+v", m)
	}
	PushTag(p, header.EtherTypeDot1Q, 30)
	if p.Meta.Kind != packet.KindUnknown || p.Meta.Drop != packet.DropTooManyTags {
		t.Errorf("after a third push Meta = %+v, want unknown, too many tags", p.Meta)
	}
	p = pkt(t, eth(macA, macB, header.EtherTypeIPv4, ipv4("10.0.0.1", "10.0.0.2", 8), 20, 10))
	p.Meta = packet.Parsed{Kind: packet.KindIPv4, EtherType: header.EtherTypeIPv4, L3: 22, L4: 42, NTags: 2,
		Tags: [2]packet.Tag{{TPID: header.EtherTypeDot1Q, TCI: 20}, {TPID: header.EtherTypeDot1Q, TCI: 10}}}
	PopTag(p)
	m = p.Meta
	if m.NTags != 1 || m.Tags[0].VID() != 10 || m.L3 != 18 || m.L4 != 38 {
		t.Errorf("after a pop Meta = %+v", m)
	}
}

func TestPCP(t *testing.T) {
	want := [8]uint8{1, 0, 2, 3, 4, 5, 6, 7}
	for prio := range uint8(8) {
		if got := PCPFromPrio(prio); got != want[prio] {
			t.Errorf("PCPFromPrio(%d) = %d, want %d", prio, got, want[prio])
		}
		if got := PrioFromPCP(PCPFromPrio(prio)); got != prio {
			t.Errorf("PrioFromPCP(PCPFromPrio(%d)) = %d", prio, got)
		}
	}
}

func TestNewVLAN(t *testing.T) {
	v := NewVLAN(header.EtherTypeDot1Q, 10)
	if v.TxPrio != PrioPacket || v.RxPrio != PrioOuter {
		t.Errorf("NewVLAN = %+v, want txprio packet, rxprio outer", v)
	}
}

func TestEncapDecap(t *testing.T) {
	tests := []struct {
		name    string
		v       VLAN
		prio    uint8 // the packet's on output
		wantPCP uint8
		wantRx  uint8 // the packet's after Decap, starting from 6
	}{
		{"default prio 3", VLAN{TPID: header.EtherTypeDot1Q, VID: 10, TxPrio: PrioPacket, RxPrio: PrioOuter}, DefaultPrio, 3, 3},
		{"prio 0 sent as PCP 1", VLAN{TPID: header.EtherTypeDot1Q, VID: 10, TxPrio: PrioPacket, RxPrio: PrioOuter}, 0, 1, 0},
		{"prio 1 sent as PCP 0", VLAN{TPID: header.EtherTypeDot1Q, VID: 10, TxPrio: PrioPacket, RxPrio: PrioOuter}, 1, 0, 1},
		{"txprio 7", VLAN{TPID: header.EtherTypeDot1AD, VID: 20, TxPrio: 7, RxPrio: PrioOuter}, 0, 7, 7},
		{"rxprio packet keeps", VLAN{TPID: header.EtherTypeDot1Q, VID: 10, TxPrio: 5, RxPrio: PrioPacket}, 0, 5, 6},
		{"rxprio fixed", VLAN{TPID: header.EtherTypeDot1Q, VID: 10, TxPrio: PrioPacket, RxPrio: 2}, 4, 4, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := pkt(t, eth(macA, macB, header.EtherTypeIPv4, ipv4("10.0.0.1", "10.0.0.2", 8)))
			p.Prio = tc.prio
			if !tc.v.Encap(p) {
				t.Fatal("Encap = false")
			}
			tag := header.Dot1Q(p.Bytes()[12:])
			if tag.TPID() != tc.v.TPID || tag.VID() != tc.v.VID || tag.PCP() != tc.wantPCP {
				t.Errorf("tag %#x vid %d pcp %d, want %#x %d %d", tag.TPID(), tag.VID(), tag.PCP(), tc.v.TPID, tc.v.VID, tc.wantPCP)
			}
			p.Prio = 6
			if _, ok := tc.v.Decap(p); !ok {
				t.Fatal("Decap = false")
			}
			if p.Prio != tc.wantRx {
				t.Errorf("after Decap Prio = %d, want %d", p.Prio, tc.wantRx)
			}
		})
	}
}
