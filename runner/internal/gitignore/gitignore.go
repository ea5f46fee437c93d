// Package gitignore matches slash-separated paths against patterns with the
// semantics of git's .gitignore files (gitignore(5)): "*", "?", "[...]",
// "**" across directories, a leading or middle "/" anchoring a pattern to the
// root, a trailing "/" matching directories only, "!" re-including, "\"
// escaping, "#" comments and ignored trailing spaces.
//
// The root is whatever the caller's paths are relative to; leading "/" and
// "./" of a path are ignored.
package gitignore

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Matcher is a compiled, ordered list of patterns. The last pattern that
// matches a path decides whether it is excluded.
type Matcher struct {
	patterns []pattern
	// baseOnly is set when every pattern only looks at a path's last
	// segment, which makes matching a walked entry cheap.
	baseOnly bool
}

type pattern struct {
	text    string   // the pattern as given, for messages
	segs    []string // glob per path segment; "**" spans any number of segments
	negate  bool
	dirOnly bool
	// base is set for the common "name at any depth" pattern (no slash):
	// it only needs the path's last segment.
	base string
}

// Compile parses patterns. Blank lines and comments are skipped; a malformed
// pattern (an unclosed "[" or a trailing "\") is an error naming it.
func Compile(patterns []string) (*Matcher, error) {
	m := &Matcher{}
	for _, raw := range patterns {
		p, ok, err := parse(raw)
		if err != nil {
			return nil, fmt.Errorf("exclude pattern %q: %w", raw, err)
		}
		if ok {
			m.patterns = append(m.patterns, p)
		}
	}
	m.baseOnly = true
	for i := range m.patterns {
		if m.patterns[i].base == "" {
			m.baseOnly = false
		}
	}
	return m, nil
}

// Empty reports whether the matcher has no patterns.
func (m *Matcher) Empty() bool { return m == nil || len(m.patterns) == 0 }

func parse(raw string) (pattern, bool, error) {
	s := trimTrailingSpaces(raw)
	if s == "" || s[0] == '#' {
		return pattern{}, false, nil
	}
	p := pattern{text: raw}
	if s[0] == '!' {
		p.negate = true
		s = s[1:]
	}
	if strings.HasSuffix(s, "/") && !strings.HasSuffix(s, "\\/") {
		p.dirOnly = true
		s = strings.TrimRight(s, "/")
	}
	if s == "" {
		return pattern{}, false, nil
	}
	// A slash at the start or in the middle anchors the pattern to the root;
	// otherwise it may match at any depth.
	anchored := strings.Contains(s, "/")
	s = strings.TrimPrefix(s, "/")
	var segs []string
	if !anchored {
		segs = append(segs, "**")
	}
	for _, seg := range strings.Split(s, "/") {
		if seg == "" {
			continue // "a//b" is "a/b"
		}
		if seg == "**" && len(segs) > 0 && segs[len(segs)-1] == "**" {
			continue // consecutive "**" mean the same as one
		}
		if err := validGlob(seg); err != nil {
			return pattern{}, false, err
		}
		segs = append(segs, seg)
	}
	if len(segs) == 0 {
		return pattern{}, false, nil
	}
	p.segs = segs
	if len(segs) == 2 && segs[0] == "**" && segs[1] != "**" {
		p.base = segs[1]
	}
	return p, true, nil
}

// trimTrailingSpaces drops trailing spaces unless escaped with a backslash.
func trimTrailingSpaces(s string) string {
	for strings.HasSuffix(s, " ") {
		if strings.HasSuffix(s, "\\ ") {
			// Count the backslashes: an odd number escapes the space.
			n := 0
			for i := len(s) - 2; i >= 0 && s[i] == '\\'; i-- {
				n++
			}
			if n%2 == 1 {
				return s
			}
		}
		s = s[:len(s)-1]
	}
	return s
}

// Match reports whether path (slash-separated, relative to the root) is
// excluded, either itself or because one of its parent directories is: as
// in git, nothing below an excluded directory can be re-included.
func (m *Matcher) Match(path string, isDir bool) bool {
	return m.MatchParents(path) || m.MatchEntry(path, isDir)
}

// MatchParents reports whether one of path's parent directories is
// excluded.
func (m *Matcher) MatchParents(path string) bool {
	if m.Empty() {
		return false
	}
	segs := split(path)
	for i := 1; i < len(segs); i++ {
		if m.decide(segs[:i], true) {
			return true
		}
	}
	return false
}

// MatchEntry is Match for a path whose parent directories are known not to
// be excluded, as while walking a tree that prunes excluded directories.
func (m *Matcher) MatchEntry(path string, isDir bool) bool {
	if m.Empty() {
		return false
	}
	// Walking calls this for every file: when every pattern only looks at
	// the last segment, skip splitting the path.
	if m.baseOnly {
		base := lastSegment(path)
		if base == "" {
			return false
		}
		excluded := false
		for i := range m.patterns {
			p := &m.patterns[i]
			if p.negate == excluded && !(p.dirOnly && !isDir) && matchGlob(p.base, base) {
				excluded = !p.negate
			}
		}
		return excluded
	}
	segs := split(path)
	return len(segs) > 0 && m.decide(segs, isDir)
}

// lastSegment returns the last non-empty, non-"." segment of path.
func lastSegment(path string) string {
	for path != "" {
		i := strings.LastIndexByte(path, '/')
		seg := path[i+1:]
		if seg != "" && seg != "." {
			return seg
		}
		if i < 0 {
			return ""
		}
		path = path[:i]
	}
	return ""
}

func split(path string) []string {
	var out []string
	for _, s := range strings.Split(path, "/") {
		if s == "" || s == "." {
			continue
		}
		out = append(out, s)
	}
	return out
}

func (m *Matcher) decide(segs []string, isDir bool) bool {
	excluded := false
	for i := range m.patterns {
		p := &m.patterns[i]
		if p.negate != excluded {
			// This pattern could not change the verdict.
			continue
		}
		if p.dirOnly && !isDir {
			continue
		}
		if matchSegs(p.segs, segs) {
			excluded = !p.negate
		}
	}
	return excluded
}

// matchSegs matches pattern segments against path segments with "**"
// spanning zero or more whole segments, by dynamic programming so that no
// pattern can make matching exponential.
func matchSegs(pat, path []string) bool {
	// ok[j] reports whether pat[i:] matches path[j:], computed for i from the
	// end of the pattern backwards.
	ok := make([]bool, len(path)+1)
	ok[len(path)] = true
	for i := len(pat) - 1; i >= 0; i-- {
		next := ok
		ok = make([]bool, len(path)+1)
		if pat[i] == "**" {
			if i == len(pat)-1 {
				// A trailing "**" matches everything inside, at least one
				// segment: "a/**" matches "a/b" but not "a".
				for j := 0; j < len(path); j++ {
					ok[j] = true
				}
				continue
			}
			any := false
			for j := len(path); j >= 0; j-- {
				any = any || next[j]
				ok[j] = any
			}
			continue
		}
		for j := 0; j < len(path); j++ {
			ok[j] = next[j+1] && matchGlob(pat[i], path[j])
		}
	}
	return ok[0]
}

// validGlob checks that every "[" is closed and no "\" is left dangling.
func validGlob(g string) error {
	for i := 0; i < len(g); i++ {
		switch g[i] {
		case '\\':
			if i+1 >= len(g) {
				return fmt.Errorf("trailing backslash")
			}
			i++
		case '[':
			end, ok := classEnd(g, i)
			if !ok {
				return fmt.Errorf("unclosed '['")
			}
			i = end
		}
	}
	return nil
}

// classEnd returns the index of the "]" closing the class opened at g[i].
func classEnd(g string, i int) (int, bool) {
	j := i + 1
	if j < len(g) && (g[j] == '!' || g[j] == '^') {
		j++
	}
	if j < len(g) && g[j] == ']' {
		j++ // a leading "]" is a literal member
	}
	for ; j < len(g); j++ {
		switch g[j] {
		case '\\':
			j++
		case ']':
			return j, true
		}
	}
	return 0, false
}

// matchGlob matches one segment. "*" backtracks to the last star only, which
// is enough for a single segment and keeps matching linear in practice.
func matchGlob(g, s string) bool {
	gi, si := 0, 0
	starG, starS := -1, -1
	for si < len(s) {
		if gi < len(g) {
			switch g[gi] {
			case '*':
				for gi < len(g) && g[gi] == '*' {
					gi++
				}
				starG, starS = gi, si
				continue
			case '?':
				_, n := utf8.DecodeRuneInString(s[si:])
				gi++
				si += n
				continue
			case '[':
				end, _ := classEnd(g, gi)
				r, n := utf8.DecodeRuneInString(s[si:])
				if matchClass(g[gi+1:end], r) {
					gi = end + 1
					si += n
					continue
				}
			case '\\':
				if gi+1 < len(g) && g[gi+1] == s[si] {
					gi += 2
					si++
					continue
				}
			default:
				if g[gi] == s[si] {
					gi++
					si++
					continue
				}
			}
		}
		if starG < 0 {
			return false
		}
		// Let the last star swallow one more character and retry.
		_, n := utf8.DecodeRuneInString(s[starS:])
		starS += n
		gi, si = starG, starS
	}
	for gi < len(g) && g[gi] == '*' {
		gi++
	}
	return gi == len(g)
}

// matchClass matches r against the inside of a "[...]" class.
func matchClass(class string, r rune) bool {
	negate := false
	if class != "" && (class[0] == '!' || class[0] == '^') {
		negate = true
		class = class[1:]
	}
	found := false
	for class != "" {
		lo, n := classRune(class)
		class = class[n:]
		hi := lo
		// "a-z" is a range; a "-" at the end is a literal.
		if len(class) >= 2 && class[0] == '-' {
			h, n2 := classRune(class[1:])
			hi = h
			class = class[1+n2:]
		}
		if lo <= r && r <= hi {
			found = true
		}
	}
	return found != negate
}

func classRune(s string) (rune, int) {
	if s[0] == '\\' && len(s) > 1 {
		r, n := utf8.DecodeRuneInString(s[1:])
		return r, n + 1
	}
	return utf8.DecodeRuneInString(s)
}
