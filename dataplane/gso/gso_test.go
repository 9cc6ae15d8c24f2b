package gso

import (
	"bytes"
	"errors"
	"math"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

var (
	macA = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{2, 0, 0, 0, 0, 2}
	v4A  = net.IP{10, 0, 0, 1}
	v4B  = net.IP{10, 0, 0, 2}
	v6A  = net.ParseIP("2001:db8::1")
	v6B  = net.ParseIP("2001:db8::2")
)

// flow describes a TCP or UDP packet for the gopacket reference builder.
type flow struct {
	v6      bool
	udp     bool
	vlan    bool
	ipOpts  bool   // an IPv4 header with options
	hbh     bool   // an IPv6 hop-by-hop extension header
	seq     uint32 // TCP
	flags   uint8  // TCP flags as header.TCPFlag*
	id      uint16 // IPv4
	payload []byte
}

func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

// build serializes f with gopacket, lengths and checksums computed by it:
// the reference every segment is compared with.
func build(t *testing.T, f flow) []byte {
	t.Helper()
	var ls []gopacket.SerializableLayer
	eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}
	if f.v6 {
		eth.EthernetType = layers.EthernetTypeIPv6
	}
	ls = append(ls, eth)
	if f.vlan {
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: 10, Type: eth.EthernetType})
		eth.EthernetType = layers.EthernetTypeDot1Q
	}
	proto := layers.IPProtocolTCP
	if f.udp {
		proto = layers.IPProtocolUDP
	}
	var nl gopacket.NetworkLayer
	if f.v6 {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, SrcIP: v6A, DstIP: v6B, NextHeader: proto}
		nl = ip
		ls = append(ls, ip)
		if f.hbh {
			ip.NextHeader = layers.IPProtocolIPv6HopByHop
			// Next header, length 0 (8 bytes), a PadN option of 4 bytes.
			ls = append(ls, gopacket.Payload{byte(proto), 0, 1, 4, 0, 0, 0, 0})
		}
	} else {
		ip := &layers.IPv4{Version: 4, TTL: 64, Id: f.id, Flags: layers.IPv4DontFragment, SrcIP: v4A, DstIP: v4B, Protocol: proto}
		if f.ipOpts {
			ip.Options = []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}
		}
		nl = ip
		ls = append(ls, ip)
	}
	if f.udp {
		u := &layers.UDP{SrcPort: 4000, DstPort: 443}
		u.SetNetworkLayerForChecksum(nl)
		ls = append(ls, u)
	} else {
		tc := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: f.seq, Ack: 7, Window: 512,
			FIN: f.flags&header.TCPFlagFIN != 0, SYN: f.flags&header.TCPFlagSYN != 0,
			PSH: f.flags&header.TCPFlagPSH != 0, ACK: f.flags&header.TCPFlagACK != 0,
			ECE: f.flags&header.TCPFlagECE != 0, CWR: f.flags&header.TCPFlagCWR != 0,
			Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{1, 2, 3, 4, 5, 6, 7, 8}}},
		}
		tc.SetNetworkLayerForChecksum(nl)
		ls = append(ls, tc)
	}
	ls = append(ls, gopacket.Payload(f.payload))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func TestSegment(t *testing.T) {
	const (
		psh = header.TCPFlagPSH
		ack = header.TCPFlagACK
		fin = header.TCPFlagFIN
		cwr = header.TCPFlagCWR
		ece = header.TCPFlagECE
	)
	tests := []struct {
		name    string
		f       flow
		typ     uint8
		size    int // GSO.Size
		mtu     int
		wantMSS int
	}{
		{name: "tcp4", f: flow{seq: 1000, flags: psh | ack, id: 77, payload: payload(5000)}, typ: TypeTCPv4, size: 1448, wantMSS: 1448},
		{name: "tcp4 exact multiple", f: flow{seq: 1, flags: ack, payload: payload(3 * 1000)}, typ: TypeTCPv4, size: 1000, wantMSS: 1000},
		{name: "tcp4 fin psh cwr ecn", f: flow{seq: 0xfffff000, flags: psh | ack | fin | cwr | ece, id: 0xffff, payload: payload(9000)}, typ: TypeTCPv4 | TypeECN, size: 1448, wantMSS: 1448},
		{name: "tcp4 vlan", f: flow{vlan: true, seq: 5, flags: ack, payload: payload(4000)}, typ: TypeTCPv4, size: 1400, wantMSS: 1400},
		{name: "tcp4 ip options", f: flow{ipOpts: true, seq: 5, flags: ack, payload: payload(4000)}, typ: TypeTCPv4, size: 1400, wantMSS: 1400},
		{name: "tcp4 mtu below gso size", f: flow{seq: 9, flags: ack, payload: payload(6000)}, typ: TypeTCPv4, size: 8948, mtu: 1500, wantMSS: 1500 - 20 - 32},
		{name: "tcp4 mtu only", f: flow{seq: 9, flags: ack, payload: payload(6000)}, typ: TypeTCPv4, size: 0, mtu: 1280, wantMSS: 1280 - 20 - 32},
		{name: "tcp4 huge mtu", f: flow{seq: 9, flags: ack, payload: payload(6000)}, typ: TypeTCPv4, size: 0, mtu: math.MaxInt, wantMSS: 65535 - 20 - 32},
		{name: "tcp4 one segment", f: flow{seq: 9, flags: ack | psh, payload: payload(100)}, typ: TypeTCPv4, size: 1448, wantMSS: 1448},
		{name: "tcp4 no payload", f: flow{seq: 9, flags: ack | fin}, typ: TypeTCPv4, size: 1448, wantMSS: 1448},
		{name: "tcp6", f: flow{v6: true, seq: 1000, flags: psh | ack, payload: payload(64000)}, typ: TypeTCPv6, size: 1428, wantMSS: 1428},
		{name: "tcp6 hop-by-hop", f: flow{v6: true, hbh: true, seq: 1000, flags: ack, payload: payload(3000)}, typ: TypeTCPv6, size: 1400, wantMSS: 1400},
		{name: "udp4 uso", f: flow{udp: true, id: 3, payload: payload(4000)}, typ: TypeUDPL4, size: 1200, wantMSS: 1200},
		{name: "udp6 uso", f: flow{v6: true, udp: true, payload: payload(2500)}, typ: TypeUDPL4, size: 1200, wantMSS: 1200},
	}
	pool := packet.NewPool()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			super := build(t, tc.f)
			p := packet.New()
			p.SetFrame(super)
			p.GSO = packet.GSO{Type: tc.typ, NeedsCsum: true, Size: uint16(tc.size)}
			p.Stamp, p.Prio, p.InPort = 42, 5, 3
			orig := append([]byte(nil), p.Bytes()...)

			want := (len(tc.f.payload) + tc.wantMSS - 1) / tc.wantMSS
			if want == 0 {
				want = 1
			}
			if n, err := Count(p, tc.mtu); n != want || err != nil {
				t.Fatalf("Count() = %d, %v, want %d", n, err, want)
			}
			if _, err := Segment(p, tc.mtu, make([]*packet.Packet, want-1), pool); want > 1 && !errors.Is(err, ErrTooMany) {
				t.Errorf("Segment into %d slots = %v, want ErrTooMany", want-1, err)
			}
			out := make([]*packet.Packet, want+2)
			n, err := Segment(p, tc.mtu, out, pool)
			if n != want || err != nil {
				t.Fatalf("Segment() = %d, %v, want %d", n, err, want)
			}
			if !bytes.Equal(p.Bytes(), orig) {
				t.Error("Segment changed the super-frame it borrowed")
			}
			for i, q := range out[:n] {
				lo := i * tc.wantMSS
				hi := min(lo+tc.wantMSS, len(tc.f.payload))
				sf := tc.f
				sf.payload = tc.f.payload[lo:hi]
				sf.seq = tc.f.seq + uint32(lo)
				sf.id = tc.f.id + uint16(i)
				if i < n-1 {
					sf.flags &^= fin | psh
				}
				if i > 0 {
					sf.flags &^= cwr
				}
				wantFrame := build(t, sf)
				if !bytes.Equal(q.Bytes(), wantFrame) {
					t.Errorf("segment %d:\n got % x\nwant % x", i, q.Bytes(), wantFrame)
				}
				if q.GSO != (packet.GSO{}) || q.Stamp != 42 || q.Prio != 5 || q.InPort != 3 {
					t.Errorf("segment %d: GSO %+v Stamp %d Prio %d InPort %d, want zero GSO and p's annotations", i, q.GSO, q.Stamp, q.Prio, q.InPort)
				}
				checkSums(t, q.Bytes())
				pool.Put(q)
			}
		})
	}
}

// checkSums decodes b with gopacket and verifies its IPv4 header and
// transport checksums by summing, independently of Segment.
func checkSums(t *testing.T, b []byte) {
	t.Helper()
	pk := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
	if el := pk.ErrorLayer(); el != nil {
		t.Fatalf("gopacket: %v", el.Error())
	}
	var pseudo uint16
	switch ip := pk.NetworkLayer().(type) {
	case *layers.IPv4:
		if header.Checksum(ip.Contents, 0) != 0xffff {
			t.Errorf("IPv4 header checksum %#04x does not verify", ip.Checksum)
		}
		pseudo = ipPseudo(ip.SrcIP, ip.DstIP, uint8(ip.Protocol), len(ip.Payload))
	case *layers.IPv6:
		tl := pk.TransportLayer()
		proto := uint8(17)
		if _, ok := tl.(*layers.TCP); ok {
			proto = 6
		}
		pseudo = ipPseudo(ip.SrcIP, ip.DstIP, proto, len(tl.LayerContents())+len(tl.LayerPayload()))
	}
	tl := pk.TransportLayer()
	seg := append(append([]byte(nil), tl.LayerContents()...), tl.LayerPayload()...)
	if s := header.Checksum(seg, pseudo); s != 0xffff {
		t.Errorf("%v checksum does not verify (sum %#04x)", tl.LayerType(), s)
	}
}

func ipPseudo(src, dst net.IP, proto uint8, n int) uint16 {
	var b []byte
	if s4 := src.To4(); s4 != nil {
		b = append(append(b, s4...), dst.To4()...)
	} else {
		b = append(append(b, src.To16()...), dst.To16()...)
	}
	b = append(b, 0, proto, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	return header.Checksum(b, 0)
}

func TestSegmentErrors(t *testing.T) {
	good := build(t, flow{seq: 1, flags: header.TCPFlagACK, payload: payload(3000)})
	udp := build(t, flow{udp: true, payload: payload(3000)})
	tests := []struct {
		name  string
		frame []byte
		gso   packet.GSO
		mtu   int
		want  error
	}{
		{"truncated", good[:40], packet.GSO{Type: TypeTCPv4, Size: 1000}, 0, ErrMalformed},
		{"ip longer than frame", good[:len(good)-1], packet.GSO{Type: TypeTCPv4, Size: 1000}, 0, ErrMalformed},
		{"ufo", udp, packet.GSO{Type: TypeUDP, Size: 1000}, 0, ErrUnsupported},
		{"none", good, packet.GSO{Size: 1000}, 0, ErrUnsupported},
		{"tcp6 type on ipv4", good, packet.GSO{Type: TypeTCPv6, Size: 1000}, 0, ErrMalformed},
		{"tcp type on udp", udp, packet.GSO{Type: TypeTCPv4, Size: 1000}, 0, ErrMalformed},
		{"zero size no mtu", good, packet.GSO{Type: TypeTCPv4}, 0, ErrMalformed},
		{"mtu below headers", good, packet.GSO{Type: TypeTCPv4, Size: 1000}, 40, ErrMTU},
		{"arp", make([]byte, 60), packet.GSO{Type: TypeTCPv4, Size: 1000}, 0, ErrMalformed},
	}
	pool := packet.NewPool()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := packet.New()
			p.SetFrame(tc.frame)
			p.GSO = tc.gso
			if n, err := Segment(p, tc.mtu, make([]*packet.Packet, 64), pool); n != 0 || !errors.Is(err, tc.want) {
				t.Errorf("Segment() = %d, %v, want 0, %v", n, err, tc.want)
			}
		})
	}
}

// partial turns the transport checksum of frame b into the pseudo-header
// sum a sender with checksum offload leaves there, and returns the packet
// with NeedsCsum set, and the complete frame it should become.
func partial(t *testing.T, f flow, pad int) (*packet.Packet, []byte) {
	t.Helper()
	full := build(t, f)
	l4 := 14 + 20
	if f.v6 {
		l4 = 14 + 40
	}
	off := 16
	if f.udp {
		off = 6
	}
	n := len(full) - l4
	var pseudo uint16
	if f.v6 {
		pseudo = ipPseudo(v6A, v6B, protoOf(f), n)
	} else {
		pseudo = ipPseudo(v4A, v4B, protoOf(f), n)
	}
	b := append(append([]byte(nil), full...), make([]byte, pad)...)
	b[l4+off], b[l4+off+1] = byte(pseudo>>8), byte(pseudo)
	for i := range pad {
		b[len(full)+i] = 0xee // a non-zero trailer must not count
	}
	p := packet.New()
	p.SetFrame(b)
	p.GSO = packet.GSO{NeedsCsum: true, CsumStart: uint16(l4), CsumOffset: uint16(off)}
	return p, append(full, b[len(full):]...)
}

func protoOf(f flow) uint8 {
	if f.udp {
		return 17
	}
	return 6
}

func TestFinishChecksum(t *testing.T) {
	tests := []struct {
		name string
		f    flow
		pad  int
	}{
		{"tcp4", flow{seq: 1, flags: header.TCPFlagACK | header.TCPFlagPSH, payload: payload(333)}, 0},
		{"tcp4 odd length padded", flow{seq: 1, flags: header.TCPFlagACK, payload: payload(3)}, 7},
		{"udp4", flow{udp: true, payload: payload(1001)}, 0},
		{"tcp6", flow{v6: true, seq: 1, flags: header.TCPFlagACK, payload: payload(1440)}, 0},
		{"udp6", flow{v6: true, udp: true, payload: payload(12)}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, want := partial(t, tc.f, tc.pad)
			if err := FinishChecksum(p); err != nil {
				t.Fatalf("FinishChecksum() = %v", err)
			}
			if !bytes.Equal(p.Bytes(), want) {
				t.Errorf("FinishChecksum():\n got % x\nwant % x", p.Bytes(), want)
			}
			if p.GSO.NeedsCsum {
				t.Error("NeedsCsum still set")
			}
			// Finish on a ready frame changes nothing.
			if n, err := Finish(p, 1500, nil, nil); n != 0 || err != nil || !bytes.Equal(p.Bytes(), want) {
				t.Errorf("Finish(ready frame) = %d, %v", n, err)
			}
		})
	}

	p, _ := partial(t, flow{seq: 1, flags: header.TCPFlagACK, payload: payload(10)}, 0)
	p.GSO.CsumOffset = 5000
	if err := FinishChecksum(p); !errors.Is(err, ErrCsumRange) {
		t.Errorf("FinishChecksum(offset beyond frame) = %v, want ErrCsumRange", err)
	}
	p.GSO = packet.GSO{Type: TypeTCPv4, NeedsCsum: true, Size: 100}
	if err := FinishChecksum(p); !errors.Is(err, ErrUnsupported) {
		t.Errorf("FinishChecksum(super-frame) = %v, want ErrUnsupported", err)
	}
}

var sinkN int

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	pool := packet.NewPool()
	super := packet.New()
	super.SetFrame(build(t, flow{seq: 1, flags: header.TCPFlagACK, payload: payload(64000)}))
	super.GSO = packet.GSO{Type: TypeTCPv4, NeedsCsum: true, Size: 1448}
	out := make([]*packet.Packet, 64)
	single, _ := partial(t, flow{seq: 1, flags: header.TCPFlagACK, payload: payload(1400)}, 0)
	g := single.GSO
	tests := []struct {
		name string
		fn   func()
	}{
		{"Segment", func() {
			n, _ := Segment(super, 1500, out, pool)
			for _, q := range out[:n] {
				pool.Put(q)
			}
			sinkN = n
		}},
		{"FinishChecksum", func() { single.GSO = g; FinishChecksum(single) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tc.fn); n != 0 {
				t.Errorf("allocs = %v, want 0", n)
			}
		})
	}
}

func BenchmarkSegment(b *testing.B) {
	t := &testing.T{}
	pool := packet.NewPool()
	super := packet.New()
	super.SetFrame(build(t, flow{seq: 1, flags: header.TCPFlagACK, payload: payload(64000)}))
	super.GSO = packet.GSO{Type: TypeTCPv4, NeedsCsum: true, Size: 1448}
	out := make([]*packet.Packet, 64)
	b.ReportAllocs()
	b.SetBytes(int64(super.Len()))
	for b.Loop() {
		n, _ := Segment(super, 1500, out, pool)
		for _, q := range out[:n] {
			pool.Put(q)
		}
	}
}

func FuzzSegment(f *testing.F) {
	t := &testing.T{}
	// Small seeds keep the fuzzer's minimization of new inputs quick.
	f.Add(build(t, flow{seq: 1, flags: header.TCPFlagACK, payload: payload(300)}), uint8(TypeTCPv4), uint16(100), 1500)        // TCPv4 super-frame
	f.Add(build(t, flow{v6: true, seq: 1, flags: header.TCPFlagACK, payload: payload(300)}), uint8(TypeTCPv6), uint16(100), 0) // TCPv6 super-frame
	f.Add(build(t, flow{udp: true, payload: payload(300)}), uint8(TypeUDPL4), uint16(120), 1500)                               // USO
	f.Add(build(t, flow{vlan: true, seq: 1, payload: payload(100)}), uint8(TypeTCPv4), uint16(1), 0)                           // one byte per segment
	f.Add(build(t, flow{seq: 1, flags: header.TCPFlagACK, payload: payload(300)}), uint8(TypeTCPv4), uint16(0), math.MaxInt)   // huge MTU, no size
	f.Add([]byte{}, uint8(TypeTCPv4), uint16(1000), 1500)                                                                      // empty frame
	pool := packet.NewPool()
	out := make([]*packet.Packet, 1024)
	p := packet.New()
	f.Fuzz(func(t *testing.T, frame []byte, typ uint8, size uint16, mtu int) {
		if len(frame) > packet.MaxFrame {
			return
		}
		p.SetFrame(frame)
		p.GSO = packet.GSO{Type: typ, Size: size, NeedsCsum: true}
		want, cerr := Count(p, mtu)
		n, err := Segment(p, mtu, out, pool)
		if err != nil {
			if cerr == nil && !errors.Is(err, ErrTooMany) {
				t.Fatalf("Count() = %d, nil but Segment() = %v", want, err)
			}
			return
		}
		if n != want || n < 1 {
			t.Fatalf("Segment() = %d, Count() = %d, want the same, at least 1", n, want)
		}
		for _, q := range out[:n] {
			if _, ok := parse(q.Bytes()); !ok {
				t.Fatalf("segment does not parse: % x", q.Bytes())
			}
			if mtu > 0 {
				if lo, _ := parse(q.Bytes()); lo.end-lo.l3 > mtu {
					t.Fatalf("segment of %d bytes over MTU %d", lo.end-lo.l3, mtu)
				}
			}
			pool.Put(q)
		}
		// FinishChecksum on arbitrary offsets must not panic either.
		p.GSO = packet.GSO{NeedsCsum: true, CsumStart: size, CsumOffset: uint16(typ)}
		FinishChecksum(p)
	})
}

func TestFinishSuperFrame(t *testing.T) {
	p := packet.New()
	p.SetFrame(build(t, flow{seq: 1, flags: header.TCPFlagACK, payload: payload(3000)}))
	p.GSO = packet.GSO{Type: TypeTCPv4, NeedsCsum: true, Size: 1000}
	out := make([]*packet.Packet, 4)
	if n, err := Finish(p, 1500, out, packet.NewPool()); n != 3 || err != nil {
		t.Errorf("Finish(super-frame) = %d, %v, want 3 segments", n, err)
	}
}
