//go:build interop

package dctinterop

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/imagepolicy"
	"github.com/toto-dev/toto/internal/corpus"
)

// signerSecret writes a Portieris signer Secret (corpus shape: name, and
// publicKey a PEM PUBLIC KEY with a role header) for role's delegation
// key, as `docker trust key generate` writes it.
func (e *env) signerSecret(dir, secret, role string) {
	e.t.Helper()
	raw, err := os.ReadFile(filepath.Join(e.dir, "targets_"+role+".crt"))
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := pem.Decode(raw)
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		e.t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(cert.PublicKey)
	if err != nil {
		e.t.Fatal(err)
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Headers: map[string]string{"role": role}, Bytes: der})
	write(e.t, filepath.Join(dir, secret+".yaml"), []byte(fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\nstringData:\n  name: %s\n  publicKey: |\n    %s\n",
		secret, role, strings.ReplaceAll(strings.TrimSpace(string(pub)), "\n", "\n    "))))
}

// Portieris's trust policies from its e2e fixtures (pinned-signer1,
// pinned-signer2, pinned-multi, allow-signed-custom; the registry and
// trust server rewritten to loopback ones) over trust data the notary CLI
// published to notary-server: the signer secrets' keys must be the keys
// that signed the delegation, the signed digest must be the one the
// registry serves, and that digest is what the set returns. A toto
// document's dct requirement pins the root.
func TestPolicySetDCT(t *testing.T) {
	e := newEnv(t)
	e.delegate("targets/signer1")
	e.delegate("targets/signer2")
	d1, s1 := e.push("signed")
	e.sign("signed", d1, s1, "targets/signer1")
	dm, sm := e.push("multisigned")
	e.sign("multisigned", dm, sm, "targets/signer1", "targets/signer2")
	e.push("unsigned")
	dt, st := e.push("plain")
	e.sign("plain", dt, st)

	secrets := filepath.Join(e.dir, "secrets")
	if err := os.Mkdir(secrets, 0o755); err != nil {
		t.Fatal(err)
	}
	e.signerSecret(secrets, "signer1pubkey", "signer1")
	e.signerSecret(secrets, "signer2pubkey", "signer2")
	// A secret naming signer1 with signer2's key: the role signed, but
	// not with this key.
	e.signerSecret(secrets, "impostor", "signer2")
	data, _ := os.ReadFile(filepath.Join(secrets, "impostor.yaml"))
	write(t, filepath.Join(secrets, "impostor.yaml"), []byte(strings.Replace(string(data), "  name: signer2\n", "  name: signer1\n", 1)))

	set := func(file, rewrite string) *imagepolicy.Set {
		d := t.TempDir()
		raw, err := os.ReadFile(corpus.Path(t, "portieris", "test", "e2e", "testdata", "imagepolicy", file))
		if err != nil {
			t.Fatal(err)
		}
		doc := strings.ReplaceAll(string(raw), "de.icr.io/testing-authn/nginx", e.repo)
		doc = strings.ReplaceAll(doc, "https://notary.de.icr.io", e.server)
		if rewrite != "" {
			doc = strings.ReplaceAll(doc, "signer1pubkey", rewrite)
		}
		write(t, filepath.Join(d, file), []byte(doc))
		s, err := imagepolicy.LoadSet(d, imagepolicy.SetOptions{SecretsDir: secrets})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tc := range []struct {
		policy, rewrite, tag string
		digest               string // "" = denied
		reason               string
	}{
		{"pinned-signer1.yaml", "", "signed", d1, ""},
		{"pinned-signer2.yaml", "", "signed", "", "targets/signer2 did not sign"},
		{"pinned-multi.yaml", "", "signed", "", "targets/signer2 did not sign"},
		{"pinned-multi.yaml", "", "multisigned", dm, ""},
		{"pinned-signer1.yaml", "impostor", "signed", "", "not by the key of signer secret impostor"},
		{"allow-signed-custom.yaml", "", "plain", dt, ""},
		{"allow-signed-custom.yaml", "", "unsigned", "", "not signed"},
		{"pinned-signer1.yaml", "", "plain", "", "targets/signer1 did not sign"},
	} {
		t.Run(tc.policy+" "+tc.rewrite+" "+tc.tag, func(t *testing.T) {
			res, err := set(tc.policy, tc.rewrite).Evaluate(ctx, "default", e.repo+":"+tc.tag)
			if err != nil {
				t.Fatal(err)
			}
			if tc.digest == "" {
				if res.Decision.Allowed() || !strings.Contains(res.Err().Error(), tc.reason) || !strings.Contains(res.Err().Error(), "ImagePolicy default/") {
					t.Fatalf("want denied with %q: %v", tc.reason, res.Err())
				}
				t.Log(res.Err())
				return
			}
			if res.Err() != nil || res.Digest != tc.digest || res.Pinned != e.repo+"@"+tc.digest || !res.Mutate {
				t.Fatalf("want %s: %+v %v", tc.digest, res, res.Err())
			}
		})
	}

	// Named by digest (as pods are after admission pinned them): allowed
	// when a tag is signed as that digest.
	custom := set("allow-signed-custom.yaml", "")
	res, err := custom.Evaluate(ctx, "default", e.repo+"@"+dt)
	if err != nil || res.Err() != nil || res.Digest != dt {
		t.Fatalf("by signed digest: %v %v", err, res.Err())
	}
	unsigned, _ := e.push("unsigned2")
	res, err = custom.Evaluate(ctx, "default", e.repo+"@"+unsigned)
	if err != nil || res.Decision.Allowed() || !strings.Contains(res.Err().Error(), "no tag of its trust data") {
		t.Fatalf("by unsigned digest: %v %v", err, res.Err())
	}

	// The tag moves to an unsigned image: the trust data signs the old
	// digest, the registry serves the new one, and the set says which.
	moved, _ := e.push("signed")
	res, err = set("pinned-signer1.yaml", "").Evaluate(ctx, "default", e.repo+":signed")
	if err != nil || res.Decision.Allowed() || res.Digest != moved || !strings.Contains(res.Err().Error(), "resolves to "+moved) {
		t.Fatalf("moved tag: %v %+v %v", err, res, res.Err())
	}

	// A toto document: dct with the root pinned, signer1 required; it pins
	// the image by default (mutateImage absent).
	d := t.TempDir()
	write(t, filepath.Join(d, "root.pem"), e.rootCert())
	write(t, filepath.Join(d, "policy.yaml"), []byte(fmt.Sprintf(`rules:
  - images: ["%s"]
    require: {dct: {server: %q, rootCert: root.pem, signers: [signer1]}}
`, e.repo, e.server)))
	s, err := imagepolicy.LoadSet(d, imagepolicy.SetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err = s.Evaluate(ctx, "any", e.repo+":multisigned")
	if err != nil || res.Err() != nil || res.Digest != dm || !res.Mutate {
		t.Fatalf("toto dct: %v %+v %v", err, res, res.Err())
	}
}
