//go:build interop

package simplesigning

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/containerspolicy"
	"github.com/toto-dev/toto/internal/oracle"
)

// containers/image's own fixtures (containerspolicy/testdata/upstream,
// copied from go.podman.io/image/v5) as dir: images — manifest.json and
// signature-1 — under a signedBy policy for the dir transport: skopeo copy
// (containers/image with gpgme) and toto's containerspolicy.Evaluate give
// the same verdict for every signature, the good, the expired, corrupt,
// unknown-key, revoked-subkey, cleartext, unsigned, encrypted, wrong
// identity and wrong digest ones — except a signature by a signing subkey,
// which skopeo 1.9.3 refuses and current containers/image and toto accept.
func TestUpstreamFixturesVerdicts(t *testing.T) {
	skopeo := oracle.Tool(t, "skopeo")
	fixtures, err := filepath.Abs("../../containerspolicy/testdata/upstream")
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(filepath.Join(fixtures, "image.manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	const (
		exactLatest = `{"type": "exactReference", "dockerReference": "testing/manifest:latest"}`
		exactRepo   = `{"type": "exactRepository", "dockerRepository": "testing/manifest"}`
	)
	for _, tc := range []struct {
		name, sig, key, identity string
		modified, want           bool
	}{
		{"valid", "dir-img-valid/signature-1", "public-key.gpg", exactLatest, false, true},
		{"valid-2", "dir-img-valid-2/signature-2", "public-key.gpg", exactLatest, false, true},
		{"valid, other tag", "dir-img-valid/signature-1", "public-key.gpg", `{"type": "exactReference", "dockerReference": "testing/manifest:notlatest"}`, false, false},
		{"valid, other repository", "dir-img-valid/signature-1", "public-key.gpg", `{"type": "exactRepository", "dockerRepository": "testing/other"}`, false, false},
		{"valid, modified manifest", "dir-img-valid/signature-1", "public-key.gpg", exactLatest, true, false},
		{"valid, other key", "dir-img-valid/signature-1", "public-key-2.gpg", exactLatest, false, false},
		{"name-only identity, exactRepository", "image.signature", "public-key.gpg", exactRepo, false, true},
		{"name-only identity, exactReference", "image.signature", "public-key.gpg", exactLatest, false, false},
		{"no optional fields", "no-optional-fields.signature", "public-key.gpg", exactRepo, false, true},
		// The one difference: skopeo 1.9.3's containers/image accepts only
		// the primary key's fingerprint ("Signature by key <subkey> is not
		// accepted"); current containers/image (v5.42.1, whose
		// TestPRSignedByIsRunningImageAllowed accepts dir-img-valid-subkey)
		// maps a signing subkey to its primary key, as toto does.
		{"subkey", "subkey.signature", "public-key-with-subkey.gpg", exactLatest, false, false},
		{"revoked subkey", "subkey-revoked.signature", "public-key-with-revoked-subkey.gpg", exactRepo, false, false},
		{"expired", "expired.signature", "public-key.gpg", exactRepo, false, false},
		{"corrupt", "corrupt.signature", "public-key.gpg", exactRepo, false, false},
		{"unknown key", "unknown-key.signature", "public-key.gpg", exactRepo, false, false},
		{"invalid blob", "invalid-blob.signature", "public-key.gpg", exactRepo, false, false},
		{"cleartext", "invalid-cleartext.signature", "public-key.gpg", exactRepo, false, false},
		{"invalid reference", "invalid-reference.signature", "public-key.gpg", exactRepo, false, false},
		{"unsigned literal", "unsigned-literal.signature", "public-key.gpg", exactRepo, false, false},
		{"unsigned encrypted", "unsigned-encrypted.signature", "public-key.gpg", exactRepo, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "src")
			m := manifest
			if tc.modified {
				m = append(append([]byte(nil), manifest...), '\n')
			}
			write(t, filepath.Join(src, "manifest.json"), string(m))
			write(t, filepath.Join(src, "version"), "Directory Transport Version: 1.1\n")
			sig, err := os.ReadFile(filepath.Join(fixtures, tc.sig))
			if err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(src, "signature-1"), string(sig))
			policyDoc := fmt.Sprintf(`{
  "default": [{"type": "reject"}],
  "transports": {
    "dir": {
      "": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": %q, "signedIdentity": %s}]
    }
  }
}`, filepath.Join(fixtures, tc.key), tc.identity)
			policyPath := write(t, filepath.Join(dir, "policy.json"), policyDoc)

			r := oracle.Run(t, dir, []string{"GNUPGHOME=" + t.TempDir()}, skopeo, "--policy", policyPath, "copy", "dir:"+src, "dir:"+filepath.Join(dir, "dst"))
			// Accepted images then fail on the fixture's missing blobs:
			// only "Source image rejected" is the policy's verdict.
			skopeoAccepts := !strings.Contains(r.Stderr, "Source image rejected")
			if skopeoAccepts != tc.want {
				t.Fatalf("skopeo accepts %v, the test expects %v: %s", skopeoAccepts, tc.want, r.Stderr)
			}

			p, err := containerspolicy.Parse([]byte(policyDoc))
			if err != nil {
				t.Fatal(err)
			}
			img, err := containerspolicy.LayoutImage("dir", src)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(m)
			res := containerspolicy.Evaluate(p, p.LoadKeys(nil), img, "sha256:"+hex.EncodeToString(sum[:]), [][]byte{sig}, containerspolicy.Options{})
			totoWant := skopeoAccepts || tc.name == "subkey"
			if res.Allowed != totoWant {
				t.Errorf("toto allows %v, skopeo %v: toto %v; skopeo %s", res.Allowed, skopeoAccepts, res.Requirements[0].Err, r.Stderr)
			}
			t.Logf("toto: %v | skopeo: %s", res.Requirements[0].Err, lastLine(r.Stderr))
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
