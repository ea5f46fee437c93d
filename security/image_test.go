package security

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	ggcrlayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/toto-dev/toto/bundle"
	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/internal/atomicfile"
	"github.com/toto-dev/toto/internal/corpus"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
)

// imgPrivatePEM is the PKCS#8 PEM of k, for the CLI's --key.
func imgPrivatePEM(t *testing.T, k *keys.Key) []byte {
	t.Helper()
	b, err := k.MarshalPEM(true)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// imgLayout writes an OCI image layout holding one random image, or with
// index a random multi-platform image index, and returns its directory
// and the digest index.json lists.
func imgLayout(t *testing.T, index bool) (string, v1.Hash) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "oci")
	p, err := ggcrlayout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	var d v1.Hash
	if index {
		idx, err := random.Index(128, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.AppendIndex(idx); err != nil {
			t.Fatal(err)
		}
		d, err = idx.Digest()
		if err != nil {
			t.Fatal(err)
		}
	} else {
		img, err := random.Image(128, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.AppendImage(img); err != nil {
			t.Fatal(err)
		}
		d, err = img.Digest()
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir, d
}

func imgOpen(t *testing.T, ref string) *image.Target {
	t.Helper()
	tg, err := image.Open(context.Background(), ref, image.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", ref, err)
	}
	return tg
}

func imgSign(t *testing.T, tg *image.Target, k *keys.Key) *image.Attached {
	t.Helper()
	a, err := image.Sign(context.Background(), tg, k, image.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func imgBlobPath(dir string, h v1.Hash) string {
	return filepath.Join(dir, "blobs", h.Algorithm, h.Hex)
}

// imgWantDigestError asserts err is a *image.DigestError naming want as
// the digest and got as what the content hashes to.
func imgWantDigestError(t *testing.T, err error, want, got v1.Hash) *image.DigestError {
	t.Helper()
	var de *image.DigestError
	if !errors.As(err, &de) || !errors.Is(err, image.ErrDigestMismatch) {
		t.Fatalf("got %v, want a *image.DigestError", err)
	}
	if de.Want != want || de.Got != got {
		t.Errorf("DigestError names %s hashing to %s, want %s hashing to %s", de.Want, de.Got, want, got)
	}
	return de
}

// Item 14: toto image verify --layout trusts a layout only through
// layout.Verify, as toto verify does, so a layout owner's signature over a
// DSSE envelope whose payloadType is not in-toto's does not make it a
// layout (the signature would otherwise be replayable from another
// protocol that signs the same bytes under another payloadType).
func TestImageVerifyLayoutPayloadType(t *testing.T) {
	owner, alice := newKey(t), newKey(t)
	payload, err := layout.Payload(buildLayout(t, 1, alice))
	if err != nil {
		t.Fatal(err)
	}
	signed := func(payloadType string) *envelope.Envelope {
		e, err := envelope.New(envelope.DSSE, payloadType, payload)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Sign(context.Background(), owner); err != nil {
			t.Fatal(err)
		}
		// Through the bytes, as both commands read the file.
		back, err := envelope.Parse(encode(t, e))
		if err != nil {
			t.Fatal(err)
		}
		return back
	}

	t.Run("library", func(t *testing.T) {
		lv, err := layout.Verify(signed(envelope.PayloadTypeInToto), []*keys.Key{owner.Public()}, now)
		if err != nil || lv.Err() != nil {
			t.Fatalf("control: %v %v", err, lv.Err())
		}
		_, err = layout.Verify(signed("application/json"), []*keys.Key{owner.Public()}, now)
		var pe *envelope.PayloadTypeError
		if !errors.Is(err, layout.ErrNotALayout) || !errors.As(err, &pe) {
			t.Fatalf("got %v, want ErrNotALayout wrapping a *envelope.PayloadTypeError", err)
		}
		if pe.Got != "application/json" || pe.Want != envelope.PayloadTypeInToto {
			t.Errorf("payloadType error %+v", pe)
		}
	})

	t.Run("cli", func(t *testing.T) {
		work := t.TempDir()
		oci, d := imgLayout(t, false)
		imgSign(t, imgOpen(t, image.LayoutPrefix+oci), alice)
		writeFile(t, filepath.Join(work, "owner.pub"), publicPEM(t, owner))
		writeFile(t, filepath.Join(work, "good.layout"), encode(t, signed(envelope.PayloadTypeInToto)))
		writeFile(t, filepath.Join(work, "json.layout"), encode(t, signed("application/json")))
		ref := image.LayoutPrefix + oci + "@" + d.String()

		r := runToto(t, work, time.Minute, "image", "verify", "--layout", "good.layout", "--layout-key", "owner.pub", ref)
		wantCode(t, r, 0)

		r = runToto(t, work, time.Minute, "image", "verify", "--layout", "json.layout", "--layout-key", "owner.pub", ref)
		wantCode(t, r, 2)
		want := `toto: json.layout: not a layout: DSSE payloadType "application/json" is not "application/vnd.in-toto+json"` + "\n"
		if r.Stderr != want {
			t.Errorf("stderr\n got: %q\nwant: %q", r.Stderr, want)
		}
		// toto verify refuses the same file for the same reason.
		r = runToto(t, work, time.Minute, "verify", "--layout", "json.layout", "--layout-key", "owner.pub", "--links", ".")
		wantCode(t, r, 2)
		contains(t, r.Stderr, `not a layout: DSSE payloadType "application/json" is not "application/vnd.in-toto+json"`)
	})
}

// Item 15: the image's own manifest is read and hashed before anything
// else. A manifest (or index) blob rewritten in place in an OCI layout —
// new layers, same file name and index.json entry — must not pass for the
// digest the signature names.
func TestImageLayoutManifestRewritten(t *testing.T) {
	ctx := context.Background()
	signer := newKey(t)
	trusted := image.VerifyOptions{Keys: []*keys.Key{signer.Public()}}
	for _, kind := range []struct {
		name  string
		index bool
	}{{"image manifest", false}, {"image index", true}} {
		t.Run(kind.name, func(t *testing.T) {
			dir, d := imgLayout(t, kind.index)
			before := imgOpen(t, image.LayoutPrefix+dir+"@"+d.String())
			imgSign(t, before, signer)
			if _, err := image.Verify(ctx, before, trusted); err != nil {
				t.Fatalf("control: %v", err)
			}

			// Another image's manifest (or index), written over the
			// signed one's blob.
			var other []byte
			var err error
			if kind.index {
				idx, _ := random.Index(128, 1, 2)
				other, err = idx.RawManifest()
			} else {
				img, _ := random.Image(128, 1)
				other, err = img.RawManifest()
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _, _ := v1.SHA256(strings.NewReader(string(other)))
			if err := os.WriteFile(imgBlobPath(dir, d), other, 0o644); err != nil {
				t.Fatal(err)
			}

			for _, ref := range []string{image.LayoutPrefix + dir, image.LayoutPrefix + dir + "@" + d.String()} {
				_, err := image.Open(ctx, ref, image.Options{})
				de := imgWantDigestError(t, err, d, got)
				if want := fmt.Sprintf("image manifest %s: OCI layout %s: content named %s hashes to %s", d, dir, d, got); err.Error() != want {
					t.Errorf("open %s:\n got: %s\nwant: %s", ref, err, want)
				}
				if de.What != "OCI layout "+dir {
					t.Errorf("DigestError.What = %q", de.What)
				}
			}
			// A target opened before the rewrite fails on Verify.
			rep, err := image.Verify(ctx, before, trusted)
			if !errors.Is(err, image.ErrVerification) {
				t.Fatalf("got %v, want ErrVerification", err)
			}
			imgWantDigestError(t, err, d, got)
			if rep.OK() || len(rep.Findings) != 0 {
				t.Errorf("report %+v: the referrers must not be looked at", rep)
			}
		})
	}
}

// Item 15: a signature's referrer manifest or bundle blob rewritten in
// place fails the image, and Verify's error says which digest did not
// match (errors.As), not only that something failed.
func TestImageLayoutReferrerRewritten(t *testing.T) {
	ctx := context.Background()
	signer := newKey(t)
	trusted := image.VerifyOptions{Keys: []*keys.Key{signer.Public()}}
	tests := []struct {
		name string
		// blob picks the blob to rewrite from the referrer's digest and
		// manifest.
		blob func(ref v1.Hash, m *v1.Manifest) v1.Hash
	}{
		{"referrer manifest", func(ref v1.Hash, _ *v1.Manifest) v1.Hash { return ref }},
		{"bundle blob", func(_ v1.Hash, m *v1.Manifest) v1.Hash { return m.Layers[0].Digest }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, d := imgLayout(t, false)
			tg := imgOpen(t, image.LayoutPrefix+dir+"@"+d.String())
			a := imgSign(t, tg, signer)
			rep, err := image.Verify(ctx, tg, trusted)
			if err != nil || rep.Signatures != 1 {
				t.Fatalf("control: %v %+v", err, rep)
			}
			var m v1.Manifest
			if err := json.Unmarshal(readFile(t, imgBlobPath(dir, a.Manifest.Digest)), &m); err != nil {
				t.Fatal(err)
			}
			h := tc.blob(a.Manifest.Digest, &m)
			p := imgBlobPath(dir, h)
			// One more space: same meaning, other bytes.
			edited := strings.Replace(string(readFile(t, p)), `{`, `{ `, 1)
			if err := os.WriteFile(p, []byte(edited), 0o644); err != nil {
				t.Fatal(err)
			}
			got, _, _ := v1.SHA256(strings.NewReader(edited))

			rep, err = image.Verify(ctx, tg, trusted)
			if !errors.Is(err, image.ErrVerification) || rep.OK() || rep.Failures != 1 {
				t.Fatalf("got %v, report %+v; want one failed referrer", err, rep)
			}
			imgWantDigestError(t, err, h, got)
			if want := fmt.Sprintf("OCI layout %s: content named %s hashes to %s", dir, h, got); !strings.HasSuffix(rep.Findings[0].Error, want) {
				t.Errorf("finding error\n got: %s\nwant suffix: %s", rep.Findings[0].Error, want)
			}
		})
	}
}

// lyingRegistry answers HEAD and GET of one manifest path with a
// Docker-Content-Digest of its choosing, over the honest content.
type lyingRegistry struct {
	http.Handler
	path, digest string
}

func (l lyingRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == l.path && (r.Method == http.MethodHead || r.Method == http.MethodGet) {
		w = &digestHeaderWriter{ResponseWriter: w, digest: l.digest}
	}
	l.Handler.ServeHTTP(w, r)
}

type digestHeaderWriter struct {
	http.ResponseWriter
	digest string
	wrote  bool
}

func (w *digestHeaderWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.Header().Set("Docker-Content-Digest", w.digest)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *digestHeaderWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// imgRegistry is a registry on 127.0.0.1 holding app:signed (signed by
// signer) and app:release (another, unsigned image), served honestly and,
// from the same storage, by a server that answers app:release with the
// signed image's digest in Docker-Content-Digest.
type imgRegistry struct {
	honest, liar     string // host:port
	signed, unsigned v1.Hash
}

func newImgRegistry(t *testing.T, signer *keys.Key) *imgRegistry {
	t.Helper()
	reg := ggcrregistry.New(ggcrregistry.WithReferrersSupport(true), ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	honest := httptest.NewServer(reg)
	t.Cleanup(honest.Close)
	r := &imgRegistry{honest: strings.TrimPrefix(honest.URL, "http://")}
	push := func(tag string) v1.Hash {
		img, err := random.Image(128, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.ParseReference(r.honest + "/app:" + tag)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		return d
	}
	r.signed, r.unsigned = push("signed"), push("release")
	imgSign(t, imgOpen(t, r.honest+"/app@"+r.signed.String()), signer)
	liar := httptest.NewServer(lyingRegistry{Handler: reg, path: "/v2/app/manifests/release", digest: r.signed.String()})
	t.Cleanup(liar.Close)
	r.liar = strings.TrimPrefix(liar.URL, "http://")
	return r
}

// Item 16: a tag is resolved by fetching and hashing its manifest. A
// registry that names a signed image's digest in Docker-Content-Digest for
// a tag serving another image is caught, rather than the signed image's
// referrers vouching for the unsigned one.
func TestImageRegistryTagDigestHeader(t *testing.T) {
	ctx := context.Background()
	signer := newKey(t)
	trusted := image.VerifyOptions{Keys: []*keys.Key{signer.Public()}}
	reg := newImgRegistry(t, signer)

	t.Run("control: honest tags", func(t *testing.T) {
		tg := imgOpen(t, reg.honest+"/app:signed")
		if tg.Descriptor.Digest != reg.signed {
			t.Fatalf("resolved %s", tg.Descriptor.Digest)
		}
		if _, err := image.Verify(ctx, tg, trusted); err != nil {
			t.Fatal(err)
		}
		tg = imgOpen(t, reg.honest+"/app:release")
		if tg.Descriptor.Digest != reg.unsigned {
			t.Fatalf("resolved %s", tg.Descriptor.Digest)
		}
		if _, err := image.Verify(ctx, tg, trusted); !errors.Is(err, image.ErrVerification) {
			t.Fatalf("unsigned image: got %v, want ErrVerification", err)
		}
	})

	t.Run("the tag is recorded, for tag → digest", func(t *testing.T) {
		if tg := imgOpen(t, reg.honest+"/app:signed"); tg.Tag != "signed" {
			t.Errorf("by tag, Tag = %q", tg.Tag)
		}
		if tg := imgOpen(t, reg.honest+"/app@"+reg.signed.String()); tg.Tag != "" {
			t.Errorf("by digest, Tag = %q", tg.Tag)
		}
	})

	t.Run("header names the signed image", func(t *testing.T) {
		tg, err := image.Open(ctx, reg.liar+"/app:release", image.Options{})
		if tg != nil {
			rep, verr := image.Verify(ctx, tg, trusted)
			t.Fatalf("opened as %s; verify: %v (%d signatures)", tg, verr, rep.Signatures)
		}
		imgWantDigestError(t, err, reg.signed, reg.unsigned)
		want := fmt.Sprintf("registry %s/app (Docker-Content-Digest of tag release): content named %s hashes to %s", reg.liar, reg.signed, reg.unsigned)
		if err.Error() != want {
			t.Errorf("\n got: %s\nwant: %s", err, want)
		}
	})

	t.Run("cli", func(t *testing.T) {
		work := t.TempDir()
		writeFile(t, filepath.Join(work, "signer.pub"), publicPEM(t, signer))
		writeFile(t, filepath.Join(work, "signer.key"), imgPrivatePEM(t, signer))

		r := runToto(t, work, time.Minute, "image", "verify", "--key", "signer.pub", reg.honest+"/app:signed")
		wantCode(t, r, 0)
		if want := fmt.Sprintf("%s/app:signed → %s/app@%s\n", reg.honest, reg.honest, reg.signed); r.Stderr != want {
			t.Errorf("stderr\n got: %q\nwant: %q", r.Stderr, want)
		}

		r = runToto(t, work, time.Minute, "image", "verify", "--key", "signer.pub", reg.liar+"/app:release")
		wantCode(t, r, 1)
		want := fmt.Sprintf("toto: registry %s/app (Docker-Content-Digest of tag release): content named %s hashes to %s\n", reg.liar, reg.signed, reg.unsigned)
		if r.Stderr != want {
			t.Errorf("stderr\n got: %q\nwant: %q", r.Stderr, want)
		}

		// Signing by tag warns, as cosign does; by digest it does not.
		r = runToto(t, work, time.Minute, "image", "sign", "--key", "signer.key", reg.honest+"/app:release")
		wantCode(t, r, 0)
		contains(t, r.Stderr, fmt.Sprintf("%s/app:release → %s/app@%s\n", reg.honest, reg.honest, reg.unsigned))
		contains(t, r.Stderr, fmt.Sprintf(`toto: warning: %s/app was named by tag "release", not by digest`, reg.honest))
		r = runToto(t, work, time.Minute, "image", "sign", "--key", "signer.key", reg.honest+"/app@"+reg.unsigned.String())
		wantCode(t, r, 0)
		if r.Stderr != "" {
			t.Errorf("signing by digest: stderr %q", r.Stderr)
		}
	})
}

// Item 17: an output path planted as a link to /dev/null or a FIFO (or
// any non-regular file) is refused by name; a regular file is replaced.
func TestOutputPathNotRegular(t *testing.T) {
	work := t.TempDir()
	owner := newKey(t)
	writeFile(t, filepath.Join(work, "owner.key"), imgPrivatePEM(t, owner))
	payload, err := layout.Payload(buildLayout(t, 1, newKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(work, "root.layout"), payload)
	if err := os.Symlink(os.DevNull, filepath.Join(work, "null.layout")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(work, "fifo"), 0o644); err != nil {
		t.Skip("no FIFOs:", err)
	}
	if err := os.Symlink("fifo", filepath.Join(work, "fifo.layout")); err != nil {
		t.Fatal(err)
	}

	t.Run("library", func(t *testing.T) {
		for _, p := range []string{"null.layout", "fifo.layout", "fifo"} {
			path := filepath.Join(work, p)
			// Unfixed, a FIFO blocked Write forever: bound it.
			done := make(chan error, 1)
			go func() { done <- atomicfile.Write(path, []byte("x"), 0o644) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s: Write blocked", p)
			}
			var ne *atomicfile.NotRegularError
			if !errors.As(err, &ne) || !errors.Is(err, atomicfile.ErrNotRegular) || ne.Path != path {
				t.Errorf("%s: got %v, want a *atomicfile.NotRegularError naming it", p, err)
			}
		}
	})

	t.Run("cli", func(t *testing.T) {
		writeFile(t, filepath.Join(work, "old.layout"), []byte("old"))
		r := runToto(t, work, time.Minute, "sign", "--key", "owner.key", "root.layout", "-o", "old.layout")
		wantCode(t, r, 0)
		if _, err := envelope.Parse(readFile(t, filepath.Join(work, "old.layout"))); err != nil {
			t.Fatalf("control: the regular file was not replaced: %v", err)
		}
		for _, tc := range []struct{ out, what string }{
			{"null.layout", "a symbolic link"},
			{"fifo.layout", "a symbolic link"},
			{"fifo", "a named pipe"},
		} {
			r := runToto(t, work, 30*time.Second, "sign", "--key", "owner.key", "root.layout", "-o", tc.out)
			wantCode(t, r, 2)
			want := "toto: write " + tc.out + ": refusing to replace " + tc.what + "; remove it or choose another output path\n"
			if r.Stderr != want {
				t.Errorf("-o %s: stderr\n got: %q\nwant: %q", tc.out, r.Stderr, want)
			}
		}
		if st, err := os.Lstat(filepath.Join(work, "null.layout")); err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the planted link was replaced: %v %v", st.Mode(), err)
		}
	})
}

// Item 18: keyless identity and issuer regexps match the whole value, in
// the library (bundle.Policy, which image and attestation verification use)
// and so in the CLI: a pattern the real identity merely contains does not
// admit it.
func TestKeylessRegexpsAnchored(t *testing.T) {
	const (
		identity = "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
		issuer   = "https://token.actions.githubusercontent.com"
		digest   = "sha512:76176ffa33808b54602c7c35de5c6e9a4deb96066dba6533f50ac234f4f1f4c6b3527515dc17c06fbe2860030f410eee69ea20079bd3a2c6f3dcf3b329b10751"
	)
	bundlePath := corpus.Path(t, "sigstore-go", "bundle-provenance.json")
	rootPath := corpus.Path(t, "sigstore-go", "trusted-root-public-good.json")
	b, tr := readFile(t, bundlePath), readFile(t, rootPath)

	tests := []struct {
		name             string
		identity, issuer string // regexps
		wantErr          error
		wantMismatch     string // the sigstore-go mismatch message
	}{
		{name: "exact identity regexp", identity: `https://github\.com/sigstore/sigstore-js/\.github/workflows/release\.yml@refs/heads/main`, issuer: `https://token\.actions\.githubusercontent\.com`},
		{name: "identity prefix with .*", identity: `https://github\.com/sigstore/sigstore-js/.*`, issuer: `https://token\.actions\.githubusercontent\.com`},
		{name: "already anchored", identity: `^https://github\.com/sigstore/.*$`, issuer: `^https://token\.actions\.githubusercontent\.com$`},
		{
			name: "identity only contains the pattern", identity: `github\.com/sigstore/sigstore-js`, issuer: `https://token\.actions\.githubusercontent\.com`,
			wantErr:      bundle.ErrVerification,
			wantMismatch: `expected SAN value to match regex "^(?:github\.com/sigstore/sigstore-js)$", got "` + identity + `"`,
		},
		{
			name: "issuer only contains the pattern", identity: `https://github\.com/sigstore/sigstore-js/.*`, issuer: `githubusercontent\.com`,
			wantErr:      bundle.ErrVerification,
			wantMismatch: `expected issuer value to match regex "^(?:githubusercontent\.com)$", got "` + issuer + `"`,
		},
		{
			name: "pattern closing the anchor group", identity: `x)|(.*`, issuer: `https://token\.actions\.githubusercontent\.com`,
			wantErr: bundle.ErrPolicy,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := bundle.Verify(context.Background(), b, tr, bundle.Policy{IdentityRegexp: tc.identity, IssuerRegexp: tc.issuer, ArtifactDigest: digest})
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if res.Identity != identity {
					t.Errorf("identity %q", res.Identity)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
			if tc.wantMismatch != "" {
				var rm *verify.ErrValueRegexMismatch
				if !errors.As(err, &rm) {
					t.Fatalf("got %v, want a *verify.ErrValueRegexMismatch", err)
				}
				if rm.Error() != tc.wantMismatch {
					t.Errorf("\n got: %s\nwant: %s", rm, tc.wantMismatch)
				}
			}
		})
	}

	t.Run("cli", func(t *testing.T) {
		work := t.TempDir()
		args := func(idRe string) []string {
			return []string{"bundle", "verify", "--bundle", bundlePath, "--trusted-root", rootPath, "--artifact-digest", digest, "--identity-regexp", idRe, "--issuer", issuer}
		}
		wantCode(t, runToto(t, work, time.Minute, args(`https://github\.com/sigstore/sigstore-js/.*`)...), 0)
		r := runToto(t, work, time.Minute, args(`github\.com/sigstore/sigstore-js`)...)
		wantCode(t, r, 1)
		contains(t, r.Stdout+r.Stderr, `expected SAN value to match regex "^(?:github\.com/sigstore/sigstore-js)$"`)
		r = runToto(t, work, time.Minute, "bundle", "verify", "--help")
		contains(t, r.Stdout, "anchored as ^(?:RE)$")
		r = runToto(t, work, time.Minute, "image", "verify", "--help")
		contains(t, r.Stdout, "anchored as ^(?:RE)$")
	})
}
