package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Spec is a whole configuration directory as plain data. The same
// directory gives the same Spec on any machine: taps and guest MACs that
// vm.conf leaves open are chosen by Load, deterministically.
type Spec struct {
	Dir        string
	Interfaces []Interface // sorted by name, units numerically (em2 before em10)
	Sysctl     Sysctl
	Gateways   []netip.Addr // from mygate: at most one IPv4 and one IPv6, in file order
	Switches   []Switch     // from vm.conf, in file order
	VMs        []VM         // from vm.conf, in file order
}

// Interface returns the interface named name, or nil.
func (s *Spec) Interface(name string) *Interface {
	for i := range s.Interfaces {
		if s.Interfaces[i].Name == name {
			return &s.Interfaces[i]
		}
	}
	return nil
}

// Kind is what an interface is, taken from its name as OpenBSD does.
type Kind uint8

// Interface kinds. An interface name that is not tapN, vetherN, vlanN,
// svlanN or bridgeN names a host NIC (Ether).
const (
	Ether  Kind = iota // a host NIC: em1, eth0
	Tap                // tapN: a VM's NIC
	Vether             // vetherN: an interface of hostnet's own IP stack
	VLAN               // vlanN: 802.1Q on a parent
	SVLAN              // svlanN: 802.1ad on a parent
	Bridge             // bridgeN: a learning bridge
)

var kindNames = [...]string{Ether: "ether", Tap: "tap", Vether: "vether", VLAN: "vlan", SVLAN: "svlan", Bridge: "bridge"}

// String returns the kind's name: "ether", "tap", "vether", "vlan", "svlan"
// or "bridge" (also the interface group cloned interfaces are in).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// maxIfNameLen is IFNAMSIZ-1, the longest interface name OpenBSD and
// Linux take.
const maxIfNameLen = 15

// KindOf returns the kind of the interface named name: tapN, vetherN,
// vlanN, svlanN and bridgeN are cloned interfaces, anything else is a host
// NIC. It refuses names that cannot be interfaces, a cloned prefix without
// a unit number, and veb(4) and vport(4), which hostnet does not implement.
func KindOf(name string) (Kind, error) {
	if name == "" {
		return 0, fmt.Errorf("empty interface name")
	}
	if len(name) > maxIfNameLen {
		return 0, fmt.Errorf("interface name %q is longer than %d characters", name, maxIfNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return 0, fmt.Errorf("invalid interface name %q; want letters, digits, '.', '_' or '-'", name)
		}
	}
	if c := name[0]; c >= '0' && c <= '9' || c == '-' || c == '.' {
		return 0, fmt.Errorf("invalid interface name %q; want a name that starts with a letter", name)
	}
	i := len(name)
	for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
		i--
	}
	prefix, unit := name[:i], name[i:]
	var k Kind
	switch prefix {
	case "tap":
		k = Tap
	case "vether":
		k = Vether
	case "vlan":
		k = VLAN
	case "svlan":
		k = SVLAN
	case "bridge":
		k = Bridge
	case "veb", "vport":
		return 0, fmt.Errorf("%s: %s(4) interfaces are not supported; use a bridge (bridgeN) instead", name, prefix)
	default:
		return Ether, nil
	}
	if unit == "" {
		return 0, fmt.Errorf("interface name %q has no unit number; want %sN", name, prefix)
	}
	if len(unit) > 1 && unit[0] == '0' {
		return 0, fmt.Errorf("interface name %q: unit number has a leading zero", name)
	}
	if len(unit) > 6 {
		return 0, fmt.Errorf("interface name %q: unit number too large", name)
	}
	return k, nil
}

// Priorities of TxPrio and RxPrio other than 0-7.
const (
	PrioPacket = -1 // use the packet's own priority (txprio and rxprio "packet")
	PrioOuter  = -2 // take the priority from the outer tag (rxprio "outer", the default)
)

// Interface is one interface: one hostname.IF file, a VM tap from vm.conf,
// or an interface only named by another (a bridge member or vlan parent
// with no file of its own, which is taken as up).
type Interface struct {
	Name string
	File string // "hostname.em1", "vm.conf" for a VM tap with no file, "" when only referenced
	Line int    // 1 for a hostname file; the interface clause of a VM tap
	Kind Kind

	Up           bool
	Description  string
	LLAddr       *MAC // lladdr MAC; nil: the interface's own (or, for vlan, the parent's)
	LLAddrRandom bool // lladdr random
	MTU          int  // 0: the default
	Groups       []string
	RDomain      int
	Link         [3]bool // link0, link1, link2

	Inet  []InetAddr  // in order; only Inet[0] can have Alias false
	Inet6 []Inet6Addr // in order

	// vlan and svlan.
	Parent string
	VNetID int // 1-4094; -1 unset
	TxPrio int // 0-7 or PrioPacket (the default)
	RxPrio int // 0-7, PrioPacket or PrioOuter (the default)

	// bridge.
	Members []BridgeMember
	Timeout int // seconds; default 240; 0: entries never age
	MaxAddr int // default 100
	Static  []StaticEntry
	Spans   []string
	Rules   []BridgeRule

	// Set by Load for the tap of a VM.
	VM          string // the VM whose NIC this tap is
	GuestLLAddr MAC    // the guest NIC's MAC (vm.conf lladdr, or generated)
	Locked      bool   // locked lladdr: only GuestLLAddr may be the source of frames from the VM
}

// InetAddr is an IPv4 address of an interface.
type InetAddr struct {
	Prefix    netip.Prefix // address and mask length (10.50.0.1/24)
	Broadcast netip.Addr   // given or the default; invalid for /31 and /32
	Dest      netip.Addr   // point-to-point destination (dest); usually invalid
	Alias     bool         // added with inet alias
}

// Inet6Addr is an IPv6 address of an interface.
type Inet6Addr struct {
	Prefix netip.Prefix // address and prefix length (default 64)
	Dest   netip.Addr
	Alias  bool
}

// BridgeMember is a member of a bridge with its bridge(4) flags.
type BridgeMember struct {
	Name       string
	Learn      bool  // learn source MACs (default on, as bridge(4) sets on add)
	Discover   bool  // flood unknown unicast to it (default on)
	BlockNonIP bool  // only IPv4, IPv6, ARP and RARP cross
	Protected  []int // protected domain ids 1-31, sorted
	Line       int   // the add line in the bridge's file; the VM interface clause for a tap
	Switch     string
	// Switch names the vm.conf switch that added this member (a VM's tap);
	// empty for members of the bridge's own file.
}

// StaticEntry is a static address of a bridge: frames to MAC go to If.
type StaticEntry struct {
	If  string
	MAC MAC
}

// RuleAction is pass or block.
type RuleAction uint8

// Bridge rule actions.
const (
	Pass RuleAction = iota
	Block
)

// String returns "pass" or "block".
func (a RuleAction) String() string {
	if a == Block {
		return "block"
	}
	return "pass"
}

// RuleDir is the direction a bridge rule applies to.
type RuleDir uint8

// Bridge rule directions.
const (
	DirBoth RuleDir = iota // no direction, or in/out
	DirIn
	DirOut
)

// String returns "in", "out" or "in/out".
func (d RuleDir) String() string {
	switch d {
	case DirIn:
		return "in"
	case DirOut:
		return "out"
	}
	return "in/out"
}

// BridgeRule is one bridge(4) rule:
//
//	rule pass|block [in|out|in/out] on IF [src MAC] [dst MAC] [tag NAME]
//	     [arp|rarp [request|reply] [sha MAC] [spa IP] [tha MAC] [tpa IP]]
type BridgeRule struct {
	Action RuleAction
	Dir    RuleDir
	If     string
	Src    *MAC
	Dst    *MAC
	Tag    string // pf tag given to matching frames
	ARP    *ARPMatch
	File   string // the hostname file, or the rulefile it came from
	Line   int
}

// ARPOp is the ARP operation an ARPMatch requires.
type ARPOp uint8

// ARP operations of an ARPMatch.
const (
	ARPAny ARPOp = iota
	ARPRequest
	ARPReply
)

// ARPMatch is the arp/rarp part of a bridge rule: it matches ARP (or RARP)
// frames only, with the fields given.
type ARPMatch struct {
	RARP     bool // rarp: ethertype 0x8035 rather than 0x0806
	Op       ARPOp
	SHA, THA *MAC       // sender and target hardware addresses
	SPA, TPA netip.Addr // sender and target IPv4 addresses; invalid: any
}

// Sysctl holds the sysctl.conf settings hostnet acts on.
type Sysctl struct {
	IPForwarding  bool // net.inet.ip.forwarding=1
	IP6Forwarding bool // net.inet6.ip6.forwarding=1
}

// Switch is a vm.conf switch: a name VMs attach to, backed by a bridge.
type Switch struct {
	Name      string
	File      string
	Line      int
	Interface string // bridgeN
	Locked    bool   // locked lladdr for every VM interface on the switch
	Group     string // group of the bridge interface
	RDomain   int    // -1 unset
	Up        bool   // default true; down
	Disabled  bool
}

// VM is a vm.conf vm block. Memory, disks, boot and owner are parsed and
// kept for status output; hostnet does not run VMs.
type VM struct {
	Name          string
	File          string
	Line          int
	Disabled      bool
	Memory        int64 // bytes, a multiple of 1M; 0 unset
	Disks         []Disk
	Boot          string // kernel image
	BootDevice    string // "disk", "cdrom" or "net"
	CDROM         string
	Owner         string // user, user:group, :group or a uid
	NumInterfaces int    // interfaces N; 0 unset
	Interfaces    []VMInterface
}

// Disk is a vm disk image.
type Disk struct {
	Path   string
	Format string // "raw", "qcow2" or "" (by content)
}

// VMInterface is one NIC of a VM, as written in vm.conf and as resolved by
// Load.
type VMInterface struct {
	Line    int
	Tap     string // as written: "", "tap" or "tapN"
	Switch  string
	LLAddr  *MAC // as written; nil: Load generates one
	Locked  bool
	Group   string
	RDomain int // -1 unset
	Up      bool

	// Resolved by Load.
	IfName string // the tap: as written, or the lowest free tapN
	MAC    MAC    // LLAddr, or generated fe:e1:ba:d0:xx:xx
}

// cmpName orders interface names by letter prefix, then unit number, then
// the whole name.
func cmpName(a, b string) int {
	pa, ua := splitUnit(a)
	pb, ub := splitUnit(b)
	if c := strings.Compare(pa, pb); c != 0 {
		return c
	}
	if ua != ub {
		if ua < ub {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

func splitUnit(name string) (string, int) {
	i := len(name)
	for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
		i--
	}
	if i == len(name) || len(name)-i > 9 {
		return name, -1
	}
	n, _ := strconv.Atoi(name[i:])
	return name[:i], n
}

// MarshalText implements encoding.TextMarshaler: the String form.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler for the String forms.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if n == string(b) {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown interface kind %q", b)
}

// VM returns the VM named name, or nil.
func (s *Spec) VM(name string) *VM {
	for i := range s.VMs {
		if s.VMs[i].Name == name {
			return &s.VMs[i]
		}
	}
	return nil
}

// Switch returns the vm.conf switch named name, or nil.
func (s *Spec) Switch(name string) *Switch {
	for i := range s.Switches {
		if s.Switches[i].Name == name {
			return &s.Switches[i]
		}
	}
	return nil
}
