package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/verifier/report"
)

// The published JSON Schemas (docs/schema) of what --json writes.
const (
	verifySchema = "verify-report.schema.json"
	imageSchema  = "image-report.schema.json"
	errorSchema  = "error.schema.json"
	attestSchema = "attest.schema.json"
	attRepSchema = "attestation-report.schema.json"
	// The other modes of toto image verify.
	imagePolicySchema = "image-policy-report.schema.json"
	dctSchema         = "dct-report.schema.json"
	notationSchema    = "notation-report.schema.json"
	containersSchema  = "containers-policy-report.schema.json"
	decisionSchema    = "decision.schema.json"
	dockerfileSchema  = "dockerfile-report.schema.json"
	// toto image migrate-dct --json: validated by interop/dct, which
	// runs it against notary-server.
	migrateDCTSchema = "migrate-dct-report.schema.json"
	// Summaries of the commands that write files.
	runSchema          = "run-summary.schema.json"
	keyGenerateSchema  = "key-generate.schema.json"
	keyIDSchema        = "key-id.schema.json"
	signSchema         = "sign.schema.json"
	layoutCreateSchema = "layout-create.schema.json"
	versionSchema      = "version.schema.json"
	bundleCreateSchema = "bundle-create.schema.json"
	bundleVerifySchema = "bundle-verify.schema.json"
	imageSignSchema    = "image-sign.schema.json"
	sbomSchema         = "sbom.schema.json"
	sbomCheckSchema    = "sbom-check.schema.json"
	layoutLintSchema   = "layout-lint.schema.json"
	layoutShowSchema   = "layout-show.schema.json"
	attachLinksSchema  = "image-attach-links.schema.json"
	annotateBaseSchema = "image-annotate-base.schema.json"
	trustPublishSchema = "trust-publish.schema.json"
	trustStatusSchema  = "trust-status.schema.json"
)

// allSchemas are every schema in docs/schema; TestSchemaFilesListed keeps
// the list complete. decision comes first: the others refer to it by its
// $id.
var allSchemas = []string{decisionSchema, verifySchema, imageSchema, errorSchema, attestSchema, attRepSchema,
	imagePolicySchema, dctSchema, notationSchema, containersSchema, dockerfileSchema, migrateDCTSchema,
	runSchema, keyGenerateSchema, keyIDSchema, signSchema, layoutCreateSchema, versionSchema,
	bundleCreateSchema, bundleVerifySchema, imageSignSchema, sbomSchema, sbomCheckSchema,
	layoutLintSchema, layoutShowSchema, attachLinksSchema, annotateBaseSchema, trustPublishSchema,
	trustStatusSchema}

// schemaBaseURL is where the schemas are published: their $id's prefix.
const schemaBaseURL = "https://github.com/toto-dev/toto/blob/main/docs/schema/"

var jsonSchemas = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	out := map[string]*jsonschema.Schema{}
	// Each schema is also known by its $id, which the others' $refs use
	// (the published URL; nothing is fetched).
	for _, name := range allSchemas {
		f, err := os.Open(filepath.Join("..", "..", "docs", "schema", name))
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := c.AddResource(schemaBaseURL+name, doc); err != nil {
			return nil, err
		}
	}
	for _, name := range allSchemas {
		// Compiling also validates the schema against the draft 2020-12
		// meta-schema.
		s, err := c.Compile(schemaBaseURL + name)
		if err != nil {
			return nil, err
		}
		out[name] = s
	}
	return out, nil
})

// validateAgainst validates one JSON document (a command's whole stdout)
// against a published schema and returns it decoded.
func validateAgainst(t *testing.T, schema, doc string) map[string]any {
	t.Helper()
	all, err := jsonSchemas()
	if err != nil {
		t.Fatalf("compile schemas: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, doc)
	}
	if err := all[schema].Validate(inst); err != nil {
		t.Fatalf("output does not validate against %s:\n%v\n%s", schema, err, doc)
	}
	var m map[string]any
	if strings.HasPrefix(strings.TrimSpace(doc), "[") {
		return nil // a list (key id): the caller decodes it
	}
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSchemasAreClosed: every object the schemas describe declares its
// members and refuses others (a new member in the model fails the
// validation until the schema declares it); digest sets, keyed by
// algorithm, and OCI annotations are the open maps.
func TestSchemasAreClosed(t *testing.T) {
	for _, name := range allSchemas {
		b, err := os.ReadFile(filepath.Join("..", "..", "docs", "schema", name))
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var walk func(path string, v any)
		walk = func(path string, v any) {
			switch v := v.(type) {
			case map[string]any:
				if _, ok := v["properties"]; ok {
					if ap, ok := v["additionalProperties"].(bool); !ok || ap {
						t.Errorf("%s: %s declares properties but not additionalProperties: false", name, path)
					}
				}
				if v["type"] == "object" {
					if _, ok := v["properties"]; !ok && path != "/$defs/digestSet" && path != "/$defs/annotations" {
						t.Errorf("%s: %s is an object without declared properties", name, path)
					}
				}
				for k, c := range v {
					walk(path+"/"+k, c)
				}
			case []any:
				for _, c := range v {
					walk(path, c)
				}
			}
		}
		walk("", doc)
	}
}

func TestVerifyJSONSchema(t *testing.T) {
	work, data := golangDemo(t)
	layoutArgs := []string{"verify", "--layout", filepath.Join(data, "demo.layout"), "--layout-key", filepath.Join(data, "alice.pub")}
	verify := func(code int, extra ...string) map[string]any {
		t.Helper()
		args := append(append(append([]string{}, layoutArgs...), extra...), "--json")
		r := runToto(t, work, args...)
		wantCode(t, r, code, args...)
		rep := validateAgainst(t, verifySchema, r.Stdout)
		if rep["schemaVersion"] != report.SchemaVersion {
			t.Errorf("schemaVersion %v", rep["schemaVersion"])
		}
		return rep
	}

	// Passing.
	if rep := verify(0, "--links", data); rep["passed"] != true {
		t.Errorf("passed = %v", rep["passed"])
	}

	// No links at all: the threshold failure says where toto looked.
	empty := t.TempDir()
	rep := verify(1, "--links", empty)
	if f := firstFailure(rep, "threshold"); f == nil || f["missing"] == nil {
		t.Errorf("no threshold failure with missing: %v", rep["failures"])
	}

	// A layout signed by someone else: not evaluated, a layout-signature
	// failure.
	layoutArgs[4] = filepath.Join(data, "carol.pub")
	rep = verify(1, "--links", data)
	if firstFailure(rep, "layout-signature") == nil {
		t.Errorf("no layout-signature failure: %v", rep["failures"])
	}
	layoutArgs[4] = filepath.Join(data, "alice.pub")

	// Tampered: the rule failure carries the full expected and actual
	// digests.
	tampered := []byte("tampered")
	if err := os.WriteFile(filepath.Join(work, "foo.tar.gz"), tampered, 0o644); err != nil {
		t.Fatal(err)
	}
	rep = verify(1, "--links", data)
	f := firstFailure(rep, "rule")
	if f == nil {
		t.Fatalf("no rule failure: %v", rep["failures"])
	}
	want := map[string]any{"item": "untar", "kind": "materials", "artifact": "foo.tar.gz", "rule": "DISALLOW foo.tar.gz", "expectedFrom": "products of package"}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("failure %s = %v, want %v", k, f[k], v)
		}
	}
	actual, _ := f["actual"].(map[string]any)
	expected, _ := f["expected"].(map[string]any)
	if actual["sha256"] != fmt.Sprintf("%x", sha256.Sum256(tampered)) ||
		len(expected["sha256"].(string)) != 64 || expected["sha256"] == actual["sha256"] {
		t.Errorf("expected %v, actual %v", expected, actual)
	}

	// Exit 2: the error object.
	r := runToto(t, work, "verify", "--layout", "nope.layout", "--layout-key", filepath.Join(data, "alice.pub"), "--json")
	wantCode(t, r, 2)
	e := validateAgainst(t, errorSchema, r.Stdout)
	if msg := e["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "nope.layout") {
		t.Errorf("error message %q", msg)
	}
}

// A member the schema does not declare fails the validation.
func TestVerifyJSONSchemaRefusesUndeclared(t *testing.T) {
	all, err := jsonSchemas()
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string]string{
		verifySchema: `{"schemaVersion":"1","passed":true,"verifiedAt":"2026-01-01T00:00:00Z","expires":"","expired":false,"signatures":[],"steps":[],"inspections":[],"failures":[],"warnings":[{"message":"m","Item":"x"}]}`,
		imageSchema:  `{"schemaVersion":"1","image":"i","digest":"sha256:00","referrers":[],"verifiedSignatures":0,"verifiedAttestations":0,"failures":0,"ignored":0,"requireAll":false,"sbom":{"artifact":"a","sboms":[],"violations":[],"SBOMs":[]}}`,
		errorSchema:  `{"error":{"code":2,"message":"m"},"extra":1}`,
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		if err := all[name].Validate(inst); err == nil {
			t.Errorf("%s accepts an undeclared member: %s", name, doc)
		}
	}
}

func TestImageVerifyJSONSchema(t *testing.T) {
	work := t.TempDir()
	writeKeyPair(t, work, "signer", keys.ECDSA)
	writeKeyPair(t, work, "stranger", keys.Ed25519)
	oci, digest := randomLayout(t)
	img := "oci-layout:" + oci
	if err := os.WriteFile(filepath.Join(work, "sbom.json"), []byte(`{"spdxVersion":"SPDX-2.3","packages":[{"name":"gpl-thing","versionInfo":"1","licenseConcluded":"GPL-3.0-only"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "policy.yaml"), []byte("requireSBOM: true\ndenyLicenses: [GPL-3.0-only]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustToto(t, work, "image", "sign", "--key", "signer.key", img)
	mustToto(t, work, "image", "attest", "--key", "stranger.key", "--predicate-type", "https://spdx.dev/Document", "--predicate", "sbom.json", img)
	mustToto(t, work, "image", "attest", "--key", "signer.key", "--predicate-type", "https://spdx.dev/Document", "--predicate", "sbom.json", img)

	verify := func(code int, extra ...string) map[string]any {
		t.Helper()
		args := append(append([]string{"image", "verify", "--json"}, extra...), img)
		r := runToto(t, work, args...)
		wantCode(t, r, code, args...)
		rep := validateAgainst(t, imageSchema, r.Stdout)
		if rep["schemaVersion"] != image.ReportSchemaVersion || rep["digest"] != digest.String() {
			t.Errorf("schemaVersion %v, digest %v", rep["schemaVersion"], rep["digest"])
		}
		return rep
	}
	// Passing, with one attestation ignored (untrusted key).
	verify(0, "--key", "signer.pub")
	// Failing: --require-all with the untrusted attestation, a missing
	// predicate type.
	verify(1, "--key", "signer.pub", "--require-all")
	if rep := verify(1, "--key", "signer.pub", "--type", "slsaprovenance1"); rep["missingPredicateTypes"] == nil {
		t.Errorf("no missingPredicateTypes")
	}
	// An SBOM policy: the sbom member, with violations.
	rep := verify(1, "--key", "signer.pub", "--sbom-policy", "policy.yaml")
	if s, _ := rep["sbom"].(map[string]any); s == nil || s["violations"] == nil {
		t.Errorf("sbom: %v", rep["sbom"])
	}
	// Nothing trusted signed it.
	verify(1, "--key", "stranger.pub", "--require-all")

	// Tampered: the image's content no longer matches its digest.
	blobs := filepath.Join(oci, "blobs", "sha256")
	entries, err := os.ReadDir(blobs)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		p := filepath.Join(blobs, e.Name())
		if e.Name() == digest.Hex {
			b, _ := os.ReadFile(p)
			if err := os.WriteFile(p, bytes.Replace(b, []byte("{"), []byte("{ "), 1), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	args := []string{"image", "verify", "--json", "--key", "signer.pub", img}
	r := runToto(t, work, args...)
	wantCode(t, r, 1, args...)
	if rep := validateAgainst(t, imageSchema, r.Stdout); rep["error"] == nil || rep["digest"] != digest.String() {
		t.Errorf("tampered image: error %v, digest %v", rep["error"], rep["digest"])
	}

	// Exit 2: the error object.
	args = []string{"image", "verify", "--json", "--key", "nope.pub", img}
	r = runToto(t, work, args...)
	wantCode(t, r, 2, args...)
	validateAgainst(t, errorSchema, r.Stdout)
}

func firstFailure(rep map[string]any, typ string) map[string]any {
	fs, _ := rep["failures"].([]any)
	for _, f := range fs {
		if m, _ := f.(map[string]any); m != nil && m["type"] == typ {
			return m
		}
	}
	return nil
}
