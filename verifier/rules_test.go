package verifier

import (
	"fmt"
	"strings"
	"testing"

	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
)

func ds(h string) link.DigestSet { return link.DigestSet{"sha256": h} }

func arts(kv ...string) link.Artifacts {
	a := link.Artifacts{}
	for i := 0; i < len(kv); i += 2 {
		a[kv[i]] = ds(kv[i+1])
	}
	return a
}

func mustRules(t *testing.T, lists ...[]string) []compiledRule {
	t.Helper()
	rs, err := layout.ParseRules(lists)
	if err != nil {
		t.Fatal(err)
	}
	return compileRules(rs)
}

// TestRules drives each of the seven rule types through the queue, and
// checks what every rule consumed and every failure message.
func TestRules(t *testing.T) {
	build := &link.Link{Name: "build",
		Materials: arts("src/a.c", "aa", "src/b.c", "bb"),
		Products:  arts("foo.tar.gz", "f1", "out/bin", "b1", "dist/x.whl", "w1")}
	tests := []struct {
		name     string
		kind     ArtifactKind
		own      *link.Link
		rules    [][]string
		consumed [][]string // per rule
		failures []string   // full messages, in order
	}{
		{
			name: "ALLOW consumes what the pattern selects, '*' crossing '/'",
			kind: ProductsQueue,
			own:  &link.Link{Products: arts("a.txt", "1", "d/b.txt", "2", "c.bin", "3")},
			rules: [][]string{
				{"ALLOW", "*.txt"}, {"DISALLOW", "*"},
			},
			consumed: [][]string{{"a.txt", "d/b.txt"}, nil},
			failures: []string{
				"products of step s: c.bin was DISALLOWed by rule 2 (DISALLOW *); nothing earlier consumed it; no earlier rule covers it (if it is expected, add a rule before the DISALLOW that consumes it)",
			},
		},
		{
			name: "CREATE consumes products that are not materials",
			kind: ProductsQueue,
			own:  &link.Link{Materials: arts("old", "1"), Products: arts("old", "1", "new", "2")},
			rules: [][]string{
				{"CREATE", "*"}, {"DISALLOW", "*"},
			},
			consumed: [][]string{{"new"}, nil},
			failures: []string{
				"products of step s: old was DISALLOWed by rule 2 (DISALLOW *); nothing earlier consumed it; closest rule: CREATE * — it is also a material, so it was not created here",
			},
		},
		{
			name: "DELETE consumes materials that are not products",
			kind: MaterialsQueue,
			own:  &link.Link{Materials: arts("gone", "1", "kept", "2"), Products: arts("kept", "2")},
			rules: [][]string{
				{"DELETE", "*"}, {"DISALLOW", "*"},
			},
			consumed: [][]string{{"gone"}, nil},
			failures: []string{
				"materials of step s: kept was DISALLOWed by rule 2 (DISALLOW *); nothing earlier consumed it; closest rule: DELETE * — it is also a product, so it was not deleted here",
			},
		},
		{
			name: "MODIFY consumes artifacts whose hashes changed",
			kind: ProductsQueue,
			own:  &link.Link{Materials: arts("a", "1", "b", "2"), Products: arts("a", "9", "b", "2", "c", "3")},
			rules: [][]string{
				{"MODIFY", "*"}, {"DISALLOW", "b"}, {"DISALLOW", "c"},
			},
			consumed: [][]string{{"a"}, nil, nil},
			failures: []string{
				"products of step s: b was DISALLOWed by rule 2 (DISALLOW b); nothing earlier consumed it; closest rule: MODIFY * — it is unchanged (material and product have the same hashes)",
				"products of step s: c was DISALLOWed by rule 3 (DISALLOW c); nothing earlier consumed it; closest rule: MODIFY * — MODIFY only consumes artifacts that are both materials and products",
			},
		},
		{
			name: "MATCH consumes artifacts with equal hashes in the FROM step",
			kind: MaterialsQueue,
			own:  &link.Link{Materials: arts("foo.tar.gz", "f1", "out/bin", "EVIL", "extra", "e")},
			rules: [][]string{
				{"MATCH", "foo.tar.gz", "WITH", "PRODUCTS", "FROM", "build"},
				{"MATCH", "*", "WITH", "PRODUCTS", "FROM", "build"},
				{"DISALLOW", "*"},
			},
			consumed: [][]string{{"foo.tar.gz"}, nil, nil},
			failures: []string{
				"materials of step s: extra was DISALLOWed by rule 3 (DISALLOW *); nothing earlier consumed it; closest rule: MATCH * WITH PRODUCTS FROM build — the products of build have no extra",
				"materials of step s: out/bin was DISALLOWed by rule 3 (DISALLOW *); nothing earlier consumed it; closest rule: MATCH * WITH PRODUCTS FROM build — hashes differ: sha256 EVIL here, b1 in the products of build",
			},
		},
		{
			name: "MATCH with source and destination prefixes, stripped strictly",
			kind: MaterialsQueue,
			own: &link.Link{Materials: arts(
				"pkg/x.whl", "w1", // pkg/ + x.whl <-> dist/ + x.whl
				"pkgx.whl", "w1", // shares the string prefix "pkg" but not "pkg/"
				"pkg/sub/x.whl", "w1", // "*" crosses "/": dist/sub/x.whl is absent
			)},
			rules: [][]string{
				{"MATCH", "*.whl", "IN", "pkg", "WITH", "PRODUCTS", "IN", "dist/", "FROM", "build"},
				{"DISALLOW", "*"},
			},
			consumed: [][]string{{"pkg/x.whl"}, nil},
			failures: []string{
				"materials of step s: pkg/sub/x.whl was DISALLOWed by rule 2 (DISALLOW *); nothing earlier consumed it; closest rule: MATCH *.whl IN pkg WITH PRODUCTS IN dist/ FROM build — the products of build have no dist/sub/x.whl",
				"materials of step s: pkgx.whl was DISALLOWed by rule 2 (DISALLOW *); nothing earlier consumed it; no earlier rule covers it (if it is expected, add a rule before the DISALLOW that consumes it)",
			},
		},
		{
			name: "MATCH against a step without a link, and against no step at all",
			kind: MaterialsQueue,
			own:  &link.Link{Materials: arts("a", "1", "b", "2")},
			rules: [][]string{
				{"MATCH", "a", "WITH", "PRODUCTS", "FROM", "test"},
				{"MATCH", "b", "WITH", "MATERIALS", "FROM", "nosuch"},
				{"DISALLOW", "*"},
			},
			consumed: [][]string{nil, nil, nil},
			failures: []string{
				"materials of step s: a was DISALLOWed by rule 3 (DISALLOW *); nothing earlier consumed it; closest rule: MATCH a WITH PRODUCTS FROM test — test has no verified link",
				"materials of step s: b was DISALLOWed by rule 3 (DISALLOW *); nothing earlier consumed it; closest rule: MATCH b WITH MATERIALS FROM nosuch — there is no step or inspection \"nosuch\" in the layout",
			},
		},
		{
			name: "MATCH compares whole digest sets, as the references do",
			kind: MaterialsQueue,
			own:  &link.Link{Materials: link.Artifacts{"foo.tar.gz": {"sha256": "f1", "sha512": "ff"}}},
			rules: [][]string{
				{"MATCH", "*", "WITH", "PRODUCTS", "FROM", "build"},
				{"DISALLOW", "*"},
			},
			consumed: [][]string{nil, nil},
			failures: []string{
				"materials of step s: foo.tar.gz was DISALLOWed by rule 2 (DISALLOW *); nothing earlier consumed it; closest rule: MATCH * WITH PRODUCTS FROM build — hashes differ: different hash algorithms (sha256+sha512 here, sha256 in the products of build)",
			},
		},
		{
			name: "REQUIRE is a literal path checked against the queue",
			kind: ProductsQueue,
			own:  &link.Link{Products: arts("a", "1", "*", "2")},
			rules: [][]string{
				{"REQUIRE", "*"}, {"REQUIRE", "b"}, {"ALLOW", "a"}, {"REQUIRE", "a"},
			},
			consumed: [][]string{nil, nil, {"a"}, nil},
			failures: []string{
				"products of step s: b is REQUIREd by rule 2 but is not among the products",
				"products of step s: a is REQUIREd by rule 4 but was already consumed by rule 3 (ALLOW a); move the REQUIRE before it",
			},
		},
		{
			name: "rule keywords are case-insensitive; DISALLOW of nothing passes",
			kind: ProductsQueue,
			own:  &link.Link{Products: arts("a", "1")},
			rules: [][]string{
				{"allow", "a"}, {"disallow", "*"},
			},
			consumed: [][]string{{"a"}, nil},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := &ruleEnv{item: "s", own: tc.own,
				links: map[string]*link.Link{"build": build, "s": tc.own},
				names: map[string]bool{"build": true, "test": true, "s": true}}
			rs := applyRules(env, tc.kind, mustRules(t, tc.rules...))
			var fails []string
			for i, rr := range rs.Rules {
				if fmt.Sprint(rr.Consumed) != fmt.Sprint(tc.consumed[i]) && !(len(rr.Consumed) == 0 && len(tc.consumed[i]) == 0) {
					t.Errorf("rule %d (%s) consumed %v, want %v", i+1, rr.Rule, rr.Consumed, tc.consumed[i])
				}
				for _, f := range rr.Failures {
					fails = append(fails, f.Error())
				}
			}
			if strings.Join(fails, "\n") != strings.Join(tc.failures, "\n") {
				t.Errorf("failures:\n%s\nwant:\n%s", strings.Join(fails, "\n"), strings.Join(tc.failures, "\n"))
			}
		})
	}
}

func TestDestPathFollowsOsPathJoin(t *testing.T) {
	for _, tc := range []struct{ prefix, rel, want string }{
		{"", "a", "a"},
		{"dist", "a", "dist/a"},
		{"dist/", "a", "dist/a"},
		{"dist", "/abs", "/abs"}, // os.path.join drops the prefix
		{"dist//", "a", "dist//a"},
	} {
		if got := destPath(tc.prefix, tc.rel); got != tc.want {
			t.Errorf("destPath(%q, %q) = %q, want %q", tc.prefix, tc.rel, got, tc.want)
		}
	}
}

func TestQueueSelectLiteralAndWildcard(t *testing.T) {
	q := newQueue(arts("a/b", "1", "a/c", "2", "b", "3"))
	lit := mustRules(t, []string{"MATCH", "b", "IN", "a", "WITH", "PRODUCTS", "FROM", "x"})[0]
	if got := q.selectRule(&lit); len(got) != 1 || q.paths[got[0]] != "a/b" {
		t.Errorf("literal with prefix selected %v", got)
	}
	q.consumer[0] = 0
	if got := q.selectRule(&lit); len(got) != 0 {
		t.Errorf("a consumed artifact was selected again: %v", got)
	}
	wild := mustRules(t, []string{"ALLOW", "*"})[0]
	if got := q.selectRule(&wild); len(got) != 2 {
		t.Errorf("'*' selected %v", got)
	}
}
