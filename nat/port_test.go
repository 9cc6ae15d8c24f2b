package nat

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/hostnet/hostnet/dataplane/header"
	"github.com/hostnet/hostnet/dataplane/packet"
)

// usedSet is a mocked state table: the translated flows it holds.
type usedSet map[packet.Flow]bool

func (u usedSet) InUse(f packet.Flow) bool { return u[f] }

// seed is the seed of every test's random source.
const seed = 42

// cutFor returns the random start findPort draws from a source seeded
// with seed, for a range of n ports from low.
func cutFor(low, n uint32) uint16 {
	return uint16(low + rand.New(rand.NewPCG(seed, seed)).Uint32N(n))
}

func TestFindPortDefaultRange(t *testing.T) {
	nat := netip.MustParseAddr("203.0.113.1")
	dst := netip.MustParseAddrPort("198.51.100.7:443")
	f := packet.Flow{Proto: header.ProtoTCP, Src: netip.MustParseAddrPort("10.50.0.10:40000"), Dst: dst}
	cut := cutFor(50001, 65535-50001+1)
	taken := func(ports ...uint16) usedSet {
		u := usedSet{}
		for _, p := range ports {
			u[packet.Flow{Proto: header.ProtoTCP, Src: netip.AddrPortFrom(nat, p), Dst: dst}] = true
		}
		return u
	}
	upFromCut := func() []uint16 {
		var ps []uint16
		for p := uint32(cut); p <= 65535; p++ {
			ps = append(ps, uint16(p))
		}
		return ps
	}
	allBut := func(free uint16) []uint16 {
		var ps []uint16
		for p := uint32(50001); p <= 65535; p++ {
			if uint16(p) != free {
				ps = append(ps, uint16(p))
			}
		}
		return ps
	}
	tests := []struct {
		name string
		used usedSet
		want uint16
		ok   bool
	}{
		{"free-start", taken(), cut, true},
		{"probe-up", taken(cut, cut+1), cut + 2, true},
		{"probe-down-after-top", taken(upFromCut()...), cut - 1, true},
		{"only-bottom-free", taken(allBut(50001)...), 50001, true},
		{"only-top-free", taken(allBut(65535)...), 65535, true},
		{"other-destination-port-free", usedSet{{Proto: header.ProtoTCP, Src: netip.AddrPortFrom(nat, cut), Dst: netip.MustParseAddrPort("198.51.100.7:80")}: true}, cut, true},
		{"exhausted", taken(allBut(0)...), 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := &Request{Flow: f, Rand: rand.New(rand.NewPCG(seed, seed)), InUse: tc.used}
			got, ok := findPort(req, nat, DefaultNATPorts)
			if got != tc.want || ok != tc.ok {
				t.Errorf("findPort(cut %d) = %d, %v; want %d, %v", cut, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestFindPortRanges(t *testing.T) {
	nat := netip.MustParseAddr("203.0.113.1")
	dst := netip.MustParseAddrPort("198.51.100.7:53")
	udp := packet.Flow{Proto: header.ProtoUDP, Src: netip.MustParseAddrPort("10.50.0.10:5353"), Dst: dst}
	ping := packet.Flow{Proto: header.ProtoICMP, Src: netip.MustParseAddrPort("10.50.0.10:4660"), Dst: netip.MustParseAddrPort("198.51.100.7:4660")}
	gre := packet.Flow{Proto: header.ProtoGRE, Src: netip.MustParseAddrPort("10.50.0.10:0"), Dst: netip.MustParseAddrPort("198.51.100.7:0")}
	tests := []struct {
		name  string
		flow  packet.Flow
		icmp  uint8
		r     PortRange
		used  usedSet
		want  uint16
		ok    bool
		check func(uint16) bool // instead of want, for random picks
	}{
		{"static-port", udp, 0, StaticPort, nil, 5353, true, nil},
		{"static-port-taken", udp, 0, StaticPort,
			usedSet{{Proto: header.ProtoUDP, Src: netip.AddrPortFrom(nat, 5353), Dst: dst}: true}, 0, false, nil},
		{"one-port", udp, 0, PortRange{Low: 2000, High: 2000}, nil, 2000, true, nil},
		{"one-port-taken", udp, 0, PortRange{Low: 2000, High: 2000},
			usedSet{{Proto: header.ProtoUDP, Src: netip.AddrPortFrom(nat, 2000), Dst: dst}: true}, 0, false, nil},
		{"reversed-range", udp, 0, PortRange{Low: 5000, High: 1000}, nil, 0, true,
			func(p uint16) bool { return p >= 1000 && p <= 5000 }},
		{"explicit-range", udp, 0, PortRange{Low: 1024, High: 1025}, nil, 0, true,
			func(p uint16) bool { return p == 1024 || p == 1025 }},
		{"echo-id-whole-range", ping, uint8(header.ICMPv4Echo), DefaultNATPorts, nil, cutFor(1, 65535), true, nil},
		{"echo-id-collision", ping, uint8(header.ICMPv4Echo), DefaultNATPorts,
			usedSet{{Proto: header.ProtoICMP, Src: netip.AddrPortFrom(nat, cutFor(1, 65535)), Dst: netip.AddrPortFrom(dst.Addr(), cutFor(1, 65535))}: true},
			cutFor(1, 65535) + 1, true, nil},
		{"icmp-non-echo-kept", packet.Flow{Proto: header.ProtoICMP, Src: netip.MustParseAddrPort("10.50.0.10:0"), Dst: netip.MustParseAddrPort("198.51.100.7:0")},
			uint8(header.ICMPv4Timestamp), DefaultNATPorts, nil, 0, true, nil},
		{"no-ports", gre, 0, DefaultNATPorts, nil, 0, true, nil},
		{"no-ports-taken", gre, 0, DefaultNATPorts,
			usedSet{{Proto: header.ProtoGRE, Src: netip.AddrPortFrom(nat, 0), Dst: gre.Dst}: true}, 0, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := &Request{Flow: tc.flow, ICMPType: tc.icmp, Rand: rand.New(rand.NewPCG(seed, seed)), InUse: tc.used}
			got, ok := findPort(req, nat, tc.r)
			if ok != tc.ok {
				t.Fatalf("findPort(%v) ok = %v, want %v", tc.r, ok, tc.ok)
			}
			if tc.check != nil {
				if !tc.check(got) {
					t.Errorf("findPort(%v) = %d, outside the range", tc.r, got)
				}
			} else if got != tc.want {
				t.Errorf("findPort(%v) = %d, want %d", tc.r, got, tc.want)
			}
		})
	}
}

// TestFindPortDeterministic: the same seed gives the same ports.
func TestFindPortDeterministic(t *testing.T) {
	f := packet.Flow{Proto: header.ProtoTCP, Src: netip.MustParseAddrPort("10.50.0.10:40000"), Dst: netip.MustParseAddrPort("198.51.100.7:443")}
	run := func() []uint16 {
		r := rand.New(rand.NewPCG(7, 8))
		var out []uint16
		for range 20 {
			p, _ := findPort(&Request{Flow: f, Rand: r}, netip.MustParseAddr("203.0.113.1"), DefaultNATPorts)
			out = append(out, p)
		}
		return out
	}
	a, b := run(), run()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("run 1 gave %v, run 2 %v", a, b)
		}
		if a[i] < 50001 {
			t.Fatalf("port %d below the default range", a[i])
		}
	}
}

func TestRdrPort(t *testing.T) {
	tests := []struct {
		name    string
		r       PortRange
		dport   uint16
		ruleLow uint16
		want    uint16
	}{
		{"keep", PortRange{}, 8080, 0, 8080},
		{"single", PortRange{Low: 22}, 2500, 1000, 22},
		{"single-as-range", PortRange{Low: 22, High: 22}, 2500, 1000, 22},
		// regress pf29: port ftp:ssh rdr-to port bgp:* prints 179:180.
		{"offset-first", PortRange{Low: 179, High: 180}, 21, 21, 179},
		{"offset-second", PortRange{Low: 179, High: 180}, 22, 21, 180},
		{"identity", PortRange{Low: 8000, High: 8010}, 8007, 8000, 8007},
		{"modulo", PortRange{Low: 100, High: 101}, 1003, 1000, 101},
		{"reversed", PortRange{Low: 65535, High: 65534}, 11, 10, 65535},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := RdrPort(tc.r, tc.dport, tc.ruleLow); got != tc.want {
				t.Errorf("RdrPort(%v, %d, %d) = %d, want %d", tc.r, tc.dport, tc.ruleLow, got, tc.want)
			}
		})
	}
}

func TestErrorsAreSentinels(t *testing.T) {
	pl, err := NewPool(PoolConfig{Addrs: []netip.Prefix{netip.MustParsePrefix("203.0.113.1/32")}, Ports: StaticPort})
	if err != nil {
		t.Fatal(err)
	}
	f := packet.Flow{Proto: header.ProtoUDP, Src: netip.MustParseAddrPort("10.50.0.10:5353"), Dst: netip.MustParseAddrPort("198.51.100.7:53")}
	_, err = pl.NAT(&Request{Flow: f, InUse: InUseFunc(func(packet.Flow) bool { return true })})
	if !errors.Is(err, ErrNoFreePort) {
		t.Errorf("NAT(everything taken) error = %v, want ErrNoFreePort", err)
	}
}
