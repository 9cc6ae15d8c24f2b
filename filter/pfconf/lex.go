package pfconf

import "strings"

// tokKind is the kind of a token.
type tokKind uint8

const (
	tEOF    tokKind = iota
	tNL             // end of a line (statement)
	tWord           // unquoted text: a keyword or a name
	tString         // quoted text: never a keyword
	tNumber         // unquoted decimal number
	tPunct          // ( ) { } < > ! = , / - != <= >= <> ><
)

type token struct {
	kind tokKind
	s    string
	line int
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of file"
	case tNL:
		return "end of line"
	case tString:
		return `"` + t.s + `"`
	}
	return `"` + t.s + `"`
}

// lexer turns pf.conf text into tokens as pfctl's yylex does: `#`
// comments, backslash-newline continuation, quoted strings that never
// expand, and `$macro` expanded as text where a token starts (the
// expansion itself is not expanded again).
type lexer struct {
	src     []byte
	pos     int
	line    int
	pending []byte // expanded macro text, read before src
	macros  map[string]string
	errf    func(line int, format string, args ...any)
	peeked  []token
	inMacro bool
	qMacro  bool
}

func newLexer(src []byte, macros map[string]string, errf func(line int, format string, args ...any)) *lexer {
	return &lexer{src: src, line: 1, macros: macros, errf: errf}
}

const eof = -1

// getc returns the next character, joining continued lines.
func (l *lexer) getc() int {
	for {
		if len(l.pending) > 0 {
			c := l.pending[0]
			l.pending = l.pending[1:]
			l.inMacro = true
			return int(c)
		}
		l.inMacro = false
		if l.pos >= len(l.src) {
			return eof
		}
		c := l.src[l.pos]
		l.pos++
		if c == '\\' && l.pos < len(l.src) && l.src[l.pos] == '\n' {
			l.pos++
			l.line++
			continue
		}
		if c == '\n' {
			l.line++
		}
		return int(c)
	}
}

// ungetc pushes c back. Only the character just read may be pushed back.
func (l *lexer) ungetc(c int) {
	if c == eof {
		return
	}
	if l.inMacro {
		l.pending = append([]byte{byte(c)}, l.pending...)
		return
	}
	l.pos--
	if c == '\n' {
		l.line--
	}
}

// unquotedGetc pushes back the character quotedGetc just returned.
func (l *lexer) unquotedGetc(c int) {
	if l.qMacro {
		l.pending = append([]byte{byte(c)}, l.pending...)
		return
	}
	l.pos--
	if c == '\n' {
		l.line--
	}
}

// quotedGetc reads inside quotes: no continuation handling here, the
// quoted-string rules do it.
func (l *lexer) quotedGetc() int {
	if len(l.pending) > 0 {
		c := l.pending[0]
		l.pending = l.pending[1:]
		l.qMacro = true
		return int(c)
	}
	l.qMacro = false
	if l.pos >= len(l.src) {
		return eof
	}
	c := l.src[l.pos]
	l.pos++
	if c == '\n' {
		l.line++
	}
	return int(c)
}

func isAlnum(c int) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isDigit(c int) bool { return c >= '0' && c <= '9' }

func isPunctChar(c int) bool {
	return c > ' ' && c < 0x7f && !isAlnum(c)
}

// allowedInString reports whether c may be part of an unquoted word.
func allowedInString(c int) bool {
	if isAlnum(c) {
		return true
	}
	return isPunctChar(c) && !strings.ContainsRune("(){}<>!=/#,", rune(c))
}

func allowedToEndNumber(c int) bool {
	return c == eof || c == ' ' || c == '\t' || c == '\n' || c == '\r' || strings.ContainsRune("),/}=", rune(c))
}

// peek returns the next token without consuming it.
func (l *lexer) peek() token {
	if len(l.peeked) == 0 {
		l.peeked = append(l.peeked, l.lex())
	}
	return l.peeked[0]
}

// peekN returns the token n ahead (0 = next).
func (l *lexer) peekN(n int) token {
	for len(l.peeked) <= n {
		l.peeked = append(l.peeked, l.lex())
	}
	return l.peeked[n]
}

func (l *lexer) next() token {
	if len(l.peeked) > 0 {
		t := l.peeked[0]
		l.peeked = l.peeked[1:]
		return t
	}
	return l.lex()
}

func (l *lexer) lex() token {
top:
	c := l.getc()
	for c == ' ' || c == '\t' || c == '\r' {
		c = l.getc()
	}
	line := l.line
	if c == '#' {
		for c != '\n' && c != eof {
			c = l.getc()
		}
	}
	if c == '$' && !l.inMacro {
		var name []byte
		for {
			c = l.getc()
			if isAlnum(c) || c == '_' {
				name = append(name, byte(c))
				continue
			}
			l.ungetc(c)
			break
		}
		val, ok := l.macros[string(name)]
		if !ok {
			l.errf(line, "macro '%s' not defined", name)
			val = ""
			// Give the parser something that cannot be valid, so the
			// statement is rejected with this error alone.
			return token{kind: tWord, s: "$" + string(name), line: line}
		}
		l.pending = append([]byte(val), l.pending...)
		goto top
	}
	switch c {
	case eof:
		return token{kind: tEOF, line: line}
	case '\n':
		if !l.inMacro {
			line--
		}
		return token{kind: tNL, line: line}
	case '\'', '"':
		q := c
		var b []byte
		for {
			c = l.quotedGetc()
			if c == eof {
				l.errf(line, "reached end of file while parsing quoted string")
				return token{kind: tEOF, line: line}
			}
			if c == '\n' {
				continue
			}
			if c == '\\' {
				n := l.quotedGetc()
				if n == eof {
					l.errf(line, "reached end of file while parsing quoted string")
					return token{kind: tEOF, line: line}
				}
				switch {
				case n == q || n == ' ' || n == '\t':
					c = n
				case n == '\n':
					continue
				default:
					l.unquotedGetc(n)
				}
			} else if c == q {
				break
			}
			b = append(b, byte(c))
		}
		return token{kind: tString, s: string(b), line: line}
	case '!':
		if n := l.getc(); n == '=' {
			return token{kind: tPunct, s: "!=", line: line}
		} else {
			l.ungetc(n)
		}
	case '<':
		n := l.getc()
		if n == '>' {
			return token{kind: tPunct, s: "<>", line: line}
		}
		if n == '=' {
			return token{kind: tPunct, s: "<=", line: line}
		}
		l.ungetc(n)
	case '>':
		n := l.getc()
		if n == '<' {
			return token{kind: tPunct, s: "><", line: line}
		}
		if n == '=' {
			return token{kind: tPunct, s: ">=", line: line}
		}
		l.ungetc(n)
	}
	if c == '-' || isDigit(c) {
		var b []byte
		b = append(b, byte(c))
		for {
			c = l.getc()
			if !isDigit(c) {
				break
			}
			b = append(b, byte(c))
		}
		if !(len(b) == 1 && b[0] == '-') && allowedToEndNumber(c) {
			l.ungetc(c)
			return token{kind: tNumber, s: string(b), line: line}
		}
		if len(b) == 1 && b[0] == '-' && !allowedInString(c) {
			l.ungetc(c)
			return token{kind: tPunct, s: "-", line: line}
		}
		// Not a number: carry on as a word.
		for allowedInString(c) {
			b = append(b, byte(c))
			c = l.getc()
		}
		l.ungetc(c)
		if string(b) == "-" {
			return token{kind: tPunct, s: "-", line: line}
		}
		return token{kind: tWord, s: string(b), line: line}
	}
	if allowedInString(c) {
		var b []byte
		for allowedInString(c) {
			b = append(b, byte(c))
			c = l.getc()
		}
		l.ungetc(c)
		return token{kind: tWord, s: string(b), line: line}
	}
	return token{kind: tPunct, s: string(rune(c)), line: line}
}
