package afpacket

import (
	"bytes"
	"os/exec"
	"testing"
	"time"

	"github.com/hostnet/hostnet/dataplane/tap"
)

// TestTapHypervisor is the setup for a real VM: a persistent tap made
// with tap.Create, a hypervisor holding its descriptor (played here by
// tap.Open), and hostnet on the tap's kernel side through a packet
// socket. When the hypervisor goes away the port keeps working (frames to
// it are dropped) and traffic flows again when it comes back.
func TestTapHypervisor(t *testing.T) {
	needRoot(t)
	exec.Command("ip", "link", "del", "hntap0").Run()
	t.Cleanup(func() { exec.Command("ip", "link", "del", "hntap0").Run() })
	if _, _, err := tap.Create("hntap0", tap.Options{}); err != nil {
		t.Fatal(err)
	}
	p := open(t, "hntap0", Options{})
	pkts := batch(1)

	for round := range 2 {
		vm, err := tap.Open("hntap0", tap.Options{NoVnetHdr: true})
		if err != nil {
			t.Fatalf("round %d: hypervisor attach: %v", round, err)
		}
		// hostnet -> VM. The kernel brings the tap's queue up a moment
		// after the hypervisor attaches (linkwatch); until then frames are
		// dropped, so hostnet sends until one arrives.
		stop := make(chan struct{})
		sent := make(chan struct{})
		go func() {
			defer close(sent)
			w := batch(1)
			w[0].SetFrame(frame(300, byte(round)))
			for {
				p.WriteBatch(w)
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
		timer := time.AfterFunc(5*time.Second, func() { vm.Close() })
		in := batch(8)
		for found := false; !found; {
			n, err := vm.ReadBatch(in)
			if err != nil {
				close(stop)
				t.Fatalf("round %d: the VM read nothing: %v", round, err)
			}
			for _, q := range in[:n] {
				found = found || bytes.Equal(q.Bytes(), frame(300, byte(round)))
			}
		}
		timer.Stop()
		close(stop)
		<-sent
		// VM -> hostnet
		pkts[0].SetFrame(frame(400, byte(round)))
		if _, err := vm.WriteBatch(pkts); err != nil {
			t.Fatalf("round %d: VM WriteBatch: %v", round, err)
		}
		if got := readTest(t, p, 1, 5*time.Second); len(got) != 1 || !bytes.Equal(got[0], frame(400, byte(round))) {
			t.Fatalf("round %d: hostnet read %d frames, want the VM's", round, len(got))
		}
		vm.Close()
		// The VM is gone: writes still succeed, the frames are dropped.
		pkts[0].SetFrame(frame(500, byte(round)))
		if _, err := p.WriteBatch(pkts); err != nil {
			t.Errorf("round %d: WriteBatch with the VM gone = %v, want nil", round, err)
		}
	}
}
