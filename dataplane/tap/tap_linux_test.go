package tap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/afpacket"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/test/porttest"
)

// needTun skips the test unless it can make tap devices; in CI, which runs
// as root, it fails instead, so that nothing is skipped forever.
func needTun(t *testing.T) {
	t.Helper()
	reason := ""
	if os.Geteuid() != 0 {
		reason = "needs root (CAP_NET_ADMIN)"
	} else if _, err := os.Stat("/dev/net/tun"); err != nil {
		reason = "needs /dev/net/tun: " + err.Error()
	} else if _, err := exec.LookPath("ip"); err != nil {
		reason = "needs ip(8) from iproute2"
	}
	if reason == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(reason)
	}
	t.Skip(reason)
}

// ip runs ip(8) and fails the test on error.
func ip(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// openTest opens a tap named name for the test, deleting a leftover of the
// same name first, and closes it and deletes it by name at cleanup.
func openTest(t *testing.T, name string, opts Options) *Tap {
	t.Helper()
	exec.Command("ip", "link", "del", name).Run()
	tp, err := Open(name, opts)
	if err != nil {
		t.Fatalf("Open(%q) = %v", name, err)
	}
	t.Cleanup(func() {
		tp.Close()
		exec.Command("ip", "link", "del", name).Run()
	})
	return tp
}

// checkLeaks fails the test if goroutines started during it are still
// running at cleanup.
func checkLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			t.Errorf("%d goroutines leaked", n-before)
		}
	})
}

func batch(n int) []*packet.Packet {
	pkts := make([]*packet.Packet, n)
	for i := range pkts {
		pkts[i] = packet.New()
	}
	return pkts
}

// readUntil reads from tp until match accepts a frame or the timeout
// passes; it returns the matching packet or nil. Reading happens in a
// goroutine that Close ends.
func readUntil(t *testing.T, tp *Tap, timeout time.Duration, match func(p *packet.Packet) bool) *packet.Packet {
	t.Helper()
	found := make(chan *packet.Packet, 1)
	go func() {
		pkts := batch(8)
		for {
			n, err := tp.ReadBatch(pkts)
			if err != nil {
				found <- nil
				return
			}
			for _, p := range pkts[:n] {
				if match(p) {
					q := packet.New()
					q.CopyFrom(p)
					found <- q
					return
				}
			}
		}
	}()
	select {
	case p := <-found:
		return p
	case <-time.After(timeout):
		tp.Close() // ends the reader
		<-found
		return nil
	}
}

func TestOpen(t *testing.T) {
	needTun(t)
	tp := openTest(t, "hntest0", Options{MTU: 1400})
	if tp.Name() != "hntest0" || tp.Existed() || tp.Persistent() || !tp.VnetHdr() || tp.NumQueues() != 1 {
		t.Errorf("Open = name %q existed %v persistent %v vnet %v queues %d, want hntest0 false false true 1",
			tp.Name(), tp.Existed(), tp.Persistent(), tp.VnetHdr(), tp.NumQueues())
	}
	if o := tp.Offloads(); !o.Has(OffloadCsum | OffloadTSO4 | OffloadTSO6) {
		t.Errorf("Offloads() = %v, want at least csum,tso4,tso6", o)
	}
	ifi, err := net.InterfaceByName("hntest0")
	if err != nil {
		t.Fatal(err)
	}
	if ifi.MTU != 1400 || ifi.Flags&net.FlagUp == 0 {
		t.Errorf("interface: mtu %d flags %v, want 1400 and up", ifi.MTU, ifi.Flags)
	}
	if err := tp.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	// A tap that Open made and did not make persistent goes with Close.
	if waitGone("hntest0") != nil {
		t.Error("hntest0 still exists after Close")
	}
	if n, err := tp.ReadBatch(batch(1)); n != 0 || err != io.EOF {
		t.Errorf("ReadBatch after Close = %d, %v, want EOF", n, err)
	}
}

// waitGone waits for the interface to disappear and returns it if it does
// not.
func waitGone(name string) *net.Interface {
	for range 100 {
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			return nil
		}
		if ifi == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	ifi, _ := net.InterfaceByName(name)
	return ifi
}

func TestAutoName(t *testing.T) {
	needTun(t)
	tp, err := Open("", Options{})
	if err != nil {
		t.Fatalf(`Open("") = %v`, err)
	}
	name := tp.Name()
	t.Cleanup(func() { tp.Close(); exec.Command("ip", "link", "del", name).Run() })
	if !strings.HasPrefix(name, "tap") || name == "tap%d" {
		t.Errorf(`Open("").Name() = %q, want tapN`, name)
	}
}

func TestPersist(t *testing.T) {
	needTun(t)
	tp := openTest(t, "hntest1", Options{Persist: true})
	if !tp.Persistent() || tp.Existed() {
		t.Fatalf("Persistent, Existed = %v, %v, want true, false", tp.Persistent(), tp.Existed())
	}
	tp.Close()
	if _, err := net.InterfaceByName("hntest1"); err != nil {
		t.Fatalf("persistent tap gone after Close: %v", err)
	}
	again, err := Open("hntest1", Options{})
	if err != nil {
		t.Fatalf("Open(existing persistent) = %v", err)
	}
	if !again.Existed() || !again.Persistent() {
		t.Errorf("reopened: Existed, Persistent = %v, %v, want true, true", again.Existed(), again.Persistent())
	}
	if err := again.Remove(); err != nil {
		t.Fatalf("Remove() = %v", err)
	}
	if waitGone("hntest1") != nil {
		t.Error("hntest1 still exists after Remove")
	}
}

func TestMultiQueue(t *testing.T) {
	needTun(t)
	tp := openTest(t, "hntest2", Options{Queues: 2})
	if tp.NumQueues() != 2 {
		t.Fatalf("NumQueues() = %d, want 2", tp.NumQueues())
	}
	out := ip(t, "-d", "link", "show", "hntest2")
	if !strings.Contains(out, "multi_queue") {
		t.Errorf("ip -d link show: %s, want multi_queue", out)
	}
}

func TestCloseUnblocksReader(t *testing.T) {
	needTun(t)
	checkLeaks(t)
	tp := openTest(t, "hntest3", Options{})
	if err := porttest.BlockedRead(t, tp, func() { tp.Close() }); err != io.EOF {
		t.Errorf("ReadBatch after Close = %v, want EOF", err)
	}
}

func TestDeletedFromOutside(t *testing.T) {
	needTun(t)
	checkLeaks(t)
	tp := openTest(t, "hntest4", Options{})
	done := make(chan error, 1)
	go func() {
		pkts := batch(4)
		for {
			if _, err := tp.ReadBatch(pkts); err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	ip(t, "link", "del", "hntest4")
	select {
	case err := <-done:
		if !errors.Is(err, ErrDeleted) {
			t.Errorf("ReadBatch on a deleted tap = %v, want ErrDeleted", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("deleting the tap did not unblock ReadBatch")
	}
	p := batch(1)
	p[0].SetFrame(make([]byte, 60))
	if _, err := tp.WriteBatch(p); !errors.Is(err, ErrDeleted) {
		t.Errorf("WriteBatch on a deleted tap = %v, want ErrDeleted", err)
	}
}

func TestWriteDown(t *testing.T) {
	needTun(t)
	tp := openTest(t, "hntest5", Options{})
	ip(t, "link", "set", "hntest5", "down")
	p := batch(1)
	p[0].SetFrame(make([]byte, 60))
	if _, err := tp.WriteBatch(p); !errors.Is(err, errEIO) {
		t.Errorf("WriteBatch on a down tap = %v, want EIO", err)
	}
}

var (
	vmMAC  = net.HardwareAddr{0x02, 0, 0, 0, 0x99, 0x02}
	errEIO = syscall.EIO
)

// TestARP has the kernel resolve an address behind the tap: its ARP
// request comes out of ReadBatch, the reply goes in through WriteBatch, and
// the kernel's neighbour table then holds the MAC.
func TestARP(t *testing.T) {
	needTun(t)
	tp := openTest(t, "hntest6", Options{})
	ip(t, "addr", "add", "10.199.6.1/24", "dev", "hntest6")

	// Any datagram to a neighbour makes the kernel ARP for it.
	c, err := net.Dial("udp4", "10.199.6.2:9")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		for range 20 {
			if _, err := c.Write([]byte("x")); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	req := readUntil(t, tp, 5*time.Second, func(p *packet.Packet) bool {
		b := p.Bytes()
		return len(b) >= 42 && binary.BigEndian.Uint16(b[12:]) == 0x0806 &&
			binary.BigEndian.Uint16(b[20:]) == 1 && bytes.Equal(b[38:42], []byte{10, 199, 6, 2})
	})
	if req == nil {
		t.Fatal("no ARP request for 10.199.6.2 came out of the tap")
	}
	b := req.Bytes()
	kernelMAC := net.HardwareAddr(append([]byte(nil), b[6:12]...))

	eth := &layers.Ethernet{SrcMAC: vmMAC, DstMAC: kernelMAC, EthernetType: layers.EthernetTypeARP}
	arp := &layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPReply,
		SourceHwAddress: vmMAC, SourceProtAddress: []byte{10, 199, 6, 2},
		DstHwAddress: kernelMAC, DstProtAddress: []byte{10, 199, 6, 1},
	}
	reply := serialize(t, eth, arp)
	pkts := batch(1)
	pkts[0].SetFrame(reply)
	if n, err := tp.WriteBatch(pkts); n != 1 || err != nil {
		t.Fatalf("WriteBatch(ARP reply) = %d, %v", n, err)
	}
	if !bytes.Equal(pkts[0].Bytes(), reply) || pkts[0].Headroom() != packet.Headroom {
		t.Error("WriteBatch changed the packet it borrowed")
	}
	var neigh string
	for range 100 {
		neigh = ip(t, "neigh", "show", "10.199.6.2", "dev", "hntest6")
		if strings.Contains(neigh, vmMAC.String()) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("ip neigh show 10.199.6.2: %q, want lladdr %s", neigh, vmMAC)
}

func serialize(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCreateDelete(t *testing.T) {
	needTun(t)
	exec.Command("ip", "link", "del", "hntest9").Run()
	t.Cleanup(func() { exec.Command("ip", "link", "del", "hntest9").Run() })
	name, existed, err := Create("hntest9", Options{MTU: 9000})
	if name != "hntest9" || existed || err != nil {
		t.Fatalf(`Create("hntest9") = %q, %v, %v, want hntest9, false, nil`, name, existed, err)
	}
	ifi, err := net.InterfaceByName("hntest9")
	if err != nil {
		t.Fatalf("created tap is gone: %v", err)
	}
	if ifi.MTU != 9000 || ifi.Flags&net.FlagUp == 0 {
		t.Errorf("created tap: mtu %d flags %v, want 9000 and up", ifi.MTU, ifi.Flags)
	}
	if _, existed, err := Create("hntest9", Options{}); !existed || err != nil {
		t.Errorf("Create again = existed %v, %v, want true, nil", existed, err)
	}
	// A hypervisor attached: Delete fails and the device stays.
	vm, err := Open("hntest9", Options{})
	if err != nil {
		t.Fatalf("attaching as the hypervisor: %v", err)
	}
	if err := Delete("hntest9"); err == nil {
		t.Error("Delete while attached succeeded")
	}
	vm.Close()
	if err := Delete("hntest9"); err != nil {
		t.Fatalf("Delete() = %v", err)
	}
	if waitGone("hntest9") != nil {
		t.Error("hntest9 still exists after Delete")
	}
}

var sinkN int

// TestNoAllocs feeds the tap from its kernel side through a packet socket
// (package afpacket) and checks that the queue's reads and writes do not
// allocate.
func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are unreliable under the race detector")
	}
	needTun(t)
	tp := openTest(t, "hntest10", Options{})
	os.WriteFile("/proc/sys/net/ipv6/conf/hntest10/disable_ipv6", []byte("1"), 0)
	kernel, err := afpacket.Open("hntest10", afpacket.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer kernel.Close()
	out := batch(4)
	for i, p := range out {
		f := make([]byte, 1514)
		copy(f, []byte{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x02, 0x11, 0x22, 0x33, 0x44, byte(i), 0x88, 0xb5})
		p.SetFrame(f)
	}
	in := batch(4)
	kernel.WriteBatch(out)
	tp.ReadBatch(in)
	tests := []struct {
		name string
		fn   func()
	}{
		{"ReadBatch", func() { kernel.WriteBatch(out); sinkN, _ = tp.ReadBatch(in) }},
		{"WriteBatch", func() { sinkN, _ = tp.WriteBatch(out) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(200, tc.fn); n != 0 {
				t.Errorf("allocs = %v, want 0", n)
			}
		})
	}
}

// TestNamespace moves the tap's device into a network namespace, where a
// kernel plays the VM: an ARP request written to the tap is answered from
// inside, and destroying the namespace destroys the device, which the
// reader sees as ErrDeleted.
func TestNamespace(t *testing.T) {
	needTun(t)
	const ns = "hntns2"
	exec.Command("ip", "netns", "del", ns).Run()
	ip(t, "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	tp := openTest(t, "hntest11", Options{})
	ip(t, "link", "set", "hntest11", "netns", ns)
	ip(t, "-n", ns, "addr", "add", "10.199.11.1/24", "dev", "hntest11")
	ip(t, "-n", ns, "link", "set", "hntest11", "up")

	bcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	eth := &layers.Ethernet{SrcMAC: vmMAC, DstMAC: bcast, EthernetType: layers.EthernetTypeARP}
	arp := &layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPRequest,
		SourceHwAddress: vmMAC, SourceProtAddress: []byte{10, 199, 11, 2},
		DstHwAddress: make([]byte, 6), DstProtAddress: []byte{10, 199, 11, 1},
	}
	pkts := batch(1)
	pkts[0].SetFrame(serialize(t, eth, arp))
	if _, err := tp.WriteBatch(pkts); err != nil {
		t.Fatalf("WriteBatch(ARP request) = %v", err)
	}
	reply := readUntil(t, tp, 5*time.Second, func(p *packet.Packet) bool {
		b := p.Bytes()
		return len(b) >= 42 && binary.BigEndian.Uint16(b[12:]) == 0x0806 &&
			binary.BigEndian.Uint16(b[20:]) == 2 && bytes.Equal(b[28:32], []byte{10, 199, 11, 1})
	})
	if reply == nil {
		t.Fatal("no ARP reply from the namespace")
	}
	if got := net.HardwareAddr(reply.Bytes()[0:6]); got.String() != vmMAC.String() {
		t.Errorf("ARP reply to %s, want %s", got, vmMAC)
	}

	done := make(chan error, 1)
	go func() {
		in := batch(4)
		for {
			if _, err := tp.ReadBatch(in); err != nil {
				done <- err
				return
			}
		}
	}()
	ip(t, "netns", "del", ns)
	select {
	case err := <-done:
		if !errors.Is(err, ErrDeleted) {
			t.Errorf("ReadBatch after the namespace went = %v, want ErrDeleted", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("destroying the namespace did not unblock ReadBatch")
	}
}
