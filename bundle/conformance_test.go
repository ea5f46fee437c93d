package bundle_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/bundle"
	"github.com/toto-dev/toto/internal/corpus"
	"github.com/toto-dev/toto/keys"
)

// Defaults of the sigstore-conformance bundle-verify suite (its README).
const (
	conformanceIdentity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
	conformanceIssuer   = "https://token.actions.githubusercontent.com"
)

// conformanceSkips lists the cases toto cannot judge offline with
// sigstore-go v1.3.0, with the reason. Every other case must give the
// verdict its folder name states.
var conformanceSkips = map[string]string{
	// The case uses the live public-good trusted root (fetched over TUF).
	// Its RFC 3161 timestamp comes from a TSA certificate newer than the
	// stored public-good root (sigstore-go examples), which therefore cannot
	// verify it; toto fetches nothing, so the case cannot be judged here.
	"managed-key-happy-path": "RFC 3161 timestamp from a TSA newer than the stored public-good trusted root; needs the live TUF root",
}

func readOptional(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConformanceBundleVerify(t *testing.T) {
	dir := corpus.Path(t, "sigstore-conformance", "bundle-verify")
	publicGood, err := os.ReadFile(corpus.Path(t, "sigstore-go", "trusted-root-public-good.json"))
	if err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("no sigstore-conformance bundle-verify cases: %v", err)
	}
	var pass, fail, skipped int
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		c := filepath.Join(dir, name)
		wantFail := strings.HasSuffix(name, "_fail")
		t.Run(name, func(t *testing.T) {
			if why, ok := conformanceSkips[name]; ok {
				skipped++
				t.Skip(why)
			}
			b := readOptional(t, filepath.Join(c, "bundle.sigstore.json"))
			tr := readOptional(t, filepath.Join(c, "trusted_root.json"))
			if tr == nil {
				tr = publicGood
			}
			artifact := readOptional(t, filepath.Join(c, "artifact"))
			if artifact == nil {
				artifact = readOptional(t, filepath.Join(dir, "a.txt"))
			}
			p := bundle.Policy{Artifact: bytes.NewReader(artifact)}
			if kp := filepath.Join(c, "key.pub"); readOptional(t, kp) != nil {
				k, err := keys.Load(kp)
				if err != nil {
					// An unusable key is a failed verification.
					if !wantFail {
						fail++
						t.Fatalf("must verify, but the key does not load: %v", err)
					}
					t.Logf("verdict ok: %v", err)
					pass++
					return
				}
				p.Keys = []*keys.Key{k}
			} else {
				p.Identity, p.Issuer = conformanceIdentity, conformanceIssuer
				if id := readOptional(t, filepath.Join(c, "identity")); id != nil {
					p.Identity = strings.TrimSpace(string(id))
				}
				if is := readOptional(t, filepath.Join(c, "issuer")); is != nil {
					p.Issuer = strings.TrimSpace(string(is))
				}
			}
			_, err := bundle.Verify(context.Background(), b, tr, p)
			if wantFail && err == nil {
				fail++
				t.Errorf("verified, but the case must fail")
				return
			}
			if !wantFail && err != nil {
				fail++
				t.Errorf("must verify: %v", err)
				return
			}
			if wantFail && errors.Is(err, bundle.ErrPolicy) {
				t.Logf("failed with a policy error (still a failure): %v", err)
			}
			t.Logf("verdict ok: %v", err)
			pass++
		})
	}
	t.Logf("sigstore-conformance bundle-verify: %d pass, %d fail, %d skipped", pass, fail, skipped)
}
