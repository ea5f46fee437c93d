//go:build interop

package cosign

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/internal/oracle"
)

// Blob signatures and keys between toto and real cosign (issue 14 items
// 4-6): cosign sign-blob bundles verify in toto bundle verify (by artifact
// and by digest), toto bundle create bundles verify in cosign
// verify-blob-attestation, for ECDSA keys cosign generates and RSA keys it
// imports, and toto loads cosign's encrypted keys and writes the same
// public-key hint.

// blobRun runs toto in dir with extra environment and returns its output
// and exit code.
func blobRun(t *testing.T, dir string, env []string, args ...string) (string, string, int) {
	t.Helper()
	r := runToto(t, dir, env, args...)
	return r.Stdout, r.Stderr, r.Code
}

func blobMust(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	out, errOut, code := blobRun(t, dir, env, args...)
	if code != 0 {
		t.Fatalf("toto %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// blobPassword is the password of every cosign key made here.
const blobPassword = "blob-interop"

// minimalTrustedRoot lets cosign v2 read new-format bundles offline: it
// asks for a trusted root even when the tlog is ignored.
const minimalTrustedRoot = `{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`

// cosignKeys makes, in dir, the cosign key pairs of one cosign version:
// ecdsa.key/.pub by generate-key-pair and rsa.key/.pub by import-key-pair
// of an RSA key made by Go, all encrypted with blobPassword.
func cosignKeys(t *testing.T, version, dir string) []string {
	t.Helper()
	cosign := oracle.Tool(t, version)
	env := []string{"COSIGN_PASSWORD=" + blobPassword}
	oracle.MustRun(t, dir, env, cosign, "generate-key-pair", "--output-key-prefix", "ecdsa")
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(rk)
	os.WriteFile(filepath.Join(dir, "rsa-plain.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	oracle.MustRun(t, dir, env, cosign, "import-key-pair", "--key", "rsa-plain.pem", "--output-key-prefix", "rsa", "-y")
	return []string{"ecdsa", "rsa"}
}

func signBlobFlags(version string) []string {
	if version == oracle.CosignV3 {
		return []string{"--tlog-upload=false", "--use-signing-config=false", "-y"}
	}
	return []string{"--tlog-upload=false", "--new-bundle-format", "-y"}
}

func verifyBlobFlags(version string) []string {
	f := []string{"--insecure-ignore-tlog", "--trusted-root", "trusted_root.json"}
	if version == oracle.CosignV2 {
		f = append(f, "--new-bundle-format")
	}
	return f
}

// bundleHint reads verificationMaterial.publicKey.hint of a bundle file.
func bundleHint(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var probe struct {
		VerificationMaterial struct {
			PublicKey struct {
				Hint string `json:"hint"`
			} `json:"publicKey"`
		} `json:"verificationMaterial"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		t.Fatal(err)
	}
	return probe.VerificationMaterial.PublicKey.Hint
}

func TestCosignBlobInterop(t *testing.T) {
	for _, version := range []string{oracle.CosignV2, oracle.CosignV3} {
		t.Run(version, func(t *testing.T) {
			dir := t.TempDir()
			cosign := oracle.Tool(t, version)
			cenv := []string{"COSIGN_PASSWORD=" + blobPassword}
			os.WriteFile(filepath.Join(dir, "trusted_root.json"), []byte(minimalTrustedRoot), 0o644)
			artifact := []byte("release artifact\n")
			os.WriteFile(filepath.Join(dir, "app.txt"), artifact, 0o644)
			sum := sha256.Sum256(artifact)
			digest := "sha256:" + hex.EncodeToString(sum[:])
			stmt := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app.txt","digest":{"sha256":"` + hex.EncodeToString(sum[:]) + `"}}],"predicateType":"https://example.com/predicate/v1","predicate":{"built":true}}`
			os.WriteFile(filepath.Join(dir, "stmt.json"), []byte(stmt), 0o644)

			for _, name := range cosignKeys(t, version, dir) {
				t.Run(name, func(t *testing.T) {
					key, pub := name+".key", name+".pub"

					// cosign → toto: a sign-blob bundle verifies by
					// artifact and by digest; a wrong digest says so.
					cb := name + ".cosign.sigstore.json"
					oracle.MustRun(t, dir, cenv, cosign, append(append([]string{"sign-blob", "--key", key, "--bundle", cb}, signBlobFlags(version)...), "app.txt")...)
					blobMust(t, dir, nil, "bundle", "verify", "--bundle", cb, "--key", pub, "--artifact", "app.txt")
					blobMust(t, dir, nil, "bundle", "verify", "--bundle", cb, "--key", pub, "--artifact-digest", digest)
					wrong := "sha256:" + strings.Repeat("0", 64)
					_, errOut, code := blobRun(t, dir, nil, "bundle", "verify", "--bundle", cb, "--key", pub, "--artifact-digest", wrong)
					if code != 1 || !strings.Contains(errOut, "is not the digest the bundle signs") || strings.Contains(errOut, "no trusted key") {
						t.Errorf("wrong digest: exit %d: %s", code, errOut)
					}

					// toto loads cosign's encrypted key with the password
					// from either variable, and refuses a wrong one.
					var ids []string
					for _, env := range [][]string{{"TOTO_PASSWORD=" + blobPassword}, {"COSIGN_PASSWORD=" + blobPassword}, nil} {
						out := blobMust(t, dir, env, "key", "id", "--json", map[bool]string{true: key, false: pub}[env != nil])
						ids = append(ids, out)
					}
					for _, out := range ids {
						var rows []struct {
							KeyID string `json:"keyid"`
							Hint  string `json:"sigstore_hint"`
						}
						if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 {
							t.Fatalf("key id: %v %s", err, out)
						}
						// The hint toto prints is the one cosign wrote.
						if h := bundleHint(t, filepath.Join(dir, cb)); rows[0].Hint != h {
							t.Errorf("toto key id hint %q, cosign bundle hint %q", rows[0].Hint, h)
						}
					}
					_, errOut, code = blobRun(t, dir, []string{"TOTO_PASSWORD=wrong", "COSIGN_PASSWORD=" + blobPassword}, "key", "id", key)
					if code != 2 || !strings.Contains(errOut, "wrong password") || !strings.Contains(errOut, key) {
						t.Errorf("wrong TOTO_PASSWORD: exit %d: %s", code, errOut)
					}

					// toto → cosign: a bundle signed with cosign's own
					// (encrypted) key, and one with the plain PEM key for
					// RSA, verify in cosign verify-blob-attestation; the
					// hint is cosign's, byte for byte.
					tb := name + ".toto.sigstore.json"
					blobMust(t, dir, []string{"COSIGN_PASSWORD=" + blobPassword}, "bundle", "create", "--key", key, "--statement", "stmt.json", "-o", tb)
					if got, want := bundleHint(t, filepath.Join(dir, tb)), bundleHint(t, filepath.Join(dir, cb)); got != want {
						t.Errorf("toto's hint %q, cosign's %q", got, want)
					}
					verifyAtt := func(bundlePath string) {
						t.Helper()
						args := append([]string{"verify-blob-attestation", "--key", pub, "--bundle", bundlePath, "--type", "https://example.com/predicate/v1"}, verifyBlobFlags(version)...)
						oracle.MustRun(t, dir, nil, cosign, append(args, "app.txt")...)
					}
					verifyAtt(tb)
					if name == "rsa" {
						pb := "rsa-plain.toto.sigstore.json"
						blobMust(t, dir, nil, "bundle", "create", "--key", "rsa-plain.pem", "--statement", "stmt.json", "-o", pb)
						verifyAtt(pb)
						blobMust(t, dir, nil, "bundle", "verify", "--bundle", pb, "--key", pub, "--artifact", "app.txt")
					}
					// A tampered toto bundle is refused by cosign.
					raw, _ := os.ReadFile(filepath.Join(dir, tb))
					var m map[string]any
					json.Unmarshal(raw, &m)
					s := m["dsseEnvelope"].(map[string]any)["signatures"].([]any)[0].(map[string]any)
					sig, err := base64.StdEncoding.DecodeString(s["sig"].(string))
					if err != nil {
						t.Fatal(err)
					}
					sig[len(sig)/2] ^= 1
					s["sig"] = base64.StdEncoding.EncodeToString(sig)
					bad, _ := json.Marshal(m)
					os.WriteFile(filepath.Join(dir, "tampered.json"), bad, 0o644)
					args := append([]string{"verify-blob-attestation", "--key", pub, "--bundle", "tampered.json", "--type", "https://example.com/predicate/v1"}, verifyBlobFlags(version)...)
					if r := oracle.Run(t, dir, nil, cosign, append(args, "app.txt")...); r.Err == nil {
						t.Error("cosign accepted a bundle with a flipped signature byte")
					}
				})
			}
		})
	}
}

// A key toto generates in cosign's format signs in cosign, and cosign's
// bundle verifies in toto with toto's public key file.
func TestTotoKeyInCosign(t *testing.T) {
	for _, version := range []string{oracle.CosignV2, oracle.CosignV3} {
		t.Run(version, func(t *testing.T) {
			dir := t.TempDir()
			cosign := oracle.Tool(t, version)
			os.WriteFile(filepath.Join(dir, "app.txt"), []byte("x\n"), 0o644)
			env := []string{"TOTO_PASSWORD=" + blobPassword}
			blobMust(t, dir, env, "key", "generate", "-t", "ecdsa", "--format", "cosign", "-o", "totokey")
			oracle.MustRun(t, dir, []string{"COSIGN_PASSWORD=" + blobPassword}, cosign, append(append([]string{"sign-blob", "--key", "totokey.key", "--bundle", "b.json"}, signBlobFlags(version)...), "app.txt")...)
			blobMust(t, dir, nil, "bundle", "verify", "--bundle", "b.json", "--key", "totokey.pub", "--artifact", "app.txt")
		})
	}
}
