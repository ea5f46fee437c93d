package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// toto key generate --type pgp, simple-signing sign into a lookaside
// directory, and verify under containers-policy.json: accepted by the
// signer's key with the signed identity, rejected (exit 1) with another
// key or another identity, per requirement, as text and JSON.
func TestSimpleSigningCLI(t *testing.T) {
	dir := t.TempDir()
	layoutDir, digest := randomLayout(t)
	mustToto(t, dir, "key", "generate", "--type", "pgp", "-o", "release", "--uid", "Release <release@example.com>")
	mustToto(t, dir, "key", "generate", "--type", "pgp-rsa", "--bits", "2048", "-o", "other")
	if st, err := os.Stat(filepath.Join(dir, "release")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret key %v %v", st, err)
	}
	img := "oci-layout:" + layoutDir
	const identity = "registry.example/team/app:1.0"
	sigs := filepath.Join(dir, "sigstore")
	for i := 1; i <= 2; i++ {
		r := mustToto(t, dir, "simple-signing", "sign", "--gpg-key", "release", "--identity", identity, "--lookaside", sigs, img)
		want := filepath.Join(sigs, "team/app@sha256="+digest.Hex, fmt.Sprintf("signature-%d", i))
		if !strings.Contains(r.Stdout, want) {
			t.Fatalf("sign %d: %s, want %s", i, r.Stdout, want)
		}
	}
	abs, _ := filepath.EvalSymlinks(layoutDir)
	policy := func(name, key, signedIdentity string) string {
		p := filepath.Join(dir, name)
		doc := fmt.Sprintf(`{"default":[{"type":"reject"}],"transports":{"oci":{%q:[{"type":"signedBy","keyType":"GPGKeys","keyPath":%q,"signedIdentity":%s}]}}}`,
			filepath.Dir(abs), filepath.Join(dir, key), signedIdentity)
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := policy("good.json", "release.pub", `{"type":"exactReference","dockerReference":"`+identity+`"}`)
	verify := func(p string, extra ...string) cliResult {
		return runToto(t, dir, append([]string{"simple-signing", "verify", "--containers-policy", p, "--identity", identity, "--lookaside", sigs, img}, extra...)...)
	}
	r := verify(good)
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "ok   requirement 0 signedBy: signature-1 by ") || !strings.Contains(r.Stdout, "accepted") {
		t.Errorf("stdout: %s", r.Stdout)
	}
	r = verify(good, "--json")
	wantCode(t, r, 0)
	var res struct {
		Allowed      bool
		Scope        string
		Requirements []struct {
			Satisfied   bool
			SatisfiedBy int `json:"satisfied_by"`
			Signatures  []struct{ Fingerprint string }
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil || !res.Allowed || res.Scope != filepath.Dir(abs) || len(res.Requirements[0].Signatures) != 2 {
		t.Errorf("json %+v %v\n%s", res, err, r.Stdout)
	}

	r = verify(policy("wrongkey.json", "other.pub", `{"type":"exactReference","dockerReference":"`+identity+`"}`))
	wantCode(t, r, 1)
	if !strings.Contains(r.Stdout, "signature-2: signed by a key not trusted here") {
		t.Errorf("wrong key: %s", r.Stdout)
	}
	r = verify(policy("wrongid.json", "release.pub", `{"type":"exactReference","dockerReference":"registry.example/team/app:2.0"}`))
	wantCode(t, r, 1)
	if !strings.Contains(r.Stdout, "signed identity not accepted") {
		t.Errorf("wrong identity: %s", r.Stdout)
	}
	r = verify(policy("matchexact.json", "release.pub", `{"type":"matchExact"}`))
	wantCode(t, r, 1)
	if !strings.Contains(r.Stdout, "has none (use exactReference or exactRepository)") {
		t.Errorf("matchExact on a layout: %s", r.Stdout)
	}
	// No signatures stored: rejected, saying so.
	r = runToto(t, dir, "simple-signing", "verify", "--containers-policy", good, "--identity", "registry.example/team/unsigned:1", "--lookaside", sigs, img)
	wantCode(t, r, 1)
	if !strings.Contains(r.Stdout, "no signature exists") {
		t.Errorf("unsigned: %s", r.Stdout)
	}
	// Usage and input errors: exit 2.
	if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"default":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	wantCode(t, verify(filepath.Join(dir, "bad.json")), 2)
	wantCode(t, runToto(t, dir, "simple-signing", "sign", "--gpg-key", "release.pub", "--identity", identity, "--lookaside", sigs, img), 2)
	wantCode(t, runToto(t, dir, "simple-signing", "sign", "--gpg-key", "release", "--lookaside", sigs, img), 2)
}
