package config

import (
	"fmt"
	"slices"
)

// Validate checks the references and ranges of s: interface names and
// kinds, bridge members and span ports (each interface in at most one
// bridge, never both a member and a span port, never a bridge), static
// entries and rules on members, vlan parents (a host NIC, tap, vether, or
// for a vlan an svlan) and one vlan per parent and VID, MTU, timeout,
// maxaddr and priority ranges, VM taps and MACs, and the gateways. It
// returns every problem found, up to ten, joined.
func (s *Spec) Validate() error {
	var errs errList
	byName := map[string]*Interface{}
	for i := range s.Interfaces {
		ifp := &s.Interfaces[i]
		file := ifp.File
		if file == "" {
			file = "hostname." + ifp.Name
		}
		if _, dup := byName[ifp.Name]; dup {
			errs.add(file, ifp.Line, 0, "interface %s is defined twice", ifp.Name)
		}
		byName[ifp.Name] = ifp
		if k, err := KindOf(ifp.Name); err != nil {
			errs.add(file, ifp.Line, 0, "%v", err)
		} else if k != ifp.Kind {
			errs.add(file, ifp.Line, 0, "interface %s has kind %s; its name says %s", ifp.Name, ifp.Kind, k)
		}
		if ifp.MTU != 0 && (ifp.MTU < 68 || ifp.MTU > 65535) {
			errs.add(file, ifp.Line, 0, "%s: mtu %d; want 68-65535", ifp.Name, ifp.MTU)
		}
		if ifp.RDomain < 0 || ifp.RDomain > 255 {
			errs.add(file, ifp.Line, 0, "%s: rdomain %d; want 0-255", ifp.Name, ifp.RDomain)
		}
		if ifp.Kind != Bridge && (len(ifp.Members) > 0 || len(ifp.Spans) > 0 || len(ifp.Rules) > 0 || len(ifp.Static) > 0) {
			errs.add(file, ifp.Line, 0, "%s is not a bridge but has bridge members, span ports, rules or static entries", ifp.Name)
		}
		if ifp.Kind == VLAN || ifp.Kind == SVLAN {
			if ifp.VNetID != -1 && (ifp.VNetID < 1 || ifp.VNetID > 4094) {
				errs.add(file, ifp.Line, 0, "%s: vnetid %d; want 1-4094", ifp.Name, ifp.VNetID)
			}
			if ifp.TxPrio < PrioPacket || ifp.TxPrio > 7 {
				errs.add(file, ifp.Line, 0, "%s: txprio %d; want 0-7 or packet", ifp.Name, ifp.TxPrio)
			}
			if ifp.RxPrio < PrioOuter || ifp.RxPrio > 7 {
				errs.add(file, ifp.Line, 0, "%s: rxprio %d; want 0-7, packet or outer", ifp.Name, ifp.RxPrio)
			}
		}
		if ifp.Kind == Bridge {
			if ifp.Timeout < 0 {
				errs.add(file, ifp.Line, 0, "%s: timeout %d; want 0 or more seconds", ifp.Name, ifp.Timeout)
			}
			if ifp.MaxAddr < 0 || ifp.MaxAddr > MaxMaxAddr {
				errs.add(file, ifp.Line, 0, "%s: maxaddr %d; want 0-%d", ifp.Name, ifp.MaxAddr, MaxMaxAddr)
			}
		}
	}
	memberOf := map[string]string{}
	spanOf := map[string]string{}
	for i := range s.Interfaces {
		br := &s.Interfaces[i]
		if br.Kind != Bridge {
			continue
		}
		for _, m := range br.Members {
			file, line := br.File, m.Line
			if m.Switch != "" {
				file, line = s.switchFile(m.Switch)
			}
			mi := byName[m.Name]
			switch {
			case mi == nil:
				errs.add(file, line, 0, "%s: member %s does not exist", br.Name, m.Name)
			case mi.Kind == Bridge:
				errs.add(file, line, 0, "%s: member %s is a bridge; a bridge cannot be a member of a bridge", br.Name, m.Name)
			}
			if other, ok := memberOf[m.Name]; ok {
				errs.add(file, line, 0, "%s is a member of both %s and %s; an interface can be in one bridge only", m.Name, other, br.Name)
			}
			memberOf[m.Name] = br.Name
			for _, id := range m.Protected {
				if id < 1 || id > 31 {
					errs.add(br.File, m.Line, 0, "%s: protected id %d of %s; want 1-31", br.Name, id, m.Name)
				}
			}
		}
		for _, sp := range br.Spans {
			if other, ok := spanOf[sp]; ok && other == br.Name {
				errs.add(br.File, br.Line, 0, "%s: span port %s given twice", br.Name, sp)
			}
			spanOf[sp] = br.Name
			if mi := byName[sp]; mi != nil && mi.Kind == Bridge {
				errs.add(br.File, br.Line, 0, "%s: span port %s is a bridge", br.Name, sp)
			}
		}
		for i, st := range br.Static {
			if i == br.MaxAddr {
				// bridge(4) refuses a static entry on a full table;
				// a configuration that asks for one does not load.
				errs.add(br.File, br.Line, 0, "%s: static %s %s: the address table is full (maxaddr %d, %d static entries)", br.Name, st.If, st.MAC, br.MaxAddr, len(br.Static))
			}
			if br.member(st.If) < 0 {
				errs.add(br.File, br.Line, 0, "%s: static %s %s: %s is not a member", br.Name, st.If, st.MAC, st.If)
			}
			if st.MAC.IsMulticast() || st.MAC.IsZero() {
				errs.add(br.File, br.Line, 0, "%s: static %s: want a unicast address", br.Name, st.MAC)
			}
		}
		for _, r := range br.Rules {
			if br.member(r.If) < 0 {
				errs.add(r.File, r.Line, 0, "%s: rule on %s: %s is not a member", br.Name, r.If, r.If)
			}
		}
	}
	// A span port cannot be a member of any bridge (bridge(4) refuses both ways).
	spans := make([]string, 0, len(spanOf))
	for sp := range spanOf {
		spans = append(spans, sp)
	}
	slices.Sort(spans)
	for _, sp := range spans {
		br := spanOf[sp]
		if m, ok := memberOf[sp]; ok {
			b := byName[br]
			errs.add(b.File, b.Line, 0, "%s is a span port of %s and a member of %s; a span port cannot be a member", sp, br, m)
		}
	}
	type vkey struct {
		parent string
		kind   Kind
		vid    int
	}
	vids := map[vkey]string{}
	for i := range s.Interfaces {
		v := &s.Interfaces[i]
		if (v.Kind != VLAN && v.Kind != SVLAN) || v.Parent == "" {
			continue
		}
		p := byName[v.Parent]
		switch {
		case p == nil:
			errs.add(v.File, v.Line, 0, "%s: parent %s does not exist", v.Name, v.Parent)
		case p.Name == v.Name:
			errs.add(v.File, v.Line, 0, "%s cannot be its own parent", v.Name)
		case p.Kind == Bridge || p.Kind == VLAN || p.Kind == SVLAN && v.Kind == SVLAN:
			want := "a host NIC, tap, vether or svlan"
			if v.Kind == SVLAN {
				want = "a host NIC, tap or vether"
			}
			errs.add(v.File, v.Line, 0, "%s: parent %s is a %s; want %s", v.Name, p.Name, p.Kind, want)
		}
		if v.VNetID > 0 {
			k := vkey{v.Parent, v.Kind, v.VNetID}
			if other, ok := vids[k]; ok {
				errs.add(v.File, v.Line, 0, "%s and %s both take vnetid %d on %s", other, v.Name, v.VNetID, v.Parent)
			}
			vids[k] = v.Name
		}
	}
	// VMs.
	taps := map[string]string{}
	macs := map[MAC]string{}
	for _, vm := range s.VMs {
		if len(vm.Interfaces) > MaxVMInterfaces {
			errs.add(vm.File, vm.Line, 0, "vm %q has %d interfaces; at most %d", vm.Name, len(vm.Interfaces), MaxVMInterfaces)
		}
		for _, vi := range vm.Interfaces {
			if vi.IfName == "" {
				continue // not resolved: ParseVMConf output
			}
			if k, err := KindOf(vi.IfName); err != nil || k != Tap {
				errs.add(vm.File, vi.Line, 0, "vm %q: interface %s is not a tap", vm.Name, vi.IfName)
			}
			if o, ok := taps[vi.IfName]; ok {
				errs.add(vm.File, vi.Line, 0, "vm %q: %s is also the interface of vm %q", vm.Name, vi.IfName, o)
			}
			taps[vi.IfName] = vm.Name
			if vi.MAC.IsMulticast() || vi.MAC.IsZero() {
				errs.add(vm.File, vi.Line, 0, "vm %q: lladdr %s is not a unicast address", vm.Name, vi.MAC)
			}
			if o, ok := macs[vi.MAC]; ok {
				errs.add(vm.File, vi.Line, 0, "vm %q: lladdr %s is also used by vm %q", vm.Name, vi.MAC, o)
			}
			macs[vi.MAC] = vm.Name
		}
	}
	v4, v6 := 0, 0
	for _, g := range s.Gateways {
		if g.Is4() {
			v4++
		} else {
			v6++
		}
	}
	if v4 > 1 || v6 > 1 {
		errs.add("mygate", 0, 0, "more than one IPv4 or IPv6 gateway")
	}
	return errs.err()
}

func (s *Spec) switchFile(name string) (string, int) {
	for _, sw := range s.Switches {
		if sw.Name == name {
			return sw.File, sw.Line
		}
	}
	return "vm.conf", 0
}

// Warnings returns the configurations of s that load but may not do what
// they seem to say:
//
//   - a vlan or svlan and its parent (or the parent's parent) in one
//     bridge: a frame the bridge floods leaves the parent both untagged
//     and tagged;
//   - a vlan or svlan with no parent or no vnetid, which passes nothing;
//   - a VM interface on a switch that vm.conf does not define or
//     disables, or whose bridge has no hostname file (hostnet creates it empty, up, with the
//     defaults);
//   - a VM interface on no switch whose tap is in no bridge and has no
//     address: it reaches nothing.
func (s *Spec) Warnings() []Warning {
	var ws []Warning
	byName := map[string]*Interface{}
	for i := range s.Interfaces {
		byName[s.Interfaces[i].Name] = &s.Interfaces[i]
	}
	for _, br := range s.Interfaces {
		if br.Kind != Bridge {
			continue
		}
		for _, m := range br.Members {
			v := byName[m.Name]
			tags := ""
			for v != nil && (v.Kind == VLAN || v.Kind == SVLAN) && v.Parent != "" {
				if tags == "" {
					tags = fmt.Sprint(v.VNetID)
				} else {
					tags = fmt.Sprintf("%d and %s (QinQ)", v.VNetID, tags)
				}
				if i := br.member(v.Parent); i >= 0 {
					ws = append(ws, Warning{File: br.File, Line: max(m.Line, br.Members[i].Line), Msg: fmt.Sprintf(
						"%s: %s and its parent %s are both members; a frame the bridge floods leaves %s both untagged and tagged %s",
						br.Name, m.Name, v.Parent, v.Parent, tags)})
				}
				v = byName[v.Parent]
			}
		}
	}
	for _, v := range s.Interfaces {
		if v.Kind != VLAN && v.Kind != SVLAN {
			continue
		}
		file := v.File
		if file == "" {
			file = "hostname." + v.Name
		}
		if v.Parent == "" {
			ws = append(ws, Warning{File: file, Line: v.Line, Msg: fmt.Sprintf("%s has no parent (parent IF); it passes no frames", v.Name)})
		}
		if v.VNetID < 0 {
			ws = append(ws, Warning{File: file, Line: v.Line, Msg: fmt.Sprintf("%s has no vnetid (vnetid N); it passes no frames", v.Name)})
		}
	}
	switches := map[string]Switch{}
	for _, sw := range s.Switches {
		switches[sw.Name] = sw
	}
	member := map[string]bool{}
	for _, br := range s.Interfaces {
		for _, m := range br.Members {
			member[m.Name] = true
		}
	}
	warned := map[string]bool{}
	for _, vm := range s.VMs {
		for _, vi := range vm.Interfaces {
			if vi.Switch == "" {
				if tp := byName[vi.IfName]; tp != nil && len(tp.Inet) == 0 && len(tp.Inet6) == 0 && !member[vi.IfName] {
					ws = append(ws, Warning{File: vm.File, Line: vi.Line, Msg: fmt.Sprintf("vm %q: interface %s is on no switch, in no bridge and has no address; it reaches nothing", vm.Name, vi.IfName)})
				}
				continue
			}
			sw, ok := switches[vi.Switch]
			if !ok {
				ws = append(ws, Warning{File: vm.File, Line: vi.Line, Msg: fmt.Sprintf("vm %q: switch %q is not defined; interface %s joins no bridge", vm.Name, vi.Switch, vi.IfName)})
				continue
			}
			if sw.Disabled {
				ws = append(ws, Warning{File: vm.File, Line: vi.Line, Msg: fmt.Sprintf("vm %q: switch %q is disabled; interface %s joins no bridge", vm.Name, vi.Switch, vi.IfName)})
				continue
			}
			if br := byName[sw.Interface]; (br == nil || !isHostnameFile(br.File)) && !warned[sw.Name] {
				warned[sw.Name] = true
				ws = append(ws, Warning{File: sw.File, Line: sw.Line, Msg: fmt.Sprintf("switch %q: %s has no hostname.%s; hostnet creates it with no members but the VMs' taps", sw.Name, sw.Interface, sw.Interface)})
			}
		}
	}
	return sortWarnings(ws)
}

// sortWarnings orders warnings by file and line, keeping the order of
// those at the same place.
func sortWarnings(ws []Warning) []Warning {
	slices.SortStableFunc(ws, func(a, b Warning) int {
		if a.File != b.File {
			if a.File < b.File {
				return -1
			}
			return 1
		}
		return a.Line - b.Line
	})
	return ws
}

func isHostnameFile(f string) bool {
	return len(f) > len("hostname.") && f[:len("hostname.")] == "hostname."
}
