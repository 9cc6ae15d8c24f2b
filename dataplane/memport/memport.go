// Package memport is an in-memory packet.Port for tests and benchmarks.
//
// A Port has an input ring of preallocated frame buffers that a test fills
// with Inject and the dataplane drains with ReadBatch, and an output side
// that either keeps a copy of every frame written (Sent, Take) or only
// counts them (Discard). Pair connects two ports like a cable: what one
// writes the other reads.
//
// Reads and writes in steady state do not allocate: ring slots keep their
// buffers, Loop serves one frame forever, and Discard only counts. That is
// what pipeline benchmarks use, so that they measure hostnet and not the
// port.
package memport

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hostnet/hostnet/dataplane/packet"
)

// ErrFull is returned by Inject when the input ring is full.
var ErrFull = errors.New("memport: input ring full")

// ErrClosed is returned by Inject and WriteBatch on a closed port.
var ErrClosed = errors.New("memport: port closed")

// slot is one ring entry: a frame buffer kept across uses.
type slot struct {
	b     []byte
	stamp int64
}

// Port is an in-memory packet.Port. It is safe for concurrent use: one
// reader, one writer and any number of test goroutines injecting and
// collecting frames.
//
// ReadBatch blocks until a frame is queued and returns io.EOF once the port
// is closed or its input ended (EndInput) and the ring is drained. In Loop
// mode it fills every batch with the looped frame until Close.
//
// WriteBatch borrows the packets: it copies each frame to the peer's input
// ring (Pair; a full ring drops the frame and counts it, as a wire would),
// or keeps a copy for Sent and Take, or, in Discard mode, only counts.
type Port struct {
	name string

	mu       sync.Mutex
	cond     sync.Cond // signalled on inject, write, end and close
	ring     []slot
	head     int // next slot to read
	n        int // queued slots
	ended    bool
	closed   bool
	loop     []byte // Loop mode frame; nil when off
	loopSt   int64
	peer     *Port
	discard  bool
	sent     [][]byte
	stamps   []int64
	nIn      uint64 // frames returned by ReadBatch
	nOut     uint64 // frames written
	bytesOut uint64
	drops    uint64 // frames a peer could not queue
}

// New returns a port named name whose input ring holds depth frames. A
// depth below 1 is taken as 1.
func New(name string, depth int) *Port {
	if depth < 1 {
		depth = 1
	}
	p := &Port{name: name, ring: make([]slot, depth)}
	p.cond.L = &p.mu
	return p
}

// Pair returns two ports connected to each other: frames written to a are
// read from b and the other way round. Each has an input ring of depth.
func Pair(nameA, nameB string, depth int) (a, b *Port) {
	a, b = New(nameA, depth), New(nameB, depth)
	a.peer, b.peer = b, a
	return a, b
}

// Name returns the port's name.
func (p *Port) Name() string { return p.name }

// String returns "memport NAME".
func (p *Port) String() string { return "memport " + p.name }

// Inject queues a copy of frame to be read, with a zero Stamp. It returns
// ErrFull if the ring is full and ErrClosed after Close or EndInput. It
// does not allocate once the slot's buffer is large enough.
func (p *Port) Inject(frame []byte) error { return p.InjectStamp(frame, 0) }

// InjectStamp is Inject with the Stamp the reader will see.
func (p *Port) InjectStamp(frame []byte, stamp int64) error {
	if len(frame) > packet.MaxFrame {
		return fmt.Errorf("memport %s: frame of %d bytes exceeds %d", p.name, len(frame), packet.MaxFrame)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.ended {
		return ErrClosed
	}
	if !p.queueLocked(frame, stamp) {
		return ErrFull
	}
	return nil
}

// queueLocked copies frame into the next free slot and wakes the reader.
// It reports false if the ring is full. p.mu must be held.
func (p *Port) queueLocked(frame []byte, stamp int64) bool {
	if p.n == len(p.ring) {
		return false
	}
	s := &p.ring[(p.head+p.n)%len(p.ring)]
	if cap(s.b) < len(frame) {
		s.b = make([]byte, len(frame), max(len(frame), 2048))
	}
	s.b = s.b[:len(frame)]
	copy(s.b, frame)
	s.stamp = stamp
	p.n++
	p.cond.Broadcast()
	return true
}

// Loop makes ReadBatch return a copy of frame in every packet of every
// batch, until Close or EndInput, after any frames already queued are
// read. The port keeps its own copy. Loop(nil) ends the mode.
func (p *Port) Loop(frame []byte) { p.LoopStamp(frame, 0) }

// LoopStamp is Loop with the Stamp each looped packet carries.
func (p *Port) LoopStamp(frame []byte, stamp int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if frame == nil {
		p.loop = nil
	} else {
		p.loop = append([]byte(nil), frame...)
	}
	p.loopSt = stamp
	p.cond.Broadcast()
}

// EndInput says no more frames will be injected: once the queued ones are
// read, ReadBatch returns io.EOF. Writing stays possible.
func (p *Port) EndInput() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ended = true
	p.cond.Broadcast()
}

// SetDiscard sets whether WriteBatch only counts frames (true) or keeps
// copies for Sent and Take (false, the default). It has no effect on a port
// of a Pair, whose writes always go to the peer.
func (p *Port) SetDiscard(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.discard = on
}

// ReadBatch implements packet.Port. It does not allocate.
func (p *Port) ReadBatch(pkts []*packet.Packet) (int, error) {
	if len(pkts) == 0 {
		return 0, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.n == 0 && p.loop == nil && !p.closed && !p.ended {
		p.cond.Wait()
	}
	i := 0
	for ; i < len(pkts) && p.n > 0; i++ {
		s := &p.ring[p.head]
		pk := pkts[i]
		pk.Reset()
		pk.SetLen(len(s.b))
		copy(pk.Bytes(), s.b)
		pk.Stamp = s.stamp
		p.head = (p.head + 1) % len(p.ring)
		p.n--
	}
	if i == 0 && (p.closed || p.ended) {
		return 0, io.EOF
	}
	if p.loop != nil && !p.closed {
		for ; i < len(pkts); i++ {
			pk := pkts[i]
			pk.Reset()
			pk.SetLen(len(p.loop))
			copy(pk.Bytes(), p.loop)
			pk.Stamp = p.loopSt
		}
	}
	p.nIn += uint64(i)
	return i, nil
}

// WriteBatch implements packet.Port. It borrows the packets. It does not
// allocate in Discard mode nor, once the peer's ring slots have grown, in
// a Pair.
func (p *Port) WriteBatch(pkts []*packet.Packet) (int, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return 0, ErrClosed
	}
	peer, discard := p.peer, p.discard
	for _, pk := range pkts {
		p.nOut++
		p.bytesOut += uint64(pk.Len())
		if peer == nil && !discard {
			p.sent = append(p.sent, append([]byte(nil), pk.Bytes()...))
			p.stamps = append(p.stamps, pk.Stamp)
		}
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	if peer == nil {
		return len(pkts), nil
	}
	peer.mu.Lock()
	defer peer.mu.Unlock()
	if peer.closed || peer.ended {
		// The cable is unplugged at the far end: frames are lost, as on a
		// wire, not refused.
		peer.drops += uint64(len(pkts))
		return len(pkts), nil
	}
	for _, pk := range pkts {
		if !peer.queueLocked(pk.Bytes(), pk.Stamp) {
			peer.drops++
		}
	}
	return len(pkts), nil
}

// Close implements packet.Port: ReadBatch returns the frames still queued,
// then io.EOF; a blocked ReadBatch returns. Writes and injects fail with
// ErrClosed. Collected frames stay available to Sent and Take.
func (p *Port) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.cond.Broadcast()
	return nil
}

// Sent returns copies of the frames written since the last Take, in order.
func (p *Port) Sent() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]byte(nil), p.sent...)
}

// SentStamps returns the Stamps of the frames Sent returns.
func (p *Port) SentStamps() []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int64(nil), p.stamps...)
}

// Take returns the frames written since the last Take and forgets them.
func (p *Port) Take() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.sent
	p.sent, p.stamps = nil, nil
	return s
}

// WaitSent waits until at least n frames are held for Sent, or timeout
// passes, and reports whether they are.
func (p *Port) WaitSent(n int, timeout time.Duration) bool {
	timedOut := false
	t := time.AfterFunc(timeout, func() {
		p.mu.Lock()
		timedOut = true
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer t.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.sent) < n && !timedOut {
		p.cond.Wait()
	}
	return len(p.sent) >= n
}

// Queued returns the number of frames waiting to be read.
func (p *Port) Queued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// Stats returns the frames read, the frames and bytes written, and the
// frames dropped because this port's input ring was full or closed when
// its Pair peer wrote.
func (p *Port) Stats() (in, out, bytesOut, drops uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.nIn, p.nOut, p.bytesOut, p.drops
}
