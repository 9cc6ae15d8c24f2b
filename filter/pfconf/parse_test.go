package pfconf

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// testInterfaces are a small host: em0 on the uplink, vether0 for the
// routed segment, a VM tap without address, lo0.
var testInterfaces = []Interface{
	{Name: "lo0", Loopback: true, Groups: []string{"lo"}, Addrs: []IfAddr{
		{Addr: netip.MustParseAddr("127.0.0.1"), Bits: 8},
		{Addr: netip.MustParseAddr("::1"), Bits: 128},
	}},
	{Name: "em0", Broadcast: true, Groups: []string{"egress"}, Addrs: []IfAddr{
		{Addr: netip.MustParseAddr("192.0.2.10"), Bits: 24},
		{Addr: netip.MustParseAddr("192.0.2.11"), Bits: 24},
		{Addr: netip.MustParseAddr("fe80::1%em0"), Bits: 64},
		{Addr: netip.MustParseAddr("2001:db8::10"), Bits: 64},
	}},
	{Name: "vether0", Broadcast: true, Groups: []string{"vether"}, Addrs: []IfAddr{
		{Addr: netip.MustParseAddr("10.50.0.1"), Bits: 24},
	}},
	{Name: "tap3", Groups: []string{"tap"}},
	{Name: "tun0", PointToPoint: true, Addrs: []IfAddr{
		{Addr: netip.MustParseAddr("10.9.0.1"), Bits: 32, Peer: netip.MustParseAddr("10.9.0.2")},
	}},
}

func parseTest(t *testing.T, src string) (*Spec, error) {
	t.Helper()
	return ParseWith("pf.conf", strings.NewReader(src), ParseOptions{Interfaces: testInterfaces})
}

// TestParse checks each construct of the grammar against the line pfctl
// prints for it.
func TestParse(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// macros
		{"macro", "a = \"b\"\n", "a = \"b\"\n"},
		{"macro from macro", "a = \"10.0.0.1\"\nb = $a\npass from $b\n",
			"a = \"10.0.0.1\"\nb = \"10.0.0.1\"\npass inet from 10.0.0.1 to any flags S/SA\n"},
		{"macro concatenation", "a = \"10.0.0.1\"\nb = \"{\" $a \"10.0.0.2 }\"\npass from $b\n",
			"a = \"10.0.0.1\"\nb = \"{ 10.0.0.1 10.0.0.2 }\"\npass inet from 10.0.0.1 to any flags S/SA\npass inet from 10.0.0.2 to any flags S/SA\n"},
		{"macro redefined", "i = \"em0\"\npass on $i\ni = \"tap3\"\npass on $i\n",
			"i = \"em0\"\ni = \"tap3\"\npass on em0 all flags S/SA\npass on tap3 all flags S/SA\n"},
		{"macro not expanded in quotes", "a = \"x\"\npass label \"$a\"\n", "a = \"x\"\npass all flags S/SA label \"$a\"\n"},
		{"line continuation", "pass \\\n in \\\n all\n", "pass in all flags S/SA\n"},
		{"comment", "# c\npass # trailing\n", "pass all flags S/SA\n"},

		// lists
		{"list order", "pass on { em0 tap3 } proto { tcp udp } from { 10.0.0.1 10.0.0.2 } to any port { 22 80 }\n",
			"pass on em0 inet proto tcp from 10.0.0.1 to any port = 22 flags S/SA\n" +
				"pass on em0 inet proto tcp from 10.0.0.1 to any port = 80 flags S/SA\n" +
				"pass on em0 inet proto tcp from 10.0.0.2 to any port = 22 flags S/SA\n" +
				"pass on em0 inet proto tcp from 10.0.0.2 to any port = 80 flags S/SA\n" +
				"pass on em0 inet proto udp from 10.0.0.1 to any port = 22\n" +
				"pass on em0 inet proto udp from 10.0.0.1 to any port = 80\n" +
				"pass on em0 inet proto udp from 10.0.0.2 to any port = 22\n" +
				"pass on em0 inet proto udp from 10.0.0.2 to any port = 80\n" +
				"pass on tap3 inet proto tcp from 10.0.0.1 to any port = 22 flags S/SA\n" +
				"pass on tap3 inet proto tcp from 10.0.0.1 to any port = 80 flags S/SA\n" +
				"pass on tap3 inet proto tcp from 10.0.0.2 to any port = 22 flags S/SA\n" +
				"pass on tap3 inet proto tcp from 10.0.0.2 to any port = 80 flags S/SA\n" +
				"pass on tap3 inet proto udp from 10.0.0.1 to any port = 22\n" +
				"pass on tap3 inet proto udp from 10.0.0.1 to any port = 80\n" +
				"pass on tap3 inet proto udp from 10.0.0.2 to any port = 22\n" +
				"pass on tap3 inet proto udp from 10.0.0.2 to any port = 80\n"},
		{"negated list element is its own rule", "block from { !10.0.0.0/8, 10.1.0.0/16 }\n",
			"block drop inet from ! 10.0.0.0/8 to any\nblock drop inet from 10.1.0.0/16 to any\n"},
		{"mixed family list", "pass from { 10.0.0.1 2001:db8::1 } to { 10.0.0.2 2001:db8::2 }\n",
			"pass inet from 10.0.0.1 to 10.0.0.2 flags S/SA\npass inet6 from 2001:db8::1 to 2001:db8::2 flags S/SA\n"},

		// tables
		{"table", "table <t> persist const counters { 10.0.0.0/8 !10.1.1.1 em0:network }\n",
			"table <t> const persist counters { 10.0.0.0/8 !10.1.1.1 192.0.2.0/24 192.0.2.0/24 2001:db8::/64 }\n"},
		{"table reference", "pass from <t> to ! <u>\n", "pass from <t> to ! <u> flags S/SA\n"},
		{"pool table", "table <pool> { 192.0.2.1 192.0.2.2 }\nmatch out nat-to <pool>\n",
			"table <pool> { 192.0.2.1 192.0.2.2 }\nmatch out all nat-to <pool> round-robin\n"},

		// options
		{"set skip", "set skip on { lo tap3 }\n", "set skip on { lo tap3 }\n"},
		{"set block-policy", "set block-policy return\nblock\nblock drop\n",
			"set block-policy return\nblock return all\nblock drop all\n"},
		{"set state-policy", "set state-policy if-bound\npass\n", "set state-policy if-bound\npass all flags S/SA keep state (if-bound)\n"},
		{"set timeout limit", "set timeout { tcp.first 30, interval 5 }\nset limit states 10000\n",
			"set timeout tcp.first 30\nset timeout interval 5\nset limit states 10000\n"},
		{"set misc", "set optimization normal\nset ruleset-optimization none\nset debug err\nset loginterface em0\nset hostid 0x10\nset reassemble yes\n",
			"set optimization normal\nset ruleset-optimization none\nset debug err\nset loginterface em0\nset hostid 0x00000010\nset reassemble yes \n"},

		// actions
		{"block return", "block return in proto tcp\n", "block return in proto tcp all\n"},
		{"return-rst ttl", "block return-rst(ttl 5) in proto tcp\n", "block return-rst(ttl 5) in proto tcp all\n"},
		{"return-icmp codes", "block return-icmp(host-unr, admin-unr) in\n", "block return-icmp(host-unr, admin-unr) in all\n"},
		{"return-icmp6", "block return-icmp6(3) in inet6\n", "block return-icmp6(addr-unr) in inet6 all\n"},
		{"match", "match out on egress nat-to (egress)\n", "match out on egress all nat-to (egress) round-robin\n"},
		{"log options", "pass log (all, matches, user, to pflog1) quick\n", "pass log (all, matches, user, to pflog1) quick all flags S/SA\n"},
		{"on not", "block on ! em0\n", "block drop on ! em0 all\n"},
		{"proto number", "pass proto 47\n", "pass proto gre all\n"},
		{"proto unknown number", "pass proto 253\n", "pass proto 253 all\n"},

		// addresses
		{"cidr normalised", "pass from 192.168.37.29/24\n", "pass inet from 192.168.37.0/24 to any flags S/SA\n"},
		{"range", "pass from 10.0.0.1 - 10.0.0.9\n", "pass inet from 10.0.0.1 - 10.0.0.9 to any flags S/SA\n"},
		{"dynamic", "pass to (em0:network)\n", "pass from any to (em0:network) flags S/SA\n"},
		{"dynamic netmask", "pass inet6 to (em0)/64\n", "pass inet6 from any to (em0)/64 flags S/SA\n"},
		{"interface resolved", "pass inet from em0\n", "pass inet from 192.0.2.10 to any flags S/SA\npass inet from 192.0.2.11 to any flags S/SA\n"},
		{"interface :0", "pass from em0:0\n", "pass inet from 192.0.2.10 to any flags S/SA\npass on em0 inet6 from fe80::1 to any flags S/SA\n"},
		{"interface :broadcast", "pass to em0:broadcast\n", "pass inet from any to 192.0.2.255 flags S/SA\npass inet from any to 192.0.2.255 flags S/SA\n"},
		{"interface :peer", "pass to tun0:peer\n", "pass inet from any to 10.9.0.2 flags S/SA\n"},
		{"group resolved", "pass inet from vether\n", "pass inet from 10.50.0.1 to any flags S/SA\n"},
		{"self", "pass inet to self\n", "pass inet from any to 127.0.0.1 flags S/SA\npass inet from any to 192.0.2.10 flags S/SA\npass inet from any to 192.0.2.11 flags S/SA\npass inet from any to 10.50.0.1 flags S/SA\npass inet from any to 10.9.0.1 flags S/SA\n"},
		{"no-route urpf", "block from no-route to urpf-failed\n", "block drop from no-route to urpf-failed\n"},
		{"scoped address", "pass from fe80::1%em0\n", "pass on em0 inet6 from fe80::1 to any flags S/SA\n"},
		{"scope 0 is none", "match to ::0%0\n", "match inet6 from any to ::\n"},

		// ports
		{"port names", "pass proto tcp to port { ssh www https }\n",
			"pass proto tcp from any to any port = 22 flags S/SA\npass proto tcp from any to any port = 80 flags S/SA\npass proto tcp from any to any port = 443 flags S/SA\n"},
		{"port operators", "pass proto udp to port { != 1, < 2, <= 3, > 4, >= 5, 6 >< 7, 8 <> 9, 10:11 }\n",
			"pass proto udp from any to any port != 1\npass proto udp from any to any port < 2\npass proto udp from any to any port <= 3\npass proto udp from any to any port > 4\npass proto udp from any to any port >= 5\npass proto udp from any to any port 6 >< 7\npass proto udp from any to any port 8 <> 9\npass proto udp from any to any port 10:11\n"},
		{"user group", "pass proto tcp user { 1000, root } group 5\n",
			"pass proto tcp all user = 1000 group = 5 flags S/SA\npass proto tcp all user = 0 group = 5 flags S/SA\n"},

		// filter options
		{"flags", "pass proto tcp flags SA/SAFR\n", "pass proto tcp all flags SA/FSRA\n"},
		{"flags any", "pass proto tcp flags any\n", "pass proto tcp all flags any\n"},
		{"icmp-type code", "pass inet proto icmp icmp-type unreach code needfrag\n", "pass inet proto icmp all icmp-type unreach code needfrag\n"},
		{"icmp6-type", "pass inet6 proto icmp6 icmp6-type { echoreq neighbrsol }\n",
			"pass inet6 proto ipv6-icmp all icmp6-type echoreq\npass inet6 proto ipv6-icmp all icmp6-type neighbrsol\n"},
		{"tos", "pass tos lowdelay\n", "pass all flags S/SA tos 0x10\n"},
		{"allow-opts label tag tagged", "pass allow-opts label \"l\" tag t1 ! tagged t2\n",
			"pass all flags S/SA allow-opts label \"l\" tag t1 ! tagged t2\n"},
		{"label macros", "pass in on em0 proto tcp from 10.0.0.1 port 1 to 10.0.0.2 port 2 label \"$if $proto $srcaddr $srcport $dstaddr $dstport $nr\"\n",
			"pass in on em0 inet proto tcp from 10.0.0.1 port = 1 to 10.0.0.2 port = 2 flags S/SA label \"em0 tcp 10.0.0.1 1 10.0.0.2 2 0\"\n"},
		{"probability", "pass probability 50%\n", "pass all flags S/SA probability 50%\n"},
		{"received-on prio", "pass received-on em0 prio 2\n", "pass all received-on em0 flags S/SA prio 2\n"},
		{"set tos prio", "match set (prio 2, tos 0x08)\n", "match all set (prio 2, tos 0x08)\n"},
		{"no state", "pass no state\n", "pass all no state\n"},
		{"keep state options", "pass keep state (max 100, max-src-states 5, source-track rule, sloppy, pflow, tcp.established 600)\n",
			"pass all flags S/SA keep state (max 100, source-track rule, max-src-states 5, sloppy, pflow, tcp.established 600, adaptive.start 60, adaptive.end 120)\n"},
		{"overload", "pass proto tcp keep state (max-src-conn 5, overload <bad> flush global)\n",
			"pass proto tcp all flags S/SA keep state (source-track rule, max-src-conn 5, overload <bad> flush global)\n"},
		{"floating", "pass keep state (floating)\n", "pass all flags S/SA\n"},
		{"modulate udp becomes keep", "pass proto { tcp udp } modulate state\n", "pass proto tcp all flags S/SA modulate state\npass proto udp all\n"},
		{"synproxy", "pass proto tcp synproxy state\n", "pass proto tcp all flags S/SA synproxy state\n"},
		{"scrub", "match scrub (max-mss 1400, no-df, random-id, min-ttl 5, reassemble tcp)\n",
			"match all scrub (no-df random-id min-ttl 5 reassemble tcp max-mss 1400)\n"},
		{"fragment", "pass fragment\n", "pass all fragment\n"},
		{"tos forms", "pass tos 8\npass tos 0x04\npass tos ef\n", "pass all flags S/SA tos 0x08\npass all flags S/SA tos 0x04\npass all flags S/SA tos 0xb8\n"},
		{"user operators", "pass proto tcp user { != 5, 1000 >< 2000, unknown }\n",
			"pass proto tcp all user != 5 flags S/SA\npass proto tcp all user 1000 >< 2000 flags S/SA\npass proto tcp all user = unknown flags S/SA\n"},
		{"set skip none", "set skip on none\n", "set skip on none\n"},
		{"set syncookies", "set syncookies adaptive (start 25%, end 12%)\n", "set syncookies adaptive\n"},
		{"once max-pkt-rate", "pass max-pkt-rate 10/1 once\n", "pass all flags S/SA max-pkt-rate 10/1 once\n"},

		// translation
		{"nat-to interface", "match out on em0 inet nat-to em0\n",
			"table <__automatic_0> const { 192.0.2.10 192.0.2.11 }\nmatch out on em0 inet all nat-to <__automatic_0> round-robin\n"},
		{"nat-to pool options", "match out inet nat-to 192.0.2.0/28 source-hash sticky-address static-port\n",
			"match out inet all nat-to 192.0.2.0/28 source-hash 0x00000000000000000000000000000000 sticky-address static-port\n"},
		{"nat-to ports", "match out inet nat-to 192.0.2.1 port 1024:2047 random\n", "match out inet all nat-to 192.0.2.1 port 1024:2047 random\n"},
		{"rdr-to star", "pass in proto tcp to port 8000:8010 rdr-to 10.0.0.2 port 9000:*\n",
			"pass in inet proto tcp from any to any port 8000:8010 flags S/SA rdr-to 10.0.0.2 port 9000:9010\n"},
		{"binat-to", "pass on em0 from 10.50.0.2 binat-to 192.0.2.20\n",
			"pass out on em0 inet from 10.50.0.2 to any flags S/SA nat-to 192.0.2.20 static-port\npass in on em0 inet from any to 192.0.2.20 flags S/SA rdr-to 10.50.0.2\n"},
		{"af-to", "pass in inet6 to 64:ff9b::/96 af-to inet from 192.0.2.10\n",
			"pass in inet6 from any to 64:ff9b::/96 flags S/SA af-to inet from 192.0.2.10\n"},
		{"af-to with to", "pass in inet to 192.0.2.99 af-to inet6 from 2001:db8::10 to 2001:db8::99\n",
			"pass in inet from any to 192.0.2.99 flags S/SA af-to inet6 from 2001:db8::10 to 2001:db8::99\n"},
		{"route-to", "pass out on em0 route-to 192.0.2.1@em0\n", "pass out on em0 inet all flags S/SA route-to 192.0.2.1@em0\n"},
		{"reply-to dup-to", "pass in on em0 reply-to 192.0.2.1@em0\npass out dup-to (tap3 10.50.0.9)\n",
			"pass in on em0 inet all flags S/SA reply-to 192.0.2.1@em0\npass out inet all flags S/SA dup-to 10.50.0.9@tap3\n"},

		// anchors
		{"anchor", "anchor \"a\"\n", "anchor \"a\" all\n"},
		{"anchor with rule parameters", "anchor \"a\" in on em0 inet proto tcp\n", "anchor \"a\" in on em0 inet proto tcp all\n"},
		{"inline anchor", "anchor \"a\" {\n pass\n anchor \"b\" {\n  block\n }\n}\npass out\n",
			"anchor \"a\" all {\n  pass all flags S/SA\n  anchor \"b\" all {\n    block drop all\n  }\n}\npass out all flags S/SA\n"},
		{"unnamed inline anchor", "anchor out {\n pass\n}\n", "anchor out all {\n  pass all flags S/SA\n}\n"},
		{"wildcard anchor", "anchor \"vm/*\"\n", "anchor \"vm/*\" all\n"},

		// antispoof
		{"antispoof", "antispoof for em0 inet\n",
			"block drop in on ! em0 inet from 192.0.2.0/24 to any\nblock drop in on ! em0 inet from 192.0.2.0/24 to any\nblock drop in inet from 192.0.2.10 to any\nblock drop in inet from 192.0.2.11 to any\n"},
		{"antispoof dynamic", "antispoof quick for (vether0)\n", "block drop in quick on ! vether0 from (vether0:network) to any\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseTest(t, tc.in)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tc.in, err)
			}
			if got := s.Format(); got != tc.want {
				t.Errorf("Parse(%q) prints\n%s\nwant\n%s", tc.in, got, tc.want)
			}
			// The printed form parses back to itself (pfctl's selfpf).
			s2, err := parseTest(t, s.Format())
			if err != nil {
				t.Fatalf("Parse(Format(%q)) error: %v", tc.in, err)
			}
			if got := s2.Format(); got != s.Format() {
				t.Errorf("Parse(Format(%q)) prints\n%s\nwant\n%s", tc.in, got, s.Format())
			}
		})
	}
}

// TestParseErrors checks that bad input is refused with FILE:LINE and a
// message naming the problem.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"undefined macro", "pass on $nope\n", []string{"pf.conf:1: macro 'nope' not defined"}},
		{"unknown keyword", "\npas in\n", []string{`pf.conf:2: syntax error: unknown keyword "pas"`}},
		{"empty list", "pass from { }\n", []string{"pf.conf:1: empty address list"}},
		{"unknown host", "pass from nohost\n", []string{"pf.conf:1: no IP address found for nohost"}},
		{"numeric scope", "pass from fe80::1%3\n", []string{"pf.conf:1: fe80::1%3: scope 3 is an interface index; write the interface's name"}},
		{"bad scope", "pass from fe80::1%$x\n", []string{"pf.conf:1: no IP address found for fe80::1%$x"}},
		{"unknown port", "pass proto tcp to port nosuch\n", []string{"pf.conf:1: unknown port nosuch"}},
		{"unknown protocol", "pass proto nosuch\n", []string{"pf.conf:1: unknown protocol nosuch"}},
		{"port without tcp or udp", "pass to port 80\n", []string{"pf.conf:1: port only applies to tcp/udp"}},
		{"icmp-type mismatch", "pass inet proto tcp icmp-type echoreq\n", []string{"pf.conf:1: icmp-type mismatch"}},
		{"nat-to inbound", "match in nat-to 10.0.0.1\n", []string{"pf.conf:1: nat-to can only be used outbound"}},
		{"rdr-to outbound", "match out rdr-to 10.0.0.1\n", []string{"pf.conf:1: rdr-to can only be used inbound"}},
		{"family mismatch", "pass inet from 2001:db8::1\n", []string{"pf.conf:1: rule expands to no valid combination"}},
		{"translation family", "match out inet6 nat-to 10.0.0.1\n", []string{"pf.conf:1: no translation address with matching address family found"}},
		{"queue refused", "queue std on em0 bandwidth 10M\n", []string{"pf.conf:1: queue: queueing is not supported"}},
		{"set queue refused", "pass set queue std\n", []string{"pf.conf:1: set queue: queueing is not supported"}},
		{"old nat syntax", "nat on em0 from any to any -> (em0)\n", []string{"pf.conf:1: nat: this syntax was removed"}},
		{"overload needs limit", "pass keep state (overload <t>)\n", []string{"pf.conf:1: 'overload' requires 'max-src-conn' or 'max-src-conn-rate'"}},
		{"reserved anchor name", "anchor \"_x\"\n", []string{"pf.conf:1: anchor names beginning with '_' are reserved"}},
		{"unnamed anchor needs body", "anchor in\n", []string{"pf.conf:1: anchor without a name needs an inline ruleset"}},
		{"unterminated anchor", "anchor \"a\" {\npass\n", []string{"pf.conf:1: unterminated inline anchor"}},
		{"unterminated string", "pass label \"x\n", []string{"pf.conf:1: reached end of file while parsing quoted string"}},
		{"keyword as macro", "pass = \"x\"\n", []string{`pf.conf:1: syntax error: "pass" is a keyword`}},
		{"include without file", "include \"nofile\"\n", []string{`pf.conf:1: include "nofile"`}},
		{"option in anchor", "anchor \"a\" {\nset skip on lo\n}\n", []string{`pf.conf:2: set skip: options are global and cannot be set in anchor "a"`}},
		{"bad tos", "pass tos 0x1ff\n", []string{"pf.conf:1: illegal tos value 0x1ff"}},
		{"bad user", "pass proto tcp user nobody\n", []string{"pf.conf:1: unknown user nobody (use the numeric id)"}},
		{"bad option", "set nosuch 1\n", []string{`pf.conf:1: syntax error: unknown option "nosuch"`}},
		{"bad block-policy", "set block-policy maybe\n", []string{`pf.conf:1: set block-policy "maybe": want drop or return`}},
		{"zero limit", "set limit states 0\n", []string{"pf.conf: set limit states 0: a limit must be at least 1"}},
		{"bad dynamic", "pass to (em0:foo)\n", []string{"pf.conf:1: interface em0:foo has bad modifier"}},
		{"bad interface modifiers", "pass to em0:network:broadcast\n", []string{"pf.conf:1: illegal combination of interface modifiers"}},
		{"netmask with network", "pass to em0:network/8\n", []string{"pf.conf:1: network or broadcast lookup, but extra netmask given"}},
		{"duplicate table", "table <t> { 10.0.0.1 }\ntable <t> { 10.0.0.2 }\n", []string{"pf.conf:2: table <t> already defined"}},
		{"bad hash key", "match out nat-to 10.0.0.0/24 source-hash 0x12\n", []string{"pf.conf:1: hex key must be 128 bits"}},
		{"binat any", "match on em0 binat-to 10.0.0.1\n", []string{"pf.conf:1: binat-to needs a source address"}},
		{"af-to needs in", "pass out inet af-to inet6 from 2001:db8::1\n", []string{"pf.conf:1: af-to can only be used with direction in"}},
		{"route-to needs direction", "pass route-to 10.0.0.1\n", []string{"pf.conf:1: direction must be explicit"}},
		{"one error per statement", "pass tos { 8 }\npass\n", []string{`pf.conf:1: syntax error: unexpected "{"; want a tos value`}},
		{"icmp-type without af", "pass proto icmp icmp-type echoreq\n", []string{"pf.conf:1: must indicate address family"}},
		{"pool table undefined", "match out nat-to <pool>\n", []string{"pf.conf:1: table <pool> does not exist"}},
		{"every error reported", "pass on $a\nblock on $b\npass proto nosuch\n",
			[]string{"pf.conf:1: macro 'a' not defined", "pf.conf:2: macro 'b' not defined", "pf.conf:3: unknown protocol nosuch"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseTest(t, tc.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error", tc.in, s.Format())
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Errorf("Parse(%q) error %T is not a *pfconf.Error", tc.in, err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("Parse(%q) = %d errors %q, want %d", tc.in, len(lines), lines, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("Parse(%q) error %d = %q, want prefix %q", tc.in, i, lines[i], w)
				}
			}
		})
	}
}

// TestErrorLimit checks that ten errors are listed and the rest counted.
func TestErrorLimit(t *testing.T) {
	src := strings.Repeat("pass on $x\n", 13)
	_, err := parseTest(t, src)
	if err == nil {
		t.Fatal("Parse: no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 11 || lines[10] != "pf.conf: 3 more errors not shown" {
		t.Errorf("Parse(13 bad lines) = %q, want 10 errors and \"pf.conf: 3 more errors not shown\"", lines)
	}
}

// TestSpecFields checks that the plain data carries what the filter
// compiles: the values behind the printed text.
func TestSpecFields(t *testing.T) {
	s, err := parseTest(t, "set skip on lo\nblock return in quick on em0 inet proto tcp from ! 10.0.0.0/8 port 1024:2048 to (em0) port www label \"x\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if tb := s.Main.Table("t"); tb != nil {
		t.Errorf("Table(t) = %+v, want nil", tb)
	}
	if len(s.Options.Skip) != 1 || s.Options.Skip[0] != "lo" {
		t.Errorf("Skip = %q, want [lo]", s.Options.Skip)
	}
	r := s.Main.Rules[0]
	want := Rule{
		File: "pf.conf", Line: 2, Action: Block, Return: ReturnBoth,
		ReturnICMP4: 3<<8 | 3, ReturnICMP6: 1<<8 | 4, Dir: In, Quick: true,
		Interface: "em0", AF: Inet, Proto: 6,
		Src:   Endpoint{Addr: Addr{Type: AddrMask, Prefix: netip.MustParsePrefix("10.0.0.0/8")}, Not: true, Port: Port{Op: PortRange, A: 1024, B: 2048}},
		Dst:   Endpoint{Addr: Addr{Type: AddrDynamic, Name: "em0", Bits: 128}, Port: Port{Op: PortEq, A: 80, B: 80}},
		Label: "x",
	}
	if !rulesEqual(&r, &want) {
		t.Errorf("rule = %+v, want %+v", r, want)
	}
}

func TestEnumStrings(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"action", Match.String(), "match"},
		{"dir", Out.String(), "out"},
		{"return", ReturnRST.String(), "return-rst"},
		{"addr", AddrTable.String(), "table"},
		{"port op", PortOutside.String(), "<>"},
		{"pool", PoolSourceHash.String(), "source-hash"},
		{"state", SynproxyState.String(), "synproxy state"},
		{"route", DupTo.String(), "dup-to"},
		{"policy", PolicyReturn.String(), "return"},
		{"state policy", StateIfBound.String(), "if-bound"},
		{"af", Inet6.String(), "inet6"},
		{"out of range", Action(9).String(), "Action(9)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("String() = %q, want %q", tc.got, tc.want)
			}
		})
	}
}

// TestValidate checks Specs built in code.
func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		spec *Spec
		want string // "" for valid
	}{
		{"empty", &Spec{File: "x"}, ""},
		{"nil", nil, "pfconf: nil Spec"},
		{"prio", &Spec{File: "x", Main: Ruleset{Rules: []Rule{{Line: 3, PrioSet: true, Prio: 9}}}}, "x:3: prio 9 out of range (0-7)"},
		{"missing anchor", &Spec{File: "x", Main: Ruleset{Rules: []Rule{{Line: 1, Action: Anchor, AnchorCall: "a", AnchorPath: "a"}}}}, `x:1: anchor "a" does not exist`},
		{"wildcard anchor", &Spec{File: "x", Main: Ruleset{Rules: []Rule{{Line: 1, Action: Anchor, AnchorCall: "vm/*", AnchorPath: "vm/*"}}}}, ""},
		{"ports without proto", &Spec{File: "x", Main: Ruleset{Rules: []Rule{{Line: 2, Dst: Endpoint{Port: Port{Op: PortEq, A: 80}}}}}}, "x:2: port only applies to tcp/udp"},
		{"limit", &Spec{File: "x", Options: Options{Limits: map[string]uint32{"states": 0}}}, "x: set limit states 0: a limit must be at least 1"},
		{"path mismatch", &Spec{File: "x", Anchors: map[string]*Ruleset{"a": {Path: "b"}}}, `x: anchor "a": ruleset path mismatch`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("Validate() = %q, want %q", got, tc.want)
			}
		})
	}
}
