package image

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sirupsen/logrus"

	"github.com/toto-dev/toto/keys"
)

// registries are real OCI registry servers on 127.0.0.1, one without the
// referrers API (CNCF distribution v3, the registry behind registry:2/3:
// toto must use the sha256-<hex> tag schema) and one with it (ggcr's
// in-process registry with referrers support switched on).
func registries(t *testing.T) map[string]string {
	t.Helper()
	logrus.SetOutput(io.Discard)
	cfg := &configuration.Configuration{}
	cfg.Storage = configuration.Storage{"inmemory": configuration.Parameters{}}
	cfg.HTTP.Secret = "toto-test-secret"
	cfg.Log.AccessLog.Disabled = true
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dist := httptest.NewServer(handlers.NewApp(ctx, cfg))
	t.Cleanup(dist.Close)
	withAPI := httptest.NewServer(ggcrregistry.New(
		ggcrregistry.WithReferrersSupport(true),
		ggcrregistry.Logger(log.New(io.Discard, "", 0)),
	))
	t.Cleanup(withAPI.Close)
	return map[string]string{
		"distribution-v3 (tag schema)": strings.TrimPrefix(dist.URL, "http://"),
		"ggcr (referrers API)":         strings.TrimPrefix(withAPI.URL, "http://"),
	}
}

func genKey(t *testing.T, typ string) *keys.Key {
	t.Helper()
	k, err := keys.Generate(typ, keys.GenerateOptions{RSABits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pushRandom(t *testing.T, ref string) v1.Hash {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var sbomPredicate = json.RawMessage(`{"spdxVersion":"SPDX-2.3","name":"app","packages":[]}`)

const sbomType = "https://spdx.dev/Document"

func mustOpen(t *testing.T, ref string) *Target {
	t.Helper()
	tg, err := Open(context.Background(), ref, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func wantFail(t *testing.T, rep *Report, err error, contains string) {
	t.Helper()
	if !errors.Is(err, ErrVerification) {
		t.Fatalf("got %v, want ErrVerification", err)
	}
	if rep.OK() {
		t.Fatal("report says OK")
	}
	fatal := 0
	if rep.RequireAll {
		fatal = rep.Failures
	}
	if d := rep.Decision(); d.Allowed() || len(d.Denials()) != fatal+boolInt(rep.Signatures == 0)+len(rep.MissingPredicateTypes) {
		t.Fatalf("decision allows a failed image or miscounts: %+v", d.Denials())
	}
	if contains == "" {
		return
	}
	for _, f := range rep.Findings {
		if strings.Contains(f.Error, contains) {
			return
		}
	}
	b, _ := json.MarshalIndent(rep, "", " ")
	t.Fatalf("no finding mentions %q:\n%s", contains, b)
}

// wantIgnored checks that an entry mentioning contains was reported as
// ignored, not verified.
func wantIgnored(t *testing.T, rep *Report, contains string) {
	t.Helper()
	for _, f := range rep.Findings {
		if strings.Contains(f.Error, contains) {
			if f.Status != StatusIgnored || f.Verified {
				t.Errorf("finding %+v: want status ignored", f)
			}
			return
		}
	}
	b, _ := json.MarshalIndent(rep, "", " ")
	t.Fatalf("no finding mentions %q:\n%s", contains, b)
}

func TestRegistrySignAttestVerify(t *testing.T) {
	ctx := context.Background()
	signer, attester, stranger := genKey(t, keys.ECDSA), genKey(t, keys.Ed25519), genKey(t, keys.ECDSA)
	trusted := VerifyOptions{Keys: []*keys.Key{signer.Public(), attester.Public()}}
	for regName, host := range registries(t) {
		t.Run(regName, func(t *testing.T) {
			repo := host + "/team/app"
			d1 := pushRandom(t, repo+":v1")
			tg := mustOpen(t, repo+":v1")
			if tg.Descriptor.Digest != d1 {
				t.Fatalf("resolved %s, pushed %s", tg.Descriptor.Digest, d1)
			}
			if _, err := Sign(ctx, tg, signer, SignOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := Attest(ctx, tg, attester, sbomType, sbomPredicate, SignOptions{}); err != nil {
				t.Fatal(err)
			}

			// Pull by digest, in a fresh handle, and verify.
			byDigest := mustOpen(t, repo+"@"+d1.String())
			rep, err := Verify(ctx, byDigest, trusted)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Signatures != 1 || rep.Attestations != 1 || rep.Failures != 0 {
				t.Fatalf("report %+v", rep)
			}
			if d := rep.Decision(); !d.Allowed() {
				t.Fatalf("a verified image is denied: %v", d.Err())
			}
			signedBy := map[string]string{}
			for _, f := range rep.Findings {
				signedBy[f.Kind] = f.KeyID
			}
			if signedBy[KindSignature] != signer.ID() || signedBy[KindAttestation] != attester.ID() {
				t.Fatalf("signers %v", signedBy)
			}

			// Where the registry has no referrers API, the tag schema
			// index must exist; where it has, toto must not write one.
			fallback, _ := name.ParseReference(repo + ":" + strings.Replace(d1.String(), ":", "-", 1))
			_, headErr := remote.Head(fallback)
			if strings.Contains(regName, "tag schema") != (headErr == nil) {
				t.Errorf("fallback tag present=%v on %s", headErr == nil, regName)
			}

			t.Run("attestation by an unknown key", func(t *testing.T) {
				// Default (cosign's rule): one trusted signature suffices;
				// the attestation is listed as ignored, with the reason.
				rep, err := Verify(ctx, byDigest, VerifyOptions{Keys: []*keys.Key{signer.Public()}})
				if err != nil || !rep.OK() || rep.Signatures != 1 || rep.Failures != 1 || rep.Ignored != 1 {
					t.Fatalf("default mode: %v %+v", err, rep)
				}
				wantIgnored(t, rep, "no trusted key")
				if d := rep.Decision(); !d.Allowed() || len(d.Warnings()) != 1 {
					t.Errorf("decision: allowed %v, warnings %+v", d.Allowed(), d.Warnings())
				}
				// --require-all: the attestation fails the image.
				rep, err = Verify(ctx, byDigest, VerifyOptions{Keys: []*keys.Key{signer.Public()}, RequireAll: true})
				wantFail(t, rep, err, "no trusted key")
				if rep.Signatures != 1 {
					t.Errorf("the signature itself should still verify: %+v", rep)
				}
			})
			t.Run("no trusted signature", func(t *testing.T) {
				rep, err := Verify(ctx, byDigest, VerifyOptions{Keys: []*keys.Key{stranger.Public()}})
				wantFail(t, rep, err, "")
				if rep.Signatures != 0 {
					t.Errorf("%+v", rep)
				}
			})
			t.Run("tag moved to another image", func(t *testing.T) {
				pushRandom(t, repo+":v1")
				moved := mustOpen(t, repo+":v1")
				if moved.Descriptor.Digest == d1 {
					t.Fatal("tag did not move")
				}
				rep, err := Verify(ctx, moved, trusted)
				wantFail(t, rep, err, "")
				if len(rep.Findings) != 0 {
					t.Errorf("new image has referrers: %+v", rep.Findings)
				}
				// The signed digest still verifies: it never depended on
				// the tag.
				if _, err := Verify(ctx, byDigest, trusted); err != nil {
					t.Fatal(err)
				}
			})
			t.Run("signature moved to another image", func(t *testing.T) {
				d2 := pushRandom(t, repo+":other")
				other := mustOpen(t, repo+"@"+d2.String())
				replantSignatures(t, byDigest, other)
				rep, err := Verify(ctx, other, trusted)
				wantFail(t, rep, err, "statement subject does not name")
			})
		})
	}
}

// replantSignatures copies every bundle attached to from onto to, as an
// attacker with push access could: same signed bytes, new subject.
func replantSignatures(t *testing.T, from, to *Target) {
	t.Helper()
	ctx := context.Background()
	refs, err := from.store.referrers(ctx, from.Descriptor.Digest)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range refs {
		raw, err := from.store.manifest(ctx, d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		var m v1.Manifest
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		b, err := from.store.blob(ctx, m.Layers[0].Digest, maxBundleBlob)
		if err != nil {
			t.Fatal(err)
		}
		a, err := newArtifact(to.Descriptor, b, m.Annotations[AnnotationPredicateType], time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := to.store.push(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
}

// newLayout writes an OCI image layout holding n random images, the first
// tagged "v1".
func newLayout(t testing.TB, n int) (string, []v1.Hash) {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	var ds []v1.Hash
	for i := 0; i < n; i++ {
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		var opts []layout.Option
		if i == 0 {
			opts = append(opts, layout.WithAnnotations(map[string]string{annotationRefName: "v1"}))
		}
		if err := p.AppendImage(img, opts...); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		ds = append(ds, d)
	}
	return dir, ds
}

func TestLayoutSignAttestVerify(t *testing.T) {
	ctx := context.Background()
	signer, attester, stranger := genKey(t, keys.RSA), genKey(t, keys.ECDSA), genKey(t, keys.Ed25519)
	trusted := VerifyOptions{Keys: []*keys.Key{signer.Public(), attester.Public()}}
	dir, ds := newLayout(t, 1)
	ref := LayoutPrefix + dir

	tg := mustOpen(t, ref)
	if tg.Descriptor.Digest != ds[0] {
		t.Fatalf("resolved %s", tg.Descriptor.Digest)
	}
	if _, err := Sign(ctx, tg, signer, SignOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Attest(ctx, tg, attester, sbomType, sbomPredicate, SignOptions{}); err != nil {
		t.Fatal(err)
	}
	// The referrers are in index.json, yet the layout still names one
	// image.
	again := mustOpen(t, ref)
	if again.Descriptor.Digest != ds[0] {
		t.Fatalf("after attaching, resolved %s", again.Descriptor.Digest)
	}
	rep, err := Verify(ctx, mustOpen(t, ref+"@"+ds[0].String()), trusted)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Signatures != 1 || rep.Attestations != 1 {
		t.Fatalf("%+v", rep)
	}

	t.Run("attestation by an unknown key", func(t *testing.T) {
		if _, err := Attest(ctx, tg, stranger, "https://slsa.dev/provenance/v1", json.RawMessage(`{}`), SignOptions{}); err != nil {
			t.Fatal(err)
		}
		rep, err := Verify(ctx, tg, trusted)
		if err != nil || rep.Signatures != 1 || rep.Attestations != 1 || rep.Failures != 1 || rep.Ignored != 1 {
			t.Fatalf("default mode: %v %+v", err, rep)
		}
		wantIgnored(t, rep, "no trusted key")
		strict := trusted
		strict.RequireAll = true
		rep, err = Verify(ctx, tg, strict)
		wantFail(t, rep, err, "no trusted key")
		if rep.Signatures != 1 || rep.Attestations != 1 || rep.Failures != 1 {
			t.Errorf("%+v", rep)
		}
	})
}

func TestLayoutTamper(t *testing.T) {
	ctx := context.Background()
	signer := genKey(t, keys.Ed25519)
	trusted := VerifyOptions{Keys: []*keys.Key{signer.Public()}}

	t.Run("bundle blob edited", func(t *testing.T) {
		dir, _ := newLayout(t, 1)
		tg := mustOpen(t, LayoutPrefix+dir)
		att, err := Sign(ctx, tg, signer, SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := tg.store.manifest(ctx, att.Manifest.Digest)
		if err != nil {
			t.Fatal(err)
		}
		var m v1.Manifest
		json.Unmarshal(raw, &m)
		p := tg.store.(*layoutStore).blobPath(m.Layers[0].Digest)
		b, _ := os.ReadFile(p)
		if err := os.WriteFile(p, []byte(strings.Replace(string(b), `"mediaType"`, `"mediaType" `, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		rep, err := Verify(ctx, tg, trusted)
		wantFail(t, rep, err, "hashes to")
	})
	t.Run("image manifest changed", func(t *testing.T) {
		dir, ds := newLayout(t, 1)
		tg := mustOpen(t, LayoutPrefix+dir)
		if _, err := Sign(ctx, tg, signer, SignOptions{}); err != nil {
			t.Fatal(err)
		}
		// Rewrite the image: new manifest bytes, new digest, same tag.
		img, _ := random.Image(256, 1)
		p, _ := layout.FromPath(dir)
		if err := p.RemoveDescriptors(func(d v1.Descriptor) bool { return d.Digest == ds[0] }); err != nil {
			t.Fatal(err)
		}
		if err := p.AppendImage(img); err != nil {
			t.Fatal(err)
		}
		rep, err := Verify(ctx, mustOpen(t, LayoutPrefix+dir), trusted)
		wantFail(t, rep, err, "")
	})
	t.Run("signature moved to another image", func(t *testing.T) {
		dir, ds := newLayout(t, 2)
		a := mustOpen(t, LayoutPrefix+dir+"@"+ds[0].String())
		b := mustOpen(t, LayoutPrefix+dir+"@"+ds[1].String())
		if _, err := Sign(ctx, a, signer, SignOptions{}); err != nil {
			t.Fatal(err)
		}
		replantSignatures(t, a, b)
		rep, err := Verify(ctx, b, trusted)
		wantFail(t, rep, err, "statement subject does not name")
		if _, err := Verify(ctx, a, trusted); err != nil {
			t.Fatalf("the original must still verify: %v", err)
		}
	})
}

func TestLayoutReferences(t *testing.T) {
	ctx := context.Background()
	dir, ds := newLayout(t, 2)
	tests := []struct {
		ref     string
		want    v1.Hash
		wantErr bool
	}{
		{LayoutPrefix + dir, v1.Hash{}, true}, // two images: ambiguous
		{LayoutPrefix + dir + "@" + ds[1].String(), ds[1], false},
		{LayoutPrefix + dir + ":v1", ds[0], false},
		{LayoutPrefix + dir + ":nope", v1.Hash{}, true},
		{LayoutPrefix + dir + "@sha256:" + strings.Repeat("0", 64), v1.Hash{}, true},
		{LayoutPrefix + dir + "@sha256:xyz", v1.Hash{}, true},
		{LayoutPrefix + filepath.Join(dir, "missing"), v1.Hash{}, true},
		{LayoutPrefix, v1.Hash{}, true},
	}
	for _, tc := range tests {
		tg, err := Open(ctx, tc.ref, Options{})
		if tc.wantErr {
			if !errors.Is(err, ErrReference) {
				t.Errorf("%s: got %v, want ErrReference", tc.ref, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.ref, err)
			continue
		}
		if tg.Descriptor.Digest != tc.want {
			t.Errorf("%s: resolved %s", tc.ref, tg.Descriptor.Digest)
		}
	}
}

// index.json members toto does not know survive attaching a referrer.
func TestLayoutIndexKeepsUnknownFields(t *testing.T) {
	dir, _ := newLayout(t, 1)
	p := filepath.Join(dir, "index.json")
	raw, _ := os.ReadFile(p)
	var m map[string]any
	json.Unmarshal(raw, &m)
	m["annotations"] = map[string]string{"org.example.kept": "yes"}
	m["x-vendor"] = 42
	raw, _ = json.Marshal(m)
	os.WriteFile(p, raw, 0o644)

	tg := mustOpen(t, LayoutPrefix+dir)
	if _, err := Sign(context.Background(), tg, genKey(t, keys.Ed25519), SignOptions{}); err != nil {
		t.Fatal(err)
	}
	raw, _ = os.ReadFile(p)
	var after map[string]any
	if err := json.Unmarshal(raw, &after); err != nil {
		t.Fatal(err)
	}
	if after["x-vendor"] != float64(42) || after["annotations"].(map[string]any)["org.example.kept"] != "yes" {
		t.Fatalf("unknown members lost: %s", raw)
	}
	if n := len(after["manifests"].([]any)); n != 2 {
		t.Fatalf("%d manifests", n)
	}
}

func TestRegistryReferenceErrors(t *testing.T) {
	var host string
	for _, h := range registries(t) {
		host = h
		break
	}
	for _, ref := range []string{host + "/none:latest", "UPPER/Case::bad", host + "/x@sha256:" + strings.Repeat("1", 64)} {
		if _, err := Open(context.Background(), ref, Options{}); !errors.Is(err, ErrReference) {
			t.Errorf("%s: got %v, want ErrReference", ref, err)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
