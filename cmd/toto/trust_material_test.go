package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/notation/notationtest"
)

// TestTrustNotationAndKeyrings: a notation trust policy and trust store
// and an OpenPGP keyring published as TUF targets (toto trust add-target
// --notation, toto/keyrings/) and served on 127.0.0.1 are what toto image
// verify --notation-policy tuf:SET --trust-store tuf:SET and
// --containers-policy --tuf-root verify with; after the CA is replaced in
// the repository, the old signature no longer verifies.
func TestTrustNotationAndKeyrings(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []string{"root1", "targets1", "snapshot", "timestamp"} {
		mustToto(t, dir, "key", "generate", "--type", "ed25519", "-o", k)
	}
	for _, d := range []string{"pki", "pki2", "cfg"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustToto(t, dir, "key", "generate", "--type", "x509", "--uid", "C=US,ST=WA,O=Example,CN=release", "-o", "pki/signer")
	mustToto(t, dir, "key", "generate", "--type", "x509", "--uid", "C=US,ST=WA,O=Example,CN=release", "-o", "pki2/signer")
	mustToto(t, dir, "key", "generate", "--type", "pgp", "-o", "release", "--uid", "Release <release@example.com>")
	cfg := filepath.Join(dir, "cfg")
	writeNotationTrust(t, cfg, "../pki/signer.ca.crt", "local/app")

	layoutDir := notationtest.Layout(t, "app")
	img := "oci-layout:" + layoutDir
	mustToto(t, dir, "image", "sign", "--format", "notation", "--key", "pki/signer.key", "--cert-chain", "pki/signer.crt", img)
	const identity = "registry.example/team/app:1.0"
	sigs := filepath.Join(dir, "sigstore")
	mustToto(t, dir, "image", "sign", "--format", "simple-signing", "--gpg-key", "release", "--identity", identity, "--lookaside", sigs, img)

	mustToto(t, dir, "trust", "init", "repo", "--root-key", "root1.pub", "--targets-key", "targets1.pub", "--snapshot-key", "snapshot.pub", "--timestamp-key", "timestamp.pub")
	r := mustToto(t, dir, "trust", "add-target", "repo", "--notation", "prod", "cfg")
	if !strings.Contains(r.Stdout, "staged toto/notation/prod/trustpolicy.json\nstaged toto/notation/prod/truststore/x509/ca/example/ca.crt\n") {
		t.Fatalf("add-target --notation: %s", r.Stdout)
	}
	mustToto(t, dir, "trust", "add-target", "repo", "toto/keyrings/release.gpg", "release.pub")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"toto/keyrings/secret.gpg", "release"}, "holds the private key"},
		{[]string{"toto/keyrings/notakey.gpg", "cfg/trustpolicy.json"}, "not an OpenPGP keyring nor a PEM public key"},
		{[]string{"toto/keyrings/cosign.key", "timestamp.key"}, "is a private key"},
		{[]string{"toto/notation/prod/truststore/x509/ca/example/bad.crt", "release.pub"}, "neither PEM certificates nor DER"},
		{[]string{"toto/notation/prod/truststore/x509/root/example/ca.crt", "pki/signer.ca.crt"}, `trust store type "root"`},
		{[]string{"toto/notation/prod/trustpolicy.json", "release.pub"}, "toto/notation/prod/trustpolicy.json"},
		{[]string{"--notation", "prod", "pki"}, "neither x509/"},
	} {
		r := runToto(t, dir, append([]string{"trust", "add-target", "repo"}, tc.args...)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("add-target %v: exit %d, stderr %q; want 2 and %q", tc.args, r.Code, r.Stderr, tc.want)
		}
	}
	publish := func() {
		t.Helper()
		mustToto(t, dir, "trust", "sign", "repo", "--role", "root", "--key", "root1.key")
		mustToto(t, dir, "trust", "sign", "repo", "--role", "targets", "--key", "targets1.key")
		mustToto(t, dir, "trust", "publish", "repo", "--snapshot-key", "snapshot.key", "--timestamp-key", "timestamp.key")
	}
	publish()
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(dir, "repo", "public"))))
	defer srv.Close()
	tuf := []string{"--tuf-root", filepath.Join("repo", "public", "1.root.json"), "--tuf-url", srv.URL, "--tuf-cache", "cache"}
	imageVerify := func(args ...string) cliResult {
		return runToto(t, dir, append(append([]string{"image", "verify"}, args...), img)...)
	}

	// notation, from TUF.
	r = imageVerify(append(tuf, "--notation-policy", "tuf:prod", "--trust-store", "tuf:prod")...)
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "verified") {
		t.Errorf("notation from TUF: %s", r.Stdout)
	}
	// The policy from a file, the store from TUF.
	wantCode(t, imageVerify(append(tuf, "--notation-policy", "cfg/trustpolicy.json", "--trust-store", "tuf:prod")...), 0)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--notation-policy", "tuf:prod", "--trust-store", "tuf:prod"}, "need --tuf-root and --tuf-url"},
		{append(tuf, "--notation-policy", "cfg/trustpolicy.json", "--trust-store", "cfg/truststore"), "do not apply with --notation-policy unless"},
		{append(tuf, "--notation-policy", "tuf:staging", "--trust-store", "tuf:prod"), "no targets under toto/notation/staging/"},
	} {
		r := imageVerify(tc.args...)
		if r.Code != 2 || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("image verify %v: exit %d, stderr %q; want 2 and %q", tc.args, r.Code, r.Stderr, tc.want)
		}
	}

	// containers-policy.json keyPaths, from TUF: the policy names files
	// that do not exist here; their base names are the targets.
	abs, _ := filepath.EvalSymlinks(layoutDir)
	policy := func(name, keyPath string) string {
		p := filepath.Join(dir, name)
		doc := fmt.Sprintf(`{"default":[{"type":"reject"}],"transports":{"oci":{%q:[{"type":"signedBy","keyType":"GPGKeys","keyPath":%q,"signedIdentity":{"type":"exactReference","dockerReference":%q}}]}}}`,
			filepath.Dir(abs), keyPath, identity)
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cp := []string{"--containers-policy", policy("cp.json", "/etc/pki/containers/release.gpg"), "--reference", identity, "--lookaside", sigs}
	r = imageVerify(append(tuf, cp...)...)
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "ok   requirement 0 signedBy: signature-1 by ") {
		t.Errorf("containers-policy from TUF: %s", r.Stdout)
	}
	wantCode(t, imageVerify(cp...), 1) // no such file without TUF
	r = imageVerify(append(tuf, "--containers-policy", policy("other.json", "/etc/pki/containers/other.gpg"), "--reference", identity, "--lookaside", sigs)...)
	wantCode(t, r, 1)
	if !strings.Contains(r.Stdout, "toto/keyrings/other.gpg") {
		t.Errorf("keyPath without a target: %s", r.Stdout)
	}

	// The team replaces its CA: the set is restaged from the folder, the
	// old CA's file is gone from the repository, and the image signed
	// under it no longer verifies through TUF.
	ca := filepath.Join(cfg, "truststore", "x509", "ca", "example")
	if err := os.Remove(filepath.Join(ca, "ca.crt")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "pki2", "signer.ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ca, "ca2.crt"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	mustToto(t, dir, "trust", "add-target", "repo", "--notation", "prod", "cfg")
	publish()
	r = imageVerify(append(tuf, "--notation-policy", "tuf:prod", "--trust-store", "tuf:prod")...)
	wantCode(t, r, 1)
	mustToto(t, dir, "image", "sign", "--format", "notation", "--key", "pki2/signer.key", "--cert-chain", "pki2/signer.crt", img)
	wantCode(t, imageVerify(append(tuf, "--notation-policy", "tuf:prod", "--trust-store", "tuf:prod")...), 0)
}
