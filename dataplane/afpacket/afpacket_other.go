//go:build !linux

package afpacket

import (
	"errors"
	"fmt"
	"io"

	"github.com/hostnet/hostnet/dataplane/packet"
)

// ErrDeleted is wrapped by the error of a read on an interface that was
// deleted.
var ErrDeleted = errors.New("afpacket: interface deleted")

// Port is a host NIC; on this system there are none.
type Port struct{ name string }

// Open fails: AF_PACKET exists on Linux only.
func Open(ifname string, opts Options) (*Port, error) {
	return nil, fmt.Errorf("afpacket %s: %w", ifname, errors.ErrUnsupported)
}

// Name returns the interface name.
func (p *Port) Name() string { return p.name }

// ReadBatch implements packet.Port.
func (p *Port) ReadBatch(pkts []*packet.Packet) (int, error) { return 0, io.EOF }

// WriteBatch implements packet.Port.
func (p *Port) WriteBatch(pkts []*packet.Packet) (int, error) {
	return 0, errors.ErrUnsupported
}

// Close implements packet.Port.
func (p *Port) Close() error { return nil }
