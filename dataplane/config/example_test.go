package config_test

import (
	"fmt"
	"strings"

	"github.com/hostnet/hostnet/dataplane/config"
)

// Load reads a whole directory; here the seed's example.
func ExampleLoad() {
	s, warns, err := config.Load("../../examples/seed")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, ifp := range s.Interfaces {
		fmt.Printf("%-8s %-6s up=%v", ifp.Name, ifp.Kind, ifp.Up)
		for _, m := range ifp.Members {
			fmt.Printf(" member=%s", m.Name)
		}
		for _, a := range ifp.Inet {
			fmt.Printf(" inet=%s", a.Prefix)
		}
		if ifp.VM != "" {
			fmt.Printf(" vm=%s guest=%s", ifp.VM, ifp.GuestLLAddr)
		}
		fmt.Println()
	}
	fmt.Println("forwarding:", s.Sysctl.IPForwarding, "warnings:", len(warns))
	// Output:
	// bridge0  bridge up=true member=em1 member=tap0
	// bridge1  bridge up=true member=vether0 member=tap1
	// em1      ether  up=true
	// tap0     tap    up=true vm=web01 guest=fe:e1:ba:d0:89:e2
	// tap1     tap    up=true vm=db01 guest=fe:e1:ba:d0:f9:a5
	// vether0  vether up=true inet=10.50.0.1/24
	// vlan10   vlan   up=true
	// forwarding: true warnings: 0
}

// ParseHostnameIf reads one hostname.if file; errors name the file, line
// and column, and all of them are reported.
func ExampleParseHostnameIf() {
	in := `add em1 add tap3
-learn tap3
rule block in on tap3 src fe:e1:ba:d0:00:01
up
`
	br, err := config.ParseHostnameIf("hostname.bridge0", "bridge0", strings.NewReader(in), config.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range br.Members {
		fmt.Printf("%s learn=%v discover=%v\n", m.Name, m.Learn, m.Discover)
	}
	fmt.Println("rule", config.FormatRule(&br.Rules[0]))

	_, err = config.ParseHostnameIf("hostname.vether0", "vether0", strings.NewReader("inet 10.0.0.1 255.0.255.0\nadd em1\ndhcp\n"), config.Options{})
	fmt.Println(err)
	// Output:
	// em1 learn=true discover=true
	// tap3 learn=false discover=true
	// rule block in on tap3 src fe:e1:ba:d0:00:01
	// hostname.vether0:1:15: invalid netmask "255.0.255.0"; want a contiguous mask like 255.255.255.0 or 0xffffff00 (a point-to-point destination is given with dest)
	// hostname.vether0:2:1: "add" applies to bridge interfaces, not to vether0 (vether)
	// hostname.vether0:3:1: "dhcp" is not supported yet; give a static address with inet or inet6
}
