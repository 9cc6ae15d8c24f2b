package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hostnet/hostnet/dataplane"
	"github.com/hostnet/hostnet/dataplane/afpacket"
	"github.com/hostnet/hostnet/dataplane/config"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/dataplane/tap"
	"github.com/hostnet/hostnet/filter"
)

// The daemon's frame path:
//
//  1. Every tap and host NIC port is a livePort, owned by the daemon, with
//     one reader goroutine. Ports outlive configurations: a reload reuses
//     the open port of every interface that is still there.
//  2. The running configuration is a generation: the Spec and the
//     Dataplane built from it, published through an atomic.Pointer.
//  3. A reader reads a batch, loads the current generation and, when its
//     number changed since the last batch, makes a new Worker and looks its
//     interface up again; then it runs the batch through Worker.Input.
//  4. Reload builds the next Dataplane aside, with a port factory that
//     hands it the open ports, swaps it in whole, carries the learned MACs
//     of bridges of the same name over (l2.Bridge.Adopt), and closes the
//     ports of interfaces that are gone. A reload that fails changes
//     nothing.

// generation is one loaded configuration.
type generation struct {
	n    uint64
	spec *config.Spec
	dp   *dataplane.Dataplane
}

// livePort is the port of one tap or host NIC.
type livePort struct {
	name    string
	kind    dataplane.Kind
	port    packet.Port // reads and writes: a *tap.Queue or an *afpacket.Port
	closer  io.Closer   // the device: a *tap.Tap or the *afpacket.Port
	desc    string      // for logs and ifconfig -v: "tap, created, vnet csum,tso4,tso6"
	created bool        // a tap hostnet created (not there before it started)

	// remove, when set, is called after the port is closed: the
	// persistent tap hostnet created for a hypervisor is deleted.
	remove func() error

	wmu    sync.Mutex  // serializes writers: a port has one writer at a time
	dead   atomic.Bool // deleted from outside: reopened by the next reload
	closed atomic.Bool
	done   chan struct{} // closed when the reader has stopped
}

// view is the port the dataplane sees: writes are serialized, reads are
// the daemon's, and Close is the daemon's too, so that a dataplane that is
// dropped or fails to build never closes a port another one uses.
type portView struct{ lp *livePort }

// ReadBatch implements packet.Port: the daemon's reader reads the port.
func (v portView) ReadBatch([]*packet.Packet) (int, error) { return 0, io.EOF }

// WriteBatch implements packet.Port. It borrows the packets.
func (v portView) WriteBatch(pkts []*packet.Packet) (int, error) {
	v.lp.wmu.Lock()
	n, err := v.lp.port.WriteBatch(pkts)
	v.lp.wmu.Unlock()
	return n, err
}

// Close implements packet.Port: the daemon closes ports itself.
func (v portView) Close() error { return nil }

// VnetHdr reports whether the port takes super-frames and partial
// checksums, so that the dataplane sends them whole.
func (v portView) VnetHdr() bool {
	x, ok := v.lp.port.(interface{ VnetHdr() bool })
	return ok && x.VnetHdr()
}

// close closes the port once; a reader blocked on it returns.
func (lp *livePort) close() error {
	if lp.closed.Swap(true) {
		return nil
	}
	c := lp.closer
	if c == nil {
		c = lp.port
	}
	err := c.Close()
	if lp.remove != nil {
		if rerr := lp.remove(); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// daemon is `hostnet run`.
type daemon struct {
	dir  string
	log  *slog.Logger
	pool *packet.Pool
	seed []byte

	// open opens the port of a tap or host NIC; nil means openPort. It
	// returns nil and no error for a host NIC that is not there.
	open func(ifc *dataplane.Interface) (*livePort, error)
	// pflog, when set, receives the packets of pf rules with `log`.
	pflog *filter.Pflog
	// hypervisor leaves the taps' descriptors to a hypervisor: each tap is
	// made persistent and attached by AF_PACKET on its host side.
	hypervisor bool

	cur atomic.Pointer[generation]
	// pf is kept across reloads: its states survive, as pfctl -f keeps
	// them.
	pf *filter.Filter

	mu      sync.Mutex // serializes reloads, captures and close
	ports   map[string]*livePort
	caps    map[string]*capHub
	closing bool

	wg   sync.WaitGroup // readers and the ticker
	stop chan struct{}
}

// newDaemon loads dir and opens its ports. Nothing runs yet.
func newDaemon(dir string, log *slog.Logger) *daemon {
	host, _ := os.Hostname()
	return &daemon{
		dir:   dir,
		log:   log,
		pool:  packet.NewPool(),
		seed:  []byte(host),
		ports: map[string]*livePort{},
		caps:  map[string]*capHub{},
		stop:  make(chan struct{}),
	}
}

// start loads the configuration, opens its ports and starts the readers
// and the ticker.
func (d *daemon) start() error {
	if _, err := d.reload(); err != nil {
		return err
	}
	d.wg.Add(1)
	go d.ticker()
	return nil
}

// current returns the running generation.
func (d *daemon) current() *generation { return d.cur.Load() }

// reload loads the configuration directory again and swaps it in whole,
// or changes nothing and returns why. It returns a one-line summary.
func (d *daemon) reload() (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closing {
		return "", errors.New("shutting down")
	}
	spec, warns, err := config.Load(d.dir)
	for _, w := range warns {
		d.log.Warn("config", "warning", w.String())
	}
	old := d.cur.Load()
	if err != nil {
		if old != nil {
			return "", fmt.Errorf("%s: %w\nreload failed: the running configuration is unchanged", d.dir, err)
		}
		return "", fmt.Errorf("%s: %w", d.dir, err)
	}
	opened := map[string]*livePort{}
	factory := func(ifc *dataplane.Interface) (packet.Port, error) {
		if lp := d.ports[ifc.Name]; lp != nil && !lp.dead.Load() && lp.kind == ifc.Kind {
			return portView{lp}, nil
		}
		lp, err := d.openPort(ifc)
		if err != nil {
			return nil, err
		}
		if lp == nil {
			return nil, nil
		}
		opened[ifc.Name] = lp
		return portView{lp}, nil
	}
	if d.pf == nil {
		d.pf = filter.NewFilter(filter.Options{Pool: d.pool, Log: d.pflog})
	}
	dp, err := dataplane.New(spec, dataplane.Options{Port: factory, Pool: d.pool, Logger: d.log, MACSeed: d.seed,
		Start: time.Now().UnixNano(), Seed: rand.Uint64(), Filter: d.pf})
	if err != nil {
		for _, lp := range opened {
			lp.close()
		}
		if old != nil {
			return "", fmt.Errorf("%w\nreload failed: the running configuration is unchanged", err)
		}
		return "", err
	}
	if f := dp.Filter(); f != nil {
		f.MarkRunning(time.Now().Unix()) // pfctl -si's "Status: Enabled for"
	}
	g := &generation{spec: spec, dp: dp}
	if old != nil {
		g.n = old.n + 1
	}
	for name, h := range d.caps {
		if ifc, ok := dp.Interface(name); ok && h.active() {
			ifc.SetCapture(h.capture)
		}
	}
	d.cur.Store(g)

	// What was learned stays learned. Adopt keeps an address the new
	// table learned since the swap.
	adopted := 0
	if old != nil {
		for _, ifc := range dp.Interfaces() {
			nb, ob := dp.Bridge(ifc.Name), old.dp.Bridge(ifc.Name)
			if nb != nil && ob != nil {
				adopted += nb.Adopt(ob)
			}
		}
	}
	for name, lp := range opened {
		if prev := d.ports[name]; prev != nil {
			prev.close() // a dead port replaced
		}
		d.ports[name] = lp
		d.startReader(lp)
	}
	var removed []string
	for name, lp := range d.ports {
		// Gone from the configuration, or dead and not there to reopen.
		if ifc, ok := dp.Interface(name); !ok || !ifc.Kind.HasPort() || lp.dead.Load() {
			lp.close()
			delete(d.ports, name)
			removed = append(removed, name)
		}
	}
	sort.Strings(removed)
	var added []string
	for name := range opened {
		added = append(added, name)
	}
	sort.Strings(added)
	var summary string
	if old == nil {
		summary = fmt.Sprintf("loaded %s: %d interfaces, %d VMs, %d ports", d.dir, len(spec.Interfaces), len(spec.VMs), len(d.ports))
		d.log.Info("configuration loaded", "dir", d.dir, "interfaces", len(spec.Interfaces), "vms", len(spec.VMs), "ports", len(d.ports))
	} else {
		summary = fmt.Sprintf("reloaded %s: %d interfaces, %d VMs; ports opened: %s; closed: %s; %d learned addresses kept",
			d.dir, len(spec.Interfaces), len(spec.VMs), listOrNone(added), listOrNone(removed), adopted)
		d.log.Info("configuration reloaded", "dir", d.dir, "generation", g.n, "opened", added, "closed", removed, "adopted", adopted)
	}
	return summary, nil
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ",")
}

// openPort opens the port of ifc with d.open or the real backends.
func (d *daemon) openPort(ifc *dataplane.Interface) (*livePort, error) {
	if d.open != nil {
		return d.open(ifc)
	}
	switch {
	case ifc.Kind == dataplane.KindTap && d.hypervisor:
		return d.openHypervisorTap(ifc)
	case ifc.Kind == dataplane.KindTap:
		t, err := tap.Open(ifc.Name, tap.Options{MTU: ifc.MTU})
		if err != nil {
			return nil, err
		}
		// The reader and the writers use the queue itself: the Tap's
		// own ReadBatch and WriteBatch look its queue list up, which
		// Close clears, while the queue is safe to close under them.
		lp := &livePort{name: ifc.Name, kind: ifc.Kind, port: t.Queue(0), closer: t, desc: "tap"}
		if x, ok := any(t).(interface {
			Existed() bool
			Persistent() bool
		}); ok {
			lp.created = !x.Existed()
			switch {
			case lp.created:
				lp.desc += ", created"
			case x.Persistent():
				lp.desc += ", persistent, kept at exit"
			default:
				lp.desc += ", existing"
			}
		}
		if x, ok := any(t).(interface {
			VnetHdr() bool
			Offloads() tap.Offload
		}); ok && x.VnetHdr() {
			lp.desc += ", offloads " + x.Offloads().String()
		}
		d.log.Info("tap opened", "if", ifc.Name, "port", lp.desc)
		return lp, nil
	case ifc.Kind == dataplane.KindEther:
		if _, err := net.InterfaceByName(ifc.Name); err != nil {
			d.log.Warn("host NIC not found: running without its port (frames to it are dropped)", "if", ifc.Name)
			return nil, nil
		}
		p, err := afpacket.Open(ifc.Name, afpacket.Options{})
		if err != nil {
			return nil, err
		}
		lp := &livePort{name: ifc.Name, kind: ifc.Kind, port: p, desc: "af_packet"}
		if x, ok := any(p).(interface{ VnetHdr() bool }); ok && x.VnetHdr() {
			lp.desc += ", vnet header"
		}
		d.log.Info("host NIC attached", "if", ifc.Name, "port", lp.desc)
		return lp, nil
	}
	return nil, fmt.Errorf("%s: a %s interface has no port", ifc.Name, ifc.Kind)
}

// openHypervisorTap makes the tap of ifc for a hypervisor to attach to
// (QEMU: -netdev tap,ifname=tapN,script=no,downscript=no): a persistent
// device, up, that hostnet attaches to by AF_PACKET on its host side. A
// tap hostnet created is deleted when its port is closed; one that was
// there before stays.
func (d *daemon) openHypervisorTap(ifc *dataplane.Interface) (*livePort, error) {
	name, existed, err := tap.Create(ifc.Name, tap.Options{MTU: ifc.MTU})
	if err != nil {
		return nil, err
	}
	p, err := afpacket.Open(name, afpacket.Options{})
	if err != nil {
		if !existed {
			tap.Delete(name)
		}
		return nil, err
	}
	lp := &livePort{name: ifc.Name, kind: ifc.Kind, port: p, desc: "tap for a hypervisor, af_packet"}
	if existed {
		lp.desc += ", existing, kept at exit"
	} else {
		lp.created = true
		lp.desc += ", created"
		lp.remove = func() error {
			if err := tap.Delete(name); err != nil {
				d.log.Warn("tap not removed: a hypervisor still holds it", "if", name, "err", err)
				return err
			}
			return nil
		}
	}
	d.log.Info("tap made for a hypervisor", "if", name, "port", lp.desc)
	return lp, nil
}

// maxReadErrors is how many read errors in a row make a port dead: its
// reader stops and the next reload opens the device again.
const maxReadErrors = 3

// startReader starts lp's reader goroutine.
func (d *daemon) startReader(lp *livePort) {
	lp.done = make(chan struct{})
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer close(lp.done)
		d.read(lp)
	}()
}

// read is the reader of one port: it runs each batch to completion
// through the current generation's dataplane.
func (d *daemon) read(lp *livePort) {
	batch := make([]*packet.Packet, dataplane.BatchSize)
	for i := range batch {
		batch[i] = d.pool.Get()
	}
	var (
		gen     uint64
		w       *dataplane.Worker
		ifc     *dataplane.Interface
		lastLog time.Time
		errs    int // read errors in a row
	)
	defer func() {
		for _, p := range batch {
			d.pool.Put(p)
		}
		if w != nil {
			w.Close()
		}
	}()
	for {
		n, err := lp.port.ReadBatch(batch)
		if n > 0 {
			g := d.cur.Load()
			if w == nil || g.n != gen {
				if w != nil {
					w.Close()
				}
				gen, w = g.n, g.dp.NewWorker()
				ifc, _ = g.dp.Interface(lp.name)
			}
			if ifc != nil {
				// The batch as one: the counters are committed once,
				// and the next packets come from the worker's cache of
				// those it just sent.
				w.SetClock(time.Now().UnixNano())
				w.InputBatch(ifc, batch[:n]) // takes the packets
				for i := range n {
					batch[i] = w.Get()
				}
			}
		}
		if err == nil {
			errs = 0
			continue
		}
		if lp.closed.Load() || errors.Is(err, io.EOF) {
			return
		}
		// A port that is down waits rather than failing, so an error that
		// repeats means the device is gone, whatever the error says.
		errs++
		if errors.Is(err, tap.ErrDeleted) || errors.Is(err, afpacket.ErrDeleted) || errs >= maxReadErrors {
			lp.dead.Store(true)
			d.log.Error("interface deleted from outside: frames to it are dropped until `hostnet reload` recreates it", "if", lp.name, "err", err)
			return
		}
		if time.Since(lastLog) > 10*time.Second {
			d.log.Error("read", "if", lp.name, "err", err)
			lastLog = time.Now()
		}
		select {
		case <-d.stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ticker runs the current dataplane's Tick once a second.
func (d *daemon) ticker() {
	defer d.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case now := <-t.C:
			d.cur.Load().dp.Tick(now.UnixNano())
		}
	}
}

// close stops the readers and closes every port: taps hostnet created go
// away, persistent taps that were there before it stay.
func (d *daemon) close() {
	d.mu.Lock()
	if d.closing {
		d.mu.Unlock()
		return
	}
	d.closing = true
	close(d.stop)
	for name, lp := range d.ports {
		if err := lp.close(); err != nil {
			d.log.Warn("close port", "if", name, "err", err)
		}
	}
	d.mu.Unlock()
	d.wg.Wait()
	d.log.Info("ports closed", "ports", len(d.ports))
}

// handlers returns the control commands the daemon answers.
func (d *daemon) handlers() map[string]handler {
	return map[string]handler{
		"status":   d.handleStatus,
		"ifconfig": d.handleIfconfig,
		"netstat":  d.handleNetstat,
		"arp":      d.handleArp,
		"ndp":      d.handleNdp,
		"reload":   d.handleReload,
		"pfctl":    d.handlePfctl,
	}
}

// streams returns the streaming control commands.
func (d *daemon) streams() map[string]streamPrep {
	return map[string]streamPrep{"tcpdump": d.prepTcpdump}
}

func (d *daemon) handleReload(ctx context.Context, args []string) (string, any, error) {
	if _, err := serverFlags("reload", args, func(*flag.FlagSet) {}); err != nil {
		return "", nil, err
	}
	s, err := d.reload()
	if err != nil {
		return "", nil, err
	}
	g := d.current()
	return s + "\n", map[string]any{"generation": g.n, "summary": s}, nil
}
