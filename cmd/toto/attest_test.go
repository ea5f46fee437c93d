package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSchemaFilesListed: every schema published in docs/schema is compiled
// and checked by these tests.
func TestSchemaFilesListed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "docs", "schema", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !slices.Contains(allSchemas, filepath.Base(f)) {
			t.Errorf("%s is not in allSchemas", f)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var head struct {
			ID string `json:"$id"`
		}
		if err := json.Unmarshal(b, &head); err != nil || head.ID != schemaBaseURL+filepath.Base(f) {
			t.Errorf("%s: $id %q, want %q (%v)", f, head.ID, schemaBaseURL+filepath.Base(f), err)
		}
	}
}

func attestDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	mustToto(t, dir, "key", "generate", "-o", "build")
	mustToto(t, dir, "key", "generate", "-o", "other")
	for name, body := range map[string]string{
		"app.tar.gz":  "the release\n",
		"app.sig":     "detached\n",
		"pred.json":   `{"tests": {"passed": 12, "failed": 0}}`,
		"array.json":  `[1, 2]`,
		"unrelated":   "not attested\n",
		"notjson.txt": "hello",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestAttestAndVerifyAttestation(t *testing.T) {
	dir := attestDir(t)
	const typ = "https://example.com/test-result/v1"
	for _, format := range []string{"bundle", "dsse"} {
		t.Run(format, func(t *testing.T) {
			out := format + ".att.json"
			args := []string{"attest", "-k", "build", "--type", typ, "--predicate", "pred.json", "--subject", "app.tar.gz", "--subject", "./app.sig", "--sha512", "-o", out, "--json"}
			if format == "dsse" {
				args = append(args, "--dsse")
			}
			r := mustToto(t, dir, args...)
			sum := validateAgainst(t, attestSchema, r.Stdout)
			subs := sum["subjects"].([]any)
			if len(subs) != 2 || subs[1].(map[string]any)["name"] != "app.sig" || len(subs[0].(map[string]any)["digest"].(map[string]any)) != 2 {
				t.Errorf("subjects %v", subs)
			}
			if want := map[string]string{"bundle": "sigstore-bundle", "dsse": "dsse"}[format]; sum["format"] != want {
				t.Errorf("format %v", sum["format"])
			}

			verify := func(code int, extra ...string) map[string]any {
				t.Helper()
				args := append([]string{"verify-attestation", "-k", "build.pub", "--json", out}, extra...)
				r := runToto(t, dir, args...)
				if r.Code != code {
					t.Fatalf("toto %v: exit %d, want %d\n%s%s", args, r.Code, code, r.Stdout, r.Stderr)
				}
				return validateAgainst(t, attRepSchema, r.Stdout)
			}
			rep := verify(0, "--subject", "app.tar.gz", "--subject", "app.sig", "--type", typ)
			if rep["verified"] != true || rep["predicateType"] != typ || len(rep["signers"].([]any)) != 1 {
				t.Errorf("report %v", rep)
			}
			// One subject is enough to name; any other file fails.
			verify(0, "--subject", "app.sig")
			rep = verify(1, "--subject", "app.tar.gz", "--subject", "unrelated")
			fs := rep["failures"].([]any)
			if len(fs) != 1 || fs[0].(map[string]any)["type"] != "subject" || fs[0].(map[string]any)["artifact"] != "unrelated" {
				t.Errorf("failures %v", fs)
			}
			rep = verify(1, "--subject", "app.tar.gz", "--type", "https://spdx.dev/Document")
			if fs := rep["failures"].([]any); len(fs) != 1 || fs[0].(map[string]any)["type"] != "predicateType" {
				t.Errorf("failures %v", fs)
			}
			// cosign's names for predicate types work as in image verify.
			rep = verify(1, "--subject", "app.tar.gz", "--type", "spdxjson")
			if rep["requiredPredicateType"] != "https://spdx.dev/Document" {
				t.Errorf("requiredPredicateType %v", rep["requiredPredicateType"])
			}
			// Another key's attestation fails at the signature.
			r = runToto(t, dir, "verify-attestation", "-k", "other.pub", "--subject", "app.tar.gz", out)
			if r.Code != 1 || !strings.Contains(r.Stdout, "FAIL signature: ") || strings.Contains(r.Stdout, "subject app.tar.gz") {
				t.Errorf("other key: exit %d\n%s", r.Code, r.Stdout)
			}
			// Text output: one line per subject, the failure said once.
			r = runToto(t, dir, "verify-attestation", "-k", "build.pub", "--subject", "app.tar.gz", "--subject", "unrelated", out)
			if r.Code != 1 || strings.Count(r.Stdout, "unrelated") != 1 || !strings.Contains(r.Stdout, "FAIL subject unrelated sha256:") {
				t.Errorf("text: exit %d\n%s", r.Code, r.Stdout)
			}
			r = runToto(t, dir, "verify-attestation", "-k", "build.pub", "--subject", "app.tar.gz", out)
			if r.Code != 0 || !strings.HasPrefix(r.Stdout, "PASS  "+out+": "+typ+", signed by key ") {
				t.Errorf("text: exit %d\n%s", r.Code, r.Stdout)
			}
		})
	}

	// A changed payload breaks the signature.
	b, _ := os.ReadFile(filepath.Join(dir, "dsse.att.json"))
	var env map[string]any
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	p, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
	env["payload"] = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(p), `"passed":12`, `"passed":13`, 1)))
	forged, _ := json.Marshal(env)
	os.WriteFile(filepath.Join(dir, "forged.json"), forged, 0o644)
	r := runToto(t, dir, "verify-attestation", "-k", "build.pub", "--subject", "app.tar.gz", "forged.json")
	if r.Code != 1 || !strings.Contains(r.Stdout, "FAIL signature") {
		t.Errorf("forged: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}

	// Usage and input errors: exit 2, the flag or file named, JSON error.
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"attest", "-k", "build", "--type", "x", "--subject", "app.sig"}, "--predicate FILE is required"},
		{[]string{"attest", "-k", "build", "--predicate", "pred.json", "--subject", "app.sig"}, "--type URI is required"},
		{[]string{"attest", "-k", "build", "--type", "x", "--predicate", "pred.json"}, "--subject FILE is required"},
		{[]string{"attest", "-k", "build", "--type", "x", "--predicate", "array.json", "--subject", "app.sig"}, "--predicate array.json: statement: the predicate must be a JSON object"},
		{[]string{"attest", "-k", "build", "--type", "x", "--predicate", "notjson.txt", "--subject", "app.sig"}, "must be a JSON object"},
		{[]string{"attest", "-k", "build", "--type", "x", "--predicate", "pred.json", "--subject", "missing"}, "--subject missing:"},
		{[]string{"attest", "-k", "build.pub", "--type", "x", "--predicate", "pred.json", "--subject", "app.sig"}, "is a public key"},
		{[]string{"attest", "-k", "build", "--type", "x", "--predicate", "pred.json", "--subject", "app.sig", "--dsse", "--rekor-url", "http://127.0.0.1:1"}, "drop --dsse"},
		{[]string{"verify-attestation", "-k", "build.pub", "dsse.att.json"}, "--subject FILE is required"},
		{[]string{"verify-attestation", "--subject", "app.sig", "dsse.att.json"}, "give trusted keys"},
		{[]string{"verify-attestation", "-k", "build.pub", "--subject", "app.sig", "pred.json"}, "pred.json:"},
		{[]string{"verify-attestation", "-k", "build.pub", "--subject", "nope", "dsse.att.json"}, "--subject nope:"},
	} {
		r := runToto(t, dir, append(tc.args, "--json")...)
		if r.Code != 2 || !strings.Contains(r.Stderr, tc.msg) {
			t.Errorf("toto %v: exit %d, stderr %q, want 2 and %q", tc.args, r.Code, r.Stderr, tc.msg)
			continue
		}
		validateAgainst(t, errorSchema, r.Stdout)
	}
}

// run --provenance is read by verify-attestation, by the products.
func TestVerifyAttestationOfRunProvenance(t *testing.T) {
	dir, k := runDir(t)
	mustToto(t, dir, "run", "-n", "build", "-k", "k", "-m", "src", "-p", "out", "--provenance", "-q", "--",
		"sh", "-c", "mkdir -p out && echo app > out/app")
	att := "build." + k.ID()[:8] + ".provenance.json"
	r := mustToto(t, dir, "verify-attestation", "-k", "k.pub", "--type", "slsaprovenance1", "--subject", "out/app", "--json", att)
	validateAgainst(t, attRepSchema, r.Stdout)
	os.WriteFile(filepath.Join(dir, "out", "app"), []byte("swapped\n"), 0o644)
	if r := runToto(t, dir, "verify-attestation", "-k", "k.pub", "--subject", "out/app", att); r.Code != 1 {
		t.Errorf("swapped product: exit %d\n%s", r.Code, r.Stdout)
	}
}

// --sbom-policy applies the SBOM policy (sbom.Evaluate, as toto sbom check
// and image verify do) to a verified SBOM attestation about the files.
func TestVerifyAttestationSBOMPolicy(t *testing.T) {
	dir := attestDir(t)
	bom := `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[` +
		`{"type":"library","name":"left-pad","version":"1.0.0","purl":"pkg:npm/left-pad@1.0.0","licenses":[{"license":{"id":"GPL-3.0-only"}}]},` +
		`{"type":"library","name":"ok","version":"2.0.0","purl":"pkg:npm/ok@2.0.0","licenses":[{"license":{"id":"MIT"}}]}]}`
	for name, body := range map[string]string{
		"bom.json":   bom,
		"deny.yaml":  "denyLicenses: [GPL-3.0-only]\n",
		"allow.yaml": "denyLicenses: [AGPL-*]\ndenyComponents: [pkg:npm/evil]\n",
		"bad.yaml":   "denyLicenses: [MIT]\nrequireSBOM: sometimes\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustToto(t, dir, "attest", "-k", "build", "--type", "cyclonedx", "--predicate", "bom.json", "--subject", "app.tar.gz", "-o", "bom.att.json")
	mustToto(t, dir, "verify-attestation", "-k", "build.pub", "--subject", "app.tar.gz", "--sbom-policy", "allow.yaml", "bom.att.json")

	r := runToto(t, dir, "verify-attestation", "-k", "build.pub", "--subject", "app.tar.gz", "--sbom-policy", "deny.yaml", "--json", "bom.att.json")
	if r.Code != 1 {
		t.Fatalf("denied license: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	rep := validateAgainst(t, attRepSchema, r.Stdout)
	fs := rep["failures"].([]any)
	if len(fs) != 1 {
		t.Fatalf("failures %v", fs)
	}
	f := fs[0].(map[string]any)
	if f["type"] != "sbomPolicy" || f["artifact"] != "app.tar.gz" || !strings.Contains(f["message"].(string), "left-pad@1.0.0 has license GPL-3.0-only, denied by policy") {
		t.Errorf("failure %v", f)
	}
	r = runToto(t, dir, "verify-attestation", "-k", "build.pub", "--subject", "app.tar.gz", "--sbom-policy", "deny.yaml", "bom.att.json")
	if r.Code != 1 || strings.Count(r.Stdout, "left-pad") != 1 || !strings.Contains(r.Stdout, "FAIL sbomPolicy: ") {
		t.Errorf("text: exit %d\n%s", r.Code, r.Stdout)
	}
	// A policy about an attestation that is no SBOM fails, saying so.
	mustToto(t, dir, "attest", "-k", "build", "--type", "https://example.com/x", "--predicate", "pred.json", "--subject", "app.tar.gz", "-o", "x.att.json")
	r = runToto(t, dir, "verify-attestation", "-k", "build.pub", "--subject", "app.tar.gz", "--sbom-policy", "allow.yaml", "x.att.json")
	if r.Code != 1 || !strings.Contains(r.Stdout, "is not an SBOM") {
		t.Errorf("not an SBOM: exit %d\n%s", r.Code, r.Stdout)
	}
	// A malformed policy is an input error naming its line and column.
	r = runToto(t, dir, "verify-attestation", "-k", "build.pub", "--subject", "app.tar.gz", "--sbom-policy", "bad.yaml", "bom.att.json")
	if r.Code != 2 || !strings.Contains(r.Stderr, `bad.yaml:2:14: requireSBOM: want true or false, got "sometimes"`) {
		t.Errorf("bad policy: exit %d\n%s", r.Code, r.Stderr)
	}
}
