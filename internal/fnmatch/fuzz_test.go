package fnmatch

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzGlobMatchesRegexp checks the rule pattern matcher against Go's
// regexp engine, on patterns a plain translation covers: '*' is ".*", '?'
// is ".", a bracket expression without ranges or nested brackets is a
// character class, anything else is itself (fnmatch.translate does the
// same). The matcher's own backtracking is the part most likely to go
// wrong, and rule patterns come from signed but untrusted layouts.
func FuzzGlobMatchesRegexp(f *testing.F) {
	for _, s := range [][2]string{
		{"*", ""}, {"*.tar.gz", "dist/foo.tar.gz"}, {"a*b*c", "aXbYbZc"}, {"a*b*c", "aXbYbZ"},
		{"?", "é"}, {"[abc]*[!x]", "bxxy"}, {"**a**", "aaa"}, {"*a*a*a*a*b", strings.Repeat("a", 40)},
		{"dist/*/bin", "dist/a/b/bin"}, {"[", "["}, {"[.]*", ".x"}, {"x\n*", "x\ny\nz"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		got := Compile(pattern).Match(name)
		if !utf8.ValidString(pattern) || !utf8.ValidString(name) {
			return // the oracle below is for text; the matcher must only not panic
		}
		expr, ok := globRegexp(pattern)
		if !ok {
			return
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			t.Fatalf("pattern %q: oracle regexp %q: %v", pattern, expr, err)
		}
		if want := re.MatchString(name); got != want {
			t.Fatalf("pattern %q, name %q: match %v, regexp %s says %v", pattern, name, got, expr, want)
		}
	})
}

// globRegexp translates pattern to an anchored regexp, or reports false
// when it has a bracket expression outside the plain subset.
func globRegexp(pattern string) (string, bool) {
	var b strings.Builder
	b.WriteString(`(?s)\A`)
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '[':
			j := i + 1
			neg := j < len(rs) && rs[j] == '!'
			if neg {
				j++
			}
			end := -1
			for k := j; k < len(rs); k++ {
				if rs[k] == ']' {
					end = k
					break
				}
			}
			if end < 0 {
				b.WriteString(regexp.QuoteMeta("[")) // unclosed: a literal
				continue
			}
			set := rs[j:end]
			if len(set) == 0 || strings.ContainsAny(string(set), "-[]") {
				return "", false
			}
			b.WriteByte('[')
			if neg {
				b.WriteByte('^')
			}
			for _, r := range set {
				if r == '\\' || r == '^' {
					b.WriteByte('\\')
				}
				b.WriteRune(r)
			}
			b.WriteByte(']')
			i = end
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`\z`)
	return b.String(), true
}
