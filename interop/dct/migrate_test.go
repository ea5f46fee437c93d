//go:build interop

package dctinterop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	notationgo "github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/dir"
	"github.com/notaryproject/notation-go/registry"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	orasremote "oras.land/oras-go/v2/registry/remote"

	"github.com/toto-dev/toto/dct"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/internal/oracle"
	"github.com/toto-dev/toto/notation/notationtest"
)

// TestMigrate: toto image migrate-dct verifies every DCT-signed tag and
// re-signs the verified ones with a Sigstore bundle, which toto image
// verify --key and cosign v3 verify read; a tag whose registry digest
// differs is listed and not re-signed (exit 1); --dry-run signs nothing.
func TestMigrate(t *testing.T) {
	toto := oracle.Toto(t)
	e := newEnv(t)
	d1, s1 := e.push("v1")
	e.sign("v1", d1, s1)
	e.delegate("targets/releases")
	dr, sr := e.push("rel")
	e.sign("rel", dr, sr, "targets/releases")
	e.push("v2")
	e.sign("v2", d1, s1) // the registry's v2 is another image
	e.push("unsigned")

	dir := t.TempDir()
	run := func(args ...string) (string, int) {
		cmd := exec.Command(toto, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	if out, code := run("key", "generate", "-t", "ecdsa", "-o", "release"); code != 0 {
		t.Fatalf("key generate: %s", out)
	}
	trustDir := filepath.Join(dir, "trust")
	migrate := []string{"image", "migrate-dct", "--dct-server", e.server, "--dct-trust-dir", trustDir}

	out, code := run(append(migrate, "--dry-run", "--json", e.repo)...)
	var ms []struct {
		Tag    string
		Signed bool
		Error  string
	}
	if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "]")+1]), &ms); err != nil || code != 1 {
		t.Fatalf("dry run: exit %d, %v\n%s", code, err, out)
	}
	validateMigration(t, out[:strings.LastIndex(out, "]")+1])
	if len(ms) != 3 || ms[0].Tag != "rel" || ms[1].Tag != "v1" || ms[2].Tag != "v2" || ms[0].Signed || ms[1].Signed || !strings.Contains(ms[2].Error, "registry digest differs") {
		t.Fatalf("dry run: %+v", ms)
	}
	if out, code := run("image", "verify", "--key", "release.pub", e.repo+":v1"); code != 1 {
		t.Fatalf("after the dry run v1 verifies with the new key: exit %d\n%s", code, out)
	}

	out, code = run(append(migrate, "--key", "release", e.repo)...)
	if code != 1 || !strings.Contains(out, "re-signed v1 → "+e.repo+"@"+d1) || !strings.Contains(out, "re-signed rel → "+e.repo+"@"+dr+" (DCT targets/releases; sigstore signature sha256:") || !strings.Contains(out, "FAILED v2") {
		t.Fatalf("migrate: exit %d\n%s", code, out)
	}
	for _, ref := range []string{e.repo + "@" + d1, e.repo + "@" + dr} {
		if out, code := run("image", "verify", "--key", "release.pub", ref); code != 0 {
			t.Fatalf("toto image verify %s: exit %d\n%s", ref, code, out)
		}
		oracle.MustRun(t, dir, nil, oracle.Tool(t, oracle.CosignV3), "verify", "--key", "release.pub", "--insecure-ignore-tlog", "--allow-insecure-registry", "--allow-http-registry", ref)
	}
	// v2's registry image was never re-signed.
	if out, code := run("image", "verify", "--key", "release.pub", e.repo+":v2"); code != 1 {
		t.Fatalf("v2 verifies after migration: exit %d\n%s", code, out)
	}
}

// TestMigrateLibrary: dct.Migrate hands the signer the image opened at
// the signed digest, and only for tags that verify.
func TestMigrateLibrary(t *testing.T) {
	e := newEnv(t)
	d1, s1 := e.push("v1")
	e.sign("v1", d1, s1)
	e.push("v2")
	e.sign("v2", d1, s1)
	var signed []string
	ms, err := dct.Migrate(ctx, e.repo, dct.Options{Server: e.server, TrustDir: t.TempDir()}, func(_ context.Context, tg *image.Target, res *dct.Result) error {
		signed = append(signed, res.Tag+"="+tg.Digest())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || !ms[0].Signed || ms[1].Signed || !errors.Is(ms[1].Err, dct.ErrDigestMismatch) {
		t.Fatalf("migrations %+v", ms)
	}
	if strings.Join(signed, ",") != "v1="+d1 {
		t.Fatalf("signed %v", signed)
	}
	empty := newEnv(t)
	if _, err := dct.Migrate(ctx, empty.repo, dct.Options{Server: empty.server, TrustDir: t.TempDir()}, nil); err != nil {
		t.Fatalf("repository with no tags: %v", err)
	}
	if _, err := dct.Migrate(ctx, e.host+"/never/published", dct.Options{Server: e.server, TrustDir: t.TempDir()}, nil); !errors.Is(err, dct.ErrNotSigned) {
		t.Fatalf("repository without trust data: %v", err)
	}
}

// TestMigrateNotation: toto image migrate-dct --format notation re-signs
// each verified DCT tag with a Notary Project signature (JWS, then COSE on
// a second run) that notation-go's own verifier accepts, reading the trust
// policy and trust store with notation-go's own types and the signatures
// through oras-go, not through toto's notation package; toto image verify
// --notation-policy agrees. A tag whose registry digest differs is not
// signed, and a trust store with another CA does not verify what was
// signed.
func TestMigrateNotation(t *testing.T) {
	toto := oracle.Toto(t)
	e := newEnv(t)
	d1, s1 := e.push("v1")
	e.sign("v1", d1, s1)
	e.delegate("targets/releases")
	dr, sr := e.push("rel")
	e.sign("rel", dr, sr, "targets/releases")
	d2, _ := e.push("v2")
	e.sign("v2", d1, s1) // the registry's v2 is another image

	n := notationtest.New(t, notationtest.Options{})
	other := notationtest.New(t, notationtest.Options{})
	dir := t.TempDir()
	migrate := []string{"image", "migrate-dct", "--dct-server", e.server, "--dct-trust-dir", filepath.Join(dir, "trust"),
		"--format", "notation", "--key", n.KeyPath, "--cert-chain", n.ChainPath}

	if out, code := runIn(t, dir, toto, append(migrate, "--rekor-url", "http://127.0.0.1:1", e.repo)...); code != 2 || !strings.Contains(out, "--rekor-url does not apply to --format notation") {
		t.Fatalf("--rekor-url with notation: exit %d\n%s", code, out)
	}
	if out, code := runIn(t, dir, toto, "image", "migrate-dct", "--dct-server", e.server, "--key", n.KeyPath, "--cert-chain", n.ChainPath, e.repo); code != 2 || !strings.Contains(out, "--cert-chain does not apply to --format sigstore") {
		t.Fatalf("--cert-chain with sigstore: exit %d\n%s", code, out)
	}

	out, code := runIn(t, dir, toto, append(migrate, "--json", e.repo)...)
	var ms []struct {
		Tag       string
		Signed    bool
		Signature string
		Error     string
	}
	if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "]")+1]), &ms); err != nil || code != 1 {
		t.Fatalf("migrate: exit %d, %v\n%s", code, err, out)
	}
	validateMigration(t, out[:strings.LastIndex(out, "]")+1])
	if len(ms) != 3 || !ms[0].Signed || !ms[1].Signed || ms[2].Signed || !strings.HasPrefix(ms[0].Signature, "sha256:") || ms[0].Signature == ms[1].Signature || !strings.Contains(ms[2].Error, "registry digest differs") {
		t.Fatalf("migrations: %+v", ms)
	}
	if out, code := runIn(t, dir, toto, append(migrate, "--envelope", "cose", e.repo)...); code != 1 || !strings.Contains(out, "re-signed v1 → "+e.repo+"@"+d1+" (DCT targets; notation signature sha256:") {
		t.Fatalf("migrate, COSE: exit %d\n%s", code, out)
	}

	for _, ref := range []string{e.repo + "@" + d1, e.repo + "@" + dr} {
		mts, err := notationgoVerify(t, n.Dir, n.PolicyPath, ref)
		if err != nil {
			t.Fatalf("notation-go verify %s: %v", ref, err)
		}
		if len(mts) != 2 || mts[0] == mts[1] {
			t.Fatalf("notation-go verify %s: signatures %v, want one JWS and one COSE", ref, mts)
		}
		if out, code := runIn(t, dir, toto, "image", "verify", "--notation-policy", n.PolicyPath, "--trust-store", n.TrustStore, ref); code != 0 {
			t.Fatalf("toto image verify --notation-policy %s: exit %d\n%s", ref, code, out)
		}
		if _, err := notationgoVerify(t, other.Dir, other.PolicyPath, ref); err == nil {
			t.Fatalf("notation-go verified %s with another CA", ref)
		}
	}
	if _, err := notationgoVerify(t, n.Dir, n.PolicyPath, e.repo+"@"+d2); err == nil {
		t.Fatal("notation-go verified v2's registry image, which DCT never signed")
	}
}

// notationgoVerify verifies ref's notation signatures with notation-go
// alone: its trustpolicy.Document parsed from policyPath, its X509 trust
// store over configDir (holding truststore/), its verifier, and its
// registry client over oras-go. It returns the media type of each
// signature that verified.
func notationgoVerify(t *testing.T, configDir, policyPath, ref string) ([]string, error) {
	t.Helper()
	raw, err := os.ReadFile(policyPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc trustpolicy.Document
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(&doc, truststore.NewX509TrustStore(dir.NewSysFS(configDir)), nil)
	if err != nil {
		t.Fatal(err)
	}
	repoName, _, _ := strings.Cut(ref, "@")
	r, err := orasremote.NewRepository(repoName)
	if err != nil {
		t.Fatal(err)
	}
	r.PlainHTTP = true
	var mts []string
	// notation-go stops at the first signature that verifies; listing
	// each signature and verifying it alone counts them all.
	repo := registry.NewRepository(r)
	desc, err := repo.Resolve(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	err = repo.ListSignatures(ctx, desc, func(sigs []ocispec.Descriptor) error {
		for _, sd := range sigs {
			env, envDesc, err := repo.FetchSignatureBlob(ctx, sd)
			if err != nil {
				return err
			}
			if _, err := v.Verify(ctx, desc, env, notationgo.VerifierVerifyOptions{ArtifactReference: ref, SignatureMediaType: envDesc.MediaType}); err != nil {
				return fmt.Errorf("signature %s: %w", sd.Digest, err)
			}
			mts = append(mts, envDesc.MediaType)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(mts) == 0 {
		return nil, errors.New("no notation signatures")
	}
	// And the whole flow notation verify runs.
	if _, _, err := notationgo.Verify(ctx, v, repo, notationgo.VerifyOptions{ArtifactReference: ref, MaxSignatureAttempts: 50}); err != nil {
		return nil, err
	}
	return mts, nil
}

// runIn runs bin with args in dir and returns its combined output and
// exit code.
func runIn(t *testing.T, dir, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}
