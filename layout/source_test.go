package layout_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
)

// now is the fixed "current time" of these tests.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func loadKey(t testing.TB, path string) *keys.Key {
	t.Helper()
	k, err := keys.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ruleStrings(rs []layout.Rule) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.String())
	}
	return out
}

func TestExampleSourceCompilesAndLintsClean(t *testing.T) {
	src, err := layout.LoadSource("../examples/layout/layout.yaml", layout.SourceOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	l := src.Layout
	if want := now.AddDate(0, 0, 180); !l.Expires.Equal(want) {
		t.Errorf("expires %v, want %v", l.Expires, want)
	}
	if !strings.HasPrefix(l.Readme, "Supply chain of app:") {
		t.Errorf("readme %q", l.Readme)
	}
	id := func(name string) string { return loadKey(t, "../examples/layout/keys/"+name+".pub").ID() }
	var names []string
	for _, s := range l.Steps {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "checkout,build,package,vendor-libs" {
		t.Fatalf("steps %s", got)
	}
	build := l.Steps[1]
	if !reflect.DeepEqual(build.PubKeys, []string{id("bob"), id("carol")}) || build.Threshold != 2 {
		t.Errorf("build: pubkeys %v threshold %d", build.PubKeys, build.Threshold)
	}
	if got := strings.Join(build.ExpectedCommand, "|"); got != "go|build|-trimpath|-o|app-{VERSION}|./cmd/app" {
		t.Errorf("build command %q", got)
	}
	if got := ruleStrings(build.ExpectedMaterials); !reflect.DeepEqual(got, []string{
		"MATCH vendor/* WITH PRODUCTS FROM vendor-libs", "MATCH * WITH PRODUCTS FROM checkout", "DISALLOW *",
	}) {
		t.Errorf("build materials %q", got)
	}
	if got := strings.Join(l.Steps[0].ExpectedCommand, "|"); got != "git|checkout|v{VERSION}" {
		t.Errorf("checkout command %q (string commands are split like a shell)", got)
	}
	sub := l.Steps[3]
	if sub.Threshold != 1 || !reflect.DeepEqual(sub.PubKeys, []string{id("dave")}) || len(sub.ExpectedCommand) != 0 {
		t.Errorf("sublayout step %+v", sub)
	}
	if len(l.Keys) != 4 || l.Keys[id("dave")].Type != keys.RSA {
		t.Errorf("keys %v", l.Keys)
	}
	if len(l.Inspections) != 1 || strings.Join(l.Inspections[0].Run, " ") != "tar xzf app-{VERSION}.tar.gz" {
		t.Errorf("inspections %+v", l.Inspections)
	}
	if !reflect.DeepEqual(src.Parameters, []string{"VERSION"}) || !reflect.DeepEqual(layout.Parameters(l), []string{"VERSION"}) {
		t.Errorf("parameters %v / %v", src.Parameters, layout.Parameters(l))
	}
	if name, _ := src.FunctionaryName(id("carol")); name != "carol" {
		t.Errorf("FunctionaryName(carol's id) = %q", name)
	}
	if fs := layout.Lint(l, layout.LintOptions{Now: now}); len(fs) != 0 {
		t.Errorf("the example should lint clean, got:\n%v", fs)
	}
	// With the parameter given, it still lints clean.
	if fs := layout.Lint(l, layout.LintOptions{Now: now, Params: map[string]string{"VERSION": "1.4.2"}}); len(fs) != 0 {
		t.Errorf("with VERSION: %v", fs)
	}
	// The compiled layout is valid layout JSON that parses back identically.
	b, err := layout.Payload(l)
	if err != nil {
		t.Fatal(err)
	}
	back, err := layout.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if b2, _ := layout.Payload(back); string(b) != string(b2) {
		t.Errorf("round trip differs:\n%s\n%s", b, b2)
	}
}

const srcHead = `expires: 2027-01-01
functionaries:
  alice: keys/alice.pub
  bob: {key: keys/bob.pub}
`

func parseSrc(t testing.TB, body string) (*layout.Source, error) {
	t.Helper()
	return layout.ParseSource("t.yaml", []byte(body), layout.SourceOptions{Now: now, Dir: "testdata"})
}

func TestSourceErrorsNameFileLineAndField(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"unknown top field", "expire: 90d\n", []string{`t.yaml:1:1: expire: unknown field (want one of: expires,`, `t.yaml:1:1: expires: missing`}},
		{"bad expiry", "expires: soon\n", []string{`t.yaml:1:10: expires: "soon" is neither a duration`}},
		{"zero expiry", "expires: 0d\n", []string{`t.yaml:1:10: expires: "0d"`}},
		{"syntax error", "expires: 90d\nsteps: [\n", []string{`t.yaml:2: did not find expected node content`}},
		{"two documents", "expires: 90d\n---\nexpires: 1d\n", []string{`more than one YAML document`}},
		{"empty", "", []string{`t.yaml: empty layout source`}},
		{"not a mapping", "- a\n", []string{`t.yaml:1:1: want a mapping, got a list`}},
		{"unclosed quote in rule", srcHead + "steps:\n  - name: build\n    functionaries: [alice]\n    materials:\n      - MATCH \"* WITH PRODUCTS FROM x\n",
			[]string{`t.yaml:9:9: steps[0] "build": materials[0]: rule "MATCH \"* WITH PRODUCTS FROM x": unterminated " quote`}},
		{"malformed rule", srcHead + "steps:\n  - name: build\n    functionaries: [alice]\n    products:\n      - CREATE x\n      - MATCH x WITH PRODUCTS\n",
			[]string{`t.yaml:10:9: steps[0] "build": products[1]: rule ["MATCH","x","WITH","PRODUCTS"]: expected FROM <step>`}},
		{"list-form rule", srcHead + "steps:\n  - name: build\n    products: [[DISALLOW]]\n",
			[]string{`t.yaml:7:16: steps[0] "build": products[0]: rule ["DISALLOW"]: DISALLOW takes exactly one pattern`}},
		{"rule is a mapping", srcHead + "steps:\n  - name: build\n    products:\n      - {DISALLOW: x}\n",
			[]string{`t.yaml:8:9: steps[0] "build": products[0]: want a rule such as`}},
		{"unknown functionary", srcHead + "steps:\n  - name: build\n    functionaries: [alice, mallory]\n",
			[]string{`t.yaml:7:28: steps[0] "build": functionaries[1]: unknown functionary "mallory"`}},
		{"threshold not a number", srcHead + "steps:\n  - name: build\n    threshold: two\n",
			[]string{`t.yaml:7:16: steps[0] "build": threshold: want an integer, got "two"`}},
		{"threshold quoted", srcHead + "steps:\n  - name: build\n    threshold: \"2\"\n",
			[]string{`threshold: want an integer`}},
		{"missing name", srcHead + "steps:\n  - functionaries: [alice]\n",
			[]string{`t.yaml:6:5: steps[0]: missing field "name"`}},
		{"unknown step field", srcHead + "steps:\n  - name: build\n    material: []\n",
			[]string{`t.yaml:7:5: steps[0] "build": material: unknown field (want one of: name, functionaries, threshold, command, materials, products)`}},
		{"duplicate field", srcHead + "steps:\n  - name: build\n    name: again\n",
			[]string{`t.yaml:7:5: steps[0] "build": name: field appears more than once`}},
		{"sublayout has no command", srcHead + "sublayouts:\n  - name: vendor\n    command: make\n",
			[]string{`t.yaml:7:5: sublayouts[0] "vendor": command: unknown field`}},
		{"missing key file", "expires: 90d\nfunctionaries:\n  carl: keys/carl.pub\n",
			[]string{`t.yaml:3:9: functionaries "carl": key: key file: open ` + filepath.Join("testdata", "keys", "carl.pub")}},
		{"key file not a key", "expires: 90d\nfunctionaries:\n  carl: ../source_test.go\n",
			[]string{`t.yaml:3:9: functionaries "carl": key: key file source_test.go: no PEM key block found`}},
		{"same key twice", "expires: 90d\nfunctionaries:\n  alice: keys/alice.pub\n  alias: keys/alice.pub\n",
			[]string{`t.yaml:4:10: functionaries "alias": key: same key as functionary "alice"`}},
		{"functionary without key", "expires: 90d\nfunctionaries:\n  alice: {}\n",
			[]string{`t.yaml:3:10: functionaries "alice": missing field "key"`}},
		{"undeclared placeholder", srcHead + "parameters: [VERSION]\nsteps:\n  - name: build\n    command: make V={VERSON}\n",
			[]string{`t.yaml:8:14: steps[0] "build": command: placeholder {VERSON} is not declared under parameters`}},
		{"undeclared placeholder in rule", srcHead + "parameters: [VERSION]\nsteps:\n  - name: build\n    products:\n      - CREATE a-{V}\n",
			[]string{`t.yaml:9:9: steps[0] "build": products[0]: placeholder {V} is not declared`}},
		{"bad parameter name", "expires: 90d\nparameters: [1X]\n",
			[]string{`t.yaml:2:14: parameters[0]: "1X" is not a parameter name`}},
		{"inspection run item", "expires: 90d\ninspections:\n  - name: i\n    run: [ls, {a: b}]\n",
			[]string{`t.yaml:4:15: inspections[0] "i": run[1]: want a string, got a mapping`}},
		{"command null", srcHead + "steps:\n  - name: build\n    command: [make, ~]\n",
			[]string{`steps[0] "build": command[1]: want a string, got nothing (null)`}},
		{"every problem is reported", srcHead + "steps:\n  - name: a\n    threshold: x\n  - name: b\n    functionaries: [zed]\n",
			[]string{`t.yaml:7:16: steps[0] "a": threshold`, `t.yaml:9:21: steps[1] "b": functionaries[0]: unknown functionary "zed"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseSrc(t, tc.src)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nlacks %q", err, w)
				}
			}
			var se *layout.SourceError
			if !errors.As(err, &se) || se.File != "t.yaml" {
				t.Errorf("error is not a *SourceError for t.yaml: %#v", err)
			}
		})
	}
}

func TestSourceAliasesAreBounded(t *testing.T) {
	// 1000 steps sharing one list of 200 rules through aliases: a small
	// file that would expand to 200,000 rules.
	var b strings.Builder
	b.WriteString("expires: 90d\nrules: &r [")
	for i := 0; i < 200; i++ {
		b.WriteString("DISALLOW x,")
	}
	b.WriteString("]\nsteps:\n  - &s {name: s, products: *r}\n")
	for i := 0; i < 1000; i++ {
		b.WriteString("  - *s\n")
	}
	_, err := parseSrc(t, strings.Replace(b.String(), "rules: &r", "readme: &r", 1))
	if err == nil || !strings.Contains(err.Error(), "expands to more than") {
		t.Errorf("err = %.300v", err)
	}
}

func TestSourceAliasesWork(t *testing.T) {
	src, err := parseSrc(t, srcHead+"steps:\n  - name: a\n    functionaries: [alice]\n    products: &std [CREATE x, DISALLOW \"*\"]\n  - name: b\n    functionaries: [bob]\n    products: *std\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := ruleStrings(src.Layout.Steps[1].ExpectedProducts); !reflect.DeepEqual(got, []string{"CREATE x", "DISALLOW *"}) {
		t.Errorf("aliased rules %q", got)
	}
}

func TestExpiryForms(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"90d", now.AddDate(0, 0, 90)},
		{"12h", now.Add(12 * time.Hour)},
		{"1y", now.AddDate(1, 0, 0)},
		{"2w", now.AddDate(0, 0, 14)},
		{"1y6w", now.AddDate(1, 0, 42)},
		{"30m", now.Add(30 * time.Minute)},
		{"2027-01-01", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"'2027-01-01'", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"2027-01-01T10:00:00+02:00", time.Date(2027, 1, 1, 8, 0, 0, 0, time.UTC)},
		{"2027-01-01T10:00:00.75Z", time.Date(2027, 1, 1, 10, 0, 0, 0, time.UTC)},
	} {
		src, err := parseSrc(t, "expires: "+tc.in+"\n")
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if !src.Layout.Expires.Equal(tc.want) || src.Layout.Expires.Location() != time.UTC {
			t.Errorf("%s: got %v, want %v", tc.in, src.Layout.Expires, tc.want)
		}
	}
	for _, bad := range []string{"0d", "90", "d", "90x", "-1d", "1.5d", "9999999d", "2027-13-01", "tomorrow", "~"} {
		if _, err := parseSrc(t, "expires: "+bad+"\n"); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func TestRuleStringsSplitLikeAShell(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`MATCH "*" WITH PRODUCTS FROM build`, []string{"MATCH", "*", "WITH", "PRODUCTS", "FROM", "build"}},
		{`CREATE 'my file.txt'`, []string{"CREATE", "my file.txt"}},
		{`CREATE "say \"hi\".txt"`, []string{"CREATE", `say "hi".txt`}},
		{`CREATE "a\b"`, []string{"CREATE", `a\b`}},
		{`CREATE a\ b`, []string{"CREATE", "a b"}},
		{`CREATE ''`, []string{"CREATE", ""}},
		{"  ALLOW \t x  ", []string{"ALLOW", "x"}},
		{`ALLOW pre"fix"'es'`, []string{"ALLOW", "prefixes"}},
		{`MATCH "*" IN "src dir" WITH MATERIALS IN out FROM b`, []string{"MATCH", "*", "IN", "src dir", "WITH", "MATERIALS", "IN", "out", "FROM", "b"}},
	} {
		l, err := layout.NewBuilder(now).AddStep("s", layout.ProductRules(tc.in)).Build()
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got := l.Steps[0].ExpectedProducts[0].List(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{`CREATE "x`, `CREATE 'x`, `CREATE x\`, ``, `BLOCK x`} {
		if _, err := layout.NewBuilder(now).AddStep("s", layout.ProductRules(bad)).Build(); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func TestSourcePositionsPointAtTheYAML(t *testing.T) {
	body := srcHead + `steps:
  - name: build
    functionaries: [alice]
    threshold: 3
    materials:
      - MATCH "*" WITH PRODUCTS FROM chekout
      - DISALLOW "*"
`
	src, err := parseSrc(t, body)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, f := range layout.Lint(src.Layout, layout.LintOptions{Now: now}) {
		line, col := src.Position(f.Location)
		if line == 0 || col == 0 {
			t.Errorf("%v: no position", f)
		}
		got[f.Code] = line
	}
	want := map[string]int{
		layout.CodeThreshold:   8,
		layout.CodeUnknownStep: 10,
		layout.CodeUnusedKey:   4, // bob
	}
	for code, line := range want {
		if got[code] != line {
			t.Errorf("%s at line %d, want %d (all: %v)", code, got[code], line, got)
		}
	}
}

// fuzzKey is what every key path resolves to while fuzzing.
var fuzzKey = []byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAnk+Gg6TYDFxKBi2AsQA1pM5sNAmoLaqRNj9Bp0Oi2zs=\n-----END PUBLIC KEY-----\n")

func FuzzParseSource(f *testing.F) {
	for _, p := range []string{"../examples/layout/layout.yaml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(srcHead + "steps:\n  - name: b\n    functionaries: [alice]\n    threshold: 2\n    products: [[MATCH, x, WITH, PRODUCTS, FROM, c], CREATE \"y z\"]\n"))
	f.Add([]byte("expires: 1y\nx: &a [*a]\n"))
	f.Add([]byte("expires: 2027-01-01T00:00:00Z\ninspections:\n  - {name: i, run: 'ls -l', materials: [ALLOW 'a[']}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := layout.SourceOptions{Now: now, ReadFile: func(string) ([]byte, error) { return fuzzKey, nil }}
		src, err := layout.ParseSource("f.yaml", data, opts)
		if err != nil {
			var se *layout.SourceError
			if !errors.As(err, &se) {
				t.Fatalf("error without position: %v", err)
			}
			return
		}
		for _, fd := range layout.Lint(src.Layout, layout.LintOptions{Now: now}) {
			src.Position(fd.Location)
		}
		// Whatever compiles is a layout that parses back to the same thing.
		b, err := layout.Payload(src.Layout)
		if err != nil {
			t.Fatal(err)
		}
		back, err := layout.Parse(b)
		if err != nil {
			t.Fatalf("compiled layout does not parse: %v\n%s", err, b)
		}
		if b2, _ := layout.Payload(back); string(b) != string(b2) {
			t.Fatalf("round trip differs:\n%s\n%s", b, b2)
		}
	})
}

func BenchmarkParseSource(b *testing.B) {
	data, err := os.ReadFile("../examples/layout/layout.yaml")
	if err != nil {
		b.Fatal(err)
	}
	keyFiles := map[string][]byte{}
	opts := layout.SourceOptions{Now: now, Dir: "../examples/layout", ReadFile: func(p string) ([]byte, error) {
		if k, ok := keyFiles[p]; ok {
			return k, nil
		}
		k, err := os.ReadFile(p)
		keyFiles[p] = k
		return k, err
	}}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := layout.ParseSource("layout.yaml", data, opts); err != nil {
			b.Fatal(err)
		}
	}
}
