package admission_test

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/internal/oracle"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/notation"
	"github.com/toto-dev/toto/notation/notationtest"
)

// registryFixture is a real registry (Debian's docker-registry, on
// loopback) holding images signed in different ways, and a folder with
// the keys and trust material a policy names.
//
//	app:signed     Sigstore bundle by release.pub (a cosign-format ECDSA P-256 key)
//	app:other      Sigstore bundle by other.pub
//	app:unsigned   no signature
//	app:notation   Notary Project signature (JWS) by the notation test CA's signer
type registryFixture struct {
	host string
	dir  string // policy folder: release.pub, other.pub, notation/...
	// digest of each tag
	digest  map[string]string
	signers map[string]*keys.Key
}

func newRegistryFixture(t testing.TB) *registryFixture {
	t.Helper()
	needRegistry(t)
	ctx := context.Background()
	f := &registryFixture{host: oracle.Registry(t), dir: t.TempDir(), digest: map[string]string{}}
	signers := map[string]*keys.Key{}
	f.signers = signers
	for _, n := range []string{"release", "other"} {
		k, err := keys.Generate(keys.ECDSA, keys.GenerateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pub, err := k.MarshalPEM(false)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(f.dir, n+".pub"), pub)
		signers[n] = k
	}
	ntn := notationtest.New(t, notationtest.Options{})
	for _, n := range []string{"trustpolicy.json"} {
		data, err := os.ReadFile(filepath.Join(ntn.Dir, n))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(f.dir, "notation", n), data)
	}
	writeFile(t, filepath.Join(f.dir, "notation", "truststore", "x509", "ca", "toto", "ca.pem"), ntn.Certs.CAPEM())

	for _, tag := range []string{"signed", "other", "unsigned", "notation"} {
		ref := f.ref(tag)
		img, err := random.Image(512, 1)
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
		tg, err := image.Open(ctx, ref, image.Options{})
		if err != nil {
			t.Fatal(err)
		}
		f.digest[tag] = tg.Digest()
		switch tag {
		case "signed":
			_, err = image.Sign(ctx, tg, signers["release"], image.SignOptions{})
		case "other":
			_, err = image.Sign(ctx, tg, signers["other"], image.SignOptions{})
		case "notation":
			_, err = notation.Sign(ctx, tg, ntn.Certs.Key, []*x509.Certificate{ntn.Certs.Leaf, ntn.Certs.CA}, notation.SignOptions{})
		}
		if err != nil {
			t.Fatalf("sign %s: %v", ref, err)
		}
	}
	return f
}

func (f *registryFixture) ref(tag string) string { return f.host + "/app:" + tag }

// pinned is the image by digest, as the webhook should rewrite it.
func (f *registryFixture) pinned(tag string) string { return f.host + "/app@" + f.digest[tag] }

// writePolicy writes a policy document (HOST replaced by the registry's
// host) into the fixture's folder and returns its path.
func (f *registryFixture) writePolicy(t testing.TB, name, doc string) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	tmp := p + ".tmp"
	writeFile(t, tmp, []byte(strings.ReplaceAll(doc, "HOST", f.host)))
	// Renamed into place, as a ConfigMap update swaps files: a reader
	// never sees half a document.
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// releasePolicy admits the registry's images signed by release.pub and
// warns about a missing SBOM attestation; notation-signed images need
// the notation signature.
const releasePolicy = `
default: deny
mutateImage: true
rules:
  - images: ["HOST/*"]
    require:
      all:
        - name: release signature
          sigstore: {keys: [release.pub]}
        - name: SBOM attestation
          action: warn
          sigstore: {keys: [release.pub], predicateTypes: [spdxjson]}
  - images: ["HOST/app:notation", "HOST/app@*"]
    require:
      any:
        - name: release signature
          sigstore: {keys: [release.pub]}
        - name: notary project signature
          notation: {trustPolicy: notation/trustpolicy.json, trustStore: notation/truststore}
`

// otherPolicy admits only what other.pub signed.
const otherPolicy = `
default: deny
mutateImage: true
rules:
  - images: ["HOST/*"]
    require: {name: other signature, sigstore: {keys: [other.pub]}}
`
