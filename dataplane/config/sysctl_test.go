package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestParseSysctl(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Sysctl
		errs []string
	}{
		{"empty", "", Sysctl{}, nil},
		{"seed", "net.inet.ip.forwarding=1\n", Sysctl{IPForwarding: true}, nil},
		{"both with comments", "# routing\nnet.inet.ip.forwarding=1 # v4\n net.inet6.ip6.forwarding = 1\n", Sysctl{IPForwarding: true, IP6Forwarding: true}, nil},
		{"last wins", "net.inet.ip.forwarding=1\nnet.inet.ip.forwarding=0\n", Sysctl{}, nil},
		{"other names ignored", "kern.maxfiles=4096\nnet.inet.ip.forwarding=1\n", Sysctl{IPForwarding: true}, nil},
		{"no value", "net.inet.ip.forwarding\n", Sysctl{}, []string{`sysctl.conf:1: "net.inet.ip.forwarding": want NAME=VALUE`}},
		{"ipsec only", "net.inet.ip.forwarding=2\n", Sysctl{}, []string{`sysctl.conf:1: net.inet.ip.forwarding=2 (forward IPsec traffic only) is not supported; want 0 or 1`}},
		{"bad value", "net.inet6.ip6.forwarding=yes\nnet.inet6.ip6.forwarding=2\n", Sysctl{}, []string{`sysctl.conf:1: net.inet6.ip6.forwarding="yes": want 0 or 1`, `sysctl.conf:2: net.inet6.ip6.forwarding="2": want 0 or 1`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSysctl("sysctl.conf", strings.NewReader(tc.in))
			if tc.errs != nil {
				checkErrors(t, "ParseSysctl", tc.in, err, tc.errs)
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ParseSysctl(%q) = %+v, %v, want %+v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseMygate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []netip.Addr
		errs []string
	}{
		{"empty", "", nil, nil},
		{"v4", "192.0.2.1\n", []netip.Addr{addr("192.0.2.1")}, nil},
		{"v4 and v6 with comments", "# gateways\n2001:db8::1 # v6\n192.0.2.1\n", []netip.Addr{addr("2001:db8::1"), addr("192.0.2.1")}, nil},
		{"link-local with zone", "fe80::1%em0\n", []netip.Addr{addr("fe80::1%em0")}, nil},
		{"two v4", "192.0.2.1\n192.0.2.2\n", nil, []string{`mygate:2: second IPv4 gateway 192.0.2.2; mygate takes one IPv4 and one IPv6 address`}},
		{"garbage", "gateway\n10.0.0.1 10.0.0.2\n", nil, []string{`mygate:1: invalid gateway "gateway"`, `mygate:2: invalid gateway "10.0.0.1 10.0.0.2"`}},
		{"unspecified", "0.0.0.0\n", nil, []string{`mygate:1: 0.0.0.0 cannot be a gateway`}},
		{"zone on global", "2001:db8::1%em0\n", nil, []string{`a zone is only for link-local addresses`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMygate("mygate", strings.NewReader(tc.in))
			if tc.errs != nil {
				checkErrors(t, "ParseMygate", tc.in, err, tc.errs)
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseMygate(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseSysctlWarnsOtherNames(t *testing.T) {
	in := "kern.maxfiles=4096\nnet.inet.ip.forwarding=1\nddb.panic=0\n"
	got, warns, err := ParseSysctlWarn("sysctl.conf", strings.NewReader(in))
	if err != nil || got != (Sysctl{IPForwarding: true}) {
		t.Fatalf("ParseSysctlWarn(%q) = %+v, %v; want forwarding on, no error", in, got, err)
	}
	want := []string{
		"sysctl.conf:1: warning: kern.maxfiles ignored: hostnet acts only on net.inet.ip.forwarding and net.inet6.ip6.forwarding",
		"sysctl.conf:3: warning: ddb.panic ignored: hostnet acts only on net.inet.ip.forwarding and net.inet6.ip6.forwarding",
	}
	if len(warns) != len(want) {
		t.Fatalf("ParseSysctlWarn(%q) warned %v, want %v", in, warns, want)
	}
	for i := range want {
		if warns[i].String() != want[i] {
			t.Errorf("warning %d = %q, want %q", i, warns[i], want[i])
		}
	}
}
