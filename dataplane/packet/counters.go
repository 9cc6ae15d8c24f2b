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

// Tally is one goroutine's traffic counts not yet added to their Counters:
// the frame path counts a frame with plain adds and Flush commits them
// with one atomic add per counter touched, once per batch, so that a
// frame costs no atomic operation. Readers of the Counters see a batch's
// frames when it is flushed. A Tally is not safe for concurrent use; the
// zero value is ready, NewTally makes one that does not allocate until
// it has more interfaces than its capacity.
type Tally struct {
	e []tallyEntry
}

type tallyEntry struct {
	c                                        *Counters
	inPackets, inBytes, outPackets, outBytes uint64
}

// tallyCap is how many interfaces a batch touches before Flush runs
// early: a forwarded frame touches two or three.
const tallyCap = 16

// NewTally returns an empty tally.
func NewTally() *Tally { return &Tally{e: make([]tallyEntry, 0, tallyCap)} }

// entry returns c's entry, adding it.
func (t *Tally) entry(c *Counters) *tallyEntry {
	for i := range t.e {
		if t.e[i].c == c {
			return &t.e[i]
		}
	}
	if len(t.e) == tallyCap {
		t.Flush()
	}
	t.e = append(t.e, tallyEntry{c: c})
	return &t.e[len(t.e)-1]
}

// In counts one frame of n bytes received, for c.
func (t *Tally) In(c *Counters, n int) {
	e := t.entry(c)
	e.inPackets++
	e.inBytes += uint64(n)
}

// Out counts one frame of n bytes sent, for c.
func (t *Tally) Out(c *Counters, n int) {
	e := t.entry(c)
	e.outPackets++
	e.outBytes += uint64(n)
}

// Flush adds the counts to their Counters and empties t.
func (t *Tally) Flush() {
	for i := range t.e {
		e := &t.e[i]
		if e.inPackets != 0 {
			e.c.InPackets.Add(e.inPackets)
			e.c.InBytes.Add(e.inBytes)
		}
		if e.outPackets != 0 {
			e.c.OutPackets.Add(e.outPackets)
			e.c.OutBytes.Add(e.outBytes)
		}
	}
	clear(t.e)
	t.e = t.e[:0]
}
