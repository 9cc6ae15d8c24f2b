package config

import (
	"fmt"
	"strings"
)

// vkind is the kind of a vm.conf token.
type vkind uint8

const (
	vEOF vkind = iota
	vNL
	vWord   // unquoted: a keyword, name or number
	vString // quoted
	vLBrace
	vRBrace
	vComma
	vEq
)

type vtok struct {
	kind      vkind
	s         string
	line, col int
}

func (t vtok) String() string {
	switch t.kind {
	case vEOF:
		return "end of file"
	case vNL:
		return "end of line"
	case vString:
		return fmt.Sprintf("%q", t.s)
	case vLBrace:
		return "'{'"
	case vRBrace:
		return "'}'"
	case vComma:
		return "','"
	case vEq:
		return "'='"
	}
	return t.s
}

// vmKeywords are vm.conf's reserved words, as vmd's parse.y has them. An
// unquoted keyword is never a name; quote it to use it as one.
var vmKeywords = map[string]bool{
	"allow": true, "boot": true, "cdrom": true, "delay": true, "device": true,
	"disable": true, "disk": true, "down": true, "enable": true, "format": true,
	"group": true, "include": true, "inet6": true, "instance": true,
	"interface": true, "interfaces": true, "lladdr": true, "local": true,
	"locked": true, "memory": true, "net": true, "owner": true, "parallel": true,
	"prefix": true, "rdomain": true, "sev": true, "seves": true, "size": true,
	"socket": true, "staggered": true, "start": true, "switch": true, "up": true,
	"vm": true,
}

// macro is a vm.conf macro.
type macro struct {
	value string
	file  string
	line  int
	used  bool
}

// vlexer turns vm.conf text into tokens, expanding $macros in unquoted
// words as vmd's lexer does (the value is lexed again; macros inside a
// value are not expanded).
type vlexer struct {
	file    string
	src     string
	pos     int
	line    int
	col     int
	macros  map[string]*macro // nil: no expansion
	pending []vtok
	errs    *errList
}

func newVLexer(file, src string, macros map[string]*macro, errs *errList) *vlexer {
	return &vlexer{file: file, src: src, line: 1, col: 1, macros: macros, errs: errs}
}

func (l *vlexer) peekc(off int) byte {
	if l.pos+off < len(l.src) {
		return l.src[l.pos+off]
	}
	return 0
}

func (l *vlexer) advance() {
	if l.src[l.pos] == '\n' {
		l.line++
		l.col = 1
	} else {
		l.col++
	}
	l.pos++
}

func isWordByte(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '\f', '\v', '#', '{', '}', ',', '=', '"', '\'':
		return false
	}
	return true
}

func (l *vlexer) next() vtok {
	if len(l.pending) > 0 {
		t := l.pending[0]
		l.pending = l.pending[1:]
		return t
	}
	for {
		for l.pos < len(l.src) {
			c := l.src[l.pos]
			if c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' {
				l.advance()
				continue
			}
			if c == '\\' && l.peekc(1) == '\n' { // line continuation
				l.advance()
				l.advance()
				continue
			}
			if c == '\\' && l.peekc(1) == '\r' && l.peekc(2) == '\n' {
				l.advance()
				l.advance()
				l.advance()
				continue
			}
			if c == '#' {
				for l.pos < len(l.src) && l.src[l.pos] != '\n' {
					l.advance()
				}
				continue
			}
			break
		}
		if l.pos >= len(l.src) {
			return vtok{kind: vEOF, line: l.line, col: l.col}
		}
		line, col := l.line, l.col
		c := l.src[l.pos]
		switch c {
		case '\n':
			l.advance()
			return vtok{kind: vNL, line: line, col: col}
		case '{':
			l.advance()
			return vtok{kind: vLBrace, s: "{", line: line, col: col}
		case '}':
			l.advance()
			return vtok{kind: vRBrace, s: "}", line: line, col: col}
		case ',':
			l.advance()
			return vtok{kind: vComma, s: ",", line: line, col: col}
		case '=':
			l.advance()
			return vtok{kind: vEq, s: "=", line: line, col: col}
		case '"', '\'':
			return l.quoted(c)
		case '$':
			if l.macros != nil {
				if t, ok := l.expand(); ok {
					return t
				}
				continue
			}
		}
		start := l.pos
		for l.pos < len(l.src) && isWordByte(l.src[l.pos]) {
			l.advance()
		}
		return vtok{kind: vWord, s: l.src[start:l.pos], line: line, col: col}
	}
}

// quoted lexes a string in q quotes: a backslash escapes the quote, and
// a backslash at the end of a line continues it.
func (l *vlexer) quoted(q byte) vtok {
	line, col := l.line, l.col
	l.advance()
	var b strings.Builder
	for {
		if l.pos >= len(l.src) || l.src[l.pos] == '\n' {
			l.errs.add(l.file, line, col, "unterminated quoted string")
			return vtok{kind: vString, s: b.String(), line: line, col: col}
		}
		c := l.src[l.pos]
		if c == q {
			l.advance()
			return vtok{kind: vString, s: b.String(), line: line, col: col}
		}
		if c == '\\' {
			switch n := l.peekc(1); n {
			case q, '\\':
				l.advance()
				b.WriteByte(n)
				l.advance()
				continue
			case '\n':
				l.advance()
				l.advance()
				continue
			}
		}
		b.WriteByte(c)
		l.advance()
	}
}

// expand replaces $name by the tokens of its value. It reports false when
// there was nothing to return (an error, or an empty value).
func (l *vlexer) expand() (vtok, bool) {
	line, col := l.line, l.col
	l.advance()
	start := l.pos
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			break
		}
		l.advance()
	}
	name := l.src[start:l.pos]
	if name == "" {
		l.errs.add(l.file, line, col, "'$' without a macro name; want $name")
		return vtok{kind: vWord, s: "$", line: line, col: col}, true
	}
	m, ok := l.macros[name]
	if !ok {
		l.errs.add(l.file, line, col, "macro %q is not defined", name)
		return vtok{kind: vWord, s: "$" + name, line: line, col: col}, true
	}
	m.used = true
	sub := newVLexer(l.file, m.value, nil, l.errs)
	var toks []vtok
	for {
		t := sub.next()
		if t.kind == vEOF {
			break
		}
		if t.kind == vNL {
			continue
		}
		t.line, t.col = line, col
		toks = append(toks, t)
	}
	if len(toks) == 0 {
		return vtok{}, false
	}
	l.pending = append(toks[1:], l.pending...)
	return toks[0], true
}
