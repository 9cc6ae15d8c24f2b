package dataplane

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/gso"
	"github.com/hostnet/hostnet/dataplane/header"
)

// superFrame returns a TCPv4 super-frame of payload bytes from A to B
// with a partial checksum, as a tap with offloads delivers it.
func superFrame(payload int) []byte {
	n := 14 + 20 + 20 + payload
	b := make([]byte, n)
	e := header.Ethernet(b)
	e.SetDst(macB)
	e.SetSrc(macA)
	e.SetType(header.EtherTypeIPv4)
	ip := b[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(n-14))
	ip[8], ip[9] = 64, header.ProtoTCP
	copy(ip[12:20], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	binary.BigEndian.PutUint16(ip[10:], ^header.Checksum(ip, 0))
	tcp := b[34:54]
	binary.BigEndian.PutUint16(tcp[0:], 40000)
	binary.BigEndian.PutUint16(tcp[2:], 80)
	binary.BigEndian.PutUint32(tcp[4:], 1000)
	tcp[12] = 5 << 4
	tcp[13] = 0x18 // PSH|ACK
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	for i := range payload {
		b[54+i] = byte(i)
	}
	// A partial checksum holds the pseudo-header sum only.
	src, dst := netip.AddrFrom4([4]byte{10, 0, 0, 1}), netip.AddrFrom4([4]byte{10, 0, 0, 2})
	binary.BigEndian.PutUint16(tcp[16:], header.PseudoHeaderChecksum(header.ProtoTCP, src, dst, uint32(20+payload)))
	return b
}

// TestSuperFrameSegmented checks that a super-frame leaving by a port
// without offloads (a memport) is cut into MTU-sized frames whose
// checksums verify, carrying the payload in order.
func TestSuperFrameSegmented(t *testing.T) {
	d, ports := memDataplane(t, load(t, map[string]string{"hostname.bridge0": "add em1\nadd tap0\nup\n"}))
	w := d.NewWorker()
	w.SetClock(1e9)
	const payload = 6000
	em1, _ := d.Interface("em1")
	p := d.Pool().Get()
	p.SetFrame(superFrame(payload))
	p.GSO.Type = gso.TypeTCPv4
	p.GSO.NeedsCsum = true
	p.GSO.HdrLen = 54
	p.GSO.Size = 1460
	p.GSO.CsumStart = 34
	p.GSO.CsumOffset = 16
	w.Input(em1, p)
	got := ports["tap0"].Take()
	if len(got) != 5 { // 4 x 1460 + 160
		t.Fatalf("tap0 got %d frames, want 5", len(got))
	}
	next := uint32(1000)
	for i, f := range got {
		if len(f)-14 > 1500 {
			t.Errorf("segment %d is %d bytes, over the MTU", i, len(f))
		}
		pk := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
		ip, _ := pk.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip == nil || tcp == nil {
			t.Fatalf("segment %d does not decode: %v", i, pk.ErrorLayer())
		}
		if tcp.Seq != next {
			t.Errorf("segment %d seq %d, want %d", i, tcp.Seq, next)
		}
		next += uint32(len(tcp.Payload))
		if c := header.Checksum(f[14:34], 0); c != 0xffff {
			t.Errorf("segment %d: IPv4 header checksum does not verify", i)
		}
		tl := f[34:]
		src, dst := netip.AddrFrom4([4]byte(ip.SrcIP.To4())), netip.AddrFrom4([4]byte(ip.DstIP.To4()))
		if c := header.Checksum(tl, header.PseudoHeaderChecksum(header.ProtoTCP, src, dst, uint32(len(tl)))); c != 0xffff {
			t.Errorf("segment %d: TCP checksum does not verify", i)
		}
	}
	if next != 1000+payload {
		t.Errorf("segments carry %d bytes, want %d", next-1000, payload)
	}
}
