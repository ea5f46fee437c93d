//go:build interop

package simplesigning

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/toto-dev/toto/internal/oracle"
	"github.com/toto-dev/toto/simplesigning"
)

// gpgHome is a fresh GnuPG home with one unprotected signing key of the
// given type, as a user would make with gpg --gen-key; it returns the
// home's environment and the key's fingerprint.
func gpgHome(t *testing.T, keyParams string) ([]string, string) {
	t.Helper()
	home, err := os.MkdirTemp("", "gpg") // short: gpg-agent's socket path is bounded
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		oracle.Run(t, "", []string{"GNUPGHOME=" + home}, oracle.Tool(t, "gpgconf"), "--kill", "gpg-agent")
		os.RemoveAll(home)
	})
	os.Chmod(home, 0o700)
	env := []string{"GNUPGHOME=" + home}
	params := filepath.Join(home, "params")
	if err := os.WriteFile(params, []byte("%no-protection\n"+keyParams+"Name-Real: Test Signer\nName-Email: signer@example.com\nExpire-Date: 0\n%commit\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gpg := oracle.Tool(t, "gpg")
	oracle.MustRun(t, home, env, gpg, "--batch", "--gen-key", params)
	out := oracle.MustRun(t, home, env, gpg, "--list-keys", "--with-colons")
	for _, line := range strings.Split(out.Stdout, "\n") {
		if f := strings.Split(line, ":"); len(f) > 9 && f[0] == "fpr" {
			return env, f[9]
		}
	}
	t.Fatalf("no fingerprint in %s", out.Stdout)
	return nil, ""
}

// exported reads the key gpg made, public or secret, as toto would from a
// file the user exported.
func exported(t *testing.T, env []string, secret bool) openpgp.EntityList {
	t.Helper()
	args := []string{"--export", "--armor"}
	if secret {
		args = []string{"--export-secret-keys"} // binary, the other form
	}
	out := oracle.MustRun(t, "", env, oracle.Tool(t, "gpg"), append([]string{"--batch"}, args...)...)
	el, err := simplesigning.ReadKeyring([]byte(out.Stdout))
	if err != nil {
		t.Fatal(err)
	}
	return el
}

const manifest = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`

var keyTypes = map[string]string{
	"ed25519": "Key-Type: eddsa\nKey-Curve: ed25519\nKey-Usage: sign\n",
	"rsa":     "Key-Type: RSA\nKey-Length: 3072\nKey-Usage: sign\n",
}

// skopeo standalone-sign (containers/image with gpgme) → toto verifies;
// toto signs → skopeo standalone-verify accepts, and refuses it for
// another reference.
func TestSkopeoStandalone(t *testing.T) {
	skopeo := oracle.Tool(t, "skopeo")
	sum := sha256.Sum256([]byte(manifest))
	digest := "sha256:" + hex.EncodeToString(sum[:])
	for name, params := range keyTypes {
		t.Run(name, func(t *testing.T) {
			env, fpr := gpgHome(t, params)
			dir := t.TempDir()
			mf := filepath.Join(dir, "manifest.json")
			if err := os.WriteFile(mf, []byte(manifest), 0o644); err != nil {
				t.Fatal(err)
			}
			const ref = "registry.example/app:1.4"

			t.Run("skopeo signs, toto verifies", func(t *testing.T) {
				sigPath := filepath.Join(dir, "skopeo.sig")
				oracle.MustRun(t, dir, env, skopeo, "standalone-sign", mf, ref, fpr, "-o", sigPath)
				sig, err := os.ReadFile(sigPath)
				if err != nil {
					t.Fatal(err)
				}
				v, err := simplesigning.Verify(sig, exported(t, env, false), simplesigning.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if v.Fingerprint != fpr {
					t.Errorf("signed by %s, gpg says %s", v.Fingerprint, fpr)
				}
				p, err := simplesigning.ParsePayload(v.Payload)
				if err != nil {
					t.Fatal(err)
				}
				if p.DockerReference != ref || p.CheckDigest(digest) != nil {
					t.Errorf("payload %+v, want %s @ %s", p, ref, digest)
				}
				// Another key's keyring does not accept it.
				otherEnv, _ := gpgHome(t, params)
				if _, err := simplesigning.Verify(sig, exported(t, otherEnv, false), simplesigning.Options{}); !errors.Is(err, simplesigning.ErrUnknownKey) {
					t.Errorf("another keyring: %v, want ErrUnknownKey", err)
				}
			})

			t.Run("toto signs, skopeo verifies", func(t *testing.T) {
				secret := exported(t, env, true)
				payload, err := (&simplesigning.Payload{DockerReference: ref, ManifestDigest: digest, Creator: "toto"}).MarshalJSON()
				if err != nil {
					t.Fatal(err)
				}
				sig, err := simplesigning.Sign(payload, secret[0], simplesigning.Options{})
				if err != nil {
					t.Fatal(err)
				}
				sigPath := filepath.Join(dir, "toto.sig")
				if err := os.WriteFile(sigPath, sig, 0o644); err != nil {
					t.Fatal(err)
				}
				out := oracle.MustRun(t, dir, env, skopeo, "standalone-verify", mf, ref, fpr, sigPath)
				if !strings.Contains(out.Stdout, "Signature verified") || !strings.Contains(out.Stdout, digest) {
					t.Errorf("skopeo: %s", out.Stdout)
				}
				bad := oracle.Run(t, dir, env, skopeo, "standalone-verify", mf, "registry.example/other:1", fpr, sigPath)
				if bad.Err == nil {
					t.Errorf("skopeo accepted the signature for another reference: %s", bad.Stdout)
				}
			})
		})
	}
}
