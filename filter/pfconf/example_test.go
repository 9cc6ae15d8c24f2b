package pfconf_test

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/hostnet/hostnet/filter/pfconf"
)

// A pf.conf is parsed into expanded rules and printed as pfctl -nv does.
func ExampleParse() {
	const conf = `ext_if = "em0"
lan = "{ 10.50.0.0/24, 10.60.0.0/24 }"
set skip on lo
match out on $ext_if from $lan nat-to ($ext_if)
block
pass in on vether0 proto { tcp udp } to port domain
`
	spec, err := pfconf.Parse("pf.conf", strings.NewReader(conf))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(spec.Format())
	// Output:
	// ext_if = "em0"
	// lan = "{ 10.50.0.0/24, 10.60.0.0/24 }"
	// set skip on { lo }
	// match out on em0 inet from 10.50.0.0/24 to any nat-to (em0) round-robin
	// match out on em0 inet from 10.60.0.0/24 to any nat-to (em0) round-robin
	// block drop all
	// pass in on vether0 proto tcp from any to any port = 53 flags S/SA
	// pass in on vether0 proto udp from any to any port = 53
}

// Every error of a file is reported as FILE:LINE: message.
func ExampleParse_errors() {
	const conf = `pass in on $lan_if
block in proto tcp to port nosuch
pass
`
	_, err := pfconf.Parse("pf.conf", strings.NewReader(conf))
	fmt.Println(err)
	// Output:
	// pf.conf:1: macro 'lan_if' not defined
	// pf.conf:2: unknown port nosuch
}

// Interface names in addresses resolve against the interfaces given in
// the options, never against the machine the parser runs on.
func ExampleParseWith() {
	opts := pfconf.ParseOptions{Interfaces: []pfconf.Interface{{
		Name:  "vether0",
		Addrs: []pfconf.IfAddr{{Addr: netip.MustParseAddr("10.50.0.1"), Bits: 24}},
	}}}
	spec, err := pfconf.ParseWith("pf.conf", strings.NewReader("pass in on vether0 to vether0:network\n"), opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(spec.Format())
	// Output:
	// pass in on vether0 inet from any to 10.50.0.0/24 flags S/SA
}

// Load reads a configuration directory laid out like /etc: the glob form
// of load anchor puts each VM's file in its own anchor, with $vm_if and
// $vm_name predefined from vm.conf.
func ExampleLoad() {
	opts := pfconf.ParseOptions{VMs: []pfconf.VM{{Name: "web01", If: "tap3"}}}
	spec, err := pfconf.Load("testdata/vm-macros", "pf.conf", opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	rules, _ := spec.FormatRules("vm/web01")
	fmt.Print(rules)
	// Output:
	// pass in on tap3 proto tcp from any to (tap3) port = 80 flags S/SA label "web01"
	// pass in on tap3 proto tcp from any to (tap3) port = 443 flags S/SA label "web01"
}
