//go:build !linux && !openbsd

package tap

import (
	"errors"
	"fmt"
	"io"

	"github.com/hostnet/hostnet/dataplane/packet"
)

// Tap is a TAP device; on this system there are none.
type Tap struct{ name string }

// Open fails: TAP devices are supported on Linux and OpenBSD only.
func Open(name string, opts Options) (*Tap, error) {
	return nil, fmt.Errorf("tap %s: %w", name, errors.ErrUnsupported)
}

// Name returns the device's name.
func (t *Tap) Name() string { return t.name }

// ReadBatch implements packet.Port.
func (t *Tap) ReadBatch(pkts []*packet.Packet) (int, error) { return 0, io.EOF }

// WriteBatch implements packet.Port.
func (t *Tap) WriteBatch(pkts []*packet.Packet) (int, error) {
	return 0, errors.ErrUnsupported
}

// Close implements packet.Port.
func (t *Tap) Close() error { return nil }

// Queue returns the device's queue i; on this system there are none and
// Open never returns a Tap.
func (t *Tap) Queue(i int) *Tap { return t }

// Create fails: TAP devices are supported on Linux and OpenBSD only.
func Create(name string, opts Options) (string, bool, error) {
	return "", false, fmt.Errorf("tap %s: %w", name, errors.ErrUnsupported)
}

// Delete fails: TAP devices are supported on Linux and OpenBSD only.
func Delete(name string) error {
	return fmt.Errorf("tap %s: %w", name, errors.ErrUnsupported)
}
