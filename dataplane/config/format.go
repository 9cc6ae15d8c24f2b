package config

import (
	"fmt"
	"strings"
)

// Format returns the files of s, by name, such that Load of a directory
// holding them gives s again (up to file and line positions): a
// hostname.IF for every interface that has one, sysctl.conf, mygate and
// one vm.conf with macros expanded and includes read. Rules read from a
// rulefile are written inline.
func Format(s *Spec) map[string][]byte {
	files := map[string][]byte{}
	for i := range s.Interfaces {
		ifp := &s.Interfaces[i]
		if isHostnameFile(ifp.File) {
			files["hostname."+ifp.Name] = FormatHostnameIf(ifp)
		}
	}
	if b := FormatSysctl(s.Sysctl); len(b) > 0 {
		files["sysctl.conf"] = b
	}
	if len(s.Gateways) > 0 {
		files["mygate"] = FormatMygate(s.Gateways)
	}
	if len(s.Switches) > 0 || len(s.VMs) > 0 {
		files["vm.conf"] = FormatVMConf(&VMConf{Switches: s.Switches, VMs: s.VMs})
	}
	return files
}

func prioString(p int) string {
	switch p {
	case PrioPacket:
		return "packet"
	case PrioOuter:
		return "outer"
	}
	return fmt.Sprint(p)
}

// FormatHostnameIf returns ifp as a hostname.if file that ParseHostnameIf
// reads back to ifp. Members added from vm.conf (BridgeMember.Switch) and
// the VM fields set by Load are left out: they come from vm.conf.
func FormatHostnameIf(ifp *Interface) []byte {
	var b strings.Builder
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	if ifp.Description != "" {
		line("description %s", quote(ifp.Description))
	}
	for _, g := range ifp.Groups {
		line("group %s", g)
	}
	if ifp.RDomain != 0 {
		line("rdomain %d", ifp.RDomain)
	}
	if ifp.LLAddr != nil {
		line("lladdr %s", ifp.LLAddr)
	} else if ifp.LLAddrRandom {
		line("lladdr random")
	}
	if ifp.MTU != 0 {
		line("mtu %d", ifp.MTU)
	}
	if ifp.Kind == VLAN || ifp.Kind == SVLAN {
		if ifp.Parent != "" {
			line("parent %s", ifp.Parent)
		}
		if ifp.VNetID >= 0 {
			line("vnetid %d", ifp.VNetID)
		}
		if ifp.TxPrio != PrioPacket {
			line("txprio %s", prioString(ifp.TxPrio))
		}
		if ifp.RxPrio != PrioOuter {
			line("rxprio %s", prioString(ifp.RxPrio))
		}
	}
	for _, a := range ifp.Inet {
		alias := ""
		if a.Alias {
			alias = "alias "
		}
		if a.Broadcast.IsValid() {
			line("inet %s%s broadcast %s", alias, a.Prefix, a.Broadcast)
		} else {
			line("inet %s%s", alias, a.Prefix)
		}
		if a.Dest.IsValid() {
			line("dest %s", a.Dest)
		}
	}
	for _, a := range ifp.Inet6 {
		alias := ""
		if a.Alias {
			alias = "alias "
		}
		line("inet6 %s%s", alias, a.Prefix)
		if a.Dest.IsValid() {
			line("dest %s", a.Dest)
		}
	}
	if ifp.Kind == Bridge {
		if ifp.Timeout != DefaultTimeout {
			line("timeout %d", ifp.Timeout)
		}
		if ifp.MaxAddr != DefaultMaxAddr {
			line("maxaddr %d", ifp.MaxAddr)
		}
		for _, m := range ifp.Members {
			if m.Switch != "" {
				continue
			}
			line("add %s", m.Name)
			if !m.Learn {
				line("-learn %s", m.Name)
			}
			if !m.Discover {
				line("-discover %s", m.Name)
			}
			if m.BlockNonIP {
				line("blocknonip %s", m.Name)
			}
			if len(m.Protected) > 0 {
				ids := make([]string, len(m.Protected))
				for i, id := range m.Protected {
					ids[i] = fmt.Sprint(id)
				}
				line("protected %s %s", m.Name, strings.Join(ids, ","))
			}
		}
		for _, st := range ifp.Static {
			line("static %s %s", st.If, st.MAC)
		}
		for _, sp := range ifp.Spans {
			line("addspan %s", sp)
		}
		for i := range ifp.Rules {
			line("rule %s", FormatRule(&ifp.Rules[i]))
		}
	}
	for i, on := range ifp.Link {
		if on {
			line("link%d", i)
		}
	}
	if ifp.Up {
		line("up")
	}
	return []byte(b.String())
}

// FormatRule returns r as ifconfig(8) takes it after the word rule.
func FormatRule(r *BridgeRule) string {
	var b strings.Builder
	b.WriteString(r.Action.String())
	if r.Dir != DirBoth {
		b.WriteString(" " + r.Dir.String())
	}
	b.WriteString(" on " + r.If)
	if r.Src != nil {
		b.WriteString(" src " + r.Src.String())
	}
	if r.Dst != nil {
		b.WriteString(" dst " + r.Dst.String())
	}
	if r.Tag != "" {
		b.WriteString(" tag " + quote(r.Tag))
	}
	if a := r.ARP; a != nil {
		if a.RARP {
			b.WriteString(" rarp")
		} else {
			b.WriteString(" arp")
		}
		switch a.Op {
		case ARPRequest:
			b.WriteString(" request")
		case ARPReply:
			b.WriteString(" reply")
		}
		if a.SHA != nil {
			b.WriteString(" sha " + a.SHA.String())
		}
		if a.SPA.IsValid() {
			b.WriteString(" spa " + a.SPA.String())
		}
		if a.THA != nil {
			b.WriteString(" tha " + a.THA.String())
		}
		if a.TPA.IsValid() {
			b.WriteString(" tpa " + a.TPA.String())
		}
	}
	return b.String()
}

// vmQuote returns s as a vm.conf quoted string.
func vmQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// FormatVMConf returns c as vm.conf text that ParseVMConf reads back to c.
// Interfaces are written as given (Tap, LLAddr), not as Load resolved them.
func FormatVMConf(c *VMConf) []byte {
	var b strings.Builder
	for i, sw := range c.Switches {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "switch %s {\n", vmQuote(sw.Name))
		fmt.Fprintf(&b, "\tinterface %s\n", sw.Interface)
		if sw.Locked {
			b.WriteString("\tlocked lladdr\n")
		}
		if sw.Group != "" {
			fmt.Fprintf(&b, "\tgroup %s\n", vmQuote(sw.Group))
		}
		if sw.RDomain >= 0 {
			fmt.Fprintf(&b, "\trdomain %d\n", sw.RDomain)
		}
		if !sw.Up {
			b.WriteString("\tdown\n")
		}
		if sw.Disabled {
			b.WriteString("\tdisable\n")
		}
		b.WriteString("}\n")
	}
	for i, vm := range c.VMs {
		if i > 0 || len(c.Switches) > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "vm %s {\n", vmQuote(vm.Name))
		if vm.Disabled {
			b.WriteString("\tdisable\n")
		}
		if vm.Owner != "" {
			fmt.Fprintf(&b, "\towner %s\n", vmQuote(vm.Owner))
		}
		if vm.Memory != 0 {
			fmt.Fprintf(&b, "\tmemory %dM\n", vm.Memory>>20)
		}
		if vm.Boot != "" {
			fmt.Fprintf(&b, "\tboot %s\n", vmQuote(vm.Boot))
		}
		if vm.BootDevice != "" {
			fmt.Fprintf(&b, "\tboot device %s\n", vm.BootDevice)
		}
		if vm.CDROM != "" {
			fmt.Fprintf(&b, "\tcdrom %s\n", vmQuote(vm.CDROM))
		}
		for _, d := range vm.Disks {
			if d.Format != "" {
				fmt.Fprintf(&b, "\tdisk %s format %s\n", vmQuote(d.Path), d.Format)
			} else {
				fmt.Fprintf(&b, "\tdisk %s\n", vmQuote(d.Path))
			}
		}
		if vm.NumInterfaces != 0 {
			fmt.Fprintf(&b, "\tinterfaces %d\n", vm.NumInterfaces)
		}
		for _, vi := range vm.Interfaces {
			b.WriteString("\tinterface")
			if vi.Tap != "" {
				b.WriteString(" " + vi.Tap)
			}
			var opts []string
			if vi.Switch != "" {
				opts = append(opts, "switch "+vmQuote(vi.Switch))
			}
			switch {
			case vi.Locked && vi.LLAddr != nil:
				opts = append(opts, "locked lladdr "+vi.LLAddr.String())
			case vi.Locked:
				opts = append(opts, "locked lladdr")
			case vi.LLAddr != nil:
				opts = append(opts, "lladdr "+vi.LLAddr.String())
			}
			if vi.Group != "" {
				opts = append(opts, "group "+vmQuote(vi.Group))
			}
			if vi.RDomain >= 0 {
				opts = append(opts, fmt.Sprintf("rdomain %d", vi.RDomain))
			}
			if !vi.Up {
				opts = append(opts, "down")
			}
			if len(opts) > 0 {
				b.WriteString(" { " + strings.Join(opts, ", ") + " }")
			}
			b.WriteByte('\n')
		}
		b.WriteString("}\n")
	}
	return []byte(b.String())
}
