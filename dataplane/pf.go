package dataplane

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/hostnet/hostnet/dataplane/config"
	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/filter"
	"github.com/hostnet/hostnet/filter/pfconf"
)

// PFOptions returns what pf.conf's parser needs to know of the host spec
// describes: every interface with its addresses and groups (its kind's
// group for cloned interfaces, vm.conf's groups, egress for the interfaces
// on a gateway's network), and the VMs with their first tap.
func PFOptions(spec *config.Spec) pfconf.ParseOptions {
	opts := pfconf.ParseOptions{Dir: spec.Dir}
	for i := range spec.Interfaces {
		ci := &spec.Interfaces[i]
		pi := pfconf.Interface{Name: ci.Name, Groups: groupsOf(ci)[1:], Broadcast: ci.Kind != config.Bridge}
		for _, a := range ci.Inet {
			pi.Addrs = append(pi.Addrs, pfconf.IfAddr{Addr: a.Prefix.Addr(), Bits: a.Prefix.Bits(), Peer: a.Dest})
		}
		for _, a := range ci.Inet6 {
			pi.Addrs = append(pi.Addrs, pfconf.IfAddr{Addr: a.Prefix.Addr(), Bits: a.Prefix.Bits(), Peer: a.Dest})
		}
		if isEgress(spec, ci) {
			pi.Groups = append(pi.Groups, "egress")
		}
		opts.Interfaces = append(opts.Interfaces, pi)
	}
	for _, vm := range spec.VMs {
		v := pfconf.VM{Name: vm.Name}
		if len(vm.Interfaces) > 0 {
			v.If = vm.Interfaces[0].IfName
		}
		opts.VMs = append(opts.VMs, v)
	}
	return opts
}

// isEgress reports whether the default route leaves by ci: a gateway of
// mygate is on one of its networks.
func isEgress(spec *config.Spec, ci *config.Interface) bool {
	for _, gw := range spec.Gateways {
		for _, a := range ci.Inet {
			if a.Prefix.Masked().Contains(gw) {
				return true
			}
		}
		for _, a := range ci.Inet6 {
			if a.Prefix.Masked().Contains(gw) {
				return true
			}
		}
	}
	return false
}

// LoadPF parses pf.conf in the configuration directory of spec, with the
// anchor files it loads. It returns nil and no error when there is no
// pf.conf: the dataplane then filters nothing.
func LoadPF(spec *config.Spec) (*pfconf.Spec, error) {
	if _, err := os.Stat(filepath.Join(spec.Dir, "pf.conf")); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return pfconf.Load(spec.Dir, "pf.conf", PFOptions(spec))
}

// pfInterfaces is the interface table as pf sees it.
func (d *Dataplane) pfInterfaces(spec *config.Spec) []filter.Interface {
	var out []filter.Interface
	for i, ifc := range d.ifs {
		groups := slices.Clone(ifc.Groups)
		if isEgress(spec, &spec.Interfaces[i]) {
			groups = append(groups, "egress")
		}
		out = append(out, filter.Interface{Index: int(ifc.Index), Name: ifc.Name, Groups: groups, Addrs: ifc.Addrs})
	}
	return out
}

// newPF compiles pf for d: opts.PF, or pf.conf of spec's directory, into
// opts.Filter (kept across reloads, with its states) or a new filter.
func (d *Dataplane) newPF(spec *config.Spec, opts Options) error {
	ps := opts.PF
	if ps == nil {
		var err error
		if ps, err = LoadPF(spec); err != nil {
			return err
		}
	}
	if ps == nil {
		return nil
	}
	f := opts.Filter
	if f == nil {
		f = filter.NewFilter(filter.Options{Pool: d.pool, Log: opts.Pflog})
	}
	rs, err := filter.Compile(ps, filter.Env{Interfaces: d.pfInterfaces(spec), Seed: opts.Seed})
	if err != nil {
		return fmt.Errorf("dataplane: pf.conf: %w", err)
	}
	f.Load(rs)
	d.pf = f
	return nil
}

// Filter returns pf, nil when the configuration has no pf.conf.
func (d *Dataplane) Filter() *filter.Filter { return d.pf }

// pfTest runs pf on p in direction dir on ifc (DESIGN.md section 3): pf
// sees untagged IPv4 and IPv6; ARP, other EtherTypes and tagged frames
// crossing a bridge pass. It reports whether p goes on, and whether pf
// took it (a fragment held for reassembly). A `block return` answer is
// sent back out of ifc, unfiltered. pfTest borrows p unless it took it.
func (d *Dataplane) pfTest(w *worker, dir filter.Dir, ifc *Interface, p *packet.Packet) (pass, taken bool) {
	return d.pfTestBack(w, dir, ifc, ifc, p)
}

// pfTestBack is pfTest with the interface a `block return` answer goes
// back out of: toward the sender, the receiving member for a bridged
// packet pf blocks out on its destination.
func (d *Dataplane) pfTestBack(w *worker, dir filter.Dir, ifc, back *Interface, p *packet.Packet) (pass, taken bool) {
	if d.pf == nil || p.Meta.NTags != 0 || (p.Meta.EtherType != header.EtherTypeIPv4 && p.Meta.EtherType != header.EtherTypeIPv6) {
		return true, false
	}
	r := d.pf.TestReply(dir, int(ifc.Index), p, w.reply, int64(w.sec))
	switch r.Verdict {
	case packet.Pass:
		return true, false
	case packet.Taken:
		return false, true
	}
	ifc.Counters.Drop(r.Reason)
	if r.Reply {
		d.sendReply(w, back, p)
	}
	return false, false
}

// sendReply sends pf's answer in w.reply (an IP packet) out of ifc to
// the sender of p, with an Ethernet header: from ifc's own MAC for an
// interface of the host's stack, else from the address p was sent to.
func (d *Dataplane) sendReply(w *worker, ifc *Interface, p *packet.Packet) {
	r := w.reply
	defer r.Reset()
	f := header.Ethernet(p.Bytes())
	b, ok := r.Push(header.EthernetSize)
	if !ok {
		return
	}
	e := header.Ethernet(b)
	e.SetDst(f.Src())
	if ifc.stack {
		e.SetSrc(ifc.MAC)
	} else {
		e.SetSrc(f.Dst())
	}
	if header.IPv4(b[header.EthernetSize:])[0]>>4 == 6 {
		e.SetType(header.EtherTypeIPv6)
	} else {
		e.SetType(header.EtherTypeIPv4)
	}
	packet.Parse(r)
	sw := d.spareWorker(w.now)
	d.output(sw, ifc, r)
	d.putSpare(sw)
}

// stackFilter is pf as the host's stack calls it: out on the interface a
// routed packet leaves by (l3.Filter).
type stackFilter struct{ d *Dataplane }

// In implements l3.Filter; the dataplane runs pf in itself.
func (s stackFilter) In(int, *packet.Packet) packet.Verdict { return packet.Pass }

// Out implements l3.Filter: pf out on interface ifindex. Translation
// happens here, on state creation, for routed packets (nat-to on em0).
func (s stackFilter) Out(ifindex int, p *packet.Packet) packet.Verdict {
	w := s.d.spareWorker(s.d.stack.clock.Load())
	defer s.d.putSpare(w)
	return w.Out(ifindex, p)
}

// Out implements l3.Tx: pf out on interface ifindex for a packet the
// stack forwards while w runs its input.
func (w *worker) Out(ifindex int, p *packet.Packet) packet.Verdict {
	d := w.d
	if d.pf == nil || ifindex < 0 || ifindex >= len(d.ifs) {
		return packet.Pass
	}
	r := d.pf.TestReply(filter.Out, ifindex, p, w.reply, int64(w.sec))
	if r.Verdict == packet.Drop && r.Reply && int(p.InPort) < len(d.ifs) {
		// The answer goes back the way the packet came: out of the
		// stack interface it was received on (stackInput set InPort),
		// whose MAC the sender knows. The stack counts the drop.
		d.sendReply(w, d.ifs[p.InPort], p)
	}
	return r.Verdict
}
