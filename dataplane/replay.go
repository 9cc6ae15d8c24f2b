package dataplane

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/hostnet/hostnet/dataplane/config"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/dataplane/pcapport"
	"github.com/hostnet/hostnet/filter"
)

// ReplayInput is one capture fed to one interface.
type ReplayInput struct {
	Interface string
	Path      string
}

// ReplayOptions tune a replay.
type ReplayOptions struct {
	// Seed seeds every random choice (NAT ports, pf probability), so that a
	// replay is byte-identical run to run.
	Seed int64
	// Pflog, when set, receives the packets of pf rules with `log`.
	Pflog *filter.Pflog
	// Progress, when set, receives a line every ProgressEvery frames.
	Progress      io.Writer
	ProgressEvery int
}

// ReplayResult is what a replay did.
type ReplayResult struct {
	Frames  int      // frames read from all inputs
	Written []string // output files, sorted
	Stats   []Stats  // per interface, sorted by name
}

// Replay builds the interfaces of spec, puts a pcap port on every
// interface that has a port (host NICs, taps), feeds the inputs in
// timestamp order (ties in the order given) with the clock taken from the
// packet timestamps, and writes OUTDIR/IF.pcap for every port that sent at
// least one frame. Single-threaded and deterministic: the same inputs give
// byte-identical outputs.
//
// It fails before reading any frame if an input names an interface that is
// not in spec or has no port, or if a file cannot be opened.
func Replay(spec *config.Spec, inputs []ReplayInput, outDir string, opts ReplayOptions) (*ReplayResult, error) {
	type source struct {
		in   ReplayInput
		ifc  *Interface
		r    *pcapport.Reader
		head *packet.Packet
	}
	// Every interface named must exist and have a port.
	for _, in := range inputs {
		ci := spec.Interface(in.Interface)
		if ci == nil {
			return nil, fmt.Errorf("replay: -r %s=%s: no interface %q in the configuration", in.Interface, in.Path, in.Interface)
		}
		if k := kindFrom(ci.Kind); !k.HasPort() {
			return nil, fmt.Errorf("replay: -r %s=%s: %s is a %s interface, which has no port to feed; give a tap or host NIC", in.Interface, in.Path, in.Interface, k)
		}
	}
	pool := packet.NewPool()
	var srcs []*source
	closeAll := func() {
		for _, s := range srcs {
			s.r.Close()
			if s.head != nil {
				pool.Put(s.head)
			}
		}
	}
	defer closeAll()
	next := func(s *source) error {
		p := pool.Get()
		if err := s.r.Next(p); err != nil {
			pool.Put(p)
			s.head = nil
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		s.head = p
		return nil
	}
	start := int64(0)
	for _, in := range inputs {
		r, err := pcapport.Open(in.Path)
		if err != nil {
			return nil, fmt.Errorf("replay: %w", err)
		}
		s := &source{in: in, r: r}
		srcs = append(srcs, s)
		if err := next(s); err != nil {
			return nil, fmt.Errorf("replay: %w", err)
		}
		if s.head != nil && (start == 0 || s.head.Stamp < start) {
			start = s.head.Stamp
		}
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	outs := map[string]*outPort{}
	d, err := New(spec, Options{
		Pool:  pool,
		Pflog: opts.Pflog,
		Seed:  uint64(opts.Seed),
		Start: start,
		Port: func(ifc *Interface) (packet.Port, error) {
			o := &outPort{path: filepath.Join(outDir, ifc.Name+".pcap")}
			outs[ifc.Name] = o
			return o, nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	for _, s := range srcs {
		s.ifc, _ = d.Interface(s.in.Interface)
	}
	w := d.NewWorker()
	res := &ReplayResult{}
	for {
		var best *source
		for _, s := range srcs {
			if s.head != nil && (best == nil || s.head.Stamp < best.head.Stamp) {
				best = s
			}
		}
		if best == nil {
			break
		}
		p := best.head
		d.Tick(p.Stamp)
		w.SetClock(p.Stamp)
		w.Input(best.ifc, p)
		res.Frames++
		if opts.Progress != nil && opts.ProgressEvery > 0 && res.Frames%opts.ProgressEvery == 0 {
			fmt.Fprintf(opts.Progress, "replay: %d frames\n", res.Frames)
		}
		if err := next(best); err != nil {
			return nil, fmt.Errorf("replay: %w", err)
		}
	}
	var firstErr error
	for name, o := range outs {
		if o.w != nil {
			if err := o.w.Close(); err != nil && firstErr == nil {
				firstErr = fmt.Errorf("replay: %s: %w", name, err)
			}
			res.Written = append(res.Written, o.path)
		}
		if o.err != nil && firstErr == nil {
			firstErr = fmt.Errorf("replay: %s: %w", name, o.err)
		}
	}
	sort.Strings(res.Written)
	res.Stats = d.Stats()
	return res, firstErr
}

// outPort is a replay's port on a tap or host NIC: it reads nothing and
// writes to a pcap file created on the first frame.
type outPort struct {
	path string
	w    *pcapport.Writer
	err  error
}

// ReadBatch implements packet.Port: a replay's ports are fed by Replay.
func (o *outPort) ReadBatch([]*packet.Packet) (int, error) { return 0, io.EOF }

// WriteBatch implements packet.Port.
func (o *outPort) WriteBatch(pkts []*packet.Packet) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	if o.w == nil {
		o.w, o.err = pcapport.Create(o.path)
		if o.err != nil {
			return 0, o.err
		}
	}
	return o.w.WriteBatch(pkts)
}

// Close implements packet.Port; Replay closes the writer itself.
func (o *outPort) Close() error { return nil }
