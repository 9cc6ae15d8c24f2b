package packet

import "sync/atomic"

// Counters are an interface's packet counters. They are safe for concurrent
// use and do not allocate.
type Counters struct {
	InPackets  atomic.Uint64
	InBytes    atomic.Uint64
	OutPackets atomic.Uint64
	OutBytes   atomic.Uint64
	drops      [NumDropReasons]atomic.Uint64
}

// CountIn counts one received frame of n bytes.
func (c *Counters) CountIn(n int) {
	c.InPackets.Add(1)
	c.InBytes.Add(uint64(n))
}

// CountOut counts one sent frame of n bytes.
func (c *Counters) CountOut(n int) {
	c.OutPackets.Add(1)
	c.OutBytes.Add(uint64(n))
}

// Drop counts one frame dropped for reason r.
func (c *Counters) Drop(r DropReason) {
	if r < NumDropReasons {
		c.drops[r].Add(1)
	}
}

// Drops returns the number of frames dropped for reason r.
func (c *Counters) Drops(r DropReason) uint64 {
	if r < NumDropReasons {
		return c.drops[r].Load()
	}
	return 0
}

// DropTotal returns the number of frames dropped for any reason.
func (c *Counters) DropTotal() uint64 {
	var n uint64
	for i := range c.drops {
		n += c.drops[i].Load()
	}
	return n
}
