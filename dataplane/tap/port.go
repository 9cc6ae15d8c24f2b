//go:build linux || openbsd

package tap

import (
	"errors"
	"fmt"
	"io"

	"github.com/hostnet/hostnet/dataplane/packet"
)

// NumQueues returns the number of queues (1 on OpenBSD).
func (t *Tap) NumQueues() int { return len(t.queues) }

// Queue returns queue i.
func (t *Tap) Queue(i int) *Queue { return t.queues[i] }

// ReadBatch implements packet.Port on queue 0.
func (t *Tap) ReadBatch(pkts []*packet.Packet) (int, error) {
	if len(t.queues) == 0 {
		return 0, io.EOF
	}
	return t.queues[0].ReadBatch(pkts)
}

// WriteBatch implements packet.Port on queue 0.
func (t *Tap) WriteBatch(pkts []*packet.Packet) (int, error) {
	if len(t.queues) == 0 {
		return 0, fmt.Errorf("tap %s: closed", t.name)
	}
	return t.queues[0].WriteBatch(pkts)
}

// Close implements packet.Port: it closes every queue, unblocking their
// readers. A device that is not persistent goes away with its last
// queue; a persistent one stays (on OpenBSD, Remove destroys it).
func (t *Tap) Close() error {
	var errs []error
	for _, q := range t.queues {
		if err := q.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	t.queues = nil
	return errors.Join(errs...)
}
