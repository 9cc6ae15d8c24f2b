package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hostnet/hostnet/l3"
)

// netRoute is one route as `hostnet netstat -rn` shows it.
type netRoute struct {
	Family  string `json:"family"` // "inet" or "inet6"
	Dst     string `json:"destination"`
	Gateway string `json:"gateway"`
	Flags   string `json:"flags"`
	Prio    int    `json:"prio"`
	Iface   string `json:"iface"`
	Ifindex int    `json:"ifindex"`

	dst netip.Prefix
}

// Route priorities of OpenBSD's net/route.h.
const (
	rtpLocal     = 1
	rtpConnected = 4
	rtpStatic    = 8
)

// routesOf returns the routing table of g's IP stack, as netstat prints
// it: IPv4 then IPv6, by destination. It is empty when no interface has
// an address (there is no stack).
func routesOf(g *generation) []netRoute {
	rs := []netRoute{}
	r := g.dp.Router()
	if r == nil {
		return rs
	}
	for _, rt := range r.Routes() {
		rs = append(rs, netRouteOf(rt))
	}
	return rs
}

// netRouteOf converts a route of the stack: the gateway is the link-layer
// address of a local route, the next hop or the interface's address, or
// link#N; a connected route is also C (cloning), as on OpenBSD; the
// priority is OpenBSD's for the kind of route.
func netRouteOf(rt l3.Route) netRoute {
	nr := netRoute{Family: "inet", dst: rt.Dst, Dst: routeDst(rt.Dst), Iface: rt.Iface, Ifindex: rt.Ifindex + 1}
	if rt.Dst.Addr().Is6() {
		nr.Family = "inet6"
	}
	switch {
	case rt.LinkAddr != "":
		nr.Gateway = rt.LinkAddr
	case rt.Gateway.IsValid():
		nr.Gateway = rt.Gateway.String()
	default:
		nr.Gateway = "link#" + strconv.Itoa(nr.Ifindex)
	}
	f := rt.Flags.String()
	if rt.Flags&l3.RouteConnected != 0 {
		i := len(f) - len(strings.TrimLeft(f, "UGH"))
		f = f[:i] + "C" + f[i:]
	}
	nr.Flags = f
	switch {
	case rt.Flags&(l3.RouteLocal|l3.RouteBroadcast) != 0:
		nr.Prio = rtpLocal
	case rt.Flags&l3.RouteConnected != 0:
		nr.Prio = rtpConnected
	default:
		nr.Prio = rtpStatic
	}
	return nr
}

// routeDst formats a destination as netstat -rn does: "default", a host
// address, or a network with its trailing zero octets left out
// ("10.50.0/24", "127/8").
func routeDst(p netip.Prefix) string {
	if p.Bits() == 0 {
		return "default"
	}
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	if !p.Addr().Is4() {
		return p.String()
	}
	a := p.Addr().As4()
	n := 4
	for n > 1 && a[n-1] == 0 && p.Bits() <= (n-1)*8 {
		n--
	}
	parts := make([]string, n)
	for i := range n {
		parts[i] = strconv.Itoa(int(a[i]))
	}
	return strings.Join(parts, ".") + "/" + strconv.Itoa(p.Bits())
}

// formatRoutes prints rs as OpenBSD's netstat -rn does. hostnet keeps no
// reference or use counts: those columns are "-".
func formatRoutes(w io.Writer, rs []netRoute, family string) {
	fmt.Fprintf(w, "Routing tables\n")
	for _, fam := range []struct{ name, title string }{{"inet", "Internet"}, {"inet6", "Internet6"}} {
		if family != "" && family != fam.name {
			continue
		}
		wd, wg := 18, 18
		if fam.name == "inet6" {
			wd, wg = 39, 39
		}
		fmt.Fprintf(w, "\n%s:\n", fam.title)
		fmt.Fprintf(w, "%-*.*s %-*.*s %-6.6s %5.5s %8.8s %5.5s %4.4s %s\n", wd, wd, "Destination", wg, wg, "Gateway", "Flags", "Refs", "Use", "Mtu", "Prio", "Iface")
		for _, r := range rs {
			if r.Family != fam.name {
				continue
			}
			fmt.Fprintf(w, "%-*s %-*s %-6.6s %5s %8s %5s %4d %s\n", wd, r.Dst, wg, r.Gateway, r.Flags, "-", "-", "-", r.Prio, r.Iface)
		}
	}
}

// netstatOpts are the options of `hostnet netstat`.
type netstatOpts struct {
	routes  *bool
	numeric *bool
	family  *string
}

func (o *netstatOpts) define(fs *flag.FlagSet) {
	o.routes = fs.Bool("r", false, "show the routing tables (required)")
	o.numeric = fs.Bool("n", false, "numeric addresses (always: hostnet resolves no names)")
	o.family = fs.String("f", "", "only address `family` inet or inet6")
}

func (d *daemon) handleNetstat(ctx context.Context, args []string) (string, any, error) {
	var o netstatOpts
	fs, err := serverFlags("netstat", expandShortFlags(args, "rn"), o.define)
	if err != nil {
		return "", nil, err
	}
	if fs.NArg() > 0 {
		return "", nil, fmt.Errorf("netstat: unexpected argument %q", fs.Arg(0))
	}
	if !*o.routes {
		return "", nil, fmt.Errorf("netstat: only the routing tables are shown: use -rn")
	}
	if f := *o.family; f != "" && f != "inet" && f != "inet6" {
		return "", nil, fmt.Errorf("netstat: -f %s: want inet or inet6", f)
	}
	rs := routesOf(d.current())
	var out []netRoute
	for _, r := range rs {
		if *o.family == "" || r.Family == *o.family {
			out = append(out, r)
		}
	}
	if out == nil {
		out = []netRoute{}
	}
	var b strings.Builder
	formatRoutes(&b, out, *o.family)
	return b.String(), out, nil
}

// expandShortFlags splits clustered single-letter boolean flags ("-rn",
// "-an") into separate ones, as the BSD tools take them. Only letters in
// bools are split; anything else is left alone.
func expandShortFlags(args []string, bools string) []string {
	var out []string
	for _, a := range args {
		if len(a) > 2 && a[0] == '-' && a[1] != '-' && strings.Trim(a[1:], bools) == "" {
			for _, c := range a[1:] {
				out = append(out, "-"+string(c))
			}
			continue
		}
		out = append(out, a)
	}
	return out
}

func cmdNetstat(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("netstat", "-rn [-f inet|inet6] [-j] [-socket PATH]",
		`Netstat -rn prints the routing tables of hostnet's IP stack as OpenBSD's
netstat -rn does: destination, gateway, flags (U up, G gateway, H host,
C cloning, L link-layer address, S static, l local, b broadcast,
n connected), priority and interface. The tables hold the local address,
broadcast and connected network routes of every interface with an
address, and the default routes of mygate. hostnet keeps no per-route
reference or use counts: Refs and Use are "-".`, stderr)
	var o netstatOpts
	o.define(fs)
	cf := addClientFlags(fs)
	args = expandShortFlags(args, "rnj")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hostnet netstat: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if !*o.routes {
		fmt.Fprintf(stderr, "hostnet netstat: only the routing tables are shown: use -rn\n")
		return 2
	}
	return remote("netstat", cf, args, stdout, stderr)
}
