//go:build linux || openbsd

package tap

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/hostnet/hostnet/dataplane/packet"
	"golang.org/x/sys/unix"
)

// Queue is one queue of a tap: a file descriptor with its own reader. It
// implements packet.Port and is used by one reader and one writer
// goroutine at a time.
type Queue struct {
	name string
	f    *os.File
	rc   syscall.RawConn
	vnet bool

	closed atomic.Bool // set by Close before the file is closed

	// Read state, owned by the reader: the batch being filled and how far.
	// The callback is made once so that ReadBatch does not allocate.
	rpkts  []*packet.Packet
	rn     int
	rerr   error
	readFn func(fd uintptr) bool

	// Write state, owned by the writer.
	wpkts   []*packet.Packet
	wn      int
	werr    error
	writeFn func(fd uintptr) bool
	scratch []byte // for a packet with no headroom left for the header
}

// newQueue wraps fd, which must be non-blocking, in the Go netpoller.
func newQueue(name string, fd int, vnet bool) (*Queue, error) {
	f := os.NewFile(uintptr(fd), "tap "+name)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("tap %s: %w", name, err)
	}
	q := &Queue{name: name, f: f, rc: rc, vnet: vnet}
	q.readFn = q.read
	q.writeFn = q.write
	return q, nil
}

// ReadBatch implements packet.Port. It blocks until a frame comes, then
// takes what else is waiting, up to len(pkts), without blocking. It does
// not allocate. See the package doc for a tap that is down or deleted.
func (q *Queue) ReadBatch(pkts []*packet.Packet) (int, error) {
	if len(pkts) == 0 {
		return 0, nil
	}
	q.rpkts, q.rn, q.rerr = pkts, 0, nil
	err := q.rc.Read(q.readFn)
	n, rerr := q.rn, q.rerr
	q.rpkts = nil
	if err != nil {
		// RawConn returns the poller's own "use of closed file" error,
		// which is not os.ErrClosed.
		if q.closed.Load() || errors.Is(err, os.ErrClosed) {
			return n, io.EOF
		}
		return n, fmt.Errorf("tap %s: read: %w", q.name, err)
	}
	if rerr != nil && n == 0 {
		return 0, q.ioError("read", rerr)
	}
	return n, nil
}

// read is the RawConn callback of ReadBatch: it reports false to wait for
// the descriptor to become readable, true when done.
func (q *Queue) read(fd uintptr) bool {
	for q.rn < len(q.rpkts) {
		p := q.rpkts[q.rn]
		p.Reset()
		if q.vnet {
			p.Push(vnetHdrLen) // into the headroom of a Reset packet: cannot fail
		}
		n, err := unix.Read(int(fd), p.Space())
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return q.rn > 0
		case err != nil:
			q.rerr = err
			return true
		}
		if q.vnet {
			// The length comes from the kernel; a record shorter than its
			// header is skipped rather than trusted.
			if n < vnetHdrLen {
				continue
			}
			p.SetLen(n)
			decodeVnet(p.Bytes(), &p.GSO)
			p.Pull(vnetHdrLen)
		} else {
			p.SetLen(n)
		}
		q.rn++
	}
	return true
}

// WriteBatch implements packet.Port. It borrows the packets: each frame
// goes out with a virtio-net header made from its GSO, pushed into its
// headroom and pulled off again, so super-frames and partial checksums
// reach the kernel as they are. On a queue without the header (OpenBSD,
// Options.NoVnetHdr) the caller finishes frames first (package gso). It
// does not allocate.
func (q *Queue) WriteBatch(pkts []*packet.Packet) (int, error) {
	if len(pkts) == 0 {
		return 0, nil
	}
	q.wpkts, q.wn, q.werr = pkts, 0, nil
	err := q.rc.Write(q.writeFn)
	n, werr := q.wn, q.werr
	q.wpkts = nil
	if err != nil {
		if q.closed.Load() || errors.Is(err, os.ErrClosed) {
			return n, fmt.Errorf("tap %s: write: %w", q.name, os.ErrClosed)
		}
		return n, fmt.Errorf("tap %s: write: %w", q.name, err)
	}
	if werr != nil {
		return n, q.ioError("write", werr)
	}
	return n, nil
}

func (q *Queue) write(fd uintptr) bool {
	for q.wn < len(q.wpkts) {
		p := q.wpkts[q.wn]
		b := p.Bytes()
		pushed := false
		if q.vnet {
			if h, ok := p.Push(vnetHdrLen); ok {
				encodeVnet(h, &p.GSO)
				b, pushed = h, true
			} else {
				if q.scratch == nil {
					q.scratch = make([]byte, vnetHdrLen+packet.MaxFrame)
				}
				encodeVnet(q.scratch, &p.GSO)
				b = q.scratch[:vnetHdrLen+copy(q.scratch[vnetHdrLen:], b)]
			}
		}
		_, err := unix.Write(int(fd), b)
		if pushed {
			p.Pull(vnetHdrLen)
		}
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return false
		case err != nil:
			q.werr = err
			return true
		}
		q.wn++
	}
	return true
}

// ioError wraps a read or write error, marking a deleted device.
func (q *Queue) ioError(op string, err error) error {
	if isDeleted(err) {
		return fmt.Errorf("tap %s: %s: %w (%w)", q.name, op, ErrDeleted, err)
	}
	return fmt.Errorf("tap %s: %s: %w", q.name, op, err)
}

// Close closes the queue; a blocked ReadBatch returns io.EOF.
func (q *Queue) Close() error {
	q.closed.Store(true)
	return q.f.Close()
}

// VnetHdr reports whether the queue's frames carry the virtio-net header:
// it takes super-frames and partial checksums.
func (q *Queue) VnetHdr() bool { return q.vnet }
