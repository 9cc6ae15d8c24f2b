package pfconf

import "net/netip"

// Spec is a parsed pf.conf: plain data, the same on any machine for the
// same input and the same ParseOptions. Rules are stored expanded, one per
// combination of their lists, in pfctl's order, with every parse-time
// default applied (set block-policy, flags S/SA, keep state, pool types).
type Spec struct {
	File string // the name the main file was parsed under

	// Echo holds the lines pfctl -nv prints while it parses the main
	// file: macro definitions, table definitions and set options, in
	// file order, without the final newline.
	Echo []string

	Options Options

	// Main is the main ruleset (Path "").
	Main Ruleset

	// Anchors holds every anchor ruleset below the main one, inline or
	// loaded from a file, by full path ("one/two", "vm/web01").
	Anchors map[string]*Ruleset
}

// Ruleset is the rules and tables of one anchor (or of the main ruleset).
type Ruleset struct {
	Path   string // "" for the main ruleset
	File   string // the file its rules came from ("" for inline anchors)
	Tables []Table
	Rules  []Rule
}

// Options are the values set with `set`. A zero field means the option
// was not given and pf's default applies.
type Options struct {
	BlockPolicy  BlockPolicy // the last set block-policy (already applied to the rules)
	StatePolicy  StatePolicy
	Optimization string // normal, high-latency, satellite, aggressive, conservative
	RulesetOpt   string // none, basic, profile
	Debug        string // emerg ... debug
	LogInterface string // "none" clears it
	HostID       uint32
	HostIDSet    bool
	Reassemble   Reassemble
	Skip         []string // interfaces and groups pf does not filter
	Timeouts     map[string]uint32
	Limits       map[string]uint32
	Syncookies   string
	Fingerprints string
}

// Reassemble is `set reassemble yes|no [no-df]`.
type Reassemble struct {
	Set, On, NoDF bool
}

// BlockPolicy is what a bare `block` does.
type BlockPolicy uint8

const (
	PolicyDrop BlockPolicy = iota
	PolicyReturn
)

// StatePolicy binds states to their interface or not.
type StatePolicy uint8

const (
	StateFloating StatePolicy = iota
	StateIfBound
)

// Table is a `table <name>` definition.
type Table struct {
	Name     string
	Line     int
	Const    bool
	Persist  bool
	Counters bool
	Auto     bool        // created by pfctl for an address list in a pool
	Inits    []TableInit // as written, for printing: address lists and files
	Entries  []TableEntry
}

// TableInit is one `{ ... }` list or `file "path"` of a table definition.
type TableInit struct {
	File  string // non-empty: a file
	Addrs []TableEntry
}

// TableEntry is one address of a table. Not excludes it (`!10.0.0.1`).
type TableEntry struct {
	Not    bool
	Prefix netip.Prefix
}

// AF is an address family.
type AF uint8

const (
	AFAny AF = iota
	Inet
	Inet6
)

// String returns "inet", "inet6" or "".
func (a AF) String() string {
	switch a {
	case Inet:
		return "inet"
	case Inet6:
		return "inet6"
	}
	return ""
}

// Action is what a rule does when it matches.
type Action uint8

const (
	Pass Action = iota
	Block
	Match
	Anchor // an anchor call: evaluate the anchor's rules
)

// ReturnMode is how a block rule answers.
type ReturnMode uint8

const (
	ReturnDrop ReturnMode = iota
	ReturnBoth            // `return`: TCP RST, ICMP port unreachable otherwise
	ReturnRST
	ReturnICMP // return-icmp / return-icmp6, codes in ReturnICMP4/6
)

// Dir is a rule's direction.
type Dir uint8

const (
	DirBoth Dir = iota
	In
	Out
)

// LogFlags are the `log (...)` options.
type LogFlags uint8

const (
	LogOn LogFlags = 1 << iota
	LogAll
	LogMatches
	LogUser
)

// AddrType says how an Addr matches.
type AddrType uint8

const (
	AddrAny        AddrType = iota // any address
	AddrMask                       // Prefix
	AddrRange                      // From - To, inclusive
	AddrDynamic                    // (Name[:mod])/Bits: the interface's current addresses
	AddrTable                      // <Name>
	AddrNoRoute                    // no-route
	AddrURPFFailed                 // urpf-failed
)

// IfMod are the modifiers of a dynamic interface address.
type IfMod uint8

const (
	ModNetwork IfMod = 1 << iota
	ModBroadcast
	ModPeer
	ModNoAlias // :0
)

// Addr is one address of a rule or pool, as pf keeps it (pf_addr_wrap).
type Addr struct {
	Type     AddrType
	Prefix   netip.Prefix // AddrMask, host bits cleared
	From, To netip.Addr   // AddrRange
	Name     string       // AddrDynamic: interface or group; AddrTable: table
	Mod      IfMod        // AddrDynamic
	Bits     int          // AddrDynamic: netmask applied; 128 means none
}

// PortOp is a port comparison (pf.conf(5) PACKET FILTERING, port).
type PortOp uint8

const (
	PortNone    PortOp = iota
	PortEq             // =
	PortNe             // !=
	PortLt             // <
	PortLe             // <=
	PortGt             // >
	PortGe             // >=
	PortInside         // A >< B: A < p < B
	PortOutside        // A <> B: p < A or p > B
	PortRange          // A:B: A <= p <= B
)

// Port is a port match. The same shape serves user and group ids.
type Port struct {
	Op   PortOp
	A, B uint32
}

// Endpoint is the `from` or `to` part of a rule.
type Endpoint struct {
	Addr Addr
	Not  bool
	Port Port
}

// PoolType is how a pool with several addresses picks one.
type PoolType uint8

const (
	PoolNone PoolType = iota
	PoolBitmask
	PoolRandom
	PoolSourceHash
	PoolRoundRobin
	PoolLeastStates
)

// Pool is a translation or routing target.
type Pool struct {
	Addr   Addr
	If     string // route-to ADDR@IF
	PortLo uint16 // nat-to: proxy port range (0:0 static-port); rdr-to: new port (range)
	PortHi uint16
	Type   PoolType
	Key    [16]byte // source-hash key; zero when none was given (pfctl would pick a random one)
	Sticky bool
}

// StateMode is what state a pass rule keeps.
type StateMode uint8

const (
	NoState StateMode = iota
	KeepState
	ModulateState
	SynproxyState
)

// RouteType is route-to, reply-to or dup-to.
type RouteType uint8

const (
	RouteNone RouteType = iota
	RouteTo
	ReplyTo
	DupTo
)

// Rate is N per S seconds.
type Rate struct {
	Limit, Seconds uint32
}

// Rule is one expanded pf rule. Field names follow pf.conf(5).
type Rule struct {
	File string
	Line int
	Nr   int // number within its ruleset

	Action      Action
	Return      ReturnMode
	ReturnTTL   uint8
	ReturnICMP4 uint16 // type<<8 | code
	ReturnICMP6 uint16
	Dir         Dir
	Log         LogFlags
	LogIf       uint8 // log (to pflogN)
	Quick       bool

	Interface    string // interface or group name; "" any
	InterfaceNot bool
	AF           AF
	Proto        uint8 // 0 any
	Src, Dst     Endpoint

	ReceivedOn    string
	ReceivedOnNot bool
	User, Group   Port

	Flags, FlagsMask uint8 // TCP flags; both zero: no check
	ICMPType         uint8 // type+1, 0 none
	ICMPCode         uint8 // code+1, 0 none
	TOS              uint8
	Prio             uint8
	PrioSet          bool
	MaxPktRate       Rate

	SetPrio    [2]uint8
	SetPrioSet bool
	SetTOS     uint8
	SetTOSSet  bool

	State           StateMode
	MaxStates       uint32
	NoSync          bool
	SourceTrack     bool
	SourceTrackRule bool
	MaxSrcStates    uint32
	MaxSrcConn      uint32
	MaxSrcConnRate  Rate
	MaxSrcNodes     uint32
	Overload        string
	Flush           bool
	FlushGlobal     bool
	IfBound         bool
	Sloppy          bool
	Pflow           bool
	Timeouts        [NumTimeouts]uint32 // per-rule state timeouts in seconds, named by TimeoutNames; 0 unset

	Probability uint32 // scaled to 1<<32; 0 always
	Fragment    bool

	ScrubNoDF     bool
	ScrubRandomID bool
	ScrubMinTTL   uint8
	ScrubMaxMSS   uint16
	ScrubTCP      bool

	AllowOpts bool
	Label     string
	Once      bool
	Tag       string
	Tagged    string
	TaggedNot bool

	NAT, RDR  *Pool // nat-to / rdr-to (af-to: from and to pools)
	AFTo      AF
	Route     *Pool
	RouteType RouteType

	// AnchorCall is the anchor name as written in an anchor rule
	// ("two", "vm/*"; "_N" for an unnamed inline anchor) and AnchorPath
	// the full path of the ruleset it calls ("one/two"). A path ending
	// in "*" ("vm/*", or "*" for the main ruleset's) calls each direct
	// child of the parent in turn, in strcmp order of their paths, and
	// not the parent's own rules.
	AnchorCall string
	AnchorPath string
}

// NumTimeouts is the number of timeout values, in pf's order (PFTM_*):
// Rule.Timeouts[i] is the timeout named TimeoutNames[i].
const NumTimeouts = 19

// TimeoutNames are the names of the timeouts, in pf's order.
var TimeoutNames = [NumTimeouts]string{
	"tcp.first", "tcp.opening", "tcp.established", "tcp.closing",
	"tcp.finwait", "tcp.closed", "udp.first", "udp.single", "udp.multiple",
	"icmp.first", "icmp.error", "other.first", "other.single",
	"other.multiple", "frag", "interval", "adaptive.start", "adaptive.end",
	"src.track",
}

const (
	tmAdaptiveStart = 16
	tmAdaptiveEnd   = 17
	tmSrcTrack      = 18
)

// timeoutIndex returns the index of a timeout name, or -1.
func timeoutIndex(name string) int {
	for i, n := range TimeoutNames {
		if n == name {
			return i
		}
	}
	return -1
}

// Ruleset returns the ruleset at path ("" for the main one), or nil.
func (s *Spec) Ruleset(path string) *Ruleset {
	if path == "" {
		return &s.Main
	}
	return s.Anchors[path]
}

// Table returns the table called name defined in the ruleset, or nil. A
// rule in an anchor that names a table the anchor does not define uses
// the main ruleset's; a table defined nowhere is empty.
func (rs *Ruleset) Table(name string) *Table {
	for i := range rs.Tables {
		if rs.Tables[i].Name == name {
			return &rs.Tables[i]
		}
	}
	return nil
}
