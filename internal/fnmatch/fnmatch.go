// Package fnmatch matches artifact paths against the glob patterns of
// in-toto artifact rules, with the semantics of Python's
// fnmatch.fnmatchcase, which the Python reference uses (in-toto spec v1.0,
// section 4.3.3 defers to it). The verifier applies rules with it and the
// layout linter reasons about them with it, so both agree.
package fnmatch

import (
	"strings"
	"unicode/utf8"
)

// Pattern is an artifact-rule pattern compiled once, with the semantics of
// Python's fnmatch.fnmatchcase, which the Python reference uses for every
// rule (in-toto spec v1.0, section 4.3.3 defers to it):
//
//   - '*' matches any sequence, '/' and newlines included;
//   - '?' matches any single character;
//   - "[seq]" and "[!seq]" match one character in (not in) seq, with
//     ranges "a-z"; a '[' without a closing ']' is a literal '[';
//   - there is no escaping; matching is case-sensitive and on Unicode code
//     points.
//
// A pattern without wildcards is a literal, which callers look up by map
// instead of scanning.
type Pattern struct {
	pattern string
	// literal is set when the pattern matches exactly one string, lit.
	literal bool
	lit     string
	toks    []globTok
}

type globTokKind uint8

const (
	tokChar  globTokKind = iota
	tokAny               // '?'
	tokStar              // '*' (consecutive stars are one)
	tokClass             // '[...]'
)

type globTok struct {
	kind globTokKind
	r    rune
	cls  *charClass
}

// charClass is a bracket expression. never and anyChar stand for the two
// degenerate classes Python produces ("(?!)" and ".").
type charClass struct {
	negate  bool
	never   bool
	anyChar bool
	singles []rune
	ranges  [][2]rune
}

func (c *charClass) has(r rune) bool {
	switch {
	case c.never:
		return false
	case c.anyChar:
		return true
	}
	in := false
	for _, s := range c.singles {
		if s == r {
			in = true
			break
		}
	}
	if !in {
		for _, rg := range c.ranges {
			if rg[0] <= r && r <= rg[1] {
				in = true
				break
			}
		}
	}
	return in != c.negate
}

// compileGlob parses a pattern. Every string is a valid pattern, as in
// Python.
func Compile(pattern string) *Pattern {
	g := &Pattern{pattern: pattern}
	pat := []rune(pattern)
	n := len(pat)
	for i := 0; i < n; {
		c := pat[i]
		i++
		switch c {
		case '*':
			if len(g.toks) == 0 || g.toks[len(g.toks)-1].kind != tokStar {
				g.toks = append(g.toks, globTok{kind: tokStar})
			}
		case '?':
			g.toks = append(g.toks, globTok{kind: tokAny})
		case '[':
			j := i
			if j < n && pat[j] == '!' {
				j++
			}
			if j < n && pat[j] == ']' {
				j++
			}
			for j < n && pat[j] != ']' {
				j++
			}
			if j >= n {
				g.toks = append(g.toks, globTok{kind: tokChar, r: '['})
				continue
			}
			g.toks = append(g.toks, globTok{kind: tokClass, cls: parseClass(pat, i, j)})
			i = j + 1
		default:
			g.toks = append(g.toks, globTok{kind: tokChar, r: c})
		}
	}
	g.literal = true
	var b strings.Builder
	for _, t := range g.toks {
		if t.kind != tokChar {
			g.literal = false
			break
		}
		b.WriteRune(t.r)
	}
	if g.literal {
		g.lit = b.String()
	}
	return g
}

// parseClass interprets pat[i:j], the inside of a bracket expression, the
// way fnmatch.translate does: hyphens split it into chunks, the last
// character of one chunk and the first of the next form a range, empty
// (descending) ranges are dropped by merging their chunks, and every other
// character, hyphens included, stands for itself.
func parseClass(pat []rune, i, j int) *charClass {
	stuff := pat[i:j]
	var chunks [][]rune
	if !containsRune(stuff, '-') {
		chunks = [][]rune{stuff}
	} else {
		k := i + 1
		if pat[i] == '!' {
			k = i + 2
		}
		for {
			k = indexRune(pat, '-', k, j)
			if k < 0 {
				break
			}
			chunks = append(chunks, pat[i:k])
			i = k + 1
			k += 3
		}
		if chunk := pat[i:j]; len(chunk) > 0 {
			chunks = append(chunks, chunk)
		} else {
			last := chunks[len(chunks)-1]
			chunks[len(chunks)-1] = append(append([]rune{}, last...), '-')
		}
		for k := len(chunks) - 1; k > 0; k-- {
			prev, cur := chunks[k-1], chunks[k]
			if prev[len(prev)-1] > cur[0] {
				merged := append(append([]rune{}, prev[:len(prev)-1]...), cur[1:]...)
				chunks[k-1] = merged
				chunks = append(chunks[:k], chunks[k+1:]...)
			}
		}
	}
	cls := &charClass{}
	// Python's special cases: nothing left matches nothing, a lone "!"
	// matches any character.
	if len(chunks) == 1 && len(chunks[0]) == 0 {
		cls.never = true
		return cls
	}
	if len(chunks) == 1 && len(chunks[0]) == 1 && chunks[0][0] == '!' {
		cls.anyChar = true
		return cls
	}
	if chunks[0][0] == '!' {
		cls.negate = true
		chunks[0] = chunks[0][1:]
	}
	for c, chunk := range chunks {
		for x, r := range chunk {
			startsRange := c < len(chunks)-1 && x == len(chunk)-1
			endsRange := c > 0 && x == 0
			if !startsRange && !endsRange {
				cls.singles = append(cls.singles, r)
			}
		}
		if c < len(chunks)-1 {
			next := chunks[c+1]
			if len(chunk) == 0 {
				// Only possible for a negated first chunk that was just "!":
				// Python's regex then reads the range's hyphen literally.
				cls.singles = append(cls.singles, '-', next[0])
				continue
			}
			cls.ranges = append(cls.ranges, [2]rune{chunk[len(chunk)-1], next[0]})
		}
	}
	return cls
}

func containsRune(s []rune, r rune) bool {
	for _, c := range s {
		if c == r {
			return true
		}
	}
	return false
}

func indexRune(s []rune, r rune, from, to int) int {
	for k := from; k < to; k++ {
		if s[k] == r {
			return k
		}
	}
	return -1
}

// Match reports whether name matches the whole pattern. It backtracks
// only to the last star, so it runs in O(len(pattern)·len(name)) at worst
// and linear time for the usual "*.ext" and "dir/*" patterns.
func (g *Pattern) Match(name string) bool {
	if g.literal {
		return name == g.lit
	}
	toks := g.toks
	ti, ni := 0, 0
	starTok, starName := -1, 0
	for {
		if ti < len(toks) {
			t := toks[ti]
			if t.kind == tokStar {
				starTok, starName = ti, ni
				ti++
				continue
			}
			if ni < len(name) {
				r, size := utf8.DecodeRuneInString(name[ni:])
				ok := false
				switch t.kind {
				case tokChar:
					ok = r == t.r
				case tokAny:
					ok = true
				case tokClass:
					ok = t.cls.has(r)
				}
				if ok {
					ti++
					ni += size
					continue
				}
			}
		} else if ni == len(name) {
			return true
		}
		// Mismatch: let the last star eat one more character.
		if starTok < 0 || starName >= len(name) {
			return false
		}
		_, size := utf8.DecodeRuneInString(name[starName:])
		starName += size
		ti, ni = starTok+1, starName
	}
}

// Literal returns the one string the pattern matches, if it has no
// wildcards; callers look such patterns up by map instead of scanning.
func (g *Pattern) Literal() (string, bool) { return g.lit, g.literal }

// MatchesAll is a fast path used by rules over many artifacts: "*" alone
// matches everything.
func (g *Pattern) MatchesAll() bool {
	return len(g.toks) == 1 && g.toks[0].kind == tokStar
}
