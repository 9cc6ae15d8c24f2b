package afpacket

import (
	"encoding/binary"
	"net"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/hostnet/hostnet/dataplane/gso"
	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
	"golang.org/x/sys/unix"
)

var (
	peerMAC = net.HardwareAddr{0x02, 0, 0, 0, 0x77, 0x07} // the namespace's end
	ourMAC  = net.HardwareAddr{0x02, 0, 0, 0, 0x77, 0x06} // the host NIC's side, played by the test
)

// netnsPeer creates veth a <-> b with b in a new network namespace ns
// holding 10.199.10.1/24 and a permanent neighbour entry for the test's
// address 10.199.10.2 at ourMAC. Both are deleted by name at cleanup.
func netnsPeer(t *testing.T, a, b, ns string) {
	t.Helper()
	exec.Command("ip", "netns", "del", ns).Run()
	exec.Command("ip", "link", "del", a).Run()
	ip(t, "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ip(t, "link", "add", a, "type", "veth", "peer", "name", b)
	t.Cleanup(func() { exec.Command("ip", "link", "del", a).Run() })
	ip(t, "link", "set", b, "address", peerMAC.String(), "netns", ns)
	os.WriteFile("/proc/sys/net/ipv6/conf/"+a+"/disable_ipv6", []byte("1"), 0)
	ip(t, "link", "set", a, "up")
	ip(t, "-n", ns, "addr", "add", "10.199.10.1/24", "dev", b)
	ip(t, "-n", ns, "link", "set", b, "up")
	ip(t, "-n", ns, "neigh", "replace", "10.199.10.2", "lladdr", ourMAC.String(), "dev", b, "nud", "permanent")
	waitUp(t, a) // up only once its peer in the namespace is up too
}

// listenIn opens a TCP listener inside the named network namespace.
func listenIn(t *testing.T, ns, addr string) net.Listener {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		t.Fatal(err)
	}
	ln, lerr := net.Listen("tcp4", addr)
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread stays locked and dies with the goroutine rather than
		// run other code in the wrong namespace.
		runtime.Goexit()
	}
	if lerr != nil {
		t.Fatal(lerr)
	}
	return ln
}

func tcpFrame(t *testing.T, tcp *layers.TCP, payload []byte) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: ourMAC, DstMAC: peerMAC, EthernetType: layers.EthernetTypeIPv4}
	ip4 := &layers.IPv4{Version: 4, TTL: 64, Flags: layers.IPv4DontFragment, SrcIP: net.IP{10, 199, 10, 2}, DstIP: net.IP{10, 199, 10, 1}, Protocol: layers.IPProtocolTCP}
	tcp.SetNetworkLayerForChecksum(ip4)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip4, tcp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tcpOf(p *packet.Packet, sport uint16) (header.TCP, int, bool) {
	b := p.Bytes()
	if len(b) < 14+20+20 || binary.BigEndian.Uint16(b[12:]) != 0x0800 || b[14+9] != 6 {
		return nil, 0, false
	}
	l4 := 14 + int(b[14]&0x0f)*4
	tcp := header.TCP(b[l4:])
	if !tcp.IsValid() || tcp.SrcPort() != sport {
		return nil, 0, false
	}
	return tcp, len(b) - l4 - tcp.DataOffset(), true
}

// TestGSORead has a kernel in a network namespace send a TCP stream over a
// veth to the port: veth does TSO, so with PACKET_VNET_HDR the stream
// arrives as super-frames with their GSO state, which package gso cuts
// into segments whose checksums verify.
func TestGSORead(t *testing.T) {
	needRoot(t)
	netnsPeer(t, "hnt6", "hnt7", "hntns0")
	p := open(t, "hnt6", Options{})
	// A watchdog closes the port so that a read waiting for frames that
	// never come returns.
	defer time.AfterFunc(10*time.Second, func() { p.Close() }).Stop()
	ln := listenIn(t, "hntns0", "10.199.10.1:0")
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
		pkts[0].SetFrame(tcpFrame(t, tcp, nil))
		if _, err := p.WriteBatch(pkts); err != nil {
			t.Fatalf("WriteBatch: %v", err)
		}
	}
	const isn = 5000
	write(&layers.TCP{SrcPort: 40002, DstPort: layers.TCPPort(port), Seq: isn, SYN: true, Window: 65535,
		Options: []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
		}})
	pkts := batch(16)
	var next uint32
	deadline := time.Now().Add(5 * time.Second)
	for next == 0 && time.Now().Before(deadline) {
		n, err := p.ReadBatch(pkts)
		if err != nil {
			t.Fatal(err)
		}
		for _, pk := range pkts[:n] {
			if tcp, _, ok := tcpOf(pk, port); ok && tcp.Flags()&header.TCPFlagSYN != 0 {
				next = tcp.Seq() + 1
			}
		}
	}
	if next == 0 {
		t.Fatal("no SYN-ACK from the namespace")
	}
	write(&layers.TCP{SrcPort: 40002, DstPort: layers.TCPPort(port), Seq: isn + 1, Ack: next, ACK: true, Window: 65535})
	select {
	case c := <-accepted:
		if c == nil {
			t.Fatal("Accept failed")
		}
		defer c.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the listener accepted nothing")
	}
	pool := packet.NewPool()
	out := make([]*packet.Packet, 64)
	for time.Now().Before(deadline) {
		n, err := p.ReadBatch(pkts)
		if err != nil {
			t.Fatal(err)
		}
		for _, pk := range pkts[:n] {
			tcp, data, ok := tcpOf(pk, port)
			if !ok {
				continue
			}
			if end := tcp.Seq() + uint32(data); int32(end-next) > 0 {
				next = end
			}
			if pk.GSO.Type != gso.TypeTCPv4 {
				continue
			}
			k, err := gso.Segment(pk, 1500, out, pool)
			if err != nil {
				t.Fatalf("gso.Segment(super-frame of %d bytes, GSO %+v) = %v", pk.Len(), pk.GSO, err)
			}
			total := 0
			for _, q := range out[:k] {
				ip4 := header.IPv4(q.Bytes()[14:])
				seg := q.Bytes()[14+ip4.HeaderLen():]
				if !ip4.IsChecksumValid() || header.Checksum(seg, ip4.PseudoHeaderChecksum()) != 0xffff {
					t.Error("segment checksums do not verify")
				}
				total += len(seg) - header.TCP(seg).DataOffset()
				pool.Put(q)
			}
			if total != data {
				t.Errorf("segments carry %d bytes, the super-frame %d", total, data)
			}
			t.Logf("super-frame of %d bytes (GSO size %d) cut into %d segments", pk.Len(), pk.GSO.Size, k)
			return
		}
		write(&layers.TCP{SrcPort: 40002, DstPort: layers.TCPPort(port), Seq: isn + 1, Ack: next, ACK: true, Window: 65535})
	}
	t.Fatal("no TCP super-frame came through the veth")
}

// TestGSOWrite writes a TCPv4 super-frame with a partial checksum; the
// namespace's kernel takes it and answers it, for a closed port, with a
// RST whose sequence number is the super-frame's acknowledgment number.
func TestGSOWrite(t *testing.T) {
	needRoot(t)
	netnsPeer(t, "hnt8", "hnt9", "hntns1")
	p := open(t, "hnt8", Options{})
	defer time.AfterFunc(10*time.Second, func() { p.Close() }).Stop()
	const ackNum = 0x7777
	frame := tcpFrame(t, &layers.TCP{SrcPort: 40003, DstPort: 9, Seq: 1, Ack: ackNum, ACK: true, Window: 512}, make([]byte, 4000))
	l4 := 14 + 20
	ip4 := header.IPv4(frame[14:])
	binary.BigEndian.PutUint16(frame[l4+16:], ip4.PseudoHeaderChecksum())
	pkts := batch(1)
	pkts[0].SetFrame(frame)
	pkts[0].GSO = packet.GSO{Type: gso.TypeTCPv4, NeedsCsum: true, HdrLen: uint16(l4 + 20), Size: 1448, CsumStart: uint16(l4), CsumOffset: 16}
	if n, err := p.WriteBatch(pkts); n != 1 || err != nil {
		t.Fatalf("WriteBatch(super-frame) = %d, %v", n, err)
	}
	in := batch(8)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n, err := p.ReadBatch(in)
		if err != nil {
			t.Fatal(err)
		}
		for _, pk := range in[:n] {
			if tcp, _, ok := tcpOf(pk, 9); ok && tcp.Flags()&header.TCPFlagRST != 0 {
				if tcp.Seq() != ackNum {
					t.Errorf("RST seq = %#x, want %#x", tcp.Seq(), ackNum)
				}
				return
			}
		}
	}
	t.Fatal("no RST came back for the super-frame")
}
