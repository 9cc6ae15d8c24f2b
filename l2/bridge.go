package l2

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// Defaults of bridge(4).
const (
	DefaultTimeout = 240 // seconds between sweeps
	DefaultMaxAddr = 100 // entries
)

// Config is a bridge's own settings.
type Config struct {
	// Timeout is the seconds between two sweeps of the address table
	// (ifconfig bridge timeout); 0 stops aging.
	Timeout int
	// MaxAddr is the table's limit, static entries included.
	MaxAddr int
	// TagID returns the pf tag id of a name, for rules with a TagName and
	// no Tag. When nil the bridge numbers the names it sees from 1.
	TagID func(name string) uint16
	// Link0 and Link1 are the bridge's link0 and link1 flags, which filter
	// multicast (not broadcast) frames from members as OpenBSD's
	// bridgeintr_frame does: link0 drops IPv4 multicast (01:00:5e), link1
	// drops all other multicast, both drop all multicast. Such drops are
	// counted as DropBridgeRule.
	Link0, Link1 bool
}

// Member is one interface of a bridge, with its bridge(4) options. The zero
// value of each flag is OpenBSD's default (learn and discover on).
type Member struct {
	Name string
	// MAC is the interface's own address: a frame from it is dropped, a
	// unicast frame to it is delivered locally. Zero for none.
	MAC header.MAC
	// Stack reports whether the host's IP stack owns the interface
	// (vether0, a NIC with an address): it gets local deliveries and
	// copies of broadcast and multicast frames.
	Stack bool
	// NoLearn is -learn: source addresses seen on the member are not
	// learned.
	NoLearn bool
	// NoDiscover is -discover: unknown unicast is not flooded to the
	// member.
	NoDiscover bool
	// BlockNonIP lets only IPv4, IPv6, ARP and RARP frames in, and out when
	// flooding.
	BlockNonIP bool
	// Protected holds the member's protected domains: bit i for id i,
	// 1 to 31.
	Protected uint32
	// Span makes the interface a span port (addspan): it receives a copy of
	// every frame the bridge receives and is otherwise not a member.
	Span bool
	// Rules are the member's bridge rules, in order.
	Rules []Rule
}

// MemberCounters are a member's bridge counters, safe for concurrent use.
type MemberCounters struct {
	// Learned counts addresses learned on the member; MovedIn addresses
	// that moved to it from another member.
	Learned atomic.Uint64
	MovedIn atomic.Uint64
	drops   [packet.NumDropReasons]atomic.Uint64
}

// Drops returns the number of frames the bridge dropped for reason r on
// the member: received on it, or refused as a destination.
func (c *MemberCounters) Drops(r packet.DropReason) uint64 {
	if r < packet.NumDropReasons {
		return c.drops[r].Load()
	}
	return 0
}

// Counters are a bridge's counters, safe for concurrent use.
type Counters struct {
	Learned atomic.Uint64 // new entries
	Moves   atomic.Uint64 // entries that moved between members
	// Full counts addresses not learned because the table was full, and
	// static entries refused for the same reason.
	Full  atomic.Uint64
	drops [packet.NumDropReasons]atomic.Uint64
}

// Drops returns the number of frames the bridge dropped for reason r.
func (c *Counters) Drops(r packet.DropReason) uint64 {
	if r < packet.NumDropReasons {
		return c.drops[r].Load()
	}
	return 0
}

type member struct {
	Member
	mac     uint64 // mac48 of MAC, 0 when zero
	in, out []rule
	down    atomic.Bool
	c       MemberCounters
	_       [64]byte
}

// Bridge is a learning bridge (bridge(4)). It makes the decisions of
// OpenBSD's bridge_process, bridgeintr_frame, bridge_broadcast and
// bridge_enqueue; the caller moves the frames, runs pf and writes to ports.
// Its members are fixed at construction. A Bridge is safe for concurrent
// use; its frame methods do not allocate.
type Bridge struct {
	name    string
	cfg     Config
	table   *Table
	members []member
	// own lists the members with a MAC, for the own-source and local
	// checks, in member order.
	own   []ownMAC
	spans []int // span ports
	ports []int // members that are not span ports
	tags  map[string]uint16

	c Counters

	nextSweep atomic.Uint32 // second of the next sweep; 0 before Tick
}

type ownMAC struct {
	mac    uint64
	member int
}

// NewBridge returns a bridge with the given members, indexed from 0 in the
// order given, and an empty address table. It fails on duplicate or
// invalid members.
func NewBridge(name string, cfg Config, members []Member) (*Bridge, error) {
	if len(members) > MaxMembers {
		return nil, fmt.Errorf("bridge %s: %d members, at most %d", name, len(members), MaxMembers)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("bridge %s: negative timeout %d", name, cfg.Timeout)
	}
	if cfg.MaxAddr < 0 {
		return nil, fmt.Errorf("bridge %s: negative maxaddr %d", name, cfg.MaxAddr)
	}
	b := &Bridge{
		name:    name,
		cfg:     cfg,
		table:   NewTable(cfg.MaxAddr),
		members: make([]member, len(members)),
		tags:    map[string]uint16{},
	}
	var errs []error
	seen := map[string]bool{}
	for i, m := range members {
		if seen[m.Name] {
			errs = append(errs, fmt.Errorf("bridge %s: %s is a member twice", name, m.Name))
		}
		seen[m.Name] = true
		if m.Protected&1 != 0 {
			errs = append(errs, fmt.Errorf("bridge %s: %s: protected domain ids are 1 to 31", name, m.Name))
		}
		bm := &b.members[i]
		bm.Member = m
		bm.Rules = append([]Rule(nil), m.Rules...)
		for _, r := range m.Rules {
			c := compileRule(r, b.tagID(r))
			if r.Dir&DirIn != 0 || r.Dir == 0 {
				bm.in = append(bm.in, c)
			}
			if r.Dir&DirOut != 0 || r.Dir == 0 {
				bm.out = append(bm.out, c)
			}
		}
		if m.Span {
			b.spans = append(b.spans, i)
			continue
		}
		b.ports = append(b.ports, i)
		if !m.MAC.IsZero() {
			bm.mac = mac48(m.MAC)
			b.own = append(b.own, ownMAC{bm.mac, i})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *Bridge) tagID(r Rule) uint16 {
	if r.Tag != 0 || r.TagName == "" {
		return r.Tag
	}
	if b.cfg.TagID != nil {
		return b.cfg.TagID(r.TagName)
	}
	id, ok := b.tags[r.TagName]
	if !ok {
		id = uint16(len(b.tags) + 1)
		b.tags[r.TagName] = id
	}
	return id
}

// Name returns the bridge's name.
func (b *Bridge) Name() string { return b.name }

// Config returns the bridge's settings.
func (b *Bridge) Config() Config { return b.cfg }

// Table returns the bridge's address table.
func (b *Bridge) Table() *Table { return b.table }

// Counters returns the bridge's counters.
func (b *Bridge) Counters() *Counters { return &b.c }

// NumMembers returns the number of members, span ports included.
func (b *Bridge) NumMembers() int { return len(b.members) }

// Member returns member i's settings.
func (b *Bridge) Member(i int) Member { return b.members[i].Member }

// MemberCounters returns member i's counters.
func (b *Bridge) MemberCounters(i int) *MemberCounters { return &b.members[i].c }

// MemberIndex returns the index of the member called name, or -1.
func (b *Bridge) MemberIndex(name string) int {
	for i := range b.members {
		if b.members[i].Name == name {
			return i
		}
	}
	return -1
}

// SetUp marks member i running or not. A member that is not running gets
// no frames: it is left out of floods and known unicast to it is dropped
// (DropDown). Members start running. Safe for concurrent use.
func (b *Bridge) SetUp(i int, up bool) { b.members[i].down.Store(!up) }

// IsUp reports whether member i is running.
func (b *Bridge) IsUp(i int) bool { return !b.members[i].down.Load() }

// SpanTargets returns the span ports: each gets a copy of every frame for
// which a Decision has Span set, as received, before any filtering. The
// slice is the bridge's own; do not change it.
func (b *Bridge) SpanTargets() []int { return b.spans }

// AddStatic adds a static entry for mac on member i (ifconfig bridge
// static). It fails with ErrTableFull on a full table, and for a span port.
func (b *Bridge) AddStatic(i int, mac header.MAC) error {
	if i < 0 || i >= len(b.members) || b.members[i].Span {
		return fmt.Errorf("bridge %s: static %s: not a member", b.name, mac)
	}
	if mac.IsMulticast() || mac.IsZero() {
		return fmt.Errorf("bridge %s: static %s: not a unicast address", b.name, mac)
	}
	if err := b.table.AddStatic(mac, i); err != nil {
		b.c.Full.Add(1)
		return fmt.Errorf("bridge %s: static %s on %s: %w", b.name, mac, b.members[i].Name, err)
	}
	return nil
}

// Adopt copies the dynamic entries of old's table whose member has a
// member of the same name here, so that a reload keeps what was learned;
// entries the table has no room for are left out, so add the
// configuration's static entries first. Static entries are not copied: the
// new configuration says which there are. It returns how many
// entries it copied.
func (b *Bridge) Adopt(old *Bridge) int {
	n := 0
	for _, e := range old.table.Entries() {
		if e.Static {
			continue
		}
		i := b.MemberIndex(old.members[e.Member].Name)
		if i < 0 || b.members[i].Span {
			continue
		}
		e.Member = i
		if b.table.restore(e) {
			n++
		}
	}
	return n
}

// Tick runs the aging sweeps that are due at second now: the first call
// starts the clock, and a sweep runs every Timeout seconds after it, as
// bridge(4)'s timer does from the moment the bridge comes up. After a gap
// of many timeouts, two sweeps run, which is all an idle entry needs. Tick
// is for one caller at a time (a timer, or the replay loop once per
// batch); it returns the number of entries removed.
func (b *Bridge) Tick(now uint32) int {
	t := uint32(b.cfg.Timeout)
	if t == 0 {
		return 0
	}
	next := b.nextSweep.Load()
	if next == 0 {
		b.nextSweep.Store(now + t)
		return 0
	}
	removed := 0
	for sweeps := 0; now >= next; sweeps++ {
		if sweeps < 2 {
			removed += b.table.Sweep()
		}
		next += t
	}
	b.nextSweep.Store(next)
	return removed
}

// Action is what the bridge decided to do with a frame.
type Action uint8

const (
	// ActionDrop: drop the frame and count Decision.Reason.
	ActionDrop Action = iota
	// ActionLocal: deliver the frame to the stack of Decision.Member (a
	// unicast frame to that member's own MAC; pf in runs there).
	ActionLocal
	// ActionForward: send the frame to Decision.Member only, after
	// OutputAllowed, pf out and the MTU check.
	ActionForward
	// ActionFlood: send the frame to each member FloodTargets lists that
	// OutputAllowed lets through.
	ActionFlood
)

var actionNames = [...]string{"drop", "local", "forward", "flood"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "Action(?)"
}

// Decision is the bridge's verdict on one frame. The caller acts on it in
// this order: span copies (Span), the receiving member's stack copy
// (LocalIn), Apply, then Action.
type Decision struct {
	Action Action
	// Reason says why, for ActionDrop.
	Reason packet.DropReason
	// In is the member the frame came from (the sending member for
	// HostOutput).
	In int
	// Member is the destination for ActionLocal and ActionForward.
	Member int
	// Span: copy the frame, as received, to every SpanTargets port.
	Span bool
	// LocalIn: the frame is broadcast or multicast and the receiving member
	// has a stack, which gets a copy as received, whatever else is decided
	// (bridge_process hands it over before bridgeintr_frame).
	LocalIn bool
	// Group: the destination is broadcast or multicast.
	Group bool
	// Host: the frame comes from a member's stack (HostOutput).
	Host bool
	// Len, when not 0, is the length the frame is to be cut to (IP length).
	Len int
	// Tag, when not 0, is the pf tag an `in` rule attached.
	Tag uint16
}

// Apply makes the changes the decision holds to the frame: the cut to the
// IP length and the rule's pf tag. It does not allocate.
func (d *Decision) Apply(p *packet.Packet) {
	if d.Len != 0 && d.Len < p.Len() {
		p.SetLen(d.Len)
	}
	if d.Tag != 0 {
		p.PFTag = d.Tag
	}
}

func (b *Bridge) drop(d Decision, m int, r packet.DropReason) Decision {
	d.Action = ActionDrop
	d.Reason = r
	b.c.drops[r].Add(1)
	if m >= 0 && m < len(b.members) {
		b.members[m].c.drops[r].Add(1)
	}
	return d
}

// ownerOf returns the member whose own MAC is k, preferring first, or -1.
func (b *Bridge) ownerOf(k uint64, first int) int {
	if first >= 0 && b.members[first].mac == k {
		return first
	}
	for _, o := range b.own {
		if o.mac == k {
			return o.member
		}
	}
	return -1
}

// addrs returns the destination and source MACs of f, at least an
// Ethernet header long, as words.
func addrs(f []byte) (dst, src uint64) {
	return binary.BigEndian.Uint64(f[0:8]) >> 16, binary.BigEndian.Uint64(f[6:14]) >> 16
}

// isOwn reports whether k is a member's own MAC.
func (b *Bridge) isOwn(k uint64) bool {
	for _, o := range b.own {
		if o.mac == k {
			return true
		}
	}
	return false
}

const broadcast48 = 1<<48 - 1

// isReserved reports whether k is 01:80:c2:00:00:01 to 0f, the IEEE
// 802.1D-2004 (7.12.6) group addresses a bridge never forwards. 00, STP's,
// is left to flood: no member runs STP.
func isReserved(k uint64) bool {
	return k>>8 == 0x0180c20000 && k&0xff >= 0x01 && k&0xff <= 0x0f
}

// learn learns src on member m if it may.
func (b *Bridge) learn(src uint64, m int, now uint32) {
	if b.members[m].NoLearn || src == 0 || src&(1<<40) != 0 {
		return
	}
	switch b.table.learn(src, m, now) {
	case LearnNew:
		b.c.Learned.Add(1)
		b.members[m].c.Learned.Add(1)
	case LearnMoved:
		b.c.Moves.Add(1)
		b.members[m].c.MovedIn.Add(1)
	case LearnFull:
		b.c.Full.Add(1)
	}
}

// Input decides what happens to a frame received on member in at second
// now, in OpenBSD's order (bridge_process, then bridgeintr_frame):
//
//  1. a source MAC that is a member's own: drop (DropOwnSource), no span;
//  2. span copies (Span);
//  3. destination 01:80:c2:00:00:01-0f: drop (DropReservedGroup);
//  4. broadcast or multicast: the receiving member's stack gets a copy
//     (LocalIn);
//  5. unicast to a member's own MAC: learn, the receiving member's `in`
//     rules, ActionLocal;
//  6. learn; a known destination on the receiving member: drop
//     (DropSameLink); multicast as link0 and link1 say (DropBridgeRule);
//     blocknonip (DropBlockNonIP); the `in` rules
//     (DropBridgeRule); the IP header check (DropBadIPHeader) and the cut
//     to the IP length;
//  7. ActionForward for known unicast (DropDown if that member is not
//     running), ActionFlood for the rest.
//
// Input borrows p and reads it only: the changes it decides are made by
// Decision.Apply. A frame received on a span port is not the bridge's
// (DropUnclaimed). Input is safe for concurrent use and does not allocate.
func (b *Bridge) Input(p *packet.Packet, in int, now uint32) Decision {
	d := Decision{In: in, Member: -1}
	f := p.Bytes()
	if len(f) < header.EthernetSize {
		return b.drop(d, in, packet.DropRunt)
	}
	m := &b.members[in]
	if m.Span {
		return b.drop(d, in, packet.DropUnclaimed)
	}
	dst, src := addrs(f)
	if b.isOwn(src) {
		return b.drop(d, in, packet.DropOwnSource)
	}
	d.Span = len(b.spans) > 0
	if f[0]&1 != 0 {
		if isReserved(dst) {
			return b.drop(d, in, packet.DropReservedGroup)
		}
		d.Group = true
		d.LocalIn = m.Stack
	} else if o := b.ownerOf(dst, in); o >= 0 {
		b.learn(src, in, now)
		block, tag := filter(m.in, f)
		d.Tag = tag
		if block {
			return b.drop(d, in, packet.DropBridgeRule)
		}
		d.Action = ActionLocal
		d.Member = o
		return d
	}

	// bridgeintr_frame
	b.learn(src, in, now)
	to := -1
	if !d.Group {
		if i, ok := b.table.lookup(dst); ok {
			if i == in {
				return b.drop(d, in, packet.DropSameLink)
			}
			to = i
		}
	}
	if d.Group && dst != broadcast48 && (b.cfg.Link0 || b.cfg.Link1) {
		ipmc := dst>>24 == 0x01005e
		if (b.cfg.Link0 && ipmc) || (b.cfg.Link1 && !ipmc) {
			return b.drop(d, in, packet.DropBridgeRule)
		}
	}
	if m.BlockNonIP && blockNonIP(f) {
		return b.drop(d, in, packet.DropBlockNonIP)
	}
	block, tag := filter(m.in, f)
	d.Tag = tag
	if block {
		return b.drop(d, in, packet.DropBridgeRule)
	}
	n, ok := ipCheck(f)
	if !ok {
		return b.drop(d, in, packet.DropBadIPHeader)
	}
	d.Len = n
	if to < 0 {
		d.Action = ActionFlood
		return d
	}
	if b.members[to].down.Load() {
		return b.drop(d, to, packet.DropDown)
	}
	d.Action = ActionForward
	d.Member = to
	return d
}

// HostOutput decides where a frame that member from's own stack (vether0)
// sends into the bridge goes (bridge_enqueue): span copies always; known
// unicast straight to its member (ActionForward, with no checks at all:
// OutputAllowed passes it); anything else ActionFlood to every running
// member with discover, through their `out` rules only. Nothing is learned
// and no protected or blocknonip check applies. HostOutput borrows p and
// reads it only; it is safe for concurrent use and does not allocate.
func (b *Bridge) HostOutput(p *packet.Packet, from int) Decision {
	d := Decision{In: from, Member: -1, Host: true}
	f := p.Bytes()
	if len(f) < header.EthernetSize {
		return b.drop(d, from, packet.DropRunt)
	}
	d.Span = len(b.spans) > 0
	if f[0]&1 != 0 {
		d.Group = true
		d.Action = ActionFlood
		return d
	}
	dst, _ := addrs(f)
	i, ok := b.table.lookup(dst)
	if !ok {
		d.Action = ActionFlood
		return d
	}
	if i == from {
		// OpenBSD queues it on the stack's own interface, which drops it.
		return b.drop(d, from, packet.DropSameLink)
	}
	if b.members[i].down.Load() {
		return b.drop(d, i, packet.DropDown)
	}
	d.Action = ActionForward
	d.Member = i
	return d
}

// FloodTargets appends to dst[:0] the members a flood decided by d goes to
// (bridge_broadcast, bridge_enqueue): every running member that is not a
// span port and not d.In, and for unknown unicast only those with
// discover. Each target is then checked with OutputAllowed. With cap(dst)
// at least NumMembers it does not allocate. Safe for concurrent use.
func (b *Bridge) FloodTargets(d *Decision, dst []int) []int {
	dst = dst[:0]
	for _, i := range b.ports {
		m := &b.members[i]
		if i == d.In || m.down.Load() || (!d.Group && m.NoDiscover) {
			continue
		}
		dst = append(dst, i)
	}
	return dst
}

// OutputAllowed reports whether the frame d decided may leave on member
// out, and if not why: for a frame from a member, blocknonip on out when
// flooding (DropBlockNonIP), a protected domain shared with d.In
// (DropProtected), then out's `out` rules (DropBridgeRule); for a frame
// from a stack (d.Host), out's `out` rules when flooding only. A rule that
// matches and carries a tag sets p.PFTag. A refusal is counted on the
// bridge and on out. It does not run pf or check the MTU. OutputAllowed borrows p; it is safe for concurrent use and does not
// allocate.
func (b *Bridge) OutputAllowed(p *packet.Packet, d *Decision, out int) (bool, packet.DropReason) {
	o := &b.members[out]
	f := p.Bytes()
	flooding := d.Action == ActionFlood
	if d.Host {
		if !flooding {
			return true, packet.DropNone
		}
	} else {
		if flooding && o.BlockNonIP && blockNonIP(f) {
			b.drop(*d, out, packet.DropBlockNonIP)
			return false, packet.DropBlockNonIP
		}
		if b.members[d.In].Protected&o.Protected != 0 {
			b.drop(*d, out, packet.DropProtected)
			return false, packet.DropProtected
		}
	}
	block, tag := filter(o.out, f)
	if tag != 0 {
		p.PFTag = tag
	}
	if block {
		b.drop(*d, out, packet.DropBridgeRule)
		return false, packet.DropBridgeRule
	}
	return true, packet.DropNone
}

// Addr is an address table entry with its member's name.
type Addr struct {
	Entry
	IfName string
}

// Addrs returns the address table sorted by address, with member names,
// for `ifconfig bridge0 addr`. It allocates.
func (b *Bridge) Addrs() []Addr {
	es := b.table.Entries()
	out := make([]Addr, len(es))
	for i, e := range es {
		out[i] = Addr{Entry: e}
		if e.Member >= 0 && e.Member < len(b.members) {
			out[i].IfName = b.members[e.Member].Name
		}
	}
	return out
}

// MemberInfo is a member as `ifconfig bridge0` shows it.
type MemberInfo struct {
	Member
	Index int
	Up    bool
	// Flags is the member's flag list as ifconfig prints it between < >,
	// e.g. "LEARNING,DISCOVER,BLOCKNONIP".
	Flags string
}

// Members returns the members with their state. It allocates.
func (b *Bridge) Members() []MemberInfo {
	out := make([]MemberInfo, len(b.members))
	for i := range b.members {
		m := &b.members[i]
		out[i] = MemberInfo{Member: m.Member, Index: i, Up: !m.down.Load(), Flags: m.flags()}
	}
	return out
}

func (m *member) flags() string {
	var s []byte
	add := func(f string) {
		if len(s) > 0 {
			s = append(s, ',')
		}
		s = append(s, f...)
	}
	if m.Span {
		return "SPAN"
	}
	if !m.NoLearn {
		add("LEARNING")
	}
	if !m.NoDiscover {
		add("DISCOVER")
	}
	if m.BlockNonIP {
		add("BLOCKNONIP")
	}
	return string(s)
}
