package filter

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/hostnet/hostnet/dataplane/packet"
	"github.com/hostnet/hostnet/filter/pfconf"
)

// syn is a fresh connection's first segment.
var syn = tcpOpt{flags: "S", seq: 1000}

func TestPF0_1_TranslationOnlyOnStateCreation(t *testing.T) {
	tests := []struct {
		name      string
		conf      string
		wantNAT   bool
		wantState int
	}{
		{"match nat-to then stateless pass", "match out on em0 from 10.50.0.0/24 nat-to (em0)\npass out on em0 no state\n", false, 0},
		{"match nat-to then default pass", "match out on em0 from 10.50.0.0/24 nat-to (em0)\n", false, 0},
		{"match nat-to then stateful pass", "match out on em0 from 10.50.0.0/24 nat-to (em0)\npass out on em0\n", true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFilter(t, tc.conf, Options{})
			p := tcpPkt(t, "10.50.0.5", 40000, "198.51.100.7", 80, syn)
			res := test(f, Out, ifEm0, p, 100)
			if res.Verdict != packet.Pass {
				t.Fatalf("Test = %+v, want pass", res)
			}
			g := decoded(t, p)
			src := g.NetworkLayer().NetworkFlow().Src().String()
			tcp := g.Layer(layers.LayerTypeTCP).(*layers.TCP)
			if tc.wantNAT {
				if src != "203.0.113.1" || tcp.SrcPort < 50001 {
					t.Errorf("source = %s:%d, want 203.0.113.1:50001-65535", src, tcp.SrcPort)
				}
			} else if src != "10.50.0.5" || tcp.SrcPort != 40000 {
				t.Errorf("source = %s:%d, want 10.50.0.5:40000 (untranslated)", src, tcp.SrcPort)
			}
			if f.States() != tc.wantState {
				t.Errorf("States() = %d, want %d", f.States(), tc.wantState)
			}
		})
	}
}

func TestPF0_2_LastMatchQuickDefaultPass(t *testing.T) {
	tests := []struct {
		name      string
		conf      string
		want      packet.Verdict
		wantState int
	}{
		{"last match pass", "block all\npass all\n", packet.Pass, 1},
		{"last match block", "pass all\nblock all\n", packet.Drop, 0},
		{"quick block wins", "block quick all\npass all\n", packet.Drop, 0},
		{"match never decides", "block all\nmatch all tag X\n", packet.Drop, 0},
		{"nothing matches: pass without state", "pass in on tap3 all\n", packet.Pass, 0},
		{"quick deep in anchor ends everything", "anchor \"a\" {\n anchor \"b\" {\n  block quick all\n }\n}\npass all\n", packet.Drop, 0},
		{"pass in anchor overridden by later block", "anchor \"a\" {\n pass all\n}\nblock all\n", packet.Drop, 0},
		{"quick pass in anchor", "anchor \"a\" {\n pass quick all\n}\nblock all\n", packet.Pass, 1},
		{"quick anchor stops when its own rule matched", "anchor \"a\" quick {\n pass all\n}\nblock all\n", packet.Pass, 1},
		{"quick anchor without a match inside continues", "anchor \"a\" quick {\n pass in on tap3 all\n}\nblock all\n", packet.Drop, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFilter(t, tc.conf, Options{})
			p := tcpPkt(t, "198.51.100.7", 40000, "203.0.113.1", 22, syn)
			if res := test(f, In, ifEm0, p, 1); res.Verdict != tc.want {
				t.Errorf("Test(%q) = %v, want %v", tc.conf, res.Verdict, tc.want)
			}
			if f.States() != tc.wantState {
				t.Errorf("States() = %d, want %d", f.States(), tc.wantState)
			}
		})
	}
}

func TestPF0_3_MatchTranslationSeenByLaterRules(t *testing.T) {
	tests := []struct {
		name    string
		conf    string
		want    packet.Verdict
		wantSrc string
	}{
		{"later rules see the translated source",
			"block all\nmatch out on em0 from 10.50.0.0/24 nat-to 203.0.113.9\nblock out on em0 from 10.50.0.0/24\npass out on em0 from 203.0.113.9\n",
			packet.Pass, "203.0.113.9"},
		{"plain pass keeps the match rule's nat-to",
			"match out on em0 nat-to 203.0.113.9\npass out on em0\n", packet.Pass, "203.0.113.9"},
		{"pass with its own nat-to replaces it",
			"match out on em0 nat-to 203.0.113.9\npass out on em0 nat-to 203.0.113.7\n", packet.Pass, "203.0.113.7"},
		{"the last match rule's translation wins",
			"match out on em0 nat-to 203.0.113.9\nmatch out on em0 nat-to 203.0.113.8\npass out on em0\n", packet.Pass, "203.0.113.8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFilter(t, tc.conf, Options{})
			p := udpPkt(t, "10.50.0.5", 5353, "198.51.100.7", 53)
			if res := test(f, Out, ifEm0, p, 1); res.Verdict != tc.want {
				t.Fatalf("Test = %v, want %v", res.Verdict, tc.want)
			}
			g := decoded(t, p)
			if got := g.NetworkLayer().NetworkFlow().Src().String(); got != tc.wantSrc {
				t.Errorf("source = %s, want %s", got, tc.wantSrc)
			}
		})
	}
}

func TestPF0_4_FlagsSAICMPRepliesIPOptions(t *testing.T) {
	t.Run("only a SYN creates TCP state", func(t *testing.T) {
		f := newTestFilter(t, "block all\npass in on em0\n", Options{})
		ack := tcpPkt(t, "198.51.100.7", 40000, "203.0.113.1", 22, tcpOpt{flags: "A", seq: 5, ack: 9})
		if res := test(f, In, ifEm0, ack, 1); res.Verdict != packet.Drop {
			t.Errorf("ACK without state: %v, want drop (flags S/SA)", res.Verdict)
		}
		synack := tcpPkt(t, "198.51.100.7", 40000, "203.0.113.1", 22, tcpOpt{flags: "SA", seq: 5, ack: 9})
		if res := test(f, In, ifEm0, synack, 1); res.Verdict != packet.Drop {
			t.Errorf("SYN+ACK without state: %v, want drop", res.Verdict)
		}
		// SYN+FIN has its FIN cleared by normalisation, then fits S/SA.
		s := tcpPkt(t, "198.51.100.7", 40000, "203.0.113.1", 22, tcpOpt{flags: "SF", seq: 5})
		if res := test(f, In, ifEm0, s, 1); res.Verdict != packet.Pass || f.States() != 1 {
			t.Errorf("SYN+FIN: %v with %d states, want pass and 1", res.Verdict, f.States())
		}
		if fl := decoded(t, s).Layer(layers.LayerTypeTCP).(*layers.TCP); fl.FIN {
			t.Errorf("SYN+FIN kept its FIN")
		}
		// pf_normalize_tcp drops PSH (and FIN, URG) without ACK.
		sp := tcpPkt(t, "198.51.100.7", 40001, "203.0.113.1", 22, tcpOpt{flags: "SP", seq: 5})
		if res := test(f, In, ifEm0, sp, 1); res.Verdict != packet.Drop {
			t.Errorf("SYN+PSH: %v, want drop (normalize)", res.Verdict)
		}
	})
	t.Run("SYN+RST is dropped by normalisation", func(t *testing.T) {
		f := newTestFilter(t, "pass all\n", Options{})
		p := tcpPkt(t, "198.51.100.7", 40000, "203.0.113.1", 22, tcpOpt{flags: "SR", seq: 5})
		if res := test(f, In, ifEm0, p, 1); res.Verdict != packet.Drop {
			t.Errorf("SYN+RST: %v, want drop", res.Verdict)
		}
	})
	t.Run("stateful rules skip echo replies", func(t *testing.T) {
		f := newTestFilter(t, "block all\npass in on em0\n", Options{})
		if res := test(f, In, ifEm0, echoPkt(t, "198.51.100.7", "203.0.113.1", 7, true), 1); res.Verdict != packet.Drop {
			t.Errorf("echo reply under a stateful pass: %v, want drop", res.Verdict)
		}
		g := newTestFilter(t, "block all\npass in on em0 no state\n", Options{})
		if res := test(g, In, ifEm0, echoPkt(t, "198.51.100.7", "203.0.113.1", 7, true), 1); res.Verdict != packet.Pass {
			t.Errorf("echo reply under a stateless pass: %v, want pass", res.Verdict)
		}
		if res := test(f, In, ifEm0, echoPkt(t, "198.51.100.7", "203.0.113.1", 7, false), 1); res.Verdict != packet.Pass || f.States() != 1 {
			t.Errorf("echo request: %v with %d states, want pass and 1", res.Verdict, f.States())
		}
	})
	t.Run("IP options dropped unless allow-opts", func(t *testing.T) {
		for _, tc := range []struct {
			conf string
			want packet.Verdict
		}{
			{"pass all\n", packet.Drop},
			{"pass all allow-opts\n", packet.Pass},
			{"match all allow-opts\n", packet.Drop}, // the default pass decides
		} {
			f := newTestFilter(t, tc.conf, Options{})
			p := udpPkt(t, "198.51.100.7", 1, "203.0.113.1", 2)
			p.Meta.HasOptions = true // an IPv4 option area, as Parse reports it
			if res := test(f, In, ifEm0, p, 1); res.Verdict != tc.want {
				t.Errorf("Test(%q) with options = %v, want %v", tc.conf, res.Verdict, tc.want)
			}
		}
	})
}

func TestPF0_5_StateKeysTwoStatesForRoutedFlow(t *testing.T) {
	conf := "block all\nmatch out on em0 from 10.50.0.0/24 nat-to (em0)\npass in on vether0 from 10.50.0.0/24\npass out on em0\n"
	f := newTestFilter(t, conf, Options{})
	// Guest -> remote: in on vether0, then out on em0 (NAT).
	p := tcpPkt(t, "10.50.0.5", 40000, "198.51.100.7", 80, syn)
	if r := test(f, In, ifVether, p, 1); r.Verdict != packet.Pass {
		t.Fatalf("in on vether0: %v", r.Verdict)
	}
	if r := test(f, Out, ifEm0, p, 1); r.Verdict != packet.Pass {
		t.Fatalf("out on em0: %v", r.Verdict)
	}
	if f.States() != 2 {
		t.Fatalf("States() = %d, want 2 (one in on vether0, one out on em0)", f.States())
	}
	natted := src4(p)
	// Reply: in on em0 hits the out state's wire key and is translated back.
	rep := tcpPkt(t, "198.51.100.7", 80, natted.Addr().String(), natted.Port(), tcpOpt{flags: "SA", seq: 7000, ack: 1001})
	if r := test(f, In, ifEm0, rep, 1); r.Verdict != packet.Pass {
		t.Fatalf("reply in on em0: %v", r.Verdict)
	}
	decoded(t, rep)
	if got := dst4(rep); got != netip.MustParseAddrPort("10.50.0.5:40000") {
		t.Fatalf("reply destination = %v, want 10.50.0.5:40000", got)
	}
	// Then out on vether0: matches the in state's key from the other side.
	if r := test(f, Out, ifVether, rep, 1); r.Verdict != packet.Pass {
		t.Fatalf("reply out on vether0: %v", r.Verdict)
	}
	lines := f.StateLines(1)
	want := []string{
		"all tcp 198.51.100.7:80 <- 10.50.0.5:40000       SYN_SENT:ESTABLISHED",
		"all tcp " + natted.String() + " (10.50.0.5:40000) -> 198.51.100.7:80       ESTABLISHED:SYN_SENT",
	}
	for i, w := range want {
		if i >= len(lines) || lines[i].Line != w {
			t.Errorf("state %d = %v, want %q", i, lines, w)
		}
	}

	t.Run("if-bound states match only their interface", func(t *testing.T) {
		f := newTestFilter(t, "block all\npass in on egress keep state (if-bound)\npass in on em1 proto tcp flags any no state\n", Options{})
		_ = f
		g := newTestFilter(t, "set state-policy if-bound\nblock all\npass out all\n", Options{})
		p := udpPkt(t, "203.0.113.1", 5000, "198.51.100.7", 53)
		test(g, Out, ifEm0, p, 1)
		rep := udpPkt(t, "198.51.100.7", 53, "203.0.113.1", 5000)
		if r := test(g, In, ifEm1, rep, 1); r.Verdict != packet.Drop {
			t.Errorf("reply on em1 to an if-bound state on em0: %v, want drop", r.Verdict)
		}
		if r := test(g, In, ifEm0, rep, 1); r.Verdict != packet.Pass {
			t.Errorf("reply on em0: %v, want pass", r.Verdict)
		}
		h := newTestFilter(t, "block all\npass out all\n", Options{})
		test(h, Out, ifEm0, udpPkt(t, "203.0.113.1", 5000, "198.51.100.7", 53), 1)
		if r := test(h, In, ifEm1, udpPkt(t, "198.51.100.7", 53, "203.0.113.1", 5000), 1); r.Verdict != packet.Pass {
			t.Errorf("reply on em1 to a floating state: %v, want pass", r.Verdict)
		}
	})
}

// loadFiles parses main with the given anchor files.
func loadFiles(t *testing.T, main string, files map[string]string) *Filter {
	t.Helper()
	ifs := testIfaces()
	opts := parseOpts(ifs)
	opts.ReadFile = func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, &pfconf.Error{File: name, Msg: "no such file"}
	}
	spec, err := pfconf.ParseWith("pf.conf", strings.NewReader(main), opts)
	if err != nil {
		t.Fatalf("ParseWith: %v", err)
	}
	env := Env{Interfaces: ifs, Seed: 1}
	rs, err := Compile(spec, env)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	f := NewFilter(Options{})
	f.Load(rs)
	return f
}

func TestPF0_6_WildcardAnchorChildrenInStrcmpOrder(t *testing.T) {
	main := "anchor \"vm/*\"\nload anchor \"vm\" from \"vm.conf\"\nload anchor \"vm/10\" from \"10.conf\"\nload anchor \"vm/9\" from \"9.conf\"\nload anchor \"vm/9/x\" from \"x.conf\"\n"
	files := map[string]string{
		"vm.conf": "block quick all\n", // vm's own rules: never evaluated by vm/*
		"10.conf": "block all\n",       // vm/10 runs before vm/9
		"9.conf":  "pass all\n",
		"x.conf":  "block quick all\n", // a grandchild: never evaluated
	}
	f := loadFiles(t, main, files)
	p := udpPkt(t, "198.51.100.7", 1, "203.0.113.1", 2)
	if r := test(f, In, ifEm0, p, 1); r.Verdict != packet.Pass {
		t.Errorf("Test = %v, want pass (vm/9's pass after vm/10's block; vm and vm/9/x not evaluated)", r.Verdict)
	}
	files["10.conf"], files["9.conf"] = "pass all\n", "block all\n"
	f = loadFiles(t, main, files)
	if r := test(f, In, ifEm0, udpPkt(t, "198.51.100.7", 1, "203.0.113.1", 2), 1); r.Verdict != packet.Drop {
		t.Errorf("Test = %v, want drop (vm/9 is last)", r.Verdict)
	}
}

func TestPF0_7_NegatedListElementIsItsOwnRule(t *testing.T) {
	tests := []struct {
		name string
		conf string
		src  string
		want packet.Verdict
	}{
		{"{ !a, b } matches a (via b)", "block all\npass in from { !10.0.0.1, 10.0.0.0/8 } no state\n", "10.0.0.1", packet.Pass},
		{"{ !a, b } matches anything not a", "block all\npass in from { !10.0.0.1, 10.0.0.0/8 } no state\n", "192.0.2.1", packet.Pass},
		{"table with ! entry excludes", "table <t> { !10.0.0.1, 10.0.0.0/8 }\nblock all\npass in from <t> no state\n", "10.0.0.1", packet.Drop},
		{"table with ! entry includes the rest", "table <t> { !10.0.0.1, 10.0.0.0/8 }\nblock all\npass in from <t> no state\n", "10.0.0.2", packet.Pass},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFilter(t, tc.conf, Options{})
			if r := test(f, In, ifEm0, udpPkt(t, tc.src, 1, "203.0.113.1", 2), 1); r.Verdict != tc.want {
				t.Errorf("Test(from %s) = %v, want %v", tc.src, r.Verdict, tc.want)
			}
		})
	}
}

func TestPF0_8_BlockPolicyAndReturn(t *testing.T) {
	tests := []struct {
		name      string
		conf      string
		pkt       func(t *testing.T) *packet.Packet
		wantReply string // "", "rst", "unreach4", "unreach6"
	}{
		{"block-policy applies to later blocks only", "block in on em0 all\nset block-policy return\nblock in on em1 all\n",
			func(t *testing.T) *packet.Packet { return tcpPkt(t, "198.51.100.7", 1, "203.0.113.1", 22, syn) }, ""},
		{"return: TCP gets RST", "set block-policy return\nblock all\n",
			func(t *testing.T) *packet.Packet { return tcpPkt(t, "198.51.100.7", 1, "203.0.113.1", 22, syn) }, "rst"},
		{"return: UDP gets port unreachable", "block return all\n",
			func(t *testing.T) *packet.Packet { return udpPkt(t, "198.51.100.7", 1, "203.0.113.1", 22) }, "unreach4"},
		{"return: ICMP echo gets port unreachable", "block return all\n",
			func(t *testing.T) *packet.Packet { return echoPkt(t, "198.51.100.7", "203.0.113.1", 3, false) }, "unreach4"},
		{"return: IPv6 UDP gets ICMPv6 port unreachable", "block return all\n",
			func(t *testing.T) *packet.Packet { return udpPkt(t, "2001:db8::7", 1, "2001:db8::1", 22) }, "unreach6"},
		{"return: a blocked RST gets ICMP", "block return all\n",
			func(t *testing.T) *packet.Packet {
				return tcpPkt(t, "198.51.100.7", 1, "203.0.113.1", 22, tcpOpt{flags: "RA", seq: 1, ack: 1})
			}, "unreach4"},
		{"return-rst: a blocked RST gets nothing", "block return-rst all\n",
			func(t *testing.T) *packet.Packet {
				return tcpPkt(t, "198.51.100.7", 1, "203.0.113.1", 22, tcpOpt{flags: "RA", seq: 1, ack: 1})
			}, ""},
		{"no answer to an ICMP error", "block return all\n",
			func(t *testing.T) *packet.Packet {
				return icmpErrPkt(t, "198.51.100.7", "203.0.113.1", udpPkt(t, "203.0.113.1", 5, "198.51.100.7", 6))
			}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFilter(t, tc.conf, Options{})
			p := tc.pkt(t)
			in := append([]byte(nil), p.Bytes()...)
			reply := packet.New()
			ifx := ifEm0
			r := f.TestReply(In, ifx, p, reply, 1)
			if r.Verdict != packet.Drop {
				t.Fatalf("Test = %v, want drop", r.Verdict)
			}
			if tc.wantReply == "" {
				if r.Reply {
					t.Errorf("Reply built, want none")
				}
				return
			}
			if !r.Reply {
				t.Fatalf("no reply, want %s", tc.wantReply)
			}
			if reply.Headroom() < 14 {
				t.Errorf("reply headroom %d < 14", reply.Headroom())
			}
			g := decodedIP(t, reply.Bytes())
			switch tc.wantReply {
			case "rst":
				tcp := g.Layer(layers.LayerTypeTCP).(*layers.TCP)
				if !tcp.RST || !tcp.ACK || tcp.Seq != 0 || tcp.Ack != syn.seq+1 || tcp.Window != 0 || tcp.SrcPort != 22 || tcp.DstPort != 1 {
					t.Errorf("RST = %+v, want RST|ACK seq 0 ack %d from port 22", tcp, syn.seq+1)
				}
				ip := g.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				if ip.SrcIP.String() != "203.0.113.1" || ip.TTL != 64 {
					t.Errorf("RST from %v ttl %d, want 203.0.113.1 ttl 64", ip.SrcIP, ip.TTL)
				}
			case "unreach4":
				ic := g.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
				if ic.TypeCode.Type() != 3 || ic.TypeCode.Code() != 3 {
					t.Errorf("ICMP %v, want 3/3", ic.TypeCode)
				}
				ip := g.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				hl := int(in[14]&0x0f) * 4
				if ip.TTL != 255 || !bytes.Equal(ic.Payload, in[14:14+hl+8]) {
					t.Errorf("quote %x ttl %d, want %x ttl 255", ic.Payload, ip.TTL, in[14:14+hl+8])
				}
			case "unreach6":
				ic := g.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
				if ic.TypeCode.Type() != 1 || ic.TypeCode.Code() != 4 {
					t.Errorf("ICMPv6 %v, want 1/4", ic.TypeCode)
				}
			}
		})
	}
}

func TestPF0_9_PortOperators(t *testing.T) {
	tests := []struct {
		name string
		op   string
		port uint16
		want packet.Verdict
	}{
		{"a:b includes a", "1000:2000", 1000, packet.Pass},
		{"a:b includes b", "1000:2000", 2000, packet.Pass},
		{"a >< b excludes a", "1000 >< 2000", 1000, packet.Drop},
		{"a >< b includes inside", "1000 >< 2000", 1001, packet.Pass},
		{"a >< b excludes b", "1000 >< 2000", 2000, packet.Drop},
		{"a <> b excludes a", "1000 <> 2000", 1000, packet.Drop},
		{"a <> b includes below", "1000 <> 2000", 999, packet.Pass},
		{"a <> b includes above", "1000 <> 2000", 2001, packet.Pass},
		{"!= excludes", "!= 80", 80, packet.Drop},
		{"<= includes", "<= 80", 80, packet.Pass},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conf := "block all\npass in proto udp to port " + tc.op + " no state\n"
			f := newTestFilter(t, conf, Options{})
			if r := test(f, In, ifEm0, udpPkt(t, "198.51.100.7", 1, "203.0.113.1", tc.port), 1); r.Verdict != tc.want {
				t.Errorf("port %s against %d = %v, want %v", tc.op, tc.port, r.Verdict, tc.want)
			}
		})
	}
}

func TestPF0_10_NATPortsStaticPortBinatIfaceChange(t *testing.T) {
	t.Run("nat-to default range", func(t *testing.T) {
		f := newTestFilter(t, "pass out on em0 nat-to 203.0.113.1\n", Options{})
		seen := map[uint16]bool{}
		for i := 0; i < 50; i++ {
			p := udpPkt(t, "10.50.0.5", uint16(1000+i), "198.51.100.7", 53)
			test(f, Out, ifEm0, p, 1)
			port := src4(p).Port()
			if port < 50001 || seen[port] {
				t.Fatalf("translated port %d: want unused 50001-65535", port)
			}
			seen[port] = true
			decoded(t, p)
		}
	})
	t.Run("static-port keeps the port", func(t *testing.T) {
		f := newTestFilter(t, "pass out on em0 nat-to 203.0.113.1 static-port\n", Options{})
		p := udpPkt(t, "10.50.0.5", 1234, "198.51.100.7", 53)
		test(f, Out, ifEm0, p, 1)
		if got := src4(p); got != netip.MustParseAddrPort("203.0.113.1:1234") {
			t.Errorf("source = %v, want 203.0.113.1:1234", got)
		}
	})
	t.Run("binat-to both ways", func(t *testing.T) {
		f := newTestFilter(t, "pass on em0 from 10.50.0.5 to any binat-to 203.0.113.5\n", Options{})
		p := udpPkt(t, "10.50.0.5", 1234, "198.51.100.7", 53)
		test(f, Out, ifEm0, p, 1)
		if got := src4(p); got != netip.MustParseAddrPort("203.0.113.5:1234") {
			t.Errorf("outbound source = %v, want 203.0.113.5:1234", got)
		}
		q := tcpPkt(t, "198.51.100.7", 4000, "203.0.113.5", 22, syn)
		test(f, In, ifEm0, q, 1)
		if got := dst4(q); got != netip.MustParseAddrPort("10.50.0.5:22") {
			t.Errorf("inbound destination = %v, want 10.50.0.5:22", got)
		}
		decoded(t, q)
	})
	t.Run("nat-to (if) follows address changes for new states only", func(t *testing.T) {
		f := newTestFilter(t, "pass out on em0 nat-to (em0)\n", Options{})
		p := udpPkt(t, "10.50.0.5", 1000, "198.51.100.7", 53)
		test(f, Out, ifEm0, p, 1)
		old := src4(p)
		ifs := testIfaces()
		ifs[0].Addrs = []netip.Prefix{netip.MustParsePrefix("192.0.2.77/24")}
		f.SetInterfaces(ifs)
		q := udpPkt(t, "10.50.0.5", 1001, "198.51.100.7", 53)
		test(f, Out, ifEm0, q, 2)
		if q.Meta.Flow.Src.Addr() != netip.MustParseAddr("192.0.2.77") {
			t.Errorf("new state's source = %v, want 192.0.2.77", src4(q))
		}
		p2 := udpPkt(t, "10.50.0.5", 1000, "198.51.100.7", 53)
		test(f, Out, ifEm0, p2, 3)
		if src4(p2) != old {
			t.Errorf("existing state's source = %v, want %v", src4(p2), old)
		}
	})
}

func TestPF0_11_Timers(t *testing.T) {
	t.Run("icmp.error after the reply", func(t *testing.T) {
		f := newTestFilter(t, "pass all\n", Options{})
		test(f, Out, ifEm0, echoPkt(t, "203.0.113.1", "198.51.100.7", 9, false), 100)
		if n := f.Purge(115); n != 0 {
			t.Fatalf("Purge(115) removed %d before icmp.first (20s)", n)
		}
		if r := test(f, In, ifEm0, echoPkt(t, "198.51.100.7", "203.0.113.1", 9, true), 115); r.Verdict != packet.Pass {
			t.Fatalf("echo reply: %v", r.Verdict)
		}
		if n := f.Purge(124); n != 0 {
			t.Fatalf("Purge(124) removed %d, before icmp.error", n)
		}
		if n := f.Purge(125); n != 1 {
			t.Errorf("Purge(125) removed %d, want 1 (icmp.error 10s after 115)", n)
		}
	})
	t.Run("tcp.closed once both sides reach FIN_WAIT_2", func(t *testing.T) {
		f := newTestFilter(t, "pass all\n", Options{})
		c, s := "198.51.100.7", "203.0.113.1"
		steps := []struct {
			fromClient bool
			o          tcpOpt
		}{
			{true, tcpOpt{flags: "S", seq: 100}},
			{false, tcpOpt{flags: "SA", seq: 500, ack: 101}},
			{true, tcpOpt{flags: "A", seq: 101, ack: 501}},
			{true, tcpOpt{flags: "FA", seq: 101, ack: 501}},
			{false, tcpOpt{flags: "FA", seq: 501, ack: 102}},
			{true, tcpOpt{flags: "A", seq: 102, ack: 502}},
		}
		for i, st := range steps {
			var p *packet.Packet
			if st.fromClient {
				p = tcpPkt(t, c, 4000, s, 22, st.o)
			} else {
				p = tcpPkt(t, s, 22, c, 4000, st.o)
			}
			dir := In
			if !st.fromClient {
				dir = Out
			}
			if r := test(f, dir, ifEm0, p, 1000); r.Verdict != packet.Pass {
				t.Fatalf("step %d: %v", i, r.Verdict)
			}
		}
		if l := f.StateLines(1000); len(l) != 1 || !strings.HasSuffix(l[0].Line, "FIN_WAIT_2:FIN_WAIT_2") {
			t.Fatalf("states = %v, want FIN_WAIT_2:FIN_WAIT_2", l)
		}
		if n := f.Purge(1089); n != 0 {
			t.Fatalf("Purge(+89) removed %d", n)
		}
		if n := f.Purge(1090); n != 1 {
			t.Errorf("Purge(+90) removed %d, want 1 (tcp.closed)", n)
		}
	})
	t.Run("adaptive timeouts from set limit states", func(t *testing.T) {
		f := newTestFilter(t, "set limit states 10\npass all\n", Options{})
		for i := 0; i < 9; i++ {
			test(f, Out, ifEm0, udpPkt(t, "203.0.113.1", uint16(100+i), "198.51.100.7", 53), 0)
		}
		// 9 states, start 6, end 12: udp.first 60s scaled by (12-9)/(12-6).
		if n := f.Purge(29); n != 0 {
			t.Fatalf("Purge(29) removed %d", n)
		}
		if n := f.Purge(30); n != 9 {
			t.Errorf("Purge(30) removed %d, want 9 (60s halved)", n)
		}
		for i := 0; i < 10; i++ {
			test(f, Out, ifEm0, udpPkt(t, "203.0.113.1", uint16(100+i), "198.51.100.7", 53), 40)
		}
		r := test(f, Out, ifEm0, udpPkt(t, "203.0.113.1", 999, "198.51.100.7", 53), 40)
		if r.Verdict != packet.Drop || r.Reason != packet.DropStateLimit {
			t.Errorf("11th state: %+v, want drop state-limit", r)
		}
	})
}

func TestPF0_12_PflogHeader(t *testing.T) {
	var buf bytes.Buffer
	lg, err := NewPflog(&buf)
	if err != nil {
		t.Fatal(err)
	}
	f := newTestFilter(t, "pass all\nanchor \"vm\" {\n pass in all\n block in log proto udp all\n}\n", Options{Log: lg})
	p := udpPkt(t, "2001:db8::7", 1, "2001:db8::1", 53)
	if r := test(f, In, ifEm0, p, 1700000000); !r.Log || r.Verdict != packet.Drop {
		t.Fatalf("Test = %+v, want a logged drop", r)
	}
	b := buf.Bytes()
	if binary.LittleEndian.Uint32(b[20:]) != 117 {
		t.Fatalf("link type %d, want 117", binary.LittleEndian.Uint32(b[20:]))
	}
	h := b[24+16:]
	checks := []struct {
		name      string
		got, want uint64
	}{
		{"length", uint64(h[0]), 100},
		{"af (AF_INET6 = 24)", uint64(h[1]), 24},
		{"action drop", uint64(h[2]), 1},
		{"rulenr (anchor rule, big-endian)", uint64(binary.BigEndian.Uint32(h[36:])), 1},
		{"subrulenr (inner rule)", uint64(binary.BigEndian.Uint32(h[40:])), 1},
		{"uid -1 host order", uint64(binary.LittleEndian.Uint32(h[44:])), 0xffffffff},
		{"pid NO_PID host order", uint64(binary.LittleEndian.Uint32(h[48:])), 100000},
		{"dir in", uint64(h[60]), 1},
		{"dport", uint64(binary.BigEndian.Uint16(h[98:])), 53},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if got := string(bytes.TrimRight(h[4:20], "\x00")); got != "em0" {
		t.Errorf("ifname = %q", got)
	}
	if got := string(bytes.TrimRight(h[20:36], "\x00")); got != "vm" {
		t.Errorf("ruleset = %q, want vm", got)
	}
	if h[100]>>4 != 6 {
		t.Errorf("payload does not start with the IPv6 header")
	}
}

// TestPF0_3_FinalRuleOverridesOnlyScrubOptionsItSets: the deciding pass
// rule's options are applied over the match rules', replacing only what
// it sets itself, for scrub options as for translation (PF.md 1.2).
func TestPF0_3_FinalRuleOverridesOnlyScrubOptionsItSets(t *testing.T) {
	tests := []struct {
		name    string
		conf    string
		wantSrc string
		wantTTL uint8
		wantDF  bool
	}{
		{"plain pass keeps the match rule's options",
			"match out on em0 nat-to 203.0.113.9 scrub (no-df min-ttl 30)\npass out on em0\n", "203.0.113.9", 30, false},
		{"pass sets min-ttl, no-df stays",
			"match out on em0 scrub (no-df min-ttl 30)\npass out on em0 scrub (min-ttl 10)\n", "10.50.0.5", 10, false},
		{"pass with its own nat-to keeps the scrub options",
			"match out on em0 nat-to 203.0.113.9 scrub (min-ttl 30)\npass out on em0 nat-to 203.0.113.7\n", "203.0.113.7", 30, true},
		{"no state: scrubbed, not translated",
			"match out on em0 nat-to 203.0.113.9 scrub (min-ttl 30)\npass out on em0 no state\n", "10.50.0.5", 30, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFilter(t, tc.conf, Options{})
			p := scrubPkt(t, "10.50.0.5", 5353, "198.51.100.7", 53, hdr{ttl: 4, df: true})
			if res := test(f, Out, ifEm0, p, 1); res.Verdict != packet.Pass {
				t.Fatalf("Test = %v, want pass", res.Verdict)
			}
			h := readHdr(t, p)
			if got := decoded(t, p).NetworkLayer().NetworkFlow().Src().String(); got != tc.wantSrc || h.ttl != tc.wantTTL || h.df != tc.wantDF {
				t.Errorf("source %s ttl %d df %v, want %s, %d, %v", got, h.ttl, h.df, tc.wantSrc, tc.wantTTL, tc.wantDF)
			}
		})
	}
}
