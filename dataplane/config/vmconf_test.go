package config

import (
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// seedVMConf is the seed's two vm.conf excerpts, one after the other.
const seedVMConf = `## /etc/vm.conf — example switch and guest
switch "lan" {
    interface bridge0
}

vm "web01" {
    memory 1024M
    disk "/var/vm/web01.img"
    interface { switch "lan" }
}

## /etc/vm.conf — excerpt adding a routed switch and VM
switch "isolated" {
    interface bridge1
}

vm "db01" {
    memory 2048M
    disk "/var/vm/db01.img"
    interface { switch "isolated" }
}
`

func TestParseVMConf(t *testing.T) {
	mac := MAC{0xfe, 0xe1, 0xba, 0xd0, 0, 7}
	tests := []struct {
		name string
		in   string
		want *VMConf
	}{
		{"empty", "", &VMConf{}},
		{"seed", seedVMConf, &VMConf{
			Switches: []Switch{
				{Name: "lan", Interface: "bridge0", RDomain: -1, Up: true},
				{Name: "isolated", Interface: "bridge1", RDomain: -1, Up: true},
			},
			VMs: []VM{
				{Name: "web01", Memory: 1 << 30, Disks: []Disk{{Path: "/var/vm/web01.img"}},
					Interfaces: []VMInterface{{Switch: "lan", RDomain: -1, Up: true}}},
				{Name: "db01", Memory: 2 << 30, Disks: []Disk{{Path: "/var/vm/db01.img"}},
					Interfaces: []VMInterface{{Switch: "isolated", RDomain: -1, Up: true}}},
			},
		}},
		{"macros", `sw = "lan"
img = "/var/vm/a.img"
switch $sw { interface bridge0 }
vm "a" {
	disk $img format qcow2
	interface tap7 { switch $sw }
}
`, &VMConf{
			Switches: []Switch{{Name: "lan", Interface: "bridge0", RDomain: -1, Up: true}},
			VMs: []VM{{Name: "a", Disks: []Disk{{Path: "/var/vm/a.img", Format: "qcow2"}},
				Interfaces: []VMInterface{{Tap: "tap7", Switch: "lan", RDomain: -1, Up: true}}}},
		}},
		{"switch options", `switch "dmz" {
	interface bridge2
	locked lladdr
	group dmz
	rdomain 3
	down
	disable
}
`, &VMConf{Switches: []Switch{{Name: "dmz", Interface: "bridge2", Locked: true, Group: "dmz", RDomain: 3, Disabled: true}}}},
		{"vm options", `vm "b" {
	disable
	owner builder:wheel
	memory 536870912
	boot "/bsd.rd"
	boot device cdrom
	cdrom "/iso/install.iso"
	disk "/d0.img"
	disk "/d1.img" format raw
	interfaces 3
	interface tap { switch "lan", locked lladdr fe:e1:ba:d0:0:7, group web, rdomain 2, down }
	interface
	interface { lladdr
		locked lladdr
	}
}
`, &VMConf{VMs: []VM{{Name: "b", Disabled: true, Owner: "builder:wheel", Memory: 512 << 20,
			Boot: "/bsd.rd", BootDevice: "cdrom", CDROM: "/iso/install.iso",
			Disks:         []Disk{{Path: "/d0.img"}, {Path: "/d1.img", Format: "raw"}},
			NumInterfaces: 3,
			Interfaces: []VMInterface{
				{Tap: "tap", Switch: "lan", Locked: true, LLAddr: &mac, Group: "web", RDomain: 2},
				{RDomain: -1, Up: true},
				{Locked: true, RDomain: -1, Up: true},
			}}}}},
		{"include and continuation", `include "/etc/vm.d/switches.conf"
vm "c" { interface \
	{ switch "lan" } }
`, &VMConf{
			Switches: []Switch{{Name: "lan", Interface: "bridge0", RDomain: -1, Up: true}},
			VMs:      []VM{{Name: "c", Interfaces: []VMInterface{{Switch: "lan", RDomain: -1, Up: true}}}},
		}},
		{"interface options without commas", `vm "e" { interface tap2 { switch "lan" locked lladdr
	group web up } }
`, &VMConf{VMs: []VM{{Name: "e", Interfaces: []VMInterface{{Tap: "tap2", Switch: "lan", Locked: true, Group: "web", RDomain: -1, Up: true}}}}}},
		{"quoted keyword as name", `switch "switch" { interface bridge0 }`, &VMConf{
			Switches: []Switch{{Name: "switch", Interface: "bridge0", RDomain: -1, Up: true}}}},
		{"macro with several words", `opts = "switch lan"
vm "d" { interface { $opts } }
`, &VMConf{VMs: []VM{{Name: "d", Interfaces: []VMInterface{{Switch: "lan", RDomain: -1, Up: true}}}}}},
	}
	fsys := fstest.MapFS{"vm.d/switches.conf": {Data: []byte("switch \"lan\" {\n\tinterface bridge0\n}\n")}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, warns, err := ParseVMConf("vm.conf", strings.NewReader(tc.in), Options{FS: fsys})
			if err != nil {
				t.Fatalf("ParseVMConf(%q) error: %v", tc.in, err)
			}
			if len(warns) != 0 {
				t.Errorf("ParseVMConf(%q) warnings %v, want none", tc.in, warns)
			}
			stripPos(got)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseVMConf(%q) =\n%+v\nwant\n%+v", tc.in, *got, *tc.want)
			}
		})
	}
}

func TestParseVMConfErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"unknown keyword", "swich \"lan\" { interface bridge0 }\n", []string{`vm.conf:1:1: unknown keyword "swich"; want include, switch, vm or NAME = VALUE`}},
		{"missing interface", "switch \"lan\" {\n}\n", []string{`vm.conf:1:1: switch "lan" has no interface; want interface bridgeN`}},
		{"veb refused", "switch \"lan\" { interface veb0 }\n", []string{`vm.conf:1:26: switch "lan": veb0: veb(4) interfaces are not supported; use a bridge`}},
		{"not a bridge", "switch \"lan\" { interface em0 }\n", []string{`interface em0 is not a bridge; want bridgeN`}},
		{"group too long", "switch \"lan\" { interface bridge0\n group abcdefghijklmnop }\n", []string{`vm.conf:2:8: switch "lan": group name "abcdefghijklmnop" is longer than 15 characters`}},
		{"group digit", "vm \"a\" { interface { group web1 } }\n", []string{`vm.conf:1:28: interface: group name "web1" ends in a digit`}},
		{"undefined macro", "vm \"a\" { disk $img }\n", []string{`vm.conf:1:15: macro "img" is not defined`}},
		{"local interface", "vm \"a\" {\n\tlocal interface\n}\n", []string{`vm.conf:2:2: local interface is not supported yet`}},
		{"local prefix", "local prefix 10.0.0.0/8\n", []string{`vm.conf:1:1: local prefix and local inet6 are not supported yet`}},
		{"too many interfaces", "vm \"a\" {\ninterface\ninterface\ninterface\ninterface\ninterface\n}\n", []string{`vm.conf:6:1: vm "a": too many interfaces; at most 4`}},
		{"interfaces range", "vm \"a\" { interfaces 5 }\n", []string{`interfaces: want an interface count 1-4, found 5`}},
		{"interface not tap", "vm \"a\" { interface em0 }\n", []string{`interface em0: want tap or tapN`}},
		{"interface veb", "vm \"a\" { interface veb1 }\n", []string{`veb(4) interfaces are not supported`}},
		{"bad lladdr", "vm \"a\" { interface { lladdr 01:00:5e:0:0:1 } }\n", []string{`lladdr 01:00:5e:00:00:01: want a unicast address`}},
		{"bad memory", "vm \"a\" { memory 12Q }\nvm \"b\" { memory 512 }\n", []string{`invalid size "12Q"`, `size "512" is less than 1M`}},
		{"duplicate vm", "vm \"a\" { }\nvm \"a\" { }\n", []string{`vm.conf:2:1: vm "a" is defined twice`}},
		{"duplicate switch", "switch s { interface bridge0 }\nswitch s { interface bridge1 }\n", []string{`vm.conf:2:1: switch "s" is defined twice`}},
		{"missing brace", "vm \"a\" {\n memory 1G\n", []string{`vm.conf:1:8: missing '}' for the block opened here`}},
		{"unknown vm option", "vm \"a\" {\n\tmemroy 1G\n\tdisk\n}\n", []string{`vm.conf:2:2: vm "a": unknown option "memroy"`, `vm.conf:3:6: disk: want a disk image path, found end of line`}},
		{"include missing", "include \"/etc/nope.conf\"\n", []string{`vm.conf:1:9: include: cannot read "/etc/nope.conf"`}},
		{"include loop", "include \"loop.conf\"\n", []string{`loop.conf:1:9: include "loop.conf": file includes itself`}},
		{"errors in include", "include \"bad.conf\"\n", []string{`bad.conf:2:1: unknown keyword "bogus"`}},
		{"macro keyword", "vm = \"x\"\n", []string{`vm.conf:1:4: vm: want a name, found '='`}},
		{"unterminated string", "vm \"a {\n", []string{`vm.conf:1:4: unterminated quoted string`, `vm.conf:1:1: invalid vm name "a {"`}},
		{"trailing tokens", "switch s { interface bridge0 } extra\n", []string{`vm.conf:1:32: unexpected extra; want end of line`}},
		{"instance", "vm \"a\" instance \"b\" { }\n", []string{`vm instances are not supported`}},
		{"switch options need newlines", "switch s { interface bridge0 locked lladdr }\n", []string{`vm.conf:1:30: unexpected locked; want end of line, ',' or '}'`}},
		{"macro name", "my-sw = \"lan\"\n", []string{`vm.conf:1:1: invalid macro name "my-sw"; want letters, digits and _`}},
		{"macro without value", "x = {\n", []string{`vm.conf:1:5: x = '{': want a value`}},
		{"dollar alone", "vm a { disk $ }\n", []string{`vm.conf:1:13: '$' without a macro name; want $name`}},
		{"no brace", "vm a\n", []string{`vm.conf:1:5: vm: want '{', found end of line`}},
		{"bad name token", "switch { }\n", []string{`vm.conf:1:8: switch: want a name, found '{'`}},
		{"memory twice", "vm a {\n memory 1G\n memory 2G\n}\n", []string{`vm.conf:3:2: vm "a": memory given twice`}},
		{"interfaces twice", "vm a {\n interfaces 1\n interfaces 2\n}\n", []string{`vm.conf:3:2: vm "a": interfaces given twice`}},
		{"too many disks", "vm a {\n disk a\n disk b\n disk c\n disk d\n disk e\n}\n", []string{`vm.conf:6:2: vm "a": too many disks; at most 4`}},
		{"boot device", "vm a { boot device floppy }\n", []string{`boot device: want disk, cdrom or net, found floppy`}},
		{"owner", "vm a { owner \":\" }\n", []string{`owner: want user, user:group, :group or a uid, found ":"`}},
		{"bad vm name", "vm \"-x\" { }\n", []string{`invalid vm name "-x"`}},
		{"iface unknown option", "vm a { interface { bridge bridge0 } }\n", []string{`interface: unknown option "bridge"; want switch, [locked] lladdr, group, rdomain, up or down`}},
		{"locked without lladdr", "vm a { interface { locked } }\n", []string{`locked: want lladdr, found '}'`}},
		{"rdomain range", "switch s {\n interface bridge0\n rdomain 256\n}\n", []string{`rdomain: want routing domain 0-255, found 256`}},
		{"sev refused", "vm a { sev }\n", []string{`vm "a": "sev" is not supported`}},
		{"socket refused", "socket owner root\n", []string{`"socket" is not supported (hostnet does not run VMs)`}},
		{"stray brace", "}\n", []string{`vm.conf:1:1: unexpected '}'; want include, switch, vm or a macro definition`}},
		{"include outside", "include \"../x\"\n", []string{`"../x" is outside the configuration directory`}},
		{"missing arguments keep the brace", "vm a { disk }\nvm b { memory }\nswitch s { interface }\n", []string{
			`vm.conf:1:13: disk: want a disk image path, found '}'`, `vm.conf:2:15: memory: want a size like 1024M, found '}'`, `vm.conf:3:22: interface: want a bridge interface, found '}'`}},
		{"disk format", "vm \"a\" { disk \"/x\" format vmdk }\n", []string{`disk format "vmdk": want raw or qcow2`}},
	}
	fsys := fstest.MapFS{
		"loop.conf": {Data: []byte("include \"loop.conf\"\n")},
		"bad.conf":  {Data: []byte("# bad\nbogus\n")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ParseVMConf("vm.conf", strings.NewReader(tc.in), Options{FS: fsys})
			checkErrors(t, "ParseVMConf", tc.in, err, tc.want)
		})
	}
}

func TestParseVMConfUnusedMacro(t *testing.T) {
	in := "used = \"lan\"\nunused = \"x\"\nswitch $used { interface bridge0 }\n"
	_, warns, err := ParseVMConf("vm.conf", strings.NewReader(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Warning{{File: "vm.conf", Line: 2, Msg: `macro "unused" is never used`}}
	if !reflect.DeepEqual(warns, want) {
		t.Errorf("ParseVMConf(%q) warnings = %v, want %v", in, warns, want)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int64 // 0: an error
	}{
		{"megabytes", "1024M", 1 << 30},
		{"gigabytes", "2G", 2 << 30},
		{"with B", "512MB", 512 << 20},
		{"lower case", "1g", 1 << 30},
		{"bytes rounded down", "1572865", 1 << 20},
		{"kilobytes", "2048K", 2 << 20},
		{"too small", "1023K", 0},
		{"negative", "-1G", 0},
		{"fraction", "1.5G", 0},
		{"two suffixes", "1GM", 0},
		{"empty", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSize(tc.in)
			if tc.want == 0 {
				if err == "" {
					t.Errorf("parseSize(%q) = %d, want an error", tc.in, got)
				}
				return
			}
			if err != "" || got != tc.want {
				t.Errorf("parseSize(%q) = %d, %q, want %d", tc.in, got, err, tc.want)
			}
		})
	}
}
