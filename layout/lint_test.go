package layout_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/internal/corpus"
	"github.com/toto-dev/toto/layout"
)

// lintBase is a small layout that lints clean; each case below breaks it in
// one way.
func lintBase(t testing.TB) *layout.Layout {
	t.Helper()
	l, err := layout.NewBuilder(now.AddDate(0, 0, 90)).
		AddFunctionary("alice", loadKey(t, "testdata/keys/alice.pub")).
		AddFunctionary("bob", loadKey(t, "testdata/keys/bob.pub")).
		AddStep("checkout", layout.Functionaries("alice"),
			layout.ProductRules(`CREATE "*"`, `DISALLOW "*"`)).
		AddStep("build", layout.Functionaries("alice", "bob"), layout.Threshold(2),
			layout.Command("make"),
			layout.MaterialRules(`MATCH "*" WITH PRODUCTS FROM checkout`, `DISALLOW "*"`),
			layout.ProductRules(`CREATE app`, `DISALLOW "*"`)).
		AddInspection("check", layout.Run("./app", "--self-test"),
			layout.MaterialRules(`MATCH app WITH PRODUCTS FROM build`, `ALLOW root.layout`, `DISALLOW "*"`)).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func rules(t testing.TB, texts ...string) []layout.Rule {
	t.Helper()
	l, err := layout.NewBuilder(now).AddStep("x", layout.MaterialRules(texts...)).Build()
	if err != nil {
		t.Fatal(err)
	}
	return l.Steps[0].ExpectedMaterials
}

// brief renders findings as "severity code location" lines for comparing.
func brief(fs []layout.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.Severity.String()+" "+f.Code+" "+f.Location.String())
	}
	return out
}

func TestLintBaseIsClean(t *testing.T) {
	if fs := layout.Lint(lintBase(t), layout.LintOptions{Now: now}); len(fs) != 0 {
		t.Fatalf("base layout has findings: %v", fs)
	}
}

func TestLintChecks(t *testing.T) {
	aliceID := loadKey(t, "testdata/keys/alice.pub").ID()
	bobID := loadKey(t, "testdata/keys/bob.pub").ID()
	carol := loadKey(t, "testdata/keys/carol.pub")
	const build = `steps[1] "build"`
	for _, tc := range []struct {
		name   string
		mutate func(l *layout.Layout)
		opts   layout.LintOptions
		want   []string // "severity code location", in order
		msg    string   // a fragment of the first finding's message
	}{
		{"expired", func(l *layout.Layout) { l.Expires = now.Add(-24 * time.Hour) }, layout.LintOptions{},
			[]string{"error expired expires"}, "expired on 2026-02-28T12:00:00Z"},
		{"expires soon", func(l *layout.Layout) { l.Expires = now.AddDate(0, 0, 10) }, layout.LintOptions{},
			[]string{"warning expires-soon expires"}, "in 10 days"},
		{"expires soon, narrower window", func(l *layout.Layout) { l.Expires = now.AddDate(0, 0, 10) }, layout.LintOptions{ExpiryWarning: 5 * 24 * time.Hour},
			nil, ""},
		{"expiry warning disabled", func(l *layout.Layout) { l.Expires = now.Add(time.Hour) }, layout.LintOptions{ExpiryWarning: -1},
			nil, ""},
		{"unknown step in MATCH FROM", func(l *layout.Layout) { l.Steps[1].ExpectedMaterials[0].DestStep = "Checkout" }, layout.LintOptions{},
			[]string{"error unknown-step " + build + ": expected_materials[0]"}, `no step named "Checkout", so the rule matches nothing (did you mean "checkout"?)`},
		{"step rule FROM an inspection", func(l *layout.Layout) { l.Steps[1].ExpectedMaterials[0].DestStep = "check" }, layout.LintOptions{},
			[]string{"error unknown-step " + build + ": expected_materials[0]"}, `"check" is an inspection`},
		{"inspection rule FROM an inspection is fine", func(l *layout.Layout) { l.Inspections[0].ExpectedMaterials[0].DestStep = "check" }, layout.LintOptions{},
			nil, ""},
		{"threshold larger than keys", func(l *layout.Layout) { l.Steps[1].Threshold = 3 }, layout.LintOptions{},
			[]string{"error threshold " + build + ": threshold"}, "threshold 3 is larger than the number of functionary keys (2)"},
		{"threshold zero", func(l *layout.Layout) { l.Steps[0].Threshold = 0 }, layout.LintOptions{},
			[]string{`error threshold steps[0] "checkout": threshold`}, "at least 1"},
		{"unused key", func(l *layout.Layout) { l.AddKey(carol) }, layout.LintOptions{},
			[]string{`warning unused-key keys["` + carol.ID() + `"]`}, "not a functionary of any step"},
		{"pubkey not in keys", func(l *layout.Layout) { l.Steps[1].PubKeys = append(l.Steps[1].PubKeys, "abcd") }, layout.LintOptions{},
			[]string{"error unknown-key " + build + ": pubkeys[2]"}, "keyid abcd is not in the layout's keys"},
		{"same pubkey twice", func(l *layout.Layout) { l.Steps[1].PubKeys = []string{aliceID, aliceID} }, layout.LintOptions{},
			[]string{
				"warning duplicate-key " + build + ": pubkeys[1]",
				"error threshold " + build + ": threshold",
				`warning unused-key keys["` + bobID + `"]`,
			}, "listed twice"},
		{"key under a wrong keyid", func(l *layout.Layout) { l.Keys[bobID] = carol }, layout.LintOptions{},
			[]string{`error keyid-mismatch keys["` + bobID + `"]`}, "has keyid " + carol.ID()},
		{"duplicate step name", func(l *layout.Layout) { l.Steps[1].Name = "checkout" }, layout.LintOptions{},
			[]string{`error duplicate-name steps[1] "checkout": name`, `error unknown-step inspect[0] "check": expected_materials[0]`}, `already used by steps[0] "checkout"`},
		{"inspection named like a step", func(l *layout.Layout) { l.Inspections[0].Name = "build" }, layout.LintOptions{},
			[]string{`error duplicate-name inspect[0] "build": name`}, "must be unique"},
		{"empty name", func(l *layout.Layout) { l.Inspections[0].Name = "" }, layout.LintOptions{},
			[]string{`error empty-name inspect[0] "": name`}, "empty name"},
		{"no steps", func(l *layout.Layout) { l.Steps = nil; l.Inspections = nil; l.Keys = nil }, layout.LintOptions{},
			[]string{"warning no-steps steps"}, "no steps"},
		{"inspection without command", func(l *layout.Layout) { l.Inspections[0].Run = nil }, layout.LintOptions{},
			[]string{`error empty-run inspect[0] "check": run`}, "no command"},
		{"malformed typed rules", func(l *layout.Layout) {
			l.Steps[1].ExpectedProducts = []layout.Rule{
				{Type: layout.Match, Pattern: "x", DestType: "LINKS", DestStep: "checkout"},
				{Type: "COPY", Pattern: "x"},
				{Type: layout.Create, Pattern: "x", DestStep: "checkout"},
				{Type: layout.Match, Pattern: "x", DestType: layout.Products},
				{Type: layout.Disallow, Pattern: "*"},
			}
		}, layout.LintOptions{},
			[]string{
				"error malformed-rule " + build + ": expected_products[0]",
				"error malformed-rule " + build + ": expected_products[1]",
				"error malformed-rule " + build + ": expected_products[2]",
				"error malformed-rule " + build + ": expected_products[3]",
			}, "WITH must be followed by MATERIALS or PRODUCTS"},
		{"rule list without DISALLOW", func(l *layout.Layout) { l.Steps[1].ExpectedProducts = rules(t, "CREATE app", "ALLOW *.log") }, layout.LintOptions{},
			[]string{"warning missing-disallow " + build + ": expected_products"}, "does not end in DISALLOW"},
		{"unclosed bracket", func(l *layout.Layout) { l.Steps[1].ExpectedProducts = rules(t, `CREATE "app[1"`, `DISALLOW "*"`) }, layout.LintOptions{},
			[]string{"error bad-pattern " + build + ": expected_products[0]"}, `unclosed "[" at offset 3: Python in-toto matches it as a literal "["`},
		{"bracket first in class", func(l *layout.Layout) { l.Steps[1].ExpectedProducts = rules(t, `CREATE "[]a]"`, `DISALLOW "*"`) }, layout.LintOptions{},
			[]string{"error bad-pattern " + build + ": expected_products[0]"}, `"]" first in the class`},
		{"backslash and caret", func(l *layout.Layout) {
			l.Steps[1].ExpectedProducts = rules(t, `CREATE 'a\b'`, `CREATE "[^a]"`, `DISALLOW "*"`)
		}, layout.LintOptions{},
			[]string{"warning bad-pattern " + build + ": expected_products[0]", "warning bad-pattern " + build + ": expected_products[1]"}, "backslash"},
		{"empty pattern", func(l *layout.Layout) { l.Steps[1].ExpectedProducts = rules(t, `CREATE ""`, `DISALLOW "*"`) }, layout.LintOptions{},
			[]string{"warning empty-pattern " + build + ": expected_products[0]"}, "empty pattern"},
		{"rule after DISALLOW *", func(l *layout.Layout) {
			l.Steps[1].ExpectedProducts = rules(t, "CREATE app", `DISALLOW "*"`, "CREATE app.sig", "DISALLOW x")
		}, layout.LintOptions{},
			[]string{"warning unreachable-rule " + build + ": expected_products[2]", "warning unreachable-rule " + build + ": expected_products[3]"},
			"CREATE app.sig never applies: rule [1] DISALLOW * rejects every artifact it could match"},
		{"rule after ALLOW *", func(l *layout.Layout) {
			l.Steps[1].ExpectedMaterials = rules(t, `ALLOW "*"`, `MATCH "*.go" WITH PRODUCTS FROM checkout`, `DISALLOW "*"`)
		}, layout.LintOptions{},
			[]string{"warning unreachable-rule " + build + ": expected_materials[1]", "warning unreachable-rule " + build + ": expected_materials[2]"},
			"consumes every artifact"},
		{"literal path shadowed by an earlier glob", func(l *layout.Layout) {
			l.Steps[1].ExpectedProducts = rules(t, `ALLOW "*.txt"`, "CREATE notes.txt", "CREATE app", `MATCH "*.txt" IN docs WITH PRODUCTS FROM checkout`, `DISALLOW "*"`)
		}, layout.LintOptions{},
			[]string{"warning unreachable-rule " + build + ": expected_products[1]"}, `rule [0] ALLOW *.txt consumes`},
		{"MATCH with source prefix shadowed", func(l *layout.Layout) {
			l.Steps[1].ExpectedMaterials = rules(t, `DISALLOW "src/*"`, `MATCH main.go IN src WITH PRODUCTS FROM checkout`, `DISALLOW "*"`)
		}, layout.LintOptions{},
			[]string{"warning unreachable-rule " + build + ": expected_materials[1]"}, "rejects"},
		{"REQUIRE after DISALLOW *", func(l *layout.Layout) {
			l.Steps[1].ExpectedProducts = rules(t, "CREATE app", `DISALLOW "*"`, "REQUIRE app")
		}, layout.LintOptions{},
			[]string{"error require-fails " + build + ": expected_products[2]", "warning missing-disallow " + build + ": expected_products"},
			"REQUIRE app can never pass: rule [1] DISALLOW * rejects it first"},
		{"REQUIRE of a consumed path", func(l *layout.Layout) {
			l.Steps[1].ExpectedProducts = rules(t, `ALLOW "app*"`, "REQUIRE app", `DISALLOW "*"`)
		}, layout.LintOptions{},
			[]string{"error require-fails " + build + ": expected_products[1]"}, "rule [0] ALLOW app* consumes it first"},
		{"REQUIRE with a glob", func(l *layout.Layout) {
			l.Steps[1].ExpectedProducts = rules(t, `REQUIRE "*.tar.gz"`, "CREATE app", `DISALLOW "*"`)
		}, layout.LintOptions{},
			[]string{"warning never-matches " + build + ": expected_products[0]"}, "REQUIRE takes a literal path"},
		{"MATCH from a step that allows no products", func(l *layout.Layout) {
			l.Steps[0].ExpectedProducts = rules(t, `DISALLOW "*"`)
		}, layout.LintOptions{},
			[]string{"warning never-matches " + build + ": expected_materials[0]"}, `step "checkout" allows no products`},
		{"parameter without a value", func(l *layout.Layout) { l.Steps[1].ExpectedCommand = []string{"make", "V={VERSION}"} }, layout.LintOptions{Params: map[string]string{}},
			[]string{"error missing-parameter layout"}, "VERSION"},
		{"parameter with a value", func(l *layout.Layout) { l.Steps[1].ExpectedCommand = []string{"make", "V={VERSION}"} }, layout.LintOptions{Params: map[string]string{"VERSION": "1"}},
			nil, ""},
		{"placeholder step name, unknown until verification", func(l *layout.Layout) { l.Steps[1].ExpectedMaterials[0].DestStep = "{FROM}" }, layout.LintOptions{},
			nil, ""},
		{"placeholder step name with a value", func(l *layout.Layout) { l.Steps[1].ExpectedMaterials[0].DestStep = "{FROM}" }, layout.LintOptions{Params: map[string]string{"FROM": "nope"}},
			[]string{"error unknown-step " + build + ": expected_materials[0]"}, `no step named "nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := lintBase(t)
			tc.mutate(l)
			if tc.opts.Now.IsZero() {
				tc.opts.Now = now
			}
			fs := layout.Lint(l, tc.opts)
			got := brief(fs)
			if len(tc.want) == 0 {
				tc.want = []string{}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("findings\n  %s\nwant\n  %s\n(%v)", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "), fs)
			}
			if tc.msg != "" && !strings.Contains(fs[0].Message, tc.msg) {
				t.Errorf("message %q lacks %q", fs[0].Message, tc.msg)
			}
		})
	}
}

func TestLintDoesNotChangeTheLayout(t *testing.T) {
	l := lintBase(t)
	l.Steps[1].ExpectedCommand = []string{"make", "{V}"}
	before, _ := layout.Payload(l)
	layout.Lint(l, layout.LintOptions{Now: now, Params: map[string]string{"V": "1"}})
	if after, _ := layout.Payload(l); string(after) != string(before) {
		t.Error("Lint changed its input")
	}
}

func TestFindingJSON(t *testing.T) {
	l := lintBase(t)
	l.Steps[1].ExpectedMaterials[0].DestStep = "nope"
	fs := layout.Lint(l, layout.LintOptions{Now: now})
	b, err := json.Marshal(fs)
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"severity": "error", "code": "unknown-step", "location": `steps[1] "build": expected_materials[0]`,
		"where": map[string]any{"section": "steps", "index": 1.0, "name": "build", "field": "expected_materials", "item": 0.0},
	}
	if len(got) != 1 {
		t.Fatalf("%s", b)
	}
	for k, v := range want {
		if gv, _ := json.Marshal(got[0][k]); string(gv) != mustJSON(v) {
			t.Errorf("%s = %s, want %s", k, gv, mustJSON(v))
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestLintReferenceDemo lints in-toto-golang's demo layout, a real
// third-party layout. Reading it by hand: the products of write-code
// ([ALLOW foo.py]) and package ([ALLOW foo.tar.gz, ALLOW foo.py]) do not end
// in DISALLOW, so any extra product would pass; nothing else is wrong.
func TestLintReferenceDemo(t *testing.T) {
	data, err := os.ReadFile(corpus.Path(t, "in-toto-golang", "data", "demo.layout"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := envelope.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	l, err := layout.Parse(e.Payload())
	if err != nil {
		t.Fatal(err)
	}
	got := brief(layout.Lint(l, layout.LintOptions{Now: l.Expires.AddDate(-1, 0, 0)}))
	// rootcas and intermediatecas are in-toto-golang extensions; they are
	// why Python in-toto rejects this layout's signature (see SOURCES.md).
	want := []string{
		`warning toto-only-field intermediatecas`,
		`warning toto-only-field rootcas`,
		`warning missing-disallow steps[0] "write-code": expected_products`,
		`warning missing-disallow steps[1] "package": expected_products`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings %q, want %q", got, want)
	}
	// Past its expiry it is an error.
	if fs := layout.Lint(l, layout.LintOptions{Now: l.Expires.Add(time.Second)}); !layout.HasErrors(fs) || !slices.ContainsFunc(fs, func(f layout.Finding) bool { return f.Code == layout.CodeExpired }) {
		t.Errorf("at expiry: %v", fs)
	}
}

// bigLayout is a generated layout: steps chained by MATCH rules, each with a
// long list of literal ALLOWs, the shape generated layouts take.
func bigLayout(b *testing.B, steps, rulesPerStep int) *layout.Layout {
	bl := layout.NewBuilder(now.AddDate(1, 0, 0)).AddFunctionary("alice", loadKey(b, "testdata/keys/alice.pub"))
	for i := 0; i < steps; i++ {
		var rs []string
		if i > 0 {
			rs = append(rs, fmt.Sprintf(`MATCH "*" WITH PRODUCTS FROM s%d`, i-1))
		}
		for j := 0; j < rulesPerStep; j++ {
			rs = append(rs, fmt.Sprintf("ALLOW dir%d/file%d.go", j%10, j))
		}
		rs = append(rs, `ALLOW "*.md"`, `DISALLOW "*"`)
		bl.AddStep(fmt.Sprintf("s%d", i), layout.Functionaries("alice"), layout.MaterialRules(rs...), layout.ProductRules(rs[1:]...))
	}
	l, err := bl.Build()
	if err != nil {
		b.Fatal(err)
	}
	return l
}

func BenchmarkLint(b *testing.B) {
	for _, size := range []struct{ steps, rules int }{{10, 10}, {100, 1000}} {
		l := bigLayout(b, size.steps, size.rules)
		b.Run(fmt.Sprintf("steps=%d/rules=%d", size.steps, size.rules), func(b *testing.B) {
			for b.Loop() {
				if fs := layout.Lint(l, layout.LintOptions{Now: now}); len(fs) != 0 {
					b.Fatal(fs)
				}
			}
		})
	}
}
