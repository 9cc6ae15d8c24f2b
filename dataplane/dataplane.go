package dataplane

import (
	"fmt"
	"log/slog"
	"sort"
	"sync"

	"github.com/hostnet/hostnet/dataplane/gso"
	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/filter"
	"github.com/hostnet/hostnet/filter/pfconf"
	"github.com/hostnet/hostnet/l2"
)

// Dataplane is the interface table and the frame path over it. Input is
// safe for concurrent use by one worker per port; the table itself is
// immutable after New.
type Dataplane struct {
	ifs     []*Interface // by Index
	byName  map[string]*Interface
	bridges []*bridge
	stack   *stack         // nil when no interface has an address
	pf      *filter.Filter // nil when there is no pf.conf
	pool    *packet.Pool
	log     *slog.Logger
	// lockWrites serializes writes to each port; Run sets it.
	lockWrites bool
	// spare holds workers for output that starts inside another
	// output (the stack's replies, pf's answers), so that the scratch
	// of the worker in the middle of a flood is left alone.
	spare sync.Pool
}

// spareWorker returns a worker from d.spare with its clock set to ns;
// the caller puts it back.
func (d *Dataplane) spareWorker(ns int64) *worker {
	w, _ := d.spare.Get().(*worker)
	if w == nil {
		w = newWorker(d)
	}
	w.now = ns
	w.sec = uint32(ns / 1e9)
	return w
}

// Options are what New needs besides the configuration.
type Options struct {
	// Port opens the port of a tap or host NIC. Nil leaves them without
	// ports: frames they would send are counted and dropped.
	Port func(ifc *Interface) (packet.Port, error)
	// Pool supplies packets for copies; a new one when nil.
	Pool *packet.Pool
	// Logger receives rate-limited reports; slog.Default when nil.
	Logger *slog.Logger
	// Seed makes the stack's choices (IPv4 identifications) and, later,
	// pf's reproducible: replay sets it from -seed.
	Seed uint64
	// Start is the clock, in nanoseconds since the Unix epoch, when the
	// dataplane comes up: what the stack stamps frames it sends before
	// any batch (gratuitous ARP). Replay sets it to its first frame's.
	Start int64
	// PF is the parsed pf.conf; nil loads pf.conf from the configuration
	// directory if there is one.
	PF *pfconf.Spec
	// Filter is pf, kept across reloads with its states; nil makes a new
	// one when there is a pf.conf.
	Filter *filter.Filter
	// Pflog, when set, receives the packets of rules with `log` (a new
	// filter only).
	Pflog *filter.Pflog
	// MACSeed makes the MACs hostnet picks for interfaces without lladdr
	// differ between hosts (see StableMAC); replay leaves it empty.
	MACSeed []byte
}

// Interfaces returns the interface table sorted by name.
func (d *Dataplane) Interfaces() []*Interface {
	out := append([]*Interface(nil), d.ifs...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Interface returns the interface called name.
func (d *Dataplane) Interface(name string) (*Interface, bool) {
	ifc, ok := d.byName[name]
	return ifc, ok
}

// Pool returns the packet pool the dataplane copies with.
func (d *Dataplane) Pool() *packet.Pool { return d.pool }

// Close closes every port.
func (d *Dataplane) Close() error {
	var first error
	for _, ifc := range d.ifs {
		if ifc.port != nil {
			if err := ifc.port.Close(); err != nil && first == nil {
				first = fmt.Errorf("%s: %w", ifc.Name, err)
			}
		}
	}
	return first
}

// worker is the scratch state of one reader goroutine: nothing on the frame
// path allocates, so every slice it needs is here, made once.
type worker struct {
	d     *Dataplane
	now   int64 // the batch's clock, ns
	sec   uint32
	one   []*packet.Packet // a batch of one for WriteBatch
	reply *packet.Packet   // pf's block return answers
	segs  []*packet.Packet // segments of a super-frame
	dsts  []int            // flood targets
	depth int              // vlan nesting, to stop a loop of children
	// floods counts the floods under way, whose targets are in dsts: a
	// call into the stack then cannot use this worker for its output.
	floods int
	// tally counts frames in and out until the batch ends (or, for a
	// spare worker, the output it was taken for).
	tally *packet.Tally
	// cache recycles a reader's packets; nil for a spare worker.
	cache *packet.Cache
}

// put takes back p, which w's frame path is done with.
func (w *worker) put(p *packet.Packet) {
	if w.cache != nil {
		w.cache.Put(p)
		return
	}
	w.d.pool.Put(p)
}

func newWorker(d *Dataplane) *worker {
	return &worker{d: d, one: make([]*packet.Packet, 1), segs: make([]*packet.Packet, 128), dsts: make([]int, 0, 256),
		reply: packet.New(), tally: packet.NewTally()}
}

// putSpare commits the counts of spare worker w and returns it to d.spare.
func (d *Dataplane) putSpare(w *worker) {
	w.tally.Flush()
	d.spare.Put(w)
}

// Worker is the frame path as one goroutine drives it. It is not safe for
// concurrent use; make one per reader.
type Worker struct {
	d *Dataplane
	w *worker
}

// NewWorker returns a worker for one reader goroutine.
func (d *Dataplane) NewWorker() *Worker {
	w := newWorker(d)
	w.cache = packet.NewCache(d.pool, BatchSize)
	return &Worker{d: d, w: w}
}

// Get returns an empty packet for the next frame to read, from the
// worker's cache of the packets its frame path was done with. The caller
// owns it.
func (w *Worker) Get() *packet.Packet { return w.w.cache.Get() }

// Close hands the worker's cached packets back to the pool.
func (w *Worker) Close() { w.w.cache.Flush() }

// SetClock sets the time, in nanoseconds since the Unix epoch, for the
// frames that follow: read once per batch.
func (w *Worker) SetClock(ns int64) {
	w.w.now = ns
	w.w.sec = uint32(ns / 1e9)
	if s := w.d.stack; s != nil && s.clock.Load() < ns {
		s.clock.Store(ns)
	}
}

// Input runs one frame received on ifc through the frame path and commits
// the counters it touched. It takes p: the frame is forwarded, delivered
// or dropped and p is Put. It does not allocate.
func (w *Worker) Input(ifc *Interface, p *packet.Packet) {
	w.input(ifc, p)
	w.w.tally.Flush()
}

// InputBatch runs the frames of ps, all received on ifc, through the frame
// path as Input does, and commits the counters once at the end: how a
// reader moves a batch, with no atomic add per frame. It takes every
// packet of ps. It does not allocate.
func (w *Worker) InputBatch(ifc *Interface, ps []*packet.Packet) {
	for _, p := range ps {
		w.input(ifc, p)
	}
	w.w.tally.Flush()
}

func (w *Worker) input(ifc *Interface, p *packet.Packet) {
	p.Prio = l2.DefaultPrio
	if !w.d.input(w.w, ifc, p) {
		w.w.put(p)
	}
}

// input is ether input on ifc (DESIGN.md section 3). It reports whether it
// took p (the host's stack keeps some packets, in ARP hold queues); if not,
// the caller still owns p and Puts it.
func (d *Dataplane) input(w *worker, ifc *Interface, p *packet.Packet) (taken bool) {
	p.InPort = ifc.Index
	w.tally.In(&ifc.Counters, p.Len())
	ifc.capture(p, w.now, false)
	if !ifc.Up {
		ifc.Counters.Drop(packet.DropDown)
		return false
	}
	packet.Parse(p)
	if p.Meta.Kind == packet.KindUnknown && p.Meta.Drop == packet.DropRunt {
		ifc.Counters.Drop(packet.DropRunt)
		return false
	}
	// 1. A tagged frame goes first to the vlan child for its VID.
	if p.Meta.NTags > 0 {
		t := p.Meta.Tags[0]
		if t.TPID == header.EtherTypeDot1Q && t.VID() == 0 {
			// A priority tag: removed, the frame is untagged, unless
			// another tag hides behind it.
			if p.Meta.NTags > 1 {
				ifc.Counters.Drop(packet.DropNoVLAN)
				return false
			}
			popTag(p)
			p.Prio = pcpToPrio(t.PCP())
			packet.Parse(p)
		} else if child := ifc.child(t); child != nil {
			if w.depth > 2 {
				ifc.Counters.Drop(packet.DropTooManyTags)
				return false
			}
			popTag(p)
			switch {
			case child.rxprio == -1:
				p.Prio = pcpToPrio(t.PCP())
			case child.rxprio >= 0:
				p.Prio = uint8(child.rxprio)
			}
			w.depth++
			taken = d.input(w, child, p)
			w.depth--
			return taken
		}
	}
	// 2. A bridge member's frames go to the bridge.
	if ifc.bridge != nil {
		return d.bridgeInput(w, ifc, p)
	}
	// 3. A tagged frame nothing took.
	if p.Meta.NTags > 0 {
		ifc.Counters.Drop(packet.DropNoVLAN)
		return false
	}
	// 4. The host's own interfaces.
	if ifc.stack {
		return d.stackInput(w, ifc, p)
	}
	ifc.Counters.Drop(packet.DropUnclaimed)
	return false
}

// output is ether output on ifc. It borrows p and restores its frame
// before returning (a pushed tag is popped again), so that flooding can
// send one buffer out of several interfaces.
func (d *Dataplane) output(w *worker, ifc *Interface, p *packet.Packet) {
	if !ifc.Up {
		ifc.Counters.Drop(packet.DropDown)
		return
	}
	switch {
	case ifc.parent != nil:
		prio := p.Prio
		if ifc.txprio >= 0 {
			prio = uint8(ifc.txprio)
		}
		w.tally.Out(&ifc.Counters, p.Len())
		ifc.capture(p, w.now, true)
		if w.depth > 2 {
			ifc.Counters.Drop(packet.DropTooManyTags)
			return
		}
		if !pushTag(p, ifc.tpid, uint16(prioToPCP(prio))<<13|ifc.vid) {
			ifc.Counters.Drop(packet.DropMalformed)
			return
		}
		w.depth++
		d.output(w, ifc.parent, p)
		w.depth--
		popTag(p)
	case ifc.port != nil:
		if !ifc.offload && (p.GSO.Type != 0 || p.GSO.NeedsCsum) {
			d.writeSegments(w, ifc, p)
			return
		}
		d.write(w, ifc, p)
	case ifc.bridge != nil:
		d.hostOutput(w, ifc, p)
	default:
		ifc.Counters.Drop(packet.DropUnclaimed)
	}
}

// writeSegments writes p to the port of ifc, which takes no offloads: a
// partial checksum is completed, a super-frame is cut into frames of the
// interface's MTU. It borrows p.
func (d *Dataplane) writeSegments(w *worker, ifc *Interface, p *packet.Packet) {
	n, err := gso.Finish(p, ifc.MTU, w.segs, d.pool)
	if err != nil {
		ifc.Counters.Drop(packet.DropMalformed)
		return
	}
	if n == 0 {
		d.write(w, ifc, p)
		return
	}
	for _, s := range w.segs[:n] {
		d.write(w, ifc, s)
		d.pool.Put(s)
	}
	clear(w.segs[:n])
}

// write sends one frame out of the port of ifc. It borrows p.
func (d *Dataplane) write(w *worker, ifc *Interface, p *packet.Packet) {
	// The frame leaves now: a packet the stack held for ARP carries the
	// time it arrived, and replay writes the time it was sent.
	p.Stamp = w.now
	w.one[0] = p
	// A port takes one writer at a time, and under Run every reader may
	// write to any port. A single-threaded caller (replay, benchmarks)
	// or one that serializes writes itself (the daemon) needs no lock.
	var n int
	var err error
	if d.lockWrites {
		ifc.wmu.Lock()
		n, err = ifc.port.WriteBatch(w.one)
		ifc.wmu.Unlock()
	} else {
		n, err = ifc.port.WriteBatch(w.one)
	}
	if n != 1 || err != nil {
		ifc.Counters.Drop(packet.DropWriteError)
	} else {
		w.tally.Out(&ifc.Counters, p.Len())
		ifc.capture(p, w.now, true)
	}
	w.one[0] = nil
}

// fitsMTU reports whether p's frame fits ifc's MTU: its length less the
// Ethernet header and any tags it carries.
func fitsMTU(ifc *Interface, p *packet.Packet) bool {
	if p.GSO.Type != 0 || ifc.MTU == 0 {
		return true
	}
	return p.Len()-header.EthernetSize-4*int(p.Meta.NTags) <= ifc.MTU
}
