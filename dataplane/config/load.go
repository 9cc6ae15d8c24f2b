package config

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Load reads the configuration directory dir: every hostname.IF file (the
// interface named by what follows "hostname."), sysctl.conf, mygate and
// vm.conf, each optional. It then completes the Spec as the host would
// have it running:
//
//   - every interface only named by another (a bridge member, span port
//     or vlan parent with no file) gets an Interface of the kind its name
//     says, taken as up;
//   - every VM interface gets its tap, as written or the lowest-numbered
//     tapN that no hostname file, bridge and no other VM names (in the
//     order of vm.conf, as vmd picks them), and its guest MAC, as written
//     or generated (see GuestMAC);
//   - the tap of a VM interface on a switch becomes a member of the
//     switch's bridge, which is created if it has no file.
//
// It validates the result (Validate) and returns the warnings of
// Spec.Warnings and vm.conf. All errors of all files are returned joined;
// on error the Spec is nil.
func Load(dir string) (*Spec, []Warning, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	fsys := os.DirFS(dir)
	opts := Options{FS: fsys}
	s := &Spec{Dir: dir}
	var errs []error
	var warns []Warning
	read := func(name string) ([]byte, bool) {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, &Error{File: name, Msg: unwrapPathErr(err).Error()})
			}
			return nil, false
		}
		return b, true
	}
	for _, e := range entries {
		name := e.Name()
		ifname, ok := strings.CutPrefix(name, "hostname.")
		if !ok || e.IsDir() {
			continue
		}
		b, ok := read(name)
		if !ok {
			continue
		}
		ifp, err := ParseHostnameIf(name, ifname, bytes.NewReader(b), opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.Interfaces = append(s.Interfaces, *ifp)
	}
	if b, ok := read("sysctl.conf"); ok {
		var w []Warning
		s.Sysctl, w, err = ParseSysctlWarn("sysctl.conf", bytes.NewReader(b))
		warns = append(warns, w...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if b, ok := read("mygate"); ok {
		if s.Gateways, err = ParseMygate("mygate", bytes.NewReader(b)); err != nil {
			errs = append(errs, err)
		}
	}
	if b, ok := read("vm.conf"); ok {
		vc, w, err := ParseVMConf("vm.conf", bytes.NewReader(b), opts)
		warns = append(warns, w...)
		if err != nil {
			errs = append(errs, err)
		} else {
			s.Switches, s.VMs = vc.Switches, vc.VMs
		}
	}
	if len(errs) > 0 {
		return nil, warns, errors.Join(errs...)
	}
	if err := s.resolve(); err != nil {
		return nil, warns, err
	}
	if err := s.Validate(); err != nil {
		return nil, warns, err
	}
	return s, sortWarnings(append(warns, s.Warnings()...)), nil
}

// resolve completes a freshly parsed Spec as Load documents.
func (s *Spec) resolve() error {
	var errs errList
	byName := map[string]int{}
	for i, ifp := range s.Interfaces {
		byName[ifp.Name] = i
	}
	ensure := func(name, file string, line int) *Interface {
		if i, ok := byName[name]; ok {
			return &s.Interfaces[i]
		}
		k, err := KindOf(name)
		if err != nil {
			errs.add(file, line, 0, "%v", err)
			return nil
		}
		ifp := newInterface(name, k)
		ifp.Up = true
		byName[name] = len(s.Interfaces)
		s.Interfaces = append(s.Interfaces, *ifp)
		return &s.Interfaces[len(s.Interfaces)-1]
	}

	// Taps: those named anywhere are taken; the others get the lowest free.
	used := map[string]bool{}
	for _, ifp := range s.Interfaces {
		if ifp.Kind == Tap {
			used[ifp.Name] = true
		}
		for _, m := range ifp.Members {
			used[m.Name] = true
		}
		used[ifp.Parent] = true
		for _, sp := range ifp.Spans {
			used[sp] = true
		}
	}
	owner := map[string]string{}
	for _, vm := range s.VMs {
		for _, vi := range vm.Interfaces {
			if vi.Tap == "" || vi.Tap == "tap" {
				continue
			}
			if o, ok := owner[vi.Tap]; ok {
				errs.add(vm.File, vi.Line, 0, "vm %q: %s is already the interface of vm %q", vm.Name, vi.Tap, o)
			}
			owner[vi.Tap] = vm.Name
			used[vi.Tap] = true
		}
	}
	macs := map[MAC]bool{}
	for _, vm := range s.VMs {
		for _, vi := range vm.Interfaces {
			if vi.LLAddr != nil {
				macs[*vi.LLAddr] = true
			}
		}
	}
	next := 0
	for v := range s.VMs {
		vm := &s.VMs[v]
		for len(vm.Interfaces) < vm.NumInterfaces {
			vm.Interfaces = append(vm.Interfaces, VMInterface{Line: vm.Line, RDomain: -1, Up: true})
		}
		for i := range vm.Interfaces {
			vi := &vm.Interfaces[i]
			vi.IfName = vi.Tap
			if vi.Tap == "" || vi.Tap == "tap" {
				for used["tap"+strconv.Itoa(next)] {
					next++
				}
				vi.IfName = "tap" + strconv.Itoa(next)
				used[vi.IfName] = true
			}
			if vi.LLAddr != nil {
				vi.MAC = *vi.LLAddr
			} else {
				vi.MAC = GuestMAC(vm.Name, i)
				for macs[vi.MAC] {
					vi.MAC[5]++
					if vi.MAC[5] == 0 {
						vi.MAC[4]++
					}
				}
				macs[vi.MAC] = true
			}
		}
	}

	// Implied interfaces: members, span ports and parents without a file.
	for i := 0; i < len(s.Interfaces); i++ {
		ifp := s.Interfaces[i]
		for _, m := range ifp.Members {
			ensure(m.Name, ifp.File, m.Line)
		}
		for _, sp := range ifp.Spans {
			ensure(sp, ifp.File, ifp.Line)
		}
		if ifp.Parent != "" {
			ensure(ifp.Parent, ifp.File, ifp.Line)
		}
	}

	// VM taps, and their bridges.
	switches := map[string]*Switch{}
	for i := range s.Switches {
		switches[s.Switches[i].Name] = &s.Switches[i]
	}
	for _, vm := range s.VMs {
		for _, vi := range vm.Interfaces {
			tp := ensure(vi.IfName, vm.File, vi.Line)
			if tp == nil {
				continue
			}
			if tp.File == "" {
				tp.File, tp.Line = vm.File, vi.Line
			}
			tp.Up = vi.Up
			tp.VM = vm.Name
			tp.GuestLLAddr = vi.MAC
			tp.Locked = tp.Locked || vi.Locked
			if vi.Group != "" && !slices.Contains(tp.Groups, vi.Group) {
				tp.Groups = append(tp.Groups, vi.Group)
			}
			if vi.RDomain >= 0 {
				tp.RDomain = vi.RDomain
			}
			sw := switches[vi.Switch]
			if sw == nil || sw.Disabled {
				continue // a warning
			}
			if sw.Locked {
				tp.Locked = true
			}
			if vi.RDomain < 0 && sw.RDomain >= 0 {
				tp.RDomain = sw.RDomain
			}
			tapName := tp.Name
			br := ensure(sw.Interface, sw.File, sw.Line)
			if br == nil {
				continue
			}
			if br.File == "" {
				br.Up = sw.Up
				if sw.RDomain >= 0 {
					br.RDomain = sw.RDomain
				}
			}
			if sw.Group != "" && !slices.Contains(br.Groups, sw.Group) {
				br.Groups = append(br.Groups, sw.Group)
			}
			if br.member(tapName) < 0 {
				br.Members = append(br.Members, BridgeMember{Name: tapName, Learn: true, Discover: true, Line: vi.Line, Switch: sw.Name})
			}
		}
	}
	slices.SortFunc(s.Interfaces, func(a, b Interface) int { return cmpName(a.Name, b.Name) })
	return errs.err()
}

// GuestMAC returns the MAC hostnet gives interface i of the VM named vm
// when vm.conf gives none: fe:e1:ba:d0 (vmd's prefix for guest MACs: a
// locally administered unicast address) and two bytes of the FNV-1a hash
// of the name and index, so it is the same on every start. Load moves a
// MAC that collides with another VM's to the next free one.
func GuestMAC(vm string, i int) MAC {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s\x00%d", vm, i)
	v := h.Sum32()
	return MAC{0xfe, 0xe1, 0xba, 0xd0, byte(v>>8) ^ byte(v>>24), byte(v) ^ byte(v>>16)}
}
