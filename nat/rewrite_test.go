package nat

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/test/pkt"
)

var payload = []byte("hostnet rewrites headers in place, odd length.")

func TestRewrite(t *testing.T) {
	v4 := pkt.IPHdr{Src: "10.50.0.10", Dst: "198.51.100.7"}
	v6 := pkt.IPHdr{Src: "fd00::10", Dst: "2001:db8::7"}
	tagged := eth
	tagged.Tags = []pkt.Tag{{VID: 10}, {TPID: 0x88a8, VID: 20}}
	seg := pkt.TCPSeg{Sport: 40000, Dport: 443, Seq: 1, Flags: pkt.SYN, Payload: payload}
	gre := pkt.Serialize(
		&layers.Ethernet{SrcMAC: pkt.MAC(eth.Src), DstMAC: pkt.MAC(eth.Dst), EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolGRE, SrcIP: pkt.IP(v4.Src), DstIP: pkt.IP(v4.Dst)},
		&layers.GRE{Protocol: 0x88b5}, // local experimental: gopacket leaves it undecoded,
		gopacket.Payload(payload))

	tests := []struct {
		name  string
		frame []byte
		src   bool // rewrite the source, else the destination
		addr  string
		port  uint16
		want  packet.Flow // Meta.Flow after the rewrite, and after a fresh Parse
	}{
		{"tcp4/src", pkt.TCP(eth, v4, seg), true, "203.0.113.1", 50001,
			flow(6, "203.0.113.1:50001", "198.51.100.7:443")},
		{"tcp4/dst", pkt.TCP(eth, v4, seg), false, "10.50.0.99", 8443,
			flow(6, "10.50.0.10:40000", "10.50.0.99:8443")},
		{"tcp4/addr-only", pkt.TCP(eth, v4, seg), true, "203.0.113.1", 40000,
			flow(6, "203.0.113.1:40000", "198.51.100.7:443")},
		{"tcp4/port-only", pkt.TCP(eth, v4, seg), true, "10.50.0.10", 61000,
			flow(6, "10.50.0.10:61000", "198.51.100.7:443")},
		{"tcp4/qinq", pkt.TCP(tagged, v4, seg), true, "203.0.113.1", 65535,
			flow(6, "203.0.113.1:65535", "198.51.100.7:443")},
		{"udp4/src", pkt.UDP(eth, v4, 5353, 53, payload), true, "203.0.113.1", 50002,
			flow(17, "203.0.113.1:50002", "198.51.100.7:53")},
		{"udp4/dst", pkt.UDP(eth, v4, 5353, 53, payload), false, "10.50.0.2", 5300,
			flow(17, "10.50.0.10:5353", "10.50.0.2:5300")},
		{"icmp4/echo-src", pkt.Ping(eth, v4, false, 0x1234, 1, payload), true, "203.0.113.1", 7,
			flow(1, "203.0.113.1:7", "198.51.100.7:7")},
		{"icmp4/reply-dst", pkt.Ping(eth, pkt.IPHdr{Src: v4.Dst, Dst: "203.0.113.1"}, true, 7, 1, payload), false, "10.50.0.10", 0x1234,
			flow(1, "198.51.100.7:4660", "10.50.0.10:4660")},
		{"gre4/src", gre, true, "203.0.113.1", 999,
			flow(47, "203.0.113.1:0", "198.51.100.7:0")},
		{"tcp6/src", pkt.TCP(eth, v6, seg), true, "2001:db8:ffff::1", 50001,
			flow(6, "[2001:db8:ffff::1]:50001", "[2001:db8::7]:443")},
		{"tcp6/dst", pkt.TCP(eth, v6, seg), false, "fd00::99", 80,
			flow(6, "[fd00::10]:40000", "[fd00::99]:80")},
		{"udp6/src", pkt.UDP(eth, v6, 5353, 53, payload), true, "2001:db8:ffff::1", 65000,
			flow(17, "[2001:db8:ffff::1]:65000", "[2001:db8::7]:53")},
		{"icmp6/echo-src", pkt.Ping(eth, v6, false, 0x1234, 9, payload), true, "2001:db8:ffff::1", 0xbeef,
			flow(58, "[2001:db8:ffff::1]:48879", "[2001:db8::7]:48879")},
		{"icmp6/reply-dst", pkt.Ping(eth, pkt.IPHdr{Src: v6.Dst, Dst: "2001:db8:ffff::1"}, true, 0xbeef, 9, payload), false, "fd00::10", 0x1234,
			flow(58, "[2001:db8::7]:4660", "[fd00::10]:4660")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := parsed(t, tc.frame)
			addr := netip.MustParseAddr(tc.addr)
			var ok bool
			if tc.src {
				ok = RewriteSrc(p, addr, tc.port)
			} else {
				ok = RewriteDst(p, addr, tc.port)
			}
			if !ok {
				t.Fatalf("Rewrite(%s, %d) = false, want true", addr, tc.port)
			}
			if p.Meta.Flow != tc.want {
				t.Errorf("Meta.Flow = %v, want %v", p.Meta.Flow, tc.want)
			}
			checkChecksums(t, p.Bytes())
			if len(p.Bytes()) != len(tc.frame) {
				t.Errorf("frame length %d, want %d", len(p.Bytes()), len(tc.frame))
			}
			packet.Parse(p)
			if p.Meta.Flow != tc.want {
				t.Errorf("Parse after rewrite: Flow = %v, want %v", p.Meta.Flow, tc.want)
			}
		})
	}
}

// flow builds a packet.Flow from strings (test input).
func flow(proto uint8, src, dst string) packet.Flow {
	return packet.Flow{Proto: proto, Src: netip.MustParseAddrPort(src), Dst: netip.MustParseAddrPort(dst)}
}

func TestRewriteUDPZeroChecksum(t *testing.T) {
	for _, h := range []pkt.IPHdr{
		{Src: "10.50.0.10", Dst: "198.51.100.7"},
		{Src: "fd00::10", Dst: "2001:db8::7"},
	} {
		t.Run(h.Src, func(t *testing.T) {
			p := parsed(t, pkt.UDP(eth, h, 5353, 53, payload))
			csum := int(p.Meta.L4) + 6
			b := p.Bytes()
			b[csum], b[csum+1] = 0, 0
			to := netip.MustParseAddr("203.0.113.1")
			if h.Src != "10.50.0.10" {
				to = netip.MustParseAddr("2001:db8:ffff::1")
			}
			if !RewriteSrc(p, to, 50001) {
				t.Fatal("RewriteSrc = false")
			}
			if c := u16(b, csum); c != 0 {
				t.Errorf("UDP checksum after rewrite = %#04x, want 0 (none)", c)
			}
			if got := u16(b, int(p.Meta.L4)); got != 50001 {
				t.Errorf("source port = %d, want 50001", got)
			}
		})
	}
}

func TestRewriteWrongFamily(t *testing.T) {
	frame := pkt.TCP(eth, pkt.IPHdr{Src: "10.50.0.10", Dst: "198.51.100.7"}, pkt.TCPSeg{Sport: 1, Dport: 2})
	p := parsed(t, frame)
	if RewriteSrc(p, netip.MustParseAddr("2001:db8::1"), 5) {
		t.Error("RewriteSrc(IPv4 packet, IPv6 address) = true, want false")
	}
	if RewriteDst(p, netip.MustParseAddr("::ffff:10.0.0.1"), 5) {
		t.Error("RewriteDst(IPv4 packet, IPv4-mapped IPv6 address) = true, want false")
	}
	if !bytes.Equal(p.Bytes(), frame) {
		t.Error("a refused rewrite changed the frame")
	}
	arp := packet.New()
	arp.SetFrame(pkt.ARP(eth, 1, eth.Src, "10.0.0.1", "00:00:00:00:00:00", "10.0.0.2"))
	packet.Parse(arp)
	if RewriteSrc(arp, netip.MustParseAddr("10.0.0.9"), 0) {
		t.Error("RewriteSrc(ARP) = true, want false")
	}
}

// TestRewriteFragments rewrites the two fragments of one UDP datagram and
// checks the reassembled datagram's checksum: the first fragment's
// transport checksum covers all of it.
func TestRewriteFragments(t *testing.T) {
	frame := pkt.UDP(eth, pkt.IPHdr{Src: "10.50.0.10", Dst: "198.51.100.7", ID: 77}, 4000, 53, bytes.Repeat([]byte{0xa5, 0x17, 0x3c}, 30))
	ip := ipPacket(frame)
	udp := ip[20:]
	// Fragment 1: the UDP header and 32 bytes; fragment 2: the rest.
	frag := func(data []byte, off int, more bool) []byte {
		h := make([]byte, 20+len(data))
		copy(h, ip[:20])
		var flags uint8
		if more {
			flags = header.IPv4FlagMF
		}
		v := header.IPv4(h)
		v.SetTotalLen(uint16(len(h)))
		v.SetFlagsFragOff(flags, uint16(off))
		copy(h[20:], data)
		v.UpdateChecksum()
		return append(append([]byte(nil), frame[:14]...), h...)
	}
	f1 := parsed(t, frag(udp[:40], 0, true))
	f2 := parsed(t, frag(udp[40:], 40, false))
	if f1.Meta.L4 == 0 || f2.Meta.L4 != 0 {
		t.Fatalf("fragments parsed with L4 %d and %d, want first only", f1.Meta.L4, f2.Meta.L4)
	}
	to := netip.MustParseAddr("203.0.113.1")
	if !RewriteSrc(f1, to, 50123) || !RewriteSrc(f2, to, 50123) {
		t.Fatal("RewriteSrc(fragment) = false")
	}
	for i, f := range []*packet.Packet{f1, f2} {
		if !header.IPv4(f.Bytes()[14:]).IsChecksumValid() {
			t.Errorf("fragment %d: IPv4 header checksum wrong", i+1)
		}
		if got := f.Meta.Flow.Src.Addr(); got != to {
			t.Errorf("fragment %d: Flow.Src = %v, want %v", i+1, got, to)
		}
	}
	whole := append(append([]byte(nil), f1.Bytes()[34:]...), f2.Bytes()[34:]...)
	sum := header.PseudoHeaderChecksum(header.ProtoUDP, to, netip.MustParseAddr("198.51.100.7"), uint32(len(whole)))
	if header.Checksum(whole, sum) != 0xffff {
		t.Error("reassembled UDP datagram: checksum wrong after rewrite")
	}
	if got := u16(whole, 0); got != 50123 {
		t.Errorf("reassembled source port = %d, want 50123", got)
	}
}

// TestRewritePartialChecksum rewrites frames that carry a partial checksum
// (GSO.NeedsCsum: the field holds the pseudo-header sum), completes the
// checksum as a NIC or gso.FinishChecksum would, and checks the result.
func TestRewritePartialChecksum(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef!"), 200) // a super-frame's payload
	tests := []struct {
		name  string
		frame []byte
		gso   uint8
		addr  string
	}{
		{"tcp4-tso", pkt.TCP(eth, pkt.IPHdr{Src: "10.50.0.10", Dst: "198.51.100.7"}, pkt.TCPSeg{Sport: 40000, Dport: 80, Flags: pkt.ACK, Payload: big}), 1, "203.0.113.1"},
		{"tcp6-tso", pkt.TCP(eth, pkt.IPHdr{Src: "fd00::10", Dst: "2001:db8::7"}, pkt.TCPSeg{Sport: 40000, Dport: 80, Flags: pkt.ACK, Payload: big}), 4, "2001:db8:ffff::1"},
		{"udp4-csum", pkt.UDP(eth, pkt.IPHdr{Src: "10.50.0.10", Dst: "198.51.100.7"}, 4000, 53, payload), 0, "203.0.113.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := parsed(t, tc.frame)
			m := &p.Meta
			field, _, _ := fullTransportChecksum(p)
			b := p.Bytes()
			end := int(m.L3) + int(m.L3Len)
			// What a sender with checksum offload leaves: the
			// pseudo-header sum, not complemented.
			ph := header.PseudoHeaderChecksum(m.Proto, m.Flow.Src.Addr(), m.Flow.Dst.Addr(), uint32(end-int(m.L4)))
			binary.BigEndian.PutUint16(b[field:], ph)
			p.GSO = packet.GSO{Type: tc.gso, NeedsCsum: true, CsumStart: m.L4, CsumOffset: uint16(field - int(m.L4)), Size: 1448}

			if !RewriteSrc(p, netip.MustParseAddr(tc.addr), 50001) {
				t.Fatal("RewriteSrc = false")
			}
			wantPh := header.PseudoHeaderChecksum(m.Proto, m.Flow.Src.Addr(), m.Flow.Dst.Addr(), uint32(end-int(m.L4)))
			if got := u16(b, field); got != wantPh && ^got != ^wantPh {
				t.Errorf("partial checksum = %#04x, want the new pseudo-header sum %#04x", got, wantPh)
			}
			// Complete it (gso.FinishChecksum's arithmetic).
			c := ^header.Checksum(b[m.L4:end], 0)
			binary.BigEndian.PutUint16(b[field:], c)
			checkChecksums(t, b)
		})
	}
}

// TestRewriteIncrementalEqualsFull rewrites random frames and compares
// every checksum with one computed from scratch.
func TestRewriteIncrementalEqualsFull(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	addr := func(v6 bool) netip.Addr {
		if v6 {
			var a [16]byte
			binary.BigEndian.PutUint64(a[:], r.Uint64())
			binary.BigEndian.PutUint64(a[8:], r.Uint64())
			a[0] = 0x20
			return netip.AddrFrom16(a)
		}
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], r.Uint32())
		a[0] = 1 + a[0]%200
		return netip.AddrFrom4(a)
	}
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := range n {
		v6 := r.IntN(2) == 1
		h := pkt.IPHdr{Src: addr(v6).String(), Dst: addr(v6).String()}
		data := make([]byte, r.IntN(300))
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		var frame []byte
		switch r.IntN(3) {
		case 0:
			frame = pkt.TCP(eth, h, pkt.TCPSeg{Sport: uint16(r.Uint32()), Dport: uint16(r.Uint32()), Seq: r.Uint32(), Flags: pkt.ACK, Payload: data})
		case 1:
			frame = pkt.UDP(eth, h, uint16(r.Uint32()), uint16(r.Uint32()), data)
		default:
			frame = pkt.Ping(eth, h, r.IntN(2) == 1, uint16(r.Uint32()), uint16(r.Uint32()), data)
		}
		p := parsed(t, frame)
		for range 1 + r.IntN(3) {
			to, port := addr(v6), uint16(r.Uint32())
			if r.IntN(2) == 0 {
				RewriteSrc(p, to, port)
			} else {
				RewriteDst(p, to, port)
			}
		}
		b := p.Bytes()
		if p.Meta.Kind == packet.KindIPv4 {
			ip := header.IPv4(b[p.Meta.L3:])
			if got, want := ip.Checksum(), ip.ComputeChecksum(); got != want {
				t.Fatalf("frame %d: IPv4 checksum %#04x, full recompute %#04x", i, got, want)
			}
		}
		field, want, ok := fullTransportChecksum(p)
		if !ok {
			t.Fatalf("frame %d: no transport checksum", i)
		}
		if got := u16(b, field); got != want {
			t.Fatalf("frame %d (proto %d, %d bytes): checksum %#04x, full recompute %#04x", i, p.Meta.Proto, len(data), got, want)
		}
		// The flow the rewrite recorded is the frame's.
		m := p.Meta
		packet.Parse(p)
		if p.Meta.Flow != m.Flow {
			t.Fatalf("frame %d: Meta.Flow %v after rewrite, Parse says %v", i, m.Flow, p.Meta.Flow)
		}
	}
}

// FuzzRewrite rewrites arbitrary frames: no panic, and a transport
// checksum that was right before is right after.
func FuzzRewrite(f *testing.F) {
	v4 := pkt.IPHdr{Src: "10.50.0.10", Dst: "198.51.100.7"}
	v6 := pkt.IPHdr{Src: "fd00::10", Dst: "2001:db8::7"}
	// A TCP SYN over IPv4.
	f.Add(pkt.TCP(eth, v4, pkt.TCPSeg{Sport: 1, Dport: 2, Flags: pkt.SYN}), []byte{203, 0, 113, 1}, uint16(50001), true)
	// UDP over IPv6, destination rewritten.
	f.Add(pkt.UDP(eth, v6, 5353, 53, payload), netip.MustParseAddr("fd00::99").AsSlice(), uint16(53), false)
	// An ICMP echo request: the identifier is the port.
	f.Add(pkt.Ping(eth, v4, false, 7, 1, payload), []byte{203, 0, 113, 1}, uint16(9), true)
	// An ICMPv6 echo reply.
	f.Add(pkt.Ping(eth, v6, true, 7, 1, payload), netip.MustParseAddr("2001:db8:ffff::1").AsSlice(), uint16(9), false)
	f.Fuzz(func(t *testing.T, frame, addr []byte, port uint16, src bool) {
		if len(frame) > packet.MaxFrame {
			return
		}
		a, ok := netip.AddrFromSlice(addr)
		if !ok {
			return
		}
		p := packet.New()
		p.SetFrame(frame)
		packet.Parse(p)
		var valid bool
		if p.Meta.Kind == packet.KindIPv4 || p.Meta.Kind == packet.KindIPv6 {
			if p.Meta.L4 != 0 && p.Meta.Frag == 0 {
				if field, want, ok := fullTransportChecksum(p); ok {
					c := u16(p.Bytes(), field)
					valid = c == want && !(p.Meta.Proto == header.ProtoUDP && c == 0)
				}
			}
		}
		var done bool
		if src {
			done = RewriteSrc(p, a, port)
		} else {
			done = RewriteDst(p, a, port)
		}
		if !done || !valid {
			return
		}
		if field, want, _ := fullTransportChecksum(p); u16(p.Bytes(), field) != want {
			t.Fatalf("checksum %#04x after rewrite, full recompute %#04x", u16(p.Bytes(), field), want)
		}
	})
}

// TestRewriteICMPOfOtherFamily: an ICMPv4 header inside IPv6 (and the
// reverse) is not read; only the address changes.
func TestRewriteICMPOfOtherFamily(t *testing.T) {
	frame := pkt.Ping(eth, pkt.IPHdr{Src: "fd00::10", Dst: "2001:db8::7"}, false, 7, 1, payload)
	b := bytes.Clone(frame)
	header.IPv6(b[14:]).SetNextHeader(header.ProtoICMP)
	p := parsed(t, b)
	l4 := bytes.Clone(p.Bytes()[p.Meta.L4:])
	if !RewriteSrc(p, netip.MustParseAddr("2001:db8:ffff::1"), 99) {
		t.Fatal("RewriteSrc = false")
	}
	if !bytes.Equal(p.Bytes()[p.Meta.L4:], l4) {
		t.Error("RewriteSrc changed an ICMPv4 header inside IPv6")
	}
	if want := netip.MustParseAddrPort("[2001:db8:ffff::1]:0"); p.Meta.Flow.Src != want {
		t.Errorf("Flow.Src = %v, want %v", p.Meta.Flow.Src, want)
	}
}
