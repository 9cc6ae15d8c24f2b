package dataplane

import (
	"fmt"
	"net/netip"
	"sync/atomic"

	"github.com/hostnet/hostnet/dataplane/config"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/filter"
	"github.com/hostnet/hostnet/l3"
)

// stack joins the host's IP stack (l3.Router) to the frame path: frames
// for the host go to Router.Input, frames the stack sends come back
// through Output as ether output on their interface.
type stack struct {
	d     *Dataplane
	r     *l3.Router
	clock atomic.Int64 // the latest batch clock, for frames the stack sends from timers
}

// Router returns the host's IP stack, for introspection (routes, ARP and
// neighbour caches). It is nil when no interface has an address.
func (d *Dataplane) Router() *l3.Router {
	if d.stack == nil {
		return nil
	}
	return d.stack.r
}

// newStack builds the host's IP stack over the interfaces of d that have
// one, with the routes of spec.
func (d *Dataplane) newStack(spec *config.Spec, opts Options) error {
	s := &stack{d: d}
	s.clock.Store(opts.Start)
	s.r = l3.NewRouter(l3.Config{
		Pool:        d.pool,
		Output:      s,
		Filter:      stackFilter{d},
		Forwarding4: spec.Sysctl.IPForwarding,
		Forwarding6: spec.Sysctl.IP6Forwarding,
		Seed:        opts.Seed,
	})
	d.stack = s
	for _, ifc := range d.ifs {
		if !ifc.stack {
			continue
		}
		err := s.r.AddInterface(int(ifc.Index), l3.Interface{Name: ifc.Name, MAC: ifc.MAC, MTU: ifc.MTU, Addrs: ifc.Addrs})
		if err != nil {
			return fmt.Errorf("dataplane: %w", err)
		}
	}
	for _, gw := range spec.Gateways {
		def := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		if gw.Is6() {
			def = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
		if err := s.r.AddRoute(def, gw); err != nil {
			return fmt.Errorf("dataplane: mygate %s: %w", gw, err)
		}
	}
	return nil
}

// Output implements l3.Output: ether output on interface ifindex for a
// frame the stack sends on its own (a reply, a timer's), with a spare
// worker. It takes p.
func (s *stack) Output(ifindex int, p *packet.Packet) {
	w := s.d.spareWorker(s.clock.Load())
	w.Output(ifindex, p)
	s.d.putSpare(w)
}

// Output implements l3.Tx: ether output on interface ifindex for a frame
// the stack forwards while w runs its input. It takes p.
func (w *worker) Output(ifindex int, p *packet.Packet) {
	d := w.d
	if ifindex < 0 || ifindex >= len(d.ifs) {
		d.pool.Put(p)
		return
	}
	if p.Meta.Kind == packet.KindUnknown {
		// What the stack builds (replies, errors, ARP) is not parsed
		// yet; what it forwards is, and stays so through its rewrites.
		packet.Parse(p)
	}
	d.output(w, d.ifs[ifindex], p)
	w.put(p)
}

// Tally implements l3.Tx: the stack counts into the batch's tally.
func (w *worker) Tally() *packet.Tally { return w.tally }

// stackInput hands a frame to the host's IP stack on ifc and reports
// whether the stack took it; if not, the caller still owns p.
func (d *Dataplane) stackInput(w *worker, ifc *Interface, p *packet.Packet) bool {
	if d.stack == nil || !ifc.stack {
		ifc.Counters.Drop(packet.DropUnclaimed)
		return false
	}
	// The packet is received on the stack's interface (vether0 for a
	// frame the bridge delivered), as received-on and pf's answers see it.
	p.InPort = ifc.Index
	// IP input: pf in on the interface the stack receives on.
	if pass, taken := d.pfTest(w, filter.In, ifc, p); !pass {
		return taken
	}
	// The stack's output goes through w unless w is in the middle of a
	// flood, whose targets a second flood would overwrite.
	var tx l3.Tx
	if w.floods == 0 {
		tx = w
	}
	d.stack.r.Input(tx, p, int(ifc.Index), w.now)
	return true
}
