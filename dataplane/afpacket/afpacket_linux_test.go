package afpacket

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/test/porttest"
)

// needRoot skips the test unless it can make veth pairs and packet
// sockets; in CI, which runs as root, it fails instead.
func needRoot(t *testing.T) {
	t.Helper()
	reason := ""
	if os.Geteuid() != 0 {
		reason = "needs root (CAP_NET_ADMIN, CAP_NET_RAW)"
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

func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// veth creates the veth pair a <-> b, up, with IPv6 off so that the kernel
// sends nothing of its own, and deletes it by name at cleanup.
func veth(t *testing.T, a, b string) {
	t.Helper()
	exec.Command("ip", "link", "del", a).Run()
	ip(t, "link", "add", a, "type", "veth", "peer", "name", b)
	t.Cleanup(func() { exec.Command("ip", "link", "del", a).Run() })
	for _, n := range []string{a, b} {
		os.WriteFile("/proc/sys/net/ipv6/conf/"+n+"/disable_ipv6", []byte("1"), 0)
		ip(t, "link", "set", n, "up")
	}
	waitUp(t, a)
	waitUp(t, b)
}

// waitUp waits until the kernel has the link up (operstate "up"): until
// then its queue discipline drops what is sent.
func waitUp(t testing.TB, name string) {
	t.Helper()
	var state []byte
	for range 500 {
		state, _ = os.ReadFile("/sys/class/net/" + name + "/operstate")
		if strings.TrimSpace(string(state)) == "up" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s operstate %q, want up", name, state)
}

func open(t *testing.T, name string, opts Options) *Port {
	t.Helper()
	p, err := Open(name, opts)
	if err != nil {
		t.Fatalf("Open(%q) = %v", name, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func batch(n int) []*packet.Packet {
	pkts := make([]*packet.Packet, n)
	for i := range pkts {
		pkts[i] = packet.New()
	}
	return pkts
}

// testType is the IEEE local experimental EtherType: frames of this type
// are the test's own.
const testType = 0x88b5

// frame returns a test frame of n bytes to a MAC that is not the
// receiver's, so that only promiscuous mode lets it in, with tag in its
// payload.
func frame(n int, tag byte) []byte {
	b := make([]byte, n)
	copy(b, []byte{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55})
	binary.BigEndian.PutUint16(b[12:], testType)
	for i := 14; i < n; i++ {
		b[i] = tag
	}
	return b
}

// readTest reads frames of testType from p until want have come or the
// timeout passes.
func readTest(t *testing.T, p *Port, want int, timeout time.Duration) [][]byte {
	t.Helper()
	got := make(chan [][]byte, 1)
	go func() {
		var frames [][]byte
		pkts := batch(8)
		for len(frames) < want {
			n, err := p.ReadBatch(pkts)
			if err != nil {
				break
			}
			for _, pk := range pkts[:n] {
				if b := pk.Bytes(); len(b) >= 14 && binary.BigEndian.Uint16(b[12:]) == testType {
					frames = append(frames, append([]byte(nil), b...))
				}
			}
		}
		got <- frames
	}()
	select {
	case f := <-got:
		return f
	case <-time.After(timeout):
		p.Close()
		return <-got
	}
}

func TestOpenMissing(t *testing.T) {
	_, err := Open("hnt-missing0", Options{})
	if err == nil || !strings.Contains(err.Error(), "hnt-missing0") {
		t.Fatalf("Open(missing) = %v, want an error naming it", err)
	}
}

func TestExchange(t *testing.T) {
	needRoot(t)
	veth(t, "hnt0", "hnt1")
	a := open(t, "hnt0", Options{})
	b := open(t, "hnt1", Options{NoVnetHdr: true})
	if !a.VnetHdr() || b.VnetHdr() {
		t.Errorf("VnetHdr() = %v, %v, want true, false", a.VnetHdr(), b.VnetHdr())
	}
	flags, err := os.ReadFile("/sys/class/net/hnt0/flags")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := strconv.ParseUint(strings.TrimSpace(string(flags)), 0, 32); v&0x100 == 0 {
		t.Errorf("hnt0 flags %s: IFF_PROMISC not set", flags)
	}

	sizes := []int{60, 64, 512, 1514, 61}
	pkts := batch(len(sizes))
	for i, n := range sizes {
		pkts[i].SetFrame(frame(n, byte(i)))
	}
	if n, err := b.WriteBatch(pkts); n != len(pkts) || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	got := readTest(t, a, len(sizes), 5*time.Second)
	if len(got) != len(sizes) {
		t.Fatalf("read %d frames, want %d", len(got), len(sizes))
	}
	for i, n := range sizes {
		if !bytes.Equal(got[i], frame(n, byte(i))) {
			t.Errorf("frame %d = % x, want the %d bytes written", i, got[i], n)
		}
	}

	// The other way, from the vnet-header side; a's socket must not read
	// its own frame back (PACKET_IGNORE_OUTGOING): the first test frame it
	// sees is the marker b sends after.
	pkts[0].SetFrame(frame(100, 0x77))
	if n, err := a.WriteBatch(pkts[:1]); n != 1 || err != nil {
		t.Fatalf("WriteBatch from hnt0 = %d, %v", n, err)
	}
	if got := readTest(t, b, 1, 5*time.Second); len(got) != 1 || !bytes.Equal(got[0], frame(100, 0x77)) {
		t.Fatalf("hnt1 read %d frames, want the one hnt0 wrote", len(got))
	}
	pkts[0].SetFrame(frame(80, 0x55))
	b.WriteBatch(pkts[:1])
	if got := readTest(t, a, 1, 5*time.Second); len(got) != 1 || !bytes.Equal(got[0], frame(80, 0x55)) {
		t.Errorf("hnt0 read %x first, want the marker from hnt1 (own frames must be ignored)", got)
	}
}

// TestBatch checks that frames waiting on the socket come in one
// ReadBatch (one recvmmsg).
func TestBatch(t *testing.T) {
	needRoot(t)
	veth(t, "hnt2", "hnt3")
	a := open(t, "hnt2", Options{})
	b := open(t, "hnt3", Options{})
	pkts := batch(6)
	for i, pk := range pkts {
		pk.SetFrame(frame(200, byte(i)))
	}
	if n, err := b.WriteBatch(pkts); n != 6 || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	time.Sleep(100 * time.Millisecond)
	in := batch(16)
	n, err := a.ReadBatch(in)
	if err != nil || n != 6 {
		t.Fatalf("ReadBatch = %d, %v, want the 6 waiting frames at once", n, err)
	}
	for i, pk := range in[:n] {
		if !bytes.Equal(pk.Bytes(), frame(200, byte(i))) {
			t.Errorf("frame %d differs", i)
		}
		if pk.Headroom() != packet.Headroom {
			t.Errorf("frame %d: headroom %d, want %d", i, pk.Headroom(), packet.Headroom)
		}
	}
}

func TestCloseUnblocks(t *testing.T) {
	needRoot(t)
	before := runtime.NumGoroutine()
	veth(t, "hnt4", "hnt5")
	a, err := Open("hnt4", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := porttest.BlockedRead(t, a, func() { a.Close() }); err != io.EOF {
		t.Errorf("ReadBatch after Close = %v, want EOF", err)
	}
	for range 100 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("%d goroutines leaked", runtime.NumGoroutine()-before)
}

// TestDeletedFromOutside deletes the interface under a blocked reader:
// ReadBatch returns an error (not io.EOF, not a hang).
func TestDeletedFromOutside(t *testing.T) {
	needRoot(t)
	veth(t, "hnt10", "hnt11")
	a := open(t, "hnt10", Options{})
	err := porttest.BlockedRead(t, a, func() { ip(t, "link", "del", "hnt10") })
	if !errors.Is(err, ErrDeleted) || !strings.Contains(err.Error(), "hnt10") {
		t.Errorf("ReadBatch on a deleted interface = %v, want ErrDeleted naming it", err)
	}
}

// TestDownUp takes the interface down and up under a reader: the reader
// keeps waiting and gets the frames sent after.
func TestDownUp(t *testing.T) {
	needRoot(t)
	veth(t, "hnt12", "hnt13")
	a := open(t, "hnt12", Options{})
	b := open(t, "hnt13", Options{})
	got := make(chan [][]byte, 1)
	go func() { got <- readTest(t, a, 1, 10*time.Second) }()
	time.Sleep(50 * time.Millisecond)
	ip(t, "link", "set", "hnt12", "down")
	pkts := batch(1)
	pkts[0].SetFrame(frame(60, 1))
	if _, err := a.WriteBatch(pkts); !errors.Is(err, unix.ENETDOWN) {
		t.Errorf("WriteBatch on a down interface = %v, want ENETDOWN", err)
	}
	time.Sleep(50 * time.Millisecond)
	ip(t, "link", "set", "hnt12", "up")
	time.Sleep(50 * time.Millisecond)
	pkts[0].SetFrame(frame(60, 2))
	if _, err := b.WriteBatch(pkts); err != nil {
		t.Fatal(err)
	}
	if f := <-got; len(f) != 1 || !bytes.Equal(f[0], frame(60, 2)) {
		t.Errorf("read after down and up: %x, want the frame sent after", f)
	}
}

var sinkN int

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are unreliable under the race detector")
	}
	needRoot(t)
	veth(t, "hnt14", "hnt15")
	a := open(t, "hnt14", Options{})
	b := open(t, "hnt15", Options{})
	out := batch(4)
	for i, pk := range out {
		pk.SetFrame(frame(1514, byte(i)))
	}
	// Tagged frames: the kernel takes the tag off and the read puts it
	// back from the control message, still without allocating.
	outTagged := batch(4)
	for i, pk := range outTagged {
		pk.SetFrame(tagged(frame(1514, byte(i)), [2]uint16{0x8100, 10}))
	}
	in := batch(4)
	b.WriteBatch(out) // grow the message arrays
	a.ReadBatch(in)
	tests := []struct {
		name string
		fn   func()
	}{
		{"WriteBatch+ReadBatch", func() { b.WriteBatch(out); sinkN, _ = a.ReadBatch(in) }},
		{"tagged WriteBatch+ReadBatch", func() { b.WriteBatch(outTagged); sinkN, _ = a.ReadBatch(in) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(200, tc.fn); n != 0 {
				t.Errorf("allocs = %v, want 0", n)
			}
		})
	}
}

// BenchmarkVeth sends batches of 32 frames across a veth pair and reads
// them back: the cost of sendmmsg and recvmmsg per batch.
func BenchmarkVeth(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	exec.Command("ip", "link", "del", "hnt16").Run()
	if err := exec.Command("ip", "link", "add", "hnt16", "type", "veth", "peer", "name", "hnt17").Run(); err != nil {
		b.Fatal(err)
	}
	defer exec.Command("ip", "link", "del", "hnt16").Run()
	for _, n := range []string{"hnt16", "hnt17"} {
		os.WriteFile("/proc/sys/net/ipv6/conf/"+n+"/disable_ipv6", []byte("1"), 0)
		exec.Command("ip", "link", "set", n, "up").Run()
	}
	waitUp(b, "hnt16")
	waitUp(b, "hnt17")
	for _, size := range []int{64, 1500} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			rx, err := Open("hnt16", Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer rx.Close()
			tx, err := Open("hnt17", Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer tx.Close()
			out := batch(32)
			for _, pk := range out {
				pk.SetFrame(frame(size, 1))
			}
			in := batch(32)
			b.ReportAllocs()
			b.SetBytes(int64(size) * int64(len(out)))
			for b.Loop() {
				tx.WriteBatch(out)
				for got := 0; got < len(out); {
					n, err := rx.ReadBatch(in)
					if err != nil {
						b.Fatal(err)
					}
					got += n
				}
			}
		})
	}
}
