package l2

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// learned puts addresses in the table as if frames had come from them.
func learned(t testing.TB, b *Bridge, m map[string]int) {
	t.Helper()
	for a, i := range m {
		if r := b.Table().Learn(mac(a), i, 1); r != LearnNew {
			t.Fatalf("Learn(%s, %d) = %v", a, i, r)
		}
	}
}

func TestInput(t *testing.T) {
	udp4 := ipv4("10.0.0.1", "10.0.0.2", 8)
	badsum := ipv4("10.0.0.1", "10.0.0.2", 8)
	badsum[10] ^= 0xff
	loop := ipv4("127.0.0.1", "10.0.0.2", 8)
	loop[10], loop[11] = 0, 0
	header.IPv4(loop).UpdateChecksum()
	short := ipv4("10.0.0.1", "10.0.0.2", 8)
	header.IPv4(short).SetTotalLen(100)
	header.IPv4(short).UpdateChecksum()
	mcsrc6 := ipv6("ff02::1", "fe80::1", 8)
	tests := []struct {
		name  string
		frame []byte
		in    int
		known map[string]int
		want  Decision // In, Member -1 and Span (true: the bridge has a span port) filled in
		len   int      // after Apply; 0: unchanged
	}{
		{
			name:  "own source dropped, no span copy",
			frame: eth(bcast, macVether, header.EtherTypeARP, arp(1, macVether, "10.0.0.1", "00:00:00:00:00:00", "10.0.0.2")),
			in:    mEm1,
			want:  Decision{Action: ActionDrop, Reason: packet.DropOwnSource, Span: false},
		},
		{
			name:  "LACP never forwarded",
			frame: eth("01:80:c2:00:00:02", macA, 0x8809, make([]byte, 46)),
			in:    mEm1,
			want:  Decision{Action: ActionDrop, Reason: packet.DropReservedGroup, Span: true},
		},
		{
			name:  "LLDP never forwarded",
			frame: eth("01:80:c2:00:00:0e", macA, header.EtherTypeLLDP, make([]byte, 46)),
			in:    mEm1,
			want:  Decision{Action: ActionDrop, Reason: packet.DropReservedGroup, Span: true},
		},
		{
			name:  "STP flooded",
			frame: snapLess("01:80:c2:00:00:00", macA),
			in:    mEm1,
			want:  Decision{Action: ActionFlood, Group: true, Span: true},
		},
		{
			name:  "01:80:c2:00:00:10 flooded",
			frame: eth("01:80:c2:00:00:10", macA, 0x88b5, make([]byte, 46)),
			in:    mEm1,
			want:  Decision{Action: ActionFlood, Group: true, Span: true},
		},
		{
			name:  "broadcast ARP flooded",
			frame: eth(bcast, macB, header.EtherTypeARP, arp(1, macB, "10.0.0.2", "00:00:00:00:00:00", "10.0.0.1")),
			in:    mTap3,
			want:  Decision{Action: ActionFlood, Group: true, Span: true},
		},
		{
			name:  "unknown unicast flooded",
			frame: eth(macC, macB, header.EtherTypeIPv4, udp4),
			in:    mTap3,
			want:  Decision{Action: ActionFlood, Span: true},
		},
		{
			name:  "known unicast forwarded",
			frame: eth(macC, macB, header.EtherTypeIPv4, udp4),
			in:    mTap3,
			known: map[string]int{macC: mTap4},
			want:  Decision{Action: ActionForward, Member: mTap4, Span: true},
		},
		{
			name:  "known unicast on the same member dropped",
			frame: eth(macC, macB, header.EtherTypeIPv4, udp4),
			in:    mTap3,
			known: map[string]int{macC: mTap3},
			want:  Decision{Action: ActionDrop, Reason: packet.DropSameLink, Span: true},
		},
		{
			name:  "unicast to vether0 delivered locally",
			frame: eth(macVether, macB, header.EtherTypeIPv4, udp4),
			in:    mTap3,
			want:  Decision{Action: ActionLocal, Member: mVether, Span: true},
		},
		{
			name:  "unicast to em1's own MAC delivered to em1",
			frame: eth(macEm1, macA, header.EtherTypeIPv4, udp4),
			in:    mEm1,
			want:  Decision{Action: ActionLocal, Member: mEm1, Span: true},
		},
		{
			name:  "padded IPv4 cut to its length",
			frame: eth(macC, macB, header.EtherTypeIPv4, cat(ipv4("10.0.0.1", "10.0.0.2", 2), make([]byte, 24))),
			in:    mTap3,
			known: map[string]int{macC: mTap4},
			want:  Decision{Action: ActionForward, Member: mTap4, Span: true, Len: 14 + 22},
			len:   14 + 22,
		},
		{
			name:  "padded IPv6 cut to its length",
			frame: eth(macC, macB, header.EtherTypeIPv6, cat(ipv6("fe80::1", "fe80::2", 4), make([]byte, 4))),
			in:    mTap3,
			want:  Decision{Action: ActionFlood, Span: true, Len: 14 + 44},
			len:   14 + 44,
		},
		{
			name:  "IPv4 in LLC/SNAP checked and cut",
			frame: snap(macC, macB, header.EtherTypeIPv4, cat(udp4, make([]byte, 10))),
			in:    mTap3,
			want:  Decision{Action: ActionFlood, Span: true, Len: 14 + 8 + 28},
			len:   14 + 8 + 28,
		},
		{
			name:  "IPv4 bad checksum dropped",
			frame: eth(macC, macB, header.EtherTypeIPv4, badsum),
			in:    mTap3,
			want:  Decision{Action: ActionDrop, Reason: packet.DropBadIPHeader, Span: true},
		},
		{
			name:  "IPv4 from 127/8 dropped",
			frame: eth(macC, macB, header.EtherTypeIPv4, loop),
			in:    mTap3,
			want:  Decision{Action: ActionDrop, Reason: packet.DropBadIPHeader, Span: true},
		},
		{
			name:  "IPv4 truncated dropped",
			frame: eth(macC, macB, header.EtherTypeIPv4, short),
			in:    mTap3,
			want:  Decision{Action: ActionDrop, Reason: packet.DropBadIPHeader, Span: true},
		},
		{
			name:  "IPv6 multicast source dropped",
			frame: eth(macC, macB, header.EtherTypeIPv6, mcsrc6),
			in:    mTap3,
			want:  Decision{Action: ActionDrop, Reason: packet.DropBadIPHeader, Span: true},
		},
		{
			name:  "tagged frame bridged unchecked and unchanged",
			frame: eth(macC, macB, header.EtherTypeIPv4, cat(badsum, make([]byte, 20)), 10),
			in:    mTap3,
			known: map[string]int{macC: mEm1},
			want:  Decision{Action: ActionForward, Member: mEm1, Span: true},
		},
		{
			name:  "QinQ frame bridged unchanged",
			frame: eth(bcast, macB, header.EtherTypeIPv4, udp4, 20, 10),
			in:    mTap3,
			want:  Decision{Action: ActionFlood, Group: true, Span: true},
		},
		{
			name:  "runt dropped",
			frame: []byte{1, 2, 3},
			in:    mTap3,
			want:  Decision{Action: ActionDrop, Reason: packet.DropRunt},
		},
		{
			name:  "frame on a span port is not the bridge's",
			frame: eth(bcast, macB, header.EtherTypeARP, arp(1, macB, "10.0.0.2", "00:00:00:00:00:00", "10.0.0.1")),
			in:    mSpan,
			want:  Decision{Action: ActionDrop, Reason: packet.DropUnclaimed},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newTestBridge(t, Config{}, nil)
			learned(t, b, tc.known)
			p := pkt(t, tc.frame)
			d := b.Input(p, tc.in, 10)
			want := tc.want
			want.In = tc.in
			if want.Action != ActionLocal && want.Action != ActionForward {
				want.Member = -1
			}
			if d != want {
				t.Errorf("Input(%s) = %+v, want %+v", tc.name, d, want)
			}
			if !slices.Equal(p.Bytes(), tc.frame) {
				t.Errorf("Input changed the frame")
			}
			d.Apply(p)
			wantLen := len(tc.frame)
			if tc.len != 0 {
				wantLen = tc.len
			}
			if p.Len() != wantLen {
				t.Errorf("after Apply, Len() = %d, want %d", p.Len(), wantLen)
			}
			if d.Action == ActionDrop && b.Counters().Drops(d.Reason) != 1 {
				t.Errorf("Counters().Drops(%v) = %d, want 1", d.Reason, b.Counters().Drops(d.Reason))
			}
		})
	}
}

// snapLess is an STP BPDU: 802.3 with a plain LLC header (42 42 03).
func snapLess(dst, src string) []byte {
	bpdu := append([]byte{0x42, 0x42, 0x03}, make([]byte, 35)...)
	return eth(dst, src, uint16(len(bpdu)), bpdu)
}

func TestInputLearns(t *testing.T) {
	b := newTestBridge(t, Config{}, func(ms []Member) { ms[mTap4].NoLearn = true })
	udp4 := ipv4("10.0.0.1", "10.0.0.2", 8)
	tests := []struct {
		name    string
		src     string
		in      int
		learned bool
	}{
		{"unicast source learned", macB, mTap3, true},
		{"multicast source not learned", "03:00:00:00:00:01", mTap3, false},
		{"zero source not learned", "00:00:00:00:00:00", mTap3, false},
		{"-learn member", macC, mTap4, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b.Input(pkt(t, eth(bcast, tc.src, header.EtherTypeIPv4, udp4)), tc.in, 5)
			i, ok := b.Table().Lookup(mac(tc.src))
			if ok != tc.learned || (ok && i != tc.in) {
				t.Errorf("Lookup(%s) = %d, %v, want %d, %v", tc.src, i, ok, tc.in, tc.learned)
			}
		})
	}
	// Learning on the local path too.
	b.Input(pkt(t, eth(macVether, macA, header.EtherTypeIPv4, udp4)), mEm1, 5)
	if i, ok := b.Table().Lookup(mac(macA)); !ok || i != mEm1 {
		t.Errorf("local delivery did not learn the source: Lookup = %d, %v", i, ok)
	}
	if got := b.Counters().Learned.Load(); got != 2 {
		t.Errorf("Counters().Learned = %d, want 2", got)
	}
}

func TestLocalIn(t *testing.T) {
	b := newTestBridge(t, Config{}, func(ms []Member) {
		ms[mEm1].Stack = true
		ms[mEm1].Rules = []Rule{{Action: RuleBlock, Dir: DirIn}}
	})
	f := eth(bcast, macA, header.EtherTypeARP, arp(1, macA, "10.0.0.9", "00:00:00:00:00:00", "10.0.0.1"))
	// em1 has a stack: it gets its copy even though its rule blocks the
	// frame from the bridge, as bridge_process copies before the rules.
	d := b.Input(pkt(t, f), mEm1, 1)
	if !d.LocalIn || d.Action != ActionDrop || d.Reason != packet.DropBridgeRule {
		t.Errorf("Input on em1 = %+v, want LocalIn and a bridge-rule drop", d)
	}
	d = b.Input(pkt(t, f), mTap3, 1)
	if d.LocalIn {
		t.Errorf("Input on tap3 (no stack) = %+v, want no LocalIn", d)
	}
}

func TestMaxAddrFloods(t *testing.T) {
	b := newTestBridge(t, Config{MaxAddr: 2}, nil)
	udp4 := ipv4("10.0.0.1", "10.0.0.2", 8)
	for _, s := range []struct {
		src string
		in  int
	}{{macA, mEm1}, {macB, mTap3}, {macC, mTap4}} {
		b.Input(pkt(t, eth(bcast, s.src, header.EtherTypeIPv4, udp4)), s.in, 1)
	}
	if got := b.Table().Len(); got != 2 {
		t.Fatalf("Table().Len() = %d, want 2", got)
	}
	if got := b.Counters().Full.Load(); got != 1 {
		t.Errorf("Counters().Full = %d, want 1", got)
	}
	d := b.Input(pkt(t, eth(macC, macA, header.EtherTypeIPv4, udp4)), mEm1, 2)
	if d.Action != ActionFlood {
		t.Errorf("frame to the unlearned third MAC: %v, want flood", d.Action)
	}
	d = b.Input(pkt(t, eth(macB, macA, header.EtherTypeIPv4, udp4)), mEm1, 2)
	if d.Action != ActionForward || d.Member != mTap3 {
		t.Errorf("frame to a learned MAC: %+v, want forward to tap3", d)
	}
	if err := b.AddStatic(mTap4, mac(macC)); err == nil {
		t.Errorf("AddStatic on a full table succeeded")
	}
}

func TestStaticNeverMovesThroughInput(t *testing.T) {
	b := newTestBridge(t, Config{}, nil)
	if err := b.AddStatic(mTap3, mac(macB)); err != nil {
		t.Fatal(err)
	}
	udp4 := ipv4("10.0.0.1", "10.0.0.2", 8)
	b.Input(pkt(t, eth(bcast, macB, header.EtherTypeIPv4, udp4)), mEm1, 1)
	if i, _ := b.Table().Lookup(mac(macB)); i != mTap3 {
		t.Errorf("static entry moved to %d", i)
	}
	if b.Counters().Moves.Load() != 0 {
		t.Errorf("Counters().Moves = %d, want 0", b.Counters().Moves.Load())
	}
	// A dynamic one moves, and the move is counted.
	b.Input(pkt(t, eth(bcast, macA, header.EtherTypeIPv4, udp4)), mEm1, 1)
	b.Input(pkt(t, eth(bcast, macA, header.EtherTypeIPv4, udp4)), mTap4, 2)
	e, _ := b.Table().Entry(mac(macA))
	if e.Member != mTap4 || e.Moves != 1 || b.Counters().Moves.Load() != 1 || b.MemberCounters(mTap4).MovedIn.Load() != 1 {
		t.Errorf("after a move, Entry = %+v, Moves counter %d", e, b.Counters().Moves.Load())
	}
	if err := b.AddStatic(mSpan, mac(macC)); err == nil {
		t.Errorf("AddStatic on a span port succeeded")
	}
	if err := b.AddStatic(mTap3, mac(bcast)); err == nil {
		t.Errorf("AddStatic of a broadcast address succeeded")
	}
}

func TestBlockNonIP(t *testing.T) {
	udp4 := ipv4("10.0.0.1", "10.0.0.2", 8)
	tests := []struct {
		name    string
		frame   []byte
		blocked bool
	}{
		{"IPv4", eth(bcast, macB, header.EtherTypeIPv4, udp4), false},
		{"IPv6", eth(bcast, macB, header.EtherTypeIPv6, ipv6("fe80::1", "ff02::1", 8)), false},
		{"ARP", eth(bcast, macB, header.EtherTypeARP, arp(1, macB, "10.0.0.2", "00:00:00:00:00:00", "10.0.0.1")), false},
		{"RARP", eth(bcast, macB, header.EtherTypeRARP, arp(3, macB, "0.0.0.0", macB, "0.0.0.0")), false},
		{"IPv4 in LLC/SNAP", snap(bcast, macB, header.EtherTypeIPv4, udp4), false},
		{"ARP in LLC/SNAP", snap(bcast, macB, header.EtherTypeARP, make([]byte, 28)), false},
		{"IPX", eth(bcast, macB, 0x8137, make([]byte, 46)), true},
		{"IPX in LLC/SNAP", snap(bcast, macB, 0x8137, make([]byte, 40)), true},
		{"plain LLC", snapLess(bcast, macB), true},
		{"SNAP with an OUI", func() []byte {
			f := snap(bcast, macB, header.EtherTypeIPv4, udp4)
			f[17] = 0x0c
			return f
		}(), true},
		{"tagged IPv4", eth(bcast, macB, header.EtherTypeIPv4, udp4, 10), true},
		{"802.3 too short for SNAP", eth(bcast, macB, 4, []byte{0xaa, 0xaa, 3, 0}), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := blockNonIP(tc.frame); got != tc.blocked {
				t.Errorf("blockNonIP(%s) = %v, want %v", tc.name, got, tc.blocked)
			}
			// On input of a blocknonip member.
			b := newTestBridge(t, Config{}, func(ms []Member) { ms[mTap3].BlockNonIP = true })
			d := b.Input(pkt(t, tc.frame), mTap3, 1)
			if got := d.Reason == packet.DropBlockNonIP; got != tc.blocked {
				t.Errorf("Input on a blocknonip member = %+v, blocked %v", d, tc.blocked)
			}
			// On output, only when flooding.
			b = newTestBridge(t, Config{}, func(ms []Member) { ms[mTap4].BlockNonIP = true })
			p := pkt(t, tc.frame)
			d = b.Input(p, mTap3, 1)
			if d.Action == ActionFlood {
				ok, r := b.OutputAllowed(p, &d, mTap4)
				if ok == tc.blocked || (!ok && r != packet.DropBlockNonIP) {
					t.Errorf("OutputAllowed(flood to blocknonip) = %v, %v, want blocked %v", ok, r, tc.blocked)
				}
			}
		})
	}
	// Known unicast to a blocknonip member is not checked.
	b := newTestBridge(t, Config{}, func(ms []Member) { ms[mTap4].BlockNonIP = true })
	learned(t, b, map[string]int{macC: mTap4})
	p := pkt(t, eth(macC, macB, 0x8137, make([]byte, 46)))
	d := b.Input(p, mTap3, 1)
	if ok, r := b.OutputAllowed(p, &d, mTap4); d.Action != ActionForward || !ok {
		t.Errorf("unicast IPX to a blocknonip member: %+v, OutputAllowed %v %v, want forward, allowed", d, ok, r)
	}
}

func TestFloodTargets(t *testing.T) {
	tests := []struct {
		name string
		edit func(ms []Member)
		down []int
		dst  string
		in   int
		host bool
		want []int
	}{
		{"broadcast to all but in and span", nil, nil, bcast, mEm1, false, []int{mTap3, mTap4, mVether}},
		{"unknown unicast skips -discover", func(ms []Member) { ms[mTap4].NoDiscover = true }, nil, macC, mEm1, false, []int{mTap3, mVether}},
		{"broadcast reaches -discover", func(ms []Member) { ms[mTap4].NoDiscover = true }, nil, bcast, mEm1, false, []int{mTap3, mTap4, mVether}},
		{"down members skipped", nil, []int{mTap3}, bcast, mEm1, false, []int{mTap4, mVether}},
		{"host output floods all but the sender", nil, nil, bcast, mVether, true, []int{mEm1, mTap3, mTap4}},
		{"host unknown unicast skips -discover", func(ms []Member) { ms[mEm1].NoDiscover = true }, nil, macC, mVether, true, []int{mTap3, mTap4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newTestBridge(t, Config{}, tc.edit)
			for _, i := range tc.down {
				b.SetUp(i, false)
			}
			p := pkt(t, eth(tc.dst, macB, header.EtherTypeARP, arp(1, macB, "10.0.0.2", "00:00:00:00:00:00", "10.0.0.1")))
			var d Decision
			if tc.host {
				p = pkt(t, eth(tc.dst, macVether, header.EtherTypeARP, arp(1, macVether, "10.0.0.1", "00:00:00:00:00:00", "10.0.0.2")))
				d = b.HostOutput(p, tc.in)
			} else {
				d = b.Input(p, tc.in, 1)
			}
			if d.Action != ActionFlood {
				t.Fatalf("decision %+v, want flood", d)
			}
			got := b.FloodTargets(&d, make([]int, 0, b.NumMembers()))
			if !slices.Equal(got, tc.want) {
				t.Errorf("FloodTargets = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestProtected(t *testing.T) {
	// tap3 and tap4 share domain 1; em1 is in none; vether0 in 2.
	edit := func(ms []Member) {
		ms[mTap3].Protected = 1 << 1
		ms[mTap4].Protected = 1<<1 | 1<<3
		ms[mVether].Protected = 1 << 2
	}
	udp4 := ipv4("10.0.0.1", "10.0.0.2", 8)
	tests := []struct {
		name    string
		src     string
		dst     string
		in, out int
		ok      bool
	}{
		{"tap3 to tap4 unicast", macB, macC, mTap3, mTap4, false},
		{"tap4 to tap3 broadcast", macC, bcast, mTap4, mTap3, false},
		{"tap3 to em1", macB, macA, mTap3, mEm1, true},
		{"em1 to tap3", macA, macB, mEm1, mTap3, true},
		{"tap3 broadcast to vether0", macB, bcast, mTap3, mVether, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newTestBridge(t, Config{}, edit)
			learned(t, b, map[string]int{macA: mEm1, macB: mTap3, macC: mTap4})
			p := pkt(t, eth(tc.dst, tc.src, header.EtherTypeIPv4, udp4))
			d := b.Input(p, tc.in, 1)
			if d.Action == ActionForward && d.Member != tc.out {
				t.Fatalf("forwarded to %d, want %d", d.Member, tc.out)
			}
			ok, r := b.OutputAllowed(p, &d, tc.out)
			if ok != tc.ok || (!ok && r != packet.DropProtected) {
				t.Errorf("OutputAllowed = %v, %v, want %v", ok, r, tc.ok)
			}
		})
	}
	// Unicast to and from the stack is not affected.
	b := newTestBridge(t, Config{}, func(ms []Member) {
		edit(ms)
		ms[mVether].Protected = 1 << 1
	})
	learned(t, b, map[string]int{macB: mTap3})
	if d := b.Input(pkt(t, eth(macVether, macB, header.EtherTypeIPv4, udp4)), mTap3, 1); d.Action != ActionLocal {
		t.Errorf("tap3 to vether0 sharing a domain: %+v, want local", d)
	}
	p := pkt(t, eth(macB, macVether, header.EtherTypeIPv4, udp4))
	d := b.HostOutput(p, mVether)
	if ok, _ := b.OutputAllowed(p, &d, mTap3); d.Action != ActionForward || !ok {
		t.Errorf("vether0 to tap3 sharing a domain: %+v, %v, want forward, allowed", d, ok)
	}
}

func TestHostOutput(t *testing.T) {
	udp4 := ipv4("10.0.0.1", "10.0.0.2", 8)
	b := newTestBridge(t, Config{}, func(ms []Member) {
		ms[mTap3].BlockNonIP = true
		ms[mTap3].Protected = 1 << 1
		ms[mVether].Protected = 1 << 1
		ms[mTap4].Rules = []Rule{{Action: RuleBlock, Dir: DirOut, TagName: "x"}}
	})
	learned(t, b, map[string]int{macB: mTap3, macC: mTap4})
	tests := []struct {
		name  string
		frame []byte
		want  Decision
		out   int
		ok    bool
	}{
		{"known unicast direct", eth(macB, macVether, header.EtherTypeIPv4, udp4), Decision{Action: ActionForward, Member: mTap3, Span: true}, mTap3, true},
		{"known unicast ignores out rules", eth(macC, macVether, header.EtherTypeIPv4, udp4), Decision{Action: ActionForward, Member: mTap4, Span: true}, mTap4, true},
		{"flood ignores blocknonip and protected", eth(bcast, macVether, 0x8137, make([]byte, 46)), Decision{Action: ActionFlood, Group: true, Span: true}, mTap3, true},
		{"flood through out rules", eth(bcast, macVether, header.EtherTypeIPv4, udp4), Decision{Action: ActionFlood, Group: true, Span: true}, mTap4, false},
		{"unicast to itself", eth(macVether, macVether, header.EtherTypeIPv4, udp4), Decision{Action: ActionFlood, Span: true}, mEm1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := pkt(t, tc.frame)
			d := b.HostOutput(p, mVether)
			want := tc.want
			want.In, want.Host = mVether, true
			if want.Action != ActionForward {
				want.Member = -1
			}
			if d != want {
				t.Fatalf("HostOutput = %+v, want %+v", d, want)
			}
			if ok, _ := b.OutputAllowed(p, &d, tc.out); ok != tc.ok {
				t.Errorf("OutputAllowed(%d) = %v, want %v", tc.out, ok, tc.ok)
			}
		})
	}
	if b.Table().Len() != 2 {
		t.Errorf("host output learned: Len() = %d, want 2", b.Table().Len())
	}
}

func TestRules(t *testing.T) {
	udp4 := ipv4("10.0.0.1", "10.0.0.2", 8)
	req := eth(bcast, macB, header.EtherTypeARP, arp(1, macB, "10.0.0.2", "00:00:00:00:00:00", "10.0.0.1"))
	rep := eth(macB, macA, header.EtherTypeARP, arp(2, macA, "10.0.0.1", macB, "10.0.0.2"))
	rreq := eth(bcast, macB, header.EtherTypeARP, arp(3, macB, "0.0.0.0", macB, "0.0.0.0"))
	ip := eth(macA, macB, header.EtherTypeIPv4, udp4)
	tests := []struct {
		name  string
		rules []Rule
		frame []byte
		block bool
		tag   uint16
	}{
		{"no rules pass", nil, ip, false, 0},
		{"block all", []Rule{{Action: RuleBlock}}, ip, true, 0},
		{"first match wins", []Rule{{Action: RulePass, MatchSrc: true, Src: mac(macB)}, {Action: RuleBlock}}, ip, false, 0},
		{"src no match falls through", []Rule{{Action: RulePass, MatchSrc: true, Src: mac(macC)}, {Action: RuleBlock}}, ip, true, 0},
		{"src and dst", []Rule{{Action: RuleBlock, MatchSrc: true, Src: mac(macB), MatchDst: true, Dst: mac(macA)}}, ip, true, 0},
		{"src and wrong dst", []Rule{{Action: RuleBlock, MatchSrc: true, Src: mac(macB), MatchDst: true, Dst: mac(macC)}}, ip, false, 0},
		{"dst only", []Rule{{Action: RuleBlock, MatchDst: true, Dst: mac(macA)}}, ip, true, 0},
		{"tag on pass", []Rule{{Action: RulePass, Tag: 7}}, ip, false, 7},
		{"tag on block", []Rule{{Action: RuleBlock, Tag: 9}}, ip, true, 9},
		{"arp matches request", []Rule{{Action: RuleBlock, ARP: ARPOnly}}, req, true, 0},
		{"arp does not match IP", []Rule{{Action: RuleBlock, ARP: ARPOnly}}, ip, false, 0},
		{"arp request does not match reply", []Rule{{Action: RuleBlock, ARP: ARPOnly, Op: OpRequest}}, rep, false, 0},
		{"arp reply", []Rule{{Action: RuleBlock, ARP: ARPOnly, Op: OpReply}}, rep, true, 0},
		{"arp does not match rarp op", []Rule{{Action: RuleBlock, ARP: ARPOnly}}, rreq, false, 0},
		{"rarp request", []Rule{{Action: RuleBlock, ARP: RARP, Op: OpRequest}}, rreq, true, 0},
		{"rarp does not match arp", []Rule{{Action: RuleBlock, ARP: RARP}}, req, false, 0},
		{"rarp reply", []Rule{{Action: RuleBlock, ARP: RARP, Op: OpReply}}, eth(macB, macA, header.EtherTypeARP, arp(4, macA, "10.0.0.1", macB, "10.0.0.2")), true, 0},
		{"rarp reply is not a request", []Rule{{Action: RuleBlock, ARP: RARP, Op: OpRequest}}, eth(macB, macA, header.EtherTypeARP, arp(4, macA, "10.0.0.1", macB, "10.0.0.2")), false, 0},
		{"arp rule and RARP ethertype", []Rule{{Action: RuleBlock, ARP: RARP}}, eth(bcast, macB, header.EtherTypeRARP, arp(3, macB, "0.0.0.0", macB, "0.0.0.0")), false, 0},
		{"arp with a non-Ethernet hardware type", []Rule{{Action: RuleBlock, ARP: ARPOnly}}, func() []byte {
			f := append([]byte{}, req...)
			f[15] = 6
			return f
		}(), false, 0},
		{"sha", []Rule{{Action: RuleBlock, ARP: ARPOnly, MatchSHA: true, SHA: mac(macB)}}, req, true, 0},
		{"sha other", []Rule{{Action: RuleBlock, ARP: ARPOnly, MatchSHA: true, SHA: mac(macA)}}, req, false, 0},
		{"spa", []Rule{{Action: RuleBlock, ARP: ARPOnly, SPA: netip.MustParseAddr("10.0.0.2")}}, req, true, 0},
		{"spa other", []Rule{{Action: RuleBlock, ARP: ARPOnly, SPA: netip.MustParseAddr("10.0.0.3")}}, req, false, 0},
		{"tha", []Rule{{Action: RuleBlock, ARP: ARPOnly, MatchTHA: true, THA: mac(macB)}}, rep, true, 0},
		{"tpa", []Rule{{Action: RuleBlock, ARP: ARPOnly, TPA: netip.MustParseAddr("10.0.0.1")}}, req, true, 0},
		{"tpa other", []Rule{{Action: RuleBlock, ARP: ARPOnly, TPA: netip.MustParseAddr("10.0.0.9")}}, req, false, 0},
		{"truncated arp never matches", []Rule{{Action: RuleBlock, ARP: ARPOnly}}, req[:30], false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rs []rule
			for _, r := range tc.rules {
				rs = append(rs, compileRule(r, r.Tag))
			}
			block, tag := filter(rs, tc.frame)
			if block != tc.block || tag != tc.tag {
				t.Errorf("filter = %v, %d, want %v, %d", block, tag, tc.block, tc.tag)
			}
		})
	}
}

func TestRuleDirections(t *testing.T) {
	udp4 := ipv4("10.0.0.1", "10.0.0.2", 8)
	tests := []struct {
		name     string
		dir      Dir
		inBlock  bool
		outBlock bool
	}{
		{"in", DirIn, true, false},
		{"out", DirOut, false, true},
		{"no direction is both", 0, true, true},
		{"both", DirBoth, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newTestBridge(t, Config{}, func(ms []Member) {
				ms[mTap3].Rules = []Rule{{Action: RuleBlock, Dir: tc.dir, TagName: "quarantine"}}
			})
			p := pkt(t, eth(bcast, macB, header.EtherTypeIPv4, udp4))
			d := b.Input(p, mTap3, 1)
			if got := d.Action == ActionDrop; got != tc.inBlock {
				t.Errorf("Input on tap3 = %+v, blocked %v, want %v", d, got, tc.inBlock)
			}
			if d.Tag == 0 && tc.inBlock {
				t.Errorf("in rule tag not set")
			}
			p = pkt(t, eth(bcast, macA, header.EtherTypeIPv4, udp4))
			d = b.Input(p, mEm1, 1)
			ok, _ := b.OutputAllowed(p, &d, mTap3)
			if ok == tc.outBlock {
				t.Errorf("OutputAllowed(tap3) = %v, want blocked %v", ok, tc.outBlock)
			}
			if tc.outBlock && p.PFTag != 1 {
				t.Errorf("out rule tag: PFTag = %d, want 1", p.PFTag)
			}
		})
	}
}

func TestRuleTagID(t *testing.T) {
	ids := map[string]uint16{"web": 42}
	b := newTestBridge(t, Config{TagID: func(n string) uint16 { return ids[n] }}, func(ms []Member) {
		ms[mTap3].Rules = []Rule{{Action: RulePass, Dir: DirIn, TagName: "web"}}
	})
	p := pkt(t, eth(bcast, macB, header.EtherTypeIPv4, ipv4("10.0.0.1", "10.0.0.2", 8)))
	d := b.Input(p, mTap3, 1)
	d.Apply(p)
	if p.PFTag != 42 {
		t.Errorf("PFTag = %d, want 42", p.PFTag)
	}
}

func TestRuleString(t *testing.T) {
	tests := []struct {
		r    Rule
		want string
	}{
		{Rule{Action: RuleBlock, Dir: DirIn, MatchSrc: true, Src: mac(macB)}, "block in on tap3 src 02:00:00:00:00:0b"},
		{Rule{Action: RulePass, MatchDst: true, Dst: mac(macA), TagName: "t"}, "pass in/out on tap3 dst 02:00:00:00:00:0a tag t"},
		{Rule{Action: RuleBlock, Dir: DirOut, ARP: ARPOnly, Op: OpRequest, MatchSHA: true, SHA: mac(macB), TPA: netip.MustParseAddr("10.0.0.1")},
			"block out on tap3 arp request sha 02:00:00:00:00:0b tpa 10.0.0.1"},
	}
	for _, tc := range tests {
		if got := tc.r.String("tap3"); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestAdopt(t *testing.T) {
	old := newTestBridge(t, Config{}, nil)
	learned(t, old, map[string]int{macA: mEm1, macB: mTap3, macC: mTap4})
	old.AddStatic(mTap3, mac("02:00:00:00:00:99"))
	// The new bridge lost tap4 and has em1 at another index.
	nb, err := NewBridge("bridge0", Config{MaxAddr: 10}, []Member{{Name: "tap3"}, {Name: "em1"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := nb.Adopt(old); n != 2 {
		t.Errorf("Adopt = %d, want 2", n)
	}
	for a, want := range map[string]int{macA: 1, macB: 0} {
		if i, ok := nb.Table().Lookup(mac(a)); !ok || i != want {
			t.Errorf("Lookup(%s) = %d, %v, want %d", a, i, ok, want)
		}
	}
	if _, ok := nb.Table().Lookup(mac(macC)); ok {
		t.Errorf("entry of a member that left was carried over")
	}
}

func TestNewBridgeErrors(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		members []Member
	}{
		{"duplicate member", Config{}, []Member{{Name: "tap3"}, {Name: "tap3"}}},
		{"protected id 0", Config{}, []Member{{Name: "tap3", Protected: 1}}},
		{"negative timeout", Config{Timeout: -1}, nil},
		{"negative maxaddr", Config{MaxAddr: -1}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewBridge("bridge0", tc.cfg, tc.members); err == nil {
				t.Errorf("NewBridge(%s) = nil error", tc.name)
			}
		})
	}
}

func TestMembers(t *testing.T) {
	b := newTestBridge(t, Config{}, func(ms []Member) {
		ms[mTap3].NoLearn = true
		ms[mTap4].BlockNonIP = true
		ms[mTap4].NoDiscover = true
	})
	b.SetUp(mTap4, false)
	var got []string
	for _, m := range b.Members() {
		got = append(got, fmt.Sprintf("%s %s %v", m.Name, m.Flags, m.Up))
	}
	want := []string{"em1 LEARNING,DISCOVER true", "tap3 DISCOVER true", "tap4 LEARNING,BLOCKNONIP false",
		"vether0 LEARNING,DISCOVER true", "em2 SPAN true"}
	if !slices.Equal(got, want) {
		t.Errorf("Members() = %q, want %q", got, want)
	}
	if b.MemberIndex("tap4") != mTap4 || b.MemberIndex("nope") != -1 {
		t.Errorf("MemberIndex wrong")
	}
	if !slices.Equal(b.SpanTargets(), []int{mSpan}) {
		t.Errorf("SpanTargets() = %v, want [%d]", b.SpanTargets(), mSpan)
	}
}

func TestDownMember(t *testing.T) {
	b := newTestBridge(t, Config{}, nil)
	learned(t, b, map[string]int{macC: mTap4})
	b.SetUp(mTap4, false)
	d := b.Input(pkt(t, eth(macC, macB, header.EtherTypeIPv4, ipv4("10.0.0.1", "10.0.0.2", 8))), mTap3, 1)
	if d.Action != ActionDrop || d.Reason != packet.DropDown {
		t.Errorf("unicast to a down member: %+v, want drop down", d)
	}
	if b.MemberCounters(mTap4).Drops(packet.DropDown) != 1 {
		t.Errorf("down drop not counted on tap4")
	}
}

func TestAddrs(t *testing.T) {
	b := newTestBridge(t, Config{}, nil)
	b.Table().Learn(mac(macB), mTap3, 7)
	b.AddStatic(mEm1, mac(macA))
	b.Table().Sweep()
	b.Table().Learn(mac(macC), mTap4, 9)
	var got []string
	for _, a := range b.Addrs() {
		got = append(got, a.Format(a.IfName))
	}
	want := []string{
		"02:00:00:00:00:0a em1 0 flags=1<STATIC>",
		"02:00:00:00:00:0b tap3 0 flags=0<>",
		"02:00:00:00:00:0c tap4 1 flags=0<>",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Addrs() =\n%q\nwant\n%q", got, want)
	}
	if a := b.Addrs()[1]; a.Age(100) != 93 {
		t.Errorf("Age(100) = %d, want 93", a.Age(100))
	}
}

// TestBridgeConcurrent runs readers on several members with moving
// sources while a timer ticks and the control side reads and flushes; it
// is meant for -race.
func TestBridgeConcurrent(t *testing.T) {
	b := newTestBridge(t, Config{Timeout: 2, MaxAddr: 64}, nil)
	udp4 := ipv4("10.0.0.1", "10.0.0.2", 8)
	var wg sync.WaitGroup
	for w, in := range []int{mEm1, mTap3, mTap4} {
		wg.Go(func() {
			targets := make([]int, 0, b.NumMembers())
			for i := range 3000 {
				src := header.MAC{2, 0, 0, 0, byte(i % 50), byte(w)}
				dst := header.MAC{2, 0, 0, 0, byte((i + 7) % 50), byte((w + 1) % 3)}
				f := eth(dst.String(), src.String(), header.EtherTypeIPv4, udp4)
				p := pkt(t, f)
				d := b.Input(p, in, uint32(i/100))
				if d.Action == ActionFlood {
					for _, o := range b.FloodTargets(&d, targets) {
						b.OutputAllowed(p, &d, o)
					}
				}
				if d.Action == ActionForward && (d.Member == in || d.Member == mSpan) {
					t.Errorf("forwarded to %d from %d", d.Member, in)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 300 {
			b.Tick(uint32(i / 10))
			b.Addrs()
			if i%50 == 0 {
				b.Table().Flush()
			}
		}
	})
	wg.Wait()
	if n := b.Table().Len(); n > 64 {
		t.Errorf("Len() = %d beyond maxaddr 64", n)
	}
}

func TestLinkFlags(t *testing.T) {
	udp4 := ipv4("10.0.0.1", "224.0.0.9", 8)
	ipmc := eth("01:00:5e:00:00:09", macB, header.EtherTypeIPv4, udp4)
	v6mc := eth("33:33:00:00:00:01", macB, header.EtherTypeIPv6, ipv6("fe80::1", "ff02::1", 8))
	bc := eth(bcast, macB, header.EtherTypeIPv4, ipv4("10.0.0.1", "10.0.0.255", 8))
	tests := []struct {
		name         string
		link0, link1 bool
		frame        []byte
		dropped      bool
	}{
		{"default forwards IP multicast", false, false, ipmc, false},
		{"link0 drops IPv4 multicast", true, false, ipmc, true},
		{"link0 keeps other multicast", true, false, v6mc, false},
		{"link1 drops non-IPv4 multicast", false, true, v6mc, true},
		{"link1 keeps IPv4 multicast", false, true, ipmc, false},
		{"link0 link1 drop all multicast", true, true, ipmc, true},
		{"broadcast is not multicast here", true, true, bc, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newTestBridge(t, Config{Link0: tc.link0, Link1: tc.link1}, nil)
			d := b.Input(pkt(t, tc.frame), mTap3, 1)
			if got := d.Action == ActionDrop; got != tc.dropped {
				t.Errorf("Input = %+v, dropped %v, want %v", d, got, tc.dropped)
			}
		})
	}
}

func TestHostOutputDrops(t *testing.T) {
	udp4 := ipv4("10.0.0.1", "10.0.0.2", 8)
	b := newTestBridge(t, Config{}, nil)
	learned(t, b, map[string]int{macB: mTap3})
	if err := b.AddStatic(mVether, mac("02:00:00:00:00:77")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		dst    string
		down   int
		reason packet.DropReason
	}{
		{"to an address on the sender itself", "02:00:00:00:00:77", -1, packet.DropSameLink},
		{"to a member that is down", macB, mTap3, packet.DropDown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.down >= 0 {
				b.SetUp(tc.down, false)
				defer b.SetUp(tc.down, true)
			}
			d := b.HostOutput(pkt(t, eth(tc.dst, macVether, header.EtherTypeIPv4, udp4)), mVether)
			if d.Action != ActionDrop || d.Reason != tc.reason {
				t.Errorf("HostOutput = %+v, want drop %v", d, tc.reason)
			}
		})
	}
	if d := b.HostOutput(pkt(t, []byte{1}), mVether); d.Reason != packet.DropRunt {
		t.Errorf("HostOutput(runt) = %+v, want runt", d)
	}
	if !b.IsUp(mTap3) {
		t.Errorf("IsUp(tap3) = false after SetUp(true)")
	}
}

// TestParentAndChild has em1 and vlan10 (which inherits em1's MAC) in one
// bridge: a frame to that MAC goes to the stack of the member it came in
// on, and a frame from it is dropped on either.
func TestParentAndChild(t *testing.T) {
	b, err := NewBridge("bridge0", Config{MaxAddr: 10}, []Member{
		{Name: "em1", MAC: mac(macEm1), Stack: true},
		{Name: "vlan10", MAC: mac(macEm1), Stack: true},
		{Name: "tap3"},
	})
	if err != nil {
		t.Fatal(err)
	}
	udp4 := ipv4("10.0.0.1", "10.0.0.2", 8)
	for _, in := range []int{0, 1} {
		d := b.Input(pkt(t, eth(macEm1, macA, header.EtherTypeIPv4, udp4)), in, 1)
		if d.Action != ActionLocal || d.Member != in {
			t.Errorf("to the shared MAC on %d: %+v, want local on %d", in, d, in)
		}
		d = b.Input(pkt(t, eth(bcast, macEm1, header.EtherTypeIPv4, udp4)), in, 1)
		if d.Reason != packet.DropOwnSource {
			t.Errorf("from the shared MAC on %d: %+v, want own-source", in, d)
		}
	}
	d := b.Input(pkt(t, eth(macEm1, macB, header.EtherTypeIPv4, udp4)), 2, 1)
	if d.Action != ActionLocal || d.Member != 0 {
		t.Errorf("to the shared MAC from tap3: %+v, want local on em1 (first member)", d)
	}
}
