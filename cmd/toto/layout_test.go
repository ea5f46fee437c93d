package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
)

func exampleSource(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../examples/layout/layout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// layoutDir is a directory with a functionary key and a source file body.
func layoutDir(t *testing.T, name, body string) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	key, err := os.ReadFile("../../layout/testdata/keys/alice.pub")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "alice.pub"), key, 0o644)
	path = filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

func readEnvelope(t *testing.T, path string) *envelope.Envelope {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := envelope.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestLayoutCreateSignShow(t *testing.T) {
	dir := t.TempDir()
	src := exampleSource(t)
	r := mustToto(t, dir, "layout", "create", src, "-o", "root.layout")
	if !strings.Contains(r.Stderr, "4 step(s), 1 inspection(s)") || !strings.Contains(r.Stderr, "0 signature(s)") {
		t.Errorf("create said %q", r.Stderr)
	}
	if e := readEnvelope(t, filepath.Join(dir, "root.layout")); e.Format != envelope.Metablock || len(e.Signatures) != 0 {
		t.Fatalf("created %v with %d signatures", e.Format, len(e.Signatures))
	}
	mustToto(t, dir, "key", "generate", "-o", "owner1")
	mustToto(t, dir, "key", "generate", "--type", "ecdsa", "-o", "owner2")
	mustToto(t, dir, "key", "generate", "-o", "owner3")
	mustToto(t, dir, "sign", "--key", "owner1", "root.layout")
	mustToto(t, dir, "sign", "--key", "owner2", "root.layout")

	r = mustToto(t, dir, "layout", "show", "root.layout", "--json", "--source", src, "--layout-key", "owner1.pub", "--layout-key", "owner2.pub")
	validateAgainst(t, layoutShowSchema, r.Stdout)
	var s shownLayout
	if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
		t.Fatalf("%v\n%s", err, r.Stdout)
	}
	if s.Envelope != "metablock" || len(s.Steps) != 4 || len(s.Inspections) != 1 || len(s.Keys) != 4 || s.Parameters[0] != "VERSION" {
		t.Errorf("show --json: %+v", s)
	}
	build := s.Steps[1]
	if build.Name != "build" || build.Threshold != 2 || len(build.Functionaries) != 2 ||
		build.Functionaries[0].Name != "bob" || build.Functionaries[1].Name != "carol" {
		t.Errorf("build step: %+v", build)
	}
	if len(s.Signatures) != 2 || s.Signatures[0].Status != "valid" || s.Signatures[0].Name != "owner1.pub" || s.Signatures[1].Status != "valid" {
		t.Errorf("signatures: %+v", s.Signatures)
	}

	// A third owner who has not signed: reported, and exit 1.
	r = runToto(t, dir, "layout", "show", "root.layout", "--source", src,
		"--layout-key", "owner1.pub", "--layout-key", "owner3.pub")
	if r.Code != 1 || !strings.Contains(r.Stderr, "1 of 2 layout keys have no valid signature") {
		t.Errorf("unsigned owner: exit %d, stderr %q", r.Code, r.Stderr)
	}
	for _, want := range []string{
		"2. build: threshold 2 of 2 [bob, carol]",
		"products   CREATE app-{VERSION}",
		"valid  owner1.pub",
		"missing  owner3.pub: has not signed",
		"unchecked", // owner2's signature, not asked about
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("show output lacks %q:\n%s", want, r.Stdout)
		}
	}
	// Creating the layout again over the signed one would drop both
	// signatures: refused unless --force.
	r = runToto(t, dir, "layout", "create", src, "-o", "root.layout")
	if r.Code != 2 || !strings.Contains(r.Stderr, "-o root.layout is a signed layout (2 signature(s)); writing over it drops them: pass --force to replace it, or write elsewhere") {
		t.Errorf("create over a signed layout: exit %d, stderr %q", r.Code, r.Stderr)
	}
	if e := readEnvelope(t, filepath.Join(dir, "root.layout")); len(e.Signatures) != 2 {
		t.Fatalf("the signed layout was changed: %d signatures", len(e.Signatures))
	}
	mustToto(t, dir, "layout", "create", src, "-o", "unsigned.layout")
	mustToto(t, dir, "layout", "create", src, "-o", "unsigned.layout") // no signatures to lose

	// Signing a layout that has expired works, with a warning.
	expired := filepath.Join(dir, "expired.json")
	payload := readEnvelope(t, filepath.Join(dir, "unsigned.layout")).Payload()
	payload = []byte(regexp.MustCompile(`"expires": ?"[^"]*"`).ReplaceAllString(string(payload), `"expires": "2001-01-01T00:00:00Z"`))
	if err := os.WriteFile(expired, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	r = mustToto(t, dir, "sign", "--key", "owner1", expired)
	if !strings.Contains(r.Stderr, "toto: warning: "+expired+" expired on 2001-01-01T00:00:00Z; every verification of it will fail") {
		t.Errorf("sign of an expired layout: stderr %q", r.Stderr)
	}

	// Without --source, functionaries appear by keyid.
	r = mustToto(t, dir, "layout", "show", "root.layout")
	if strings.Contains(r.Stdout, "[bob, carol]") || !strings.Contains(r.Stdout, "threshold 2 of 2 [") {
		t.Errorf("show without names:\n%s", r.Stdout)
	}

	// DSSE, signed at creation, written to stdout.
	r = mustToto(t, dir, "layout", "create", src, "--dsse", "--key", "owner1")
	e, err := envelope.Parse([]byte(r.Stdout))
	if err != nil {
		t.Fatal(err)
	}
	owner1, err := keys.Load(filepath.Join(dir, "owner1.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Format != envelope.DSSE {
		t.Errorf("format %v", e.Format)
	}
	if _, err := layout.VerifyEnvelope(e, []*keys.Key{owner1}); err != nil {
		t.Errorf("DSSE layout from create --key: %v", err)
	}
}

const lintErrorSource = `expires: 1y
functionaries:
  alice: alice.pub
steps:
  - name: build
    functionaries: [alice]
    threshold: 2
    products: [CREATE app, DISALLOW "*"]
`

func TestLayoutCreateRefusesLintErrors(t *testing.T) {
	dir, src := layoutDir(t, "bad.yaml", lintErrorSource)
	r := runToto(t, dir, "layout", "create", src, "-o", "root.layout")
	if r.Code != 2 || !strings.Contains(r.Stderr, src+`:7:16: error: steps[0] "build": threshold: threshold 2 is larger`) {
		t.Errorf("exit %d, stderr %q", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "root.layout")); err == nil {
		t.Error("layout written despite lint errors")
	}
	mustToto(t, dir, "layout", "create", src, "-o", "root.layout", "--force")
	if _, err := os.Stat(filepath.Join(dir, "root.layout")); err != nil {
		t.Error("--force did not write the layout")
	}

	// A source that does not compile names file, line and field.
	_, bad := layoutDir(t, "typo.yaml", strings.Replace(lintErrorSource, "[alice]", "[alcie]", 1))
	r = runToto(t, dir, "layout", "create", bad)
	if r.Code != 2 || !strings.Contains(r.Stderr, bad+`:6:21: steps[0] "build": functionaries[0]: unknown functionary "alcie"`) {
		t.Errorf("exit %d, stderr %q", r.Code, r.Stderr)
	}
}

func TestLayoutLint(t *testing.T) {
	dir, bad := layoutDir(t, "bad.yaml", lintErrorSource)
	_, warn := layoutDir(t, "warn.yaml", strings.Replace(strings.Replace(lintErrorSource, "threshold: 2", "threshold: 1", 1), `, DISALLOW "*"`, "", 1))
	_, broken := layoutDir(t, "broken.yaml", "expires: 1y\nsteps:\n  - name: x\n    products: [MATCH]\n")
	_, param := layoutDir(t, "param.yaml", strings.Replace(lintErrorSource, "threshold: 2", "command: [make, '{V}']", 1))

	r := runToto(t, dir, "layout", "lint", bad)
	if r.Code != 1 || !strings.Contains(r.Stdout, bad+`:7:16: error: steps[0] "build": threshold: threshold 2 is larger than the number of functionary keys (1)`) ||
		!strings.Contains(r.Stdout, "1 error(s), 0 warning(s) in 1 file(s)") {
		t.Errorf("errors: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}

	r = runToto(t, dir, "layout", "lint", warn)
	if r.Code != 0 || !strings.Contains(r.Stdout, `:8:15: warning: steps[0] "build": expected_products: rule list does not end in DISALLOW`) {
		t.Errorf("warnings: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if r = runToto(t, dir, "layout", "lint", "--strict", warn); r.Code != 1 {
		t.Errorf("--strict with warnings: exit %d", r.Code)
	}

	r = runToto(t, dir, "layout", "lint", "--json", bad, broken)
	if r.Code != 1 {
		t.Errorf("--json: exit %d", r.Code)
	}
	validateAgainst(t, layoutLintSchema, r.Stdout)
	var raw []map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &raw); err != nil {
		t.Fatalf("%v\n%s", err, r.Stdout)
	}
	if len(raw) != 2 || raw[0]["errors"] != 1.0 || raw[1]["errors"] != 1.0 || raw[0]["file"] != bad {
		t.Fatalf("--json: %s", r.Stdout)
	}
	f0 := raw[0]["findings"].([]any)[0].(map[string]any)
	if f0["code"] != "threshold" || f0["line"] != 7.0 || f0["column"] != 16.0 || f0["location"] != `steps[0] "build": threshold` {
		t.Errorf("finding JSON: %v", f0)
	}
	f1 := raw[1]["findings"].([]any)[0].(map[string]any)
	if f1["code"] != "source" || f1["line"] != 4.0 || f1["location"] != `steps[0] "x": products[0]` || !strings.HasPrefix(f1["message"].(string), `rule ["MATCH"]: missing pattern`) {
		t.Errorf("compile error finding: %v", f1)
	}

	// A compiled layout (JSON) lints too; findings then have no line.
	mustToto(t, dir, "layout", "create", bad, "--force", "-o", "bad.layout")
	r = runToto(t, dir, "layout", "lint", "bad.layout")
	if r.Code != 1 || !strings.Contains(r.Stdout, `bad.layout: error: steps[0] "build": threshold:`) {
		t.Errorf("JSON layout: exit %d\n%s", r.Code, r.Stdout)
	}
	os.WriteFile(filepath.Join(dir, "junk.layout"), []byte(`{"signed": 1}`), 0o644)
	if r = runToto(t, dir, "layout", "lint", "junk.layout"); r.Code != 1 || !strings.Contains(r.Stdout, "[parse]") {
		t.Errorf("junk: exit %d\n%s", r.Code, r.Stdout)
	}

	// Parameters: checked only when values are given.
	if r = runToto(t, dir, "layout", "lint", param); r.Code != 0 {
		t.Errorf("param without values: exit %d\n%s", r.Code, r.Stdout)
	}
	if r = runToto(t, dir, "layout", "lint", "--param", "V=1", param); r.Code != 0 {
		t.Errorf("param with value: exit %d\n%s", r.Code, r.Stdout)
	}
	if r = runToto(t, dir, "layout", "lint", "--param", "W=1", param); r.Code != 1 || !strings.Contains(r.Stdout, "missing-parameter") {
		t.Errorf("param missing: exit %d\n%s", r.Code, r.Stdout)
	}
	if r = runToto(t, dir, "layout", "lint", "--param", "V", param); r.Code != 2 {
		t.Errorf("bad --param: exit %d", r.Code)
	}
	if r = runToto(t, dir, "layout", "lint", "nope.yaml"); r.Code != 2 {
		t.Errorf("missing file: exit %d", r.Code)
	}
}
