package dataplane

import (
	"fmt"

	"github.com/hostnet/hostnet/dataplane/config"
	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/filter"
	"github.com/hostnet/hostnet/l2"
)

// bridge joins an l2.Bridge, which decides, to the interfaces it decides
// about.
type bridge struct {
	ifc     *Interface
	br      *l2.Bridge
	members []*Interface // by l2 member index, span ports included
}

// Bridge returns the l2 bridge of a bridge interface, nil for any other.
func (d *Dataplane) Bridge(name string) *l2.Bridge {
	for _, b := range d.bridges {
		if b.ifc.Name == name {
			return b.br
		}
	}
	return nil
}

// newBridge builds the bridge ci describes over the interfaces of d.
func (d *Dataplane) newBridge(ifc *Interface, ci *config.Interface) (*bridge, error) {
	b := &bridge{ifc: ifc}
	var ms []l2.Member
	rulesOf := func(name string) []l2.Rule {
		var rs []l2.Rule
		for _, r := range ci.Rules {
			if r.If == name {
				rs = append(rs, ruleFrom(r))
			}
		}
		return rs
	}
	for _, m := range ci.Members {
		mi, ok := d.byName[m.Name]
		if !ok {
			return nil, fmt.Errorf("dataplane: %s: member %s is not an interface", ci.Name, m.Name)
		}
		if mi.bridge != nil {
			return nil, fmt.Errorf("dataplane: %s: %s is already a member of %s", ci.Name, m.Name, mi.bridge.ifc.Name)
		}
		if mi.Kind == KindBridge {
			return nil, fmt.Errorf("dataplane: %s: a bridge (%s) cannot be a member of a bridge", ci.Name, m.Name)
		}
		var prot uint32
		for _, id := range m.Protected {
			prot |= 1 << id
		}
		ms = append(ms, l2.Member{
			Name:       m.Name,
			MAC:        mi.MAC,
			Stack:      mi.stack,
			NoLearn:    !m.Learn,
			NoDiscover: !m.Discover,
			BlockNonIP: m.BlockNonIP,
			Protected:  prot,
			Rules:      rulesOf(m.Name),
		})
		b.members = append(b.members, mi)
	}
	for _, s := range ci.Spans {
		si, ok := d.byName[s]
		if !ok {
			return nil, fmt.Errorf("dataplane: %s: span port %s is not an interface", ci.Name, s)
		}
		ms = append(ms, l2.Member{Name: s, Span: true})
		b.members = append(b.members, si)
	}
	br, err := l2.NewBridge(ci.Name, l2.Config{Timeout: ci.Timeout, MaxAddr: ci.MaxAddr, Link0: ci.Link[0], Link1: ci.Link[1]}, ms)
	if err != nil {
		return nil, fmt.Errorf("dataplane: %w", err)
	}
	b.br = br
	for _, st := range ci.Static {
		i := br.MemberIndex(st.If)
		if i < 0 {
			return nil, fmt.Errorf("dataplane: %s: static %s on %s, which is not a member", ci.Name, st.MAC, st.If)
		}
		if err := br.AddStatic(i, header.MAC(st.MAC)); err != nil {
			return nil, fmt.Errorf("dataplane: %w", err)
		}
	}
	for i, mi := range b.members {
		if i < len(ci.Members) {
			mi.bridge = b
			mi.member = i
		}
	}
	return b, nil
}

func ruleFrom(r config.BridgeRule) l2.Rule {
	out := l2.Rule{TagName: r.Tag}
	if r.Action == config.Block {
		out.Action = l2.RuleBlock
	}
	switch r.Dir {
	case config.DirIn:
		out.Dir = l2.DirIn
	case config.DirOut:
		out.Dir = l2.DirOut
	default:
		out.Dir = l2.DirBoth
	}
	if r.Src != nil {
		out.Src, out.MatchSrc = header.MAC(*r.Src), true
	}
	if r.Dst != nil {
		out.Dst, out.MatchDst = header.MAC(*r.Dst), true
	}
	if a := r.ARP; a != nil {
		out.ARP = l2.ARPOnly
		if a.RARP {
			out.ARP = l2.RARP
		}
		switch a.Op {
		case config.ARPRequest:
			out.Op = l2.OpRequest
		case config.ARPReply:
			out.Op = l2.OpReply
		}
		if a.SHA != nil {
			out.SHA, out.MatchSHA = header.MAC(*a.SHA), true
		}
		if a.THA != nil {
			out.THA, out.MatchTHA = header.MAC(*a.THA), true
		}
		out.SPA, out.TPA = a.SPA, a.TPA
	}
	return out
}

// bridgeInput is a frame received on ifc, a member of a bridge, as
// bridge_process and bridgeintr_frame handle it. It reports whether it
// took p (delivered to a stack).
func (d *Dataplane) bridgeInput(w *worker, ifc *Interface, p *packet.Packet) bool {
	b := ifc.bridge
	dec := b.br.Input(p, ifc.member, w.sec)
	return d.bridgeAct(w, b, ifc, &dec, p)
}

// bridgeAct carries out the bridge's decision about p, in the order
// l2.Decision gives, and reports whether it took p.
func (d *Dataplane) bridgeAct(w *worker, b *bridge, ifc *Interface, dec *l2.Decision, p *packet.Packet) bool {
	if dec.Span {
		for _, s := range b.br.SpanTargets() {
			d.output(w, b.members[s], p)
		}
	}
	if dec.LocalIn {
		d.stackCopy(w, ifc, p)
	}
	if dec.Action == l2.ActionDrop {
		ifc.Counters.Drop(dec.Reason)
		return false
	}
	dec.Apply(p)
	switch dec.Action {
	case l2.ActionLocal:
		to := b.members[dec.Member]
		if to != ifc {
			w.tally.In(&to.Counters, p.Len())
			to.capture(p, w.now, false)
		}
		return d.stackInput(w, to, p)
	}
	// pf in on the receiving member, then out on each destination.
	if pass, taken := d.pfTest(w, filter.In, ifc, p); !pass {
		return taken
	}
	switch dec.Action {
	case l2.ActionForward:
		return d.bridgeOut(w, b, dec, dec.Member, p)
	case l2.ActionFlood:
		w.dsts = b.br.FloodTargets(dec, w.dsts)
		w.floods++
		taken := false
		for _, i := range w.dsts {
			if taken = d.bridgeOut(w, b, dec, i, p); taken {
				break
			}
		}
		w.floods--
		return taken
	}
	return false
}

// bridgeOut sends p, which the bridge decided to forward or flood, out of
// member i: the bridge's output checks, pf out, the MTU, then ether
// output; a broadcast or multicast also reaches the member's stack. It
// borrows p, and reports whether pf took it.
func (d *Dataplane) bridgeOut(w *worker, b *bridge, dec *l2.Decision, i int, p *packet.Packet) (taken bool) {
	out := b.members[i]
	if ok, reason := b.br.OutputAllowed(p, dec, i); !ok {
		out.Counters.Drop(reason)
		return false
	}
	if dec.Group && out.stack && !dec.Host {
		w.tally.In(&out.Counters, p.Len())
		out.capture(p, w.now, false)
		d.stackCopy(w, out, p)
	}
	if out.port == nil && out.parent == nil {
		// A member without a port of its own (vether0) sends nowhere:
		// its stack got its copy above.
		return false
	}
	if !dec.Host {
		if pass, taken := d.pfTestBack(w, filter.Out, out, b.members[dec.In], p); !pass {
			// XXX pf out keeps a fragment it holds for reassembly
			// (only when pf in was skipped): the rest of a flood
			// then goes without it.
			return taken
		}
	}
	if !fitsMTU(out, p) {
		out.Counters.Drop(packet.DropMTU)
		return false
	}
	d.output(w, out, p)
	return false
}

// hostOutput is a frame that the stack of ifc, a bridge member, sends into
// its bridge (bridge_enqueue). It borrows p.
func (d *Dataplane) hostOutput(w *worker, ifc *Interface, p *packet.Packet) {
	b := ifc.bridge
	w.tally.Out(&ifc.Counters, p.Len())
	ifc.capture(p, w.now, true)
	dec := b.br.HostOutput(p, ifc.member)
	if dec.Span {
		for _, s := range b.br.SpanTargets() {
			d.output(w, b.members[s], p)
		}
	}
	switch dec.Action {
	case l2.ActionDrop:
		ifc.Counters.Drop(dec.Reason)
	case l2.ActionForward:
		d.bridgeOut(w, b, &dec, dec.Member, p)
	case l2.ActionFlood:
		w.dsts = b.br.FloodTargets(&dec, w.dsts)
		w.floods++
		for _, i := range w.dsts {
			d.bridgeOut(w, b, &dec, i, p)
		}
		w.floods--
	}
}

// stackCopy gives the stack of ifc a copy of p. It borrows p.
func (d *Dataplane) stackCopy(w *worker, ifc *Interface, p *packet.Packet) {
	c := d.pool.Get()
	c.CopyFrom(p)
	if !d.stackInput(w, ifc, c) {
		d.pool.Put(c)
	}
}

// Tick runs what is due at ns nanoseconds since the Unix epoch: the
// bridges' aging sweeps, the stack's ARP and neighbour timers, pf's state
// expiry. It is for one caller at a time: a timer in the
// daemon, the replay loop before each frame.
func (d *Dataplane) Tick(ns int64) {
	sec := uint32(ns / 1e9)
	for _, b := range d.bridges {
		b.br.Tick(sec)
	}
	if s := d.stack; s != nil {
		if s.clock.Load() < ns {
			s.clock.Store(ns)
		}
		s.r.Tick(ns)
	}
	if d.pf != nil {
		d.pf.Purge(ns / 1e9)
	}
}
