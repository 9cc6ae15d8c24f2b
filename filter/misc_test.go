package filter

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/filter/pfconf"
)

func TestEvaluationAttributes(t *testing.T) {
	tests := []struct {
		name string
		conf string
		dir  Dir
		ifx  int
		src  string
		dst  string
		want packet.Verdict
	}{
		{"on egress group", "block all\npass in on egress no state\n", In, ifEm0, "198.51.100.7", "203.0.113.1", packet.Pass},
		{"on ! egress", "block all\npass in on ! egress no state\n", In, ifEm0, "198.51.100.7", "203.0.113.1", packet.Drop},
		{"on any excludes loopback", "block all\npass in on any no state\n", In, ifLo0, "127.0.0.1", "127.0.0.1", packet.Drop},
		{"to (em0)", "block all\npass in to (em0) no state\n", In, ifEm0, "198.51.100.7", "203.0.113.1", packet.Pass},
		{"to (em0:network)", "block all\npass in to (em0:network) no state\n", In, ifEm0, "198.51.100.7", "203.0.113.99", packet.Pass},
		{"to (em0) is only its address", "block all\npass in to (em0) no state\n", In, ifEm0, "198.51.100.7", "203.0.113.99", packet.Drop},
		{"to (self)", "block all\npass in to (self) no state\n", In, ifEm0, "198.51.100.7", "10.50.0.1", packet.Pass},
		{"to self (load time)", "block all\npass in to self no state\n", In, ifEm0, "198.51.100.7", "10.50.0.1", packet.Pass},
		{"tag then tagged", "block all\nmatch in tag WEB\npass in tagged WEB no state\n", In, ifEm0, "198.51.100.7", "203.0.113.1", packet.Pass},
		{"! tagged", "block all\nmatch in tag WEB\npass in ! tagged WEB no state\n", In, ifEm0, "198.51.100.7", "203.0.113.1", packet.Drop},
		{"received-on", "block all\npass out received-on vether0 no state\n", Out, ifEm0, "10.50.0.5", "198.51.100.7", packet.Pass},
		{"received-on other", "block all\npass out received-on tap3 no state\n", Out, ifEm0, "10.50.0.5", "198.51.100.7", packet.Drop},
		{"no-route without a route lookup never matches", "pass all no state\nblock in from no-route\n", In, ifEm0, "198.51.100.7", "203.0.113.1", packet.Pass},
		{"address range", "block all\npass in from 198.51.100.1 - 198.51.100.9 no state\n", In, ifEm0, "198.51.100.7", "203.0.113.1", packet.Pass},
		{"probability 0% never", "block all\npass in all probability 0% no state\n", In, ifEm0, "198.51.100.7", "203.0.113.1", packet.Pass},
		{"inet6 rule skips IPv4", "block all\npass in inet6 no state\n", In, ifEm0, "198.51.100.7", "203.0.113.1", packet.Drop},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFilter(t, tc.conf, Options{})
			p := udpPkt(t, tc.src, 1000, tc.dst, 2000)
			p.InPort = ifVether
			if r := test(f, tc.dir, tc.ifx, p, 1); r.Verdict != tc.want {
				t.Errorf("Test(%q) = %v, want %v", tc.conf, r.Verdict, tc.want)
			}
		})
	}
}

func TestRouteLookup(t *testing.T) {
	ifs := testIfaces()
	spec, err := pfconf.ParseWith("pf.conf", strings.NewReader("pass all no state\nblock in from no-route\nblock in from urpf-failed\n"), parseOpts(ifs))
	if err != nil {
		t.Fatal(err)
	}
	route := func(a netip.Addr) (int, bool) {
		if netip.MustParsePrefix("10.50.0.0/24").Contains(a) {
			return ifVether, true
		}
		if netip.MustParsePrefix("198.51.100.0/24").Contains(a) {
			return ifEm0, true
		}
		return 0, false
	}
	rs, err := Compile(spec, Env{Interfaces: ifs, Route: route})
	if err != nil {
		t.Fatal(err)
	}
	f := NewFilter(Options{})
	f.Load(rs)
	tests := []struct {
		name string
		src  string
		ifx  int
		want packet.Verdict
	}{
		{"routed source on its interface", "198.51.100.7", ifEm0, packet.Pass},
		{"no route to the source", "192.0.2.1", ifEm0, packet.Drop},
		{"urpf: source routed elsewhere", "10.50.0.5", ifEm0, packet.Drop},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := test(f, In, tc.ifx, udpPkt(t, tc.src, 1, "203.0.113.1", 2), 1); r.Verdict != tc.want {
				t.Errorf("from %s = %v, want %v", tc.src, r.Verdict, tc.want)
			}
		})
	}
}

func TestTCPWindowTracking(t *testing.T) {
	f := newTestFilter(t, "block all\npass in on em0 proto tcp\n", Options{})
	c, s := "198.51.100.7", "203.0.113.1"
	step := func(fromClient bool, o tcpOpt) packet.Verdict {
		if fromClient {
			return test(f, In, ifEm0, tcpPkt(t, c, 4000, s, 22, o), 1).Verdict
		}
		return test(f, Out, ifEm0, tcpPkt(t, s, 22, c, 4000, o), 1).Verdict
	}
	if step(true, tcpOpt{flags: "S", seq: 1000, win: 1000}) != packet.Pass {
		t.Fatal("SYN")
	}
	if v := step(false, tcpOpt{flags: "SA", seq: 5000, ack: 1001, win: 1000}); v != packet.Pass {
		t.Fatalf("SYN+ACK: %v", v)
	}
	if v := step(true, tcpOpt{flags: "A", seq: 1001, ack: 5001, win: 1000}); v != packet.Pass {
		t.Fatalf("ACK: %v", v)
	}
	tests := []struct {
		name       string
		fromClient bool
		o          tcpOpt
		want       packet.Verdict
	}{
		{"in-window data", true, tcpOpt{flags: "PA", seq: 1001, ack: 5001, win: 1000, payload: 500}, packet.Pass},
		{"beyond the peer's window", true, tcpOpt{flags: "PA", seq: 1001 + 100000, ack: 5001, win: 1000, payload: 10}, packet.Drop},
		{"ack far ahead", false, tcpOpt{flags: "A", seq: 5001, ack: 1501 + 200000, win: 1000}, packet.Drop},
		{"RST off sequence", true, tcpOpt{flags: "RA", seq: 1501 + 300, ack: 5001}, packet.Drop},
		{"RST on sequence", true, tcpOpt{flags: "RA", seq: 1501, ack: 5001}, packet.Pass},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if v := step(tc.fromClient, tc.o); v != tc.want {
				t.Errorf("%+v = %v, want %v", tc.o, v, tc.want)
			}
		})
	}
	if l := f.StateLines(1); len(l) != 1 || !strings.HasSuffix(l[0].Line, "TIME_WAIT:TIME_WAIT") {
		t.Errorf("after RST: %v", l)
	}
	if f.Status().Counters[pfresBadState] != 3 {
		t.Errorf("state-mismatch counter = %d, want 3", f.Status().Counters[pfresBadState])
	}
}

func TestReloadKeepsStates(t *testing.T) {
	f := newTestFilter(t, "match out on em0 nat-to 203.0.113.1\npass out on em0\n", Options{})
	p := udpPkt(t, "10.50.0.5", 1000, "198.51.100.7", 2000)
	test(f, Out, ifEm0, p, 1)
	natted := src4(p)
	ifs := testIfaces()
	spec, err := pfconf.ParseWith("pf.conf", strings.NewReader("block all\n"), parseOpts(ifs))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Compile(spec, Env{Interfaces: ifs})
	if err != nil {
		t.Fatal(err)
	}
	f.Load(rs)
	rep := udpPkt(t, "198.51.100.7", 2000, natted.Addr().String(), natted.Port())
	if r := test(f, In, ifEm0, rep, 2); r.Verdict != packet.Pass || dst4(rep) != netip.MustParseAddrPort("10.50.0.5:1000") {
		t.Errorf("reply after reload: %v to %v, want pass to 10.50.0.5:1000", r.Verdict, dst4(rep))
	}
	if r := test(f, In, ifEm0, udpPkt(t, "198.51.100.7", 2001, "203.0.113.1", 5), 2); r.Verdict != packet.Drop {
		t.Errorf("new flow after reload: %v, want drop", r.Verdict)
	}
}

func TestRdrToPorts(t *testing.T) {
	f := newTestFilter(t, "pass in on em0 proto tcp to 203.0.113.1 port 8000:8010 rdr-to 10.50.0.9 port 80:*\npass in on em0 proto tcp to 203.0.113.1 port 21 rdr-to 10.50.0.8 port 2121\n", Options{})
	p := tcpPkt(t, "198.51.100.7", 4000, "203.0.113.1", 8003, syn)
	test(f, In, ifEm0, p, 1)
	decoded(t, p)
	if got := dst4(p); got != netip.MustParseAddrPort("10.50.0.9:83") {
		t.Errorf("rdr-to port 80:* of 8003 = %v, want 10.50.0.9:83", got)
	}
	q := tcpPkt(t, "198.51.100.7", 4000, "203.0.113.1", 21, syn)
	test(f, In, ifEm0, q, 1)
	if got := dst4(q); got != netip.MustParseAddrPort("10.50.0.8:2121") {
		t.Errorf("rdr-to port 2121 = %v", got)
	}
	// The server's reply goes out translated back.
	r := tcpPkt(t, "10.50.0.8", 2121, "198.51.100.7", 4000, tcpOpt{flags: "SA", seq: 9, ack: syn.seq + 1})
	if v := test(f, Out, ifEm0, r, 1); v.Verdict != packet.Pass || src4(r) != netip.MustParseAddrPort("203.0.113.1:21") {
		t.Errorf("reply = %v from %v, want pass from 203.0.113.1:21", v.Verdict, src4(r))
	}
	decoded(t, r)
}

func TestStateLimits(t *testing.T) {
	t.Run("max per rule", func(t *testing.T) {
		f := newTestFilter(t, "pass out keep state (max 2)\n", Options{})
		for i, want := range []packet.Verdict{packet.Pass, packet.Pass, packet.Drop} {
			r := test(f, Out, ifEm0, udpPkt(t, "203.0.113.1", uint16(1+i), "198.51.100.7", 53), 1)
			if r.Verdict != want || want == packet.Drop && r.Reason != packet.DropStateLimit {
				t.Errorf("state %d: %+v, want %v", i, r, want)
			}
		}
	})
	t.Run("max-src-states", func(t *testing.T) {
		f := newTestFilter(t, "pass in keep state (max-src-states 1)\n", Options{})
		if r := test(f, In, ifEm0, udpPkt(t, "198.51.100.7", 1, "203.0.113.1", 53), 1); r.Verdict != packet.Pass {
			t.Fatalf("first: %v", r.Verdict)
		}
		if r := test(f, In, ifEm0, udpPkt(t, "198.51.100.7", 2, "203.0.113.1", 53), 1); r.Verdict != packet.Drop {
			t.Errorf("second from the same source: %v, want drop", r.Verdict)
		}
		if r := test(f, In, ifEm0, udpPkt(t, "198.51.100.8", 2, "203.0.113.1", 53), 1); r.Verdict != packet.Pass {
			t.Errorf("other source: %v, want pass", r.Verdict)
		}
	})
	t.Run("max-src-conn overload flush", func(t *testing.T) {
		f := newTestFilter(t, "table <bad> persist\nblock in quick from <bad>\npass in proto tcp keep state (max-src-conn 1, overload <bad> flush)\n", Options{})
		c, s := "198.51.100.7", "203.0.113.1"
		open := func(port uint16) packet.Verdict {
			test(f, In, ifEm0, tcpPkt(t, c, port, s, 22, tcpOpt{flags: "S", seq: 10}), 1)
			test(f, Out, ifEm0, tcpPkt(t, s, 22, c, port, tcpOpt{flags: "SA", seq: 50, ack: 11}), 1)
			return test(f, In, ifEm0, tcpPkt(t, c, port, s, 22, tcpOpt{flags: "A", seq: 11, ack: 51}), 1).Verdict
		}
		if v := open(1000); v != packet.Pass {
			t.Fatalf("first connection: %v", v)
		}
		if v := open(1001); v != packet.Drop {
			t.Errorf("second connection: %v, want drop (max-src-conn 1)", v)
		}
		if f.States() != 0 {
			t.Errorf("States() = %d, want 0 (flushed)", f.States())
		}
		if v := test(f, In, ifEm0, tcpPkt(t, c, 1002, s, 22, syn), 1).Verdict; v != packet.Drop {
			t.Errorf("after overload: %v, want drop (<bad>)", v)
		}
	})
}

func TestIntrospection(t *testing.T) {
	f := newTestFilter(t, "block all\npass in on em0 proto udp\n", Options{})
	test(f, In, ifEm0, udpPkt(t, "198.51.100.7", 1, "203.0.113.1", 53), 100)
	test(f, Out, ifEm0, udpPkt(t, "203.0.113.1", 53, "198.51.100.7", 1), 101)
	test(f, In, ifEm0, udpPkt(t, "198.51.100.8", 1, "203.0.113.1", 54), 101)
	var b bytes.Buffer
	if err := f.WriteRules(&b, "", 2); err != nil {
		t.Fatal(err)
	}
	want := "@0 block drop all\n" +
		"  [ Evaluations: 2         Packets: 0           Bytes: 0           States: 0     ]\n" +
		"  [ Inserted: uid 0 pid 0 State Creations: 0     ]\n" +
		"@1 pass in on em0 proto udp all\n" +
		"  [ Evaluations: 2         Packets: 3           Bytes: 99          States: 2     ]\n" +
		"  [ Inserted: uid 0 pid 0 State Creations: 2     ]\n"
	if b.String() != want {
		t.Errorf("WriteRules -vv =\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	f.WriteStates(&b, 130, 1)
	// Near side first: the responder has sent once (SINGLE), the
	// initiator's side went MULTIPLE on the reply.
	wantS := "all udp 203.0.113.1:53 <- 198.51.100.7:1       SINGLE:MULTIPLE\n" +
		"   age 00:00:30, expires in 00:00:01, 1:1 pkts, 33:33 bytes, rule 1\n" +
		"all udp 203.0.113.1:54 <- 198.51.100.8:1       NO_TRAFFIC:SINGLE\n" +
		"   age 00:00:29, expires in 00:00:31, 1:0 pkts, 33:0 bytes, rule 1\n"
	if b.String() != wantS {
		t.Errorf("WriteStates -v =\n%s\nwant\n%s", b.String(), wantS)
	}
	b.Reset()
	f.MarkRunning(100)
	f.WriteStatus(&b, 110, 0)
	for _, line := range []string{
		"Status: Enabled for 0 days 00:00:10              Debug: err",
		"  current entries                        2",
		"  inserts                                2            0.2/s",
		"  match                                  3            0.3/s",
	} {
		if !strings.Contains(b.String(), line+"\n") {
			t.Errorf("WriteStatus lacks %q:\n%s", line, b.String())
		}
	}
	b.Reset()
	f.WriteTimeouts(&b)
	if !strings.HasPrefix(b.String(), "tcp.first                   120s\n") || !strings.Contains(b.String(), "adaptive.start            60000 states\n") {
		t.Errorf("WriteTimeouts =\n%s", b.String())
	}
}

func TestLogAll(t *testing.T) {
	var buf bytes.Buffer
	lg, err := NewPflog(&buf)
	if err != nil {
		t.Fatal(err)
	}
	f := newTestFilter(t, "pass out log (all) on em0 nat-to 203.0.113.1\npass in log on em0 no state\n", Options{Log: lg})
	p := udpPkt(t, "10.50.0.5", 1, "198.51.100.7", 53)
	if r := test(f, Out, ifEm0, p, 1); !r.Log {
		t.Errorf("state-creating packet not logged")
	}
	q := udpPkt(t, "10.50.0.5", 1, "198.51.100.7", 53)
	if r := test(f, Out, ifEm0, q, 2); !r.Log {
		t.Errorf("log (all): later packet not logged")
	}
	n := buf.Len()
	g := newTestFilter(t, "pass out log on em0\n", Options{Log: lg})
	test(g, Out, ifEm0, udpPkt(t, "10.50.0.5", 1, "198.51.100.7", 53), 1)
	if r := test(g, Out, ifEm0, udpPkt(t, "10.50.0.5", 1, "198.51.100.7", 53), 2); r.Log || buf.Len() == n {
		t.Errorf("plain log: later packet logged = %v, first logged = %v", r.Log, buf.Len() != n)
	}
	// The second record (through the state): original addresses in the
	// header, rewritten payload, rewritten flag set.
	rec := buf.Bytes()[24:]
	l1 := int(rec[8]) | int(rec[9])<<8
	rec = rec[16+l1:]
	h := rec[16:]
	if h[61] != 1 || netip.AddrFrom4([4]byte(h[64:68])).String() != "10.50.0.5" {
		t.Errorf("state log: rewritten %d saddr %v, want 1 and 10.50.0.5", h[61], netip.AddrFrom4([4]byte(h[64:68])))
	}
	if got := netip.AddrFrom4([4]byte(h[100+12 : 100+16])); got.String() != "203.0.113.1" {
		t.Errorf("state log payload source %v, want 203.0.113.1", got)
	}
}

func TestLogMatches(t *testing.T) {
	var buf bytes.Buffer
	lg, err := NewPflog(&buf)
	if err != nil {
		t.Fatal(err)
	}
	f := newTestFilter(t, "match in log (matches) all\nmatch in all tag A\npass in all no state\n", Options{Log: lg})
	if r := test(f, In, ifEm0, udpPkt(t, "198.51.100.7", 1, "203.0.113.1", 2), 1); !r.Log {
		t.Fatalf("not logged")
	}
	// The match rule itself, then each later matching rule: 3 records.
	n, b := 0, buf.Bytes()[24:]
	for len(b) >= 16 {
		l := int(b[8]) | int(b[9])<<8
		b = b[16+l:]
		n++
	}
	if n != 3 {
		t.Errorf("%d records, want 3", n)
	}
}

func TestProbabilitySeeded(t *testing.T) {
	run := func() []packet.Verdict {
		f := newTestFilter(t, "block all\npass in all probability 50% no state\n", Options{})
		var out []packet.Verdict
		for i := 0; i < 200; i++ {
			out = append(out, test(f, In, ifEm0, udpPkt(t, "198.51.100.7", 1, "203.0.113.1", 2), 1).Verdict)
		}
		return out
	}
	a, b := run(), run()
	pass := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("verdict %d differs between runs with the same seed", i)
		}
		if a[i] == packet.Pass {
			pass++
		}
	}
	if pass < 60 || pass > 140 {
		t.Errorf("%d of 200 passed at 50%%", pass)
	}
}

func TestSetTimeoutAndConnRate(t *testing.T) {
	t.Run("set timeout udp.first", func(t *testing.T) {
		f := newTestFilter(t, "set timeout udp.first 5\npass all\n", Options{})
		test(f, Out, ifEm0, udpPkt(t, "203.0.113.1", 1, "198.51.100.7", 2), 10)
		if n := f.Purge(14); n != 0 {
			t.Fatalf("Purge(14) = %d", n)
		}
		if n := f.Purge(15); n != 1 {
			t.Errorf("Purge(15) = %d, want 1 (udp.first 5)", n)
		}
	})
	t.Run("per-rule timeout", func(t *testing.T) {
		f := newTestFilter(t, "pass all keep state (udp.first 3)\n", Options{})
		test(f, Out, ifEm0, udpPkt(t, "203.0.113.1", 1, "198.51.100.7", 2), 10)
		if n := f.Purge(13); n != 1 {
			t.Errorf("Purge(13) = %d, want 1", n)
		}
	})
	t.Run("max-src-conn-rate", func(t *testing.T) {
		f := newTestFilter(t, "table <bad> persist\nblock in quick from <bad>\npass in proto tcp keep state (max-src-conn-rate 2/10, overload <bad>)\n", Options{})
		c, s := "198.51.100.7", "203.0.113.1"
		open := func(port uint16) packet.Verdict {
			test(f, In, ifEm0, tcpPkt(t, c, port, s, 22, tcpOpt{flags: "S", seq: 10}), 1)
			test(f, Out, ifEm0, tcpPkt(t, s, 22, c, port, tcpOpt{flags: "SA", seq: 50, ack: 11}), 1)
			return test(f, In, ifEm0, tcpPkt(t, c, port, s, 22, tcpOpt{flags: "A", seq: 11, ack: 51}), 1).Verdict
		}
		for i, want := range []packet.Verdict{packet.Pass, packet.Pass, packet.Drop} {
			if v := open(uint16(1000 + i)); v != want {
				t.Errorf("connection %d: %v, want %v", i, v, want)
			}
		}
		if v := test(f, In, ifEm0, tcpPkt(t, c, 2000, s, 22, syn), 1).Verdict; v != packet.Drop {
			t.Errorf("after overload: %v, want drop", v)
		}
	})
}

// TestStateSeqLine: pfctl -ss -v shows a TCP state's windows first
// (print_seq), "[seqlo + seqhi-seqlo]" per side, near side first.
func TestStateSeqLine(t *testing.T) {
	f := newTestFilter(t, "pass\n", Options{})
	test(f, Out, ifEm0, tcpPkt(t, "203.0.113.1", 4000, "198.51.100.7", 80, tcpOpt{flags: "S", seq: 100, win: 1000}), 100)
	test(f, In, ifEm0, tcpPkt(t, "198.51.100.7", 80, "203.0.113.1", 4000, tcpOpt{flags: "SA", seq: 500, ack: 101, win: 2000}), 100)
	var b bytes.Buffer
	f.WriteStates(&b, 100, 1)
	// The client: seqlo 100, seqhi the server's ack (101) plus its
	// window (2000). The server: seqlo its SYN's end (501), seqhi that
	// plus the client's window (1000). The client's side is established
	// by the SYN+ACK, the server's not yet.
	want := "all tcp 203.0.113.1:4000 -> 198.51.100.7:80       ESTABLISHED:SYN_SENT\n" +
		"   [100 + 2001]  [501 + 1000]\n" +
		"   age 00:00:00, expires in 00:00:30, 1:1 pkts, 40:40 bytes, rule 0\n"
	if b.String() != want {
		t.Errorf("WriteStates -v =\n%s\nwant\n%s", b.String(), want)
	}
}
