package config

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

var fuzzFS = fstest.MapFS{
	"bridge0.rules":    {Data: []byte("block in on em1 src 0:1b:21:aa:bb:cc\npass on tap3 arp reply\n")},
	"vm.d/lan.conf":    {Data: []byte("switch \"lan\" { interface bridge0 }\n")},
	"vm.d/macros.conf": {Data: []byte("lan = \"lan\"\n")},
}

// FuzzHostnameIf checks that ParseHostnameIf never panics and that what
// it accepts, formatted, parses back to the same Interface.
func FuzzHostnameIf(f *testing.F) {
	f.Add("bridge0", "add em1\nup\n")                                                                                                        // the seed's bridge0
	f.Add("vlan10", "vlandev em1\nvlan 10\nup\n")                                                                                            // the seed's vlan10, with the aliases
	f.Add("vether0", "inet 10.50.0.1 255.255.255.0\nup\n")                                                                                   // the seed's vether0: dotted mask
	f.Add("em0", "inet 10.0.0.1/24 up # comment\n")                                                                                          // several commands and a comment on one line
	f.Add("em0", "inet 172.16.0.1 0xffff0000 172.16.255.255\n")                                                                              // hex mask, positional broadcast
	f.Add("em0", "inet 10.0.0.1\ninet alias 10.0.0.2 NONE\n")                                                                                // classful mask; alias
	f.Add("em0", "inet6 2001:db8::1 64\ninet6 alias fd00::1/48\n")                                                                           // both inet6 forms
	f.Add("em0", "inet 10.0.0.1/32\ndest 10.0.0.2\n")                                                                                        // point to point
	f.Add("em0", "description \"a \\\"quoted\\\" one\" lladdr random")                                                                       // escapes in quotes
	f.Add("em0", "!echo hi\n")                                                                                                               // shell command, refused
	f.Add("em0", "dhcp\ninet6 autoconf\n")                                                                                                   // not supported yet
	f.Add("svlan2", "parent em0 vnetid 4094 txprio packet rxprio outer\n-parent\n")                                                          // highest VID, named priorities, unset parent
	f.Add("bridge0", "add em1 add tap3\nstatic tap3 0:1:2:3:4:5\nprotected tap3 1,31\n-learn em1\naddspan em2\n")                            // member options, short MAC groups
	f.Add("bridge0", "add em1\nrule block in on em1 src 0:1:2:3:4:5 dst ff:ff:ff:ff:ff:ff tag t arp request sha 0:1:2:3:4:5 spa 10.0.0.1\n") // a rule with every part
	f.Add("bridge0", "add em1 add tap3\nrulefile /etc/bridge0.rules\nflushrule tap3\ndel em1\n")                                             // rules from a file, then removed
	f.Add("bridge0", "stp em1\nmaxage 6\n")                                                                                                  // spanning tree, refused
	f.Add("tap0", "inet 10.0.0.1/24\ninet 10.0.0.2/24\ninet alias 10.0.0.1/25\n")                                                            // replace then alias
	f.Fuzz(func(t *testing.T, ifname, in string) {
		a, err := ParseHostnameIf("hostname."+ifname, ifname, strings.NewReader(in), Options{FS: fuzzFS})
		if err != nil {
			return
		}
		out := FormatHostnameIf(a)
		b, err := ParseHostnameIf("hostname."+ifname, ifname, bytes.NewReader(out), Options{FS: fuzzFS})
		if err != nil {
			t.Fatalf("ParseHostnameIf(FormatHostnameIf(%q)) = %v\nformatted:\n%s", in, err, out)
		}
		stripPos(a)
		stripPos(b)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("ParseHostnameIf(%q) = %+v\nafter Format and Parse = %+v\nformatted:\n%s", in, *a, *b, out)
		}
	})
}

// FuzzVMConf checks that ParseVMConf never panics and that what it
// accepts, formatted, parses back to the same VMConf.
func FuzzVMConf(f *testing.F) {
	f.Add(seedVMConf)                                                                                                                                // the seed's two excerpts
	f.Add("sw = \"lan\"\nswitch $sw { interface bridge0 }\nvm \"a\" { interface { switch $sw } }\n")                                                 // macros
	f.Add("include \"/etc/vm.d/lan.conf\"\nvm a {\n\tinterface tap3 { switch \"lan\", locked lladdr 0:1:2:3:4:5 }\n}\n")                             // include, named tap, locked MAC
	f.Add("include \"vm.d/macros.conf\"\nvm a { interface { switch $lan } }\n")                                                                      // macro from an include
	f.Add("switch s {\n\tinterface bridge1\n\tlocked lladdr\n\tgroup g\n\trdomain 1\n\tdown\n\tdisable\n}\n")                                        // every switch option
	f.Add("vm b {\n\tmemory 512M\n\tdisk \"/x\" format qcow2\n\tboot device net\n\tcdrom \"/i\"\n\towner u:g\n\tinterfaces 2\n\tinterface tap\n}\n") // every vm option, bare tap
	f.Add("vm c { local interface }\n")                                                                                                              // refused
	f.Add("vm d { interface \\\n { switch s } }")                                                                                                    // line continuation
	f.Add("x = \"{ }\"\nvm e $x\n")                                                                                                                  // a macro holding braces
	f.Fuzz(func(t *testing.T, in string) {
		a, _, err := ParseVMConf("vm.conf", strings.NewReader(in), Options{FS: fuzzFS})
		if err != nil {
			return
		}
		out := FormatVMConf(a)
		b, _, err := ParseVMConf("vm.conf", bytes.NewReader(out), Options{})
		if err != nil {
			t.Fatalf("ParseVMConf(FormatVMConf(%q)) = %v\nformatted:\n%s", in, err, out)
		}
		stripPos(a)
		stripPos(b)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("ParseVMConf(%q) = %+v\nafter Format and Parse = %+v\nformatted:\n%s", in, *a, *b, out)
		}
	})
}

// FuzzSysctl checks ParseSysctl never panics and round-trips.
func FuzzSysctl(f *testing.F) {
	f.Add("net.inet.ip.forwarding=1\n")                                  // the seed's line
	f.Add("net.inet6.ip6.forwarding = 1 # v6\nnet.inet.ip.forwarding=0") // blanks, comment, no final newline
	f.Add("kern.maxfiles=1\n")                                           // unknown, refused
	f.Add("net.inet.ip.forwarding=2\n")                                  // IPsec-only forwarding, refused
	f.Fuzz(func(t *testing.T, in string) {
		a, err := ParseSysctl("sysctl.conf", strings.NewReader(in))
		if err != nil {
			return
		}
		b, err := ParseSysctl("sysctl.conf", bytes.NewReader(FormatSysctl(a)))
		if err != nil || a != b {
			t.Fatalf("ParseSysctl(%q) = %+v; after Format and Parse %+v, %v", in, a, b, err)
		}
	})
}

// FuzzMygate checks ParseMygate never panics and round-trips.
func FuzzMygate(f *testing.F) {
	f.Add("192.0.2.1\n")                  // one IPv4 gateway
	f.Add("2001:db8::1\n10.0.0.1 # v4\n") // both families, a comment
	f.Add("fe80::1%em0\n")                // link-local with a zone
	f.Add("10.0.0.1\n10.0.0.2\n")         // two IPv4, refused
	f.Fuzz(func(t *testing.T, in string) {
		a, err := ParseMygate("mygate", strings.NewReader(in))
		if err != nil {
			return
		}
		b, err := ParseMygate("mygate", bytes.NewReader(FormatMygate(a)))
		if err != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("ParseMygate(%q) = %v; after Format and Parse %v, %v", in, a, b, err)
		}
	})
}
