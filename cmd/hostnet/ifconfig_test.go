package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/dataplane/header"
)

func TestFormatIfconfig(t *testing.T) {
	tests := []struct {
		name    string
		in      ifInfo
		verbose bool
		want    string
	}{
		{
			name: "host NIC with an address",
			in: ifInfo{Name: "em0", Index: 1, Flags: 0x8943, FlagNames: flagNames(0x8943, ifFlagNames), MTU: 1500,
				LLAddr: "52:54:00:12:34:56", Groups: []string{"egress"}, Media: "Ethernet autoselect", Status: "active",
				Inet:  []ifInet{{Addr: "192.168.1.10", PrefixLen: 24, Netmask: "0xffffff00", Broadcast: "192.168.1.255"}},
				Inet6: []ifInet6{{Addr: "2001:db8::1", PrefixLen: 64}}},
			want: "em0: flags=8943<UP,BROADCAST,RUNNING,PROMISC,SIMPLEX,MULTICAST> mtu 1500\n" +
				"\tlladdr 52:54:00:12:34:56\n" +
				"\tindex 1 priority 0 llprio 3\n" +
				"\tgroups: egress\n" +
				"\tmedia: Ethernet autoselect\n" +
				"\tstatus: active\n" +
				"\tinet 192.168.1.10 netmask 0xffffff00 broadcast 192.168.1.255\n" +
				"\tinet6 2001:db8::1 prefixlen 64\n",
		},
		{
			name: "vlan",
			in: ifInfo{Name: "vlan10", Index: 4, Flags: 0x8843, FlagNames: flagNames(0x8843, ifFlagNames), MTU: 1500,
				LLAddr: "52:54:00:12:34:56", Description: "guests", Groups: []string{"vlan"},
				Encap: &ifEncap{VNetID: 10, Parent: "em1", TxPrio: "packet", RxPrio: "outer"}, Media: "Ethernet autoselect", Status: "active"},
			want: "vlan10: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n" +
				"\tlladdr 52:54:00:12:34:56\n" +
				"\tdescription: guests\n" +
				"\tindex 4 priority 0 llprio 3\n" +
				"\tgroups: vlan\n" +
				"\tencap: vnetid 10 parent em1 txprio packet rxprio outer\n" +
				"\tmedia: Ethernet autoselect\n" +
				"\tstatus: active\n",
		},
		{
			name: "bridge, verbose",
			in: ifInfo{Name: "bridge0", Index: 2, Flags: 0x41, FlagNames: flagNames(0x41, ifFlagNames), Groups: []string{"bridge"},
				Bridge: &ifBridge{MaxAddr: 100, Timeout: 240, Learned: 2, Members: []ifMember{
					{Name: "em1", Flags: 3, FlagNames: []string{"LEARNING", "DISCOVER"}, Port: 3},
					{Name: "tap0", Flags: 7, FlagNames: []string{"LEARNING", "DISCOVER", "BLOCKNONIP"}, Port: 5, Protected: []int{1, 2}},
					{Name: "em2", Flags: 0x100, FlagNames: []string{"SPAN"}, Port: 4},
				}, Addrs: []ifBridgeAddr{
					{MAC: "02:00:00:00:00:0b", Iface: "tap0", Age: 1, FlagNames: []string{}, Seconds: 12},
					{MAC: "02:00:00:00:00:0c", Iface: "em1", Flags: 1, FlagNames: []string{"STATIC"}, Moves: 2},
				}}},
			verbose: true,
			want: "bridge0: flags=41<UP,RUNNING>\n" +
				"\tindex 2 llprio 3\n" +
				"\tgroups: bridge\n" +
				"\tem1 flags=3<LEARNING,DISCOVER>\n" +
				"\t\tport 3 ifpriority 0 ifcost 0\n" +
				"\ttap0 flags=7<LEARNING,DISCOVER,BLOCKNONIP>\n" +
				"\t\tport 5 ifpriority 0 ifcost 0 protected 1,2\n" +
				"\tem2 flags=100<SPAN>\n" +
				"\tAddresses (max cache: 100, timeout: 240):\n" +
				"\t\t02:00:00:00:00:0b tap0 1 flags=0<> age 12s\n" +
				"\t\t02:00:00:00:00:0c em1 0 flags=1<STATIC> age 0s moves 2\n" +
				"\tcounters: in 0 packets 0 bytes, out 0 packets 0 bytes, dropped 0\n" +
				"\tbridge: 2 addresses, 2 learned, 0 moves, 0 not learned (table full)\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			formatIfconfig(&b, tc.in, tc.verbose)
			if got := b.String(); got != tc.want {
				t.Errorf("formatIfconfig =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestIfInfoOf(t *testing.T) {
	g := genFromFiles(t, map[string]string{
		"hostname.vether0": "inet 10.50.0.1 255.255.255.0\nup\n",
		"hostname.vether1": "inet 10.60.0.1/24\nup\n",
		"hostname.bridge0": "add em1\nadd vether1\nmaxaddr 50\ntimeout 30\nup\n",
		"hostname.vlan10":  "parent em1 vnetid 10\nup\n",
		"hostname.em1":     "up\n",
		"hostname.em2":     "\n",
		"hostname.em3":     "inet 192.168.1.10/24\nup\n",
		"mygate":           "192.168.1.1\n",
	})
	now := uint32(1000)
	br := g.dp.Bridge("bridge0")
	mac := header.MAC{2, 0, 0, 0, 0, 0x0b}
	br.Table().Learn(mac, br.MemberIndex("em1"), now-7)
	infos := map[string]ifInfo{}
	for _, ifc := range g.dp.Interfaces() {
		infos[ifc.Name] = ifInfoOf(g, ifc, portState{}, now)
	}
	tests := []struct {
		name  string
		flags uint32
	}{
		{"vether0", 0x8843}, // up, not in a bridge, no port needed
		{"vether1", 0x8943}, // a bridge member is promiscuous
		{"bridge0", 0x41},
		{"em1", 0x8903},    // no port: not running
		{"em2", 0x8802},    // down
		{"vlan10", 0x8803}, // its parent has no port
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := infos[tc.name].Flags; got != tc.flags {
				t.Errorf("%s flags = %#x %v, want %#x", tc.name, got, infos[tc.name].FlagNames, tc.flags)
			}
		})
	}
	if in := infos["vether0"]; len(in.Inet) != 1 || in.Inet[0].Netmask != "0xffffff00" || in.Inet[0].Broadcast != "10.50.0.255" || in.Status != "active" {
		t.Errorf("vether0 = %+v", in)
	}
	if g := infos["em3"].Groups; !slices.Equal(g, []string{"egress"}) {
		t.Errorf("em3 groups = %q, want egress (the default route leaves by it)", g)
	}
	if in := infos["em1"]; in.Status != "no carrier" || in.MemberOf != "bridge0" {
		t.Errorf("em1 = %+v, want no carrier, member of bridge0", in)
	}
	if e := infos["vlan10"].Encap; e == nil || e.VNetID != 10 || e.Parent != "em1" || e.TxPrio != "packet" || e.RxPrio != "outer" {
		t.Errorf("vlan10 encap = %+v", e)
	}
	b := infos["bridge0"].Bridge
	if b == nil || b.MaxAddr != 50 || b.Timeout != 30 || len(b.Members) != 2 {
		t.Fatalf("bridge0 = %+v", b)
	}
	if m := b.Members[0]; m.Name != "em1" || m.Flags != 3 || m.Port != infos["em1"].Index {
		t.Errorf("bridge0 member 0 = %+v, want em1 flags 3 port %d", m, infos["em1"].Index)
	}
	if len(b.Addrs) != 1 || b.Addrs[0].MAC != mac.String() || b.Addrs[0].Iface != "em1" || b.Addrs[0].Age != 1 || b.Addrs[0].Seconds != 7 {
		t.Errorf("bridge0 addrs = %+v, want %s on em1, age 1, 7 s", b.Addrs, mac)
	}
}

func TestNetmaskHex(t *testing.T) {
	for _, tc := range []struct {
		bits int
		want string
	}{{0, "0x00000000"}, {8, "0xff000000"}, {24, "0xffffff00"}, {31, "0xfffffffe"}, {32, "0xffffffff"}} {
		if got := netmaskHex(tc.bits); got != tc.want {
			t.Errorf("netmaskHex(%d) = %q, want %q", tc.bits, got, tc.want)
		}
	}
}
