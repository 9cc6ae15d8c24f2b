package config

import "strings"

// word is one argument of a hostname.if or rulefile line, after quote
// removal, with its 1-based column.
type word struct {
	s   string
	col int
}

// splitWords splits a line into words the way netstart's shell does: blanks
// separate words, "..." and '...' quote (a backslash escapes " and \ inside
// double quotes, and any character outside quotes), and a # at the start
// of a word begins a comment. It returns the column of an unterminated
// quote as a negative badCol.
func splitWords(line string) (words []word, badCol int) {
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\f' || line[i] == '\v') {
			i++
		}
		if i >= len(line) || line[i] == '#' {
			return words, 0
		}
		start := i
		var b strings.Builder
		for i < len(line) {
			c := line[i]
			if c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' {
				break
			}
			switch c {
			case '"':
				j := i + 1
				for ; j < len(line) && line[j] != '"'; j++ {
					if line[j] == '\\' && j+1 < len(line) && (line[j+1] == '"' || line[j+1] == '\\') {
						j++
					}
					b.WriteByte(line[j])
				}
				if j >= len(line) {
					return nil, i + 1
				}
				i = j + 1
			case '\'':
				j := strings.IndexByte(line[i+1:], '\'')
				if j < 0 {
					return nil, i + 1
				}
				b.WriteString(line[i+1 : i+1+j])
				i += j + 2
			case '\\':
				if i+1 < len(line) {
					b.WriteByte(line[i+1])
					i += 2
				} else {
					i++
				}
			default:
				b.WriteByte(c)
				i++
			}
		}
		words = append(words, word{s: b.String(), col: start + 1})
	}
}

// quote returns s as a single word for splitWords: unchanged when it needs
// no quoting, otherwise in double quotes with " and \ escaped.
func quote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\r\f\v\"'\\#!$") {
		return s
	}
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
