package filter

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// hdr is what the scrub tests set in a packet's IP and TCP headers and
// read back from it.
type hdr struct {
	ttl   uint8 // TTL or hop limit; 0 builds 64
	tos   uint8 // TOS or traffic class
	df    bool
	mf    bool   // IPv4 more fragments (a first fragment)
	id    uint16 // IPv4 identification
	mss   uint16 // TCP: an MSS option when not 0
	nop   bool   // TCP: a no-op before the MSS option, which then starts at an odd offset
	flags string // TCP flags, as tcpPkt takes them; "" builds UDP
	seq   uint32
	ack   uint32
	ts    int    // TCP: timestamp options (tsval, tsecr), 0, 1 or 2
	tsval uint32 // TCP
	tsecr uint32
	data  int // TCP payload bytes
}

// scrubPkt builds a TCP (h.flags set) or UDP packet src:sport ->
// dst:dport with h's header fields.
func scrubPkt(t testing.TB, src string, sport uint16, dst string, dport uint16, h hdr) *packet.Packet {
	t.Helper()
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	ttl := h.ttl
	if ttl == 0 {
		ttl = 64
	}
	proto := layers.IPProtocolUDP
	if h.flags != "" {
		proto = layers.IPProtocolTCP
	}
	var ipl gopacket.SerializableLayer
	var nl gopacket.NetworkLayer
	eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}
	if s.Is4() {
		ip := &layers.IPv4{Version: 4, TTL: ttl, TOS: h.tos, Id: h.id, Protocol: proto, SrcIP: s.AsSlice(), DstIP: d.AsSlice()}
		if h.df {
			ip.Flags |= layers.IPv4DontFragment
		}
		if h.mf {
			ip.Flags |= layers.IPv4MoreFragments
		}
		ipl, nl = ip, ip
	} else {
		ip := &layers.IPv6{Version: 6, HopLimit: ttl, TrafficClass: h.tos, NextHeader: proto, SrcIP: s.AsSlice(), DstIP: d.AsSlice()}
		ipl, nl = ip, ip
		eth.EthernetType = layers.EthernetTypeIPv6
	}
	if h.flags == "" {
		udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
		udp.SetNetworkLayerForChecksum(nl)
		return build(t, eth, ipl, udp, gopacket.Payload([]byte("scrub me")))
	}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: h.seq, Ack: h.ack, Window: 65535}
	for _, c := range h.flags {
		switch c {
		case 'S':
			tcp.SYN = true
		case 'A':
			tcp.ACK = true
		case 'F':
			tcp.FIN = true
		case 'R':
			tcp.RST = true
		}
	}
	if h.nop {
		tcp.Options = append(tcp.Options, layers.TCPOption{OptionType: layers.TCPOptionKindNop, OptionLength: 1})
	}
	if h.mss != 0 {
		tcp.Options = append(tcp.Options, layers.TCPOption{OptionType: layers.TCPOptionKindMSS, OptionLength: 4,
			OptionData: []byte{byte(h.mss >> 8), byte(h.mss)}})
	}
	for range h.ts {
		var d [8]byte
		binary.BigEndian.PutUint32(d[:4], h.tsval)
		binary.BigEndian.PutUint32(d[4:], h.tsecr)
		tcp.Options = append(tcp.Options, layers.TCPOption{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: d[:]})
	}
	tcp.SetNetworkLayerForChecksum(nl)
	return build(t, eth, ipl, tcp, gopacket.Payload(make([]byte, h.data)))
}

// readHdr decodes p with gopacket, failing on a bad IPv4 header, TCP or
// UDP checksum (decoded verifies them), and returns its fields.
func readHdr(t testing.TB, p *packet.Packet) hdr {
	t.Helper()
	g := decoded(t, p)
	var h hdr
	if ip, ok := g.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		h.ttl, h.tos, h.id = ip.TTL, ip.TOS, ip.Id
		h.df = ip.Flags&layers.IPv4DontFragment != 0
		h.mf = ip.Flags&layers.IPv4MoreFragments != 0
	} else if ip, ok := g.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
		h.ttl, h.tos = ip.HopLimit, ip.TrafficClass
	} else {
		t.Fatalf("no IP layer in %v", g)
	}
	if tcp, ok := g.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
		for _, o := range tcp.Options {
			switch {
			case o.OptionType == layers.TCPOptionKindMSS && len(o.OptionData) == 2:
				h.mss = binary.BigEndian.Uint16(o.OptionData)
			case o.OptionType == layers.TCPOptionKindTimestamps && len(o.OptionData) == 8:
				h.ts++
				h.tsval, h.tsecr = binary.BigEndian.Uint32(o.OptionData), binary.BigEndian.Uint32(o.OptionData[4:])
			}
		}
	}
	return h
}

// checkHdr compares the fields of got that scrub may change with want's.
func checkHdr(t testing.TB, what string, got, want hdr) {
	t.Helper()
	if got.ttl != want.ttl || got.tos != want.tos || got.df != want.df || got.mss != want.mss {
		t.Errorf("%s: ttl %d tos %#02x df %v mss %d, want ttl %d tos %#02x df %v mss %d", what,
			got.ttl, got.tos, got.df, got.mss, want.ttl, want.tos, want.df, want.mss)
	}
}

// TestScrubStateless: a packet passed without state gets the options of
// the match rules and of its pass rule (pf_scrub with pd->act), except
// max-mss, which only the pass rule's own sets (pf_test: r->max_mss).
func TestScrubStateless(t *testing.T) {
	const c4, s4, c6, s6 = "198.51.100.7", "203.0.113.1", "2001:db8:1::7", "2001:db8::1"
	tests := []struct {
		name     string
		conf     string
		src, dst string
		in       hdr
		want     hdr
	}{
		{"no-df clears DF", "pass in no state scrub (no-df)\n", c4, s4,
			hdr{df: true}, hdr{ttl: 64}},
		{"no-df leaves a packet without DF", "pass in no state scrub (no-df)\n", c4, s4,
			hdr{}, hdr{ttl: 64}},
		{"min-ttl raises IPv4 TTL", "pass in no state scrub (min-ttl 15)\n", c4, s4,
			hdr{ttl: 5, df: true}, hdr{ttl: 15, df: true}},
		{"min-ttl keeps a higher TTL", "pass in no state scrub (min-ttl 15)\n", c4, s4,
			hdr{ttl: 16}, hdr{ttl: 16}},
		{"min-ttl raises IPv6 hop limit", "pass in no state scrub (min-ttl 15)\n", c6, s6,
			hdr{ttl: 2}, hdr{ttl: 15}},
		{"set tos keeps IPv4 ECN", "pass in no state set tos 0x10\n", c4, s4,
			hdr{tos: 0x03}, hdr{ttl: 64, tos: 0x13}},
		{"set tos 0 clears IPv4 TOS", "pass in no state set tos 0\n", c4, s4,
			hdr{tos: 0xb8}, hdr{ttl: 64}},
		{"set tos writes the IPv6 class", "pass in no state set tos lowdelay\n", c6, s6,
			hdr{tos: 0x03}, hdr{ttl: 64, tos: 0x10}},
		{"no-df and random-id leave IPv6 alone", "pass in no state scrub (no-df random-id)\n", c6, s6,
			hdr{ttl: 9, tos: 0x20}, hdr{ttl: 9, tos: 0x20}},
		{"max-mss clamps a SYN", "pass in proto tcp no state scrub (max-mss 1440)\n", c4, s4,
			hdr{flags: "S", mss: 1460}, hdr{ttl: 64, mss: 1440}},
		{"max-mss keeps a lower MSS", "pass in proto tcp no state scrub (max-mss 1440)\n", c4, s4,
			hdr{flags: "S", mss: 1200}, hdr{ttl: 64, mss: 1200}},
		{"max-mss at an odd offset", "pass in proto tcp no state scrub (max-mss 1440)\n", c4, s4,
			hdr{flags: "S", mss: 1460, nop: true}, hdr{ttl: 64, mss: 1440}},
		{"max-mss clamps an IPv6 SYN", "pass in proto tcp no state scrub (max-mss 1220)\n", c6, s6,
			hdr{flags: "S", mss: 1440}, hdr{ttl: 64, mss: 1220}},
		{"max-mss leaves a non-SYN", "pass in proto tcp no state scrub (max-mss 1440)\n", c4, s4,
			hdr{flags: "A", mss: 1460}, hdr{ttl: 64, mss: 1460}},
		{"match rules' options apply", "match in all scrub (no-df min-ttl 30) set tos 0x08\npass in no state\n", c4, s4,
			hdr{ttl: 7, df: true}, hdr{ttl: 30, tos: 0x08}},
		{"match rules' max-mss does not", "match in all scrub (max-mss 1300)\npass in proto tcp no state\n", c4, s4,
			hdr{flags: "S", mss: 1460}, hdr{ttl: 64, mss: 1460}},
		{"the default pass gets match options", "match in all scrub (min-ttl 40)\n", c4, s4,
			hdr{ttl: 1}, hdr{ttl: 40}},
		{"a match rule that does not match", "match out all scrub (min-ttl 40)\npass in no state\n", c4, s4,
			hdr{ttl: 1}, hdr{ttl: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFilter(t, tc.conf, Options{})
			p := scrubPkt(t, tc.src, 4000, tc.dst, 22, tc.in)
			if r := f.Test(In, ifEm0, p, 1); r.Verdict != packet.Pass {
				t.Fatalf("Test = %+v, want pass", r)
			}
			if f.States() != 0 {
				t.Fatalf("%d states, want none", f.States())
			}
			checkHdr(t, "passed", readHdr(t, p), tc.want)
		})
	}
}

// TestScrubRandomID: random-id gives IPv4 packets that are not fragments
// a new identification, from the seeded source (a replay repeats it),
// and leaves fragments' alone.
func TestScrubRandomID(t *testing.T) {
	const conf = "set reassemble no\nmatch in all scrub (random-id)\npass in no state\n"
	ids := func() [3]uint16 {
		f := newTestFilter(t, conf, Options{})
		var got [3]uint16
		for i, h := range []hdr{{id: 0x1234}, {id: 0x1234, df: true}, {id: 0x1234}} {
			p := scrubPkt(t, "198.51.100.7", 4000, "203.0.113.1", 53, h)
			if r := f.Test(In, ifEm0, p, 1); r.Verdict != packet.Pass {
				t.Fatalf("Test = %+v, want pass", r)
			}
			got[i] = readHdr(t, p).id
		}
		return got
	}
	a, b := ids(), ids()
	if a != b {
		t.Errorf("ids %#04x, then %#04x with the same seed", a, b)
	}
	if a[0] == 0x1234 || a[1] == 0x1234 || a[2] == 0x1234 || a[0] == a[2] {
		t.Errorf("ids %#04x from 0x1234, want three new ones", a)
	}

	f := newTestFilter(t, conf, Options{})
	frag := scrubPkt(t, "198.51.100.7", 4000, "203.0.113.1", 53, hdr{id: 0x4321, mf: true, ttl: 3})
	if frag.Meta.Frag&packet.FragIsFragment == 0 {
		t.Fatal("the first fragment does not parse as one")
	}
	if r := f.Test(In, ifEm0, frag, 1); r.Verdict != packet.Pass {
		t.Fatalf("Test(fragment) = %+v, want pass", r)
	}
	if got := readHdr(t, frag); got.id != 0x4321 || !got.mf {
		t.Errorf("fragment: id %#04x mf %v, want 0x4321 and mf kept", got.id, got.mf)
	}

	// A reassembled datagram is whole: it gets a new identification.
	g := newTestFilter(t, "match in all scrub (random-id min-ttl 20)\npass in\n", Options{})
	big := bigUDP(t, "198.51.100.7", "203.0.113.1", 3000)
	header.IPv4(big.Bytes()[big.Meta.L3:]).SetID(0x5555)
	var last *packet.Packet
	for _, fr := range fragment(t, big, 1480) {
		last = fr
		if r := g.Test(In, ifEm0, fr, 1); r.Verdict == packet.Pass {
			break
		}
	}
	got := readHdr(t, last)
	if last.Meta.L3Len != big.Meta.L3Len || got.id == 0x5555 || got.ttl != 64 {
		t.Errorf("reassembled: length %d id %#04x ttl %d, want %d, a new id", last.Meta.L3Len, got.id, got.ttl, big.Meta.L3Len)
	}
}

// TestScrubStateful: a state keeps the options of the rules that created
// it and gives them to every packet of the flow, both ways, although
// the match rules that set them only match one way.
func TestScrubStateful(t *testing.T) {
	tests := []struct {
		name   string
		conf   string
		c, s   string
		want   hdr    // the fields every packet leaves with
		saMSS  uint16 // the SYN+ACK's MSS option
		mssIn  uint16 // the SYN's MSS, 1460, as it leaves
		mssOut uint16 // the SYN+ACK's, as it leaves
	}{
		{"IPv4", "block all\nmatch in on em0 all scrub (no-df min-ttl 20 max-mss 1400) set tos 0x10\npass in on em0 proto tcp to port 22\n",
			"198.51.100.7", "203.0.113.1", hdr{ttl: 20, tos: 0x10}, 1460, 1400, 1400},
		{"IPv6", "block all\nmatch in on em0 all scrub (min-ttl 20 max-mss 1200) set tos 0x10\npass in on em0 proto tcp to port 22\n",
			"2001:db8:1::7", "2001:db8::1", hdr{ttl: 20, tos: 0x10}, 1460, 1200, 1200},
		{"pass rule's own", "block all\npass in on em0 proto tcp to port 22 set tos 0x10 scrub (no-df min-ttl 20 max-mss 1400)\n",
			"198.51.100.7", "203.0.113.1", hdr{ttl: 20, tos: 0x10}, 1460, 1400, 1400},
		{"lower MSS kept", "block all\npass in on em0 proto tcp to port 22 set tos 0x10 scrub (no-df min-ttl 20 max-mss 1400)\n",
			"198.51.100.7", "203.0.113.1", hdr{ttl: 20, tos: 0x10}, 1300, 1400, 1300},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFilter(t, tc.conf, Options{})
			steps := []struct {
				dir    Dir
				p      *packet.Packet
				wantMS uint16
			}{
				{In, scrubPkt(t, tc.c, 4000, tc.s, 22, hdr{flags: "S", seq: 100, ttl: 3, df: true, mss: 1460}), tc.mssIn},
				{Out, scrubPkt(t, tc.s, 22, tc.c, 4000, hdr{flags: "SA", seq: 500, ack: 101, ttl: 2, df: true, tos: 0xb8, mss: tc.saMSS}), tc.mssOut},
				{In, scrubPkt(t, tc.c, 4000, tc.s, 22, hdr{flags: "A", seq: 101, ack: 501, ttl: 5, df: true}), 0},
				{Out, scrubPkt(t, tc.s, 22, tc.c, 4000, hdr{flags: "A", seq: 501, ack: 101, ttl: 1}), 0},
			}
			for i, st := range steps {
				if r := f.Test(st.dir, ifEm0, st.p, 1); r.Verdict != packet.Pass {
					t.Fatalf("packet %d: Test = %+v, want pass", i, r)
				}
				want := tc.want
				want.mss = st.wantMS
				checkHdr(t, "packet "+string(rune('0'+i)), readHdr(t, st.p), want)
			}
			if f.States() != 1 {
				t.Errorf("%d states, want 1", f.States())
			}
		})
	}
}

// TestScrubMatchOrder: match rules accumulate, flags or'ed and values
// replaced by later rules; the deciding rule's own options are applied
// last whatever its place (pf_rule_to_actions).
func TestScrubMatchOrder(t *testing.T) {
	tests := []struct {
		name string
		conf string
		want hdr
	}{
		{"later min-ttl wins", "match in all scrub (min-ttl 10)\nmatch in all scrub (min-ttl 20)\npass in proto tcp\n",
			hdr{ttl: 20, df: true, mss: 1460}},
		{"later lower min-ttl wins", "match in all scrub (min-ttl 20)\nmatch in all scrub (min-ttl 10)\npass in proto tcp\n",
			hdr{ttl: 10, df: true, mss: 1460}},
		{"pass rule's min-ttl overrides", "match in all scrub (min-ttl 20)\npass in proto tcp scrub (min-ttl 5)\n",
			hdr{ttl: 5, df: true, mss: 1460}},
		{"pass rule applied last", "pass in proto tcp scrub (min-ttl 30)\nmatch in all scrub (min-ttl 10)\n",
			hdr{ttl: 30, df: true, mss: 1460}},
		{"a rule without a value keeps it", "match in all scrub (min-ttl 20 max-mss 1300) set tos 0x08\nmatch in all scrub (no-df)\npass in proto tcp\n",
			hdr{ttl: 20, tos: 0x08, mss: 1300}},
		{"set tos replaced", "match in all set tos 0x08\npass in proto tcp set tos 0x10\n",
			hdr{ttl: 3, tos: 0x10, df: true, mss: 1460}},
		{"flags joined", "match in all scrub (no-df)\npass in proto tcp scrub (min-ttl 9)\n",
			hdr{ttl: 9, mss: 1460}},
		{"max-mss replaced", "match in all scrub (max-mss 1400)\npass in proto tcp scrub (max-mss 1300)\n",
			hdr{ttl: 3, df: true, mss: 1300}},
		{"a skipped rule sets nothing", "match in all scrub (max-mss 1400)\nmatch in proto udp scrub (max-mss 1000 min-ttl 50)\npass in proto tcp\n",
			hdr{ttl: 3, df: true, mss: 1400}},
		{"quick ends the collection", "match in all scrub (min-ttl 10)\npass in quick proto tcp\nmatch in all scrub (min-ttl 50)\n",
			hdr{ttl: 10, df: true, mss: 1460}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFilter(t, tc.conf, Options{})
			p := scrubPkt(t, "198.51.100.7", 4000, "203.0.113.1", 22, hdr{flags: "S", seq: 1, ttl: 3, df: true, mss: 1460})
			if r := f.Test(In, ifEm0, p, 1); r.Verdict != packet.Pass {
				t.Fatalf("Test = %+v, want pass", r)
			}
			checkHdr(t, "SYN", readHdr(t, p), tc.want)
		})
	}
}

// TestScrubReassembleTCP: under reassemble tcp each side's packets leave
// with at least the highest TTL that side sent so far
// (pf_normalize_tcp_stateful), min-ttl joining in; a sloppy state does
// not normalise (pf_tcp_track_sloppy).
func TestScrubReassembleTCP(t *testing.T) {
	type step struct {
		dir      Dir
		ttl      uint8
		wantTTL  uint8
		wantDrop bool
	}
	full := []step{
		{In, 64, 64, false},  // SYN
		{Out, 50, 50, false}, // SYN+ACK
		{In, 40, 64, false},
		{In, 70, 70, false},
		{In, 60, 70, false},
		{Out, 20, 50, false},
		{Out, 55, 55, false},
		{Out, 54, 55, false},
	}
	tests := []struct {
		name  string
		conf  string
		c, s  string
		steps []step
	}{
		{"IPv4", "pass in on em0 proto tcp scrub (reassemble tcp)\n", "198.51.100.7", "203.0.113.1", full},
		{"IPv6", "pass in on em0 proto tcp scrub (reassemble tcp)\n", "2001:db8:1::7", "2001:db8::1", full},
		{"from a match rule", "match in all scrub (reassemble tcp)\npass in on em0 proto tcp\n", "198.51.100.7", "203.0.113.1", full},
		{"with min-ttl", "pass in on em0 proto tcp scrub (reassemble tcp min-ttl 52)\n", "198.51.100.7", "203.0.113.1", []step{
			{In, 64, 64, false}, {Out, 50, 52, false}, {In, 40, 64, false}, {Out, 20, 52, false}, {Out, 53, 53, false}, {Out, 20, 53, false},
		}},
		{"sloppy", "pass in on em0 proto tcp scrub (reassemble tcp) keep state (sloppy)\n", "198.51.100.7", "203.0.113.1", []step{
			{In, 64, 64, false}, {Out, 50, 50, false}, {In, 40, 40, false}, {Out, 20, 20, false},
		}},
		{"without", "pass in on em0 proto tcp\n", "198.51.100.7", "203.0.113.1", []step{
			{In, 64, 64, false}, {Out, 50, 50, false}, {In, 40, 40, false}, {Out, 20, 20, false},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFilter(t, tc.conf, Options{})
			for i, st := range tc.steps {
				var p *packet.Packet
				switch {
				case i == 0:
					p = scrubPkt(t, tc.c, 4000, tc.s, 22, hdr{flags: "S", seq: 100, ttl: st.ttl})
				case i == 1:
					p = scrubPkt(t, tc.s, 22, tc.c, 4000, hdr{flags: "SA", seq: 500, ack: 101, ttl: st.ttl})
				case st.dir == In:
					p = scrubPkt(t, tc.c, 4000, tc.s, 22, hdr{flags: "A", seq: 101, ack: 501, ttl: st.ttl})
				default:
					p = scrubPkt(t, tc.s, 22, tc.c, 4000, hdr{flags: "A", seq: 501, ack: 101, ttl: st.ttl})
				}
				if r := f.Test(st.dir, ifEm0, p, 1); (r.Verdict != packet.Pass) != st.wantDrop {
					t.Fatalf("packet %d: Test = %+v", i, r)
				}
				if got := readHdr(t, p).ttl; got != st.wantTTL {
					t.Errorf("packet %d (%v, ttl %d): ttl %d, want %d", i, st.dir, st.ttl, got, st.wantTTL)
				}
			}
		})
	}
}

// TestScrubUDPState: a UDP state created under a `match in` rule's
// options gives them to the replies going out.
func TestScrubUDPState(t *testing.T) {
	f := newTestFilter(t, "match in on em0 all scrub (no-df random-id min-ttl 30)\npass\n", Options{})
	q := scrubPkt(t, "198.51.100.7", 4000, "203.0.113.1", 53, hdr{ttl: 4, df: true, id: 7})
	if r := f.Test(In, ifEm0, q, 1); r.Verdict != packet.Pass {
		t.Fatalf("query: %+v", r)
	}
	a := scrubPkt(t, "203.0.113.1", 53, "198.51.100.7", 4000, hdr{ttl: 4, df: true, id: 7})
	if r := f.Test(Out, ifEm0, a, 1); r.Verdict != packet.Pass {
		t.Fatalf("answer: %+v", r)
	}
	for _, p := range []*packet.Packet{q, a} {
		if got := readHdr(t, p); got.ttl != 30 || got.df || got.id == 7 {
			t.Errorf("%v: ttl %d df %v id %d, want ttl 30, no DF, a new id", p.Meta.Flow, got.ttl, got.df, got.id)
		}
	}
	// A packet out that no state takes is not scrubbed: the match rule
	// is for in.
	o := scrubPkt(t, "203.0.113.1", 53, "198.51.100.9", 4000, hdr{ttl: 4, df: true, id: 7})
	if r := f.Test(Out, ifEm0, o, 1); r.Verdict != packet.Pass {
		t.Fatalf("other: %+v", r)
	}
	if got := readHdr(t, o); got.ttl != 4 || !got.df || got.id != 7 {
		t.Errorf("unmatched out: ttl %d df %v id %d, want it untouched", got.ttl, got.df, got.id)
	}
}

// TestScrubICMPError: an ICMP error for a state's packet passes as a
// packet of the state and gets its options.
func TestScrubICMPError(t *testing.T) {
	f := newTestFilter(t, "block all\npass out on em0 proto udp scrub (min-ttl 33 no-df)\n", Options{})
	q := udpPkt(t, "203.0.113.1", 4000, "198.51.100.7", 53)
	if r := f.Test(Out, ifEm0, q, 1); r.Verdict != packet.Pass {
		t.Fatalf("query: %+v", r)
	}
	e := icmpErrPkt(t, "198.51.100.7", "203.0.113.1", q)
	if r := f.Test(In, ifEm0, e, 1); r.Verdict != packet.Pass {
		t.Fatalf("error: %+v", r)
	}
	if got := readHdr(t, e); got.ttl != 64 {
		t.Errorf("error: ttl %d, want 64 (above min-ttl)", got.ttl)
	}
	e = icmpErrPkt(t, "198.51.100.7", "203.0.113.1", q)
	b := header.IPv4(e.Bytes()[e.Meta.L3:])
	b.SetTTL(2)
	b.SetFlagsFragOff(header.IPv4FlagDF, 0)
	b.UpdateChecksum()
	if r := f.Test(In, ifEm0, e, 1); r.Verdict != packet.Pass {
		t.Fatalf("error: %+v", r)
	}
	if got := readHdr(t, e); got.ttl != 33 || got.df {
		t.Errorf("error: ttl %d df %v, want 33 and DF cleared", got.ttl, got.df)
	}
}

// TestScrubBlockUntouched: a blocked packet is not scrubbed.
func TestScrubBlockUntouched(t *testing.T) {
	f := newTestFilter(t, "match in all scrub (min-ttl 30 no-df)\nblock in\n", Options{})
	p := scrubPkt(t, "198.51.100.7", 4000, "203.0.113.1", 53, hdr{ttl: 4, df: true})
	if r := f.Test(In, ifEm0, p, 1); r.Verdict != packet.Drop {
		t.Fatalf("Test = %+v, want drop", r)
	}
	if got := readHdr(t, p); got.ttl != 4 || !got.df {
		t.Errorf("blocked: ttl %d df %v, want it untouched", got.ttl, got.df)
	}
}

// TestScrubTimestamps: under reassemble tcp each side's timestamps are
// modulated by its own random offset and demodulated when echoed; once
// both sides echoed one, PAWS drops what is out of window, and a side
// whose data carried timestamps must go on sending them
// (pf_normalize_tcp_stateful). A dropped segment leaves the state alone.
func TestScrubTimestamps(t *testing.T) {
	for _, fam := range []struct{ name, c, s string }{
		{"IPv4", "198.51.100.7", "203.0.113.1"},
		{"IPv6", "2001:db8:1::7", "2001:db8::1"},
	} {
		t.Run(fam.name, func(t *testing.T) {
			f := newTestFilter(t, "pass in on em0 proto tcp scrub (reassemble tcp)\n", Options{})
			send := func(what string, dir Dir, h hdr) (hdr, packet.Verdict) {
				t.Helper()
				var p *packet.Packet
				if dir == In {
					p = scrubPkt(t, fam.c, 4000, fam.s, 22, h)
				} else {
					p = scrubPkt(t, fam.s, 22, fam.c, 4000, h)
				}
				v := f.Test(dir, ifEm0, p, 10).Verdict
				return readHdr(t, p), v
			}
			syn, _ := send("SYN", In, hdr{flags: "S", seq: 100, ts: 1, tsval: 1000})
			modC := syn.tsval - 1000
			if modC == 0 || syn.tsecr != 0 {
				t.Fatalf("SYN left with tsval %d tsecr %d, want 1000 modulated, 0", syn.tsval, syn.tsecr)
			}
			sa, _ := send("SYN+ACK", Out, hdr{flags: "SA", seq: 500, ack: 101, ts: 1, tsval: 5000, tsecr: syn.tsval})
			modS := sa.tsval - 5000
			if modS == 0 || modS == modC || sa.tsecr != 1000 {
				t.Fatalf("SYN+ACK left with tsval %d (offset %d, client's %d) tsecr %d, want 5000 modulated, 1000", sa.tsval, modS, modC, sa.tsecr)
			}
			ack, _ := send("ACK", In, hdr{flags: "A", seq: 101, ack: 501, ts: 1, tsval: 1001, tsecr: sa.tsval})
			if ack.tsval != 1001+modC || ack.tsecr != 5000 {
				t.Fatalf("ACK left with tsval %d tsecr %d, want %d, 5000", ack.tsval, ack.tsecr, 1001+modC)
			}
			data := hdr{flags: "PA", seq: 101, ack: 501, ts: 1, tsval: 1002, tsecr: sa.tsval, data: 10}
			if got, v := send("data", In, data); v != packet.Pass || got.tsval != 1002+modC {
				t.Fatalf("data: %v, tsval %d, want pass, %d", v, got.tsval, 1002+modC)
			}
			tests := []struct {
				name string
				h    hdr
				want packet.Verdict
			}{
				{"tsval older than the echoed one", hdr{flags: "A", seq: 111, ack: 501, ts: 1, tsval: 900, tsecr: sa.tsval}, packet.Drop},
				{"tsval too far ahead", hdr{flags: "A", seq: 111, ack: 501, ts: 1, tsval: 1002 + 31*tsMaxFreq, tsecr: sa.tsval}, packet.Drop},
				{"tsecr never sent", hdr{flags: "A", seq: 111, ack: 501, ts: 1, tsval: 1003, tsecr: 9999 + modS}, packet.Drop},
				{"tsecr before the first", hdr{flags: "A", seq: 111, ack: 501, ts: 1, tsval: 1003, tsecr: 4000 + modS}, packet.Drop},
				{"data without a timestamp", hdr{flags: "PA", seq: 111, ack: 501, data: 10}, packet.Drop},
				{"two timestamps", hdr{flags: "A", seq: 111, ack: 501, ts: 2, tsval: 1003, tsecr: sa.tsval}, packet.Drop},
				{"an ACK without a timestamp", hdr{flags: "A", seq: 111, ack: 501}, packet.Pass},
				{"within the leeway", hdr{flags: "A", seq: 111, ack: 501, ts: 1, tsval: 1002 + 29*tsMaxFreq, tsecr: sa.tsval}, packet.Pass},
			}
			peers := func() (p [2]peer) {
				f.states.each(func(s *state) { p = [2]peer{s.src, s.dst} })
				return p
			}
			for _, tc := range tests {
				before := peers()
				if _, v := send(tc.name, In, tc.h); v != tc.want {
					t.Errorf("%s: %v, want %v", tc.name, v, tc.want)
				}
				if after := peers(); tc.want == packet.Drop && after != before {
					t.Errorf("%s: dropped, but the peers went from %+v to %+v", tc.name, before, after)
				}
			}
			// The drops moved nothing: the server's answer to the data
			// still fits.
			if got, v := send("answer", Out, hdr{flags: "A", seq: 501, ack: 111, ts: 1, tsval: 5001, tsecr: ack.tsval}); v != packet.Pass || got.tsecr != 1001 {
				t.Errorf("answer: %v, tsecr %d, want pass, 1001", v, got.tsecr)
			}
		})
	}
}

// TestScrubTimestampsOff: without a timestamp in its SYN a side's
// timestamps are left alone, and without reassemble tcp nothing is.
func TestScrubTimestampsOff(t *testing.T) {
	tests := []struct {
		name   string
		conf   string
		synTS  int
		wantSA uint32 // the SYN+ACK's tsval as it leaves
	}{
		{"client without timestamps", "pass in on em0 proto tcp scrub (reassemble tcp)\n", 0, 0},
		{"without reassemble tcp", "pass in on em0 proto tcp\n", 1, 5000},
		{"sloppy", "pass in on em0 proto tcp scrub (reassemble tcp) keep state (sloppy)\n", 1, 5000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFilter(t, tc.conf, Options{})
			syn := scrubPkt(t, "198.51.100.7", 4000, "203.0.113.1", 22, hdr{flags: "S", seq: 100, ts: tc.synTS, tsval: 1000})
			if r := f.Test(In, ifEm0, syn, 1); r.Verdict != packet.Pass {
				t.Fatalf("SYN: %+v", r)
			}
			if got := readHdr(t, syn); tc.synTS != 0 && got.tsval != 1000 {
				t.Errorf("SYN tsval %d, want 1000 untouched", got.tsval)
			}
			sa := scrubPkt(t, "203.0.113.1", 22, "198.51.100.7", 4000, hdr{flags: "SA", seq: 500, ack: 101, ts: 1, tsval: 5000, tsecr: 1000})
			if r := f.Test(Out, ifEm0, sa, 1); r.Verdict != packet.Pass {
				t.Fatalf("SYN+ACK: %+v", r)
			}
			got := readHdr(t, sa)
			if tc.wantSA != 0 && got.tsval != tc.wantSA || tc.wantSA == 0 && got.tsval == 5000 || got.tsecr != 1000 {
				t.Errorf("SYN+ACK tsval %d tsecr %d, want tsval %d (0: modulated), tsecr 1000", got.tsval, got.tsecr, tc.wantSA)
			}
		})
	}
}
