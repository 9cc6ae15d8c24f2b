// Package packet is the vocabulary every layer of hostnet shares: the
// packet and its pool, Parse and its metadata, the Port interface, verdicts,
// drop reasons and counters.
//
// A Packet holds one frame. Its buffer is a fixed array big enough for a
// 64 KB super-frame, with Headroom bytes in front of the frame so that an
// 802.1Q tag or a virtio-net header can be pushed without a copy:
//
//	buf: [ headroom ........ | frame (b) ............ | free ........ ]
//	     0                   off                      off+len(b)      BufSize
package packet

import "sync"

const (
	// Headroom is the number of bytes kept free in front of a frame read
	// into a fresh packet: room for two VLAN tags and a virtio-net header.
	Headroom = 64
	// MaxFrame is the largest frame a packet holds: a 64 KB IP super-frame
	// with an Ethernet header and two VLAN tags.
	MaxFrame = 65535 + 14 + 8
	// BufSize is the size of a packet's buffer.
	BufSize = Headroom + MaxFrame
)

// PortID names the interface a packet was received on, as an index into the
// dataplane's interface table.
type PortID uint16

// Packet is one frame in flight. Exactly one goroutine owns it at a time.
// The frame lives in buf at b; the bytes before b are headroom for tags.
type Packet struct {
	buf *[BufSize]byte // from a Pool; nil only while in the pool
	off int            // start of the frame in buf
	b   []byte         // the frame, buf[off:off+len]

	// InPort is the interface the frame was received on.
	InPort PortID
	// Stamp is the capture time in nanoseconds since the Unix epoch, set by
	// ports that know it (pcap files); 0 otherwise.
	Stamp int64
	// Prio is the packet's priority (0-7) as pf's prio and 802.1p see it.
	Prio uint8
	// PFTag is the pf tag id attached by bridge rules or pf; 0 is none.
	PFTag uint16
	// GSO describes a super-frame that still has to be segmented, as a
	// virtio-net header carries it. Zero for ordinary frames.
	GSO GSO
	// Meta is filled by Parse; its offsets are into Bytes().
	Meta Parsed
}

// GSO is the offload state of a super-frame (virtio-net header fields).
type GSO struct {
	Type       uint8  // VIRTIO_NET_HDR_GSO_*: 0 none, 1 TCPv4, 3 UDP, 4 TCPv6
	NeedsCsum  bool   // VIRTIO_NET_HDR_F_NEEDS_CSUM
	HdrLen     uint16 // length of the headers before the payload
	Size       uint16 // payload bytes per segment (MSS)
	CsumStart  uint16 // offset where checksumming starts
	CsumOffset uint16 // offset from CsumStart where the checksum goes
}

// Bytes returns the frame. The slice is valid until the packet is Put or
// its length changes.
func (p *Packet) Bytes() []byte { return p.b }

// Len returns the length of the frame.
func (p *Packet) Len() int { return len(p.b) }

// Reset empties the frame, places it Headroom bytes into the buffer and
// clears the metadata.
func (p *Packet) Reset() {
	p.off = Headroom
	p.b = p.buf[Headroom:Headroom]
	p.InPort = 0
	p.Stamp = 0
	p.Prio = 0
	p.PFTag = 0
	p.GSO = GSO{}
	p.Meta = Parsed{}
}

// Space returns the whole buffer from the start of the frame to the end,
// for a port to read a frame into; SetLen then sets the frame's length.
func (p *Packet) Space() []byte { return p.buf[p.off:] }

// SetLen sets the frame's length, keeping its start. It panics if n is
// negative or beyond the buffer.
func (p *Packet) SetLen(n int) { p.b = p.buf[p.off : p.off+n] }

// Headroom returns the number of free bytes in front of the frame.
func (p *Packet) Headroom() int { return p.off }

// Push grows the frame by n bytes at the front and returns the new frame.
// It reports false and changes nothing if the headroom is smaller than n.
// Metadata offsets become stale: Parse again if they are needed.
func (p *Packet) Push(n int) ([]byte, bool) {
	if n > p.off {
		return p.b, false
	}
	p.off -= n
	p.b = p.buf[p.off : p.off+len(p.b)+n]
	return p.b, true
}

// Pull removes n bytes from the front of the frame and returns the new
// frame. It panics if n exceeds the frame's length.
func (p *Packet) Pull(n int) []byte {
	if n > len(p.b) {
		panic("packet: Pull beyond frame")
	}
	p.off += n
	p.b = p.buf[p.off : p.off+len(p.b)-n]
	return p.b
}

// CopyFrom makes p a copy of q: frame, metadata and annotations, with the
// frame at q's offset. It does not allocate.
func (p *Packet) CopyFrom(q *Packet) {
	p.off = q.off
	p.b = p.buf[p.off : p.off+len(q.b)]
	copy(p.b, q.b)
	p.InPort = q.InPort
	p.Stamp = q.Stamp
	p.Prio = q.Prio
	p.PFTag = q.PFTag
	p.GSO = q.GSO
	p.Meta = q.Meta
}

// SetFrame replaces the frame with a copy of b at the default headroom and
// clears the metadata. It panics if b does not fit. For tests and ports
// that read into their own buffers.
func (p *Packet) SetFrame(b []byte) {
	p.Reset()
	p.SetLen(len(b))
	copy(p.b, b)
}

// Pool is a pool of packets, safe for concurrent use.
type Pool struct{ p sync.Pool }

// NewPool returns an empty pool.
func NewPool() *Pool {
	return &Pool{p: sync.Pool{New: func() any {
		return &Packet{buf: new([BufSize]byte)}
	}}}
}

// Get returns an empty packet (as after Reset). The caller owns it.
func (pl *Pool) Get() *Packet {
	p := pl.p.Get().(*Packet)
	p.Reset()
	return p
}

// Put takes p back. The caller must not use p again. The frame slice is
// cleared so that a stale reference fails fast instead of reading someone
// else's frame.
func (pl *Pool) Put(p *Packet) {
	p.b = nil
	pl.p.Put(p)
}

// New returns a packet with its own buffer, outside any pool. For tests,
// benchmarks and long-lived scratch packets.
func New() *Packet {
	p := &Packet{buf: new([BufSize]byte)}
	p.Reset()
	return p
}

// Cache is one goroutine's stock of free packets in front of a Pool: Get
// and Put take from and add to a plain slice, without the Pool's atomic
// operations. Put past its capacity hands half of the stock back to the
// Pool; Get from an empty cache asks the Pool. A reader that Puts what it
// sends and Gets what it reads next recycles the same few packets, whose
// buffers stay in cache. A Cache is not safe for concurrent use.
type Cache struct {
	pool *Pool
	free []*Packet
}

// NewCache returns an empty cache of n packets in front of pool.
func NewCache(pool *Pool, n int) *Cache {
	return &Cache{pool: pool, free: make([]*Packet, 0, max(n, 2))}
}

// Get returns an empty packet (as after Reset). The caller owns it.
func (c *Cache) Get() *Packet {
	n := len(c.free)
	if n == 0 {
		return c.pool.Get()
	}
	p := c.free[n-1]
	c.free[n-1] = nil
	c.free = c.free[:n-1]
	p.Reset()
	return p
}

// Put takes p back, as Pool.Put does.
func (c *Cache) Put(p *Packet) {
	if len(c.free) == cap(c.free) {
		half := len(c.free) / 2
		for _, q := range c.free[half:] {
			c.pool.Put(q)
		}
		clear(c.free[half:])
		c.free = c.free[:half]
	}
	p.b = nil
	c.free = append(c.free, p)
}

// Flush hands every packet of the cache back to the Pool.
func (c *Cache) Flush() {
	for _, q := range c.free {
		c.pool.Put(q)
	}
	clear(c.free)
	c.free = c.free[:0]
}
