package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// writeDir writes files into a new temporary directory and returns it.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func names(s *Spec) []string {
	var ns []string
	for _, ifp := range s.Interfaces {
		ns = append(ns, ifp.Name)
	}
	return ns
}

func TestLoadSeed(t *testing.T) {
	for _, dir := range []string{"testdata/seed", "../../examples/seed"} {
		t.Run(dir, func(t *testing.T) {
			s, warns, err := Load(dir)
			if err != nil {
				t.Fatalf("Load(%q): %v", dir, err)
			}
			if len(warns) != 0 {
				t.Errorf("Load(%q) warnings = %v, want none", dir, warns)
			}
			want := []string{"bridge0", "bridge1", "em1", "tap0", "tap1", "vether0", "vlan10"}
			if got := names(s); !slices.Equal(got, want) {
				t.Errorf("Load(%q) interfaces = %v, want %v", dir, got, want)
			}
			if !s.Sysctl.IPForwarding || s.Sysctl.IP6Forwarding {
				t.Errorf("Load(%q) sysctl = %+v, want IPv4 forwarding only", dir, s.Sysctl)
			}
			br0, br1 := s.Interface("bridge0"), s.Interface("bridge1")
			wantM0 := []BridgeMember{
				{Name: "em1", Learn: true, Discover: true, Line: 1},
				{Name: "tap0", Learn: true, Discover: true, Line: 9, Switch: "lan"},
			}
			if !reflect.DeepEqual(br0.Members, wantM0) || !br0.Up || br0.Timeout != 240 || br0.MaxAddr != 100 {
				t.Errorf("bridge0 = %+v, want up with members %+v", *br0, wantM0)
			}
			wantM1 := []BridgeMember{
				{Name: "vether0", Learn: true, Discover: true, Line: 1},
				{Name: "tap1", Learn: true, Discover: true, Line: 20, Switch: "isolated"},
			}
			if !reflect.DeepEqual(br1.Members, wantM1) {
				t.Errorf("bridge1 members = %+v, want %+v", br1.Members, wantM1)
			}
			if em1 := s.Interface("em1"); em1.Kind != Ether || !em1.Up || em1.File != "" {
				t.Errorf("em1 = %+v, want an implied, up host NIC", *em1)
			}
			if v := s.Interface("vlan10"); v.Parent != "em1" || v.VNetID != 10 || !v.Up || v.TxPrio != PrioPacket || v.RxPrio != PrioOuter {
				t.Errorf("vlan10 = %+v, want parent em1 vnetid 10 up", *v)
			}
			if v := s.Interface("vether0"); !reflect.DeepEqual(v.Inet, []InetAddr{{Prefix: pfx("10.50.0.1/24"), Broadcast: addr("10.50.0.255")}}) {
				t.Errorf("vether0 inet = %+v, want 10.50.0.1/24", v.Inet)
			}
			for _, tc := range []struct{ tap, vm, sw string }{{"tap0", "web01", "lan"}, {"tap1", "db01", "isolated"}} {
				tp := s.Interface(tc.tap)
				if tp.Kind != Tap || tp.VM != tc.vm || tp.GuestLLAddr != GuestMAC(tc.vm, 0) || !tp.Up || tp.Locked {
					t.Errorf("%s = %+v, want the up, unlocked tap of %s", tc.tap, *tp, tc.vm)
				}
			}
			if len(s.VMs) != 2 || s.VM("web01").Interfaces[0].IfName != "tap0" || s.VM("db01").Interfaces[0].IfName != "tap1" ||
				s.Switch("lan").Interface != "bridge0" || s.Switch("isolated").Interface != "bridge1" || s.VM("nope") != nil || s.Switch("nope") != nil {
				t.Errorf("VMs = %+v, want web01 on tap0 and db01 on tap1", s.VMs)
			}
			if s.VMs[0].Memory != 1<<30 || s.VMs[1].Memory != 2<<30 {
				t.Errorf("VM memory = %d, %d, want 1G and 2G", s.VMs[0].Memory, s.VMs[1].Memory)
			}
		})
	}
}

// seedText is the seed document, read-only shared data.
const seedText = "../../../shared/seed/virtualization-and-host-networking.txt"

// TestSeedExcerpts checks that the testdata and example files are the
// seed's own text, and that every configuration excerpt of the seed
// parses.
func TestSeedExcerpts(t *testing.T) {
	b, err := os.ReadFile(seedText)
	if err != nil {
		t.Fatalf("reading the seed: %v", err)
	}
	seed := string(b)
	for _, dir := range []string{"testdata/seed", "../../examples/seed"} {
		for _, name := range []string{"hostname.bridge0", "hostname.bridge1", "hostname.vether0", "hostname.vlan10", "vm.conf", "pf.vm/web01.conf", "pf.vm/db01.conf"} {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if os.IsNotExist(err) && strings.HasPrefix(name, "pf.") && dir == "testdata/seed" {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			// vm.conf is the seed's two excerpts one after the other.
			for _, part := range strings.SplitAfter(string(data), "}\n\n## ") {
				part = strings.TrimPrefix(strings.TrimSuffix(part, "\n\n## "), "## ")
				if !strings.Contains(seed, part) {
					t.Errorf("%s/%s: %q is not in the seed", dir, name, part)
				}
			}
		}
	}
	// The seed's own excerpts, cut from its text, parse.
	excerpt := func(start, end string) string {
		i := strings.Index(seed, start)
		if i < 0 {
			t.Fatalf("seed has no %q", start)
		}
		rest := seed[i+len(start):]
		rest = rest[strings.IndexByte(rest, '\n')+1:]
		j := strings.Index(rest, end)
		if j < 0 {
			t.Fatalf("seed has no %q after %q", end, start)
		}
		return rest[:j]
	}
	hostname := []struct{ ifname, text string }{
		{"bridge0", excerpt("cat > /etc/hostname.bridge0 <<'EOF'", "EOF\n")},
		{"vlan10", excerpt("## /etc/hostname.vlan10", "# ifconfig")},
		{"vether0", excerpt("## /etc/hostname.vether0", "\n\n")},
		{"bridge1", excerpt("## /etc/hostname.bridge1", "\n\n")},
	}
	for _, h := range hostname {
		ifp, err := ParseHostnameIf("hostname."+h.ifname, h.ifname, strings.NewReader(h.text), Options{})
		if err != nil || !ifp.Up {
			t.Errorf("seed hostname.%s %q: %+v, %v, want an up interface", h.ifname, h.text, ifp, err)
		}
	}
	vmconf := excerpt("## /etc/vm.conf — example switch and guest", "\n\nCreate the disk") + "\n" +
		excerpt("## /etc/vm.conf — excerpt adding a routed switch and VM", "\n\nEnable forwarding")
	c, _, err := ParseVMConf("vm.conf", strings.NewReader(vmconf), Options{})
	if err != nil || len(c.Switches) != 2 || len(c.VMs) != 2 {
		t.Errorf("seed vm.conf %q: %+v, %v, want two switches and two VMs", vmconf, c, err)
	}
	if _, err := ParseSysctl("sysctl.conf", strings.NewReader("net.inet.ip.forwarding=1\n")); err != nil {
		t.Errorf("seed sysctl.conf: %v", err)
	}
}

func TestLoadTaps(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"hostname.tap0":    "description \"a persistent tap\"\nup\n",
		"hostname.tap6":    "inet 10.9.0.1/30 up\n",
		"hostname.bridge0": "add em1\nup\n",
		"vm.conf": `switch "lan" { interface bridge0 }
switch "dmz" {
	interface bridge5
	locked lladdr
	group dmz
	rdomain 2
}
vm "a" {
	interface { switch "lan" }
	interface tap { switch "dmz" }
}
vm "b" {
	interface tap1 { switch "lan", lladdr fe:e1:ba:d0:00:07 }
}
vm "c" {
	interfaces 2
	interface { switch "dmz", locked lladdr, rdomain 4, group web }
}
vm "d" {
	interface tap6
}
`,
	})
	s, warns, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"bridge0", "bridge5", "em1", "tap0", "tap1", "tap2", "tap3", "tap4", "tap5", "tap6"}
	if got := names(s); !slices.Equal(got, want) {
		t.Errorf("interfaces = %v, want %v", got, want)
	}
	vmTaps := map[string][]string{}
	for _, vm := range s.VMs {
		for _, vi := range vm.Interfaces {
			vmTaps[vm.Name] = append(vmTaps[vm.Name], vi.IfName)
		}
	}
	wantTaps := map[string][]string{"a": {"tap2", "tap3"}, "b": {"tap1"}, "c": {"tap4", "tap5"}, "d": {"tap6"}}
	if !reflect.DeepEqual(vmTaps, wantTaps) {
		t.Errorf("VM taps = %v, want %v", vmTaps, wantTaps)
	}
	if tp := s.Interface("tap0"); tp.VM != "" || tp.Description != "a persistent tap" {
		t.Errorf("tap0 = %+v, want the hostname file's tap, no VM", *tp)
	}
	if tp := s.Interface("tap1"); tp.GuestLLAddr != (MAC{0xfe, 0xe1, 0xba, 0xd0, 0, 7}) || tp.Locked {
		t.Errorf("tap1 = %+v, want guest MAC fe:e1:ba:d0:00:07, unlocked", *tp)
	}
	if tp := s.Interface("tap3"); !tp.Locked || tp.RDomain != 2 {
		t.Errorf("tap3 = %+v, want locked by its switch, in rdomain 2", *tp)
	}
	if tp := s.Interface("tap4"); !tp.Locked || tp.RDomain != 4 || !slices.Equal(tp.Groups, []string{"web"}) {
		t.Errorf("tap4 = %+v, want locked, rdomain 4, group web", *tp)
	}
	if tp := s.Interface("tap5"); tp.VM != "c" || tp.Line != s.VMs[2].Line {
		t.Errorf("tap5 = %+v, want vm c's second interface from interfaces 2", *tp)
	}
	var b0, b5 []string
	for _, m := range s.Interface("bridge0").Members {
		b0 = append(b0, m.Name)
	}
	br5 := s.Interface("bridge5")
	for _, m := range br5.Members {
		b5 = append(b5, m.Name)
	}
	if !slices.Equal(b0, []string{"em1", "tap2", "tap1"}) || !slices.Equal(b5, []string{"tap3", "tap4"}) {
		t.Errorf("members: bridge0 %v, bridge5 %v; want [em1 tap2 tap1] and [tap3 tap4]", b0, b5)
	}
	if br5.File != "" || !br5.Up || br5.RDomain != 2 || !slices.Equal(br5.Groups, []string{"dmz"}) {
		t.Errorf("bridge5 = %+v, want implied, up, rdomain 2, group dmz", *br5)
	}
	wantWarns := []string{
		`vm.conf:2: warning: switch "dmz": bridge5 has no hostname.bridge5`,
		`vm.conf:15: warning: vm "c": interface tap5 is on no switch, in no bridge and has no address; it reaches nothing`,
	}
	if len(warns) != len(wantWarns) {
		t.Fatalf("warnings = %v, want %q", warns, wantWarns)
	}
	for i, w := range warns {
		if !strings.Contains(w.String(), wantWarns[i]) {
			t.Errorf("warning %d = %q, want %q", i, w, wantWarns[i])
		}
	}
	// Generated MACs are distinct, locally administered unicast.
	seen := map[MAC]bool{}
	for _, vm := range s.VMs {
		for _, vi := range vm.Interfaces {
			if seen[vi.MAC] || vi.MAC.IsMulticast() || vi.MAC[0]&2 == 0 {
				t.Errorf("vm %s %s: MAC %s repeated or not locally administered unicast", vm.Name, vi.IfName, vi.MAC)
			}
			seen[vi.MAC] = true
		}
	}
}

func TestGuestMAC(t *testing.T) {
	a, b := GuestMAC("web01", 0), GuestMAC("web01", 0)
	if a != b || a[0] != 0xfe || a[1] != 0xe1 || a[2] != 0xba || a[3] != 0xd0 {
		t.Errorf("GuestMAC(web01, 0) = %s, %s; want a stable fe:e1:ba:d0:xx:xx", a, b)
	}
	if GuestMAC("web01", 1) == a || GuestMAC("db01", 0) == a {
		t.Errorf("GuestMAC gives web01/0 = %s to another interface", a)
	}
	// An explicit lladdr that equals a generated one moves the generated one.
	dir := writeDir(t, map[string]string{"vm.conf": `vm "x" { interface }
vm "y" { interface { lladdr ` + GuestMAC("x", 0).String() + ` } }
`})
	s, _, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if x, y := s.VMs[0].Interfaces[0].MAC, s.VMs[1].Interfaces[0].MAC; x == y {
		t.Errorf("vm x and y share MAC %s", x)
	}
}

func TestLoadWarnings(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"hostname.bridge0": "add em1\nadd vlan10\nup\n",
		"hostname.vlan10":  "parent em1 vnetid 10 up\n",
		"hostname.vlan11":  "up\n",
		"hostname.bridge1": "add vlan30 add em2\n",
		"hostname.vlan30":  "parent svlan20 vnetid 30\n",
		"hostname.svlan20": "parent em2 vnetid 20\n",
		"vm.conf": `unused = "x"
switch "lan" { interface bridge0 }
vm "a" { interface { switch "nowhere" } }
`,
	})
	_, warns, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`hostname.bridge0:2: warning: bridge0: vlan10 and its parent em1 are both members; a frame the bridge floods leaves em1 both untagged and tagged 10`,
		`hostname.bridge1:1: warning: bridge1: vlan30 and its parent em2 are both members; a frame the bridge floods leaves em2 both untagged and tagged 20 and 30 (QinQ)`,
		`hostname.vlan11:1: warning: vlan11 has no parent (parent IF); it passes no frames`,
		`hostname.vlan11:1: warning: vlan11 has no vnetid (vnetid N); it passes no frames`,
		`vm.conf:1: warning: macro "unused" is never used`,
		`vm.conf:3: warning: vm "a": switch "nowhere" is not defined; interface tap0 joins no bridge`,
	}
	if len(warns) != len(want) {
		t.Fatalf("Load warnings = %q, want %q", warns, want)
	}
	for i, w := range warns {
		if !strings.Contains(w.String(), want[i]) {
			t.Errorf("warning %d = %q, want %q", i, w, want[i])
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"errors of every file", map[string]string{
			"hostname.em0": "bogus\n",
			"sysctl.conf":  "net.inet.ip.forwarding=yes\n",
			"mygate":       "nope\n",
			"vm.conf":      "vm {\n",
		}, []string{`hostname.em0:1:1: unknown keyword "bogus"`, `sysctl.conf:1: net.inet.ip.forwarding="yes": want 0 or 1`, `mygate:1: invalid gateway`, `vm.conf:1:4: vm: want a name`}},
		{"veb file", map[string]string{"hostname.veb0": "up\n"}, []string{`hostname.veb0: veb0: veb(4) interfaces are not supported`}},
		{"member of two bridges", map[string]string{
			"hostname.bridge0": "add em1\n",
			"hostname.bridge1": "add em1\n",
		}, []string{`hostname.bridge1:1: em1 is a member of both bridge0 and bridge1; an interface can be in one bridge only`}},
		{"span port member elsewhere", map[string]string{
			"hostname.bridge0": "addspan em1\n",
			"hostname.bridge1": "add em1\n",
		}, []string{`hostname.bridge0:1: em1 is a span port of bridge0 and a member of bridge1; a span port cannot be a member`}},
		{"vlan on a bridge", map[string]string{
			"hostname.bridge0": "up\n",
			"hostname.vlan5":   "parent bridge0 vnetid 5\n",
		}, []string{`hostname.vlan5:1: vlan5: parent bridge0 is a bridge; want a host NIC, tap, vether or svlan`}},
		{"svlan on svlan", map[string]string{
			"hostname.svlan1": "parent em0 vnetid 5\n",
			"hostname.svlan2": "parent svlan1 vnetid 6\n",
		}, []string{`svlan2: parent svlan1 is a svlan; want a host NIC, tap or vether`}},
		{"same vnetid twice", map[string]string{
			"hostname.vlan5": "parent em0 vnetid 5\n",
			"hostname.vlan6": "parent em0 vnetid 5\n",
		}, []string{`hostname.vlan6:1: vlan5 and vlan6 both take vnetid 5 on em0`}},
		{"tap of two VMs", map[string]string{
			"vm.conf": "vm a { interface tap3 }\nvm b { interface tap3 }\n",
		}, []string{`vm.conf:2: vm "b": tap3 is already the interface of vm "a"`}},
		{"same lladdr twice", map[string]string{
			"vm.conf": "vm a { interface { lladdr fe:e1:ba:d0:0:1 } }\nvm b { interface { lladdr fe:e1:ba:d0:0:1 } }\n",
		}, []string{`vm.conf:2: vm "b": lladdr fe:e1:ba:d0:00:01 is also used by vm "a"`}},
		{"vm tap in another bridge", map[string]string{
			"hostname.bridge0": "add tap3\n",
			"vm.conf":          "switch s { interface bridge1 }\nvm a { interface tap3 { switch s } }\n",
		}, []string{`vm.conf:1: tap3 is a member of both bridge0 and bridge1`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeDir(t, tc.files)
			s, _, err := Load(dir)
			if s != nil {
				t.Errorf("Load(%v) Spec = %+v, want nil", tc.files, s)
			}
			checkErrors(t, "Load", dir, flatten(err), tc.want)
		})
	}
	if _, _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Load(missing dir) = nil error")
	}
}

// flatten joins the errors of nested joins into one level, with Errors.
func flatten(err error) error {
	if err == nil {
		return nil
	}
	var out []error
	for _, e := range Errors(err) {
		out = append(out, e)
	}
	return joined(out)
}

type joined []error

func (j joined) Error() string {
	var s []string
	for _, e := range j {
		s = append(s, e.Error())
	}
	return strings.Join(s, "\n")
}
func (j joined) Unwrap() []error { return j }

// TestFormatLoadRoundTrip writes what Format makes of a loaded Spec to a
// new directory and loads it again.
func TestFormatLoadRoundTrip(t *testing.T) {
	rich := map[string]string{
		"hostname.bridge0": `description "LAN bridge"
add em1 add vlan10 add tap9
-learn tap9 -discover tap9 blocknonip em1 protected tap9 1,2
static em1 00:1b:21:aa:bb:cc
addspan em5
timeout 60 maxaddr 500
rule block in on tap9 src 00:1b:21:aa:bb:cc tag bad
rulefile /etc/bridge0.rules
link2
up
`,
		"bridge0.rules":    "pass out on em1 arp request tpa 10.0.0.1\n",
		"hostname.vlan10":  "parent em1 vnetid 10 txprio 3 rxprio 7 lladdr fe:e1:ba:d0:1:2 mtu 1496 up\n",
		"hostname.em0":     "inet 192.0.2.10/24\ninet alias 192.0.2.11 255.255.255.255\ninet6 2001:db8::10 64\ngroup egress\nup\n",
		"hostname.vether0": "inet 10.50.0.1 255.255.255.0\ndescription 'routed \"guests\"'\nrdomain 0\nup\n",
		"sysctl.conf":      "net.inet.ip.forwarding=1\nnet.inet6.ip6.forwarding=1\n",
		"mygate":           "192.0.2.1\n2001:db8::1\n",
		"vm.conf": `img = "/var/vm"
switch "lan" { interface bridge0 }
switch "iso" {
	interface bridge1
	locked lladdr
	rdomain 1
	down
}
vm "web01" {
	memory 1G
	disk "/var/vm/web01.img"
	owner "www:www"
	interface { switch "lan" }
	interface tap { switch "iso", lladdr fe:e1:ba:d0:9:9, group web }
}
vm "db01" {
	disable
	interfaces 2
	boot device net
	interface tap4 { switch "iso", locked lladdr, down }
}
`,
	}
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string
	}{
		{"seed", func(*testing.T) string { return "testdata/seed" }},
		{"rich", func(t *testing.T) string { return writeDir(t, rich) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s1, w1, err := Load(tc.dir(t))
			if err != nil {
				t.Fatal(err)
			}
			files := map[string]string{}
			for name, b := range Format(s1) {
				files[name] = string(b)
			}
			dir2 := writeDir(t, files)
			s2, w2, err := Load(dir2)
			if err != nil {
				t.Fatalf("Load(Format(spec)): %v\nfiles: %v", err, files)
			}
			s1.Dir, s2.Dir = "", ""
			stripPos(s1)
			stripPos(s2)
			if !reflect.DeepEqual(s1, s2) {
				t.Errorf("Load(Format(Load(dir))) =\n%+v\nwant\n%+v\nfiles: %v", s2, s1, files)
			}
			// The unused-macro warning cannot survive expansion; the rest do.
			stripPosW := func(ws []Warning) []string {
				var out []string
				for _, w := range ws {
					if !strings.Contains(w.Msg, "never used") {
						out = append(out, w.Msg)
					}
				}
				return out
			}
			if a, b := stripPosW(w1), stripPosW(w2); !slices.Equal(a, b) {
				t.Errorf("warnings after round trip = %q, want %q", b, a)
			}
		})
	}
}

func TestSpecJSON(t *testing.T) {
	s, _, err := Load("testdata/seed")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"Kind":"bridge"`) || !strings.Contains(string(b), `"GuestLLAddr":"fe:e1:ba:d0:`) {
		t.Errorf("json.Marshal(spec) = %s, want kinds and MACs as text", b)
	}
	var back Spec
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, s) {
		t.Errorf("json round trip = %+v, want %+v", back, *s)
	}
}
