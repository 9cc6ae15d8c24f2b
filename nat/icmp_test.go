package nat

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/test/pkt"
)

// The connection of these tests: inside host 10.50.0.10 (fd00::10)
// talks to 198.51.100.7 (2001:db8::7) through a nat-to to 203.0.113.1
// (2001:db8:ffff::1); router 192.0.2.254 (2001:db8:aaaa::fe) sends
// errors about it.

func TestParseInner(t *testing.T) {
	out4 := pkt.IPHdr{Src: "203.0.113.1", Dst: "198.51.100.7"}
	out6 := pkt.IPHdr{Src: "2001:db8:ffff::1", Dst: "2001:db8::7"}
	udp4 := ipPacket(pkt.UDP(eth, out4, 50001, 53, payload))
	tcp4 := ipPacket(pkt.TCP(eth, out4, pkt.TCPSeg{Sport: 50002, Dport: 443, Seq: 0xdeadbeef, Flags: pkt.SYN}))
	ping4 := ipPacket(pkt.Ping(eth, out4, false, 0x4242, 3, payload))
	udp6 := ipPacket(pkt.UDP(eth, out6, 50001, 53, payload))
	ping6 := ipPacket(pkt.Ping(eth, out6, false, 0x4242, 3, payload))

	frag4 := bytes.Clone(udp4)
	header.IPv4(frag4).SetFlagsFragOff(header.IPv4FlagMF, 64)

	tests := []struct {
		name  string
		frame []byte
		ok    bool
		want  packet.Flow
		typ   uint8
		seq   uint32
	}{
		{"udp4", icmpError("192.0.2.254", "203.0.113.1", udp4, 28), true,
			flow(17, "203.0.113.1:50001", "198.51.100.7:53"), 0, 0},
		{"tcp4-whole", icmpError("192.0.2.254", "203.0.113.1", tcp4, 0), true,
			flow(6, "203.0.113.1:50002", "198.51.100.7:443"), 0, 0xdeadbeef},
		{"tcp4-8-bytes", icmpError("192.0.2.254", "203.0.113.1", tcp4, 28), true,
			flow(6, "203.0.113.1:50002", "198.51.100.7:443"), 0, 0xdeadbeef},
		{"echo4", icmpError("192.0.2.254", "203.0.113.1", ping4, 28), true,
			flow(1, "203.0.113.1:16962", "198.51.100.7:16962"), 8, 0},
		{"udp6", icmpError("2001:db8:aaaa::fe", "2001:db8:ffff::1", udp6, 0), true,
			flow(17, "[2001:db8:ffff::1]:50001", "[2001:db8::7]:53"), 0, 0},
		{"echo6", icmpError("2001:db8:aaaa::fe", "2001:db8:ffff::1", ping6, 48), true,
			flow(58, "[2001:db8:ffff::1]:16962", "[2001:db8::7]:16962"), 128, 0},
		{"quote-short-of-ports", icmpError("192.0.2.254", "203.0.113.1", udp4, 27), false, packet.Flow{}, 0, 0},
		{"quote-short-of-ip", icmpError("192.0.2.254", "203.0.113.1", udp4, 19), false, packet.Flow{}, 0, 0},
		{"quote-non-first-fragment", icmpError("192.0.2.254", "203.0.113.1", frag4, 28), false, packet.Flow{}, 0, 0},
		{"quote-of-other-family", icmpError("192.0.2.254", "203.0.113.1", udp6, 0), false, packet.Flow{}, 0, 0},
		{"echo-not-error", pkt.Ping(eth, out4, false, 1, 1, payload), false, packet.Flow{}, 0, 0},
		{"udp-not-error", pkt.UDP(eth, out4, 1, 2, payload), false, packet.Flow{}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := parsed(t, tc.frame)
			in, ok := ParseInner(p)
			if ok != tc.ok {
				t.Fatalf("ParseInner(%s) ok = %v, want %v", tc.name, ok, tc.ok)
			}
			if !ok {
				return
			}
			if in.Flow != tc.want || in.ICMPType != tc.typ || in.Seq != tc.seq {
				t.Errorf("ParseInner(%s) = %v type %d seq %#x, want %v type %d seq %#x",
					tc.name, in.Flow, in.ICMPType, in.Seq, tc.want, tc.typ, tc.seq)
			}
			if in.Flow.Src.Addr() != p.Meta.Flow.Dst.Addr() {
				t.Errorf("quoted source %v is not the outer destination %v", in.Flow.Src.Addr(), p.Meta.Flow.Dst.Addr())
			}
			if int(in.L4) > len(p.Bytes()) || in.L3 <= p.Meta.L4 || in.L4 <= in.L3 {
				t.Errorf("offsets L3 %d L4 %d out of order or past the frame (%d bytes)", in.L3, in.L4, len(p.Bytes()))
			}
		})
	}
}

func TestRewriteError(t *testing.T) {
	out4 := pkt.IPHdr{Src: "203.0.113.1", Dst: "198.51.100.7"}
	out6 := pkt.IPHdr{Src: "2001:db8:ffff::1", Dst: "2001:db8::7"}
	seg := pkt.TCPSeg{Sport: 50002, Dport: 443, Seq: 7, Flags: pkt.SYN, Payload: payload}

	tests := []struct {
		name  string
		frame []byte
		src   bool // RewriteErrorSrc, else RewriteErrorDst
		addr  string
		port  uint16
		outer packet.Flow // p.Meta.Flow after
		inner packet.Flow // Inner.Flow after
	}{
		// A router's error about an outbound nat-to packet goes back to
		// the inside host.
		{"udp4-nat", icmpError("192.0.2.254", "203.0.113.1", ipPacket(pkt.UDP(eth, out4, 50001, 53, payload)), 0),
			true, "10.50.0.10", 5353,
			flow(1, "192.0.2.254:0", "10.50.0.10:0"), flow(17, "10.50.0.10:5353", "198.51.100.7:53")},
		{"udp4-nat-8-bytes", icmpError("192.0.2.254", "203.0.113.1", ipPacket(pkt.UDP(eth, out4, 50001, 53, payload)), 28),
			true, "10.50.0.10", 5353,
			flow(1, "192.0.2.254:0", "10.50.0.10:0"), flow(17, "10.50.0.10:5353", "198.51.100.7:53")},
		{"tcp4-nat", icmpError("192.0.2.254", "203.0.113.1", ipPacket(pkt.TCP(eth, out4, seg)), 0),
			true, "10.50.0.10", 40000,
			flow(1, "192.0.2.254:0", "10.50.0.10:0"), flow(6, "10.50.0.10:40000", "198.51.100.7:443")},
		{"echo4-nat", icmpError("192.0.2.254", "203.0.113.1", ipPacket(pkt.Ping(eth, out4, false, 0x4242, 1, payload)), 28),
			true, "10.50.0.10", 0x0101,
			flow(1, "192.0.2.254:0", "10.50.0.10:0"), flow(1, "10.50.0.10:257", "198.51.100.7:257")},
		// The inside host's port unreachable about a reply it got: the
		// quoted destination and the outer source become the NAT's.
		{"udp4-inside-error", icmpError("10.50.0.10", "198.51.100.7", ipPacket(pkt.UDP(eth, pkt.IPHdr{Src: "198.51.100.7", Dst: "10.50.0.10"}, 53, 5353, payload)), 0),
			false, "203.0.113.1", 50001,
			flow(1, "203.0.113.1:0", "198.51.100.7:0"), flow(17, "198.51.100.7:53", "203.0.113.1:50001")},
		{"tcp4-rdr", icmpError("10.50.0.10", "198.51.100.7", ipPacket(pkt.TCP(eth, pkt.IPHdr{Src: "198.51.100.7", Dst: "10.50.0.10"}, pkt.TCPSeg{Sport: 33000, Dport: 8080, Flags: pkt.SYN})), 28),
			false, "203.0.113.1", 80,
			flow(1, "203.0.113.1:0", "198.51.100.7:0"), flow(6, "198.51.100.7:33000", "203.0.113.1:80")},
		{"udp6-nat", icmpError("2001:db8:aaaa::fe", "2001:db8:ffff::1", ipPacket(pkt.UDP(eth, out6, 50001, 53, payload)), 0),
			true, "fd00::10", 5353,
			flow(58, "[2001:db8:aaaa::fe]:0", "[fd00::10]:0"), flow(17, "[fd00::10]:5353", "[2001:db8::7]:53")},
		{"tcp6-nat", icmpError("2001:db8:aaaa::fe", "2001:db8:ffff::1", ipPacket(pkt.TCP(eth, out6, seg)), 48),
			true, "fd00::10", 40000,
			flow(58, "[2001:db8:aaaa::fe]:0", "[fd00::10]:0"), flow(6, "[fd00::10]:40000", "[2001:db8::7]:443")},
		{"echo6-nat", icmpError("2001:db8:aaaa::fe", "2001:db8:ffff::1", ipPacket(pkt.Ping(eth, out6, false, 0x4242, 1, payload)), 0),
			true, "fd00::10", 0x0101,
			flow(58, "[2001:db8:aaaa::fe]:0", "[fd00::10]:0"), flow(58, "[fd00::10]:257", "[2001:db8::7]:257")},
		{"udp6-rdr", icmpError("fd00::10", "2001:db8::7", ipPacket(pkt.UDP(eth, pkt.IPHdr{Src: "2001:db8::7", Dst: "fd00::10"}, 53, 5353, payload)), 0),
			false, "2001:db8:ffff::1", 50001,
			flow(58, "[2001:db8:ffff::1]:0", "[2001:db8::7]:0"), flow(17, "[2001:db8::7]:53", "[2001:db8:ffff::1]:50001")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := parsed(t, tc.frame)
			in, ok := ParseInner(p)
			if !ok {
				t.Fatal("ParseInner = false")
			}
			b := p.Bytes()
			before := bytes.Clone(b)
			proto := in.Flow.Proto
			addr := netip.MustParseAddr(tc.addr)
			if tc.src {
				ok = RewriteErrorSrc(p, &in, addr, tc.port)
			} else {
				ok = RewriteErrorDst(p, &in, addr, tc.port)
			}
			if !ok {
				t.Fatal("RewriteError = false")
			}
			if p.Meta.Flow != tc.outer {
				t.Errorf("Meta.Flow = %v, want %v", p.Meta.Flow, tc.outer)
			}
			if in.Flow != tc.inner {
				t.Errorf("Inner.Flow = %v, want %v", in.Flow, tc.inner)
			}
			// The outer checksums, from scratch.
			checkChecksums(t, b)
			// What a fresh parse finds agrees.
			packet.Parse(p)
			if p.Meta.Flow != tc.outer {
				t.Errorf("Parse after rewrite: Flow = %v, want %v", p.Meta.Flow, tc.outer)
			}
			again, ok := ParseInner(p)
			if !ok || again.Flow != tc.inner {
				t.Errorf("ParseInner after rewrite = %v, %v; want %v, true", again.Flow, ok, tc.inner)
			}
			// The quote's checksums as pf leaves them: the IPv4 header
			// checksum is not touched (PF.md 5.5), so it is stale
			// whenever an address changed.
			if p.Meta.Kind == packet.KindIPv4 {
				q := header.IPv4(b[in.L3:])
				if q.Checksum() != header.IPv4(tc.frame[in.L3:]).Checksum() {
					t.Errorf("quoted IPv4 header checksum %#04x changed; pf leaves it", q.Checksum())
				}
			}
			switch proto {
			case header.ProtoUDP:
				if c := u16(b, int(in.L4)+6); c != 0 {
					t.Errorf("quoted UDP checksum = %#04x, want 0", c)
				}
			case header.ProtoTCP:
				if int(in.L4)+18 > len(b) {
					break // the quote stops before the checksum
				}
				if c, was := u16(b, int(in.L4)+16), u16(before, int(in.L4)+16); c != was {
					t.Errorf("quoted TCP checksum = %#04x, want it left at %#04x", c, was)
				}
			case header.ProtoICMP, header.ProtoICMPv6:
				if c, was := u16(b, int(in.L4)+2), u16(before, int(in.L4)+2); c != was {
					t.Errorf("quoted ICMP checksum = %#04x, want it left at %#04x", c, was)
				}
			}
		})
	}
}

func TestRewriteErrorWrongFamily(t *testing.T) {
	frame := icmpError("192.0.2.254", "203.0.113.1", ipPacket(pkt.UDP(eth, pkt.IPHdr{Src: "203.0.113.1", Dst: "198.51.100.7"}, 50001, 53, payload)), 0)
	p := parsed(t, frame)
	in, ok := ParseInner(p)
	if !ok {
		t.Fatal("ParseInner = false")
	}
	if RewriteErrorSrc(p, &in, netip.MustParseAddr("fd00::1"), 1) {
		t.Error("RewriteErrorSrc(IPv4 error, IPv6 address) = true, want false")
	}
	if !bytes.Equal(p.Bytes(), frame) {
		t.Error("a refused rewrite changed the frame")
	}
}

// TestRewriteErrorCaptures rewrites the ICMP errors of real captures: a
// Windows tracert's time exceeded messages quoting ICMP echo requests
// (one router quotes the whole datagram) and a router's host
// unreachables, whose frames end in an Ethernet FCS.
func TestRewriteErrorCaptures(t *testing.T) {
	tests := []struct {
		name string
		file string
		min  int // ICMP errors the capture holds at least
	}{
		{"traceroute", "chrissanders-icmp_traceroute.pcapng", 24},
		{"destunreachable", "chrissanders-ppa1e-destunreachable.pcap", 3},
	}
	to := netip.MustParseAddr("203.0.113.77")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			for i, frame := range readFrames(t, filepath.Join(pcapDir, tc.file)) {
				p := packet.New()
				p.SetFrame(frame)
				packet.Parse(p)
				if !IsICMPError(p) {
					continue
				}
				n++
				in, ok := ParseInner(p)
				if !ok {
					t.Fatalf("frame %d: ParseInner = false", i)
				}
				if in.Flow.Proto != header.ProtoICMP || in.ICMPType != uint8(header.ICMPv4Echo) {
					t.Fatalf("frame %d: quoted %v type %d, want an ICMP echo request", i, in.Flow, in.ICMPType)
				}
				if in.Flow.Src.Addr() != p.Meta.Flow.Dst.Addr() {
					t.Errorf("frame %d: quoted source %v, outer destination %v", i, in.Flow.Src, p.Meta.Flow.Dst)
				}
				b := p.Bytes()
				q := header.IPv4(b[in.L3:])
				innerSum := q.Checksum()
				id := in.Flow.Src.Port() ^ 0x5a5a
				if !RewriteErrorSrc(p, &in, to, id) {
					t.Fatalf("frame %d: RewriteErrorSrc = false", i)
				}
				checkChecksums(t, b)
				// pf_translate_icmp leaves the quoted IPv4 header
				// checksum as it was (PF.md 5.5).
				if q.Checksum() != innerSum {
					t.Errorf("frame %d: quoted IPv4 checksum changed from %#04x to %#04x; PF leaves it", i, innerSum, q.Checksum())
				}
				if q.Src() != to || header.IPv4(b[p.Meta.L3:]).Dst() != to {
					t.Errorf("frame %d: quoted source %v, outer destination %v, want %v", i, q.Src(), header.IPv4(b[p.Meta.L3:]).Dst(), to)
				}
				if got := binary.BigEndian.Uint16(b[in.L4+4:]); got != id {
					t.Errorf("frame %d: quoted echo id %#04x, want %#04x", i, got, id)
				}
				// Translating back gives the captured bytes: every
				// update is reversible.
				orig := header.IPv4(frame[p.Meta.L3:]).Dst()
				if !RewriteErrorSrc(p, &in, orig, id^0x5a5a) {
					t.Fatalf("frame %d: RewriteErrorSrc back = false", i)
				}
				if !bytes.Equal(b, frame) {
					t.Errorf("frame %d: rewrite and back:\n got % x\nwant % x", i, b, frame)
				}
			}
			if n < tc.min {
				t.Errorf("%s: %d ICMP errors, want at least %d", tc.file, n, tc.min)
			}
		})
	}
}

func FuzzParseInner(f *testing.F) {
	out4 := pkt.IPHdr{Src: "203.0.113.1", Dst: "198.51.100.7"}
	out6 := pkt.IPHdr{Src: "2001:db8:ffff::1", Dst: "2001:db8::7"}
	// A time exceeded quoting a whole UDP datagram.
	f.Add(icmpError("192.0.2.254", "203.0.113.1", ipPacket(pkt.UDP(eth, out4, 50001, 53, payload)), 0))
	// A quote cut to the 8 bytes of TCP pf trusts.
	f.Add(icmpError("192.0.2.254", "203.0.113.1", ipPacket(pkt.TCP(eth, out4, pkt.TCPSeg{Sport: 1, Dport: 2})), 28))
	// A quote one byte short of the UDP header.
	f.Add(icmpError("192.0.2.254", "203.0.113.1", ipPacket(pkt.UDP(eth, out4, 50001, 53, payload)), 27))
	// An ICMPv6 error quoting an echo request.
	f.Add(icmpError("2001:db8:aaaa::fe", "2001:db8:ffff::1", ipPacket(pkt.Ping(eth, out6, false, 7, 1, payload)), 0))
	// An ICMPv4 error quoting an IPv6 packet (the wrong family).
	f.Add(icmpError("192.0.2.254", "203.0.113.1", ipPacket(pkt.UDP(eth, out6, 1, 2, payload)), 0))
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) > packet.MaxFrame {
			return
		}
		p := packet.New()
		p.SetFrame(frame)
		packet.Parse(p)
		in, ok := ParseInner(p)
		if !ok {
			return
		}
		end := int(p.Meta.L3) + int(p.Meta.L3Len)
		if int(in.L3) < int(p.Meta.L4)+8 || in.L4 < in.L3 || int(in.L4) > end {
			t.Fatalf("ParseInner offsets L3 %d L4 %d outside the ICMP message [%d, %d)", in.L3, in.L4, p.Meta.L4, end)
		}
		a := in.Flow.Src.Addr().Next()
		if !a.IsValid() {
			a = in.Flow.Src.Addr()
		}
		if !RewriteErrorSrc(p, &in, a, 1234) {
			t.Fatal("RewriteErrorSrc of a parsed error = false")
		}
		if !RewriteErrorDst(p, &in, a, 4321) {
			t.Fatal("RewriteErrorDst of a parsed error = false")
		}
	})
}

// TestParseInnerIPv6ExtHeaders quotes IPv6 packets with extension headers:
// pf walks the quoted chain as it walks the outer one.
func TestParseInnerIPv6ExtHeaders(t *testing.T) {
	udp := ipPacket(pkt.UDP(eth, pkt.IPHdr{Src: "2001:db8:ffff::1", Dst: "2001:db8::7"}, 50001, 53, payload))
	// withExt inserts an 8-byte extension header of type nh (its own
	// next header is UDP) after the fixed header; fo is a fragment
	// header's offset and flags word.
	withExt := func(nh uint8, fo uint16) []byte {
		b := make([]byte, 0, len(udp)+8)
		b = append(b, udp[:40]...)
		ext := []byte{header.ProtoUDP, 0, byte(fo >> 8), byte(fo), 0, 0, 0, 1}
		b = append(b, ext...)
		b = append(b, udp[40:]...)
		header.IPv6(b).SetNextHeader(nh)
		header.IPv6(b).SetPayloadLen(uint16(len(b) - 40))
		return b
	}
	tests := []struct {
		name  string
		inner []byte
		ok    bool
	}{
		{"hop-by-hop", withExt(header.ProtoHopByHop, 0), true},
		{"dest-opts", withExt(header.ProtoDstOpts, 0), true},
		{"first-fragment", withExt(header.ProtoFragment, 1), true},
		{"non-first-fragment", withExt(header.ProtoFragment, 64), false},
		{"cut-in-ext-header", withExt(header.ProtoDstOpts, 0)[:44], false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := parsed(t, icmpError("2001:db8:aaaa::fe", "2001:db8:ffff::1", tc.inner, 0))
			in, ok := ParseInner(p)
			if ok != tc.ok {
				t.Fatalf("ParseInner ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			want := flow(17, "[2001:db8:ffff::1]:50001", "[2001:db8::7]:53")
			if in.Flow != want || int(in.L4)-int(in.L3) != 48 {
				t.Errorf("ParseInner = %v at L4-L3 %d, want %v at 48", in.Flow, int(in.L4)-int(in.L3), want)
			}
			if !RewriteErrorSrc(p, &in, netip.MustParseAddr("fd00::10"), 5353) {
				t.Fatal("RewriteErrorSrc = false")
			}
			checkChecksums(t, p.Bytes())
		})
	}
}

// TestRewriteErrorIncrementalEqualsFull rewrites random ICMP errors and
// checks the ICMP checksum against one computed from scratch.
func TestRewriteErrorIncrementalEqualsFull(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	addr := func(v6 bool) string {
		if v6 {
			return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(r.Uint32()), 15: byte(r.Uint32())}).String()
		}
		return netip.AddrFrom4([4]byte{10, byte(r.Uint32()), byte(r.Uint32()), 1 + byte(r.Uint32()%250)}).String()
	}
	for i := range 1000 {
		v6 := r.IntN(2) == 1
		h := pkt.IPHdr{Src: addr(v6), Dst: addr(v6)}
		data := make([]byte, r.IntN(100))
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		var inner []byte
		switch r.IntN(3) {
		case 0:
			inner = ipPacket(pkt.TCP(eth, h, pkt.TCPSeg{Sport: uint16(r.Uint32()), Dport: uint16(r.Uint32()), Seq: r.Uint32(), Payload: data}))
		case 1:
			inner = ipPacket(pkt.UDP(eth, h, uint16(r.Uint32()), uint16(r.Uint32()), data))
		default:
			inner = ipPacket(pkt.Ping(eth, h, false, uint16(r.Uint32()), 1, data))
		}
		hl := 20
		if v6 {
			hl = 40
		}
		quote := hl + 8 + r.IntN(len(inner)-hl-8+1)
		p := parsed(t, icmpError(addr(v6), h.Src, inner, quote))
		in, ok := ParseInner(p)
		if !ok {
			t.Fatalf("error %d: ParseInner = false", i)
		}
		to := netip.MustParseAddr(addr(v6))
		if r.IntN(2) == 0 {
			RewriteErrorSrc(p, &in, to, uint16(r.Uint32()))
		} else {
			RewriteErrorDst(p, &in, to, uint16(r.Uint32()))
		}
		field, want, _ := fullTransportChecksum(p)
		if got := u16(p.Bytes(), field); got != want {
			t.Fatalf("error %d: ICMP checksum %#04x, full recompute %#04x", i, got, want)
		}
		if !v6 {
			if o := header.IPv4(p.Bytes()[p.Meta.L3:]); o.Checksum() != o.ComputeChecksum() {
				t.Fatalf("error %d: IPv4 checksum %#04x, full recompute %#04x", i, o.Checksum(), o.ComputeChecksum())
			}
		}
	}
}
