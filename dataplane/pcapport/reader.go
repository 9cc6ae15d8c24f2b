// Package pcapport reads and writes capture files as packet.Ports, for
// replay and for live captures (tcpdump -w).
//
// A Reader reads pcap (microsecond and nanosecond, either byte order) and
// pcapng through gopacket's pcapgo, detecting the format by its magic
// number, and either of them gzipped. hostnet moves Ethernet frames only: a file, or a pcapng
// interface, of any other link type is refused with a LinkTypeError naming
// the type and the file. Damaged files give an error naming the file and
// the frame, never a panic.
//
// A Writer writes classic pcap: microsecond timestamps, Ethernet, snap
// length 262144, each frame stamped with its packet's Stamp, so that the
// same frames with the same Stamps give the same bytes.
//
// A Replay joins an optional Reader and a Writer created on the first
// write, so that a replay leaves an output file only for ports that sent
// something.
package pcapport

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// ErrReadOnly is returned by Reader.WriteBatch.
var ErrReadOnly = errors.New("pcapport: reader is read-only")

// Capture file magic numbers, as they appear in the first four bytes read
// little-endian.
const (
	magicMicro      = 0xa1b2c3d4
	magicNano       = 0xa1b23c4d
	magicMicroSwap  = 0xd4c3b2a1
	magicNanoSwap   = 0x4d3cb2a1
	magicPcapng     = 0x0a0d0d0a // section header block type, a palindrome
	magicGzipPrefix = 0x8b1f     // first two bytes of a gzip stream
)

// LinkTypeError is the error for a capture whose link type is not
// Ethernet. Frame is 0 when the file header (pcap) or first interface
// (pcapng) is refused, else the 1-based number of the frame at which
// reading stopped, on or after a pcapng interface of another type.
type LinkTypeError struct {
	File      string
	Frame     int
	Interface int // pcapng interface index; 0 for pcap
	LinkType  uint16
}

func (e *LinkTypeError) Error() string {
	where := e.File
	if e.Frame > 0 {
		where = fmt.Sprintf("%s: frame %d: interface %d", e.File, e.Frame, e.Interface)
	}
	return fmt.Sprintf("pcapport: %s: unsupported link type %s (%d); hostnet reads Ethernet (EN10MB, 1) only",
		where, LinkTypeName(e.LinkType), e.LinkType)
}

// linkTypeNames are libpcap's LINKTYPE_ names of the link types a capture
// is likely to have.
var linkTypeNames = map[uint16]string{
	0:   "NULL",
	1:   "EN10MB",
	6:   "IEEE802_5",
	9:   "PPP",
	101: "RAW",
	104: "C_HDLC",
	105: "IEEE802_11",
	108: "LOOP",
	113: "LINUX_SLL",
	127: "IEEE802_11_RADIOTAP",
	220: "USB_LINUX_MMAPPED",
	228: "IPV4",
	229: "IPV6",
	239: "NFLOG",
	276: "LINUX_SLL2",
}

// LinkTypeName returns libpcap's name for link type t (EN10MB, LINUX_SLL,
// ...), or "unknown" for a number it does not know.
func LinkTypeName(t uint16) string {
	if s, ok := linkTypeNames[t]; ok {
		return s
	}
	return "unknown"
}

// Reader is a pcap or pcapng file read as a packet.Port. It is owned by one
// goroutine at a time.
type Reader struct {
	name   string
	closer io.Closer
	pcap   *pcapgo.Reader
	ng     *pcapgo.NgReader
	frames int   // frames returned so far
	err    error // sticky: once set, every read returns it
}

// Open opens the capture file at path. It fails, naming the file, if the
// file cannot be read, is not pcap or pcapng, or is not Ethernet.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pcapport: %w", err)
	}
	r, err := NewReader(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// NewReader reads a capture from rd; name is used in errors. Close does not
// close rd.
func NewReader(rd io.Reader, name string) (*Reader, error) {
	br := bufio.NewReaderSize(rd, 64<<10)
	if head, _ := br.Peek(2); len(head) == 2 && binary.LittleEndian.Uint16(head) == magicGzipPrefix {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("pcapport: %s: bad gzip stream: %w", name, err)
		}
		br = bufio.NewReaderSize(gz, 64<<10)
	}
	head, err := br.Peek(24)
	if len(head) < 4 {
		if err == nil || err == io.EOF {
			return nil, fmt.Errorf("pcapport: %s: file too short for a capture header (%d bytes)", name, len(head))
		}
		return nil, fmt.Errorf("pcapport: %s: %w", name, err)
	}
	r := &Reader{name: name}
	magic := binary.LittleEndian.Uint32(head)
	switch {
	case magic == magicPcapng:
		// The reader reads the first interface now, so its link type is
		// checked here; a later interface of another type stops reading
		// with ErrNgLinkTypeMismatch rather than being skipped silently.
		r.ng, err = pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{ErrorOnMismatchingLinkType: true})
		if err != nil {
			return nil, r.openError("pcapng", err)
		}
		if lt := uint16(r.ng.LinkType()); lt != uint16(layers.LinkTypeEthernet) {
			return nil, &LinkTypeError{File: name, LinkType: lt}
		}
	case magic == magicMicro || magic == magicNano || magic == magicMicroSwap || magic == magicNanoSwap:
		if len(head) < 24 {
			return nil, fmt.Errorf("pcapport: %s: truncated pcap file header (%d of 24 bytes)", name, len(head))
		}
		order := binary.ByteOrder(binary.LittleEndian)
		if magic == magicMicroSwap || magic == magicNanoSwap {
			order = binary.BigEndian
		}
		if major, minor := order.Uint16(head[4:]), order.Uint16(head[6:]); major != 2 || minor != 4 {
			return nil, fmt.Errorf("pcapport: %s: pcap format version %d.%d is not supported, want 2.4", name, major, minor)
		}
		// The link-type word carries FCS information in its upper bits
		// (pcap-linktype(7)); the type is the low 16 bits.
		if lt := uint16(order.Uint32(head[20:])); lt != uint16(layers.LinkTypeEthernet) {
			return nil, &LinkTypeError{File: name, LinkType: lt}
		}
		r.pcap, err = pcapgo.NewReader(br)
		if err != nil {
			return nil, r.openError("pcap", err)
		}
	default:
		return nil, fmt.Errorf("pcapport: %s: not a pcap or pcapng file (magic 0x%08x)", name, magic)
	}
	return r, nil
}

func (r *Reader) openError(format string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("pcapport: %s: truncated %s file header", r.name, format)
	}
	return fmt.Errorf("pcapport: %s: bad %s file: %w", r.name, format, err)
}

// Name returns the file name the reader was opened with.
func (r *Reader) Name() string { return r.name }

// Frames returns the number of frames read so far.
func (r *Reader) Frames() int { return r.frames }

// Next reads the next frame into p, which it Resets, with Stamp set to the
// capture time in nanoseconds (0 for a record without a usable time). It returns io.EOF at the end of the file and
// a descriptive error, naming the file and frame number, for a damaged
// record, a frame on a non-Ethernet pcapng interface or a frame longer than
// packet.MaxFrame. After an error every call returns the same error.
func (r *Reader) Next(p *packet.Packet) error {
	if r.err != nil {
		return r.err
	}
	var data []byte
	var ci gopacket.CaptureInfo
	var err error
	if r.ng != nil {
		data, ci, err = r.ng.ZeroCopyReadPacketData()
	} else {
		data, ci, err = r.pcap.ZeroCopyReadPacketData()
	}
	num := r.frames + 1
	switch {
	case err == io.EOF:
		r.err = io.EOF
		return r.err
	case errors.Is(err, pcapgo.ErrNgLinkTypeMismatch):
		r.err = r.mismatch(num)
		return r.err
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		r.err = fmt.Errorf("pcapport: %s: frame %d: file truncated", r.name, num)
		return r.err
	case err != nil:
		r.err = fmt.Errorf("pcapport: %s: frame %d: %w", r.name, num, err)
		return r.err
	}
	if len(data) > packet.MaxFrame {
		r.err = fmt.Errorf("pcapport: %s: frame %d: %d bytes exceeds the largest frame hostnet holds (%d)", r.name, num, len(data), packet.MaxFrame)
		return r.err
	}
	p.Reset()
	p.SetLen(len(data))
	copy(p.Bytes(), data)
	p.Stamp = stamp(ci.Timestamp)
	r.frames = num
	return nil
}

// Timestamps representable as int64 nanoseconds since the epoch.
var (
	minStamp = time.Unix(0, math.MinInt64)
	maxStamp = time.Unix(0, math.MaxInt64)
)

// stamp converts a capture time to a packet Stamp: 0 for a record with no
// time (a pcapng Simple Packet Block) or one outside int64 nanoseconds.
func stamp(t time.Time) int64 {
	if t.IsZero() || t.Before(minStamp) || t.After(maxStamp) {
		return 0
	}
	return t.UnixNano()
}

// mismatch returns the LinkTypeError for a pcapng frame num on an
// interface whose link type differs from the first: the first non-Ethernet
// interface of the section.
func (r *Reader) mismatch(num int) error {
	for i := range r.ng.NInterfaces() {
		if iface, err := r.ng.Interface(i); err == nil && iface.LinkType != layers.LinkTypeEthernet {
			return &LinkTypeError{File: r.name, Frame: num, Interface: i, LinkType: uint16(iface.LinkType)}
		}
	}
	return fmt.Errorf("pcapport: %s: frame %d: %w", r.name, num, pcapgo.ErrNgLinkTypeMismatch)
}

// ReadBatch implements packet.Port. It fills pkts with the next frames of
// the file and returns io.EOF (or the error of a damaged record) only when
// it has no frame to return; the error then stays.
func (r *Reader) ReadBatch(pkts []*packet.Packet) (int, error) {
	for i, p := range pkts {
		if err := r.Next(p); err != nil {
			if i > 0 {
				return i, nil
			}
			return 0, err
		}
	}
	return len(pkts), nil
}

// WriteBatch implements packet.Port: a Reader sends nothing and returns
// ErrReadOnly.
func (r *Reader) WriteBatch(pkts []*packet.Packet) (int, error) { return 0, ErrReadOnly }

// Close implements packet.Port. It closes the file Open opened; later reads
// return io.EOF.
func (r *Reader) Close() error {
	if r.err == nil {
		r.err = io.EOF
	}
	if r.closer == nil {
		return nil
	}
	c := r.closer
	r.closer = nil
	return c.Close()
}
