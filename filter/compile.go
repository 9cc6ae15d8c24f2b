package filter

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/hostnet/hostnet/filter/pfconf"
	"github.com/hostnet/hostnet/nat"
)

// maxAnchorDepth is pf's PF_ANCHOR_STACK_MAX: deeper nesting makes the
// evaluation fail and the packet is dropped.
const maxAnchorDepth = 64

// Ruleset is a compiled pf.conf: immutable once Compile returns it, except
// for its counters and the interface table the Filter binds to it. It is
// safe for concurrent use.
type Ruleset struct {
	spec    *pfconf.Spec
	env     Env
	main    *ruleset
	anchors map[string]*ruleset

	names   []string // interface and group names rules test, by id
	nameIDs map[string]int32
	dyns    []dynSpec
	dynIDs  map[dynSpec]int
	tags    []string // tag names by id-1
	tagIDs  map[string]uint16
	skip    []string

	timeouts    [pfconf.NumTimeouts]uint32
	limitStates uint32
	ifBound     bool
	reassemble  bool
	nrules      int

	// ifs is the interface table bound to this ruleset: set by Compile
	// from Env, replaced by Filter.SetInterfaces and Filter.Load.
	ifs atomic.Pointer[ifTable]
}

// ruleset is one anchor's (or the main) list of rules.
type ruleset struct {
	path  string
	name  string // last path component, for pflog
	rules []*rule
}

type dynSpec struct {
	name string
	mod  pfconf.IfMod
	bits int // -1: none
}

// Skip step fields, in pf's order (PF_SKIP_*).
const (
	skipIf = iota
	skipDir
	skipAF
	skipProto
	skipSrcAddr
	skipDstAddr
	skipSrcPort
	skipDstPort
	numSkip
)

type addrMatch struct {
	typ    pfconf.AddrType
	not    bool
	prefix netip.Prefix
	from   netip.Addr
	to     netip.Addr
	table  *table
	dyn    int
}

type portMatch struct {
	op   pfconf.PortOp
	a, b uint16
}

func (m portMatch) match(p uint16) bool {
	switch m.op {
	case pfconf.PortNone:
		return true
	case pfconf.PortEq:
		return p == m.a
	case pfconf.PortNe:
		return p != m.a
	case pfconf.PortLt:
		return p < m.a
	case pfconf.PortLe:
		return p <= m.a
	case pfconf.PortGt:
		return p > m.a
	case pfconf.PortGe:
		return p >= m.a
	case pfconf.PortInside: // a >< b: exclusive
		return p > m.a && p < m.b
	case pfconf.PortOutside: // a <> b
		return p < m.a || p > m.b
	case pfconf.PortRange: // a:b inclusive
		return p >= m.a && p <= m.b
	}
	return false
}

// rule is one compiled rule.
type rule struct {
	r        *pfconf.Rule
	rs       *ruleset
	nr       int
	action   pfconf.Action
	quick    bool
	dir      Dir // 0: both
	ifID     int32
	ifNot    bool
	af       uint8 // 0, 4 or 6
	proto    uint8
	src      addrMatch
	dst      addrMatch
	sport    portMatch
	dport    portMatch
	flags    uint8
	mask     uint8
	icmpT    uint8 // type+1
	icmpC    uint8 // code+1
	tos      uint8
	tag      uint16
	tagged   uint16
	tagNot   bool
	rcvID    int32
	rcvNot   bool
	prob     uint32
	frag     bool
	state    bool // keeps state
	sloppy   bool
	ifBound  bool
	log      pfconf.LogFlags
	timeouts [pfconf.NumTimeouts]uint32
	act      actions // scrub (...) and set tos

	nat, rdr *natPool
	children []*ruleset // anchor call: the rulesets it evaluates

	// src tracking
	overload *table

	skip [numSkip]int32

	evaluations atomic.Uint64
	packets     [2]atomic.Uint64 // in, out: stateless passes and blocks, and states' packets when they go
	bytes       [2]atomic.Uint64
	states      atomic.Int64 // current
	creations   atomic.Uint64
}

// natPool is a rule's nat-to or rdr-to target.
type natPool struct {
	pool    *nat.Pool
	ports   nat.PortRange
	portLow uint16 // rdr: first port of the rule's destination range
}

// maxIfIndex is the largest interface index a state can be bound to.
const maxIfIndex = math.MaxInt16

// Compile compiles spec for the interfaces, routes and seed of env. The
// result is immutable and can be given to Filter.Load; its interface table
// follows Filter.SetInterfaces once loaded.
func Compile(spec *pfconf.Spec, env Env) (*Ruleset, error) {
	if spec == nil {
		return nil, errors.New("filter: nil spec")
	}
	for _, i := range env.Interfaces {
		if i.Index > maxIfIndex {
			return nil, fmt.Errorf("filter: interface %s: index %d above %d", i.Name, i.Index, maxIfIndex)
		}
	}
	rs := &Ruleset{
		spec:    spec,
		env:     env,
		anchors: map[string]*ruleset{},
		nameIDs: map[string]int32{},
		dynIDs:  map[dynSpec]int{},
		tagIDs:  map[string]uint16{},
		skip:    spec.Options.Skip,
	}
	rs.setOptions(&spec.Options)
	c := &compiler{rs: rs, spec: spec, tables: map[string]*table{}}
	rs.main = &ruleset{}
	rs.anchors[""] = rs.main
	paths := make([]string, 0, len(spec.Anchors))
	for p := range spec.Anchors {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		name := p
		if i := strings.LastIndexByte(p, '/'); i >= 0 {
			name = p[i+1:]
		}
		rs.anchors[p] = &ruleset{path: p, name: name}
	}
	if err := c.compileRuleset(&spec.Main, rs.main); err != nil {
		return nil, err
	}
	for _, p := range paths {
		if err := c.compileRuleset(spec.Anchors[p], rs.anchors[p]); err != nil {
			return nil, err
		}
	}
	rs.ifs.Store(bind(rs, env))
	for _, pl := range c.ifacePools {
		pl.ifs = &rs.ifs
	}
	return rs, nil
}

// setOptions applies pf's defaults and the `set` options.
func (rs *Ruleset) setOptions(o *pfconf.Options) {
	rs.timeouts = defaultTimeouts
	switch o.Optimization {
	case "high-latency", "satellite":
		copy(rs.timeouts[:6], []uint32{180, 35, 86400, 905, 50, 95})
	case "conservative":
		copy(rs.timeouts[:6], []uint32{3600, 900, 432000, 3600, 600, 180})
	case "aggressive":
		copy(rs.timeouts[:6], []uint32{30, 5, 18000, 60, 30, 30})
	}
	for name, v := range o.Timeouts {
		for i, n := range pfconf.TimeoutNames {
			if n == name {
				rs.timeouts[i] = v
			}
		}
	}
	rs.limitStates = 100000
	if v, ok := o.Limits["states"]; ok {
		rs.limitStates = v
		_, s := o.Timeouts["adaptive.start"]
		_, e := o.Timeouts["adaptive.end"]
		if !s && !e {
			rs.timeouts[tmAdaptiveStart] = v / 10 * 6
			rs.timeouts[tmAdaptiveEnd] = v / 10 * 12
		}
	}
	rs.ifBound = o.StatePolicy == pfconf.StateIfBound
	rs.reassemble = !o.Reassemble.Set || o.Reassemble.On
}

type compiler struct {
	rs         *Ruleset
	spec       *pfconf.Spec
	tables     map[string]*table // by ruleset path + "\x00" + name
	ifacePools []*ifacePool
}

type ifacePool struct {
	dyn int
	ifs *atomic.Pointer[ifTable]
}

func (p *ifacePool) addrs(dst []netip.Addr) []netip.Addr {
	if p.ifs == nil {
		return dst
	}
	return ifaceAddrs{ifs: p.ifs, dyn: p.dyn}.addrs(dst)
}

func (c *compiler) nameID(n string) int32 {
	if id, ok := c.rs.nameIDs[n]; ok {
		return id
	}
	id := int32(len(c.rs.names))
	c.rs.names = append(c.rs.names, n)
	c.rs.nameIDs[n] = id
	return id
}

func (c *compiler) dynID(d dynSpec) int {
	if id, ok := c.rs.dynIDs[d]; ok {
		return id
	}
	id := len(c.rs.dyns)
	c.rs.dyns = append(c.rs.dyns, d)
	c.rs.dynIDs[d] = id
	return id
}

func (c *compiler) tagID(n string) uint16 {
	if n == "" {
		return 0
	}
	if id, ok := c.rs.tagIDs[n]; ok {
		return id
	}
	c.rs.tags = append(c.rs.tags, n)
	id := uint16(len(c.rs.tags))
	c.rs.tagIDs[n] = id
	return id
}

// table returns the compiled table name as seen from ruleset path: the
// anchor's own, else the main ruleset's, else an empty one.
func (c *compiler) table(path, name string) *table {
	src := c.spec.Ruleset(path)
	var t *pfconf.Table
	if src != nil {
		t = src.Table(name)
	}
	key := path + "\x00" + name
	if t == nil {
		t = c.spec.Main.Table(name)
		key = "\x00" + name
	}
	if tb, ok := c.tables[key]; ok {
		return tb
	}
	var entries []pfconf.TableEntry
	if t != nil {
		entries = t.Entries
	}
	tb := newTable(name, entries)
	c.tables[key] = tb
	return tb
}

func (c *compiler) addr(path string, a pfconf.Addr, not bool) addrMatch {
	m := addrMatch{typ: a.Type, not: not, dyn: -1}
	switch a.Type {
	case pfconf.AddrMask:
		m.prefix = a.Prefix
	case pfconf.AddrRange:
		m.from, m.to = a.From, a.To
	case pfconf.AddrTable:
		m.table = c.table(path, a.Name)
	case pfconf.AddrDynamic:
		bits := a.Bits
		if bits == 128 {
			bits = -1
		}
		m.dyn = c.dynID(dynSpec{name: a.Name, mod: a.Mod, bits: bits})
		c.nameID(a.Name)
	}
	return m
}

func portOf(p pfconf.Port) portMatch {
	return portMatch{op: p.Op, a: uint16(p.A), b: uint16(p.B)}
}

func (c *compiler) compileRuleset(src *pfconf.Ruleset, dst *ruleset) error {
	for i := range src.Rules {
		pr := &src.Rules[i]
		r := &rule{
			r: pr, rs: dst, nr: pr.Nr, action: pr.Action, quick: pr.Quick,
			ifID: -1, rcvID: -1, ifNot: pr.InterfaceNot, proto: pr.Proto,
			flags: pr.Flags, mask: pr.FlagsMask, icmpT: pr.ICMPType, icmpC: pr.ICMPCode,
			tos: pr.TOS, prob: pr.Probability, frag: pr.Fragment, log: pr.Log,
			sloppy: pr.Sloppy, ifBound: pr.IfBound, timeouts: pr.Timeouts,
			tagNot: pr.TaggedNot, rcvNot: pr.ReceivedOnNot,
		}
		switch pr.Dir {
		case pfconf.In:
			r.dir = In
		case pfconf.Out:
			r.dir = Out
		}
		switch pr.AF {
		case pfconf.Inet:
			r.af = 4
		case pfconf.Inet6:
			r.af = 6
		}
		if pr.Interface != "" {
			r.ifID = c.nameID(pr.Interface)
		}
		if pr.ReceivedOn != "" {
			r.rcvID = c.nameID(pr.ReceivedOn)
		}
		r.src = c.addr(src.Path, pr.Src.Addr, pr.Src.Not)
		r.dst = c.addr(src.Path, pr.Dst.Addr, pr.Dst.Not)
		r.sport, r.dport = portOf(pr.Src.Port), portOf(pr.Dst.Port)
		r.act = actionsOf(pr)
		r.tag = c.tagID(pr.Tag)
		r.tagged = c.tagID(pr.Tagged)
		r.state = pr.State != pfconf.NoState && (pr.Action == pfconf.Pass || pr.Action == pfconf.Match)
		if pr.Overload != "" {
			r.overload = c.table(src.Path, pr.Overload)
			r.overload.overload = true
		}
		var err error
		if pr.NAT != nil && pr.AFTo == pfconf.AFAny {
			if r.nat, err = c.pool(src.Path, pr.NAT, false, r); err != nil {
				return fmt.Errorf("%s:%d: nat-to: %w", pr.File, pr.Line, err)
			}
		}
		if pr.RDR != nil && pr.AFTo == pfconf.AFAny {
			if r.rdr, err = c.pool(src.Path, pr.RDR, true, r); err != nil {
				return fmt.Errorf("%s:%d: rdr-to: %w", pr.File, pr.Line, err)
			}
		}
		if pr.Action == pfconf.Anchor {
			r.children = c.anchorTargets(pr.AnchorPath)
		}
		dst.rules = append(dst.rules, r)
		c.rs.nrules++
	}
	computeSkips(dst.rules)
	return nil
}

// anchorTargets resolves an anchor call: "a/b" is that ruleset; "a/*"
// is every direct child of a, in strcmp order of their paths, never a's
// own rules (PF.md 3).
func (c *compiler) anchorTargets(path string) []*ruleset {
	if path == "*" || strings.HasSuffix(path, "/*") {
		parent := strings.TrimSuffix(strings.TrimSuffix(path, "*"), "/")
		var kids []string
		for p := range c.rs.anchors {
			if p == "" {
				continue
			}
			dir, ok := "", true
			if i := strings.LastIndexByte(p, '/'); i >= 0 {
				dir = p[:i]
			} else {
				dir = ""
			}
			if ok && dir == parent {
				kids = append(kids, p)
			}
		}
		sort.Strings(kids) // Go's string order is strcmp's
		out := make([]*ruleset, len(kids))
		for i, k := range kids {
			out[i] = c.rs.anchors[k]
		}
		return out
	}
	if a, ok := c.rs.anchors[path]; ok {
		return []*ruleset{a}
	}
	// An anchor called but never defined is empty, as pf creates it.
	return nil
}

func (c *compiler) pool(path string, p *pfconf.Pool, rdr bool, r *rule) (*natPool, error) {
	cfg := nat.PoolConfig{Key: nat.HashKey(p.Key), Sticky: p.Sticky}
	switch p.Type {
	case pfconf.PoolBitmask:
		cfg.Method = nat.MethodBitmask
	case pfconf.PoolRandom:
		cfg.Method = nat.MethodRandom
	case pfconf.PoolSourceHash:
		cfg.Method = nat.MethodSourceHash
	case pfconf.PoolRoundRobin:
		cfg.Method = nat.MethodRoundRobin
	case pfconf.PoolLeastStates:
		cfg.Method = nat.MethodLeastStates
	}
	np := &natPool{}
	if rdr {
		np.ports = nat.PortRange{Low: p.PortLo, High: p.PortHi}
		if r.dport.op == pfconf.PortRange || r.dport.op == pfconf.PortEq {
			np.portLow = r.dport.a
		}
		if p.PortHi == 0 && p.PortLo != 0 && r.dport.op == pfconf.PortRange {
			// rdr-to port N:* keeps the offset into the rule's range.
			np.ports.High = p.PortLo + (r.dport.b - r.dport.a)
		}
	} else {
		np.ports = nat.PortRange{Low: p.PortLo, High: p.PortHi}
	}
	cfg.Ports = np.ports
	switch p.Addr.Type {
	case pfconf.AddrMask:
		cfg.Addrs = []netip.Prefix{p.Addr.Prefix}
	case pfconf.AddrRange:
		return nil, errors.New("address ranges are not supported in pools")
	case pfconf.AddrTable:
		t := c.table(path, p.Addr.Name)
		for _, e := range t.entries {
			if !e.Not {
				cfg.Addrs = append(cfg.Addrs, e.Prefix)
			}
		}
	case pfconf.AddrDynamic:
		bits := p.Addr.Bits
		if bits == 128 {
			bits = -1
		}
		ip := &ifacePool{dyn: c.dynID(dynSpec{name: p.Addr.Name, mod: p.Addr.Mod, bits: bits})}
		c.nameID(p.Addr.Name)
		c.ifacePools = append(c.ifacePools, ip)
		cfg.Iface = ip.addrs
	default:
		return nil, errors.New("unsupported pool address")
	}
	pl, err := nat.NewPool(cfg)
	if err != nil {
		return nil, err
	}
	np.pool = pl
	return np, nil
}

// computeSkips sets each rule's skip steps as pf_calc_skip_steps does: for
// each field, the index of the next rule whose value of that field
// differs, so that a rule failing on the field lets every following rule
// with the same value be passed over without a test.
func computeSkips(rules []*rule) {
	n := len(rules)
	for f := 0; f < numSkip; f++ {
		for i := 0; i < n; i++ {
			j := i + 1
			for j < n && sameField(rules[i], rules[j], f) {
				j++
			}
			rules[i].skip[f] = int32(j)
		}
	}
}

func sameField(a, b *rule, f int) bool {
	switch f {
	case skipIf:
		return a.ifID == b.ifID && a.ifNot == b.ifNot
	case skipDir:
		return a.dir == b.dir
	case skipAF:
		return a.af == b.af
	case skipProto:
		return a.proto == b.proto
	case skipSrcAddr:
		return a.src == b.src
	case skipDstAddr:
		return a.dst == b.dst
	case skipSrcPort:
		return a.sport == b.sport
	case skipDstPort:
		return a.dport == b.dport
	}
	return false
}

// Rules returns the number of rules compiled, anchors included.
func (rs *Ruleset) Rules() int { return rs.nrules }

// Spec returns the Spec the ruleset was compiled from. The caller must
// not modify it.
func (rs *Ruleset) Spec() *pfconf.Spec { return rs.spec }
