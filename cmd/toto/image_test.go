package main

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	ggcrlayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/internal/corpus"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
)

// writeKeyPair writes NAME.key (PKCS#8) and NAME.pub in dir.
func writeKeyPair(t *testing.T, dir, name, typ string) *keys.Key {
	t.Helper()
	k, err := keys.Generate(typ, keys.GenerateOptions{RSABits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	priv, err := k.MarshalPEM(true)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := k.MarshalPEM(false)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".key"), priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".pub"), pub, 0o644); err != nil {
		t.Fatal(err)
	}
	return k
}

func randomLayout(t *testing.T) (string, v1.Hash) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "oci")
	p, err := ggcrlayout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return dir, d
}

func wantCode(t *testing.T, r cliResult, code int, args ...string) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("toto %v: exit %d, want %d\nstdout: %s\nstderr: %s", args, r.Code, code, r.Stdout, r.Stderr)
	}
}

func TestImageSignAttestVerifyLayout(t *testing.T) {
	work := t.TempDir()
	signer := writeKeyPair(t, work, "signer", keys.ECDSA)
	attester := writeKeyPair(t, work, "attester", keys.Ed25519)
	writeKeyPair(t, work, "stranger", keys.Ed25519)
	owner := writeKeyPair(t, work, "owner", keys.Ed25519)
	oci, digest := randomLayout(t)
	img := "oci-layout:" + oci
	if err := os.WriteFile(filepath.Join(work, "sbom.json"), []byte(`{"spdxVersion":"SPDX-2.3"}`), 0o644); err != nil {
		t.Fatal(err)
	}

	r := mustToto(t, work, "image", "sign", "--key", "signer.key", "--json", img)
	validateAgainst(t, imageSignSchema, r.Stdout)
	if !strings.Contains(r.Stdout, digest.String()) {
		t.Errorf("sign output does not name the digest: %s", r.Stdout)
	}
	r = mustToto(t, work, "image", "attest", "--key", "attester.key", "--predicate-type", "https://spdx.dev/Document", "--predicate", "sbom.json", "--json", img)
	validateAgainst(t, imageSignSchema, r.Stdout)
	var att struct{ Referrer, KeyID string }
	if err := json.Unmarshal([]byte(r.Stdout), &att); err != nil || att.KeyID != attester.ID() || !strings.HasPrefix(att.Referrer, "sha256:") {
		t.Fatalf("attest --json: %v %s", err, r.Stdout)
	}

	r = mustToto(t, work, "image", "verify", "--key", "signer.pub", "--key", "attester.pub", img+"@"+digest.String())
	if !strings.Contains(r.Stdout, "VERIFIED: 1 signature(s), 1 attestation(s)") {
		t.Errorf("verify output: %s", r.Stdout)
	}
	r = mustToto(t, work, "image", "verify", "--json", "--key", "signer.pub", "--key", "attester.pub", img)
	var rep struct {
		Digest                                   string
		VerifiedSignatures, VerifiedAttestations int
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || rep.Digest != digest.String() || rep.VerifiedSignatures != 1 || rep.VerifiedAttestations != 1 {
		t.Fatalf("verify --json: %v %s", err, r.Stdout)
	}

	// The attestation's key is not trusted: by default the signature
	// suffices and the attestation is listed as ignored, with the reason;
	// with --require-all it fails the image (exit 1).
	args := []string{"image", "verify", "--key", "signer.pub", img}
	r = runToto(t, work, args...)
	wantCode(t, r, 0, args...)
	if !strings.Contains(r.Stdout, "skip attestation") || !strings.Contains(r.Stdout, "ignored: ") || !strings.Contains(r.Stdout, "no trusted key") {
		t.Errorf("ignored attestation not reported: %s", r.Stdout)
	}
	args = []string{"image", "verify", "--require-all", "--key", "signer.pub", img}
	r = runToto(t, work, args...)
	wantCode(t, r, 1, args...)
	if !strings.Contains(r.Stdout, "FAIL") || !strings.Contains(r.Stdout, "no trusted key") {
		t.Errorf("failure not reported: %s", r.Stdout)
	}
	// --type: the SPDX attestation is there, SLSA provenance is not.
	mustToto(t, work, "image", "verify", "--key", "signer.pub", "--key", "attester.pub", "--type", "spdxjson", img)
	args = []string{"image", "verify", "--key", "signer.pub", "--key", "attester.pub", "--type", "slsaprovenance1", img}
	r = runToto(t, work, args...)
	wantCode(t, r, 1, args...)
	if !strings.Contains(r.Stdout, "FAIL required attestation of type https://slsa.dev/provenance/v1") {
		t.Errorf("missing type not reported: %s", r.Stdout)
	}
	args = []string{"image", "verify", "--key", "stranger.pub", img}
	wantCode(t, runToto(t, work, args...), 1, args...)

	// Usage and input errors: exit 2.
	for _, args := range [][]string{
		{"image", "verify", img},
		{"image", "verify", "--key", "signer.pub", "oci-layout:" + filepath.Join(work, "nope")},
		{"image", "verify", "--key", "missing.pub", img},
		{"image", "sign", "--key", "signer.pub", img},
		{"image", "attest", "--key", "signer.key", "--predicate", "sbom.json", img},
		{"image", "verify", "--layout-key", "owner.pub", "--key", "signer.pub", img},
		{"image", "verify", "--key", "signer.pub", "--sbom-policy", "missing-policy.yaml", img},
		{"image", "verify", "--key", "signer.pub", "--type", "", img},
	} {
		wantCode(t, runToto(t, work, args...), 2, args...)
	}

	// A layout's functionary keys as the trusted set.
	l := &layout.Layout{Expires: time.Now().Add(24 * time.Hour), Keys: map[string]*keys.Key{}}
	l.AddKey(signer.Public())
	l.AddKey(attester.Public())
	payload, err := l.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	env, err := envelope.New(envelope.Metablock, "", payload)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Sign(context.Background(), owner); err != nil {
		t.Fatal(err)
	}
	b, _ := env.Encode()
	if err := os.WriteFile(filepath.Join(work, "root.layout"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	mustToto(t, work, "image", "verify", "--layout", "root.layout", "--layout-key", "owner.pub", img)
	args = []string{"image", "verify", "--layout", "root.layout", "--layout-key", "stranger.pub", img}
	wantCode(t, runToto(t, work, args...), 1, args...)
}

// The CLI against a real registry on 127.0.0.1: push, sign, attest, move
// the tag, verify by digest.
func TestImageRegistryCLI(t *testing.T) {
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.WithReferrersSupport(true), ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	work := t.TempDir()
	writeKeyPair(t, work, "signer", keys.ECDSA)
	repo := strings.TrimPrefix(srv.URL, "http://") + "/app"
	push := func() v1.Hash {
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := name.ParseReference(repo + ":latest")
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		return d
	}
	d1 := push()
	mustToto(t, work, "image", "sign", "--key", "signer.key", repo+":latest")
	mustToto(t, work, "image", "verify", "--key", "signer.pub", repo+"@"+d1.String())
	push() // the tag now names an unsigned image
	args := []string{"image", "verify", "--key", "signer.pub", repo + ":latest"}
	wantCode(t, runToto(t, work, args...), 1, args...)
	mustToto(t, work, "image", "verify", "--key", "signer.pub", repo+"@"+d1.String())
}

func TestBundleCreateVerifyCLI(t *testing.T) {
	work := t.TempDir()
	k := writeKeyPair(t, work, "build", keys.RSA)
	writeKeyPair(t, work, "other", keys.ECDSA)
	stmt := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app","digest":{"sha256":"` + strings.Repeat("ab", 32) + `"}}],"predicateType":"https://example.com/p","predicate":{}}`
	if err := os.WriteFile(filepath.Join(work, "s.json"), []byte(stmt), 0o644); err != nil {
		t.Fatal(err)
	}
	mustToto(t, work, "bundle", "create", "--key", "build.key", "--statement", "s.json", "-o", "s.sigstore.json")
	r := mustToto(t, work, "bundle", "verify", "--bundle", "s.sigstore.json", "--key", "build.pub", "--artifact-digest", "sha256:"+strings.Repeat("ab", 32), "--json")
	validateAgainst(t, bundleVerifySchema, r.Stdout)
	if bad := runToto(t, work, "bundle", "verify", "--bundle", "s.sigstore.json", "--key", "build.pub", "--artifact-digest", "sha256:"+strings.Repeat("cd", 32), "--json"); bad.Code != 1 {
		t.Errorf("wrong digest: exit %d", bad.Code)
	} else {
		validateAgainst(t, bundleVerifySchema, bad.Stdout)
	}
	var res struct {
		Verified bool
		KeyID    string
	}
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil || !res.Verified || res.KeyID != k.ID() {
		t.Fatalf("%v %s", err, r.Stdout)
	}
	for _, c := range []struct {
		code int
		args []string
	}{
		{1, []string{"bundle", "verify", "--bundle", "s.sigstore.json", "--key", "other.pub", "--no-artifact"}},
		{1, []string{"bundle", "verify", "--bundle", "s.sigstore.json", "--key", "build.pub", "--artifact-digest", "sha256:" + strings.Repeat("cd", 32)}},
		{2, []string{"bundle", "verify", "--bundle", "s.sigstore.json", "--key", "build.pub"}},
		{2, []string{"bundle", "verify", "--key", "build.pub", "--no-artifact"}},
		{2, []string{"bundle", "create", "--key", "build.pub", "--statement", "s.json"}},
	} {
		wantCode(t, runToto(t, work, c.args...), c.code, c.args...)
	}

	// sigstore-go's npm provenance example, keyless, offline.
	sg := corpus.Path(t, "sigstore-go")
	base := []string{"bundle", "verify", "--bundle", filepath.Join(sg, "bundle-provenance.json"),
		"--trusted-root", filepath.Join(sg, "trusted-root-public-good.json"),
		"--artifact-digest", "sha512:76176ffa33808b54602c7c35de5c6e9a4deb96066dba6533f50ac234f4f1f4c6b3527515dc17c06fbe2860030f410eee69ea20079bd3a2c6f3dcf3b329b10751"}
	id := "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
	iss := "https://token.actions.githubusercontent.com"
	r = mustToto(t, work, append(base, "--identity", id, "--issuer", iss)...)
	if !strings.Contains(r.Stdout, id) {
		t.Errorf("identity not shown: %s", r.Stdout)
	}
	args := append(base, "--identity", "https://github.com/evil/x/.github/workflows/a.yml@refs/heads/main", "--issuer", iss)
	wantCode(t, runToto(t, work, args...), 1, args...)
	args = append(base, "--issuer", iss)
	wantCode(t, runToto(t, work, args...), 2, args...)
}
