package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/hostnet/hostnet/l3"
)

// neighbor is one ARP or neighbour cache entry as arp -an and ndp -an
// show it.
type neighbor struct {
	Addr   string `json:"addr"`
	LLAddr string `json:"lladdr"` // "(incomplete)" while unresolved
	Iface  string `json:"iface"`
	Expire string `json:"expire"` // "permanent", or the time left as 19m49s
	// State is ndp's: R reachable, S stale, I incomplete.
	State string `json:"state"`
	// Flags: l for the host's own addresses.
	Flags string `json:"flags"`

	addr netip.Addr
}

// neighborsOf returns the ARP cache (ipv4 true) or neighbour cache of g's
// IP stack at now (nanoseconds): the host's own addresses, permanent and
// local, and every learned, static or pending entry.
func neighborsOf(g *generation, ipv4 bool, now int64) []neighbor {
	ns := []neighbor{}
	r := g.dp.Router()
	if r == nil {
		return ns
	}
	list := r.ND(now)
	if ipv4 {
		list = r.ARP(now)
	}
	for _, n := range list {
		ns = append(ns, neighborOf(n))
	}
	return ns
}

// neighborOf converts an entry of the stack's caches.
func neighborOf(n l3.Neighbor) neighbor {
	a := n.Addr
	if a.Is6() && a.IsLinkLocalUnicast() && a.Zone() == "" {
		a = a.WithZone(n.Iface)
	}
	out := neighbor{addr: a, Addr: a.String(), LLAddr: n.MAC.String(), Iface: n.Iface}
	switch n.State {
	case l3.Incomplete:
		out.LLAddr, out.State = "(incomplete)", "I"
	case l3.Stale:
		out.State = "S"
	default:
		out.State = "R"
	}
	switch {
	case n.Permanent:
		out.Expire = "permanent"
	case n.Expire <= 0:
		out.Expire = "expired"
	default:
		out.Expire = fmtExpire(n.Expire)
	}
	if n.Local {
		out.Flags = "l"
	}
	return out
}

// fmtExpire formats the time left of an entry as arp and ndp do: 19m49s,
// or 23h59m58s.
func fmtExpire(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%dh%dm%ds", s/3600, s%3600/60, s%60)
	}
	return fmt.Sprintf("%dm%ds", s/60, s%60)
}

// formatARP prints ns as OpenBSD's arp -an does.
func formatARP(w io.Writer, ns []neighbor) {
	fmt.Fprintf(w, "%-36.36s %-17.17s %7.7s %-9.9s %s\n", "Host", "Ethernet Address", "Netif", "Expire", "Flags")
	for _, n := range ns {
		fmt.Fprintf(w, "%-36.36s %-17.17s %7.7s %-9.9s %s\n", n.Addr, n.LLAddr, n.Iface, n.Expire, n.Flags)
	}
}

// formatNDP prints ns as OpenBSD's ndp -an does.
func formatNDP(w io.Writer, ns []neighbor) {
	fmt.Fprintf(w, "%-36.36s %-17.17s %7.7s %-9.9s %1s %s\n", "Neighbor", "Linklayer Address", "Netif", "Expire", "S", "Flags")
	for _, n := range ns {
		fmt.Fprintf(w, "%-36.36s %-17.17s %7.7s %-9.9s %1s %s\n", n.Addr, n.LLAddr, n.Iface, n.Expire, n.State, n.Flags)
	}
}

// neighborOpts are the options of arp and ndp.
type neighborOpts struct {
	all     *bool
	numeric *bool
}

func (o *neighborOpts) define(fs *flag.FlagSet) {
	o.all = fs.Bool("a", false, "show every entry (required)")
	o.numeric = fs.Bool("n", false, "numeric addresses (always: hostnet resolves no names)")
}

func (d *daemon) handleArp(ctx context.Context, args []string) (string, any, error) {
	return d.handleNeighbors("arp", args, true)
}

func (d *daemon) handleNdp(ctx context.Context, args []string) (string, any, error) {
	return d.handleNeighbors("ndp", args, false)
}

func (d *daemon) handleNeighbors(name string, args []string, ipv4 bool) (string, any, error) {
	var o neighborOpts
	fs, err := serverFlags(name, expandShortFlags(args, "an"), o.define)
	if err != nil {
		return "", nil, err
	}
	if fs.NArg() > 0 || !*o.all {
		return "", nil, fmt.Errorf("%s: only the whole table is shown: use -an", name)
	}
	ns := neighborsOf(d.current(), ipv4, time.Now().UnixNano())
	var b strings.Builder
	if ipv4 {
		formatARP(&b, ns)
	} else {
		formatNDP(&b, ns)
	}
	return b.String(), ns, nil
}

func cmdArp(args []string, stdout, stderr io.Writer) int {
	return neighborCmd("arp", `Arp -an prints the ARP cache of hostnet's IP stack as OpenBSD's arp -an
does: host, Ethernet address, interface, expiry and flags (l: one of the
host's own addresses, which are permanent).`, args, stdout, stderr)
}

func cmdNdp(args []string, stdout, stderr io.Writer) int {
	return neighborCmd("ndp", `Ndp -an prints the IPv6 neighbour cache of hostnet's IP stack as
OpenBSD's ndp -an does: neighbour, link-layer address, interface, expiry,
state (R reachable, S stale, I incomplete) and flags (l: one of the host's
own addresses, with the link-local address of each interface that has an
IPv6 address).`, args, stdout, stderr)
}

func neighborCmd(name, desc string, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet(name, "-an [-j] [-socket PATH]", desc, stderr)
	var o neighborOpts
	o.define(fs)
	cf := addClientFlags(fs)
	args = expandShortFlags(args, "anj")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	if fs.NArg() > 0 || !*o.all {
		fmt.Fprintf(stderr, "hostnet %s: only the whole table is shown: use -an\n", name)
		return 2
	}
	return remote(name, cf, args, stdout, stderr)
}
