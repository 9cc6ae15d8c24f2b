package pfconf

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ParseOptions are what a parse may know about the machine it describes.
// Nothing is read from the running system: a Spec depends only on the
// input text and these options.
type ParseOptions struct {
	// Interfaces are the interfaces (and through them the groups) that
	// interface names in addresses resolve against: `from em0`,
	// `nat-to lo0`, `antispoof for em0`, table entries. A name not
	// found here is not an interface.
	Interfaces []Interface

	// Dir, when set, is the configuration directory: include, load
	// anchor and table file paths resolve inside it (an absolute path
	// /etc/X means Dir/X, a relative path is relative to Dir). When
	// empty, paths are used as written.
	Dir string

	// ReadFile reads a file named by include, load anchor or a table's
	// file; nil means os.ReadFile.
	ReadFile func(name string) ([]byte, error)

	// VMs are the VMs of vm.conf. An anchor loaded as vm/NAME for a VM
	// called NAME has the macros vm_name and vm_if predefined (hostnet's
	// extension; a macro the file defines itself wins).
	VMs []VM
}

// Interface is one interface of the host as pfctl would see it.
type Interface struct {
	Name         string
	Addrs        []IfAddr // in the order the system lists them
	Groups       []string // interface groups it belongs to ("egress", "lo")
	Loopback     bool
	Broadcast    bool // IFF_BROADCAST: :broadcast gives the IPv4 broadcast address
	PointToPoint bool
}

// IfAddr is one address of an interface with its prefix length. A zone
// marks a scoped address (fe80::1%lo0). Peer is the far end of a
// point-to-point link.
type IfAddr struct {
	Addr netip.Addr
	Bits int
	Peer netip.Addr
}

// VM names a virtual machine and its first tap interface.
type VM struct {
	Name string
	If   string
}

// Parse parses a pf.conf read from r, named name in errors, with no
// interface knowledge and paths used as written.
func Parse(name string, r io.Reader) (*Spec, error) {
	return ParseWith(name, r, ParseOptions{})
}

// ParseWith parses a pf.conf read from r under opts. Every error of the
// file is reported (up to ten, joined); a file with any error gives no
// Spec.
func ParseWith(name string, r io.Reader, opts ParseOptions) (*Spec, error) {
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return parseMain(name, src, opts)
}

// Load parses DIR/FILE with opts.Dir = dir: includes and `load anchor`
// files resolve inside dir, and the glob form `load anchor "vm/*" from
// "/etc/pf.vm/*.conf"` loads each matching file into vm/<basename
// without .conf>.
func Load(dir, file string, opts ParseOptions) (*Spec, error) {
	opts.Dir = dir
	name := opts.resolve(file)
	src, err := opts.read(name)
	if err != nil {
		return nil, err
	}
	return parseMain(name, src, opts)
}

func (o *ParseOptions) read(name string) ([]byte, error) {
	if o.ReadFile != nil {
		return o.ReadFile(name)
	}
	return os.ReadFile(name)
}

// resolve maps a path written in a file to the path to open.
func (o *ParseOptions) resolve(p string) string {
	if o.Dir == "" {
		return p
	}
	if strings.HasPrefix(p, "/etc/") {
		p = strings.TrimPrefix(p, "/etc")
	}
	if filepath.IsAbs(p) {
		return filepath.Join(o.Dir, p)
	}
	return filepath.Join(o.Dir, p)
}

// loader holds what one load shares across files: the Spec being built,
// the errors and counters pfctl keeps per run.
type loader struct {
	opts      ParseOptions
	spec      *Spec
	errs      errList
	autoTable int // __automatic_N tables for pools
	optTable  int // __automatic_<hex>_N tables of the optimizer
	inlineNr  int // names of unnamed inline anchors (_N)
	depth     int // include/load nesting
	ifs       map[string]*Interface
}

func parseMain(name string, src []byte, opts ParseOptions) (*Spec, error) {
	ld := &loader{opts: opts, spec: &Spec{File: name, Anchors: map[string]*Ruleset{}}}
	ld.ifs = map[string]*Interface{}
	for i := range opts.Interfaces {
		ld.ifs[opts.Interfaces[i].Name] = &opts.Interfaces[i]
	}
	ld.spec.Main.File = name
	p := ld.newParser(name, src, &ld.spec.Main, map[string]string{}, true)
	p.parse()
	if err := ld.errs.err(); err != nil {
		return nil, err
	}
	if err := ld.spec.Validate(); err != nil {
		return nil, err
	}
	return ld.spec, nil
}

// parser parses one file into one ruleset.
type parser struct {
	ld       *loader
	file     string
	lx       *lexer
	rs       *Ruleset // the ruleset rules go to
	macros   map[string]string
	echo     bool // print-while-parsing lines go to Spec.Echo
	policy   BlockPolicy
	stmtErr  bool
	stmtLine int
	// blockDepth counts the inline anchor bodies being parsed: a "}"
	// ends one only inside one.
	blockDepth int
}

func (ld *loader) newParser(file string, src []byte, rs *Ruleset, macros map[string]string, echo bool) *parser {
	p := &parser{ld: ld, file: file, rs: rs, macros: macros, echo: echo}
	p.lx = newLexer(src, macros, func(line int, format string, args ...any) {
		p.errorAt(line, format, args...)
	})
	return p
}

// stmtError aborts the statement being parsed; the error is recorded.
type stmtError struct{}

func (p *parser) errorAt(line int, format string, args ...any) {
	if p.stmtErr {
		return
	}
	p.stmtErr = true
	p.ld.errs.add(p.file, line, format, args...)
}

// fail records an error at the current statement and aborts it.
func (p *parser) fail(format string, args ...any) {
	p.errorAt(p.stmtLine, format, args...)
	panic(stmtError{})
}

func (p *parser) failTok(t token, want string) {
	if t.kind == tNL || t.kind == tEOF {
		p.fail("syntax error: unexpected %s; want %s", t, want)
	}
	p.fail("syntax error: unexpected %s; want %s", t, want)
}

func (p *parser) peek() token       { return p.lx.peek() }
func (p *parser) next() token       { return p.lx.next() }
func (p *parser) peekN(n int) token { return p.lx.peekN(n) }

// isWord reports whether t is the unquoted word w.
func isWord(t token, w string) bool { return t.kind == tWord && t.s == w }

func isPunct(t token, s string) bool { return t.kind == tPunct && t.s == s }

func (p *parser) accept(w string) bool {
	if isWord(p.peek(), w) {
		p.next()
		return true
	}
	return false
}

func (p *parser) acceptPunct(s string) bool {
	if isPunct(p.peek(), s) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expect(w string) {
	if t := p.next(); !isWord(t, w) {
		p.failTok(t, w)
	}
}

func (p *parser) expectPunct(s string) {
	if t := p.next(); !isPunct(t, s) {
		p.failTok(t, `"`+s+`"`)
	}
}

// str reads a name: an unquoted word, a quoted string or a number.
func (p *parser) str(what string) string {
	t := p.next()
	if t.kind == tWord || t.kind == tString || t.kind == tNumber {
		return t.s
	}
	p.failTok(t, what)
	return ""
}

func (p *parser) number(what string, lo, hi int64) int64 {
	t := p.next()
	if t.kind != tNumber {
		p.failTok(t, what)
	}
	n, err := strconv.ParseInt(t.s, 10, 64)
	if err != nil || n < lo || n > hi {
		p.fail("%s %s out of range (%d-%d)", what, t.s, lo, hi)
	}
	return n
}

func (p *parser) skipNL() {
	for p.peek().kind == tNL {
		p.next()
	}
}

// endStmt requires the end of the statement.
func (p *parser) endStmt() {
	t := p.peek()
	if t.kind == tNL || t.kind == tEOF || isPunct(t, "}") {
		return
	}
	p.failTok(t, "end of line")
}

// parse parses statements to the end of the file.
func (p *parser) parse() {
	for {
		p.skipNL()
		t := p.peek()
		if t.kind == tEOF {
			return
		}
		if isPunct(t, "}") {
			p.stmtErr = false
			p.stmtLine = t.line
			p.next()
			p.errorAt(t.line, "syntax error: unexpected \"}\"")
			continue
		}
		p.statement()
	}
}

// statement parses one statement, recovering from its errors.
func (p *parser) statement() {
	p.stmtErr = false
	p.stmtLine = p.peek().line
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(stmtError); !ok {
				panic(r)
			}
			// Skip the rest of the line; an inline anchor body is
			// skipped to its closing brace.
			depth := 0
			for {
				t := p.peek()
				if t.kind == tEOF {
					return
				}
				if isPunct(t, "{") {
					depth++
				}
				if isPunct(t, "}") {
					if depth == 0 && p.blockDepth > 0 {
						return
					}
					if depth > 0 {
						depth--
					}
				}
				p.next()
				if t.kind == tNL && depth == 0 {
					return
				}
			}
		}
	}()
	p.statementBody()
	if p.stmtErr {
		panic(stmtError{})
	}
}

func (p *parser) statementBody() {
	t := p.peek()
	if t.kind == tWord && isPunct(p.peekN(1), "=") {
		p.macroDef()
		return
	}
	if t.kind == tString && isPunct(p.peekN(1), "=") {
		p.macroDef()
		return
	}
	if t.kind != tWord {
		p.failTok(p.next(), "pass, block, match, anchor, table, set or a macro")
	}
	switch t.s {
	case "pass", "block", "match":
		p.ruleStmt()
	case "anchor":
		p.anchorStmt()
	case "load":
		p.loadAnchor()
	case "table":
		p.tableDef()
	case "set":
		p.setOption()
	case "include":
		p.include()
	case "antispoof":
		p.antispoof()
	case "queue", "altq":
		p.fail("%s: queueing is not supported by hostnet", t.s)
	case "nat", "rdr", "binat", "scrub", "nat-anchor", "rdr-anchor", "binat-anchor":
		p.fail("%s: this syntax was removed from pf; use match/pass with nat-to, rdr-to, binat-to or scrub (...)", t.s)
	default:
		p.fail("syntax error: unknown keyword %q; want pass, block, match, anchor, table, set or a macro", t.s)
	}
	p.endStmt()
}

// keywords are pfctl's reserved words: they cannot name a macro.
var keywords = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`af-to all allow-opts altq anchor antispoof any
		bandwidth binat-to bitmask block block-policy burst code const counters
		debug default delay divert-packet divert-reply divert-to drop dup-to
		file fingerprints flags floating flows flush for fragment from global
		group hostid icmp-type icmp6-type if-bound in include inet inet6 keep
		label least-states limit load log loginterface match matches max
		max-mss max-pkt-rate max-src-conn max-src-conn-rate max-src-nodes
		max-src-states min min-ttl modulate nat-to no no-df no-route no-sync
		on once optimization os out overload parent pass pflow port prio
		probability proto qlimit queue quick random random-id rdomain rdr-to
		reassemble received-on reply-to return return-icmp return-icmp6
		return-rst round-robin route route-to rtable rule ruleset-optimization
		scrub set skip sloppy source-hash source-track state state-defaults
		state-policy static-port sticky-address syncookies synproxy table
		tag tagged timeout to tos ttl urpf-failed user weight`) {
		keywords[k] = true
	}
}

func (p *parser) macroDef() {
	nameTok := p.next()
	name := nameTok.s
	p.next() // =
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		p.fail("macro name %q must start with a letter or _", name)
	}
	if nameTok.kind == tWord && keywords[name] {
		p.fail("syntax error: %q is a keyword and cannot name a macro", name)
	}
	for _, c := range name {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			p.fail("macro name %q: only letters, digits and _ allowed", name)
		}
	}
	var parts []string
	for {
		t := p.peek()
		if t.kind == tWord || t.kind == tString || t.kind == tNumber {
			parts = append(parts, p.next().s)
			continue
		}
		break
	}
	if len(parts) == 0 {
		p.failTok(p.next(), "a value")
	}
	p.endStmt()
	val := strings.Join(parts, " ")
	p.macros[name] = val
	p.echof("%s = \"%s\"", name, val)
}

func (p *parser) echof(format string, args ...any) {
	if p.echo {
		p.ld.spec.Echo = append(p.ld.spec.Echo, fmt.Sprintf(format, args...))
	}
}

// include parses another file in place, with the same macros.
func (p *parser) include() {
	p.next()
	name := p.str("a file name")
	p.endStmt()
	if p.ld.depth > 16 {
		p.fail("include %q: nested too deep", name)
	}
	real := p.ld.opts.resolve(name)
	src, err := p.ld.opts.read(real)
	if err != nil {
		p.fail("include %q: %v", name, err)
	}
	sub := p.ld.newParser(real, src, p.rs, p.macros, p.echo)
	sub.policy = p.policy
	p.ld.depth++
	sub.parse()
	p.ld.depth--
	p.policy = sub.policy
}

// setOption parses `set ...`.
func (p *parser) setOption() {
	p.next()
	o := &p.ld.spec.Options
	anchored := p.rs.Path != ""
	t := p.next()
	if t.kind != tWord {
		p.failTok(t, "an option name")
	}
	if anchored && t.s != "block-policy" {
		p.fail("set %s: options are global and cannot be set in anchor %q", t.s, p.rs.Path)
	}
	switch t.s {
	case "block-policy":
		switch v := p.str("drop or return"); v {
		case "drop":
			p.policy = PolicyDrop
		case "return":
			p.policy = PolicyReturn
		default:
			p.fail("set block-policy %q: want drop or return", v)
		}
		if !anchored {
			o.BlockPolicy = p.policy
		}
		if p.policy == PolicyDrop {
			p.echof("set block-policy drop")
		} else {
			p.echof("set block-policy return")
		}
	case "state-policy":
		switch v := p.str("if-bound or floating"); v {
		case "if-bound":
			o.StatePolicy = StateIfBound
		case "floating":
			o.StatePolicy = StateFloating
		default:
			p.fail("set state-policy %q: want if-bound or floating", v)
		}
		if o.StatePolicy == StateIfBound {
			p.echof("set state-policy if-bound")
		} else {
			p.echof("set state-policy floating")
		}
	case "optimization":
		v := p.str("an optimization")
		switch v {
		case "normal", "default", "high-latency", "satellite", "aggressive", "conservative":
		default:
			p.fail("unknown optimization %s", v)
		}
		o.Optimization = v
		p.echof("set optimization %s", v)
	case "ruleset-optimization":
		v := p.str("none, basic or profile")
		switch v {
		case "none", "basic", "profile":
		default:
			p.fail("unknown ruleset-optimization %s", v)
		}
		o.RulesetOpt = v
		p.echof("set ruleset-optimization %s", v)
	case "timeout":
		p.keyValues(func(k string, v int64) {
			if timeoutIndex(k) < 0 {
				p.fail("unknown timeout %s", k)
			}
			if o.Timeouts == nil {
				o.Timeouts = map[string]uint32{}
			}
			o.Timeouts[k] = uint32(v)
			p.echof("set timeout %s %d", k, v)
		})
	case "limit":
		p.keyValues(func(k string, v int64) {
			switch k {
			case "states", "frags", "src-nodes", "tables", "table-entries", "pktdelay-pkts", "anchors":
			default:
				p.fail("unknown limit %s", k)
			}
			if o.Limits == nil {
				o.Limits = map[string]uint32{}
			}
			o.Limits[k] = uint32(v)
			p.echof("set limit %s %d", k, v)
		})
	case "loginterface":
		v := p.str("an interface name or none")
		o.LogInterface = v
		p.echof("set loginterface %s", v)
	case "hostid":
		t := p.next()
		n, ok := atoul(t.s)
		if t.kind != tNumber && t.kind != tWord || !ok || n > 1<<32-1 {
			p.failTok(t, "a host id")
		}
		if n == 0 {
			p.fail("hostid must be non-zero")
		}
		o.HostID, o.HostIDSet = uint32(n), true
		p.echof("set hostid 0x%08x", n)
	case "reassemble":
		v := p.str("yes or no")
		if v != "yes" && v != "no" {
			p.fail("set reassemble %q: want yes or no", v)
		}
		nodf := p.accept("no-df")
		o.Reassemble = Reassemble{Set: true, On: v == "yes", NoDF: nodf}
		if nodf {
			p.echof("set reassemble %s no-df", v)
		} else {
			p.echof("set reassemble %s ", v)
		}
	case "debug":
		v := p.str("a debug level")
		switch v {
		case "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", "none", "urgent", "misc", "loud":
		default:
			p.fail("unknown debug level %s", v)
		}
		o.Debug = v
		p.echof("set debug %s", v)
	case "skip":
		p.expect("on")
		ifs := p.ifList()
		if len(ifs) == 1 && !ifs[0].not && ifs[0].name == "none" {
			o.Skip = nil
			p.echof("set skip on none")
			return
		}
		var b strings.Builder
		b.WriteString("set skip on {")
		for _, i := range ifs {
			if i.not {
				p.fail("skip on ! <interface> is not supported")
			}
			b.WriteString(" " + i.name)
			o.Skip = append(o.Skip, i.name)
		}
		b.WriteString(" }")
		p.echof("%s", b.String())
	case "fingerprints":
		v := p.str("a file name")
		o.Fingerprints = v
		p.echof("set fingerprints \"%s\"", v)
	case "syncookies":
		v := p.str("never, always or adaptive")
		switch v {
		case "never", "always":
		case "adaptive":
			if p.acceptPunct("(") {
				for !p.acceptPunct(")") {
					p.next()
				}
			}
		default:
			p.fail("set syncookies %q: want never, always or adaptive", v)
		}
		o.Syncookies = v
		p.echof("set syncookies %s", v)
	case "state-defaults":
		p.fail("set state-defaults is not supported by hostnet")
	default:
		p.fail("syntax error: unknown option %q", t.s)
	}
}

// keyValues parses `KEY N` or `{ KEY N, ... }`.
func (p *parser) keyValues(f func(string, int64)) {
	one := func() {
		k := p.str("a name")
		v := p.number("a value", 0, 1<<32-1)
		f(k, v)
	}
	if p.acceptPunct("{") {
		p.skipNL()
		for !p.acceptPunct("}") {
			one()
			p.acceptPunct(",")
			p.skipNL()
		}
		return
	}
	one()
}

// tableDef parses `table <name> [persist] [const] [counters] [file "f"] [{ ... }]`.
func (p *parser) tableDef() {
	line := p.stmtLine
	p.next()
	name := p.tableName()
	tb := Table{Name: name, Line: line}
	addrs := false
	for {
		t := p.peek()
		switch {
		case isWord(t, "persist"):
			p.next()
			tb.Persist = true
		case isWord(t, "const"):
			p.next()
			tb.Const = true
		case isWord(t, "counters"):
			p.next()
			tb.Counters = true
		case isWord(t, "file"):
			p.next()
			f := p.str("a file name")
			tb.Inits = append(tb.Inits, TableInit{File: f})
			src, err := p.ld.opts.read(p.ld.opts.resolve(f))
			if err != nil {
				p.fail("cannot load \"%s\": %v", f, err)
			}
			for _, e := range p.tableFileEntries(f, src) {
				tb.Entries = append(tb.Entries, e)
			}
		case isPunct(t, "{"):
			p.next()
			addrs = true
			var list []TableEntry
			p.skipNL()
			for !p.acceptPunct("}") {
				not := p.acceptPunct("!")
				s := p.str("an address")
				mask := -1
				if p.acceptPunct("/") {
					mask = int(p.number("a netmask", 0, 128))
				}
				hs, err := p.ld.host(s, mask)
				if err != nil {
					p.fail("%v", err)
				}
				for _, h := range hs {
					list = append(list, TableEntry{Not: not, Prefix: h.addr.Prefix})
				}
				p.acceptPunct(",")
				p.skipNL()
			}
			tb.Inits = append(tb.Inits, TableInit{Addrs: list})
			tb.Entries = append(tb.Entries, list...)
		default:
			for _, x := range p.rs.Tables {
				if x.Name == name {
					p.fail("table <%s> already defined", name)
				}
			}
			p.rs.Tables = append(p.rs.Tables, tb)
			p.echof("%s", formatTable(&tb, addrs))
			return
		}
	}
}

// tableFileEntries reads the addresses of a table file: one or more per
// line, `#` comments.
func (p *parser) tableFileEntries(name string, src []byte) []TableEntry {
	var out []TableEntry
	for i, line := range bytes.Split(src, []byte("\n")) {
		if j := bytes.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		for _, f := range strings.Fields(string(line)) {
			not := strings.HasPrefix(f, "!")
			f = strings.TrimPrefix(f, "!")
			mask := -1
			if j := strings.IndexByte(f, '/'); j >= 0 {
				m, err := strconv.Atoi(f[j+1:])
				if err != nil || m < 0 || m > 128 {
					p.fail("%s:%d: bad netmask in %q", name, i+1, f)
				}
				mask, f = m, f[:j]
			}
			hs, err := p.ld.host(f, mask)
			if err != nil {
				p.fail("%s:%d: %v", name, i+1, err)
			}
			for _, h := range hs {
				out = append(out, TableEntry{Not: not, Prefix: h.addr.Prefix})
			}
		}
	}
	return out
}

// tableName parses `<name>`.
func (p *parser) tableName() string {
	p.expectPunct("<")
	t := p.next()
	if t.kind != tWord && t.kind != tNumber && t.kind != tString {
		p.failTok(t, "a table name")
	}
	p.expectPunct(">")
	if len(t.s) >= 32 {
		p.fail("table name too long: %s", t.s)
	}
	return t.s
}

// loadAnchor parses `load anchor NAME from FILE` and loads the file (or,
// for the glob form, every matching file).
func (p *parser) loadAnchor() {
	p.next()
	p.expect("anchor")
	name := p.str("an anchor name")
	p.expect("from")
	file := p.str("a file name")
	p.endStmt()
	base := p.rs.Path
	if strings.HasSuffix(name, "/*") {
		if !strings.Contains(file, "*") {
			p.fail("load anchor %q: a wildcard anchor needs a file pattern", name)
		}
		parent, err := anchorPath(base, strings.TrimSuffix(name, "/*"))
		if err != nil {
			p.fail("load anchor %q: %v", name, err)
		}
		matches, err := filepath.Glob(p.ld.opts.resolve(file))
		if err != nil {
			p.fail("load anchor %q: %v", name, err)
		}
		sort.Strings(matches)
		for _, m := range matches {
			if strings.HasPrefix(filepath.Base(m), ".") {
				continue // glob(3) leaves hidden files out
			}
			b := strings.TrimSuffix(filepath.Base(m), ".conf")
			if b == "" || b[0] == '_' {
				p.fail("load anchor %q: %s: anchor names beginning with '_' are reserved for internal use", name, m)
			}
			target := b
			if parent != "" {
				target = parent + "/" + b
			}
			shown := path.Join(path.Dir(file), filepath.Base(m))
			p.loadAnchorFile(target, shown, m)
		}
		return
	}
	if strings.Contains(name, "*") {
		p.fail("load anchor %q: wildcard only allowed as the last component \"/*\"", name)
	}
	target, err := anchorPath(base, name)
	if err != nil {
		p.fail("load anchor %q: %v", name, err)
	}
	p.loadAnchorFile(target, file, p.ld.opts.resolve(file))
}

func (p *parser) loadAnchorFile(target, shown, real string) {
	if p.ld.depth > 16 {
		p.fail("load anchor %q: nested too deep", target)
	}
	src, err := p.ld.opts.read(real)
	if err != nil {
		p.fail("load anchor %q: cannot read %q: %v", target, shown, err)
	}
	rs := p.ld.anchor(target)
	rs.File = real
	macros := map[string]string{}
	if strings.HasPrefix(target, "vm/") {
		vm := strings.TrimPrefix(target, "vm/")
		for _, v := range p.ld.opts.VMs {
			if v.Name == vm {
				macros["vm_name"] = v.Name
				macros["vm_if"] = v.If
			}
		}
	}
	sub := p.ld.newParser(real, src, rs, macros, false)
	p.ld.depth++
	sub.parse()
	p.ld.depth--
}

// anchor returns the ruleset at path, creating it.
func (ld *loader) anchor(path string) *Ruleset {
	if rs, ok := ld.spec.Anchors[path]; ok {
		return rs
	}
	rs := &Ruleset{Path: path}
	ld.spec.Anchors[path] = rs
	return rs
}

// anchorPath resolves name relative to the anchor base, as pfctl does:
// a leading "/" is absolute, ".." goes up.
func anchorPath(base, name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("empty anchor name")
	}
	var parts []string
	if strings.HasPrefix(name, "/") {
		name = name[1:]
	} else if base != "" {
		parts = strings.Split(base, "/")
	}
	for _, c := range strings.Split(name, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			if len(parts) == 0 {
				return "", fmt.Errorf("anchor path goes above the main ruleset")
			}
			parts = parts[:len(parts)-1]
		default:
			if len(c) >= 64 {
				return "", fmt.Errorf("anchor name component too long")
			}
			parts = append(parts, c)
		}
	}
	return strings.Join(parts, "/"), nil
}

// sourceHashKey turns a source-hash key into 16 bytes: 0x and 32 hex
// digits as written, anything else hashed with MD5 as pfctl does.
func sourceHashKey(s string) ([16]byte, error) {
	var k [16]byte
	if strings.HasPrefix(s, "0x") {
		if len(s) != 34 {
			return k, fmt.Errorf("hex key must be 128 bits (32 hex digits) long")
		}
		b, err := hex.DecodeString(s[2:])
		if err != nil {
			return k, fmt.Errorf("bad hex key %q", s)
		}
		copy(k[:], b)
		return k, nil
	}
	return md5.Sum([]byte(s)), nil
}
