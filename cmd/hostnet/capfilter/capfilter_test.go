package capfilter

import (
	"strings"
	"testing"

	"github.com/hostnet/hostnet/test/pkt"
)

var (
	eth    = pkt.Eth{Src: "02:00:00:00:00:0a", Dst: "02:00:00:00:00:0b"}
	bcast  = pkt.Eth{Src: "02:00:00:00:00:0a", Dst: "ff:ff:ff:ff:ff:ff"}
	vlan10 = pkt.Eth{Src: "02:00:00:00:00:0a", Dst: "02:00:00:00:00:0b", Tags: []pkt.Tag{{VID: 10}}}
	qinq   = pkt.Eth{Src: "02:00:00:00:00:0a", Dst: "02:00:00:00:00:0b", Tags: []pkt.Tag{{TPID: 0x88a8, VID: 200}, {VID: 2001}}}
	v4     = pkt.IPHdr{Src: "10.0.0.1", Dst: "192.0.2.7"}
	v6     = pkt.IPHdr{Src: "2001:db8::1", Dst: "2001:db8:1::7"}
)

func TestMatch(t *testing.T) {
	tcp := pkt.TCP(eth, v4, pkt.TCPSeg{Sport: 40000, Dport: 443, Flags: pkt.SYN})
	udp := pkt.UDP(eth, v4, 5353, 53, []byte("q"))
	udp6 := pkt.UDP(eth, v6, 5353, 53, []byte("q"))
	tcp6 := pkt.TCP(eth, v6, pkt.TCPSeg{Sport: 40000, Dport: 22, Flags: pkt.ACK})
	ping := pkt.Ping(eth, v4, false, 7, 1, nil)
	ping6 := pkt.Ping(eth, v6, false, 7, 1, nil)
	arp := pkt.ARP(bcast, 1, "02:00:00:00:00:0a", "10.0.0.1", "00:00:00:00:00:00", "10.0.0.2")
	tagged := pkt.UDP(vlan10, v4, 5353, 53, []byte("q"))
	stacked := pkt.TCP(qinq, v4, pkt.TCPSeg{Sport: 1, Dport: 80})
	frag := pkt.Fragment(pkt.UDP(eth, v4, 5353, 9999, make([]byte, 600)), 256, 77)

	tests := []struct {
		name  string
		expr  string
		frame []byte
		want  bool
	}{
		{"empty", "", arp, true},
		{"host src", "host 10.0.0.1", tcp, true},
		{"host dst", "host 192.0.2.7", tcp, true},
		{"host other", "host 10.0.0.9", tcp, false},
		{"src host", "src host 10.0.0.1", tcp, true},
		{"src host is dst", "src host 192.0.2.7", tcp, false},
		{"dst bare", "dst 192.0.2.7", tcp, true},
		{"src and dst", "src and dst host 10.0.0.1", tcp, false},
		{"src or dst", "src or dst host 192.0.2.7", tcp, true},
		{"host6", "host 2001:db8::1", udp6, true},
		{"host6 on v4", "host 2001:db8::1", udp, false},
		{"net", "net 10.0.0.0/8", tcp, true},
		{"dst net", "dst net 10.0.0.0/8", tcp, false},
		{"net6", "src net 2001:db8::/48", tcp6, true},
		{"port", "port 443", tcp, true},
		{"port udp", "port 53", udp, true},
		{"tcp port on udp", "tcp port 53", udp, false},
		{"udp dst port", "udp dst port 53", udp, true},
		{"udp src port", "udp src port 53", udp, false},
		{"portrange", "portrange 400-500", tcp, true},
		{"portrange miss", "dst portrange 1-100", tcp, false},
		{"port list", "port 80 or 443", tcp, true},
		{"host list", "host 10.9.9.9 or 10.0.0.1", tcp, true},
		{"tcp", "tcp", tcp, true},
		{"tcp on udp", "tcp", udp, false},
		{"tcp6", "tcp", tcp6, true},
		{"udp6 port", "udp port 53", udp6, true},
		{"ip", "ip", tcp, true},
		{"ip on v6", "ip", tcp6, false},
		{"ip6", "ip6", tcp6, true},
		{"icmp", "icmp", ping, true},
		{"icmp on v6", "icmp", ping6, false},
		{"icmp6", "icmp6", ping6, true},
		{"arp", "arp", arp, true},
		{"arp on ip", "arp", tcp, false},
		{"broadcast", "broadcast", arp, true},
		{"ether broadcast", "ether broadcast", tcp, false},
		{"multicast", "ether multicast", arp, true},
		{"ether host", "ether host 02:00:00:00:00:0a", tcp, true},
		{"ether dst", "ether dst 02:00:00:00:00:0a", tcp, false},
		{"ether src upper", "ether src 02:00:00:00:00:0A", tcp, true},
		{"proto", "ip proto 17", udp, true},
		{"proto name", "proto tcp", tcp, true},
		{"ip6 proto on v4", "ip6 proto 17", udp, false},
		{"vlan", "vlan", tagged, true},
		{"vlan on untagged", "vlan", udp, false},
		{"vlan id", "vlan 10", tagged, true},
		{"vlan other id", "vlan 11", tagged, false},
		{"qinq inner", "vlan 2001 and tcp port 80", stacked, true},
		{"through tags", "host 10.0.0.1 and port 53", tagged, true},
		{"less", "less 100", tcp, true},
		{"greater", "greater 100", tcp, false},
		{"not", "not port 22", tcp, true},
		{"bang", "!tcp", tcp, false},
		{"and", "tcp and dst port 443", tcp, true},
		{"and &&", "tcp && udp", tcp, false},
		{"or ||", "udp || icmp", tcp, false},
		{"parens", "not (port 22 or port 23) and host 10.0.0.1", tcp, true},
		// pcap groups and/or from the left: (a or b) and c.
		{"left to right", "tcp or udp and port 22", tcp, false},
		{"first fragment ports", "udp port 9999", frag[0], true},
		{"later fragment no ports", "udp port 9999", frag[1], false},
		{"later fragment host", "host 192.0.2.7", frag[1], true},
		{"runt", "ip", []byte{1, 2, 3}, false},
		{"runt not", "not ip", []byte{1, 2, 3}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Compile(tc.expr)
			if err != nil {
				t.Fatalf("Compile(%q) = %v", tc.expr, err)
			}
			if got := f.Match(tc.frame); got != tc.want {
				t.Errorf("Compile(%q).Match(%s) = %v, want %v", tc.expr, pkt.Summary(tc.frame), got, tc.want)
			}
		})
	}
}

func TestNilMatchesAll(t *testing.T) {
	var f *Filter
	if !f.Match(nil) || !f.Match(pkt.UDP(eth, v4, 1, 2, nil)) {
		t.Errorf("(*Filter)(nil).Match = false, want true")
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		expr string
		want string // in the error
	}{
		{"host", `at the end: expected a value after host`},
		{"host example.com", `at "example.com" (word 2): expected an IPv4 or IPv6 address`},
		{"port http", `expected a port number`},
		{"port 70000", `expected a port number`},
		{"portrange 9-1", `expected a port range`},
		{"net 10.0.0.1/8", `has host bits set`},
		{"ip host 2001:db8::1", `ip host takes an IPv4 address`},
		{"tcp port 80 or", `at the end: expected a primitive`},
		{"(tcp", `at the end: expected )`},
		{"tcp )", `at ")" (word 2): expected and, or or the end`},
		{"vlan 5000", `a VLAN ID is 0 to 4095`},
		{"ether host 1.2.3.4", `expected a MAC address`},
		{"icmp port 1", `expected and, or or the end`},
		{"arp port 1", `arp has no ports`},
		{"frob", `at "frob" (word 1): expected a primitive`},
		{"tcp & udp", `unexpected '&'`},
		{"src or host 1.2.3.4", `expected dst after src or`},
	}
	for _, tc := range tests {
		_, err := Compile(tc.expr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Compile(%q) = %v, want an error with %q", tc.expr, err, tc.want)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	f, err := Compile("not (vlan 10 or ether broadcast) and (tcp dst port 443 or udp port 53 or host 2001:db8::1) and net 10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	frame := pkt.TCP(eth, v4, pkt.TCPSeg{Sport: 40000, Dport: 443})
	if n := testing.AllocsPerRun(1000, func() { sink = f.Match(frame) }); n != 0 {
		t.Errorf("Match: %v allocs per run, want 0", n)
	}
}

var sink bool

func FuzzCompile(f *testing.F) {
	f.Add("tcp port 80 or (udp and not host 10.0.0.1)", pkt.UDP(eth, v4, 1, 53, nil))
	f.Add("vlan 10 and src net 10.0.0.0/8", pkt.UDP(vlan10, v4, 1, 53, nil))
	f.Add("ip6 proto 58 || ether multicast", pkt.Ping(eth, v6, true, 1, 1, nil))
	f.Fuzz(func(t *testing.T, expr string, frame []byte) {
		c, err := Compile(expr)
		if err != nil {
			return
		}
		c.Match(frame) // must not panic on any frame
		if _, err := Compile(c.String()); err != nil {
			t.Errorf("Compile(%q) worked, Compile of its String %q = %v", expr, c.String(), err)
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	f, err := Compile("tcp dst port 443 and not host 10.9.9.9")
	if err != nil {
		b.Fatal(err)
	}
	frame := pkt.TCP(eth, v4, pkt.TCPSeg{Sport: 40000, Dport: 443})
	b.ReportAllocs()
	for b.Loop() {
		sink = f.Match(frame)
	}
}
