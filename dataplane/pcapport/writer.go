package pcapport

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// SnapLen is the snap length written in the header of every pcap file, as
// libpcap's MAXIMUM_SNAPLEN.
const SnapLen = 262144

// ErrClosed is returned by a write to a closed Writer or Replay.
var ErrClosed = errors.New("pcapport: closed")

// Writer writes frames to a classic pcap file (microsecond timestamps,
// Ethernet, snap length SnapLen). It is safe for concurrent use.
type Writer struct {
	name string

	mu     sync.Mutex
	bw     *bufio.Writer
	pw     *pcapgo.Writer
	closer io.Closer // the file Create made; nil for NewWriter
	frames int
	closed bool
}

// Create creates (or truncates) the pcap file at path and writes its
// header.
func Create(path string) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("pcapport: %w", err)
	}
	w, err := NewWriter(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	w.closer = f
	return w, nil
}

// NewWriter writes a pcap stream to wr, starting with the file header; name
// is used in errors. Close flushes but does not close wr; Flush pushes the
// buffered frames out, as a live capture stream needs.
func NewWriter(wr io.Writer, name string) (*Writer, error) {
	w := &Writer{name: name, bw: bufio.NewWriterSize(wr, 64<<10)}
	w.pw = pcapgo.NewWriter(w.bw)
	if err := w.pw.WriteFileHeader(SnapLen, layers.LinkTypeEthernet); err != nil {
		return nil, fmt.Errorf("pcapport: %s: %w", name, err)
	}
	return w, nil
}

// Name returns the file name the writer was created with.
func (w *Writer) Name() string { return w.name }

// Frames returns the number of frames written.
func (w *Writer) Frames() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.frames
}

// WriteBatch implements packet.Port. It borrows the packets and writes one
// record per packet, time-stamped with its Stamp truncated to the
// microsecond (0 is the epoch, never the current time).
func (w *Writer) WriteBatch(pkts []*packet.Packet) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, ErrClosed
	}
	for i, p := range pkts {
		n := p.Len()
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, p.Stamp), CaptureLength: n, Length: n}
		if err := w.pw.WritePacket(ci, p.Bytes()); err != nil {
			return i, fmt.Errorf("pcapport: %s: %w", w.name, err)
		}
		w.frames++
	}
	return len(pkts), nil
}

// ReadBatch implements packet.Port: a Writer reads nothing and returns
// io.EOF.
func (w *Writer) ReadBatch(pkts []*packet.Packet) (int, error) { return 0, io.EOF }

// Flush writes buffered records to the underlying writer.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("pcapport: %s: %w", w.name, err)
	}
	return nil
}

// Close implements packet.Port: it flushes and closes the file Create
// made. It reports the first error of either.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.bw.Flush()
	if w.closer != nil {
		if cerr := w.closer.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("pcapport: %s: %w", w.name, err)
	}
	return nil
}

// Replay is the port a replay puts on an interface: it reads its input
// file, if any, and writes what the interface sends to its output file,
// which it creates on the first write, so that an interface that sends
// nothing leaves no file. It is used by one goroutine at a time.
type Replay struct {
	in      *Reader // nil: nothing to read
	outPath string  // "" discards writes
	out     *Writer
	closed  bool
}

// NewReplay opens the input capture in (none if in is "") and prepares the
// output file out (writes are discarded if out is ""). Only in is touched
// now.
func NewReplay(in, out string) (*Replay, error) {
	r := &Replay{outPath: out}
	if in != "" {
		var err error
		if r.in, err = Open(in); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Input returns the input reader, or nil if there is none. A replay that
// merges several inputs by timestamp reads them through Next.
func (r *Replay) Input() *Reader { return r.in }

// Next reads the next input frame into p, as Reader.Next; with no input it
// returns io.EOF.
func (r *Replay) Next(p *packet.Packet) error {
	if r.in == nil {
		return io.EOF
	}
	return r.in.Next(p)
}

// ReadBatch implements packet.Port, reading the input file; with no input
// it returns io.EOF.
func (r *Replay) ReadBatch(pkts []*packet.Packet) (int, error) {
	if r.in == nil {
		return 0, io.EOF
	}
	return r.in.ReadBatch(pkts)
}

// WriteBatch implements packet.Port. It borrows the packets; the output
// file is created on the first write of at least one frame.
func (r *Replay) WriteBatch(pkts []*packet.Packet) (int, error) {
	if r.closed {
		return 0, ErrClosed
	}
	if len(pkts) == 0 || r.outPath == "" {
		return len(pkts), nil
	}
	if r.out == nil {
		w, err := Create(r.outPath)
		if err != nil {
			return 0, err
		}
		r.out = w
	}
	return r.out.WriteBatch(pkts)
}

// Sent returns the number of frames written to the output file.
func (r *Replay) Sent() int {
	if r.out == nil {
		return 0
	}
	return r.out.Frames()
}

// Close implements packet.Port: it closes the input and flushes and closes
// the output, reporting the first error.
func (r *Replay) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	var err error
	if r.in != nil {
		err = r.in.Close()
	}
	if r.out != nil {
		if werr := r.out.Close(); err == nil {
			err = werr
		}
	}
	return err
}
