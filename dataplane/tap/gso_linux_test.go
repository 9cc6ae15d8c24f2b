package tap

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/hostnet/hostnet/dataplane/gso"
	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// vmSide sets up tap name as the host's side of a link to a "VM" that the
// test plays: the host has .1/24 and knows the VM at .2 with vmMAC.
func vmSide(t *testing.T, name, prefix string) (*Tap, net.HardwareAddr) {
	t.Helper()
	tp := openTest(t, name, Options{})
	ip(t, "addr", "add", prefix+".1/24", "dev", name)
	ip(t, "neigh", "replace", prefix+".2", "lladdr", vmMAC.String(), "dev", name, "nud", "permanent")
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return tp, ifi.HardwareAddr
}

// tcpFrame builds an Ethernet/IPv4/TCP frame from the VM with gopacket,
// checksums complete.
func tcpFrame(t *testing.T, dstMAC net.HardwareAddr, src, dst net.IP, tcp *layers.TCP, payload []byte) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: vmMAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv4}
	ip4 := &layers.IPv4{Version: 4, TTL: 64, Flags: layers.IPv4DontFragment, SrcIP: src, DstIP: dst, Protocol: layers.IPProtocolTCP}
	tcp.SetNetworkLayerForChecksum(ip4)
	return serialize(t, eth, ip4, tcp, gopacket.Payload(payload))
}

// isTCPFrom reports whether p is an IPv4 TCP segment from port sport, and
// returns its header offset.
func tcpOf(p *packet.Packet, sport uint16) (header.TCP, bool) {
	b := p.Bytes()
	if len(b) < 14+20+20 || binary.BigEndian.Uint16(b[12:]) != 0x0800 || b[14+9] != 6 {
		return nil, false
	}
	tcp := header.TCP(b[14+int(b[14]&0x0f)*4:])
	if !tcp.IsValid() || tcp.SrcPort() != sport {
		return nil, false
	}
	return tcp, true
}

// TestGSOWrite writes a TCPv4 super-frame with a partial checksum to the
// kernel. The kernel takes it whole (a bad virtio-net header would make
// the write fail with EINVAL) and answers the segment, which is for a port
// nobody listens on, with a RST whose sequence number is the super-frame's
// acknowledgment number.
func TestGSOWrite(t *testing.T) {
	needTun(t)
	tp, hostMAC := vmSide(t, "hntest7", "10.199.7")
	src, dst := net.IP{10, 199, 7, 2}, net.IP{10, 199, 7, 1}
	const ackNum = 0x5555
	frame := tcpFrame(t, hostMAC, src, dst, &layers.TCP{SrcPort: 40000, DstPort: 9, Seq: 1000, Ack: ackNum, ACK: true, Window: 512}, make([]byte, 3000))
	// Replace the checksum with the pseudo-header sum, as a sender with
	// checksum offload leaves it.
	l4 := 14 + 20
	pseudo := header.PseudoHeaderChecksum(header.ProtoTCP, netip.AddrFrom4([4]byte(src)), netip.AddrFrom4([4]byte(dst)), uint32(len(frame)-l4))
	binary.BigEndian.PutUint16(frame[l4+16:], pseudo)

	pkts := batch(1)
	pkts[0].SetFrame(frame)
	pkts[0].GSO = packet.GSO{Type: gso.TypeTCPv4, NeedsCsum: true, HdrLen: uint16(l4 + 20), Size: 1000, CsumStart: uint16(l4), CsumOffset: 16}
	if n, err := tp.WriteBatch(pkts); n != 1 || err != nil {
		t.Fatalf("WriteBatch(super-frame) = %d, %v", n, err)
	}
	rst := readUntil(t, tp, 5*time.Second, func(p *packet.Packet) bool {
		tcp, ok := tcpOf(p, 9)
		return ok && tcp.Flags()&header.TCPFlagRST != 0
	})
	if rst == nil {
		t.Fatal("no RST came back for the super-frame")
	}
	tcp, _ := tcpOf(rst, 9)
	if tcp.Seq() != ackNum {
		t.Errorf("RST seq = %#x, want %#x", tcp.Seq(), ackNum)
	}
}

// TestGSORead connects to a listener of the kernel's stack by hand, from
// the VM's side of the tap, and lets the kernel send a stream: with TSO
// negotiated it hands over TCP super-frames (GSO TCPv4, longer than the
// MTU), which package gso cuts into segments whose checksums verify.
func TestGSORead(t *testing.T) {
	needTun(t)
	checkLeaks(t)
	tp, hostMAC := vmSide(t, "hntest8", "10.199.8")
	src, dst := net.IP{10, 199, 8, 2}, net.IP{10, 199, 8, 1}
	ln, err := net.Listen("tcp4", "10.199.8.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
		c.Write(make([]byte, 1<<20)) // ends with an error when the test closes c
	}()

	write := func(tcp *layers.TCP) {
		t.Helper()
		pkts := batch(1)
		pkts[0].SetFrame(tcpFrame(t, hostMAC, src, dst, tcp, nil))
		if _, err := tp.WriteBatch(pkts); err != nil {
			t.Fatalf("WriteBatch: %v", err)
		}
	}
	const isn = 1000
	write(&layers.TCP{SrcPort: 40001, DstPort: layers.TCPPort(port), Seq: isn, SYN: true, Window: 65535,
		Options: []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
		}})
	synack := readUntil(t, tp, 5*time.Second, func(p *packet.Packet) bool {
		tcp, ok := tcpOf(p, port)
		return ok && tcp.Flags()&(header.TCPFlagSYN|header.TCPFlagACK) == header.TCPFlagSYN|header.TCPFlagACK
	})
	if synack == nil {
		t.Fatal("no SYN-ACK from the listener")
	}
	stcp, _ := tcpOf(synack, port)
	next := stcp.Seq() + 1
	write(&layers.TCP{SrcPort: 40001, DstPort: layers.TCPPort(port), Seq: isn + 1, Ack: next, ACK: true, Window: 65535})
	var conn net.Conn
	select {
	case conn = <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("the listener accepted nothing")
	}
	if conn == nil {
		t.Fatal("Accept failed")
	}
	defer conn.Close()

	// Read the stream, acknowledging it, until a super-frame comes. A
	// watchdog closes the tap so that a read waiting for frames that never
	// come returns.
	defer time.AfterFunc(10*time.Second, func() { tp.Close() }).Stop()
	pkts := batch(16)
	pool := packet.NewPool()
	out := make([]*packet.Packet, 64)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n, err := tp.ReadBatch(pkts)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkts[:n] {
			tcp, ok := tcpOf(p, port)
			if !ok {
				continue
			}
			data := len(p.Bytes()) - (14 + int(p.Bytes()[14]&0x0f)*4) - tcp.DataOffset()
			if end := tcp.Seq() + uint32(data); int32(end-next) > 0 {
				next = end
			}
			if p.GSO.Type != gso.TypeTCPv4 {
				continue
			}
			if p.Len() <= 1514 || !p.GSO.NeedsCsum || p.GSO.Size == 0 {
				t.Errorf("GSO frame of %d bytes, GSO %+v: want a super-frame with a partial checksum", p.Len(), p.GSO)
			}
			k, err := gso.Segment(p, 1500, out, pool)
			if err != nil {
				t.Fatalf("gso.Segment(kernel super-frame, GSO %+v) = %v", p.GSO, err)
			}
			total := 0
			for _, q := range out[:k] {
				qb := q.Bytes()
				ip4 := header.IPv4(qb[14:])
				if !ip4.IsChecksumValid() || int(ip4.TotalLen()) > 1500 {
					t.Errorf("segment IPv4 header: checksum valid %v, length %d", ip4.IsChecksumValid(), ip4.TotalLen())
				}
				seg := qb[14+ip4.HeaderLen():]
				if s := header.Checksum(seg, ip4.PseudoHeaderChecksum()); s != 0xffff {
					t.Errorf("segment TCP checksum does not verify (sum %#04x)", s)
				}
				total += len(seg) - header.TCP(seg).DataOffset()
				pool.Put(q)
			}
			if total != data {
				t.Errorf("segments carry %d bytes, the super-frame %d", total, data)
			}
			t.Logf("super-frame of %d bytes (GSO size %d) cut into %d segments", p.Len(), p.GSO.Size, k)
			return
		}
		write(&layers.TCP{SrcPort: 40001, DstPort: layers.TCPPort(port), Seq: isn + 1, Ack: next, ACK: true, Window: 65535})
	}
	t.Fatal("the kernel sent no TCP super-frame through the tap")
}
