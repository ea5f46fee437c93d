package gitignore

import (
	"path"
	"testing"
)

func TestMatch(t *testing.T) {
	type c struct {
		path  string
		isDir bool
		want  bool
	}
	tests := []struct {
		name     string
		patterns []string
		cases    []c
	}{
		{"basename at any depth", []string{"node_modules"}, []c{
			{"node_modules", true, true},
			{"a/b/node_modules", true, true},
			{"a/node_modules/x.js", false, true}, // parent excluded
			{"node_modules_x", true, false},
			{"a/xnode_modules", false, false},
		}},
		{"star does not cross slash", []string{"*.link"}, []c{
			{"a.link", false, true},
			{"d/e/a.link", false, true},
			{"a.links", false, false},
			{"a.link/x", false, true}, // a directory named a.link
		}},
		{"anchored by leading slash", []string{"/build"}, []c{
			{"build", true, true},
			{"build/out.o", false, true},
			{"src/build", true, false},
		}},
		{"anchored by middle slash", []string{"src/*.o"}, []c{
			{"src/a.o", false, true},
			{"x/src/a.o", false, false},
			{"src/sub/a.o", false, false},
		}},
		{"dir only", []string{"out/"}, []c{
			{"out", true, true},
			{"out", false, false},
			{"a/out", true, true},
			{"a/out/f", false, true},
		}},
		{"double star prefix", []string{"**/logs"}, []c{
			{"logs", true, true},
			{"a/b/logs", true, true},
		}},
		{"double star middle", []string{"a/**/b"}, []c{
			{"a/b", false, true},
			{"a/x/b", false, true},
			{"a/x/y/b", false, true},
			{"x/a/b", false, false},
		}},
		{"double star suffix", []string{"a/**"}, []c{
			{"a", true, false},
			{"a/x", false, true},
			{"a/x/y", false, true},
		}},
		{"negation re-includes", []string{"*.txt", "!keep.txt"}, []c{
			{"a.txt", false, true},
			{"keep.txt", false, false},
			{"d/keep.txt", false, false},
		}},
		{"negation cannot re-include below excluded dir", []string{"d", "!d/keep.txt"}, []c{
			{"d/keep.txt", false, true},
		}},
		{"later pattern wins", []string{"!a", "a"}, []c{{"a", false, true}}},
		{"question mark and class", []string{"file?.[ch]", "[!x]y"}, []c{
			{"file1.c", false, true},
			{"file1.h", false, true},
			{"file1.o", false, false},
			{"file12.c", false, false},
			{"ay", false, true},
			{"xy", false, false},
		}},
		{"range and caret negation", []string{"v[0-9]", "[^a]z"}, []c{
			{"v7", false, true},
			{"va", false, false},
			{"bz", false, true},
			{"az", false, false},
		}},
		{"unicode question mark", []string{"caf?"}, []c{{"café", false, true}}},
		{"escapes", []string{`\#hash`, `\!bang`, `a\*b`, `trail\ `}, []c{
			{"#hash", false, true},
			{"!bang", false, true},
			{"a*b", false, true},
			{"axb", false, false},
			{"trail ", false, true},
		}},
		{"comments, blanks, trailing spaces", []string{"# x", "", "   ", "y   "}, []c{
			{"# x", false, false},
			{"y", false, true},
		}},
		{"leading ./ and / of path ignored", []string{"/a"}, []c{
			{"./a", false, true},
			{"/a", false, true},
		}},
		{"dotfiles matched by star", []string{"*"}, []c{{".git", true, true}}},
		{"several stars", []string{"*a*b*c*"}, []c{
			{"xaybzc", false, true},
			{"abc", false, true},
			{"acb", false, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Compile(tt.patterns)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tt.cases {
				if got := m.Match(c.path, c.isDir); got != c.want {
					t.Errorf("patterns %q: Match(%q, dir=%v) = %v, want %v", tt.patterns, c.path, c.isDir, got, c.want)
				}
			}
		})
	}
}

func TestMatchEntryIgnoresParents(t *testing.T) {
	m, err := Compile([]string{"d"})
	if err != nil {
		t.Fatal(err)
	}
	if m.MatchEntry("d/f", false) {
		t.Error("MatchEntry should only judge the entry itself")
	}
	if !m.Match("d/f", false) {
		t.Error("Match should exclude entries of an excluded directory")
	}
}

func TestCompileErrors(t *testing.T) {
	for _, p := range []string{"[abc", `abc\`, "a/[b/c"} {
		if _, err := Compile([]string{p}); err == nil {
			t.Errorf("Compile(%q): want error", p)
		}
	}
}

func TestEmpty(t *testing.T) {
	var m *Matcher
	if !m.Empty() || m.Match("a", false) {
		t.Error("nil matcher must match nothing")
	}
	m, _ = Compile([]string{"# only a comment"})
	if !m.Empty() {
		t.Error("comment-only matcher should be empty")
	}
}

// FuzzMatch checks that no pattern panics or hangs, and that a pattern
// without special characters agrees with path.Match on one segment.
func FuzzMatch(f *testing.F) {
	f.Add("*.link", "a/b.link", true)
	f.Add("a/**/b", "a/x/y/b", false)
	f.Add("[!a-c]x", "dx", false)
	f.Add("**/**/**/a", "a/a/a/a/a/a/a/a/a/a/a/a/b", true)
	f.Add("a", "x/./a/.", false)
	f.Add("!*.c", "d/x.c/", true)
	f.Fuzz(func(t *testing.T, pat, p string, isDir bool) {
		m, err := Compile([]string{pat})
		if err != nil {
			return
		}
		got := m.Match(p, isDir)
		// The last-segment shortcut must agree with full matching.
		segs := split(p)
		if full := len(segs) > 0 && m.decide(segs, isDir); full != m.MatchEntry(p, isDir) {
			t.Errorf("MatchEntry(%q, %q) = %v, full matching says %v", pat, p, !full, full)
		}
		// path.Match is the oracle only for ASCII names: after a "*" it
		// retries at every byte offset, so "?" can match the tail bytes of
		// a split rune ("*????" matches "뗝00", 3 characters, there).
		// Here "?" is one character, as in Python in-toto's pathspec
		// (TestMatchCharacters).
		if isPlainSegment(pat) && isPlainSegment(p) && isASCII(p) && p != "" && p != "." {
			want, _ := path.Match(pat, p)
			if got != want {
				t.Errorf("Match(%q, %q) = %v, path.Match says %v", pat, p, got, want)
			}
		}
	})
}

// isPlainSegment reports whether s has no characters where gitignore and
// path.Match differ or that are structural.
func isPlainSegment(s string) bool {
	if s == "" || s[0] == '#' || s[0] == '!' || s[len(s)-1] == ' ' {
		return false
	}
	for _, r := range s {
		switch r {
		case '/', '\\', '[', ']':
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// TestMatchCharacters: "?" and "*" count characters, not bytes, in names
// that are not ASCII — what Debian's python3-pathspec 0.11 (Python
// in-toto's matcher) answers for these pairs.
func TestMatchCharacters(t *testing.T) {
	for _, tc := range []struct {
		pat, name string
		want      bool
	}{
		{"*????", "뗝00", false},
		{"*????", "뗝000", true},
		{"?.txt", "é.txt", true},
		{"??.txt", "é.txt", false},
	} {
		m, err := Compile([]string{tc.pat})
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Match(tc.name, false); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pat, tc.name, got, tc.want)
		}
	}
}
