package filter

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/filter/pfconf"
)

// seedFilter loads the seed's own pf.conf and pf.vm/*.conf.
func seedFilter(t *testing.T) *Filter {
	t.Helper()
	ifs := testIfaces()
	spec, err := pfconf.Load("../examples/seed", "pf.conf", parseOpts(ifs))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	env := Env{Interfaces: ifs, Seed: 7}
	rs, err := Compile(spec, env)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	f := NewFilter(Options{})
	f.Load(rs)
	return f
}

// route runs a packet the host routes from vether0 to em0 (or back) and
// returns the verdict of the first test that dropped it.
func route(t *testing.T, f *Filter, p *packet.Packet, in, out int, now int64) packet.Verdict {
	t.Helper()
	if r := f.Test(In, in, p, now); r.Verdict != packet.Pass {
		return r.Verdict
	}
	return f.Test(Out, out, p, now).Verdict
}

func TestSeedNATRoutedSegment(t *testing.T) {
	f := seedFilter(t)
	if !f.Skips(ifLo0) || f.Skips(ifEm0) {
		t.Errorf("Skips(lo0), Skips(em0) = %v, %v, want true, false (set skip on lo)", f.Skips(ifLo0), f.Skips(ifEm0))
	}
	guest, remote := "10.50.0.5", "198.51.100.7"

	// TCP: handshake, data, FIN, through nat-to ($wan).
	p := tcpPkt(t, guest, 40000, remote, 80, tcpOpt{flags: "S", seq: 100})
	if v := route(t, f, p, ifVether, ifEm0, 10); v != packet.Pass {
		t.Fatalf("SYN out: %v", v)
	}
	g := decoded(t, p)
	nsrc := src4(p)
	if nsrc.Addr() != netip.MustParseAddr("203.0.113.1") || nsrc.Port() < 50001 {
		t.Fatalf("SYN source = %v, want 203.0.113.1:50001-65535", nsrc)
	}
	_ = g
	steps := []struct {
		out bool
		o   tcpOpt
	}{
		{false, tcpOpt{flags: "SA", seq: 900, ack: 101}},
		{true, tcpOpt{flags: "A", seq: 101, ack: 901}},
		{true, tcpOpt{flags: "PA", seq: 101, ack: 901, payload: 100}},
		{false, tcpOpt{flags: "A", seq: 901, ack: 201}},
		{true, tcpOpt{flags: "FA", seq: 201, ack: 901}},
		{false, tcpOpt{flags: "FA", seq: 901, ack: 202}},
		{true, tcpOpt{flags: "A", seq: 202, ack: 902}},
	}
	for i, st := range steps {
		if st.out {
			q := tcpPkt(t, guest, 40000, remote, 80, st.o)
			if v := route(t, f, q, ifVether, ifEm0, 11); v != packet.Pass {
				t.Fatalf("step %d out: %v", i, v)
			}
			decoded(t, q)
			if src4(q) != nsrc {
				t.Fatalf("step %d: source %v, want %v", i, src4(q), nsrc)
			}
		} else {
			q := tcpPkt(t, remote, 80, nsrc.Addr().String(), nsrc.Port(), st.o)
			if v := route(t, f, q, ifEm0, ifVether, 11); v != packet.Pass {
				t.Fatalf("step %d in: %v", i, v)
			}
			decoded(t, q)
			if dst4(q) != netip.MustParseAddrPort(guest+":40000") {
				t.Fatalf("step %d: destination %v", i, dst4(q))
			}
		}
	}

	// UDP, and an ICMP error about it coming back.
	u := udpPkt(t, guest, 5353, remote, 53)
	if v := route(t, f, u, ifVether, ifEm0, 12); v != packet.Pass {
		t.Fatalf("UDP out: %v", v)
	}
	usrc := src4(u)
	if usrc.Port() < 50001 {
		t.Fatalf("UDP source %v", usrc)
	}
	e := icmpErrPkt(t, "192.0.2.254", "203.0.113.1", u)
	if v := route(t, f, e, ifEm0, ifVether, 12); v != packet.Pass {
		t.Fatalf("ICMP error in: %v", v)
	}
	ge := decoded(t, e)
	if got := ge.NetworkLayer().NetworkFlow().Dst().String(); got != guest {
		t.Errorf("ICMP error to %s, want %s", got, guest)
	}
	ic := ge.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	quoted := ic.Payload
	if qs := netip.AddrFrom4([4]byte(quoted[12:16])); qs.String() != guest || uint16(quoted[20])<<8|uint16(quoted[21]) != 5353 {
		t.Errorf("quoted source %v:%d, want %s:5353", qs, uint16(quoted[20])<<8|uint16(quoted[21]), guest)
	}

	// ICMP echo.
	ping := echoPkt(t, guest, remote, 77, false)
	if v := route(t, f, ping, ifVether, ifEm0, 13); v != packet.Pass {
		t.Fatalf("echo out: %v", v)
	}
	decoded(t, ping)
	id := src4(ping).Port()
	pong := echoPkt(t, remote, "203.0.113.1", id, true)
	if v := route(t, f, pong, ifEm0, ifVether, 13); v != packet.Pass {
		t.Fatalf("echo reply in: %v", v)
	}
	decoded(t, pong)
	if dst4(pong).Addr().String() != guest || dst4(pong).Port() != 77 {
		t.Errorf("echo reply to %v, want %s id 77", dst4(pong), guest)
	}

	// block all: unsolicited inbound on em0.
	if v := f.Test(In, ifEm0, tcpPkt(t, remote, 4444, "203.0.113.1", 22, syn), 14).Verdict; v != packet.Drop {
		t.Errorf("unsolicited SYN in on em0: %v, want drop", v)
	}
	if v := f.Test(In, ifEm0, udpPkt(t, remote, 4444, "203.0.113.1", 1234), 14).Verdict; v != packet.Drop {
		t.Errorf("unsolicited UDP in on em0: %v, want drop", v)
	}
}

func TestSeedAnchorsLiteral(t *testing.T) {
	f := seedFilter(t)
	var b strings.Builder
	if err := f.WriteRules(&b, "vm/*", 0); err != nil {
		t.Fatal(err)
	}
	want := "pass in on tap4 inet proto tcp from 10.50.0.20 to (tap4) port = 3306 flags S/SA\n" +
		"pass in on tap3 proto tcp from any to (tap3) port = 80 flags S/SA\n" +
		"pass in on tap3 proto tcp from any to (tap3) port = 443 flags S/SA\n" +
		"pass in on tap3 inet proto tcp from 10.10.0.0/24 to (tap3) port = 22 flags S/SA\n"
	if b.String() != want {
		t.Errorf("WriteRules(vm/*) =\n%s\nwant\n%s", b.String(), want)
	}
	// Literally, the seed's per-VM rules name (tap3) and (tap4), which
	// have no address: they never match, and block all drops traffic to
	// the VMs, bridged (out on the tap) or not.
	if v := f.Test(Out, ifTap3, tcpPkt(t, "198.51.100.7", 4000, "10.50.0.10", 80, syn), 1).Verdict; v != packet.Drop {
		t.Errorf("to web01:80 out on tap3: %v, want drop (literal seed)", v)
	}
	if v := f.Test(In, ifTap3, tcpPkt(t, "198.51.100.7", 4000, "10.50.0.10", 80, syn), 1).Verdict; v != packet.Drop {
		t.Errorf("in on tap3 to port 80: %v, want drop ((tap3) has no address)", v)
	}
}

func TestSeedAnchorsIntended(t *testing.T) {
	// The per-VM policy as the seed describes it, under pf's bridge
	// semantics: a packet the bridge forwards to a VM is out on its tap.
	main := "set skip on lo\nblock all\nanchor \"vm/*\"\n" +
		"load anchor \"vm/web01\" from \"web01.conf\"\nload anchor \"vm/db01\" from \"db01.conf\"\n"
	files := map[string]string{
		"web01.conf": "pass out quick on tap3 proto tcp to port { 80, 443 }\npass out quick on tap3 proto tcp from 10.10.0.0/24 to port 22\n",
		"db01.conf":  "pass out quick on tap4 proto tcp from 10.50.0.20 to port 3306\n",
	}
	f := loadFiles(t, main, files)
	tests := []struct {
		name string
		ifx  int
		src  string
		port uint16
		want packet.Verdict
	}{
		{"web01:80 from anywhere", ifTap3, "198.51.100.7", 80, packet.Pass},
		{"web01:443 from anywhere", ifTap3, "198.51.100.7", 443, packet.Pass},
		{"web01:22 from admin LAN", ifTap3, "10.10.0.9", 22, packet.Pass},
		{"web01:22 from elsewhere", ifTap3, "198.51.100.7", 22, packet.Drop},
		{"db01:3306 from web01", ifTap4, "10.50.0.20", 3306, packet.Pass},
		{"db01:3306 from another VM", ifTap4, "10.50.0.21", 3306, packet.Drop},
		{"db01:22 from web01", ifTap4, "10.50.0.20", 22, packet.Drop},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if v := f.Test(Out, tc.ifx, tcpPkt(t, tc.src, 4000, "10.50.0.30", tc.port, syn), 1).Verdict; v != tc.want {
				t.Errorf("Test = %v, want %v", v, tc.want)
			}
		})
	}
}
