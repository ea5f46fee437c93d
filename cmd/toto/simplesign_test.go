package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/keys"
)

// toto key generate --type pgp, image sign --format simple-signing into
// a lookaside directory, and image verify --containers-policy: accepted by the
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
		r := mustToto(t, dir, "image", "sign", "--format", "simple-signing", "--gpg-key", "release", "--identity", identity, "--lookaside", sigs, img)
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
		return runToto(t, dir, append([]string{"image", "verify", "--containers-policy", p, "--reference", identity, "--lookaside", sigs, img}, extra...)...)
	}
	r := verify(good)
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "ok   requirement 0 signedBy: signature-1 by ") || !strings.Contains(r.Stdout, "accepted") {
		t.Errorf("stdout: %s", r.Stdout)
	}
	r = verify(good, "--json")
	wantCode(t, r, 0)
	validateAgainst(t, containersSchema, r.Stdout)
	var res struct {
		Allowed      bool
		Scope        string
		Requirements []struct {
			Satisfied   bool
			SatisfiedBy int `json:"satisfiedBy"`
			Signatures  []struct{ Fingerprint string }
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil || !res.Allowed || res.Scope != filepath.Dir(abs) || len(res.Requirements[0].Signatures) != 2 {
		t.Errorf("json %+v %v\n%s", res, err, r.Stdout)
	}

	r = verify(policy("wrongkey.json", "other.pub", `{"type":"exactReference","dockerReference":"`+identity+`"}`))
	wantCode(t, r, 1)
	rj := verify(filepath.Join(dir, "wrongkey.json"), "--json")
	wantCode(t, rj, 1)
	validateAgainst(t, containersSchema, rj.Stdout)
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
	r = runToto(t, dir, "image", "verify", "--containers-policy", good, "--reference", "registry.example/team/unsigned:1", "--lookaside", sigs, img)
	wantCode(t, r, 1)
	if !strings.Contains(r.Stdout, "no signature exists") {
		t.Errorf("unsigned: %s", r.Stdout)
	}
	// Usage and input errors: exit 2.
	if err := os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"default":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	wantCode(t, verify(filepath.Join(dir, "bad.json")), 2)
	wantCode(t, runToto(t, dir, "image", "sign", "--format", "simple-signing", "--gpg-key", "release.pub", "--identity", identity, "--lookaside", sigs, img), 2)

	r = runToto(t, dir, "image", "sign", "--format", "simple-signing", "--gpg-key", "release", "--lookaside", sigs, img)
	wantCode(t, r, 2)
	if !strings.Contains(r.Stderr, "give --identity") {
		t.Errorf("layout without --identity: %s", r.Stderr)
	}

	// Flags of the other format or mode are usage errors, naming them.
	writeKeyPair(t, dir, "cosign", keys.Ed25519)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"image", "sign", "--format", "pgp", "--gpg-key", "release", img}, `--format "pgp": want sigstore, simple-signing or notation`},
		{[]string{"image", "sign", "--format", "simple-signing", "--gpg-key", "release", "--identity", identity, "--lookaside", sigs, "--rekor-url", "https://rekor.example", img}, "--rekor-url does not apply to --format simple-signing"},
		{[]string{"image", "sign", "--format", "simple-signing", "--gpg-key", "release", "--key", "cosign.key", "--tsa-url", "https://tsa.example", img}, "--key, --tsa-url do not apply to --format simple-signing"},
		{[]string{"image", "sign", "--format", "simple-signing", "--identity", identity, "--lookaside", sigs, img}, "--format simple-signing needs --gpg-key"},
		{[]string{"image", "sign", "--key", "cosign.key", "--gpg-key", "release", img}, "--gpg-key does not apply to --format sigstore"},
		{[]string{"image", "sign", "--format", "sigstore", "--key", "cosign.key", "--identity", identity, "--lookaside", sigs, img}, "--identity, --lookaside do not apply to --format sigstore"},
		{[]string{"image", "verify", "--containers-policy", good, "--key", "cosign.pub", img}, "--key does not apply with --containers-policy"},
		{[]string{"image", "verify", "--containers-policy", good, "--identity", "someone@example.com", "--require-all", img}, "--require-all, --identity do not apply with --containers-policy"},
		{[]string{"image", "verify", "--key", "cosign.pub", "--reference", identity, img}, "--reference does not apply without --containers-policy"},
		{[]string{"image", "verify", "--key", "cosign.pub", "--lookaside", sigs, "--sigstore-attachments", img}, "--lookaside, --sigstore-attachments do not apply without --containers-policy"},
		{[]string{"image", "verify", "--containers-policy", good, "--reference", identity, "--lookaside", sigs, "--registries-d", dir, img}, "--lookaside and --registries-d are exclusive"},
	} {
		r := runToto(t, dir, tc.args...)
		wantCode(t, r, 2, tc.args...)
		if !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("toto %v: stderr %q, want %q", tc.args, r.Stderr, tc.want)
		}
	}
	// The sign --json output names the signature written.
	r = mustToto(t, dir, "image", "sign", "--format", "simple-signing", "--json", "--gpg-key", "release", "--identity", identity, "--lookaside", sigs, img)
	validateAgainst(t, imageSignSchema, r.Stdout)
	var signed struct {
		Identity, Fingerprint, Signature string
		Index                            int
	}
	if err := json.Unmarshal([]byte(r.Stdout), &signed); err != nil || signed.Index != 3 || signed.Identity != identity || !strings.HasSuffix(signed.Signature, "signature-3") || signed.Fingerprint == "" {
		t.Errorf("sign --json %+v %v\n%s", signed, err, r.Stdout)
	}
}
