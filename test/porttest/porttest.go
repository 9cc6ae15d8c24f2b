// Package porttest holds checks every packet.Port backend's tests share.
// Only _test.go files import it.
package porttest

import (
	"testing"
	"time"

	"github.com/hostnet/hostnet/dataplane/packet"
)

// BlockedRead starts a reader that calls p.ReadBatch until it fails, lets
// it block, calls unblock (Close, deleting the device), and returns the
// error the reader got. It fails the test if the reader is still blocked
// 5 seconds later.
func BlockedRead(t *testing.T, p packet.Port, unblock func()) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		pkts := make([]*packet.Packet, 4)
		for i := range pkts {
			pkts[i] = packet.New()
		}
		for {
			if _, err := p.ReadBatch(pkts); err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	unblock()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("ReadBatch stayed blocked")
		return nil
	}
}
