package nat

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p)
			continue
		}
		a := netip.MustParseAddr(s)
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out
}

func mustPool(t testing.TB, cfg PoolConfig) *Pool {
	t.Helper()
	pl, err := NewPool(cfg)
	if err != nil {
		t.Fatalf("NewPool(%+v): %v", cfg, err)
	}
	return pl
}

// udpFrom returns a UDP flow from src (an address) to 198.51.100.7:53.
func udpFrom(src string, port uint16) packet.Flow {
	return packet.Flow{Proto: header.ProtoUDP,
		Src: netip.AddrPortFrom(netip.MustParseAddr(src), port),
		Dst: netip.MustParseAddrPort("198.51.100.7:53")}
}

// natAddrs runs n translations of flows from srcs in turn and returns the
// addresses picked.
func natAddrs(t *testing.T, pl *Pool, n int, srcs ...string) []string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed))
	var out []string
	for i := range n {
		ap, err := pl.NAT(&Request{Flow: udpFrom(srcs[i%len(srcs)], 5353), Rand: r})
		if err != nil {
			t.Fatalf("NAT #%d: %v", i, err)
		}
		out = append(out, ap.Addr().String())
	}
	return out
}

func TestPoolRoundRobin(t *testing.T) {
	tests := []struct {
		name  string
		addrs []netip.Prefix
		n     int
		want  string
	}{
		{"list", prefixes("203.0.113.1", "203.0.113.5", "203.0.113.9"), 5,
			"[203.0.113.1 203.0.113.5 203.0.113.9 203.0.113.1 203.0.113.5]"},
		{"prefix-walk", prefixes("203.0.113.0/30"), 6,
			"[203.0.113.0 203.0.113.1 203.0.113.2 203.0.113.3 203.0.113.0 203.0.113.1]"},
		{"list-and-prefix", prefixes("192.0.2.1", "203.0.113.4/31"), 4,
			"[192.0.2.1 203.0.113.4 203.0.113.5 192.0.2.1]"},
		{"other-family-skipped", prefixes("2001:db8::1", "203.0.113.1", "2001:db8::2", "203.0.113.2"), 3,
			"[203.0.113.1 203.0.113.2 203.0.113.1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pl := mustPool(t, PoolConfig{Addrs: tc.addrs, Method: MethodRoundRobin, Ports: DefaultNATPorts})
			if got := fmt.Sprint(natAddrs(t, pl, tc.n, "10.50.0.10")); got != tc.want {
				t.Errorf("round-robin picks = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestPoolDefaultMethod(t *testing.T) {
	tests := []struct {
		name  string
		addrs []netip.Prefix
		want  Method
	}{
		{"single", prefixes("203.0.113.1"), MethodNone},
		{"list", prefixes("203.0.113.1", "203.0.113.2"), MethodRoundRobin},
		{"prefix", prefixes("203.0.113.0/24"), MethodRoundRobin},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustPool(t, PoolConfig{Addrs: tc.addrs}).Method(); got != tc.want {
				t.Errorf("NewPool(%v).Method() = %v, want %v", tc.addrs, got, tc.want)
			}
		})
	}
}

func TestPoolSourceHash(t *testing.T) {
	key, err := ParseHashKey("0x0123456789abcdef0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		pool string
		srcs []string
	}{
		{"v4", "203.0.113.0/24", []string{"10.50.0.10", "10.50.0.11", "10.50.0.12", "172.16.9.9"}},
		{"v6", "2001:db8:ffff::/64", []string{"fd00::10", "fd00::11", "fd00::12", "fd00:1::9"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pfx := netip.MustParsePrefix(tc.pool)
			pl := mustPool(t, PoolConfig{Addrs: []netip.Prefix{pfx}, Method: MethodSourceHash, Key: key, Ports: DefaultNATPorts})
			first := natAddrs(t, pl, len(tc.srcs), tc.srcs...)
			again := natAddrs(t, pl, len(tc.srcs), tc.srcs...)
			other := mustPool(t, PoolConfig{Addrs: []netip.Prefix{pfx}, Method: MethodSourceHash, Key: key, Ports: DefaultNATPorts})
			third := natAddrs(t, other, len(tc.srcs), tc.srcs...)
			distinct := map[string]bool{}
			for i := range first {
				if first[i] != again[i] || first[i] != third[i] {
					t.Errorf("source %s got %s, %s and %s: want one address", tc.srcs[i], first[i], again[i], third[i])
				}
				if !pfx.Contains(netip.MustParseAddr(first[i])) {
					t.Errorf("source %s got %s, outside %s", tc.srcs[i], first[i], pfx)
				}
				distinct[first[i]] = true
			}
			if len(distinct) < 2 {
				t.Errorf("every source hashed to %v", first)
			}
			// Another key moves the sources.
			k2 := key
			k2[0] ^= 0xff
			moved := natAddrs(t, mustPool(t, PoolConfig{Addrs: []netip.Prefix{pfx}, Method: MethodSourceHash, Key: k2, Ports: DefaultNATPorts}), len(tc.srcs), tc.srcs...)
			if fmt.Sprint(moved) == fmt.Sprint(first) {
				t.Errorf("keys %v and %v map the sources alike: %v", key, k2, first)
			}
		})
	}
}

func TestParseHashKey(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		// regress pf36
		{"foobarlicious", "0x4da8e393fd22f577426cfdf7fe52d3b0", true},
		{"0x0123456789ABCDEF0123456789abcdef", "0x0123456789abcdef0123456789abcdef", true},
		{"0x0123", "", false},
		{"0x0123456789abcdef0123456789abcdeg", "", false},
	}
	for _, tc := range tests {
		k, err := ParseHashKey(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseHashKey(%q) error = %v, want ok %v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && k.String() != tc.want {
			t.Errorf("ParseHashKey(%q) = %s, want %s", tc.in, k, tc.want)
		}
	}
}

func TestPoolBitmask(t *testing.T) {
	pl := mustPool(t, PoolConfig{Addrs: prefixes("203.0.113.0/24"), Method: MethodBitmask, Ports: StaticPort})
	r := rand.New(rand.NewPCG(seed, seed))
	nat, err := pl.NAT(&Request{Flow: udpFrom("10.50.0.77", 5353), Rand: r})
	if err != nil || nat != netip.MustParseAddrPort("203.0.113.77:5353") {
		t.Errorf("bitmask NAT(10.50.0.77:5353) = %v, %v; want 203.0.113.77:5353", nat, err)
	}
	// rdr-to takes the host part from the destination.
	rdr, err := mustPool(t, PoolConfig{Addrs: prefixes("10.50.0.0/24"), Method: MethodBitmask}).Rdr(
		&Request{Flow: packet.Flow{Proto: header.ProtoTCP,
			Src: netip.MustParseAddrPort("198.51.100.7:33000"),
			Dst: netip.MustParseAddrPort("203.0.113.42:80")}, Rand: r}, 0)
	if err != nil || rdr != netip.MustParseAddrPort("10.50.0.42:80") {
		t.Errorf("bitmask Rdr(to 203.0.113.42:80) = %v, %v; want 10.50.0.42:80", rdr, err)
	}
	v6 := mustPool(t, PoolConfig{Addrs: prefixes("2001:db8:ffff::/112"), Method: MethodBitmask, Ports: StaticPort})
	got, err := v6.NAT(&Request{Flow: udpFrom("fd00::1:abcd", 5353), Rand: r})
	if err != nil || got.Addr() != netip.MustParseAddr("2001:db8:ffff::abcd") {
		t.Errorf("bitmask NAT(fd00::1:abcd) = %v, %v; want 2001:db8:ffff::abcd", got, err)
	}
	if _, err := NewPool(PoolConfig{Addrs: prefixes("203.0.113.0/24", "192.0.2.0/24"), Method: MethodBitmask}); err == nil {
		t.Error("NewPool(bitmask over two prefixes) succeeded, want an error")
	}
}

func TestPoolRandom(t *testing.T) {
	pfx := netip.MustParsePrefix("203.0.113.0/24")
	pl := mustPool(t, PoolConfig{Addrs: []netip.Prefix{pfx}, Method: MethodRandom, Ports: DefaultNATPorts})
	a := natAddrs(t, pl, 20, "10.50.0.10")
	b := natAddrs(t, pl, 20, "10.50.0.10")
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("same seed, different picks:\n%v\n%v", a, b)
	}
	distinct := map[string]bool{}
	for _, s := range a {
		if !pfx.Contains(netip.MustParseAddr(s)) {
			t.Errorf("random pick %s outside %s", s, pfx)
		}
		distinct[s] = true
	}
	if len(distinct) < 10 {
		t.Errorf("20 random picks gave only %d addresses: %v", len(distinct), a)
	}
}

func TestPoolSticky(t *testing.T) {
	pl := mustPool(t, PoolConfig{Addrs: prefixes("203.0.113.1", "203.0.113.2", "203.0.113.3"),
		Method: MethodRoundRobin, Sticky: true, MaxSticky: 2, Ports: DefaultNATPorts})
	got := natAddrs(t, pl, 6, "10.50.0.10", "10.50.0.11")
	want := "[203.0.113.1 203.0.113.2 203.0.113.1 203.0.113.2 203.0.113.1 203.0.113.2]"
	if fmt.Sprint(got) != want {
		t.Errorf("sticky round-robin = %v, want %s", got, want)
	}
	if n := pl.StickyLen(); n != 2 {
		t.Errorf("StickyLen = %d, want 2", n)
	}
	// A third source finds the table full: no silent eviction.
	_, err := pl.NAT(&Request{Flow: udpFrom("10.50.0.12", 1), Rand: rand.New(rand.NewPCG(1, 1))})
	if !errors.Is(err, ErrSourceLimit) {
		t.Errorf("NAT(third source, limit 2) error = %v, want ErrSourceLimit", err)
	}
	// 10.50.0.10 holds three states; release them all, then purge.
	src := netip.MustParseAddr("10.50.0.10")
	for range 2 {
		pl.Release(src, 100)
	}
	if n := pl.Purge(200, 0); n != 0 {
		t.Errorf("Purge with a state left removed %d, want 0", n)
	}
	pl.Release(src, 100)
	if n := pl.Purge(110, 30); n != 0 {
		t.Errorf("Purge before src.track ran out removed %d, want 0", n)
	}
	if n := pl.Purge(130, 30); n != 1 {
		t.Errorf("Purge after src.track removed %d, want 1", n)
	}
	if _, err := pl.NAT(&Request{Flow: udpFrom("10.50.0.12", 1), Rand: rand.New(rand.NewPCG(1, 1))}); err != nil {
		t.Errorf("NAT(third source after purge): %v", err)
	}
}

// TestPoolRetriesAddresses: with every port of one address taken,
// round-robin moves on; a single-address pool fails.
func TestPoolRetriesAddresses(t *testing.T) {
	full := netip.MustParseAddr("203.0.113.1")
	used := InUseFunc(func(f packet.Flow) bool { return f.Src.Addr() == full })
	req := func() *Request {
		return &Request{Flow: udpFrom("10.50.0.10", 5353), Rand: rand.New(rand.NewPCG(seed, seed)), InUse: used}
	}
	rr := mustPool(t, PoolConfig{Addrs: prefixes("203.0.113.1", "203.0.113.2"), Method: MethodRoundRobin, Ports: StaticPort})
	got, err := rr.NAT(req())
	if err != nil || got != netip.MustParseAddrPort("203.0.113.2:5353") {
		t.Errorf("round-robin NAT with .1 full = %v, %v; want 203.0.113.2:5353", got, err)
	}
	for _, m := range []Method{MethodSourceHash, MethodBitmask} {
		pl := mustPool(t, PoolConfig{Addrs: prefixes("203.0.113.1/32"), Method: m, Ports: StaticPort})
		if _, err := pl.NAT(req()); !errors.Is(err, ErrNoFreePort) {
			t.Errorf("%v NAT with its only address full: error %v, want ErrNoFreePort", m, err)
		}
	}
	all := InUseFunc(func(packet.Flow) bool { return true })
	r := req()
	r.InUse = all
	if _, err := rr.NAT(r); !errors.Is(err, ErrNoFreePort) {
		t.Errorf("round-robin NAT with everything taken: error %v, want ErrNoFreePort", err)
	}
	rnd := mustPool(t, PoolConfig{Addrs: prefixes("203.0.113.0/28"), Method: MethodRandom, Ports: StaticPort})
	if _, err := rnd.NAT(r); !errors.Is(err, ErrNoFreePort) {
		t.Errorf("random NAT with everything taken: error %v, want ErrNoFreePort", err)
	}
}

// iface is a mocked interface whose addresses change.
type iface struct {
	mu    sync.Mutex
	addrs []netip.Addr
}

func (i *iface) set(ss ...string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.addrs = i.addrs[:0]
	for _, s := range ss {
		i.addrs = append(i.addrs, netip.MustParseAddr(s))
	}
}

func (i *iface) get(dst []netip.Addr) []netip.Addr {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append(dst, i.addrs...)
}

func TestPoolInterface(t *testing.T) {
	ifc := &iface{}
	ifc.set("fe80::1%em0", "203.0.113.1")
	pl := mustPool(t, PoolConfig{Iface: ifc.get, Method: MethodRoundRobin, Ports: DefaultNATPorts})
	if got := natAddrs(t, pl, 2, "10.50.0.10"); fmt.Sprint(got) != "[203.0.113.1 203.0.113.1]" {
		t.Errorf("(if) picks = %v, want 203.0.113.1 twice", got)
	}
	// A new address applies to new translations.
	ifc.set("198.51.100.99")
	if got := natAddrs(t, pl, 1, "10.50.0.10"); got[0] != "198.51.100.99" {
		t.Errorf("(if) after the address changed = %v, want 198.51.100.99", got)
	}
	// Aliases rotate under round-robin; (if:0) keeps the first.
	ifc.set("198.51.100.99", "198.51.100.100")
	got := natAddrs(t, pl, 4, "10.50.0.10")
	if got[0] == got[1] || got[0] != got[2] {
		t.Errorf("(if) round-robin over two aliases = %v, want them in turn", got)
	}
	first := mustPool(t, PoolConfig{Iface: ifc.get, Method: MethodNone, Ports: DefaultNATPorts})
	if got := natAddrs(t, first, 3, "10.50.0.10"); fmt.Sprint(got) != "[198.51.100.99 198.51.100.99 198.51.100.99]" {
		t.Errorf("(if:0) picks = %v, want the first address only", got)
	}
	// IPv6 flows get the interface's IPv6 address, zone dropped.
	v6, err := pl.NAT(&Request{Flow: packet.Flow{Proto: header.ProtoUDP,
		Src: netip.MustParseAddrPort("[fd00::10]:1"), Dst: netip.MustParseAddrPort("[2001:db8::7]:53")}})
	if !errors.Is(err, ErrNoAddress) {
		t.Errorf("(if) without IPv6 address: %v, %v; want ErrNoAddress", v6, err)
	}
	ifc.set("fe80::1%em0")
	v6, err = pl.NAT(&Request{Flow: packet.Flow{Proto: header.ProtoUDP,
		Src: netip.MustParseAddrPort("[fd00::10]:1"), Dst: netip.MustParseAddrPort("[2001:db8::7]:53")}})
	if err != nil || v6.Addr() != netip.MustParseAddr("fe80::1") {
		t.Errorf("(if) IPv6 = %v, %v; want fe80::1", v6, err)
	}
	// No address of the family at all.
	ifc.set()
	if _, err := pl.NAT(&Request{Flow: udpFrom("10.50.0.10", 1)}); !errors.Is(err, ErrNoAddress) {
		t.Errorf("(if) with no address: error %v, want ErrNoAddress", err)
	}
}

func TestPoolInterfaceSticky(t *testing.T) {
	ifc := &iface{}
	ifc.set("198.51.100.1", "198.51.100.2")
	pl := mustPool(t, PoolConfig{Iface: ifc.get, Method: MethodRoundRobin, Sticky: true, Ports: DefaultNATPorts})
	got := natAddrs(t, pl, 3, "10.50.0.10")
	if got[0] != got[1] || got[1] != got[2] {
		t.Errorf("sticky (if) = %v, want one address", got)
	}
	// The address goes away: the source gets one the interface has.
	ifc.set("198.51.100.3")
	pl.Release(netip.MustParseAddr("10.50.0.10"), 0)
	pl.Release(netip.MustParseAddr("10.50.0.10"), 0)
	pl.Release(netip.MustParseAddr("10.50.0.10"), 0)
	if got := natAddrs(t, pl, 1, "10.50.0.10"); got[0] != "198.51.100.3" {
		t.Errorf("sticky (if) after its address went = %v, want 198.51.100.3", got)
	}
}

func TestPoolRdr(t *testing.T) {
	pl := mustPool(t, PoolConfig{Addrs: prefixes("10.50.0.20"), Ports: PortRange{Low: 179, High: 180}})
	tests := []struct {
		name string
		flow packet.Flow
		want string
	}{
		{"tcp-first", packet.Flow{Proto: header.ProtoTCP, Src: netip.MustParseAddrPort("198.51.100.7:33000"), Dst: netip.MustParseAddrPort("203.0.113.1:21")}, "10.50.0.20:179"},
		{"tcp-second", packet.Flow{Proto: header.ProtoTCP, Src: netip.MustParseAddrPort("198.51.100.7:33000"), Dst: netip.MustParseAddrPort("203.0.113.1:22")}, "10.50.0.20:180"},
		{"echo-keeps-id", packet.Flow{Proto: header.ProtoICMP, Src: netip.MustParseAddrPort("198.51.100.7:77"), Dst: netip.MustParseAddrPort("203.0.113.1:77")}, "10.50.0.20:77"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pl.Rdr(&Request{Flow: tc.flow}, 21)
			if err != nil || got.String() != tc.want {
				t.Errorf("Rdr(%v) = %v, %v; want %s", tc.flow, got, err, tc.want)
			}
		})
	}
}

func TestNewPoolErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  PoolConfig
	}{
		{"empty", PoolConfig{}},
		{"invalid-prefix", PoolConfig{Addrs: []netip.Prefix{{}}}},
		{"bad-method", PoolConfig{Addrs: prefixes("203.0.113.1"), Method: 99}},
	}
	for _, tc := range tests {
		if _, err := NewPool(tc.cfg); err == nil {
			t.Errorf("NewPool(%s) succeeded, want an error", tc.name)
		}
	}
}

func TestBinat(t *testing.T) {
	b, err := NewBinat(netip.MustParsePrefix("10.50.0.0/24"), netip.MustParsePrefix("203.0.113.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		fn   func(netip.Addr) (netip.Addr, bool)
		in   string
		want string
		ok   bool
	}{
		{"out", b.Out, "10.50.0.42", "203.0.113.42", true},
		{"in", b.In, "203.0.113.42", "10.50.0.42", true},
		{"out-not-inside", b.Out, "10.51.0.42", "invalid IP", false},
		{"in-not-outside", b.In, "10.50.0.42", "invalid IP", false},
	}
	for _, tc := range tests {
		got, ok := tc.fn(netip.MustParseAddr(tc.in))
		if got.String() != tc.want || ok != tc.ok {
			t.Errorf("%s(%s) = %v, %v; want %s, %v", tc.name, tc.in, got, ok, tc.want, tc.ok)
		}
	}
	for _, bad := range [][2]string{{"10.50.0.0/24", "203.0.113.0/25"}, {"10.50.0.0/24", "2001:db8::/24"}} {
		if _, err := NewBinat(netip.MustParsePrefix(bad[0]), netip.MustParsePrefix(bad[1])); err == nil {
			t.Errorf("NewBinat(%s, %s) succeeded, want an error", bad[0], bad[1])
		}
	}
}

// TestPoolConcurrent translates from several workers at once against a
// shared mocked state table and checks that no tuple is given twice.
func TestPoolConcurrent(t *testing.T) {
	pl := mustPool(t, PoolConfig{Addrs: prefixes("203.0.113.1", "203.0.113.2"), Method: MethodRoundRobin, Sticky: true, Ports: PortRange{Low: 60000, High: 60199}})
	var mu sync.Mutex
	table := map[packet.Flow]bool{}
	used := InUseFunc(func(f packet.Flow) bool {
		mu.Lock()
		defer mu.Unlock()
		return table[f]
	})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range 50 {
				f := udpFrom(fmt.Sprintf("10.50.%d.%d", w, i%5), uint16(1000+i))
				ap, err := pl.NAT(&Request{Flow: f, Rand: r, InUse: used})
				if err != nil {
					errs <- err
					return
				}
				if ap.Port() < 60000 || ap.Port() > 60199 {
					errs <- fmt.Errorf("port %d outside 60000:60199", ap.Port())
					return
				}
				// Insert as the filter would (a race between the search
				// and the insert is the filter's insert to catch).
				mu.Lock()
				table[packet.Flow{Proto: f.Proto, Src: ap, Dst: f.Dst}] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("NAT: %v", err)
	}
	if n := pl.StickyLen(); n != 20 {
		t.Errorf("StickyLen = %d, want 20 sources", n)
	}
}

func TestPoolMoreMethods(t *testing.T) {
	r := rand.New(rand.NewPCG(seed, seed))
	// Random over an IPv6 prefix keeps the network part.
	pfx := netip.MustParsePrefix("2001:db8:ffff::/64")
	rnd := mustPool(t, PoolConfig{Addrs: []netip.Prefix{pfx}, Method: MethodRandom, Ports: DefaultNATPorts})
	for range 10 {
		ap, err := rnd.NAT(&Request{Flow: packet.Flow{Proto: header.ProtoUDP,
			Src: netip.MustParseAddrPort("[fd00::10]:1"), Dst: netip.MustParseAddrPort("[2001:db8::7]:53")}, Rand: r})
		if err != nil || !pfx.Contains(ap.Addr()) {
			t.Errorf("random NAT over %s = %v, %v", pfx, ap, err)
		}
	}
	// Source-hash over a list: one entry per source, stable.
	list := prefixes("203.0.113.1", "203.0.113.2", "203.0.113.3")
	sh := mustPool(t, PoolConfig{Addrs: list, Method: MethodSourceHash, Ports: DefaultNATPorts})
	srcs := []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"}
	a, b := natAddrs(t, sh, 6, srcs...), natAddrs(t, sh, 6, srcs...)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("source-hash over a list: %v then %v", a, b)
	}
	// Sticky rdr-to: a source keeps its inside host.
	rdr := mustPool(t, PoolConfig{Addrs: prefixes("10.50.0.20", "10.50.0.21"), Method: MethodRoundRobin, Sticky: true})
	f := packet.Flow{Proto: header.ProtoTCP, Src: netip.MustParseAddrPort("198.51.100.7:33000"), Dst: netip.MustParseAddrPort("203.0.113.1:80")}
	first, _ := rdr.Rdr(&Request{Flow: f}, 0)
	second, _ := rdr.Rdr(&Request{Flow: f}, 0)
	if first != second || first.Port() != 80 {
		t.Errorf("sticky Rdr = %v then %v, want one address, port 80", first, second)
	}
	if got := MethodSourceHash.String(); got != "source-hash" {
		t.Errorf("MethodSourceHash.String() = %q", got)
	}
}
