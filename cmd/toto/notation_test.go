package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/notation/notationtest"
)

// TestNotationCLI: generate-cert, sign (JWS and COSE) an OCI layout, write
// the trust store and policy by hand as docs/notation.md says, verify
// (text and --json), then the failures: an untrusted store (exit 1), a bad
// policy and a missing flag (exit 2).
func TestNotationCLI(t *testing.T) {
	dir := t.TempDir()
	mustToto(t, dir, "notation", "generate-cert", "--out", "pki", "--subject", "C=US,ST=WA,O=Example,CN=release")
	layout := notationtest.Layout(t, "app")
	ref := "oci-layout:" + layout
	for _, env := range []string{"jws", "cose"} {
		r := mustToto(t, dir, "notation", "sign", "--key", "pki/signer.key", "--cert-chain", "pki/signer.crt", "--envelope", env, "--expiry", "24h", ref)
		if !strings.Contains(r.Stdout, "signature sha256:") {
			t.Fatalf("sign output: %s", r.Stdout)
		}
	}
	store, policy := writeNotationTrust(t, dir, "pki/ca.crt", "local/app")
	r := mustToto(t, dir, "notation", "verify", "--policy", "trustpolicy.json", "--trust-store", "truststore", ref)
	for _, want := range []string{`statement "app", level strict, revocation offline`, "application/jose+json): verified", "application/cose): verified", "revocation          enforce passed"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("verify output lacks %q:\n%s", want, r.Stdout)
		}
	}
	r = mustToto(t, dir, "notation", "verify", "--json", "--policy", "trustpolicy.json", "--trust-store", ".", ref)
	validateAgainst(t, notationSchema, r.Stdout)
	var rep struct {
		Signatures []struct {
			Verified bool
			Checks   []struct{ Type, Action, Outcome string }
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || len(rep.Signatures) != 2 || len(rep.Signatures[0].Checks) != 5 {
		t.Fatalf("--json: %v\n%s", err, r.Stdout)
	}

	// Another CA in the store: exit 1, with the reason.
	mustToto(t, dir, "notation", "generate-cert", "--out", "other")
	other, err := os.ReadFile(filepath.Join(dir, "other", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(store, "ca.crt"), other, 0o644); err != nil {
		t.Fatal(err)
	}
	r = runToto(t, dir, "notation", "verify", "--policy", "trustpolicy.json", "--trust-store", "truststore", ref)
	if r.Code != 1 || !strings.Contains(r.Stderr, "does not contain any trusted certificate") {
		t.Fatalf("untrusted: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if r := runToto(t, dir, "notation", "verify", "--json", "--policy", "trustpolicy.json", "--trust-store", "truststore", ref); r.Code != 1 {
		t.Errorf("untrusted --json: exit %d", r.Code)
	} else {
		validateAgainst(t, notationSchema, r.Stdout)
	}
	// A duplicate member: exit 2 for the policy, not for a missing file.
	bad := strings.Replace(policy, `"name": "app",`, `"name": "app", "name": "b",`, 1)
	if bad == policy {
		t.Fatal("the policy has no \"name\": \"app\", member to duplicate")
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"notation", "verify", "--policy", "bad.json", "--trust-store", "truststore", ref},
		{"notation", "verify", "--trust-store", "truststore", ref},
		{"notation", "sign", "--key", "pki/signer.key", "--cert-chain", "other/signer.crt", ref},
	} {
		if r := runToto(t, dir, args...); r.Code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, r.Code, r.Stderr)
		} else {
			t.Logf("%v: %s", args[1], strings.TrimSpace(r.Stderr))
		}
	}
}

// TestGenerateX509 is what `toto key generate --type x509 -o NAME --uid
// SUBJECT` will call: NAME.key, NAME.crt and NAME.ca.crt that toto
// notation sign takes, refusing to overwrite them.
func TestGenerateX509(t *testing.T) {
	dir := t.TempDir()
	cmd := &cobra.Command{}
	var out bytes.Buffer
	cmd.SetOut(&out)
	if err := generateX509(cmd, filepath.Join(dir, "rel"), "release"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "x509.subject: CN=release,O=toto,ST=WA,C=US") {
		t.Errorf("output: %s", out.String())
	}
	if err := generateX509(cmd, filepath.Join(dir, "rel"), "release"); err == nil {
		t.Error("overwrote the files")
	}
	mustToto(t, dir, "notation", "sign", "--key", "rel.key", "--cert-chain", "rel.crt", "oci-layout:"+notationtest.Layout(t, "app"))
}

// toto image sign --format notation and toto image verify --notation-policy
// are the same paths as toto notation sign|verify, with the other formats'
// flags refused.
func TestImageNotationFlags(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "pki"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustToto(t, dir, "key", "generate", "--type", "x509", "--uid", "C=US,ST=WA,O=Example,CN=release", "-o", "pki/signer")
	ref := "oci-layout:" + notationtest.Layout(t, "app")
	r := mustToto(t, dir, "image", "sign", "--format", "notation", "--key", "pki/signer.key", "--cert-chain", "pki/signer.crt", "--envelope", "cose", ref)
	if !strings.Contains(r.Stdout, "application/cose") {
		t.Fatalf("sign output: %s", r.Stdout)
	}
	writeNotationTrust(t, dir, "pki/signer.ca.crt", "local/app")
	r = mustToto(t, dir, "image", "verify", "--notation-policy", "trustpolicy.json", "--trust-store", "truststore", ref)
	validateAgainst(t, notationSchema, mustToto(t, dir, "image", "verify", "--notation-policy", "trustpolicy.json", "--trust-store", "truststore", "--json", ref).Stdout)
	if !strings.Contains(r.Stdout, "application/cose): verified") {
		t.Errorf("verify output:\n%s", r.Stdout)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"image", "sign", "--format", "notation", "--key", "pki/signer.key", "--cert-chain", "pki/signer.crt", "--gpg-key", "x", ref}, "--gpg-key"},
		{[]string{"image", "sign", "--key", "pki/signer.key", "--cert-chain", "pki/signer.crt", ref}, "--cert-chain"},
		{[]string{"image", "sign", "--format", "x", ref}, `--format "x": want sigstore, simple-signing or notation`},
		{[]string{"image", "verify", "--notation-policy", "trustpolicy.json", "--trust-store", "truststore", "--key", "pki/signer.crt", ref}, "--key"},
		{[]string{"image", "verify", "--key", "pki/signer.crt", "--trust-store", "truststore", ref}, "--trust-store"},
		{[]string{"image", "verify", "--notation-policy", "trustpolicy.json", "--containers-policy", "p.json", ref}, "give one"},
	} {
		r := runToto(t, dir, tc.args...)
		if r.Code != 2 || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming %s", tc.args, r.Code, r.Stderr, tc.want)
		}
	}
}

// toto image verify --policy evaluates the image policy: a Sigstore and a
// notation signature required together.
func TestImageVerifyPolicy(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "pki"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustToto(t, dir, "key", "generate", "--type", "x509", "--uid", "C=US,ST=WA,O=Example,CN=release", "-o", "pki/signer")
	mustToto(t, dir, "key", "generate", "-o", "release")
	ref := "oci-layout:" + notationtest.Layout(t, "app")
	mustToto(t, dir, "image", "sign", "--key", "release.key", ref)
	writeNotationTrust(t, dir, "pki/signer.ca.crt", "*")
	policy := `rules:
  - images: ["oci-layout:*"]
    require:
      all:
        - {name: release signature, sigstore: {keys: [release.pub]}}
        - {name: notary signature, notation: {trustPolicy: trustpolicy.json, trustStore: truststore}}
`
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runToto(t, dir, "image", "verify", "--policy", "policy.yaml", ref)
	if r.Code != 1 || !strings.Contains(r.Stdout, "DENIED") || !strings.Contains(r.Stdout, "violated  enforce notary signature") {
		t.Fatalf("without the notation signature: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	mustToto(t, dir, "image", "sign", "--format", "notation", "--key", "pki/signer.key", "--cert-chain", "pki/signer.crt", ref)
	r = mustToto(t, dir, "image", "verify", "--policy", "policy.yaml", "--json", ref)
	validateAgainst(t, imagePolicySchema, r.Stdout)
	var out struct {
		Allowed  bool
		Decision struct {
			Requirements []struct{ Name, Outcome string }
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil || !out.Allowed || len(out.Decision.Requirements) != 2 {
		t.Fatalf("with both: %v %s", err, r.Stdout)
	}
	if r := runToto(t, dir, "image", "verify", "--policy", "policy.yaml", "--key", "release.pub", ref); r.Code != 2 || !strings.Contains(r.Stderr, "--key") {
		t.Errorf("--policy with --key: exit %d %s", r.Code, r.Stderr)
	}
}

// writeNotationTrust lays out, under dir, the trust store and policy
// docs/notation.md has users write by hand: caFile (relative to dir) as
// truststore/x509/ca/example/ca.crt, and trustpolicy.json with one strict
// statement "app" for scope trusting that store and the CN=release
// subject. It returns the store's directory and the policy text.
func writeNotationTrust(t *testing.T, dir, caFile, scope string) (store, policy string) {
	t.Helper()
	store = filepath.Join(dir, "truststore", "x509", "ca", "example")
	if err := os.MkdirAll(store, 0o755); err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(filepath.Join(dir, caFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(store, "ca.crt"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	policy = `{"version": "1.0", "trustPolicies": [{"name": "app", "registryScopes": ["` + scope + `"],
  "signatureVerification": {"level": "strict"}, "trustStores": ["ca:example"],
  "trustedIdentities": ["x509.subject: C=US, ST=WA, O=Example, CN=release"]}]}`
	if err := os.WriteFile(filepath.Join(dir, "trustpolicy.json"), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	return store, policy
}
