package main

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/l3"
)

func TestRouteDst(t *testing.T) {
	tests := []struct {
		name string
		p    string
		want string
	}{
		{"default", "0.0.0.0/0", "default"},
		{"class C", "10.50.0.0/24", "10.50.0/24"},
		{"class A", "127.0.0.0/8", "127/8"},
		{"class B", "172.16.0.0/16", "172.16/16"},
		{"unaligned", "10.50.0.128/25", "10.50.0.128/25"},
		{"zero octet kept by the mask", "10.0.0.0/20", "10.0.0/20"},
		{"host", "10.50.0.1/32", "10.50.0.1"},
		{"inet6", "2001:db8::/64", "2001:db8::/64"},
		{"inet6 default", "::/0", "default"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := routeDst(netip.MustParsePrefix(tc.p)); got != tc.want {
				t.Errorf("routeDst(%s) = %q, want %q", tc.p, got, tc.want)
			}
		})
	}
}

func TestRoutesOf(t *testing.T) {
	g := genFromFiles(t, map[string]string{
		"hostname.vether0": "inet 10.50.0.1 255.255.255.0\ninet6 2001:db8::1 64\nup\n",
		"hostname.em0":     "inet 192.168.1.10/24\nup\n",
		"mygate":           "192.168.1.1\n",
	})
	em0 := g.dp.Interfaces()[0]
	v0, _ := g.dp.Interface("vether0")
	rs := routesOf(g)
	var b strings.Builder
	formatRoutes(&b, rs, "")
	mac := func(s string) string { return s + strings.Repeat(" ", 19-len(s)) }
	want := "Routing tables\n\nInternet:\n" +
		"Destination        Gateway            Flags   Refs      Use   Mtu Prio Iface\n" +
		"default            192.168.1.1        UGS        -        -     -    8 em0\n" +
		"10.50.0/24         10.50.0.1          UCn        -        -     -    4 vether0\n" +
		"10.50.0.1          " + mac(v0.MAC.String()) + "UHLl       -        -     -    1 vether0\n" +
		"10.50.0.255        10.50.0.1          UHb        -        -     -    1 vether0\n" +
		"192.168.1/24       192.168.1.10       UCn        -        -     -    4 em0\n" +
		"192.168.1.10       " + mac(em0.MAC.String()) + "UHLl       -        -     -    1 em0\n" +
		"192.168.1.255      192.168.1.10       UHb        -        -     -    1 em0\n" +
		"\nInternet6:\n" +
		"Destination                             Gateway                                 Flags   Refs      Use   Mtu Prio Iface\n" +
		"2001:db8::/64                           2001:db8::1                             UCn        -        -     -    4 vether0\n" +
		"2001:db8::1                             " + v0.MAC.String() + strings.Repeat(" ", 40-17) + "UHLl       -        -     -    1 vether0\n"
	if got := b.String(); got != want {
		t.Errorf("netstat -rn =\n%s\nwant\n%s", got, want)
	}
	var inet6 strings.Builder
	formatRoutes(&inet6, rs, "inet6")
	if strings.Contains(inet6.String(), "Internet:") || !strings.Contains(inet6.String(), "Internet6:") {
		t.Errorf("netstat -rn -f inet6 =\n%s\nwant only Internet6", inet6.String())
	}
}

func TestNetRouteOf(t *testing.T) {
	tests := []struct {
		name string
		rt   l3.Route
		want netRoute
	}{
		{"static host route", l3.Route{Dst: netip.MustParsePrefix("10.1.2.3/32"), Gateway: netip.MustParseAddr("10.50.0.9"),
			Flags: l3.RouteUp | l3.RouteGateway | l3.RouteHost | l3.RouteStatic, Ifindex: 2, Iface: "vether0"},
			netRoute{Family: "inet", Dst: "10.1.2.3", Gateway: "10.50.0.9", Flags: "UGHS", Prio: 8, Iface: "vether0", Ifindex: 3}},
		{"no gateway", l3.Route{Dst: netip.MustParsePrefix("2001:db8::/64"), Flags: l3.RouteUp | l3.RouteConnected, Ifindex: 0, Iface: "em0"},
			netRoute{Family: "inet6", Dst: "2001:db8::/64", Gateway: "link#1", Flags: "UCn", Prio: 4, Iface: "em0", Ifindex: 1}},
		{"local", l3.Route{Dst: netip.MustParsePrefix("10.50.0.1/32"), LinkAddr: "02:00:00:00:00:01",
			Flags: l3.RouteUp | l3.RouteHost | l3.RouteLLInfo | l3.RouteLocal, Ifindex: 0, Iface: "vether0"},
			netRoute{Family: "inet", Dst: "10.50.0.1", Gateway: "02:00:00:00:00:01", Flags: "UHLl", Prio: 1, Iface: "vether0", Ifindex: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := netRouteOf(tc.rt)
			got.dst = netip.Prefix{}
			if got != tc.want {
				t.Errorf("netRouteOf(%v) = %+v, want %+v", tc.rt, got, tc.want)
			}
		})
	}
}
