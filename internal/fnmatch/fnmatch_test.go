package fnmatch

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"os"
	"os/exec"
	"testing"
)

func TestGlobMatchesFnmatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"*", "a/b/c", true},
		{"*", "", true},
		{"*.tar.gz", "dist/foo.tar.gz", true}, // '*' crosses '/'
		{"*.tar.gz", "foo.tar.gz.sig", false},
		{"foo.py", "foo.py", true},
		{"foo.py", "./foo.py", false},
		{"?", "/", true},
		{"?", "é", true}, // one code point, two bytes
		{"??", "é", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"[abc]", "b", true},
		{"[!abc]", "b", false},
		{"[!abc]", "d", true},
		{"[a-c]x", "bx", true},
		{"[a-c]x", "dx", false},
		{"[z-a]", "m", false}, // empty range never matches
		{"[!z-a]", "m", true}, // ...and its negation matches anything
		{"[a-]", "-", true},
		{"[-a]", "-", true},
		{"[a--]", "a", false}, // Python drops "a--" entirely
		{"[", "[", true},      // unclosed: literal
		{"[ab", "[ab", true},
		{"[]]", "]", true},
		{"[!]]", "]", false},
		{"[!]]", "x", true},
		{"a[b-d-f]", "a-", true},
		{"a[b-d-f]", "ae", false},
		{"a[b-d-f]", "af", true},
		{`\*`, `\x`, true}, // no escaping: backslash is literal
		{"*\n", "a\n", true},
		{"**/x", "x", false},
		{"**/x", "/x", true},
	} {
		if got := Compile(tc.pattern).Match(tc.name); got != tc.want {
			t.Errorf("glob %q on %q = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

func TestGlobLiteral(t *testing.T) {
	for pattern, lit := range map[string]string{"foo.py": "foo.py", "a[b": "a[b", "": ""} {
		g := Compile(pattern)
		if !g.literal || g.lit != lit {
			t.Errorf("%q: literal=%v lit=%q, want literal %q", pattern, g.literal, g.lit, lit)
		}
	}
	for _, pattern := range []string{"*", "a?", "[ab]"} {
		if Compile(pattern).literal {
			t.Errorf("%q must not be a literal", pattern)
		}
	}
}

// TestGlobAgainstPython compares thousands of random patterns and names
// with Python's own fnmatch.fnmatchcase, the function the Python reference
// calls (through fnmatch.filter) for every artifact rule.
func TestGlobAgainstPython(t *testing.T) {
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skipf("%s not found; cannot compare with Python's fnmatch", py)
	}
	r := rand.New(rand.NewSource(1))
	alphabet := []rune("ab-!]/[*?.z^\\é")
	randStr := func(max int) string {
		n := r.Intn(max + 1)
		s := make([]rune, n)
		for i := range s {
			s[i] = alphabet[r.Intn(len(alphabet))]
		}
		return string(s)
	}
	type pair struct{ P, N string }
	var cases []pair
	for i := 0; i < 4000; i++ {
		cases = append(cases, pair{randStr(7), randStr(6)})
	}
	in, _ := json.Marshal(cases)
	cmd := exec.Command(py, "-c", `
import fnmatch, json, sys
cases = json.load(sys.stdin)
json.dump([fnmatch.fnmatchcase(c["N"], c["P"]) for c in cases], sys.stdout)
`)
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var want []bool
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i, c := range cases {
		if got := Compile(c.P).Match(c.N); got != want[i] {
			bad++
			if bad <= 20 {
				t.Errorf("pattern %q name %q: toto %v, python %v", c.P, c.N, got, want[i])
			}
		}
	}
}

func FuzzGlob(f *testing.F) {
	for _, s := range []string{"*", "[a-z]*", "[!]]", "a[b-d-f]", "[z-a-c]"} {
		f.Add(s, "abc")
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		g := Compile(pattern)
		m := g.Match(name)
		if g.literal && m != (name == g.lit) {
			t.Fatalf("literal %q disagrees", pattern)
		}
		if g.MatchesAll() && !m {
			t.Fatalf("%q must match %q", pattern, name)
		}
	})
}
