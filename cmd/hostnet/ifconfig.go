package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hostnet/hostnet/dataplane"
	"github.com/hostnet/hostnet/dataplane/config"
	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// Interface flags, as OpenBSD's net/if.h numbers them.
const (
	iffUp        = 0x1
	iffBroadcast = 0x2
	iffRunning   = 0x40
	iffPromisc   = 0x100
	iffSimplex   = 0x800
	iffLink0     = 0x1000
	iffLink1     = 0x2000
	iffLink2     = 0x4000
	iffMulticast = 0x8000
)

var ifFlagNames = []struct {
	bit  uint32
	name string
}{
	{0x1, "UP"}, {0x2, "BROADCAST"}, {0x4, "DEBUG"}, {0x8, "LOOPBACK"},
	{0x10, "POINTOPOINT"}, {0x20, "STATICARP"}, {0x40, "RUNNING"}, {0x80, "NOARP"},
	{0x100, "PROMISC"}, {0x200, "ALLMULTI"}, {0x400, "OACTIVE"}, {0x800, "SIMPLEX"},
	{0x1000, "LINK0"}, {0x2000, "LINK1"}, {0x4000, "LINK2"}, {0x8000, "MULTICAST"},
}

// Bridge member flags (IFBIF_*) and address flags (IFBAF_*) of OpenBSD's
// net/if_bridge.h.
var bridgeIfFlagNames = []struct {
	bit  uint32
	name string
}{
	{0x1, "LEARNING"}, {0x2, "DISCOVER"}, {0x4, "BLOCKNONIP"}, {0x8, "STP"},
	{0x10, "EDGE"}, {0x20, "AUTOEDGE"}, {0x40, "PTP"}, {0x80, "AUTOPTP"}, {0x100, "SPAN"},
}

const ifbafStatic = 0x1

// flagNames returns the names of the bits set in v.
func flagNames(v uint32, names []struct {
	bit  uint32
	name string
}) []string {
	out := []string{}
	for _, n := range names {
		if v&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// printb formats v as OpenBSD's printb does: "flags=8943<UP,BROADCAST>".
func printb(label string, v uint32, names []string) string {
	return fmt.Sprintf("%s=%x<%s>", label, v, strings.Join(names, ","))
}

// ifInfo is one interface as `hostnet ifconfig` shows it.
type ifInfo struct {
	Name        string          `json:"name"`
	Index       int             `json:"index"`
	Kind        string          `json:"kind"`
	Flags       uint32          `json:"flags"`
	FlagNames   []string        `json:"flag_names"`
	MTU         int             `json:"mtu,omitempty"`
	LLAddr      string          `json:"lladdr,omitempty"`
	Description string          `json:"description,omitempty"`
	Groups      []string        `json:"groups"`
	Encap       *ifEncap        `json:"encap,omitempty"`
	Media       string          `json:"media,omitempty"`
	Status      string          `json:"status,omitempty"`
	Inet        []ifInet        `json:"inet,omitempty"`
	Inet6       []ifInet6       `json:"inet6,omitempty"`
	Bridge      *ifBridge       `json:"bridge,omitempty"`
	MemberOf    string          `json:"member_of,omitempty"`
	VM          string          `json:"vm,omitempty"`
	GuestLLAddr string          `json:"guest_lladdr,omitempty"`
	Locked      bool            `json:"locked,omitempty"`
	Port        string          `json:"port,omitempty"`
	Counters    dataplane.Stats `json:"counters"`
	// Stack is the counters of the host's IP stack on the interface:
	// packets it took in, sent, and dropped by reason.
	Stack *dataplane.Stats `json:"stack,omitempty"`
}

// ifEncap is a vlan interface's encapsulation.
type ifEncap struct {
	VNetID int    `json:"vnetid"`
	Parent string `json:"parent"`
	TxPrio string `json:"txprio"`
	RxPrio string `json:"rxprio"`
}

type ifInet struct {
	Addr      string `json:"addr"`
	PrefixLen int    `json:"prefixlen"`
	Netmask   string `json:"netmask"`
	Broadcast string `json:"broadcast,omitempty"`
	Dest      string `json:"dest,omitempty"`
}

type ifInet6 struct {
	Addr      string `json:"addr"`
	PrefixLen int    `json:"prefixlen"`
	ScopeID   int    `json:"scopeid,omitempty"` // link-local: the interface index
}

// countersStats snapshots c as dataplane.Stats, with the non-zero drop
// reasons.
func countersStats(name, kind string, c *packet.Counters) dataplane.Stats {
	s := dataplane.Stats{Name: name, Kind: kind,
		InPackets: c.InPackets.Load(), InBytes: c.InBytes.Load(),
		OutPackets: c.OutPackets.Load(), OutBytes: c.OutBytes.Load()}
	for r := packet.DropReason(1); r < packet.NumDropReasons; r++ {
		if n := c.Drops(r); n > 0 {
			s.Drops = append(s.Drops, dataplane.DropCount{Reason: r, Name: r.String(), N: n})
			s.Dropped += n
		}
	}
	return s
}

// ifBridge is what a bridge interface adds.
type ifBridge struct {
	MaxAddr int            `json:"maxaddr"`
	Timeout int            `json:"timeout"`
	Members []ifMember     `json:"members"`
	Addrs   []ifBridgeAddr `json:"addrs"`
	Learned uint64         `json:"learned"`
	Moves   uint64         `json:"moves"`
	Full    uint64         `json:"full"`
}

// ifMember is a bridge member (or span port).
type ifMember struct {
	Name      string   `json:"name"`
	Flags     uint32   `json:"flags"`
	FlagNames []string `json:"flag_names"`
	Port      int      `json:"port"` // the member's interface index
	Protected []int    `json:"protected,omitempty"`
	Up        bool     `json:"up"`
}

// ifBridgeAddr is one address of a bridge's table.
type ifBridgeAddr struct {
	MAC   string `json:"mac"`
	Iface string `json:"iface"`
	// Age is bridge(4)'s age as ifconfig prints it: 1 if the address was
	// seen since the last sweep, else 0.
	Age       int      `json:"age"`
	Flags     uint32   `json:"flags"`
	FlagNames []string `json:"flag_names"`
	// Seconds is the real age: seconds since the address was last seen.
	Seconds uint32 `json:"seconds"`
	Moves   uint32 `json:"moves"`
}

// ifconfigOpts are the options of `hostnet ifconfig`.
type ifconfigOpts struct {
	verbose *bool
	all     *bool
}

func (o *ifconfigOpts) define(fs *flag.FlagSet) {
	o.verbose = fs.Bool("v", false, "also print hostnet's counters (frames in, out, dropped by reason); with addr, the real age of each address in seconds")
	o.all = fs.Bool("a", false, "all interfaces (the default without IF)")
}

func (d *daemon) handleIfconfig(ctx context.Context, args []string) (string, any, error) {
	var o ifconfigOpts
	fs, err := serverFlags("ifconfig", args, o.define)
	if err != nil {
		return "", nil, err
	}
	g := d.current()
	ports := d.portStates()
	rest := fs.Args()
	var name string
	addr := false
	switch len(rest) {
	case 0:
	case 1:
		name = rest[0]
	case 2:
		if rest[1] != "addr" {
			return "", nil, fmt.Errorf("ifconfig %s %s: only \"addr\" can follow the interface", rest[0], rest[1])
		}
		name, addr = rest[0], true
	default:
		return "", nil, fmt.Errorf("ifconfig: too many arguments")
	}
	now := uint32(time.Now().Unix())
	var infos []ifInfo
	for _, ifc := range g.dp.Interfaces() {
		if name != "" && ifc.Name != name {
			continue
		}
		infos = append(infos, ifInfoOf(g, ifc, ports[ifc.Name], now))
	}
	if name != "" && len(infos) == 0 {
		return "", nil, fmt.Errorf("ifconfig %s: no such interface", name)
	}
	var b strings.Builder
	if addr {
		if infos[0].Bridge == nil {
			return "", nil, fmt.Errorf("ifconfig %s addr: %s is not a bridge", name, name)
		}
		formatBridgeAddrs(&b, "", infos[0].Bridge.Addrs, *o.verbose)
		return b.String(), infos[0].Bridge.Addrs, nil
	}
	for _, in := range infos {
		formatIfconfig(&b, in, *o.verbose)
	}
	if name != "" {
		return b.String(), infos[0], nil
	}
	return b.String(), infos, nil
}

// portState is what ifconfig shows of a port.
type portState struct {
	desc string
	dead bool
}

// portStates returns the state of each open port.
func (d *daemon) portStates() map[string]portState {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := map[string]portState{}
	for name, lp := range d.ports {
		ps := portState{desc: lp.desc, dead: lp.dead.Load()}
		if ps.dead {
			ps.desc += ", deleted from outside (reload recreates it)"
		}
		m[name] = ps
	}
	return m
}

// ifInfoOf collects what ifconfig shows of ifc; now is the clock in
// seconds for the real ages of bridge addresses.
func ifInfoOf(g *generation, ifc *dataplane.Interface, ps portState, now uint32) ifInfo {
	ci := g.spec.Interface(ifc.Name)
	if ci == nil {
		ci = &config.Interface{Name: ifc.Name}
	}
	in := ifInfo{
		Name: ifc.Name, Index: int(ifc.Index) + 1, Kind: ifc.Kind.String(),
		Description: ifc.Description, MemberOf: ifc.MemberOf(), VM: ci.VM, Locked: ci.Locked,
		Port: ps.desc, Counters: ifc.Stats(), Groups: []string{},
	}
	if ci.VM != "" {
		in.GuestLLAddr = ci.GuestLLAddr.String()
	}
	for _, gr := range ifc.Groups {
		if gr != "all" {
			in.Groups = append(in.Groups, gr)
		}
	}
	if r := g.dp.Router(); r != nil && slices.Contains(r.Egress(), int(ifc.Index)) && !slices.Contains(in.Groups, "egress") {
		in.Groups = append(in.Groups, "egress")
	}
	var f uint32
	if ifc.Up {
		f |= iffUp
	}
	attached := ifc.Port() != nil && !ps.dead
	switch ifc.Kind {
	case dataplane.KindBridge:
		if ifc.Up {
			f |= iffRunning
		}
	default:
		f |= iffBroadcast | iffSimplex | iffMulticast
		in.MTU = ifc.MTU
		in.LLAddr = ifc.MAC.String()
		running := ifc.Up
		if ifc.Kind.HasPort() {
			running = running && attached
		}
		if p := ifc.Parent(); p != nil {
			running = running && p.Up && (!p.Kind.HasPort() || p.Port() != nil)
		}
		if running {
			f |= iffRunning
		}
		if in.MemberOf != "" || (ifc.Kind == dataplane.KindEther && attached) {
			f |= iffPromisc // bridge members, and host NICs opened promiscuous
		}
		in.Media = "Ethernet autoselect"
		in.Status = "no carrier"
		if running {
			in.Status = "active"
		}
	}
	for i, set := range ci.Link {
		if set {
			f |= iffLink0 << i
		}
	}
	in.Flags, in.FlagNames = f, flagNames(f, ifFlagNames)
	if ifc.Kind == dataplane.KindVLAN || ifc.Kind == dataplane.KindSVLAN {
		e := &ifEncap{VNetID: ci.VNetID, Parent: ci.Parent, TxPrio: prioName(ci.TxPrio), RxPrio: prioName(ci.RxPrio)}
		if e.VNetID < 0 {
			e.VNetID = 0
		}
		in.Encap = e
	}
	for _, a := range ci.Inet {
		x := ifInet{Addr: a.Prefix.Addr().String(), PrefixLen: a.Prefix.Bits(), Netmask: netmaskHex(a.Prefix.Bits())}
		if a.Broadcast.IsValid() {
			x.Broadcast = a.Broadcast.String()
		}
		if a.Dest.IsValid() {
			x.Dest = a.Dest.String()
		}
		in.Inet = append(in.Inet, x)
	}
	if len(ci.Inet6) > 0 {
		// The stack gives an interface with an IPv6 address its
		// link-local address too; ifconfig lists it first.
		ll := header.LinkLocalFromMAC(ifc.MAC).WithZone(ifc.Name)
		in.Inet6 = append(in.Inet6, ifInet6{Addr: ll.String(), PrefixLen: 64, ScopeID: in.Index})
	}
	for _, a := range ci.Inet6 {
		in.Inet6 = append(in.Inet6, ifInet6{Addr: a.Prefix.Addr().String(), PrefixLen: a.Prefix.Bits()})
	}
	if r := g.dp.Router(); r != nil && ifc.IsStack() {
		if c := r.Counters(int(ifc.Index)); c != nil {
			st := countersStats(ifc.Name, "stack", c)
			in.Stack = &st
		}
	}
	if br := g.dp.Bridge(ifc.Name); br != nil {
		cfg := br.Config()
		bi := &ifBridge{MaxAddr: cfg.MaxAddr, Timeout: cfg.Timeout, Members: []ifMember{}, Addrs: []ifBridgeAddr{},
			Learned: br.Counters().Learned.Load(), Moves: br.Counters().Moves.Load(), Full: br.Counters().Full.Load()}
		if bi.MaxAddr == 0 {
			bi.MaxAddr = br.Table().Max()
		}
		members := br.Members()
		for _, m := range members {
			var mf uint32
			if m.Span {
				mf = 0x100
			} else {
				if !m.NoLearn {
					mf |= 0x1
				}
				if !m.NoDiscover {
					mf |= 0x2
				}
				if m.BlockNonIP {
					mf |= 0x4
				}
			}
			mm := ifMember{Name: m.Name, Flags: mf, FlagNames: flagNames(mf, bridgeIfFlagNames), Up: m.Up}
			if mi, ok := g.dp.Interface(m.Name); ok {
				mm.Port = int(mi.Index) + 1
			}
			for id := 1; id < 32; id++ {
				if m.Protected&(1<<id) != 0 {
					mm.Protected = append(mm.Protected, id)
				}
			}
			bi.Members = append(bi.Members, mm)
		}
		for _, e := range br.Table().Entries() {
			a := ifBridgeAddr{MAC: e.MAC.String(), Seconds: e.Age(now), Moves: e.Moves, FlagNames: []string{}}
			if e.Member >= 0 && e.Member < len(members) {
				a.Iface = members[e.Member].Name
			}
			if e.Seen {
				a.Age = 1
			}
			if e.Static {
				a.Flags = ifbafStatic
				a.FlagNames = []string{"STATIC"}
			}
			bi.Addrs = append(bi.Addrs, a)
		}
		in.Bridge = bi
	}
	return in
}

func prioName(p int) string {
	switch p {
	case config.PrioPacket:
		return "packet"
	case config.PrioOuter:
		return "outer"
	}
	return strconv.Itoa(p)
}

// netmaskHex returns the IPv4 netmask of a prefix length as ifconfig
// prints it: 0xffffff00.
func netmaskHex(bits int) string {
	var m uint32
	if bits > 0 {
		m = ^uint32(0) << (32 - bits)
	}
	return fmt.Sprintf("0x%08x", m)
}

// formatIfconfig prints in as OpenBSD's ifconfig does; verbose adds
// hostnet's counters and port.
func formatIfconfig(w io.Writer, in ifInfo, verbose bool) {
	fmt.Fprintf(w, "%s: %s", in.Name, printb("flags", in.Flags, in.FlagNames))
	if in.MTU > 0 {
		fmt.Fprintf(w, " mtu %d", in.MTU)
	}
	fmt.Fprintln(w)
	if in.LLAddr != "" {
		fmt.Fprintf(w, "\tlladdr %s\n", in.LLAddr)
	}
	if in.Description != "" {
		fmt.Fprintf(w, "\tdescription: %s\n", in.Description)
	}
	if in.Bridge != nil {
		fmt.Fprintf(w, "\tindex %d llprio 3\n", in.Index)
	} else {
		fmt.Fprintf(w, "\tindex %d priority 0 llprio 3\n", in.Index)
	}
	if len(in.Groups) > 0 {
		fmt.Fprintf(w, "\tgroups: %s\n", strings.Join(in.Groups, " "))
	}
	if e := in.Encap; e != nil {
		fmt.Fprintf(w, "\tencap: vnetid %d parent %s txprio %s rxprio %s\n", e.VNetID, orNone(e.Parent), e.TxPrio, e.RxPrio)
	}
	if in.Media != "" {
		fmt.Fprintf(w, "\tmedia: %s\n", in.Media)
	}
	if in.Status != "" {
		fmt.Fprintf(w, "\tstatus: %s\n", in.Status)
	}
	if b := in.Bridge; b != nil {
		for _, m := range b.Members {
			fmt.Fprintf(w, "\t%s %s\n", m.Name, printb("flags", m.Flags, m.FlagNames))
			if m.Flags&0x100 != 0 {
				continue
			}
			fmt.Fprintf(w, "\t\tport %d ifpriority 0 ifcost 0", m.Port)
			if len(m.Protected) > 0 {
				ids := make([]string, len(m.Protected))
				for i, id := range m.Protected {
					ids[i] = strconv.Itoa(id)
				}
				fmt.Fprintf(w, " protected %s", strings.Join(ids, ","))
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "\tAddresses (max cache: %d, timeout: %d):\n", b.MaxAddr, b.Timeout)
		formatBridgeAddrs(w, "\t\t", b.Addrs, verbose)
	}
	for _, a := range in.Inet {
		fmt.Fprintf(w, "\tinet %s", a.Addr)
		if a.Dest != "" {
			fmt.Fprintf(w, " --> %s", a.Dest)
		}
		fmt.Fprintf(w, " netmask %s", a.Netmask)
		if a.Broadcast != "" {
			fmt.Fprintf(w, " broadcast %s", a.Broadcast)
		}
		fmt.Fprintln(w)
	}
	for _, a := range in.Inet6 {
		fmt.Fprintf(w, "\tinet6 %s prefixlen %d", a.Addr, a.PrefixLen)
		if a.ScopeID > 0 {
			fmt.Fprintf(w, " scopeid 0x%x", a.ScopeID)
		}
		fmt.Fprintln(w)
	}
	if !verbose {
		return
	}
	// hostnet's additions.
	if in.VM != "" {
		fmt.Fprintf(w, "\tvm: %s guest lladdr %s", in.VM, in.GuestLLAddr)
		if in.Locked {
			fmt.Fprintf(w, " locked")
		}
		fmt.Fprintln(w)
	}
	if in.Port != "" {
		fmt.Fprintf(w, "\tport: %s\n", in.Port)
	}
	c := in.Counters
	fmt.Fprintf(w, "\tcounters: in %d packets %d bytes, out %d packets %d bytes, dropped %d\n",
		c.InPackets, c.InBytes, c.OutPackets, c.OutBytes, c.Dropped)
	for _, dc := range c.Drops {
		fmt.Fprintf(w, "\t\tdropped %d %s\n", dc.N, dc.Name)
	}
	if st := in.Stack; st != nil {
		fmt.Fprintf(w, "\tstack: in %d packets, out %d packets, dropped %d\n", st.InPackets, st.OutPackets, st.Dropped)
		for _, dc := range st.Drops {
			fmt.Fprintf(w, "\t\tdropped %d %s\n", dc.N, dc.Name)
		}
	}
	if b := in.Bridge; b != nil {
		fmt.Fprintf(w, "\tbridge: %d addresses, %d learned, %d moves, %d not learned (table full)\n",
			len(b.Addrs), b.Learned, b.Moves, b.Full)
	}
}

// formatBridgeAddrs prints a bridge's addresses as `ifconfig bridge0 addr`
// does: MAC, member, age (1 if seen since the last sweep) and flags;
// verbose adds the real age in seconds.
func formatBridgeAddrs(w io.Writer, indent string, addrs []ifBridgeAddr, verbose bool) {
	for _, a := range addrs {
		fmt.Fprintf(w, "%s%s %s %d %s", indent, a.MAC, a.Iface, a.Age, printb("flags", a.Flags, a.FlagNames))
		if verbose {
			fmt.Fprintf(w, " age %ds", a.Seconds)
			if a.Moves > 0 {
				fmt.Fprintf(w, " moves %d", a.Moves)
			}
		}
		fmt.Fprintln(w)
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func cmdIfconfig(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("ifconfig", "[-v] [-j] [-socket PATH] [IF [addr]]",
		`Ifconfig prints the interfaces of the running daemon as OpenBSD's
ifconfig(8) does: flags, MTU, MAC (lladdr), index, groups, media and
status, addresses (inet, inet6), a vlan's encapsulation, and for a bridge
its members with their flags and its address table. With IF, only that
interface; with 'IF addr' (IF a bridge), only its learned addresses, as
MAC MEMBER AGE flags=..., where AGE is bridge(4)'s: 1 if the address was
seen since the last sweep, else 0.

-v adds what OpenBSD does not show: frames and bytes in and out, drops by
reason, the VM a tap belongs to and its guest MAC, the port, and for
addresses the real age in seconds.`, stderr)
	var o ifconfigOpts
	o.define(fs)
	cf := addClientFlags(fs)
	// IF and addr may come before the flags, as with ifconfig.
	pos, code, done := parseFlagsInterleaved(fs, args, stdout)
	if done {
		return code
	}
	if len(pos) > 2 || len(pos) == 2 && pos[1] != "addr" {
		fmt.Fprintf(stderr, "hostnet ifconfig: want [IF [addr]], got %q\n", strings.Join(pos, " "))
		return 2
	}
	return remote("ifconfig", cf, args, stdout, stderr)
}
