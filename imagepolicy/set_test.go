package imagepolicy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/toto-dev/toto/imagepolicy"
	"github.com/toto-dev/toto/lookaside"
	"github.com/toto-dev/toto/simplesigning"
)

// simpleEnv is a registry on 127.0.0.1, OpenPGP keys as Kubernetes
// Secrets, and a lookaside directory toto's simple signing signer writes
// to, as skopeo would.
type simpleEnv struct {
	host, sigs, secrets, policies string
	keys                          map[string]*openpgp.Entity
}

func newSimpleEnv(t testing.TB) *simpleEnv {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	e := &simpleEnv{host: strings.TrimPrefix(srv.URL, "http://"), sigs: t.TempDir(), secrets: t.TempDir(), policies: t.TempDir(), keys: map[string]*openpgp.Entity{}}
	for _, n := range []string{"simple1pubkey", "simple2pubkey"} {
		k, err := simplesigning.GenerateKey(simplesigning.KeyOptions{Name: n, Email: n + "@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		e.keys[n] = k
		pub, err := simplesigning.ArmorPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		// The shape of the corpus's secret/simple1pubkey.yaml.
		doc := fmt.Sprintf("apiVersion: v1\nkind: Secret\ntype: Opaque\nmetadata:\n  name: %s\nstringData:\n  key: |\n    %s\n", n, strings.ReplaceAll(strings.TrimSpace(string(pub)), "\n", "\n    "))
		write(t, filepath.Join(e.secrets, n+".yaml"), doc)
	}
	return e
}

// push writes a new random image to repo:tag, returning its digest.
func (e *simpleEnv) push(t testing.TB, repoTag string) v1.Hash {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(e.host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d
}

// sign stores a simple signing signature by key over digest, claiming
// identity, in the lookaside under repo (the repository it is read for).
func (e *simpleEnv) sign(t testing.TB, key, repo, identity string, digest v1.Hash) {
	t.Helper()
	payload, err := (&simplesigning.Payload{DockerReference: e.host + "/" + identity, ManifestDigest: digest.String()}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := simplesigning.Sign(payload, e.keys[key], simplesigning.Options{})
	if err != nil {
		t.Fatal(err)
	}
	named, err := reference.ParseNormalizedNamed(e.host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	base, err := lookaside.RepositoryURL(&url.URL{Scheme: "file", Path: e.sigs}, named)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := lookaside.WriteNext(base, digest.String(), sig); err != nil {
		t.Fatal(err)
	}
}

// corpusPolicy copies a corpus policy into the env's policies, its
// icr.io registry rewritten to the loopback one and, since Portieris's
// fixtures rely on the registry's signature extension, the lookaside
// directory given as simple.storeURL.
func (e *simpleEnv) corpusPolicy(t testing.TB, f string) {
	t.Helper()
	sub, base, _ := strings.Cut(f, "/")
	data, err := os.ReadFile(filepath.Join(portierisDir(t, sub), base))
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.ReplaceAll(string(data), "icr.io/", e.host+"/")
	doc = strings.Replace(doc, "         simple:\n", "         simple:\n           storeURL: file://"+e.sigs+"\n", 1)
	write(t, filepath.Join(e.policies, sub+"-"+base), doc)
}

func (e *simpleEnv) set(t testing.TB) *imagepolicy.Set {
	t.Helper()
	s, err := imagepolicy.LoadSet(e.policies, imagepolicy.SetOptions{SecretsDir: e.secrets})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Portieris's simple-signedby1 (a ClusterImagePolicy, whose keySecret is
// read in the namespace being admitted, here "default") with signatures
// made by toto's simple signing signer: a signed tag is allowed, pinned
// to the digest the signature covers and mutated as Portieris does by
// default; an unsigned image, a signature by another key, and a tag moved
// to another image after signing are denied, naming image, policy and
// requirement.
func TestSetSimpleSigning(t *testing.T) {
	e := newSimpleEnv(t)
	e.corpusPolicy(t, "clusterimagepolicy/simple-signedby1.yaml")
	signed := e.push(t, "cise/nginx:signed")
	e.sign(t, "simple1pubkey", "cise/nginx", "cise/nginx:signed", signed)
	e.push(t, "cise/nginx:unsigned")
	other := e.push(t, "cise/nginx:other")
	e.sign(t, "simple2pubkey", "cise/nginx", "cise/nginx:other", other)
	s := e.set(t)
	ctx := context.Background()
	policy := "ClusterImagePolicy simple-signedby1 (repositories[0] " + e.host + "/cise/*)"

	res, err := s.Evaluate(ctx, "default", e.host+"/cise/nginx:signed")
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if res.Digest != signed.String() || res.Pinned != e.host+"/cise/nginx@"+signed.String() || !res.Mutate || res.Policy != policy {
		t.Fatalf("signed: %+v", res)
	}

	for _, tc := range []struct{ tag, reason string }{
		{"unsigned", "a signature was required"},
		{"other", "simple requirements[0] signedBy simple1pubkey"},
	} {
		res, err := s.Evaluate(ctx, "default", e.host+"/cise/nginx:"+tc.tag)
		if err != nil {
			t.Fatal(err)
		}
		msg := fmt.Sprint(res.Err())
		if res.Decision.Allowed() || !strings.Contains(msg, policy) || !strings.Contains(msg, "cise/nginx") || !strings.Contains(msg, tc.reason) {
			t.Errorf("%s: %s", tc.tag, msg)
		}
	}

	// The tag moves to another image after signing: the signature covers
	// the old digest, and the new one is what was resolved and checked.
	moved := e.push(t, "cise/nginx:signed")
	res, err = s.Evaluate(ctx, "default", e.host+"/cise/nginx:signed")
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision.Allowed() || res.Digest != moved.String() {
		t.Fatalf("moved tag: allowed %v digest %s (signed %s, now %s)", res.Decision.Allowed(), res.Digest, signed, moved)
	}
	// By digest, the signed image is still allowed (matchRepoDigestOrExact).
	res, err = s.Evaluate(ctx, "default", e.host+"/cise/nginx@"+signed.String())
	if err != nil || res.Err() != nil {
		t.Fatalf("by digest: %v %v", err, res.Err())
	}
}

// simple-signedby2 needs both keys; mutateImage false keeps the image as
// written.
func TestSetSimpleSigningTwoKeys(t *testing.T) {
	e := newSimpleEnv(t)
	e.corpusPolicy(t, "clusterimagepolicy/simple-signedby2-nomutate.yaml")
	d := e.push(t, "cise/app:1")
	e.sign(t, "simple1pubkey", "cise/app", "cise/app:1", d)
	s := e.set(t)
	res, err := s.Evaluate(context.Background(), "default", e.host+"/cise/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision.Allowed() || !strings.Contains(res.Err().Error(), "signedBy simple2pubkey") {
		t.Fatalf("one of two keys: %v", res.Err())
	}
	e.sign(t, "simple2pubkey", "cise/app", "cise/app:1", d)
	res, err = s.Evaluate(context.Background(), "default", e.host+"/cise/app:1")
	if err != nil || res.Err() != nil || res.Mutate {
		t.Fatalf("both keys: %v %v mutate %v", err, res.Err(), res.Mutate)
	}
}

// remapIdentity: an image mirrored under cise/remap keeps the signature
// made for cise.
func TestSetSimpleSigningRemap(t *testing.T) {
	e := newSimpleEnv(t)
	e.corpusPolicy(t, "imagepolicy/simple-remap.yaml")
	d := e.push(t, "cise/nginx:simple")
	ref, _ := name.ParseReference(e.host + "/cise/nginx:simple")
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	mirror, _ := name.ParseReference(e.host + "/cise/remap/nginx:simple")
	if err := remote.Write(mirror, img); err != nil {
		t.Fatal(err)
	}
	e.sign(t, "simple1pubkey", "cise/remap/nginx", "cise/nginx:simple", d)
	s := e.set(t)
	res, err := s.Evaluate(context.Background(), "default", e.host+"/cise/remap/nginx:simple")
	if err != nil || res.Err() != nil {
		t.Fatalf("remapped: %v %v", err, res.Err())
	}
	// Another namespace has no ImagePolicy and there is no cluster one.
	res, err = s.Evaluate(context.Background(), "prod", e.host+"/cise/remap/nginx:simple")
	if err != nil || !errors.Is(res.Err(), imagepolicy.ErrNoMatch) {
		t.Fatalf("other namespace: %v %v", err, res.Err())
	}
}

// keySecretNamespace reads the key from that namespace; without the
// secret there, the policy cannot be evaluated and the error says which
// secret is missing.
func TestSetSecretNamespace(t *testing.T) {
	e := newSimpleEnv(t)
	e.corpusPolicy(t, "clusterimagepolicy/simple-signedby1-keysecret-namespace-override.yaml")
	d := e.push(t, "cise/nginx:1")
	e.sign(t, "simple1pubkey", "cise/nginx", "cise/nginx:1", d)
	s := e.set(t)
	_, err := s.Evaluate(context.Background(), "prod", e.host+"/cise/nginx:1")
	if !errors.Is(err, imagepolicy.ErrSecret) || !strings.Contains(err.Error(), "secretnamespace/simple1pubkey") {
		t.Fatalf("missing secret: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(e.secrets, "simple1pubkey.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(e.secrets, "simple1pubkey.yaml"), strings.Replace(string(data), "  name: simple1pubkey\n", "  name: simple1pubkey\n  namespace: secretnamespace\n", 1))
	res, err := e.set(t).Evaluate(context.Background(), "prod", e.host+"/cise/nginx:1")
	if err != nil || res.Err() != nil {
		t.Fatalf("secret in its namespace: %v %v", err, res.Err())
	}
}

// A toto document with a simpleSigning requirement (key files, a lookaside
// directory, signedIdentity) beside Portieris documents; mutateImage on
// by default (the document does not say), turned off by a rule.
func TestSetTotoSimpleSigning(t *testing.T) {
	e := newSimpleEnv(t)
	pub, err := simplesigning.ArmorPublicKey(e.keys["simple2pubkey"])
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(e.policies, "release.gpg"), string(pub))
	write(t, filepath.Join(e.policies, "toto.yaml"), fmt.Sprintf(`
rules:
  - images: ["%[1]s/team/*"]
    require:
      name: release signature
      simpleSigning: {keys: [release.gpg], lookaside: %[2]s, signedIdentity: {type: matchRepository}}
  - images: ["%[1]s/team/tools/*"]
    mutateImage: false
    require:
      simpleSigning: {keys: [release.gpg], lookaside: %[2]s}
`, e.host, e.sigs))
	d := e.push(t, "team/app:2")
	// Signed as another tag of the repository: matchRepository accepts it.
	e.sign(t, "simple2pubkey", "team/app", "team/app:latest", d)
	s := e.set(t)
	res, err := s.Evaluate(context.Background(), "any", e.host+"/team/app:2")
	if err != nil || res.Err() != nil || !res.Mutate || res.Policy != "toto.yaml rules[0]" {
		t.Fatalf("toto simpleSigning: %v %v %+v", err, res.Err(), res)
	}
	td := e.push(t, "team/tools/x:1")
	e.sign(t, "simple2pubkey", "team/tools/x", "team/tools/x:1", td)
	res, err = s.Evaluate(context.Background(), "any", e.host+"/team/tools/x:1")
	if err != nil || res.Err() != nil || res.Mutate || res.Policy != "toto.yaml rules[1]" {
		t.Fatalf("rule override: %v %v %+v", err, res.Err(), res)
	}
	// Signed under another tag, matchRepoDigestOrExact (the default)
	// refuses it.
	e.sign(t, "simple2pubkey", "team/tools/x", "team/tools/x:9", e.push(t, "team/tools/x:2"))
	res, err = s.Evaluate(context.Background(), "any", e.host+"/team/tools/x:2")
	if err != nil || res.Decision.Allowed() || !strings.Contains(res.Err().Error(), "signed identity not accepted") {
		t.Fatalf("other identity: %v %v", err, res.Err())
	}
}

// Evaluate is safe for concurrent use and honours its context.
func TestSetConcurrentAndContext(t *testing.T) {
	e := newSimpleEnv(t)
	e.corpusPolicy(t, "clusterimagepolicy/simple-signedby1.yaml")
	good := e.push(t, "cise/a:1")
	e.sign(t, "simple1pubkey", "cise/a", "cise/a:1", good)
	e.push(t, "cise/b:1")
	s := e.set(t)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ref, want := e.host+"/cise/a:1", true
			if i%2 == 1 {
				ref, want = e.host+"/cise/b:1", false
			}
			res, err := s.Evaluate(context.Background(), "default", ref)
			if err != nil {
				errs <- err
				return
			}
			if res.Decision.Allowed() != want {
				errs <- fmt.Errorf("%s: allowed %v: %v", ref, !want, res.Err())
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Evaluate(ctx, "default", e.host+"/cise/a:1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// BenchmarkSetEvaluate: one admission decision for a simple-signed image
// (tag resolved in a loopback registry, one lookaside signature, Portieris
// ClusterImagePolicy with its key in a Secret), sequential and parallel.
func BenchmarkSetEvaluate(b *testing.B) {
	e := newSimpleEnv(b)
	e.corpusPolicy(b, "clusterimagepolicy/simple-signedby1.yaml")
	d := e.push(b, "cise/nginx:signed")
	e.sign(b, "simple1pubkey", "cise/nginx", "cise/nginx:signed", d)
	s, ref := e.set(b), e.host+"/cise/nginx:signed"
	b.ResetTimer()
	b.Run("sequential", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			res, err := s.Evaluate(context.Background(), "default", ref)
			if err != nil || res.Err() != nil {
				b.Fatal(err, res.Err())
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				res, err := s.Evaluate(context.Background(), "default", ref)
				if err != nil || res.Err() != nil {
					b.Error(err, res.Err())
					return
				}
			}
		})
	})
}

// A deadline stops an evaluation waiting on a registry or a notary server
// that does not answer: Evaluate returns the context's error, promptly.
func TestSetDeadline(t *testing.T) {
	e := newSimpleEnv(t)
	e.push(t, "team/app:1")
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(hang.Close)
	slowHost := strings.TrimPrefix(hang.URL, "http://")
	write(t, filepath.Join(e.policies, "p.yaml"), fmt.Sprintf(`rules:
  - images: ["%s/*"]
    require: {dct: {server: %q}}
  - images: ["%s/*"]
    require: {simpleSigning: {keys: [k.gpg], lookaside: %q}}
`, e.host, hang.URL, slowHost, hang.URL))
	pub, _ := simplesigning.ArmorPublicKey(e.keys["simple1pubkey"])
	write(t, filepath.Join(e.policies, "k.gpg"), string(pub))
	s := e.set(t)
	for _, ref := range []string{e.host + "/team/app:1", slowHost + "/team/app:1"} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		start := time.Now()
		_, err := s.Evaluate(ctx, "default", ref)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
			t.Errorf("%s: %v after %v", ref, err, time.Since(start))
		}
	}
}

// Toto documents' defaults in a set: a cluster document allowing by
// default admits what no rule matches, naming itself; a namespace's own
// document (deny by default) takes over for that namespace.
func TestSetDefaults(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "cluster.yaml"), "default: allow\nrules: []\n")
	write(t, filepath.Join(dir, "team.yaml"), "namespace: team\nrules: []\n")
	s, err := imagepolicy.LoadSet(dir, imagepolicy.SetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Evaluate(context.Background(), "other", "registry.example/x:1")
	if err != nil || res.Err() != nil || res.Policy != "cluster.yaml" {
		t.Fatalf("default allow: %v %v %q", err, res.Err(), res.Policy)
	}
	res, err = s.Evaluate(context.Background(), "team", "registry.example/x:1")
	if err != nil || !errors.Is(res.Err(), imagepolicy.ErrNoMatch) || !strings.Contains(res.Err().Error(), "namespace team") {
		t.Fatalf("namespace deny: %v %v", err, res.Err())
	}
	if got := s.Namespaces(); len(got) != 1 || got[0] != "team" {
		t.Errorf("namespaces %v", got)
	}
}
