// Package capfilter is the capture filter of `hostnet tcpdump`: the
// common part of pcap-filter(7)'s language, compiled once and matched
// against Ethernet frames on the frame path without allocating.
//
// Primitives:
//
//	[ip|ip6|arp|tcp|udp] [src|dst] host ADDR    also ADDR alone after src/dst
//	[ip|ip6] [src|dst] net PREFIX              PREFIX as 10.0.0.0/8 or 2001:db8::/32
//	[tcp|udp|sctp] [src|dst] port N            and portrange N-M
//	ether [src|dst] host MAC                   also ether src MAC, ether dst MAC
//	ether broadcast, ether multicast           also broadcast, multicast alone
//	ip, ip6, arp, tcp, udp, sctp, icmp, icmp6  the protocol
//	ip proto N, ip6 proto N, proto N           an IP protocol number (or name)
//	vlan [ID]                                  a tagged frame (with VLAN ID)
//	less N, greater N                          the frame's length
//
// Operators: not (!), and (&&), or (||), parentheses. As in pcap, not
// binds tightest, and and or have the same precedence and group from the
// left, and a list of values repeats the last qualifiers: `host a or b`
// is `host a or host b`, `port 80 or 443` is `port 80 or port 443`.
//
// One difference from pcap: address, protocol and port primitives look
// through 802.1Q and 802.1ad tags, so `host 10.0.0.1` matches the frame
// on a trunk too (pcap needs `vlan and host 10.0.0.1`).
package capfilter

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Filter is a compiled expression. It is immutable: Match is safe for
// concurrent use.
type Filter struct {
	root *node
	expr string
}

// String returns the expression as compiled.
func (f *Filter) String() string { return f.expr }

// Match reports whether frame, an Ethernet frame, matches. A nil Filter
// matches everything. It does not allocate.
func (f *Filter) Match(frame []byte) bool {
	if f == nil {
		return true
	}
	var fr fields
	fr.parse(frame)
	return f.root.eval(&fr)
}

// Compile compiles expr; an empty expression matches every frame. An
// error says where the expression stopped making sense and what was
// expected there.
func Compile(expr string) (*Filter, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return &Filter{root: &node{op: opTrue}}, nil
	}
	p := &parser{toks: toks}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, p.errorf("expected and, or or the end of the expression")
	}
	return &Filter{root: n, expr: strings.Join(toks, " ")}, nil
}

// Frame fields, read once per frame.

type fields struct {
	n        int // frame length
	dst, src [6]byte
	eth      bool // a whole Ethernet header
	etype    uint16
	vlans    [4]uint16 // VIDs of the tags, outermost first
	nvlan    int
	l3       bool // IPv4 or IPv6 header present
	v6       bool
	saddr    netip.Addr
	daddr    netip.Addr
	proto    uint8
	ports    bool // a transport header with ports (not a later fragment)
	sport    uint16
	dport    uint16
}

func (f *fields) parse(b []byte) {
	f.n = len(b)
	if len(b) < 14 {
		return
	}
	f.eth = true
	copy(f.dst[:], b[0:6])
	copy(f.src[:], b[6:12])
	off := 12
	f.etype = binary.BigEndian.Uint16(b[off:])
	for (f.etype == 0x8100 || f.etype == 0x88a8 || f.etype == 0x9100) && len(b) >= off+6 {
		if f.nvlan < len(f.vlans) {
			f.vlans[f.nvlan] = binary.BigEndian.Uint16(b[off+2:]) & 0xfff
			f.nvlan++
		}
		off += 4
		f.etype = binary.BigEndian.Uint16(b[off:])
	}
	ip := b[off+2:]
	switch f.etype {
	case 0x0800:
		if len(ip) < 20 || ip[0]>>4 != 4 {
			return
		}
		hl := int(ip[0]&0xf) * 4
		if hl < 20 || len(ip) < hl {
			return
		}
		f.l3 = true
		f.saddr = netip.AddrFrom4([4]byte(ip[12:16]))
		f.daddr = netip.AddrFrom4([4]byte(ip[16:20]))
		f.proto = ip[9]
		if binary.BigEndian.Uint16(ip[6:])&0x1fff == 0 {
			f.transport(ip[hl:])
		}
	case 0x86dd:
		if len(ip) < 40 || ip[0]>>4 != 6 {
			return
		}
		f.l3, f.v6 = true, true
		f.saddr = netip.AddrFrom16([16]byte(ip[8:24]))
		f.daddr = netip.AddrFrom16([16]byte(ip[24:40]))
		next, rest := ip[6], ip[40:]
		for {
			switch next {
			case 0, 43, 60: // hop-by-hop, routing, destination options
				if len(rest) < 8 {
					f.proto = next
					return
				}
				n := 8 + int(rest[1])*8
				if len(rest) < n {
					f.proto = next
					return
				}
				next, rest = rest[0], rest[n:]
				continue
			case 44: // fragment
				if len(rest) < 8 {
					f.proto = next
					return
				}
				f.proto = rest[0]
				if binary.BigEndian.Uint16(rest[2:])&0xfff8 == 0 {
					f.transport(rest[8:])
				}
				return
			}
			f.proto = next
			f.transport(rest)
			return
		}
	}
}

// transport reads the ports of a TCP, UDP or SCTP header at t.
func (f *fields) transport(t []byte) {
	switch f.proto {
	case 6, 17, 132:
		if len(t) >= 4 {
			f.ports = true
			f.sport = binary.BigEndian.Uint16(t[0:])
			f.dport = binary.BigEndian.Uint16(t[2:])
		}
	}
}

// The compiled tree.

type op uint8

const (
	opTrue op = iota
	opAnd
	opOr
	opNot
	opEtype     // etype == a
	opProto     // IP protocol == a (with fam: 4, 6 or either)
	opHost      // address == addr, dir
	opNet       // address in pfx, dir
	opPort      // port in [a, b], dir, proto (0: TCP, UDP or SCTP)
	opEtherHost // MAC == mac, dir
	opBroadcast
	opMulticast
	opVLAN // tagged, with VID a when b is 1
	opLess
	opGreater
)

type dir uint8

const (
	dirAny dir = iota // src or dst
	dirSrc
	dirDst
	dirBoth // src and dst
)

type node struct {
	op   op
	l, r *node
	dir  dir
	fam  uint8 // 0, 4 or 6
	a, b int
	l4   int // the transport protocol qualifying a host or port (tcp port 80); 0 for any
	addr netip.Addr
	pfx  netip.Prefix
	mac  [6]byte
}

func (n *node) eval(f *fields) bool {
	switch n.op {
	case opTrue:
		return true
	case opAnd:
		return n.l.eval(f) && n.r.eval(f)
	case opOr:
		return n.l.eval(f) || n.r.eval(f)
	case opNot:
		return !n.l.eval(f)
	case opEtype:
		return f.eth && int(f.etype) == n.a
	case opProto:
		return f.l3 && famOK(n.fam, f) && int(f.proto) == n.a
	case opHost:
		return f.l3 && famOK(n.fam, f) && (n.l4 == 0 || int(f.proto) == n.l4) &&
			match2(n.dir, f.saddr == n.addr, f.daddr == n.addr)
	case opNet:
		return f.l3 && famOK(n.fam, f) && match2(n.dir, n.pfx.Contains(f.saddr), n.pfx.Contains(f.daddr))
	case opPort:
		if !f.l3 || !f.ports || !famOK(n.fam, f) || n.l4 != 0 && int(f.proto) != n.l4 {
			return false
		}
		return match2(n.dir, int(f.sport) >= n.a && int(f.sport) <= n.b, int(f.dport) >= n.a && int(f.dport) <= n.b)
	case opEtherHost:
		return f.eth && match2(n.dir, f.src == n.mac, f.dst == n.mac)
	case opBroadcast:
		return f.eth && f.dst == [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	case opMulticast:
		return f.eth && f.dst[0]&1 != 0
	case opVLAN:
		if f.nvlan == 0 {
			return false
		}
		if n.b == 0 {
			return true
		}
		for _, v := range f.vlans[:f.nvlan] {
			if int(v) == n.a {
				return true
			}
		}
		return false
	case opLess:
		return f.n <= n.a
	case opGreater:
		return f.n >= n.a
	}
	return false
}

func famOK(fam uint8, f *fields) bool {
	return fam == 0 || fam == 6 == f.v6
}

func match2(d dir, src, dst bool) bool {
	switch d {
	case dirSrc:
		return src
	case dirDst:
		return dst
	case dirBoth:
		return src && dst
	}
	return src || dst
}

// The parser.

type parser struct {
	toks []string
	i    int
	last *qual // the qualifiers of the last primitive, for value lists
}

// qual is what qualifies a value: `tcp src port`.
type qual struct {
	proto string // ether, ip, ip6, arp, tcp, udp, sctp, or ""
	dir   dir
	typ   string // host, net, port, portrange, or "" (host)
}

func (p *parser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *parser) next() string {
	t := p.peek()
	if p.i < len(p.toks) {
		p.i++
	}
	return t
}

func (p *parser) errorf(format string, args ...any) error {
	at := "the end"
	if p.i < len(p.toks) {
		at = fmt.Sprintf("%q (word %d)", p.toks[p.i], p.i+1)
	}
	return fmt.Errorf("filter: at %s: %s", at, fmt.Sprintf(format, args...))
}

// expr is a sequence of terms joined by and/or, grouped from the left.
func (p *parser) expr() (*node, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		var o op
		switch p.peek() {
		case "and", "&&":
			o = opAnd
		case "or", "||":
			o = opOr
		default:
			return l, nil
		}
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &node{op: o, l: l, r: r}
	}
}

func (p *parser) unary() (*node, error) {
	switch p.peek() {
	case "not", "!":
		p.next()
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &node{op: opNot, l: n}, nil
	case "(":
		p.next()
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, p.errorf("expected )")
		}
		p.next()
		return n, nil
	case "":
		return nil, p.errorf("expected a primitive (host, net, port, a protocol, ...)")
	}
	return p.primitive()
}

var protoNumbers = map[string]int{"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51, "icmp6": 58, "sctp": 132}

func (p *parser) primitive() (*node, error) {
	var q qual
	tok := p.peek()
	// A bare value continues the last primitive's qualifiers.
	if p.last != nil && isValue(tok) {
		q = *p.last
		return p.value(q)
	}
	switch tok {
	case "ether", "ip", "ip6", "arp", "tcp", "udp", "sctp":
		q.proto = p.next()
	case "icmp", "icmp6", "igmp", "gre", "esp", "ah":
		p.next()
		fam := uint8(0)
		if tok == "icmp" {
			fam = 4
		} else if tok == "icmp6" {
			fam = 6
		}
		p.last = nil
		return &node{op: opProto, a: protoNumbers[tok], fam: fam}, nil
	case "vlan":
		p.next()
		p.last = nil
		if v, err := strconv.Atoi(p.peek()); err == nil {
			if v < 0 || v > 4095 {
				return nil, p.errorf("a VLAN ID is 0 to 4095")
			}
			p.next()
			return &node{op: opVLAN, a: v, b: 1}, nil
		}
		return &node{op: opVLAN}, nil
	case "broadcast", "multicast":
		p.next()
		p.last = nil
		if tok == "broadcast" {
			return &node{op: opBroadcast}, nil
		}
		return &node{op: opMulticast}, nil
	case "less", "greater":
		p.next()
		n, err := strconv.Atoi(p.peek())
		if err != nil || n < 0 {
			return nil, p.errorf("expected a length after %s", tok)
		}
		p.next()
		p.last = nil
		if tok == "less" {
			return &node{op: opLess, a: n}, nil
		}
		return &node{op: opGreater, a: n}, nil
	case "proto":
		return p.proto(q)
	}
	switch p.peek() {
	case "src":
		p.next()
		q.dir = dirSrc
		if p.peek() == "and" || p.peek() == "or" {
			// src and dst, src or dst
			both := p.next()
			if p.peek() != "dst" {
				return nil, p.errorf("expected dst after src %s", both)
			}
			p.next()
			q.dir = dirAny
			if both == "and" {
				q.dir = dirBoth
			}
		}
	case "dst":
		p.next()
		q.dir = dirDst
	}
	switch t := p.peek(); t {
	case "host", "net", "port", "portrange":
		q.typ = p.next()
	case "proto":
		if q.dir != dirAny {
			return nil, p.errorf("proto takes no src or dst")
		}
		return p.proto(q)
	case "broadcast", "multicast":
		if q.proto == "ether" && q.dir == dirAny {
			return p.primitive()
		}
	}
	if q.typ == "" && q.dir == dirAny {
		// A protocol alone: ether, ip, ip6, arp, tcp, udp, sctp.
		p.last = nil
		switch q.proto {
		case "ether":
			return nil, p.errorf("expected host, src, dst, broadcast or multicast after ether")
		case "ip":
			return &node{op: opEtype, a: 0x0800}, nil
		case "ip6":
			return &node{op: opEtype, a: 0x86dd}, nil
		case "arp":
			return &node{op: opEtype, a: 0x0806}, nil
		case "tcp", "udp", "sctp":
			return &node{op: opProto, a: protoNumbers[q.proto]}, nil
		}
		return nil, p.errorf("expected a primitive (host, net, port, a protocol, ...)")
	}
	return p.value(q)
}

// proto parses `[ip|ip6] proto N`.
func (p *parser) proto(q qual) (*node, error) {
	p.next() // proto
	t := p.peek()
	n, ok := protoNumbers[t]
	if !ok {
		v, err := strconv.Atoi(t)
		if err != nil || v < 0 || v > 255 {
			return nil, p.errorf("expected a protocol number (0-255) or name")
		}
		n = v
	}
	p.next()
	fam := uint8(0)
	switch q.proto {
	case "ip":
		fam = 4
	case "ip6":
		fam = 6
	case "":
	default:
		return nil, p.errorf("proto follows ip, ip6 or nothing, not %s", q.proto)
	}
	p.last = nil
	return &node{op: opProto, a: n, fam: fam}, nil
}

func isValue(t string) bool {
	if t == "" {
		return false
	}
	c := t[0]
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' && strings.ContainsAny(t, ":") || c == ':'
}

// value parses the value of a qualified primitive.
func (p *parser) value(q qual) (*node, error) {
	t := p.peek()
	if t == "" || t == "and" || t == "or" || t == ")" {
		return nil, p.errorf("expected a value after %s", strings.TrimSpace(q.proto+" "+q.typ))
	}
	typ := q.typ
	if typ == "" {
		typ = "host"
	}
	n := &node{dir: q.dir}
	switch q.proto {
	case "ip":
		n.fam = 4
	case "ip6":
		n.fam = 6
	}
	switch {
	case q.proto == "ether":
		if typ != "host" {
			return nil, p.errorf("ether takes host, src or dst, not %s", typ)
		}
		mac, err := parseMAC(t)
		if err != nil {
			return nil, p.errorf("expected a MAC address (aa:bb:cc:dd:ee:ff)")
		}
		n.op, n.mac = opEtherHost, mac
	case typ == "host":
		a, err := netip.ParseAddr(t)
		if err != nil {
			return nil, p.errorf("expected an IPv4 or IPv6 address (names are not resolved)")
		}
		n.op, n.addr = opHost, a.Unmap()
		if (n.fam == 4 && !n.addr.Is4()) || (n.fam == 6 && !n.addr.Is6()) {
			return nil, p.errorf("%s host takes an IPv%d address", q.proto, n.fam)
		}
		if n.addr.Is4() {
			n.fam = 4
		} else {
			n.fam = 6
		}
		switch q.proto {
		case "tcp", "udp", "sctp":
			n.l4 = protoNumbers[q.proto]
		case "arp":
			return nil, p.errorf("arp host is not supported: use host")
		}
	case typ == "net":
		pfx, err := netip.ParsePrefix(t)
		if err != nil {
			a, err2 := netip.ParseAddr(t)
			if err2 != nil {
				return nil, p.errorf("expected a network (10.0.0.0/8)")
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		if pfx.Masked() != pfx {
			return nil, p.errorf("%s has host bits set", pfx)
		}
		n.op, n.pfx = opNet, pfx
		if pfx.Addr().Is4() {
			n.fam = 4
		} else {
			n.fam = 6
		}
	case typ == "port" || typ == "portrange":
		lo, hi, err := parsePorts(t, typ == "portrange")
		if err != nil {
			return nil, p.errorf("%v", err)
		}
		n.op, n.a, n.b = opPort, lo, hi
		switch q.proto {
		case "tcp", "udp", "sctp":
			n.l4 = protoNumbers[q.proto]
		case "", "ip", "ip6":
		default:
			return nil, p.errorf("%s has no ports", q.proto)
		}
	default:
		return nil, p.errorf("expected host, net or port")
	}
	p.next()
	p.last = &q
	return n, nil
}

func parsePorts(t string, isRange bool) (int, int, error) {
	lo, hi := t, t
	if isRange {
		var ok bool
		if lo, hi, ok = strings.Cut(t, "-"); !ok {
			return 0, 0, fmt.Errorf("expected a port range (N-M)")
		}
	}
	a, err1 := strconv.Atoi(lo)
	b, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || a < 0 || b > 65535 || a > b {
		if isRange {
			return 0, 0, fmt.Errorf("expected a port range (N-M, 0 to 65535)")
		}
		return 0, 0, fmt.Errorf("expected a port number (0 to 65535; names are not resolved)")
	}
	return a, b, nil
}

func parseMAC(s string) ([6]byte, error) {
	var m [6]byte
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return m, fmt.Errorf("bad MAC")
	}
	for i, x := range parts {
		v, err := strconv.ParseUint(x, 16, 8)
		if err != nil {
			return m, err
		}
		m[i] = byte(v)
	}
	return m, nil
}

// lex splits expr into words and the punctuation ( ) ! && ||.
func lex(expr string) ([]string, error) {
	var toks []string
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		case c == '!':
			toks = append(toks, "!")
			i++
		case strings.HasPrefix(expr[i:], "&&"), strings.HasPrefix(expr[i:], "||"):
			toks = append(toks, expr[i:i+2])
			i += 2
		default:
			j := i
			for j < len(expr) && !strings.ContainsRune(" \t\n()!&|", rune(expr[j])) {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("filter: unexpected %q at character %d", expr[i], i+1)
			}
			toks = append(toks, strings.ToLower(expr[i:j]))
			i = j
		}
	}
	return toks, nil
}
