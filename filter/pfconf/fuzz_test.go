package pfconf

import (
	"errors"
	"strings"
	"testing"
)

var errNoFiles = errors.New("no files while fuzzing")

// FuzzParse checks that no input makes the parser panic, and that what
// it prints parses back to the same rules and prints the same (pfctl's
// selfpf property).
func FuzzParse(f *testing.F) {
	f.Add("pass in all\n")                                                                                  // the smallest rule
	f.Add("a = \"{ 10.0.0.1, ::1 }\"\npass from $a to any port { ssh, 0x10 }\n")                            // list macro, mixed families, hex port
	f.Add("block return-icmp(5, 1) in\nblock return-rst(ttl 3) proto tcp\n")                                // return variants
	f.Add("match out on lo0 from 10/8 to ! 172.16/16 binat-to 12/8 tag t\n")                                // binat expansion, short CIDR
	f.Add("match in on lo0 proto tcp to port 1:9 rdr-to { 127.0.0.1 127.0.0.2 } port 5:* sticky-address\n") // pool table, port star
	f.Add("anchor \"a\" {\n anchor {\n  pass\n }\n}\nanchor \"b/*\"\n")                                     // nested inline, unnamed, wildcard
	f.Add("table <t> const { lo0 !10.0.0.1 } { }\npass from { <t> !<u> }\n")                                // tables, negated list element
	f.Add("set block-policy return\nset skip on { lo }\nblock\nset timeout { tcp.first 1 }\n")              // options
	f.Add("pass proto tcp keep state (max 9, max-src-conn-rate 3/5, overload <b> flush global)\n")          // state options
	f.Add("pass inet proto icmp icmp-type { echoreq unreach code 3 } label \"$nr $proto\"\n")               // icmp types, label macros
	f.Add("pass \\\n in # comment\n'x' = \"y\"\n")                                                          // continuation, comment, quoted macro name
	f.Add("pass from (lo0:network)/24 to lo0:0 port 1 >< 9\n")                                              // dynamic with mask, interface modifiers
	f.Add("pass in inet6 af-to inet from 10.0.0.1 to 10.0.0.2\n")                                           // af-to
	f.Fuzz(func(t *testing.T, src string) {
		opts := ParseOptions{
			Interfaces: regressInterfaces,
			ReadFile:   func(string) ([]byte, error) { return nil, errNoFiles },
		}
		if quoteInWord(src) || digitsAsWord(src) {
			return
		}
		s, err := ParseWith("fuzz", strings.NewReader(src), opts)
		if err != nil {
			return
		}
		out := s.Format()
		if !printable(out) || !echoRoundTrips(s.Echo) || !rdrPortsPrint(s.Main.Rules) {
			return
		}
		s2, err := ParseWith("fuzz", strings.NewReader(out), opts)
		if err != nil {
			t.Fatalf("Parse(%q) prints\n%s\nwhich does not parse: %v", src, out, err)
		}
		if out2 := s2.Format(); out2 != out {
			t.Fatalf("Parse(%q) prints\n%s\nwhich prints\n%s", src, out, out2)
		}
		if len(s.Main.Rules) != len(s2.Main.Rules) {
			t.Fatalf("Parse(%q): %d rules, %d after printing and parsing again", src, len(s.Main.Rules), len(s2.Main.Rules))
		}
		for i := range s.Main.Rules {
			a, b := s.Main.Rules[i], s2.Main.Rules[i]
			a.Line, b.Line = 0, 0
			if !rulesEqual(&a, &b) {
				t.Fatalf("Parse(%q) rule %d = %+v, after printing and parsing again %+v", src, i, a, b)
			}
		}
	})
}

// quoteInWord reports whether src has a quote inside an unquoted word
// (0"" is one word to pfctl's lexer, allowed_in_string): pfctl prints such
// a name or value between quotes with no escaping, so it does not read
// back, in pfctl as here.
func quoteInWord(src string) bool {
	for i := 1; i < len(src); i++ {
		if (src[i] == '"' || src[i] == '\'') && allowedInString(int(src[i-1])) {
			return true
		}
	}
	return false
}

// digitsAsWord reports whether src has a run of digits that pfctl's lexer
// reads as a word rather than a number (on 0# names interface "0": the
// digits end at a character that may end neither a number nor a word):
// printed, such a word reads back as a number, in pfctl as here.
func digitsAsWord(src string) bool {
	for i := 0; i < len(src); i++ {
		if src[i] < '0' || src[i] > '9' || i > 0 && allowedInString(int(src[i-1])) {
			continue
		}
		j := i
		for j < len(src) && src[j] >= '0' && src[j] <= '9' {
			j++
		}
		if j < len(src) && !allowedToEndNumber(int(src[j])) && !allowedInString(int(src[j])) {
			return true
		}
		i = j
	}
	return false
}

// echoRoundTrips reports whether the macro definitions pfctl -nv echoes
// parse back to the same values: pfctl prints `name = "value"` with no
// escaping, so a value holding a double quote (an unquoted word may: 0"")
// comes back as another value, in pfctl as here.
func echoRoundTrips(echo []string) bool {
	for _, e := range echo {
		if _, v, ok := strings.Cut(e, " = \""); ok && strings.Contains(strings.TrimSuffix(v, "\""), "\"") {
			return false
		}
	}
	return true
}

// rdrPortsPrint reports whether the rules' rdr-to port ranges print:
// print_pool shows an rdr-to range only from a first port that is not 0,
// so `rdr-to X port 0:1` prints no port at all, in pfctl as here.
func rdrPortsPrint(rules []Rule) bool {
	for i := range rules {
		if r := rules[i].RDR; r != nil && r.PortLo == 0 && r.PortHi != 0 {
			return false
		}
	}
	return true
}

// printable reports whether pfctl's output format can carry the text
// back: pfctl prints names and quoted strings raw, so text holding a
// quote, a backslash, a '#' or a control character does not read back,
// for pfctl as for us.
func printable(out string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.ContainsAny(line, "\\#'\t\r") || strings.Count(line, "\"")%2 != 0 {
			return false
		}
		for _, c := range line {
			if c < ' ' || c >= 0x7f {
				return false
			}
		}
	}
	return true
}
