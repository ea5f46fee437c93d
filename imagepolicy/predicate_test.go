package imagepolicy_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/imagepolicy"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/notation/notationtest"
)

// attested is an OCI layout image with an SPDX SBOM (one GPL package) and
// SLSA provenance attested by build.pub; other.pub attested nothing.
func attested(t testing.TB) (dir, ref string, tg *image.Target) {
	t.Helper()
	ctx := context.Background()
	dir = t.TempDir()
	ref = "oci-layout:" + notationtest.Layout(t, "app")
	tg, err := image.Open(ctx, ref, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"build", "other"} {
		k, err := keys.Generate(keys.ECDSA, keys.GenerateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pub, err := k.MarshalPEM(false)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".pub"), pub, 0o644); err != nil {
			t.Fatal(err)
		}
		if name != "build" {
			continue
		}
		for _, a := range []struct{ typ, pred string }{
			{"https://spdx.dev/Document", `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"app","packages":[
				{"SPDXID":"SPDXRef-a","name":"libfree","versionInfo":"1.0","licenseConcluded":"MIT"},
				{"SPDXID":"SPDXRef-b","name":"libcopyleft","versionInfo":"2.1","licenseConcluded":"GPL-3.0-only"}]}`},
			{"https://slsa.dev/provenance/v1", `{"buildDefinition":{"buildType":"https://example.com/make"},"runDetails":{"builder":{"id":"https://ci.example/builder"}}}`},
		} {
			if _, err := image.Attest(ctx, tg, k, a.typ, json.RawMessage(a.pred), image.SignOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	tg, err = image.Open(ctx, ref, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return dir, ref, tg
}

func load(t *testing.T, dir, doc string, files map[string]string) (*imagepolicy.Policy, error) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return imagepolicy.Load(file)
}

const provenanceRego = `
package toto

allow if input.predicate.runDetails.builder.id == "https://ci.example/builder"
`

const licenseRego = `
package toto

allow if count(deny) == 0

deny contains msg if {
	some p in input.predicate.packages
	startswith(p.licenseConcluded, "GPL")
	msg := sprintf("package %s is %s", [p.name, p.licenseConcluded])
}
`

func TestEvaluatePredicate(t *testing.T) {
	dir, ref, tg := attested(t)
	for _, tc := range []struct {
		name, doc string
		files     map[string]string
		reason    string // "" when allowed
	}{
		{"provenance from the expected builder (inline)", `
rules:
  - images: ["oci-layout:*"]
    require:
      name: provenance
      predicate:
        keys: [build.pub]
        type: slsaprovenance1
        rego: |
          package toto
          allow if input.predicate.runDetails.builder.id == "https://ci.example/builder"
          allow if false
`, nil, ""},
		{"provenance from another builder", `
rules:
  - images: ["oci-layout:*"]
    require: {name: provenance, predicate: {keys: [build.pub], type: "https://slsa.dev/provenance/v1", regoFile: prov.rego}}
`, map[string]string{"prov.rego": strings.Replace(provenanceRego, "ci.example", "ci.elsewhere", 1)}, "provenance violated: attestation sha256:"},
		{"the module's deny reasons", `
rules:
  - images: ["oci-layout:*"]
    require: {name: licenses, predicate: {keys: [build.pub], type: spdxjson, regoFile: license.rego}}
`, map[string]string{"license.rego": licenseRego}, "rego policy denied the attestation: package libcopyleft is GPL-3.0-only"},
		{"the subject is the image", `
rules:
  - images: ["oci-layout:*"]
    require:
      predicate:
        keys: [build.pub]
        type: spdxjson
        rego: |
          package toto
          allow if {
            some s in input.subject
            concat(":", ["sha256", s.digest.sha256]) == input.image.digest
          }
`, nil, ""},
		{"the SBOM policy of toto image verify --sbom-policy", `
rules:
  - images: ["oci-layout:*"]
    require: {name: sbom, predicate: {keys: [build.pub], type: spdxjson, sbomPolicy: sbom-policy.yaml}}
`, map[string]string{"sbom-policy.yaml": "denyLicenses: [GPL-*]\n"}, "GPL-3.0-only"},
		{"an SBOM policy it meets", `
rules:
  - images: ["oci-layout:*"]
    require: {name: sbom, predicate: {keys: [build.pub], type: spdxjson, sbomPolicy: sbom-policy-ok.yaml}}
`, map[string]string{"sbom-policy-ok.yaml": "denyLicenses: [AGPL-*]\n"}, ""},
		{"attested by an untrusted key", `
rules:
  - images: ["oci-layout:*"]
    require: {name: prov, predicate: {keys: [other.pub], type: slsaprovenance1, regoFile: prov.rego}}
`, map[string]string{"prov.rego": provenanceRego}, "no verified attestation of a required predicate type: https://slsa.dev/provenance/v1"},
		// A deny that is not a set of strings still denies: an object
		// (deny[msg] := true), a string, true. Ignoring a shape it did not
		// expect would let allow through past the module's own reasons.
		{"deny as an object", `
rules:
  - images: ["oci-layout:*"]
    require:
      name: obj
      predicate:
        keys: [build.pub]
        type: slsaprovenance1
        rego: |
          package toto
          allow := true
          deny[msg] := true if msg := "builder is not trusted"
`, nil, "rego policy denied the attestation: builder is not trusted"},
		{"deny as a string", `
rules:
  - images: ["oci-layout:*"]
    require: {name: str, predicate: {keys: [build.pub], type: slsaprovenance1, rego: "package toto\nallow := true\ndeny := \"no\"\n"}}
`, nil, "rego policy denied the attestation: no"},
		{"deny as true", `
rules:
  - images: ["oci-layout:*"]
    require: {name: yes, predicate: {keys: [build.pub], type: slsaprovenance1, rego: "package toto\nallow := true\ndeny := true\n"}}
`, nil, "rego policy denied the attestation: true"},
		{"an empty or false deny does not", `
rules:
  - images: ["oci-layout:*"]
    require: {name: none, predicate: {keys: [build.pub], type: slsaprovenance1, rego: "package toto\nallow := true\ndeny := false\nx := {}\n"}}
`, nil, ""},
		{"a module that defines neither allow nor a reason", `
rules:
  - images: ["oci-layout:*"]
    require: {name: empty, predicate: {keys: [build.pub], type: slsaprovenance1, rego: "package toto\nx := 1\n"}}
`, nil, "data.toto.allow is not true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := load(t, dir, tc.doc, tc.files)
			if err != nil {
				t.Fatal(err)
			}
			d, err := p.Evaluate(context.Background(), ref, tg)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed() != (tc.reason == "") {
				t.Fatalf("allowed %v: %v", d.Allowed(), d.Err())
			}
			if tc.reason != "" && !strings.Contains(d.Err().Error(), tc.reason) {
				t.Errorf("reason %q lacks %q", d.Err(), tc.reason)
			}
		})
	}
}

// A loop the module cannot finish is cut at regoTimeout, and is a
// violation: no decision is no allow.
func TestPredicateRegoDeadline(t *testing.T) {
	dir, ref, tg := attested(t)
	p, err := load(t, dir, `
rules:
  - images: ["oci-layout:*"]
    require:
      name: slow
      predicate:
        keys: [build.pub]
        type: slsaprovenance1
        regoTimeout: 200ms
        rego: |
          package toto
          allow if {
            some i in numbers.range(1, 5000)
            some j in numbers.range(1, 5000)
            some k in numbers.range(1, 5000)
            i + j + k < 0
          }
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	d, err := p.Evaluate(context.Background(), ref, tg)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if d.Allowed() || !strings.Contains(d.Err().Error(), "evaluation stopped after 200ms") {
		t.Fatalf("got %v", d.Err())
	}
	if took > 5*time.Second {
		t.Errorf("took %s: the deadline did not stop it", took)
	}
	t.Logf("stopped after %s", took)
	if r := d.Requirements[0]; r.Outcome != decision.Violated || !errors.Is(r.Errors[0], context.DeadlineExceeded) {
		t.Errorf("requirement %+v", r)
	}
}

func TestPredicateRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, doc string
		files     map[string]string
		want      string
	}{
		{"http.send is not there", `
rules:
  - images: ["*"]
    require:
      predicate:
        keys: [k.pub]
        type: spdxjson
        rego: |
          package toto
          allow if http.send({"method": "GET", "url": "http://127.0.0.1:1/"}).status_code == 200
`, nil, "http.send"},
		{"nor opa.runtime", `
rules:
  - images: ["*"]
    require: {predicate: {keys: [k.pub], type: spdxjson, rego: "package toto\nallow if opa.runtime().env.HOME != \"\"\n"}}
`, nil, "opa.runtime"},
		{"bad Rego names the file and line", `
rules:
  - images: ["*"]
    require: {predicate: {keys: [k.pub], type: spdxjson, regoFile: bad.rego}}
`, map[string]string{"bad.rego": "package toto\n\nallow if {\n  input.x ==\n"}, "bad.rego:5: rego_parse_error"},
		{"inline bad Rego names the requirement", `
rules:
  - images: ["*"]
    require: {predicate: {keys: [k.pub], type: spdxjson, rego: "package toto\nallow if [\n"}}
`, nil, "rules[0].require.predicate.rego:3: rego_parse_error"},
		{"another package", `
rules:
  - images: ["*"]
    require: {predicate: {keys: [k.pub], type: spdxjson, rego: "package other\nallow := true\n"}}
`, nil, "must be package toto"},
		{"no policy at all", `
rules:
  - images: ["*"]
    require: {predicate: {keys: [k.pub], type: spdxjson}}
`, nil, "no sbomPolicy, rego or regoFile"},
		{"no type", `
rules:
  - images: ["*"]
    require: {predicate: {keys: [k.pub], rego: "package toto\nallow := true\n"}}
`, nil, "no type"},
		{"a bad timeout", `
rules:
  - images: ["*"]
    require: {predicate: {keys: [k.pub], type: spdxjson, regoTimeout: soon, rego: "package toto\nallow := true\n"}}
`, nil, "regoTimeout"},
		{"an identity without a trusted root", `
rules:
  - images: ["*"]
    require: {predicate: {identity: a@example.com, issuer: https://issuer.example, type: spdxjson, rego: "package toto\nallow := true\n"}}
`, nil, "need trustedRoot"},
		{"sigstore: requireTlog without a trusted root", `
rules:
  - images: ["*"]
    require: {sigstore: {keys: [k.pub], requireTlog: true}}
`, nil, "rules[0].require.sigstore: identity, issuer, requireTlog and requireTimestamp need trustedRoot"},
		{"sigstore: an identity without an issuer", `
rules:
  - images: ["*"]
    require: {sigstore: {trustedRoot: tr.json, identity: a@example.com}}
`, nil, "needs both an identity and an issuer"},
		{"sigstore: identity and identityRegexp", `
rules:
  - images: ["*"]
    require: {sigstore: {trustedRoot: tr.json, identity: a@example.com, identityRegexp: ".*", issuer: i}}
`, nil, "not both"},
		{"sigstore: neither keys nor identity", `
rules:
  - images: ["*"]
    require: {sigstore: {trustedRoot: tr.json}}
`, nil, "no keys and no keyless identity"},
		{"a missing SBOM policy file", `
rules:
  - images: ["*"]
    require: {predicate: {keys: [k.pub], type: spdxjson, sbomPolicy: nowhere.yaml}}
`, nil, "sbomPolicy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, dir, tc.doc, tc.files)
			if !errors.Is(err, imagepolicy.ErrPolicy) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrPolicy naming %q", err, tc.want)
			}
			t.Log(err)
		})
	}
}

// FuzzParseKinds feeds documents built around the intoto and predicate
// kinds (Rego modules compiled at parse time) to Parse: every refusal is
// an ErrPolicy, nothing panics.
func FuzzParseKinds(f *testing.F) {
	f.Add([]byte("rules:\n  - images: [\"*\"]\n    require: {intoto: {layout: root.layout, ownerKeys: [a.pub], params: {OUT: out}}}\n"))
	f.Add([]byte("rules:\n  - images: [\"*\"]\n    require: {predicate: {keys: [a.pub], type: spdxjson, rego: \"package toto\\nallow if input.predicate.x == 1\\n\"}}\n"))
	f.Add([]byte("rules:\n  - images: [\"*\"]\n    require: {predicate: {identity: a, issuer: b, trustedRoot: tr.json, type: x, regoTimeout: 1s, rego: \"package toto\\ndeny contains \\\"no\\\"\\n\"}}\n"))
	f.Add([]byte("trust: {tuf: {root: root.json, url: \"http://127.0.0.1:1/\", refresh: 5m}}\nrules:\n  - images: [\"*\"]\n    require: {sigstore: {keys: [\"tuf:toto/keys/a.pub\"]}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := imagepolicy.Parse(data); err != nil && !errors.Is(err, imagepolicy.ErrPolicy) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

// BenchmarkEvaluatePredicate is one evaluation of a Rego requirement over
// an image's attestations (image.Verify of two referrers, then the
// prepared query), the cost admission pays per image.
func BenchmarkEvaluatePredicate(b *testing.B) {
	dir, ref, tg := attested(b)
	file := filepath.Join(dir, "policy.yaml")
	doc := "rules:\n  - images: [\"*\"]\n    require: {predicate: {keys: [build.pub], type: spdxjson, rego: " + strconv.Quote(licenseRego) + "}}\n"
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		b.Fatal(err)
	}
	p, err := imagepolicy.Load(file)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Evaluate(context.Background(), ref, tg); err != nil {
			b.Fatal(err)
		}
	}
}

// The log and timestamp requirements reach image.Verify: a trusted root
// listing no log, a toto signature without a log entry: violated, with
// the reason; without the requirement the same root and key allow.
func TestEvaluateSigstoreRequireTlog(t *testing.T) {
	f := newFixture(t)
	if err := os.WriteFile(filepath.Join(f.dir, "trusted_root.json"), []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.dir, "bad_root.json"), []byte(`{"mediaType": 12`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ opts, reason string }{
		{"trustedRoot: trusted_root.json", ""},
		{"trustedRoot: trusted_root.json, requireTlog: true", "transparency-log entry"},
		{"trustedRoot: trusted_root.json, requireTimestamp: true", "RFC 3161 timestamp"},
	} {
		d := f.evaluate(t, `
rules:
  - images: ["oci-layout:*"]
    require: {name: release, sigstore: {keys: [release.pub], `+tc.opts+`}}`)
		if d.Allowed() != (tc.reason == "") || tc.reason != "" && !strings.Contains(d.Err().Error(), tc.reason) {
			t.Errorf("%s: allowed %v: %v", tc.opts, d.Allowed(), d.Err())
		}
	}
	d, err := f.evaluateErr(t, `
rules:
  - images: ["oci-layout:*"]
    require: {name: release, sigstore: {keys: [release.pub], trustedRoot: bad_root.json}}`)
	if !errors.Is(err, imagepolicy.ErrPolicy) || !strings.Contains(err.Error(), "trustedRoot bad_root.json") {
		t.Errorf("a trusted root that does not parse: %v, %v", err, d)
	}
}
