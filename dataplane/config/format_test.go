package config

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestFormatSeed(t *testing.T) {
	s, _, err := Load("testdata/seed")
	if err != nil {
		t.Fatal(err)
	}
	files := Format(s)
	want := map[string]string{
		"hostname.bridge0": "add em1\nup\n", // tap0 comes from vm.conf, not written here
		"hostname.bridge1": "add vether0\nup\n",
		"hostname.vether0": "inet 10.50.0.1/24 broadcast 10.50.0.255\nup\n",
		"hostname.vlan10":  "parent em1\nvnetid 10\nup\n",
		"sysctl.conf":      "net.inet.ip.forwarding=1\n",
		"vm.conf": `switch "lan" {
	interface bridge0
}

switch "isolated" {
	interface bridge1
}

vm "web01" {
	memory 1024M
	disk "/var/vm/web01.img"
	interface { switch "lan" }
}

vm "db01" {
	memory 2048M
	disk "/var/vm/db01.img"
	interface { switch "isolated" }
}
`,
	}
	if got := slices.Sorted(maps.Keys(files)); !slices.Equal(got, slices.Sorted(maps.Keys(want))) {
		t.Fatalf("Format(seed) files = %v, want %v", got, slices.Sorted(maps.Keys(want)))
	}
	for name, w := range want {
		if got := string(files[name]); got != w {
			t.Errorf("Format(seed)[%s] =\n%s\nwant\n%s", name, got, w)
		}
	}
}

func TestFormatHostnameIf(t *testing.T) {
	tests := []struct {
		name   string
		ifname string
		in     string
		want   string
	}{
		{"nic", "em0", "up\ninet 10.0.0.1 0xffffff00\ninet alias 10.0.0.9/32\ndest 10.0.0.10\ninet6 2001:db8::1\ngroup egress\nmtu 1400\nlladdr 0:1b:21:aa:bb:cc\ndescription 'the \"uplink\"'\nlink0\n",
			"description \"the \\\"uplink\\\"\"\ngroup egress\nlladdr 00:1b:21:aa:bb:cc\nmtu 1400\ninet 10.0.0.1/24 broadcast 10.0.0.255\ninet alias 10.0.0.9/32\ndest 10.0.0.10\ninet6 2001:db8::1/64\nlink0\nup\n"},
		{"vlan", "vlan7", "vlandev em0 vlan 7 txprio 0 rxprio packet lladdr random\n", "lladdr random\nparent em0\nvnetid 7\ntxprio 0\nrxprio packet\n"},
		{"bridge", "bridge3", "add em0 add tap1 timeout 0 maxaddr 7\n-learn tap1 -discover tap1 blocknonip em0 protected tap1 2,1\nstatic tap1 0:1:2:3:4:5\naddspan em9\nrule block in on tap1 src 0:1:2:3:4:5 tag x arp reply sha 0:1:2:3:4:5 spa 10.0.0.1 tha 0:1:2:3:4:6 tpa 10.0.0.2\nrule pass on em0 rarp\n",
			"timeout 0\nmaxaddr 7\nadd em0\nblocknonip em0\nadd tap1\n-learn tap1\n-discover tap1\nprotected tap1 1,2\nstatic tap1 00:01:02:03:04:05\naddspan em9\n" +
				"rule block in on tap1 src 00:01:02:03:04:05 tag x arp reply sha 00:01:02:03:04:05 spa 10.0.0.1 tha 00:01:02:03:04:06 tpa 10.0.0.2\nrule pass on em0 rarp\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ifp, err := ParseHostnameIf("hostname."+tc.ifname, tc.ifname, strings.NewReader(tc.in), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := string(FormatHostnameIf(ifp)); got != tc.want {
				t.Errorf("FormatHostnameIf(ParseHostnameIf(%q)) =\n%s\nwant\n%s", tc.in, got, tc.want)
			}
		})
	}
}

func TestLoadInclude(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"vm.conf":            "include \"/etc/vm.d/switches.conf\"\nvm a { interface { switch $sw } }\n",
		"vm.d/switches.conf": "sw = \"lan\"\nswitch $sw { interface bridge0 }\n",
		"hostname.bridge0":   "up\n",
	})
	s, warns, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings = %v, want none", warns)
	}
	sw := s.Switch("lan")
	if sw == nil || sw.File != "vm.d/switches.conf" || sw.Line != 2 {
		t.Fatalf("switch lan = %+v, want it from vm.d/switches.conf:2", sw)
	}
	if m := s.Interface("bridge0").Members; len(m) != 1 || m[0].Name != "tap0" || m[0].Switch != "lan" {
		t.Errorf("bridge0 members = %+v, want tap0 from switch lan", m)
	}
}
