package config

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// VMConf is a parsed vm.conf: its switches and VMs, with macros expanded
// and included files read.
type VMConf struct {
	Switches []Switch
	VMs      []VM
}

// Limits of vm.conf, as vmd has them.
const (
	MaxVMInterfaces = 4  // VM_MAX_NICS_PER_VM
	MaxVMDisks      = 4  // VM_MAX_DISKS_PER_VM
	maxVMNameLen    = 63 // VMM_MAX_NAME_LEN - 1
	maxIncludeDepth = 8
)

// ParseVMConf parses vm.conf(5) read from r; name is the file name used
// in errors. Files named by include are read from opts.FS. It returns the
// warnings of the file (unused macros) and every error, up to ten, joined.
func ParseVMConf(name string, r io.Reader, opts Options) (*VMConf, []Warning, error) {
	src, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, nil, &Error{File: name, Msg: err.Error()}
	}
	p := &vparser{opts: opts, conf: &VMConf{}, macros: map[string]*macro{}, files: []string{name}}
	p.parse(name, string(src))
	var warns []Warning
	names := make([]string, 0, len(p.macros))
	for n := range p.macros {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		ma, mb := p.macros[a], p.macros[b]
		if ma.file != mb.file {
			return strings.Compare(ma.file, mb.file)
		}
		if ma.line != mb.line {
			return ma.line - mb.line
		}
		return strings.Compare(a, b)
	})
	for _, n := range names {
		if m := p.macros[n]; !m.used {
			warns = append(warns, Warning{File: m.file, Line: m.line, Msg: fmt.Sprintf("macro %q is never used", n)})
		}
	}
	if err := p.errs.err(); err != nil {
		return nil, warns, err
	}
	return p.conf, warns, nil
}

type vparser struct {
	opts   Options
	conf   *VMConf
	macros map[string]*macro
	errs   errList
	files  []string // the include stack
	lx     *vlexer
	peeked *vtok
}

func (p *vparser) next() vtok {
	if p.peeked != nil {
		t := *p.peeked
		p.peeked = nil
		return t
	}
	return p.lx.next()
}

func (p *vparser) peek() vtok {
	if p.peeked == nil {
		t := p.lx.next()
		p.peeked = &t
	}
	return *p.peeked
}

// take returns the next token, consuming it only when it is a word or a
// string: an argument that is missing leaves the newline or brace that
// ends the option for the caller's recovery.
func (p *vparser) take() vtok {
	t := p.peek()
	if t.kind == vWord || t.kind == vString {
		p.next()
	}
	return t
}

func (p *vparser) errorf(t vtok, format string, args ...any) {
	p.errs.add(p.lx.file, t.line, t.col, format, args...)
}

// parse parses one file (vm.conf or an included one).
func (p *vparser) parse(file, src string) {
	savedLx, savedPeek := p.lx, p.peeked
	p.lx, p.peeked = newVLexer(file, src, p.macros, &p.errs), nil
	defer func() { p.lx, p.peeked = savedLx, savedPeek }()
	for {
		if p.errs.len() > maxErrors {
			return
		}
		t := p.next()
		switch t.kind {
		case vEOF:
			return
		case vNL:
			continue
		}
		if !p.statement(t) {
			p.skipLine()
			continue
		}
		if n := p.peek(); n.kind != vNL && n.kind != vEOF {
			p.errorf(n, "unexpected %s; want end of line", n)
			p.skipLine()
		}
	}
}

// skipLine skips to the end of the line, and past any block opened on it.
func (p *vparser) skipLine() {
	depth := 0
	for {
		t := p.peek()
		switch t.kind {
		case vEOF:
			return
		case vNL:
			if depth <= 0 {
				return
			}
		case vLBrace:
			depth++
		case vRBrace:
			depth--
		}
		p.next()
	}
}

// skipOpt skips the rest of a block option: up to a newline, comma or
// the block's closing brace, which it leaves.
func (p *vparser) skipOpt() {
	depth := 0
	for {
		t := p.peek()
		switch t.kind {
		case vEOF:
			return
		case vNL, vComma:
			if depth == 0 {
				return
			}
		case vLBrace:
			depth++
		case vRBrace:
			if depth == 0 {
				return
			}
			depth--
		}
		p.next()
	}
}

func (p *vparser) statement(t vtok) bool {
	if t.kind != vWord {
		p.errorf(t, "unexpected %s; want include, switch, vm or a macro definition", t)
		return false
	}
	switch t.s {
	case "include":
		return p.include(t)
	case "switch":
		return p.switchBlock(t)
	case "vm":
		return p.vmBlock(t)
	case "local":
		p.errorf(t, "local prefix and local inet6 are not supported yet (hostnet has no local interfaces)")
		return false
	case "socket", "staggered", "agentx":
		p.errorf(t, "%q is not supported (hostnet does not run VMs)", t.s)
		return false
	}
	if p.peek().kind == vEq {
		return p.varset(t)
	}
	p.errorf(t, "unknown keyword %q; want include, switch, vm or NAME = VALUE", t.s)
	return false
}

func (p *vparser) varset(t vtok) bool {
	p.next() // =
	if vmKeywords[t.s] {
		p.errorf(t, "macro name %q is a keyword", t.s)
		return false
	}
	for i := 0; i < len(t.s); i++ {
		c := t.s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			p.errorf(t, "invalid macro name %q; want letters, digits and _", t.s)
			return false
		}
	}
	v := p.take()
	if v.kind != vWord && v.kind != vString {
		p.errorf(v, "%s = %s: want a value", t.s, v)
		return false
	}
	if old, ok := p.macros[t.s]; ok {
		old.value, old.file, old.line = v.s, p.lx.file, t.line
		return true
	}
	p.macros[t.s] = &macro{value: v.s, file: p.lx.file, line: t.line}
	return true
}

func (p *vparser) include(t vtok) bool {
	f := p.take()
	if f.kind != vString && f.kind != vWord {
		p.errorf(f, "include: want a file name, found %s", f)
		return false
	}
	if len(p.files) >= maxIncludeDepth {
		p.errorf(f, "include %q: includes nested more than %d deep", f.s, maxIncludeDepth)
		return false
	}
	file, name, err := p.opts.open(f.s)
	if err != nil {
		p.errorf(f, "include: %v", err)
		return false
	}
	defer file.Close()
	if slices.Contains(p.files, name) {
		p.errorf(f, "include %q: file includes itself", f.s)
		return false
	}
	src, err := io.ReadAll(io.LimitReader(file, 16<<20))
	if err != nil {
		p.errorf(f, "include %q: %v", f.s, err)
		return false
	}
	p.files = append(p.files, name)
	p.parse(name, string(src))
	p.files = p.files[:len(p.files)-1]
	return true
}

// name reads a switch or vm name: a quoted string or an unquoted word
// that is not a keyword.
func (p *vparser) name(kw vtok) (string, bool) {
	t := p.take()
	if t.kind == vString || t.kind == vWord && !vmKeywords[t.s] {
		if t.s == "" {
			p.errorf(t, "%s: empty name", kw.s)
			return "", false
		}
		return t.s, true
	}
	p.errorf(t, "%s: want a name, found %s", kw.s, t)
	return "", false
}

// arg reads a string argument (quoted, or an unquoted non-keyword word).
func (p *vparser) arg(kw vtok, what string) (vtok, bool) {
	t := p.take()
	if t.kind == vString || t.kind == vWord && !vmKeywords[t.s] {
		return t, true
	}
	p.errorf(t, "%s: want %s, found %s", kw.s, what, t)
	return t, false
}

func (p *vparser) number(kw vtok, what string, lo, hi int) (int, bool) {
	t := p.take()
	n, err := strconv.Atoi(t.s)
	if t.kind != vWord || err != nil || n < lo || n > hi || t.s[0] == '+' || t.s[0] == '-' && n >= 0 {
		p.errorf(t, "%s: want %s %d-%d, found %s", kw.s, what, lo, hi, t)
		return 0, false
	}
	return n, true
}

// block parses { opt \n opt, opt ... } after its '{' was read. Options
// end at a newline, a comma or the closing brace; with loose (interface
// options, vmd's optcomma) they may also just follow each other.
func (p *vparser) block(open vtok, loose bool, opt func(t vtok) bool) {
	for {
		t := p.next()
		switch t.kind {
		case vNL, vComma:
			continue
		case vRBrace:
			return
		case vEOF:
			p.errorf(open, "missing '}' for the block opened here")
			return
		}
		if !opt(t) {
			p.skipOpt()
			continue
		}
		if n := p.peek(); !loose && n.kind != vNL && n.kind != vComma && n.kind != vRBrace {
			p.errorf(n, "unexpected %s; want end of line, ',' or '}'", n)
			p.skipOpt()
		}
	}
}

func (p *vparser) openBrace(kw vtok) (vtok, bool) {
	t := p.next()
	if t.kind != vLBrace {
		p.errorf(t, "%s: want '{', found %s", kw.s, t)
		return t, false
	}
	return t, true
}

func (p *vparser) switchBlock(kw vtok) bool {
	name, ok := p.name(kw)
	if !ok {
		return false
	}
	sw := Switch{Name: name, File: p.lx.file, Line: kw.line, RDomain: -1, Up: true}
	sawInterface := false
	open, ok := p.openBrace(kw)
	if !ok {
		return false
	}
	p.block(open, false, func(t vtok) bool {
		if t.kind != vWord {
			p.errorf(t, "switch %q: unexpected %s; want interface, locked lladdr, group, rdomain, up, down, enable or disable", name, t)
			return false
		}
		switch t.s {
		case "interface":
			sawInterface = true
			a, ok := p.arg(t, "a bridge interface")
			if !ok {
				return false
			}
			k, err := KindOf(a.s)
			if err != nil {
				p.errorf(a, "switch %q: %v", name, err)
				return false
			}
			if k != Bridge {
				p.errorf(a, "switch %q: interface %s is not a bridge; want bridgeN", name, a.s)
				return false
			}
			sw.Interface = a.s
		case "locked":
			if l := p.peek(); l.kind != vWord || l.s != "lladdr" {
				p.errorf(l, "locked: want lladdr, found %s", l)
				return false
			}
			p.next()
			sw.Locked = true
		case "group":
			g, ok := p.arg(t, "a group name")
			if !ok {
				return false
			}
			if msg := checkGroup(g.s); msg != "" {
				p.errorf(g, "switch %q: %s", name, msg)
				return false
			}
			sw.Group = g.s
		case "rdomain":
			n, ok := p.number(t, "routing domain", 0, 255)
			if !ok {
				return false
			}
			sw.RDomain = n
		case "up", "down":
			sw.Up = t.s == "up"
		case "enable", "disable":
			sw.Disabled = t.s == "disable"
		default:
			p.errorf(t, "switch %q: unknown option %q; want interface, locked lladdr, group, rdomain, up, down, enable or disable", name, t.s)
			return false
		}
		return true
	})
	if sw.Interface == "" {
		if sawInterface {
			return true // reported
		}
		p.errorf(kw, "switch %q has no interface; want interface bridgeN", name)
		return true
	}
	if slices.ContainsFunc(p.conf.Switches, func(s Switch) bool { return s.Name == name }) {
		p.errorf(kw, "switch %q is defined twice", name)
		return true
	}
	p.conf.Switches = append(p.conf.Switches, sw)
	return true
}

// checkVMName returns why n cannot be a VM name, or "".
func checkVMName(n string) string {
	if len(n) > maxVMNameLen {
		return fmt.Sprintf("vm name %q is longer than %d characters", n, maxVMNameLen)
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || (i > 0 && (c == '.' || c == '_' || c == '-'))) {
			return fmt.Sprintf("invalid vm name %q; want letters, digits, '.', '_' and '-', starting with a letter or digit", n)
		}
	}
	return ""
}

func (p *vparser) vmBlock(kw vtok) bool {
	name, ok := p.name(kw)
	if !ok {
		return false
	}
	if msg := checkVMName(name); msg != "" {
		p.errorf(kw, "%s", msg)
		return false
	}
	if n := p.peek(); n.kind == vWord && n.s == "instance" {
		p.errorf(n, "vm instances are not supported")
		return false
	}
	vm := VM{Name: name, File: p.lx.file, Line: kw.line}
	open, ok := p.openBrace(kw)
	if !ok {
		return false
	}
	p.block(open, false, func(t vtok) bool { return p.vmOption(&vm, t) })
	if slices.ContainsFunc(p.conf.VMs, func(v VM) bool { return v.Name == name }) {
		p.errorf(kw, "vm %q is defined twice", name)
		return true
	}
	p.conf.VMs = append(p.conf.VMs, vm)
	return true
}

const vmWant = "memory, disk, interface, interfaces, boot, cdrom, owner, enable or disable"

func (p *vparser) vmOption(vm *VM, t vtok) bool {
	if t.kind != vWord {
		p.errorf(t, "vm %q: unexpected %s; want %s", vm.Name, t, vmWant)
		return false
	}
	switch t.s {
	case "enable", "disable":
		vm.Disabled = t.s == "disable"
	case "memory":
		a := p.take()
		if a.kind != vWord && a.kind != vString {
			p.errorf(a, "memory: want a size like 1024M, found %s", a)
			return false
		}
		if vm.Memory != 0 {
			p.errorf(t, "vm %q: memory given twice", vm.Name)
			return false
		}
		n, err := parseSize(a.s)
		if err != "" {
			p.errorf(a, "memory: %s", err)
			return false
		}
		vm.Memory = n
	case "disk":
		a, ok := p.arg(t, "a disk image path")
		if !ok {
			return false
		}
		d := Disk{Path: a.s}
		if n := p.peek(); n.kind == vWord && n.s == "format" {
			p.next()
			f, ok := p.arg(n, "raw or qcow2")
			if !ok {
				return false
			}
			if f.s != "raw" && f.s != "qcow2" {
				p.errorf(f, "disk format %q: want raw or qcow2", f.s)
				return false
			}
			d.Format = f.s
		}
		if a.s == "" {
			p.errorf(a, "disk: empty path")
			return false
		}
		if len(vm.Disks) >= MaxVMDisks {
			p.errorf(t, "vm %q: too many disks; at most %d", vm.Name, MaxVMDisks)
			return false
		}
		vm.Disks = append(vm.Disks, d)
	case "boot":
		if n := p.peek(); n.kind == vWord && n.s == "device" {
			p.next()
			d := p.take()
			if d.kind != vWord || d.s != "disk" && d.s != "cdrom" && d.s != "net" {
				p.errorf(d, "boot device: want disk, cdrom or net, found %s", d)
				return false
			}
			vm.BootDevice = d.s
			break
		}
		a, ok := p.arg(t, "a kernel image path")
		if !ok {
			return false
		}
		vm.Boot = a.s
	case "cdrom":
		a, ok := p.arg(t, "an ISO image path")
		if !ok {
			return false
		}
		vm.CDROM = a.s
	case "owner":
		a := p.take()
		if a.kind != vWord && a.kind != vString || a.s == "" || a.s == ":" || strings.ContainsAny(a.s, " \t\"\\") {
			p.errorf(a, "owner: want user, user:group, :group or a uid, found %s", a)
			return false
		}
		vm.Owner = a.s
	case "interfaces":
		n, ok := p.number(t, "an interface count", 1, MaxVMInterfaces)
		if !ok {
			return false
		}
		if vm.NumInterfaces != 0 {
			p.errorf(t, "vm %q: interfaces given twice", vm.Name)
			return false
		}
		vm.NumInterfaces = n
	case "local":
		p.errorf(t, "local interface is not supported yet (vmd gives it a /31 from 100.64.0.0/10 and answers DHCP); attach the interface to a switch")
		return false
	case "interface":
		return p.vmInterface(vm, t)
	case "instance", "allow", "sev", "seves":
		p.errorf(t, "vm %q: %q is not supported", vm.Name, t.s)
		return false
	default:
		p.errorf(t, "vm %q: unknown option %q; want %s", vm.Name, t.s, vmWant)
		return false
	}
	return true
}

func (p *vparser) vmInterface(vm *VM, kw vtok) bool {
	vi := VMInterface{Line: kw.line, RDomain: -1, Up: true}
	if n := p.peek(); n.kind == vString || n.kind == vWord && !vmKeywords[n.s] {
		p.next()
		if n.s != "tap" {
			k, err := KindOf(n.s)
			switch {
			case err != nil:
				p.errorf(n, "interface: %v", err)
				return false
			case k != Tap:
				p.errorf(n, "interface %s: want tap or tapN", n.s)
				return false
			}
		}
		vi.Tap = n.s
	}
	if n := p.peek(); n.kind == vLBrace {
		open := p.next()
		p.block(open, true, func(t vtok) bool { return p.ifaceOption(&vi, t) })
	}
	if len(vm.Interfaces) >= MaxVMInterfaces {
		p.errorf(kw, "vm %q: too many interfaces; at most %d", vm.Name, MaxVMInterfaces)
		return false
	}
	vm.Interfaces = append(vm.Interfaces, vi)
	return true
}

const ifaceWant = "switch, [locked] lladdr, group, rdomain, up or down"

func (p *vparser) ifaceOption(vi *VMInterface, t vtok) bool {
	if t.kind != vWord {
		p.errorf(t, "interface: unexpected %s; want %s", t, ifaceWant)
		return false
	}
	switch t.s {
	case "switch":
		a, ok := p.arg(t, "a switch name")
		if !ok {
			return false
		}
		vi.Switch = a.s
	case "locked", "lladdr":
		if t.s == "locked" {
			if l := p.peek(); l.kind != vWord || l.s != "lladdr" {
				p.errorf(l, "locked: want lladdr, found %s", l)
				return false
			}
			p.next()
			vi.Locked = true
		}
		if n := p.peek(); n.kind == vWord && !vmKeywords[n.s] || n.kind == vString {
			p.next()
			m, err := ParseMAC(n.s)
			if err != nil {
				p.errorf(n, "lladdr: %v", err)
				return false
			}
			if m.IsMulticast() || m.IsZero() {
				p.errorf(n, "lladdr %s: want a unicast address", m)
				return false
			}
			vi.LLAddr = &m
		}
	case "group":
		g, ok := p.arg(t, "a group name")
		if !ok {
			return false
		}
		if msg := checkGroup(g.s); msg != "" {
			p.errorf(g, "interface: %s", msg)
			return false
		}
		vi.Group = g.s
	case "rdomain":
		n, ok := p.number(t, "routing domain", 0, 255)
		if !ok {
			return false
		}
		vi.RDomain = n
	case "up", "down":
		vi.Up = t.s == "up"
	default:
		p.errorf(t, "interface: unknown option %q; want %s", t.s, ifaceWant)
		return false
	}
	return true
}

// parseSize parses a vm memory size: bytes, or a number with a K, M, G
// or T suffix (an optional B after it), as scan_scaled(3). It must be at
// least 1M and is rounded down to whole megabytes, as vmd does.
func parseSize(s string) (int64, string) {
	num := strings.TrimRight(s, "bB")
	if len(s)-len(num) > 1 {
		return 0, fmt.Sprintf("invalid size %q; want bytes or a number with K, M, G or T", s)
	}
	mult := int64(1)
	if num != "" {
		switch num[len(num)-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		case 't', 'T':
			mult = 1 << 40
		}
		if mult != 1 {
			num = num[:len(num)-1]
		} else if len(num) != len(s) {
			return 0, fmt.Sprintf("invalid size %q; want bytes or a number with K, M, G or T", s)
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || num[0] == '+' || n > (1<<50)/mult {
		return 0, fmt.Sprintf("invalid size %q; want bytes or a number with K, M, G or T", s)
	}
	n *= mult
	if n < 1<<20 {
		return 0, fmt.Sprintf("size %q is less than 1M", s)
	}
	return n &^ (1<<20 - 1), ""
}
