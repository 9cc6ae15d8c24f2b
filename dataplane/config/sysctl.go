package config

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// sysctlKeys are the sysctl.conf settings hostnet acts on.
var sysctlKeys = map[string]func(*Sysctl) *bool{
	"net.inet.ip.forwarding":   func(s *Sysctl) *bool { return &s.IPForwarding },
	"net.inet6.ip6.forwarding": func(s *Sysctl) *bool { return &s.IP6Forwarding },
}

// stripComment removes a # comment, as /etc/rc's stripcom does, and the
// blanks around what is left.
func stripComment(s string) string {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// ParseSysctl parses sysctl.conf(5) lines NAME=VALUE, as ParseSysctlWarn
// does, leaving out the warnings.
func ParseSysctl(name string, r io.Reader) (Sysctl, error) {
	s, _, err := ParseSysctlWarn(name, r)
	return s, err
}

// ParseSysctlWarn parses sysctl.conf(5) lines NAME=VALUE. hostnet acts on
// net.inet.ip.forwarding and net.inet6.ip6.forwarding, with the values 0
// and 1; a line that is not NAME=VALUE or a bad value for those is an
// error. Any other name (kern.maxfiles, a host's other settings) is
// ignored with a warning, so that a real host's file loads.
func ParseSysctlWarn(name string, r io.Reader) (Sysctl, []Warning, error) {
	var s Sysctl
	var errs errList
	var warns []Warning
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	n := 0
	for sc.Scan() {
		n++
		line := stripComment(sc.Text())
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok {
			errs.add(name, n, 0, "%q: want NAME=VALUE", line)
			continue
		}
		field, ok := sysctlKeys[k]
		if !ok {
			warns = append(warns, Warning{File: name, Line: n, Msg: fmt.Sprintf("%s ignored: hostnet acts only on net.inet.ip.forwarding and net.inet6.ip6.forwarding", k)})
			continue
		}
		switch v {
		case "0":
			*field(&s) = false
		case "1":
			*field(&s) = true
		case "2":
			if k == "net.inet.ip.forwarding" {
				errs.add(name, n, 0, "%s=2 (forward IPsec traffic only) is not supported; want 0 or 1", k)
				continue
			}
			fallthrough
		default:
			errs.add(name, n, 0, "%s=%q: want 0 or 1", k, v)
		}
	}
	if err := sc.Err(); err != nil {
		errs.add(name, n+1, 0, "%v", err)
	}
	return s, warns, errs.err()
}

// FormatSysctl returns s as sysctl.conf lines, the settings that are on.
func FormatSysctl(s Sysctl) []byte {
	var b strings.Builder
	if s.IPForwarding {
		b.WriteString("net.inet.ip.forwarding=1\n")
	}
	if s.IP6Forwarding {
		b.WriteString("net.inet6.ip6.forwarding=1\n")
	}
	return []byte(b.String())
}

// ParseMygate parses mygate(5): the default gateway, at most one IPv4 and
// one IPv6 address, one per line, # comments.
func ParseMygate(name string, r io.Reader) ([]netip.Addr, error) {
	var gws []netip.Addr
	var errs errList
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	n := 0
	for sc.Scan() {
		n++
		line := stripComment(sc.Text())
		if line == "" {
			continue
		}
		a, err := netip.ParseAddr(line)
		if err != nil || a.Is4In6() {
			errs.add(name, n, 0, "invalid gateway %q; want one IPv4 or IPv6 address per line", line)
			continue
		}
		if a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
			errs.add(name, n, 0, "%s cannot be a gateway", a)
			continue
		}
		if a.Zone() != "" && !a.IsLinkLocalUnicast() {
			errs.add(name, n, 0, "gateway %s: a zone is only for link-local addresses", a)
			continue
		}
		dup := false
		for _, g := range gws {
			if g.Is4() == a.Is4() {
				dup = true
			}
		}
		if dup {
			fam := "IPv6"
			if a.Is4() {
				fam = "IPv4"
			}
			errs.add(name, n, 0, "second %s gateway %s; mygate takes one IPv4 and one IPv6 address", fam, a)
			continue
		}
		gws = append(gws, a)
	}
	if err := sc.Err(); err != nil {
		errs.add(name, n+1, 0, "%v", err)
	}
	return gws, errs.err()
}

// FormatMygate returns gws as mygate lines.
func FormatMygate(gws []netip.Addr) []byte {
	var b strings.Builder
	for _, g := range gws {
		fmt.Fprintln(&b, g)
	}
	return []byte(b.String())
}
