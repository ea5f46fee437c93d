package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sbomTestdata(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "sbom", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSBOMOfGoBinary(t *testing.T) {
	dir := t.TempDir()
	r := mustToto(t, dir, "sbom", "--created", "2024-01-02T03:04:05Z", "-f", "cyclonedx-json", totoBin)
	var bom struct {
		SpecVersion string `json:"specVersion"`
		Metadata    struct {
			Timestamp string `json:"timestamp"`
			Component struct {
				Name string `json:"name"`
			} `json:"component"`
		} `json:"metadata"`
		Components []struct {
			Name string `json:"name"`
			PURL string `json:"purl"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &bom); err != nil {
		t.Fatalf("stdout is not a CycloneDX JSON BOM: %v\n%s", err, r.Stdout)
	}
	if bom.SpecVersion != "1.6" || bom.Metadata.Component.Name != "github.com/toto-dev/toto" || bom.Metadata.Timestamp != "2024-01-02T03:04:05Z" {
		t.Errorf("BOM header: %s %q %s", bom.SpecVersion, bom.Metadata.Component.Name, bom.Metadata.Timestamp)
	}
	names := map[string]bool{}
	for _, c := range bom.Components {
		names[c.Name] = true
	}
	for _, want := range []string{"stdlib", "github.com/spf13/cobra", "github.com/CycloneDX/cyclonedx-go"} {
		if !names[want] {
			t.Errorf("component %s missing from the BOM of toto itself", want)
		}
	}
}

func TestSBOMIsReproducibleWithSourceDateEpoch(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	lock := sbomTestdata(t, filepath.Join("npm", "lock-v3.json"))
	a := mustToto(t, dir, "sbom", "--input", "npm", lock)
	b := mustToto(t, dir, "sbom", "--input", "npm", lock)
	if a.Stdout != b.Stdout || !strings.Contains(a.Stdout, `"created": "2023-11-14T22:13:20Z"`) {
		t.Errorf("two runs differ or ignore SOURCE_DATE_EPOCH:\n%s", a.Stdout)
	}
}

func TestSBOMWritesFileAndSummary(t *testing.T) {
	dir := t.TempDir()
	lock := filepath.Join(dir, "package-lock.json")
	data, err := os.ReadFile(sbomTestdata(t, filepath.Join("npm", "lock-v2.json")))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(lock, data, 0o644)
	r := mustToto(t, dir, "sbom", "package-lock.json", "-f", "spdx-tv", "-o", "bom.spdx", "--json", "--no-dev")
	validateAgainst(t, sbomSchema, r.Stdout)
	var sum struct {
		Output     string `json:"output"`
		Format     string `json:"format"`
		Components int    `json:"components"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &sum); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.Stdout)
	}
	// root + 5 packages (is-number is a dev dependency).
	if sum.Format != "spdx-tv" || sum.Components != 6 || sum.Output != "bom.spdx" {
		t.Errorf("summary = %+v", sum)
	}
	tv, err := os.ReadFile(filepath.Join(dir, "bom.spdx"))
	if err != nil || !strings.HasPrefix(string(tv), "SPDXVersion: SPDX-2.3\n") {
		t.Errorf("bom.spdx: %v\n%s", err, tv)
	}
}

func TestSBOMUsageErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), []byte("x"), 0o644)
	for _, args := range [][]string{
		{"sbom", "-f", "swid", "a"},
		{"sbom", "--attest", "a"},
		{"sbom", "--key", "k", "a"},
		{"sbom", "--input", "npm", "a", "a"},
		{"sbom", "--input", "bogus", "a"},
		{"sbom", "--created", "yesterday", "a"},
		{"sbom", "missing-file"},
		{"sbom", "--json", "a"},
	} {
		if r := runToto(t, dir, args...); r.Code != 2 || r.Stderr == "" {
			t.Errorf("toto %v: exit %d, stderr %q; want exit 2 with a message", args, r.Code, r.Stderr)
		}
	}
}

func TestSBOMAttestAndCheck(t *testing.T) {
	dir := t.TempDir()
	mustToto(t, dir, "key", "generate", "--type", "ed25519", "-o", "builder")
	mustToto(t, dir, "key", "generate", "--type", "ecdsa", "-o", "stranger")
	app := filepath.Join(dir, "app")
	data, err := os.ReadFile(totoBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(app, data, 0o755); err != nil {
		t.Fatal(err)
	}

	// spdx-tv cannot be a predicate.
	if r := runToto(t, dir, "sbom", "--attest", "--key", "builder", "-f", "spdx-tv", "app"); r.Code != 2 {
		t.Errorf("--attest with tag-value: exit %d", r.Code)
	}
	r := mustToto(t, dir, "sbom", "--attest", "--key", "builder", "-f", "cyclonedx-json", "app", "-o", "app.att.json", "--json")
	validateAgainst(t, sbomSchema, r.Stdout)
	var sum struct {
		PredicateType string   `json:"predicateType"`
		Subjects      []string `json:"subjects"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &sum); err != nil || sum.PredicateType != "https://cyclonedx.org/bom" || len(sum.Subjects) != 1 || sum.Subjects[0] != "app" {
		t.Fatalf("summary %v: %s", err, r.Stdout)
	}
	env, err := os.ReadFile(filepath.Join(dir, "app.att.json"))
	if err != nil || !strings.Contains(string(env), `"payloadType": "application/vnd.in-toto+json"`) {
		t.Fatalf("attestation is not DSSE: %v\n%s", err, env)
	}

	os.WriteFile(filepath.Join(dir, "ok.yaml"), []byte("requireSBOM: true\ndenyLicenses: [GPL-3.0-only]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "deny.yaml"), []byte("requireSBOM: true\ndenyComponents: [github.com/spf13/cobra]\ndenyLicenses: [MIT]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "typo.yaml"), []byte("denyLicence: [MIT]\n"), 0o644)

	r = mustToto(t, dir, "sbom", "check", "--artifact", "app", "--key", "builder.pub", "--policy", "ok.yaml", "app.att.json")
	if !strings.Contains(r.Stdout, "ok    app.att.json: https://cyclonedx.org/bom") {
		t.Errorf("check output: %s", r.Stdout)
	}

	r = runToto(t, dir, "sbom", "check", "--artifact", "app", "--key", "builder.pub", "--policy", "deny.yaml", "--json", "app.att.json")
	if r.Code != 1 {
		t.Fatalf("denied components: exit %d, want 1\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	validateAgainst(t, sbomCheckSchema, r.Stdout)
	var rep struct {
		OK         bool `json:"ok"`
		Violations []struct {
			Rule, Component, Message string
		} `json:"violations"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("--json report: %v\n%s", err, r.Stdout)
	}
	rules := map[string]int{}
	for _, v := range rep.Violations {
		rules[v.Rule]++
		if v.Rule == "deny-component" && !strings.Contains(v.Message, "github.com/spf13/cobra@") {
			t.Errorf("message does not name the component: %s", v.Message)
		}
	}
	// cobra is denied; go-spdx and go-securesystemslib are MIT.
	if rep.OK || rules["deny-component"] != 1 || rules["deny-license"] < 2 {
		t.Errorf("report = %+v", rep)
	}

	// Signed by a key that is not authorised: the SBOM does not count.
	r = runToto(t, dir, "sbom", "check", "--artifact", "app", "--key", "stranger.pub", "--policy", "ok.yaml", "app.att.json")
	if r.Code != 1 || !strings.Contains(r.Stdout, "[signature]") || !strings.Contains(r.Stdout, "[require-sbom]") {
		t.Errorf("unauthorised signer: exit %d\n%s", r.Code, r.Stdout)
	}
	// Another artifact: the subject does not match.
	os.WriteFile(filepath.Join(dir, "other"), []byte("other"), 0o644)
	r = runToto(t, dir, "sbom", "check", "--artifact", "other", "--key", "builder.pub", "app.att.json")
	if r.Code != 1 || !strings.Contains(r.Stdout, "[subject]") {
		t.Errorf("wrong artifact: exit %d\n%s", r.Code, r.Stdout)
	}
	// A misspelt policy rule is an input error, not a silently empty policy.
	if r := runToto(t, dir, "sbom", "check", "--artifact", "app", "--key", "builder.pub", "--policy", "typo.yaml", "app.att.json"); r.Code != 2 {
		t.Errorf("policy typo: exit %d", r.Code)
	}
}
