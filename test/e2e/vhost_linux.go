package e2e

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/hostnet/hostnet/internal/netns"
)

// TaggedHost is an IPv4 host on one 802.1Q VLAN of a device, in user
// space: it answers ARP and ICMP echo for its address on frames tagged
// with its VID, and pings with tagged frames. The tests use it where a
// Linux VLAN device would do, because kernels without 8021q (as in some
// CI virtual machines) cannot make one.
//
// The kernel takes the tag off a received frame before a packet socket
// sees it and reports it in PACKET_AUXDATA, which is where TaggedHost
// reads it; the frames it sends carry the tag in their bytes.
type TaggedHost struct {
	t    testing.TB
	fd   int
	ifx  int
	mac  net.HardwareAddr
	addr netip.Addr
	vid  uint16

	mu        sync.Mutex
	neighbors map[netip.Addr]net.HardwareAddr
	replies   map[uint16]bool // echo sequence numbers answered
	stop      chan struct{}
	done      chan struct{}
}

// TaggedHost starts a host with address addr on VLAN vid of dev in ns. The
// test's cleanup stops it.
func (e *Env) TaggedHost(ns, dev string, vid int, addr string) *TaggedHost {
	e.t.Helper()
	fd, ifx, err := packetSocket(ns, dev)
	if err != nil {
		links, _ := exec.Command("ip", "-n", ns, "-br", "link").CombinedOutput()
		e.t.Fatalf("%s: tagged host on %s: %v; the namespace has:\n%s", ns, dev, err, links)
	}
	mac := make(net.HardwareAddr, 6)
	rand.Read(mac)
	mac[0] = mac[0]&^1 | 2 // unicast, locally administered
	h := &TaggedHost{t: e.t, fd: fd, ifx: ifx, mac: mac, addr: netip.MustParseAddr(addr), vid: uint16(vid),
		neighbors: map[netip.Addr]net.HardwareAddr{}, replies: map[uint16]bool{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go h.serve()
	e.t.Cleanup(h.Close)
	return h
}

// packetSocket opens an AF_PACKET socket on dev in namespace ns. A socket
// stays in the namespace it was made in, so only its making needs a
// thread in ns: the thread is locked while it is there, then set back.
func packetSocket(ns, dev string) (fd, ifx int, err error) {
	type result struct {
		fd, ifx int
		err     error
	}
	ch := make(chan result, 1)
	go func() {
		// The thread goes back to its own namespace and lives on: a
		// thread that exits kills the children it forked that asked for
		// Pdeathsig (the hostnet daemon the harness started), so it must
		// not be discarded.
		runtime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer self.Close()
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("setns: %w", err)}
			return
		}
		defer func() {
			if unix.Setns(int(self.Fd()), unix.CLONE_NEWNET) == nil {
				runtime.UnlockOSThread()
			}
			// Else the thread stays locked and is discarded: better a
			// dead daemon than a thread in the wrong namespace.
		}()
		// A device just moved into ns can take a moment to show there;
		// wait for it, bounded.
		var ifc *net.Interface
		for try := 0; ; try++ {
			if ifc, err = net.InterfaceByName(dev); err == nil || try == 30 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			ch <- result{err: err}
			return
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			ch <- result{err: err}
			return
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifc.Index}); err != nil {
			unix.Close(fd)
			ch <- result{err: err}
			return
		}
		unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1)
		tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		ch <- result{fd: fd, ifx: ifc.Index}
	}()
	r := <-ch
	return r.fd, r.ifx, r.err
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Close stops the host and closes its socket.
func (h *TaggedHost) Close() {
	select {
	case <-h.stop:
		return
	default:
	}
	close(h.stop)
	select {
	case <-h.done:
	case <-time.After(netns.StopTimeout):
	}
	unix.Close(h.fd)
}

// serve reads frames until Close.
func (h *TaggedHost) serve() {
	defer close(h.done)
	buf := make([]byte, 65536)
	oob := make([]byte, 256)
	for {
		select {
		case <-h.stop:
			return
		default:
		}
		n, oobn, _, _, err := unix.Recvmsg(h.fd, buf, oob, 0)
		if err != nil || n < 14 {
			continue
		}
		frame := buf[:n]
		vid, tagged := auxVID(oob[:oobn])
		if !tagged && binary.BigEndian.Uint16(frame[12:]) == 0x8100 && n >= 18 {
			// A kernel that leaves the tag in the frame.
			vid, tagged = binary.BigEndian.Uint16(frame[14:])&0x0fff, true
			copy(frame[4:], frame[:12])
			frame = frame[4:]
		}
		if !tagged || vid != h.vid {
			continue
		}
		h.input(frame)
	}
}

// auxVID returns the VID the kernel took off the frame, if any.
func auxVID(oob []byte) (uint16, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level != unix.SOL_PACKET || m.Header.Type != unix.PACKET_AUXDATA || len(m.Data) < int(unsafe.Sizeof(unix.TpacketAuxdata{})) {
			continue
		}
		aux := (*unix.TpacketAuxdata)(unsafe.Pointer(&m.Data[0]))
		if aux.Status&unix.TP_STATUS_VLAN_VALID != 0 {
			return aux.Vlan_tci & 0x0fff, true
		}
	}
	return 0, false
}

// input handles one untagged frame of h's VLAN.
func (h *TaggedHost) input(frame []byte) {
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.NoCopy)
	if arp, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP); ok {
		src, _ := netip.AddrFromSlice(arp.SourceProtAddress)
		dst, _ := netip.AddrFromSlice(arp.DstProtAddress)
		h.mu.Lock()
		h.neighbors[src] = append(net.HardwareAddr(nil), arp.SourceHwAddress...)
		h.mu.Unlock()
		if arp.Operation == layers.ARPRequest && dst == h.addr {
			h.send(net.HardwareAddr(arp.SourceHwAddress), &layers.ARP{
				AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
				Operation: layers.ARPReply, SourceHwAddress: h.mac, SourceProtAddress: h.addr.AsSlice(),
				DstHwAddress: arp.SourceHwAddress, DstProtAddress: arp.SourceProtAddress,
			}, layers.EthernetTypeARP)
		}
		return
	}
	ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if !ok {
		return
	}
	icmp, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if !ok || netip.AddrFrom4([4]byte(ip.DstIP.To4())) != h.addr {
		return
	}
	eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	switch icmp.TypeCode.Type() {
	case layers.ICMPv4TypeEchoRequest:
		h.sendIP(eth.SrcMAC, ip.SrcIP, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoReply, 0), Id: icmp.Id, Seq: icmp.Seq}, icmp.Payload)
	case layers.ICMPv4TypeEchoReply:
		h.mu.Lock()
		h.replies[icmp.Seq] = true
		h.mu.Unlock()
	}
}

// send writes one tagged frame to dst carrying l.
func (h *TaggedHost) send(dst net.HardwareAddr, l gopacket.SerializableLayer, et layers.EthernetType, more ...gopacket.SerializableLayer) {
	buf := gopacket.NewSerializeBuffer()
	ls := append([]gopacket.SerializableLayer{
		&layers.Ethernet{SrcMAC: h.mac, DstMAC: dst, EthernetType: layers.EthernetTypeDot1Q},
		&layers.Dot1Q{VLANIdentifier: h.vid, Type: et},
		l,
	}, more...)
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		return
	}
	frame := buf.Bytes()
	if len(frame) < 64 {
		frame = append(frame, make([]byte, 64-len(frame))...)
	}
	unix.Sendto(h.fd, frame, 0, &unix.SockaddrLinklayer{Ifindex: h.ifx, Halen: 6, Addr: [8]byte(append(dst[:6:6], 0, 0))})
}

func (h *TaggedHost) sendIP(dst net.HardwareAddr, to net.IP, icmp *layers.ICMPv4, payload []byte) {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: h.addr.AsSlice(), DstIP: to}
	h.send(dst, ip, layers.EthernetTypeIPv4, icmp, gopacket.Payload(payload))
}

// Ping reports whether dst answers an ICMP echo on h's VLAN within
// timeout, resolving it with ARP first.
func (h *TaggedHost) Ping(dst string, timeout time.Duration) bool {
	to := netip.MustParseAddr(dst)
	bcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	deadline := time.Now().Add(timeout)
	var seq uint16
	for time.Now().Before(deadline) {
		h.mu.Lock()
		mac := h.neighbors[to]
		h.mu.Unlock()
		if mac == nil {
			h.send(bcast, &layers.ARP{
				AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
				Operation: layers.ARPRequest, SourceHwAddress: h.mac, SourceProtAddress: h.addr.AsSlice(),
				DstHwAddress: make([]byte, 6), DstProtAddress: to.AsSlice(),
			}, layers.EthernetTypeARP)
		} else {
			seq++
			payload := make([]byte, 32)
			binary.BigEndian.PutUint64(payload, uint64(time.Now().UnixNano()))
			h.sendIP(mac, to.AsSlice(), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 0x4e45, Seq: seq}, payload)
		}
		for range 10 {
			time.Sleep(20 * time.Millisecond)
			h.mu.Lock()
			got := h.replies[seq]
			h.mu.Unlock()
			if seq > 0 && got {
				return true
			}
		}
	}
	return false
}
