//go:build interop

package notation

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	notationgo "github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/registry"
	"github.com/notaryproject/notation-go/signer"
	"github.com/notaryproject/notation-go/verifier"
	orasremote "oras.land/oras-go/v2/registry/remote"

	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/internal/oracle"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/notation"
	"github.com/toto-dev/toto/notation/notationtest"
)

var ctx = context.Background()

// push writes a random image to host/repo:latest and returns its
// reference by digest.
func push(t *testing.T, host, repo string) string {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host + "/" + repo + ":latest")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return host + "/" + repo + "@" + d.String()
}

func open(t *testing.T, ref string) *image.Target {
	t.Helper()
	tg, err := image.Open(ctx, ref, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// orasRepo is notation-go's repository over oras-go's registry client, as
// the notation CLI builds it for a plain-HTTP registry: oras finds the
// registry has no referrers API and uses the sha256-HEX tag.
func orasRepo(t *testing.T, ref string) registry.Repository {
	t.Helper()
	repoName, _, _ := strings.Cut(ref, "@")
	r, err := orasremote.NewRepository(repoName)
	if err != nil {
		t.Fatal(err)
	}
	r.PlainHTTP = true
	return registry.NewRepository(r)
}

// oracleVerify runs notation-go's verifier.New + notation.Verify, as
// notation verify does.
func oracleVerify(t *testing.T, e *notationtest.Env, repo registry.Repository, ref string) error {
	t.Helper()
	v, err := verifier.New(e.Policy.Document(), e.Store, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = notationgo.Verify(ctx, v, repo, notationgo.VerifyOptions{ArtifactReference: ref, MaxSignatureAttempts: 50})
	return err
}

// oracleSign signs with notation-go's generic signer through repo.
func oracleSign(t *testing.T, e *notationtest.Env, repo registry.Repository, digest, mediaType string, so notationgo.SignerSignOptions) {
	t.Helper()
	s, err := signer.NewGenericSigner(e.Certs.Key, e.Certs.Chain())
	if err != nil {
		t.Fatal(err)
	}
	so.SignatureMediaType = mediaType
	if _, err := notationgo.Sign(ctx, s, repo, notationgo.SignOptions{SignerSignOptions: so, ArtifactReference: digest}); err != nil {
		t.Fatal(err)
	}
}

func verified(t *testing.T, tg *image.Target, opts notation.VerifyOptions) *notation.Report {
	t.Helper()
	r, err := notation.Verify(ctx, tg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if d := r.Decision(); !r.OK() || !d.Allowed() {
		j, _ := json.MarshalIndent(r, "", "  ")
		t.Fatalf("toto does not verify %s: %v\n%s", tg, r.Err(), j)
	}
	return r
}

// fallbackTag reads the sha256-HEX index of a registry without the
// referrers API and returns the artifact types it lists.
func fallbackTag(t *testing.T, ref string) []string {
	t.Helper()
	i := strings.LastIndex(ref, "@")
	tag, err := name.ParseReference(ref[:i] + ":" + strings.Replace(ref[i+1:], ":", "-", 1))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(tag)
	if err != nil {
		t.Fatalf("no referrers tag: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, m := range im.Manifests {
		types = append(types, m.ArtifactType)
	}
	return types
}

// TestRegistryTotoToNotation: toto signs (JWS and COSE) on distribution
// 2.8; notation-go's own repository, verifier.New and notation.Verify
// accept each, and the signatures sit in the sha256-HEX index.
func TestRegistryTotoToNotation(t *testing.T) {
	host := oracle.Registry(t)
	for _, env := range []notation.Envelope{notation.JWS, notation.COSE} {
		t.Run(string(env), func(t *testing.T) {
			e := notationtest.New(t, notationtest.Options{})
			ref := push(t, host, "toto-"+string(env))
			tg := open(t, ref)
			if _, err := notation.Sign(ctx, tg, e.Certs.Key, e.Certs.Chain(), notation.SignOptions{Envelope: env}); err != nil {
				t.Fatal(err)
			}
			if got := fallbackTag(t, ref); len(got) != 1 || got[0] != notation.ArtifactType {
				t.Errorf("sha256-HEX index lists %v", got)
			}
			if err := oracleVerify(t, e, orasRepo(t, ref), ref); err != nil {
				t.Fatalf("notation-go refuses toto's signature: %v", err)
			}
			verified(t, open(t, ref), e.VerifyOptions())
			// A policy trusting another CA: both refuse it.
			other := notationtest.New(t, notationtest.Options{})
			if err := oracleVerify(t, other, orasRepo(t, ref), ref); err == nil {
				t.Error("notation-go verified with another CA")
			}
			if r, _ := notation.Verify(ctx, tg, other.VerifyOptions()); r == nil || r.OK() {
				t.Error("toto verified with another CA")
			}
		})
	}
}

// TestRegistryNotationToToto: notation-go signs through oras (which
// writes the sha256-HEX index itself) and toto verifies.
func TestRegistryNotationToToto(t *testing.T) {
	host := oracle.Registry(t)
	for _, mt := range []string{notation.MediaTypeJWS, notation.MediaTypeCOSE} {
		t.Run(mt, func(t *testing.T) {
			e := notationtest.New(t, notationtest.Options{})
			ref := push(t, host, "notation-"+strings.NewReplacer("/", "-", "+", "-").Replace(mt))
			oracleSign(t, e, orasRepo(t, ref), ref[strings.LastIndex(ref, "@")+1:], mt, notationgo.SignerSignOptions{ExpiryDuration: time.Hour})
			r := verified(t, open(t, ref), e.VerifyOptions())
			if len(r.Signatures) != 1 || r.Signatures[0].MediaType != mt || r.Signatures[0].Expiry == nil {
				t.Errorf("report %+v", r.Signatures)
			}
		})
	}
}

// TestLayoutBothWays: the same on an OCI layout, with notation-go's OCI
// repository (oras' oci.Store).
func TestLayoutBothWays(t *testing.T) {
	e := notationtest.New(t, notationtest.Options{})
	dir := notationtest.Layout(t, "app")
	tg := open(t, image.LayoutPrefix+dir)
	if _, err := notation.Sign(ctx, tg, e.Certs.Key, e.Certs.Chain(), notation.SignOptions{Envelope: notation.COSE}); err != nil {
		t.Fatal(err)
	}
	repo, err := registry.NewOCIRepository(dir, registry.RepositoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scoped := notation.LocalScope(dir) + "@" + tg.Digest()
	if err := oracleVerify(t, e, repo, scoped); err != nil {
		t.Fatalf("notation-go refuses toto's layout signature: %v", err)
	}
	oracleSign(t, e, repo, tg.Digest(), notation.MediaTypeJWS, notationgo.SignerSignOptions{})
	r := verified(t, open(t, image.LayoutPrefix+dir), e.VerifyOptions())
	if len(r.Signatures) != 2 || !r.Signatures[0].Verified || !r.Signatures[1].Verified {
		t.Fatalf("both signatures should verify: %+v", r.Signatures)
	}
}

// TestCosignAndNotationSideBySide: on distribution 2.8, toto image sign
// (a cosign bundle) and a notation signature share the sha256-HEX index;
// toto image verify, toto's notation verify, notation-go and cosign v3
// each find and verify theirs.
func TestCosignAndNotationSideBySide(t *testing.T) {
	host := oracle.Registry(t)
	e := notationtest.New(t, notationtest.Options{})
	ref := push(t, host, "both")
	k, err := keys.Generate("ecdsa", keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tg := open(t, ref)
	if _, err := image.Sign(ctx, tg, k, image.SignOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := notation.Sign(ctx, tg, e.Certs.Key, e.Certs.Chain(), notation.SignOptions{}); err != nil {
		t.Fatal(err)
	}
	// notation-go signs too, through oras' read-modify-write of the index.
	oracleSign(t, e, orasRepo(t, ref), tg.Digest(), notation.MediaTypeCOSE, notationgo.SignerSignOptions{})
	types := fallbackTag(t, ref)
	count := map[string]int{}
	for _, at := range types {
		count[at]++
	}
	if count[image.ArtifactTypeBundle] != 1 || count[notation.ArtifactType] != 2 {
		t.Fatalf("sha256-HEX index lists %v", types)
	}
	rep, err := image.Verify(ctx, open(t, ref), image.VerifyOptions{Keys: []*keys.Key{k.Public()}})
	if err != nil || !rep.OK() {
		t.Fatalf("toto image verify: %v %v", err, rep)
	}
	r := verified(t, open(t, ref), e.VerifyOptions())
	if len(r.Signatures) != 2 {
		t.Errorf("notation signatures: %+v", r.Signatures)
	}
	if err := oracleVerify(t, e, orasRepo(t, ref), ref); err != nil {
		t.Errorf("notation-go beside a cosign bundle: %v", err)
	}
	// cosign v3 verifies the bundle with the notation signatures listed
	// beside it.
	dir := t.TempDir()
	pub, err := k.MarshalPEM(false)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "toto.pub"), pub, 0o644)
	out := oracle.MustRun(t, dir, nil, oracle.Tool(t, oracle.CosignV3), "verify", "--key", "toto.pub", "--insecure-ignore-tlog",
		"--allow-insecure-registry", "--allow-http-registry", ref)
	if !strings.Contains(out.Stdout, tg.Digest()) {
		t.Errorf("cosign verify: %s", out.Stdout)
	}
	// The decisions combine.
	d1, d2 := rep.Decision(), r.Decision()
	if !d1.Allowed() || !d2.Allowed() {
		t.Errorf("decisions: %v %v", d1.Err(), d2.Err())
	}
}

// tsaRoot fetches the TSA's chain and returns its root, PEM.
func tsaRoot(t *testing.T, tsa *oracle.TSA) []byte {
	t.Helper()
	resp, err := http.Get(tsa.CertChainURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := notation.ParseCertificates(raw)
	if err != nil || len(certs) == 0 {
		t.Fatalf("TSA chain: %v", err)
	}
	root := certs[len(certs)-1]
	return notation.CertificatesPEM(root)
}

// TestTimestamped: toto signs with an RFC 3161 timestamp from the real
// sigstore timestamp-authority (chain in the response); toto and
// notation-go verify it with the TSA root in a tsa trust store. A leaf
// that has expired since verifies with the timestamp and fails without
// one.
func TestTimestamped(t *testing.T) {
	tsa := oracle.TimestampAuthority(t)
	rootPEM := tsaRoot(t, tsa)
	host := oracle.Registry(t)
	roots, _ := notation.ParseCertificates(rootPEM)

	for _, env := range []notation.Envelope{notation.JWS, notation.COSE} {
		t.Run(string(env), func(t *testing.T) {
			e := notationtest.New(t, notationtest.Options{TSARootPEM: rootPEM})
			ref := push(t, host, "ts-"+string(env))
			tg := open(t, ref)
			s, err := notation.Sign(ctx, tg, e.Certs.Key, e.Certs.Chain(), notation.SignOptions{Envelope: env, TSAURL: tsa.URL, TSARoots: roots})
			if err != nil {
				t.Fatal(err)
			}
			if !s.Timestamped {
				t.Error("not timestamped")
			}
			r := verified(t, open(t, ref), e.VerifyOptions())
			if !r.Signatures[0].Timestamped {
				t.Error("report: not timestamped")
			}
			if err := oracleVerify(t, e, orasRepo(t, ref), ref); err != nil {
				t.Fatalf("notation-go refuses the timestamped signature: %v", err)
			}
		})
	}

	t.Run("expired leaf", func(t *testing.T) {
		e := notationtest.New(t, notationtest.Options{TSARootPEM: rootPEM, Certificates: notation.CertificateOptions{
			NotBefore: time.Now().Add(-2 * time.Second), Validity: 6 * time.Second,
		}})
		withTS := push(t, host, "expired-ts")
		withoutTS := push(t, host, "expired-nots")
		if _, err := notation.Sign(ctx, open(t, withTS), e.Certs.Key, e.Certs.Chain(), notation.SignOptions{TSAURL: tsa.URL, TSARoots: roots}); err != nil {
			t.Fatal(err)
		}
		if _, err := notation.Sign(ctx, open(t, withoutTS), e.Certs.Key, e.Certs.Chain(), notation.SignOptions{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(e.Certs.Leaf.NotAfter.Add(1500 * time.Millisecond)))
		r := verified(t, open(t, withTS), e.VerifyOptions())
		if c := check(r.Signatures[0], "authenticTimestamp"); c.Outcome != notation.Passed {
			t.Errorf("with timestamp: %+v", c)
		}
		if err := oracleVerify(t, e, orasRepo(t, withTS), withTS); err != nil {
			t.Errorf("notation-go, expired leaf with timestamp: %v", err)
		}
		r, err := notation.Verify(ctx, open(t, withoutTS), e.VerifyOptions())
		if err != nil {
			t.Fatal(err)
		}
		c := check(r.Signatures[0], "authenticTimestamp")
		if r.OK() || c.Outcome != notation.Failed || !strings.Contains(c.Reason, "no timestamp countersignature") {
			t.Errorf("without timestamp: ok %v %+v", r.OK(), c)
		}
		if err := oracleVerify(t, e, orasRepo(t, withoutTS), withoutTS); err == nil {
			t.Error("notation-go verified an expired leaf without a timestamp")
		}
		// Signing with the expired leaf is refused up front.
		_, err = notation.Sign(ctx, open(t, withTS), e.Certs.Key, e.Certs.Chain(), notation.SignOptions{})
		if !errors.Is(err, notation.ErrCertificate) {
			t.Errorf("signing with an expired leaf: %v", err)
		}
	})
}

func check(s notation.SignatureResult, typ string) notation.Check {
	for _, c := range s.Checks {
		if c.Type == typ {
			return c
		}
	}
	return notation.Check{}
}

// moduleDir finds a module's folder in the module cache.
func moduleDir(t *testing.T, mod string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", mod).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", mod, err)
	}
	return strings.TrimSpace(string(out))
}
