package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

func TestParseHostnameIf(t *testing.T) {
	m1 := MAC{0xfe, 0xe1, 0xba, 0xd0, 0, 1}
	m2 := MAC{0, 0x1b, 0x21, 0xaa, 0xbb, 0xcc}
	tests := []struct {
		name   string
		ifname string
		in     string
		want   func(*Interface) // edits the defaults of the kind
	}{
		{"empty", "em0", "", func(*Interface) {}},
		{"comments and blanks", "em0", "# a comment\n\n   # indented\n", func(*Interface) {}},
		{"up", "em0", "up\n", func(i *Interface) { i.Up = true }},
		{"up then down", "em0", "up\ndown\n", func(i *Interface) {}},
		{"seed vether0", "vether0", "inet 10.50.0.1 255.255.255.0\nup\n", func(i *Interface) {
			i.Up = true
			i.Inet = []InetAddr{{Prefix: pfx("10.50.0.1/24"), Broadcast: addr("10.50.0.255")}}
		}},
		{"cidr and up on one line", "vether0", "inet 10.0.0.1/24 up # routed\n", func(i *Interface) {
			i.Up = true
			i.Inet = []InetAddr{{Prefix: pfx("10.0.0.1/24"), Broadcast: addr("10.0.0.255")}}
		}},
		{"hex mask", "em0", "inet 192.168.7.3 0xfffffe00\n", func(i *Interface) {
			i.Inet = []InetAddr{{Prefix: pfx("192.168.7.3/23"), Broadcast: addr("192.168.7.255")}}
		}},
		{"netmask keyword", "em0", "inet 10.1.2.3 netmask 255.255.0.0\n", func(i *Interface) {
			i.Inet = []InetAddr{{Prefix: pfx("10.1.2.3/16"), Broadcast: addr("10.1.255.255")}}
		}},
		{"classful A", "em0", "inet 10.1.2.3\n", func(i *Interface) {
			i.Inet = []InetAddr{{Prefix: pfx("10.1.2.3/8"), Broadcast: addr("10.255.255.255")}}
		}},
		{"classful B", "em0", "inet 172.16.5.4\n", func(i *Interface) {
			i.Inet = []InetAddr{{Prefix: pfx("172.16.5.4/16"), Broadcast: addr("172.16.255.255")}}
		}},
		{"classful C", "em0", "inet 192.0.2.9\n", func(i *Interface) {
			i.Inet = []InetAddr{{Prefix: pfx("192.0.2.9/24"), Broadcast: addr("192.0.2.255")}}
		}},
		{"positional broadcast", "em0", "inet 10.0.0.1 255.255.255.0 10.0.0.127\n", func(i *Interface) {
			i.Inet = []InetAddr{{Prefix: pfx("10.0.0.1/24"), Broadcast: addr("10.0.0.127")}}
		}},
		{"netstart NONE broadcast", "em0", "inet 10.0.0.1 255.255.255.0 NONE\n", func(i *Interface) {
			i.Inet = []InetAddr{{Prefix: pfx("10.0.0.1/24"), Broadcast: addr("10.0.0.255")}}
		}},
		{"broadcast keyword after cidr", "em0", "inet 10.0.0.1/24 broadcast 10.0.0.200\n", func(i *Interface) {
			i.Inet = []InetAddr{{Prefix: pfx("10.0.0.1/24"), Broadcast: addr("10.0.0.200")}}
		}},
		{"slash 31 has no broadcast", "em0", "inet 10.0.0.0/31\n", func(i *Interface) {
			i.Inet = []InetAddr{{Prefix: pfx("10.0.0.0/31")}}
		}},
		{"inet replaces the first address", "em0", "inet 10.0.0.1/24\ninet 10.0.0.2/24\n", func(i *Interface) {
			i.Inet = []InetAddr{{Prefix: pfx("10.0.0.2/24"), Broadcast: addr("10.0.0.255")}}
		}},
		{"inet alias adds", "em0", "inet 10.0.0.1/24\ninet alias 10.0.1.1/24\ninet 10.0.0.3/24\n", func(i *Interface) {
			i.Inet = []InetAddr{
				{Prefix: pfx("10.0.0.3/24"), Broadcast: addr("10.0.0.255")},
				{Prefix: pfx("10.0.1.1/24"), Broadcast: addr("10.0.1.255"), Alias: true},
			}
		}},
		{"dest", "em0", "inet 10.0.0.1 255.255.255.255\ndest 10.0.0.2\n", func(i *Interface) {
			i.Inet = []InetAddr{{Prefix: pfx("10.0.0.1/32"), Dest: addr("10.0.0.2")}}
		}},
		{"inet6 prefixlen", "em0", "inet6 2001:db8::1 48\n", func(i *Interface) {
			i.Inet6 = []Inet6Addr{{Prefix: pfx("2001:db8::1/48")}}
		}},
		{"inet6 slash and alias", "em0", "inet6 2001:db8::1/64\ninet6 alias 2001:db8:1::1 prefixlen 56\n", func(i *Interface) {
			i.Inet6 = []Inet6Addr{{Prefix: pfx("2001:db8::1/64")}, {Prefix: pfx("2001:db8:1::1/56"), Alias: true}}
		}},
		{"inet6 default 64", "em0", "inet6 fd00::1 up\n", func(i *Interface) {
			i.Up = true
			i.Inet6 = []Inet6Addr{{Prefix: pfx("fd00::1/64")}}
		}},
		{"lladdr mtu description", "em0", "lladdr fe:e1:ba:d0:0:1 mtu 9000\ndescription \"uplink to the core\"\n", func(i *Interface) {
			i.LLAddr, i.MTU, i.Description = &m1, 9000, "uplink to the core"
		}},
		{"description single quotes", "em0", "descr 'a \"b\" c'\n", func(i *Interface) { i.Description = `a "b" c` }},
		{"lladdr random", "tap2", "lladdr random\n", func(i *Interface) { i.LLAddrRandom = true }},
		{"group and link", "em0", "group uplink link0 link2 -link0\n", func(i *Interface) {
			i.Groups = []string{"uplink"}
			i.Link = [3]bool{false, false, true}
		}},
		{"seed vlan10", "vlan10", "vlandev em1\nvlan 10\nup\n", func(i *Interface) {
			i.Parent, i.VNetID, i.Up = "em1", 10, true
		}},
		{"vlan parent vnetid prio", "vlan20", "parent em1 vnetid 20 txprio 5 rxprio packet\n", func(i *Interface) {
			i.Parent, i.VNetID, i.TxPrio, i.RxPrio = "em1", 20, 5, PrioPacket
		}},
		{"vlan unset", "vlan20", "parent em1 vnetid 20\n-parent\n-vnetid\nrxprio 3\nrxprio outer\n", func(i *Interface) {}},
		{"svlan", "svlan100", "parent em0 vnetid 100 up\n", func(i *Interface) {
			i.Parent, i.VNetID, i.Up = "em0", 100, true
		}},
		{"seed bridge0", "bridge0", "add em1\nup\n", func(i *Interface) {
			i.Up = true
			i.Members = []BridgeMember{{Name: "em1", Learn: true, Discover: true, Line: 1}}
		}},
		{"bridge options", "bridge0", `add em1 add tap3 add vether0
timeout 0 maxaddr 2
-learn tap3 -discover tap3 blocknonip em1
protected tap3 3,1,3
static tap3 00:1b:21:aa:bb:cc
addspan em9
link1
up
`, func(i *Interface) {
			i.Up = true
			i.Timeout, i.MaxAddr = 0, 2
			i.Members = []BridgeMember{
				{Name: "em1", Learn: true, Discover: true, BlockNonIP: true, Line: 1},
				{Name: "tap3", Protected: []int{1, 3}, Line: 1},
				{Name: "vether0", Learn: true, Discover: true, Line: 1},
			}
			i.Static = []StaticEntry{{If: "tap3", MAC: m2}}
			i.Spans = []string{"em9"}
			i.Link[1] = true
		}},
		{"del forgets static and rules", "bridge0", "add em1 add tap3\nstatic tap3 00:1b:21:aa:bb:cc\nrule block in on tap3\nrule pass on em1\ndel tap3\n", func(i *Interface) {
			i.Members = []BridgeMember{{Name: "em1", Learn: true, Discover: true, Line: 1}}
			i.Rules = []BridgeRule{{Action: Pass, Dir: DirBoth, If: "em1", File: "hostname.bridge0", Line: 4}}
		}},
		{"add then del", "bridge0", "add em1\ndel em1\n", func(i *Interface) {}},
		{"flushall deladdr flushrule delspan", "bridge0", `add em1
static em1 00:1b:21:aa:bb:cc
static em1 fe:e1:ba:d0:0:1
deladdr 00:1b:21:aa:bb:cc
rule block on em1
flushrule em1
rule pass out on em1 tag x
addspan em2 delspan em2
flush
`, func(i *Interface) {
			i.Members = []BridgeMember{{Name: "em1", Learn: true, Discover: true, Line: 1}}
			i.Static = []StaticEntry{{If: "em1", MAC: m1}}
			i.Rules = []BridgeRule{{Action: Pass, Dir: DirOut, If: "em1", Tag: "x", File: "hostname.bridge0", Line: 7}}
		}},
		{"flushall", "bridge0", "add em1\nstatic em1 00:1b:21:aa:bb:cc\nflushall\n", func(i *Interface) {
			i.Members = []BridgeMember{{Name: "em1", Learn: true, Discover: true, Line: 1}}
		}},
		{"rules", "bridge0", `add em1
rule block in on em1 src 00:1b:21:aa:bb:cc dst fe:e1:ba:d0:0:1 tag blocked # not a comment? it is
rule pass in/out on em1 arp request sha 00:1b:21:aa:bb:cc spa 10.0.0.1 tha fe:e1:ba:d0:0:1 tpa 10.0.0.2
rule block out on em1 rarp reply tag r
`, func(i *Interface) {
			i.Members = []BridgeMember{{Name: "em1", Learn: true, Discover: true, Line: 1}}
			i.Rules = []BridgeRule{
				{Action: Block, Dir: DirIn, If: "em1", Src: &m2, Dst: &m1, Tag: "blocked", File: "hostname.bridge0", Line: 2},
				{Action: Pass, Dir: DirBoth, If: "em1", ARP: &ARPMatch{Op: ARPRequest, SHA: &m2, SPA: addr("10.0.0.1"), THA: &m1, TPA: addr("10.0.0.2")}, File: "hostname.bridge0", Line: 3},
				{Action: Block, Dir: DirOut, If: "em1", Tag: "r", ARP: &ARPMatch{RARP: true, Op: ARPReply}, File: "hostname.bridge0", Line: 4},
			}
		}},
		{"rulefile", "bridge0", "add em1\nrulefile /etc/bridge0.rules\n", func(i *Interface) {
			i.Members = []BridgeMember{{Name: "em1", Learn: true, Discover: true, Line: 1}}
			i.Rules = []BridgeRule{
				{Action: Block, Dir: DirIn, If: "em1", Src: &m2, File: "bridge0.rules", Line: 2},
				{Action: Pass, Dir: DirBoth, If: "em1", File: "bridge0.rules", Line: 3},
			}
		}},
	}
	fsys := fstest.MapFS{"bridge0.rules": {Data: []byte("# rules for bridge0\nblock in on em1 src 00:1b:21:aa:bb:cc\nrule pass on em1\n")}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := "hostname." + tc.ifname
			got, err := ParseHostnameIf(file, tc.ifname, strings.NewReader(tc.in), Options{FS: fsys})
			if err != nil {
				t.Fatalf("ParseHostnameIf(%q) error: %v", tc.in, err)
			}
			k, _ := KindOf(tc.ifname)
			want := newInterface(tc.ifname, k)
			want.File, want.Line = file, 1
			tc.want(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ParseHostnameIf(%q) =\n%+v\nwant\n%+v", tc.in, *got, *want)
			}
		})
	}
}

func TestParseHostnameIfErrors(t *testing.T) {
	tests := []struct {
		name   string
		ifname string
		in     string
		want   []string // each error, in order
	}{
		{"unknown keyword", "em0", "up\npas\n", []string{`hostname.em0:2:1: unknown keyword "pas" for em0 (ether); want inet,`}},
		{"shell command", "em0", "  !/sbin/route add default 10.0.0.1\n", []string{`hostname.em0:1:3: shell commands (!cmd) are not supported`}},
		{"dhcp", "em0", "dhcp\n", []string{`hostname.em0:1:1: "dhcp" is not supported yet`}},
		{"autoconf", "em0", "autoconf\n", []string{`hostname.em0:1:1: "autoconf" is not supported yet`}},
		{"inet6 autoconf", "em0", "inet6 autoconf\n", []string{`hostname.em0:1:7: inet6 autoconf is not supported yet`}},
		{"inet autoconf", "em0", "inet autoconf\n", []string{`hostname.em0:1:6: inet autoconf is not supported yet`}},
		{"all errors reported", "em0", "mtu 10\nup\nlladdr 01:00:5e:00:00:01\ninet 10.0.0.1 255.0.255.0\n", []string{
			`hostname.em0:1:5: mtu "10": want MTU 68-65535`,
			`hostname.em0:3:8: lladdr 01:00:5e:00:00:01: want a unicast address`,
			`hostname.em0:4:15: invalid netmask "255.0.255.0"`,
		}},
		{"kind mismatch add", "vether0", "add em1\n", []string{`hostname.vether0:1:1: "add" applies to bridge interfaces, not to vether0 (vether)`}},
		{"kind mismatch inet on bridge", "bridge0", "inet 10.0.0.1/24\n", []string{`"inet" applies to ether, tap, vether, vlan, svlan interfaces, not to bridge0 (bridge)`}},
		{"kind mismatch vnetid", "em0", "vnetid 5\n", []string{`"vnetid" applies to vlan, svlan interfaces, not to em0 (ether)`}},
		{"stp refused", "bridge0", "add em1\nstp em1\n", []string{`hostname.bridge0:2:1: "stp" is not supported (hostnet runs no spanning tree)`}},
		{"stp params refused", "bridge0", "maxage 20\nifcost em1 5\n", []string{`"maxage" is not supported (hostnet runs no spanning tree)`, `"ifcost" is not supported`}},
		{"vnetid range", "vlan5", "vnetid 0\nvnetid 4095\n", []string{`vnetid "0": want VLAN id 1-4094`, `vnetid "4095": want VLAN id 1-4094`}},
		{"txprio outer", "vlan5", "txprio outer\n", []string{`txprio "outer": want 0-7 or packet`}},
		{"rxprio 8", "vlan5", "rxprio 8\n", []string{`rxprio "8": want 0-7, packet or outer`}},
		{"member twice", "bridge0", "add em1\nadd em1\n", []string{`hostname.bridge0:2:5: add: em1 is already a member of bridge0`}},
		{"bridge in bridge", "bridge0", "add bridge1\n", []string{`a bridge cannot be a member of a bridge`}},
		{"veb", "bridge0", "add veb0\n", []string{`veb(4) interfaces are not supported`}},
		{"not a member", "bridge0", "-learn em1\nstatic em1 00:1b:21:aa:bb:cc\nrule block on em1\nflushrule em2\n", []string{
			`-learn em1: em1 is not a member of bridge0`,
			`static em1: em1 is not a member of bridge0`,
			`rule on em1: em1 is not a member of bridge0`,
			`flushrule em2: em2 is not a member of bridge0`,
		}},
		{"span is not a member", "bridge0", "add em1\naddspan em1\n", []string{`addspan: em1 is a member of bridge0; a span port cannot be a member`}},
		{"member is not a span", "bridge0", "addspan em1\nadd em1\n", []string{`add: em1 is a span port of bridge0; a span port cannot be a member`}},
		{"protected range", "bridge0", "add em1\nprotected em1 1,32\n", []string{`protected: invalid domain id "32"; want a comma list of ids 1-31`}},
		{"bad rule", "bridge0", "add em1\nrule allow on em1\nrule block sideways on em1\nrule block in em1\nrule block in on em1 src 1:2:3\nrule block in on em1 foo\n", []string{
			`rule: unknown action "allow"; want pass or block`,
			`rule: unknown direction "sideways"; want in, out, in/out or on`,
			`rule: unexpected "em1"; want on IF`,
			`src: invalid MAC address "1:2:3"`,
			`rule: unknown keyword "foo"; want src, dst, tag, arp or rarp`,
		}},
		{"rule missing interface", "bridge0", "rule block in on\n", []string{`hostname.bridge0:1:15: on: missing interface`}},
		{"deladdr missing", "bridge0", "deladdr 00:1b:21:aa:bb:cc\n", []string{`no static entry for 00:1b:21:aa:bb:cc in bridge0`}},
		{"unterminated quote", "em0", "description \"abc\n", []string{`hostname.em0:1:13: unterminated quoted string`}},
		{"missing argument", "em0", "mtu\n", []string{`hostname.em0:1:1: mtu: missing MTU`}},
		{"dest first", "em0", "dest 10.0.0.2\n", []string{`dest 10.0.0.2: no inet address before it`}},
		{"multicast inet", "em0", "inet 224.0.0.1\n", []string{`224.0.0.1 is a multicast or reserved address`}},
		{"group digit", "em0", "group lan1\n", []string{`group name "lan1" ends in a digit`}},
		{"rulefile missing", "bridge0", "rulefile /etc/nope\n", []string{`rulefile: cannot read "/etc/nope"`}},
		{"rulefile outside", "bridge0", "rulefile /var/rules\n", []string{`"/var/rules" is outside the configuration directory`}},
		{"rulefile errors at its lines", "bridge0", "add em1\nrulefile r\n", []string{`r:2:1: rule: unknown action "allow"`}},
		{"dest v6 first", "em0", "dest fe80::2\n", []string{`dest fe80::2: no inet6 address before it`}},
		{"dest bad", "em0", "dest x\n", []string{`dest: invalid address "x"`}},
		{"inet6 bad", "em0", "inet6 10.0.0.1\ninet6 ff02::1\ninet6 2001:db8::1 129\ninet6 fe80::1%em0\n", []string{
			`inet6: invalid address "10.0.0.1"`, `inet6: ff02::1 cannot be an interface address`, `inet6: prefix length 129; want 0-128`, `inet6: invalid address "fe80::1%em0"`}},
		{"inet bad", "em0", "inet 2001:db8::1\ninet 10.0.0.1/33\ninet 0.0.0.0/8\ninet 10.0.0.1/0\ninet 10.0.0.1/24 broadcast x\n", []string{
			`inet: invalid address "2001:db8::1"`, `inet: invalid address "10.0.0.1/33"`, `inet: 0.0.0.0 cannot be an interface address`, `inet: prefix length 0; want 1-32`, `broadcast: invalid address "x"`}},
		{"hex mask bad", "em0", "inet 10.0.0.1 0xff00ff00\ninet 10.0.0.1 0x\n", []string{`invalid netmask "0xff00ff00"`, `invalid netmask "0x"`}},
		{"description too long", "em0", "description " + strings.Repeat("x", 64) + "\n", []string{`description longer than 63 characters`}},
		{"unknown on bridge", "bridge0", "inet6 fe80::1\nbogus\n", []string{`"inet6" applies to`, `unknown keyword "bogus" for bridge0 (bridge); want add, del, up`}},
		{"unknown on vlan", "vlan1", "add em1\nbogus\n", []string{`"add" applies to bridge`, `unknown keyword "bogus" for vlan1 (vlan); want parent, vnetid`}},
		{"stp on nic", "em0", "stp em0\n", []string{`unknown keyword "stp" for em0 (ether)`}},
		{"parent bad", "vlan1", "parent vlan1\nparent veb0\n", []string{`parent: vlan1 cannot be its own parent`, `parent: veb0: veb(4)`}},
		{"rule arp twice", "bridge0", "add em1\nrule pass on em1 arp rarp\nrule pass on em1 arp request reply\nrule pass on em1 arp sha 0:1:2:3:4:5 sha 0:1:2:3:4:5\nrule pass on em1 arp spa x\nrule pass on em1 arp tpa 10.0.0.1 tpa 10.0.0.1\n", []string{
			`rule: arp or rarp given twice`, `rule: request or reply given twice`, `rule: sha given twice`, `rule: spa "x": want an IPv4 address`, `rule: tpa given twice`}},
		{"rule repeats", "bridge0", "add em1\nrule pass on em1 src 0:1:2:3:4:5 src 0:1:2:3:4:5\nrule pass on em1 dst 0:1:2:3:4:5 dst 0:1:2:3:4:5\nrule pass on em1 tag a tag b\nrule pass on em1 tag \"a b\"\n", []string{
			`rule: src given twice`, `rule: dst given twice`, `rule: tag given twice`, `rule: invalid tag "a b"`}},
		{"static multicast", "bridge0", "add em1\nstatic em1 ff:ff:ff:ff:ff:ff\n", []string{`static ff:ff:ff:ff:ff:ff: want a unicast address`}},
		{"span errors", "bridge0", "addspan bridge0\naddspan em2 addspan em2\ndelspan em3\n", []string{`addspan: bridge0 is a bridge`, `addspan: em2 is already a span port of bridge0`, `delspan: em3 is not a span port of bridge0`}},
		{"add self", "bridge0", "add bridge0\n", []string{`add: bridge0 cannot be a member of itself`}},
		{"too many errors", "em0", strings.Repeat("bogus\n", 12), []string{
			"hostname.em0:1:1:", "hostname.em0:2:1:", "hostname.em0:3:1:", "hostname.em0:4:1:", "hostname.em0:5:1:",
			"hostname.em0:6:1:", "hostname.em0:7:1:", "hostname.em0:8:1:", "hostname.em0:9:1:", "hostname.em0:10:1:",
			"hostname.em0: 2 more errors not shown",
		}},
	}
	fsys := fstest.MapFS{"r": {Data: []byte("pass on em1\nallow on em1\n")}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseHostnameIf("hostname."+tc.ifname, tc.ifname, strings.NewReader(tc.in), Options{FS: fsys})
			checkErrors(t, "ParseHostnameIf", tc.in, err, tc.want)
		})
	}
}

// checkErrors checks that err joins exactly len(want) errors, the i-th
// containing want[i].
func checkErrors(t *testing.T, fn, in string, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s(%q) = nil error, want %q", fn, in, want)
	}
	var got []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		got = j.Unwrap()
	} else {
		got = []error{err}
	}
	if len(got) != len(want) {
		t.Fatalf("%s(%q) = %d errors:\n%v\nwant %d: %q", fn, in, len(got), err, len(want), want)
	}
	for i, e := range got {
		var ce *Error
		if !errors.As(e, &ce) {
			t.Errorf("%s(%q) error %d = %T, want *Error", fn, in, i, e)
		}
		if !strings.Contains(e.Error(), want[i]) {
			t.Errorf("%s(%q) error %d = %q, want it to contain %q", fn, in, i, e, want[i])
		}
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		name    string
		ifname  string
		want    Kind
		wantErr string
	}{
		{"host nic", "em1", Ether, ""},
		{"linux nic", "enp0s31f6", Ether, ""},
		{"linux nic with dash", "br-lan", Ether, ""},
		{"tap", "tap3", Tap, ""},
		{"vether", "vether0", Vether, ""},
		{"vlan", "vlan10", VLAN, ""},
		{"svlan", "svlan20", SVLAN, ""},
		{"bridge", "bridge0", Bridge, ""},
		{"tapir is a nic", "tapir0", Ether, ""},
		{"veb refused", "veb0", 0, "veb(4) interfaces are not supported"},
		{"no unit", "bridge", 0, "has no unit number"},
		{"leading zero", "tap01", 0, "leading zero"},
		{"too long", "averyveryverylongname0", 0, "longer than 15"},
		{"slash", "em/0", 0, "invalid interface name"},
		{"empty", "", 0, "empty interface name"},
		{"digit first", "0em", 0, "starts with a letter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := KindOf(tc.ifname)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("KindOf(%q) = %v, %v, want error %q", tc.ifname, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("KindOf(%q) = %v, %v, want %v", tc.ifname, got, err, tc.want)
			}
		})
	}
}

func TestParseMAC(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // "" for an error
	}{
		{"full", "fe:e1:ba:d0:00:01", "fe:e1:ba:d0:00:01"},
		{"short groups", "0:1b:21:a:b:c", "00:1b:21:0a:0b:0c"},
		{"upper case", "FE:E1:BA:D0:00:01", "fe:e1:ba:d0:00:01"},
		{"five groups", "fe:e1:ba:d0:00", ""},
		{"long group", "fe:e1:ba:d0:000:01", ""},
		{"not hex", "fe:e1:ba:d0:00:0g", ""},
		{"dashes", "fe-e1-ba-d0-00-01", ""},
		{"empty group", "fe::ba:d0:00:01", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMAC(tc.in)
			if tc.want == "" {
				if err == nil {
					t.Errorf("ParseMAC(%q) = %v, want an error", tc.in, m)
				}
				return
			}
			if err != nil || m.String() != tc.want {
				t.Errorf("ParseMAC(%q) = %v, %v, want %v", tc.in, m, err, tc.want)
			}
		})
	}
}
