package l3

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/dataplane/header"
)

// slowLookup is the obviously right longest-prefix match.
func slowLookup(routes []rtEntry, a netip.Addr) *rtEntry {
	var best *rtEntry
	for i := range routes {
		r := &routes[i]
		if r.dst.Contains(a) && (best == nil || r.dst.Bits() > best.dst.Bits()) {
			best = r
		}
	}
	return best
}

// randomRoutes returns n distinct random prefixes of the family of addrLen
// bytes, each routed to its own index, and some more around them.
func randomRoutes(rng *rand.Rand, addrLen, n int) []rtEntry {
	seen := map[netip.Prefix]bool{}
	var rs []rtEntry
	for len(rs) < n {
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.IntN(4)) // few distinct bytes: many shared paths and nested prefixes
		}
		var a netip.Addr
		if addrLen == 4 {
			a = netip.AddrFrom4([4]byte(b[:4]))
		} else {
			a = netip.AddrFrom16(b)
		}
		p := netip.PrefixFrom(a, rng.IntN(addrLen*8+1)).Masked()
		if seen[p] {
			continue
		}
		seen[p] = true
		rs = append(rs, rtEntry{dst: p, ifindex: len(rs)})
	}
	return rs
}

func TestTableAgainstSlow(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name    string
		addrLen int
		n       int
	}{
		{name: "ipv4 empty", addrLen: 4, n: 0},
		{name: "ipv4 small", addrLen: 4, n: 50},
		{name: "ipv4 wide", addrLen: 4, n: 800},
		{name: "ipv6 empty", addrLen: 16, n: 0},
		{name: "ipv6 small", addrLen: 16, n: 50},
		{name: "ipv6 wide", addrLen: 16, n: 800},
	} {
		t.Run(tc.name, func(t *testing.T) {
			routes := randomRoutes(rng, tc.addrLen, tc.n)
			tab := newTable(tc.addrLen, routes)
			for range 20000 {
				var b [16]byte
				for i := range b {
					b[i] = byte(rng.IntN(4))
				}
				a := netip.AddrFrom16(b)
				if tc.addrLen == 4 {
					a = netip.AddrFrom4([4]byte(b[:4]))
				}
				got, want := tab.lookupAddr(a), slowLookup(routes, a)
				if (got == nil) != (want == nil) || (got != nil && got.ifindex != want.ifindex) {
					t.Fatalf("lookup(%v) = %+v, want %+v", a, got, want)
				}
			}
		})
	}
}

func FuzzTable(f *testing.F) {
	f.Add([]byte{10, 0, 0, 0, 8, 10, 1, 2, 3}) // a /8 and an address inside it
	f.Add([]byte{0, 0, 0, 0, 0, 1, 2, 3, 4})   // a default route
	f.Add([]byte{192, 0, 2, 1, 32, 192, 0, 2, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var routes []rtEntry
		seen := map[netip.Prefix]bool{}
		for len(b) >= 9 {
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte(b[:4])), int(b[4])%33).Masked()
			a := netip.AddrFrom4([4]byte(b[5:9]))
			b = b[9:]
			if !seen[p] {
				seen[p] = true
				routes = append(routes, rtEntry{dst: p, ifindex: len(routes)})
			}
			tab := newTable(4, routes)
			got, want := tab.lookupAddr(a), slowLookup(routes, a)
			if (got == nil) != (want == nil) || (got != nil && got.ifindex != want.ifindex) {
				t.Fatalf("lookup(%v) = %+v, want %+v", a, got, want)
			}
		}
	})
}

func TestRoutes(t *testing.T) {
	e := newEnv(t, true)
	must(t, e.r.AddRoute(netip.MustParsePrefix("172.16.0.0/12"), netip.MustParseAddr("10.50.0.254")))
	var got []string
	for _, r := range e.r.Routes() {
		got = append(got, strings.Join(strings.Fields(r.String()), " "))
	}
	want := []string{
		"default 192.0.2.1 UGS em0",
		"10.50.0.0/24 10.50.0.1 Un vether0",
		"10.50.0.1 02:00:00:00:00:01 UHLl vether0",
		"10.50.0.255 10.50.0.1 UHb vether0",
		"172.16.0.0/12 10.50.0.254 UGS vether0",
		"192.0.2.0/24 192.0.2.2 Un em0",
		"192.0.2.2 02:00:00:00:00:02 UHLl em0",
		"192.0.2.255 192.0.2.2 UHb em0",
		"default 2001:db8:1::1 UGS em0",
		"2001:db8:1::/64 2001:db8:1::2 Un em0",
		"2001:db8:1::2 02:00:00:00:00:02 UHLl em0",
		"2001:db8:50::/64 2001:db8:50::1 Un vether0",
		"2001:db8:50::1 02:00:00:00:00:01 UHLl vether0",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Routes() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if eg := e.r.Egress(); !slices.Equal(eg, []int{em0Idx}) {
		t.Errorf("Egress() = %v, want [%d]", eg, em0Idx)
	}
}

func TestAddRouteErrors(t *testing.T) {
	e := newEnv(t, true)
	for _, tc := range []struct {
		name string
		dst  string
		gw   string
	}{
		{name: "gateway off-link", dst: "0.0.0.0/0", gw: "203.0.113.1"},
		{name: "family mismatch", dst: "10.0.0.0/8", gw: "2001:db8:1::1"},
		{name: "gateway is ours", dst: "10.0.0.0/8", gw: "192.0.2.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.r.AddRoute(netip.MustParsePrefix(tc.dst), netip.MustParseAddr(tc.gw)); err == nil {
				t.Errorf("AddRoute(%s, %s) = nil, want an error", tc.dst, tc.gw)
			}
		})
	}
	if err := e.r.DeleteRoute(netip.MustParsePrefix("10.0.0.0/8")); err == nil {
		t.Errorf("DeleteRoute of a missing route = nil, want ErrNoSuchRoute")
	}
}

func TestRemoveInterface(t *testing.T) {
	e := newEnv(t, true)
	e.learnGuest(0)
	e.input(vetherIdx, remoteUDP(1), sec) // held for the gateway on em0
	e.out.take()
	must(t, e.r.RemoveInterface(em0Idx))
	if n := findNeighbor(e.r.ARP(sec), gwIP); n != nil {
		t.Errorf("ARP entry on a removed interface: %+v", n)
	}
	if eg := e.r.Egress(); len(eg) != 0 {
		t.Errorf("Egress() = %v after removing em0, want none", eg)
	}
	e.input(vetherIdx, remoteUDP(2), sec)
	if ic := icmp4Of(e.one(vetherIdx)); ic.TypeCode.Type() != 3 {
		t.Errorf("ICMP %v without a default route, want unreachable", ic.TypeCode)
	}
}

func TestStableMAC(t *testing.T) {
	a := StableMAC("vether0", []byte("host-a"))
	if a != StableMAC("vether0", []byte("host-a")) {
		t.Errorf("StableMAC is not stable")
	}
	if a[0]&0x02 == 0 || a[0]&0x01 != 0 {
		t.Errorf("StableMAC = %v, want a locally administered unicast address", a)
	}
	for _, other := range []header.MAC{StableMAC("vether1", []byte("host-a")), StableMAC("vether0", []byte("host-b"))} {
		if other == a {
			t.Errorf("StableMAC gives %v for different names or seeds", a)
		}
	}
}

func TestLinkLocalDerived(t *testing.T) {
	e := newEnv(t, false)
	ll := header.LinkLocalFromMAC(vetherMAC)
	if ll != netip.MustParseAddr("fe80::ff:fe00:1") {
		t.Errorf("LinkLocalFromMAC(%v) = %v, want fe80::ff:fe00:1", vetherMAC, ll)
	}
	if n := findNeighbor(e.r.ND(0), ll); n == nil || !n.Local {
		t.Errorf("ND() has no local entry for %v: %+v", ll, n)
	}
}
