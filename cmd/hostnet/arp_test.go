package main

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/l3"
)

func TestNeighbors(t *testing.T) {
	g := genFromFiles(t, map[string]string{
		"hostname.vether0": "lladdr 02:00:00:00:00:01\ninet 10.50.0.1/24\ninet6 2001:db8::1 64\nup\n",
		"hostname.em0":     "lladdr 52:54:00:12:34:56\ninet 192.168.1.10/24\nup\n",
	})
	var arp strings.Builder
	formatARP(&arp, neighborsOf(g, true, 0))
	want := "" +
		"Host                                 Ethernet Address    Netif Expire    Flags\n" +
		"10.50.0.1                            02:00:00:00:00:01 vether0 permanent l\n" +
		"192.168.1.10                         52:54:00:12:34:56     em0 permanent l\n"
	if got := arp.String(); got != want {
		t.Errorf("arp -an =\n%s\nwant\n%s", got, want)
	}
	var ndp strings.Builder
	formatNDP(&ndp, neighborsOf(g, false, 0))
	want = "" +
		"Neighbor                             Linklayer Address   Netif Expire    S Flags\n" +
		"2001:db8::1                          02:00:00:00:00:01 vether0 permanent R l\n" +
		"fe80::ff:fe00:1%vether0              02:00:00:00:00:01 vether0 permanent R l\n"
	if got := ndp.String(); got != want {
		t.Errorf("ndp -an =\n%s\nwant\n%s", got, want)
	}
}

func TestNeighborOf(t *testing.T) {
	mac := header.MAC{0x52, 0x54, 0, 0x12, 0x34, 0x56}
	tests := []struct {
		name string
		n    l3.Neighbor
		want neighbor
	}{
		{"resolved", l3.Neighbor{Addr: netip.MustParseAddr("10.50.0.7"), MAC: mac, Iface: "vether0", State: l3.Reachable, Expire: 19*time.Minute + 49*time.Second},
			neighbor{Addr: "10.50.0.7", LLAddr: "52:54:00:12:34:56", Iface: "vether0", Expire: "19m49s", State: "R"}},
		{"incomplete", l3.Neighbor{Addr: netip.MustParseAddr("10.50.0.8"), Iface: "vether0", State: l3.Incomplete},
			neighbor{Addr: "10.50.0.8", LLAddr: "(incomplete)", Iface: "vether0", Expire: "expired", State: "I"}},
		{"stale link-local", l3.Neighbor{Addr: netip.MustParseAddr("fe80::1"), MAC: mac, Iface: "em0", State: l3.Stale, Expire: 25 * time.Hour},
			neighbor{Addr: "fe80::1%em0", LLAddr: "52:54:00:12:34:56", Iface: "em0", Expire: "25h0m0s", State: "S"}},
		{"static", l3.Neighbor{Addr: netip.MustParseAddr("10.50.0.9"), MAC: mac, Iface: "vether0", State: l3.Reachable, Permanent: true},
			neighbor{Addr: "10.50.0.9", LLAddr: "52:54:00:12:34:56", Iface: "vether0", Expire: "permanent", State: "R"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := neighborOf(tc.n)
			got.addr = netip.Addr{}
			if got != tc.want {
				t.Errorf("neighborOf(%+v) = %+v, want %+v", tc.n, got, tc.want)
			}
		})
	}
}
