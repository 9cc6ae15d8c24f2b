package filter

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/nat"
)

type flowT = packet.Flow

// pf's reasons (PFRES_*), the counters of pfctl -si and the pflog header.
const (
	pfresMatch = iota
	pfresBadOff
	pfresFrag
	pfresShort
	pfresNorm
	pfresMemory
	pfresTS
	pfresCongestion
	pfresIPOption
	pfresProtoCksum
	pfresBadState
	pfresStateIns
	pfresMaxStates
	pfresSrcLimit
	pfresSynProxy
	pfresTranslate
	pfresNoRoute
	pfresMax
)

var pfresNames = [pfresMax]string{"match", "bad-offset", "fragment", "short", "normalize",
	"memory", "bad-timestamp", "congestion", "ip-option", "proto-cksum", "state-mismatch",
	"state-insert", "state-limit", "src-limit", "synproxy", "translate", "no-route"}

// pf actions as the pflog header carries them.
const (
	actPass  = 0
	actDrop  = 1
	actMatch = 12
)

// Result is what Test decided.
type Result struct {
	Verdict packet.Verdict // packet.Pass or packet.Drop
	// Reason is why a packet was dropped: packet.DropFilter for a block
	// rule, a state mismatch, bad options or normalisation;
	// packet.DropStateLimit for a state limit; packet.DropNATFull when
	// no translation was free.
	Reason packet.DropReason
	// Log reports that the packet was written to the pflog.
	Log bool
	// Reply reports that a `block return` answer (TCP RST or ICMP
	// unreachable) was built into the reply packet given to TestReply.
	Reply bool
}

// Options configure a Filter.
type Options struct {
	// Log, when set, receives packets of rules with `log`.
	Log *Pflog
	// Pool is where held fragments go back when their datagram is
	// complete, dropped or timed out (the dataplane's pool). Nil leaves
	// them to the garbage collector.
	Pool *packet.Pool
}

// Filter is pf: the current Ruleset, swapped whole by Load, and the state
// table, which survives reloads. Test is safe for concurrent use by any
// number of workers.
type Filter struct {
	rs     atomic.Pointer[Ruleset]
	states *stateTable
	log    *Pflog
	pool   *packet.Pool
	frags  reassembler

	mu     sync.Mutex // serialises Load and SetInterfaces
	ifs    []Interface
	ifsSet bool // SetInterfaces was called: later Loads bind to ifs
	seeded bool

	rnd  *splitmix
	rand *rand.Rand

	srcMu    sync.Mutex
	srcNodes map[srcKey]*srcNode

	since    atomic.Int64
	counters [pfresMax]atomic.Uint64
	searches atomic.Uint64 // lookups that found no state
	hits     atomic.Uint64 // packets of removed states, after their first
	inserts  atomic.Uint64
	removals atomic.Uint64
	limits   [limitMax]atomic.Uint64
	icmpRate struct {
		sec atomic.Int64
		n   atomic.Int64
	}
}

// Limit counters (pfctl -vsi "Limit Counters").
const (
	limMaxStates = iota
	limSrcStates
	limSrcNodes
	limSrcConn
	limSrcConnRate
	limOverloadTable
	limOverloadFlush
	limitMax
)

// NewFilter returns a filter with no ruleset: it passes everything until
// Load is called.
func NewFilter(opts Options) *Filter {
	f := &Filter{states: newStateTable(), log: opts.Log, pool: opts.Pool, srcNodes: map[srcKey]*srcNode{}}
	f.rnd = &splitmix{}
	f.rand = rand.New(f.rnd)
	return f
}

// Load makes rs the ruleset every later Test uses, atomically. States
// are kept, as pfctl -f keeps them, and go on matching and translating.
// If SetInterfaces was called, rs is bound to those interfaces rather than
// to the ones it was compiled for. The first Load seeds the filter's
// random source with rs's Env.Seed.
func (f *Filter) Load(rs *Ruleset) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.seeded {
		f.rnd.seed(rs.env.Seed)
		f.seeded = true
	}
	if f.ifsSet {
		env := rs.env
		env.Interfaces = f.ifs
		rs.ifs.Store(bind(rs, env))
	}
	f.rs.Store(rs)
}

// Ruleset returns the ruleset in use, or nil.
func (f *Filter) Ruleset() *Ruleset { return f.rs.Load() }

// SetInterfaces replaces the interface table (addresses, groups) that
// `(if)` addresses, `nat-to (if)`, `on` and `set skip` follow. Existing
// states keep their translations.
func (f *Filter) SetInterfaces(ifs []Interface) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ifs, f.ifsSet = ifs, true
	if rs := f.rs.Load(); rs != nil {
		env := rs.env
		env.Interfaces = ifs
		rs.ifs.Store(bind(rs, env))
	}
}

// Skips reports whether pf is skipped on interface ifindex (`set skip`).
func (f *Filter) Skips(ifindex int) bool {
	rs := f.rs.Load()
	if rs == nil {
		return true
	}
	e := rs.ifs.Load().entry(ifindex)
	return e != nil && e.skip
}

// Test is TestReply without a reply packet: `block return` drops without
// answering.
func (f *Filter) Test(dir Dir, ifindex int, p *packet.Packet, now int64) Result {
	return f.TestReply(dir, ifindex, p, nil, now)
}

// TestReply runs pf on p, crossing interface ifindex in direction dir, at
// time now (seconds; the clock of the batch). It borrows p, which must
// have been parsed (packet.Parse), and may rewrite it in place (NAT);
// p.InPort is the ifindex `received-on` tests and p.PFTag carries pf's tag
// between the in and out tests. When
// a `block return` rule drops p and reply is not nil, the answer is built
// into reply as an IP packet (Bytes starts at the IP header, with at
// least header.EthernetSize bytes of headroom for the caller's Ethernet
// header) and Result.Reply is set; the answer must not be filtered again.
// A packet that matches a state does not allocate; one that misses and is
// passed or blocked by the rules without creating state does not either.
//
// Fragments, under `set reassemble yes` (the default), are held until
// their datagram is whole: Test then returns packet.Taken and keeps p
// (given back to Options.Pool later); the fragment that completes the
// datagram comes back as the whole datagram, re-parsed, and is filtered
// as one packet. It may then exceed the egress MTU: refragmenting it is
// the dataplane's. Fragments that cannot be reassembled (overlaps, more
// than 64 per datagram, MaxHeldFragments held, older than the frag
// timeout) are dropped with packet.DropFragment.
func (f *Filter) TestReply(dir Dir, ifindex int, p *packet.Packet, reply *packet.Packet, now int64) Result {
	rs := f.rs.Load()
	if rs == nil {
		return Result{}
	}
	t := rs.ifs.Load()
	ife := t.entry(ifindex)
	if ife != nil && ife.skip {
		return Result{}
	}
	m := &p.Meta
	if m.Kind == packet.KindUnknown && (m.EtherType == 0x0800 || m.EtherType == 0x86dd) && m.Drop != packet.DropNone {
		// pf_setup_pdesc refuses what cannot be parsed.
		return f.drop(pfresShort, m.Drop)
	}
	if m.Frag&packet.FragIsFragment != 0 && rs.reassemble && (m.Kind == packet.KindIPv4 || m.Kind == packet.KindIPv6) {
		// IPv4 fragments with DF are dropped (pf_normalize_ip), unless no-df.
		if m.Kind == packet.KindIPv4 && header.IPv4(p.Bytes()[m.L3:]).DF() && !rs.spec.Options.Reassemble.NoDF {
			return f.drop(pfresFrag, packet.DropFragment)
		}
		done, taken := f.reassemble(p, now)
		if taken {
			return Result{Verdict: packet.Taken}
		}
		if !done {
			return f.drop(pfresFrag, packet.DropFragment)
		}
		// p now holds the whole datagram, parsed again.
	}
	var pdv pdesc
	pd := &pdv
	switch m.Kind {
	case packet.KindIPv4:
		pd.af = 4
		pd.tos = p.Bytes()[m.L3+1]
	case packet.KindIPv6:
		pd.af = 6
		h := header.IPv6(p.Bytes()[m.L3:])
		pd.tos = h.TrafficClass()
	default:
		return Result{} // ARP and other ethertypes pass pf
	}
	pd.dir, pd.ifindex, pd.ife = dir, ifindex, ife
	pd.rcv = t.entry(int(p.InPort))
	pd.proto = m.Proto
	pd.src, pd.dst = m.Flow.Src, m.Flow.Dst
	pd.osrc, pd.odst = pd.src, pd.dst
	pd.flags, pd.icmpT, pd.icmpC = m.TCPFlags, m.ICMPType, m.ICMPCode
	pd.tag = p.PFTag
	pd.iplen = int(m.L3Len)
	pd.badOpts = m.HasOptions && !routerAlertOnly(p)
	pd.frag = m.Frag&packet.FragIsFragment != 0
	if pd.frag {
		// IPv4 fragments with DF are dropped even without reassembly.
		if pd.af == 4 && header.IPv4(p.Bytes()[m.L3:]).DF() && !rs.spec.Options.Reassemble.NoDF {
			return f.drop(pfresFrag, packet.DropFragment)
		}
	}
	switch {
	case pd.proto == header.ProtoICMP && pd.af == 4 && !pd.frag:
		pd.icmp = true
		typ := header.ICMPv4Type(pd.icmpT)
		pd.icmpErr = typ.IsError()
		pd.noState = pd.icmpErr
		switch pd.icmpT {
		case 0, 14, 16, 18, 9, 34, 36: // echo, timestamp, information, mask replies, router advert, i-am-here, mobile reg reply
			pd.reply = true
		}
	case pd.proto == header.ProtoICMPv6 && pd.af == 6 && !pd.frag:
		pd.icmp = true
		pd.icmpErr = pd.icmpT < 128
		pd.noState = pd.icmpErr || pd.icmpT == 136 // neighbour advertisement
		switch pd.icmpT {
		case 129, 140, 201: // echo reply, node information reply, mtrace response
			pd.reply = true
		}
	case pd.proto == header.ProtoTCP && !pd.frag && m.L4 != 0:
		nf, ok := tcpNormalize(pd.flags)
		if !ok {
			return f.drop(pfresNorm, packet.DropFilter)
		}
		if nf != pd.flags {
			// SYN+FIN: the FIN is cleared, as pf_normalize_tcp does.
			th := header.TCP(p.Bytes()[m.L4:])
			old := uint16(th[12])<<8 | uint16(th[13])
			th.SetFlags(nf)
			if !nat.PartialTCP(p) {
				th.SetChecksum(header.Update16(th.Checksum(), old, uint16(th[12])<<8|uint16(nf)))
			}
			pd.flags, m.TCPFlags = nf, nf
		}
	}

	// 1. The state table.
	if pd.icmpErr {
		if res, ok := f.testStateICMPError(rs, pd, p, now); ok {
			return res
		}
		f.searches.Add(1)
	} else if !pd.frag || pd.proto != header.ProtoTCP && pd.proto != header.ProtoUDP {
		var k stateKey
		k.setFromHeader(dir, pd, p.Bytes()[m.L3:])
		var in *state
		if dir == Out {
			in, _ = p.PFState.(*state)
		}
		s, ki, sh := f.states.linked(in, &k)
		if s == nil {
			if s, ki, sh = f.states.acquire(&k); s != nil && in != nil {
				in.reverse.Store(s)
			}
		}
		if s != nil {
			if dir == In {
				p.PFState = s
			}
			if res, ok := f.stateHit(rs, s, ki, sh, pd, p, now); ok {
				return res
			}
		}
		// Hits are counted by the states' packet counters, misses here,
		// so that the fast path touches no shared counter.
		f.searches.Add(1)
	}

	// 2. The rules.
	return f.testRule(rs, t, pd, p, reply, now)
}

// put gives a held fragment back.
func (f *Filter) put(p *packet.Packet) {
	if f.pool != nil {
		f.pool.Put(p)
	}
}

func (f *Filter) drop(reason int, dr packet.DropReason) Result {
	f.counters[reason].Add(1)
	return Result{Verdict: packet.Drop, Reason: dr}
}

// stateHit handles a packet whose key matched key ki of state s, called
// with sh, the lock guarding s, held; it unlocks it. ok is false when the
// state does not apply after all (wrong side, if-bound elsewhere, dead, or
// a SYN on a closed TCP state, which is purged) and the rules must decide.
func (f *Filter) stateHit(rs *Ruleset, s *state, ki int, sh *shard, pd *pdesc, p *packet.Packet, now int64) (Result, bool) {
	side := skWire
	if pd.dir == Out {
		side = skStack
	}
	// The key of pd's side must be the one that matched; both did if the
	// state is untranslated.
	if s.xlat() && ki != side || s.ifindex >= 0 && int(s.ifindex) != pd.ifindex {
		sh.mu.Unlock()
		return Result{}, false
	}
	fromSrc := pd.dir == s.dir()
	di := 0
	if !fromSrc {
		di = 1
	}
	if s.dead() {
		sh.mu.Unlock()
		return Result{}, false
	}
	var est bool
	switch pd.proto {
	case header.ProtoTCP:
		if pd.frag {
			break
		}
		if pd.flags&(thSYN|thACK) == thSYN && s.src.state >= tcpsFinWait2 && s.dst.state >= tcpsFinWait2 {
			// A new SYN on a closed connection: purge, then the rules.
			sh.mu.Unlock()
			f.removeState(s)
			return Result{}, false
		}
		m := &p.Meta
		var seg tcpSeg
		seg.parse(header.TCP(p.Bytes()[m.L4:]), int(m.L3)+pd.iplen-int(m.L4))
		var tr trackResult
		switch {
		case s.flags&(sfSloppy|sfScrubTCP) == 0:
			tr = trackTCP(s, &seg, fromSrc)
		case s.sloppy():
			tr = trackSloppy(s, &seg, fromSrc)
		default:
			tr = f.trackScrubbedLocked(s, sh, p, pd, &seg, fromSrc, now)
		}
		switch tr {
		case trackMismatch:
			sh.mu.Unlock()
			return f.drop(pfresBadState, packet.DropFilter), true
		case trackBadTimestamp:
			sh.mu.Unlock()
			return f.drop(pfresTS, packet.DropFilter), true
		case trackEstablished:
			est = true
		}
		if tr != trackLoose {
			s.last = uint32(now)
		}
	case header.ProtoICMP, header.ProtoICMPv6:
		s.timeout = tmICMPError
		s.last = uint32(now)
	default:
		src, dst := &s.src, &s.dst
		if !fromSrc {
			src, dst = dst, src
		}
		if src.state < udpSingle {
			src.state = udpSingle
		}
		if dst.state == udpSingle {
			dst.state = udpMultiple
		}
		s.last = uint32(now)
		single, multiple := uint8(tmOtherSingle), uint8(tmOtherMultiple)
		if pd.proto == header.ProtoUDP {
			single, multiple = tmUDPSingle, tmUDPMultiple
		}
		if src.state == udpMultiple && dst.state == udpMultiple {
			s.timeout = multiple
		} else {
			s.timeout = single
		}
	}
	s.packets[di]++
	s.bytes[di] += uint64(pd.iplen)
	if s.hasActions() && (!pd.badOpts || s.allowOpts()) {
		// Scrubbing, done under the lock that guards the side's TTL
		// floor, commutes with the translation below: both update the
		// checksums incrementally.
		f.scrubLocked(s, di, p)
	}
	sh.mu.Unlock()
	if est && s.sn != nil {
		if f.srcConnLimit(s, now) {
			return f.drop(pfresSrcLimit, packet.DropStateLimit), true
		}
	}
	if pd.badOpts && !s.allowOpts() {
		r := f.drop(pfresIPOption, packet.DropFilter)
		r.Log = f.logState(s, pd, p, actDrop, pfresIPOption, now)
		return r, true
	}
	if s.xlat() {
		f.translateState(s, pd, p)
	}
	if s.tag != 0 {
		p.PFTag = s.tag
	}
	res := Result{}
	if s.flags&sfLogAll != 0 {
		res.Log = f.logState(s, pd, p, actPass, pfresMatch, now)
	}
	return res, true
}

// translateState rewrites p, which matched s from the side pd.dir says,
// to the other key's addresses: inbound wire -> stack, outbound stack ->
// wire.
func (f *Filter) translateState(s *state, pd *pdesc, p *packet.Packet) {
	var srcSlot, dstSlot int
	var k *stateKey
	if pd.dir == In {
		k, srcSlot, dstSlot = &s.key[skStack], 0, 1
	} else {
		k, srcSlot, dstSlot = &s.key[skWire], 1, 0
	}
	if k.af == 4 && nat.Translate4(p, k.addr4(srcSlot), k.port(srcSlot), k.addr4(dstSlot), k.port(dstSlot)) {
		return
	}
	if ap := k.ap(srcSlot); ap != pd.osrc {
		nat.RewriteSrc(p, ap.Addr(), ap.Port())
	}
	if ap := k.ap(dstSlot); ap != pd.odst {
		nat.RewriteDst(p, ap.Addr(), ap.Port())
	}
}

// testStateICMPError looks up the state of the packet an ICMP error
// quotes (pf_test_state_icmp): the quoted packet travelled the other way,
// its source must be the error's destination. A TCP quote must fall in
// the state's window. A translated state's error is rewritten inside and
// out (PF.md 5.5).
func (f *Filter) testStateICMPError(rs *Ruleset, pd *pdesc, p *packet.Packet, now int64) (Result, bool) {
	in, ok := nat.ParseInner(p)
	if !ok || in.Flow.Src.Addr() != pd.dst.Addr() {
		return Result{}, false
	}
	idir := Out
	if pd.dir == Out {
		idir = In
	}
	k := keyFor(idir, pd.af, in.Flow.Proto, in.Flow.Src, in.Flow.Dst)
	s, _, sh := f.states.acquire(&k)
	if s == nil {
		return Result{}, false
	}
	side := skWire
	if pd.dir == Out {
		side = skStack
	}
	if s.key[side] != k || s.ifindex >= 0 && int(s.ifindex) != pd.ifindex || s.dead() {
		sh.mu.Unlock()
		return Result{}, false
	}
	if in.Flow.Proto == header.ProtoTCP && !s.sloppy() {
		src, dst := &s.src, &s.dst
		if pd.dir == s.dir() {
			src, dst = dst, src
		}
		var dws uint8
		if src.wscale != 0 && dst.wscale != 0 {
			dws = dst.wscale & wscaleMask
		}
		if !seqGEQ(src.seqhi, in.Seq) || !seqGEQ(in.Seq, src.seqlo-(uint32(dst.maxWin)<<dws)) {
			sh.mu.Unlock()
			return f.drop(pfresBadState, packet.DropFilter), true
		}
	}
	di := 0
	if pd.dir != s.dir() {
		di = 1
	}
	s.packets[di]++
	s.bytes[di] += uint64(pd.iplen)
	// The error passes as a packet of s: it gets s's options
	// (pf_test's pf_scrub with the state pf_test_state_icmp found).
	act := actions{flags: s.flags & sfScrub, minTTL: s.limits.ttl[di], setTOS: s.setTOS}
	sh.mu.Unlock()
	if s.translated() {
		// The quoted packet's slots: it went idir.
		tk := &s.key[skStack]
		if pd.dir == Out {
			tk = &s.key[skWire]
		}
		qsrc, qdst := 1, 0 // slots of the quoted source and destination
		if idir == In {
			qsrc, qdst = 0, 1
		}
		if ap := tk.ap(qsrc); ap != in.Flow.Src {
			nat.RewriteErrorSrc(p, &in, ap.Addr(), ap.Port())
		}
		if ap := tk.ap(qdst); ap != in.Flow.Dst {
			nat.RewriteErrorDst(p, &in, ap.Addr(), ap.Port())
		}
	}
	if act.rewritesIP() {
		f.scrub(p, &act)
	}
	return Result{}, true
}

// splitmix is a concurrency-safe random source: a counter stepped
// atomically and mixed (SplitMix64), seeded by Env.Seed so that a
// single-threaded replay repeats its choices.
type splitmix struct{ x atomic.Uint64 }

func (s *splitmix) seed(v uint64) { s.x.Store(v) }

// Uint64 implements rand.Source.
func (s *splitmix) Uint64() uint64 {
	z := s.x.Add(0x9e3779b97f4a7c15)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// flowOf is the packet's current (translated) flow.
func flowOf(pd *pdesc) packet.Flow {
	return packet.Flow{Proto: pd.proto, Src: pd.src, Dst: pd.dst}
}

var _ = netip.Addr{}

// routerAlertOnly reports whether p's options are the accepted exception
// (pf_walk_option, pf_walk_header6): an IPv4 IGMP packet whose options
// are a router alert and padding, or an MLD query, report or done (and
// MLDv2 report) with hop limit 1 from a link-local source, whose
// hop-by-hop header holds only a router alert and padding.
func routerAlertOnly(p *packet.Packet) bool {
	m := &p.Meta
	b := p.Bytes()[m.L3:]
	if m.Kind == packet.KindIPv4 {
		h := header.IPv4(b)
		if h.Protocol() != header.ProtoIGMP {
			return false
		}
		o := h.Options()
		ra := false
		for len(o) > 0 {
			switch o[0] {
			case 0, 1: // end, no-op
				o = o[1:]
				continue
			case 148: // router alert
				if len(o) < 4 || o[1] != 4 {
					return false
				}
				ra, o = true, o[4:]
				continue
			}
			return false
		}
		return ra
	}
	if m.Proto != header.ProtoICMPv6 || m.L4 == 0 {
		return false
	}
	switch m.ICMPType {
	case 130, 131, 132, 143:
	default:
		return false
	}
	h := header.IPv6(b)
	if h.HopLimit() != 1 || !h.Src().IsLinkLocalUnicast() || h.NextHeader() != header.ProtoHopByHop || len(b) < header.IPv6Size+8 {
		return false
	}
	hbh := b[header.IPv6Size:]
	n := (int(hbh[1]) + 1) * 8
	if n > len(hbh) || hbh[0] != header.ProtoICMPv6 {
		return false
	}
	o, ra := hbh[2:n], false
	for len(o) > 0 {
		switch o[0] {
		case 0: // Pad1
			o = o[1:]
			continue
		case 1: // PadN
			if len(o) < 2 || 2+int(o[1]) > len(o) {
				return false
			}
			o = o[2+int(o[1]):]
			continue
		case 5: // router alert
			if len(o) < 4 || o[1] != 2 {
				return false
			}
			ra, o = true, o[4:]
			continue
		}
		return false
	}
	return ra
}
