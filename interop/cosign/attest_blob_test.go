//go:build interop

package cosign

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/internal/oracle"
)

// Blob attestations between toto attest / verify-attestation and real
// cosign attest-blob / verify-blob-attestation, both directions, both
// cosign versions, with cosign's own encrypted keys: Sigstore bundles, and
// bare DSSE envelopes (cosign v2's default output, toto attest --dsse).
func TestCosignBlobAttestationInterop(t *testing.T) {
	const typ = "https://example.com/test-result/v1"
	for _, version := range []string{oracle.CosignV2, oracle.CosignV3} {
		t.Run(version, func(t *testing.T) {
			dir := t.TempDir()
			cosign := oracle.Tool(t, version)
			cenv := []string{"COSIGN_PASSWORD=" + blobPassword}
			for name, body := range map[string]string{
				"trusted_root.json": minimalTrustedRoot,
				"app.txt":           "release artifact\n",
				"other.txt":         "something else\n",
				"pred.json":         `{"passed": 12}`,
			} {
				os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)
			}
			for _, name := range cosignKeys(t, version, dir) {
				t.Run(name, func(t *testing.T) {
					key, pub := name+".key", name+".pub"
					totoVerify := func(code int, att, subject string) {
						t.Helper()
						out, errOut, got := blobRun(t, dir, nil, "verify-attestation", "--key", pub, "--type", typ, "--subject", subject, att)
						if got != code {
							t.Errorf("toto verify-attestation %s --subject %s: exit %d, want %d\n%s%s", att, subject, got, code, out, errOut)
						}
					}

					// cosign → toto: a bundle, and the DSSE envelope cosign
					// prints (v2 without --new-bundle-format).
					cb := name + ".cosign.bundle.json"
					args := []string{"attest-blob", "--key", key, "--predicate", "pred.json", "--type", typ, "--bundle", cb}
					oracle.MustRun(t, dir, cenv, cosign, append(append(args, signBlobFlags(version)...), "app.txt")...)
					totoVerify(0, cb, "app.txt")
					totoVerify(1, cb, "other.txt")
					// Bare DSSE with RSA: cosign signs PKCS#1 v1.5, toto's
					// DSSE verifier keeps in-toto's RSASSA-PSS (bundles
					// carry the scheme, and take either); ECDSA only.
					if version == oracle.CosignV2 && name != "rsa" {
						r := oracle.MustRun(t, dir, cenv, cosign, "attest-blob", "--key", key, "--predicate", "pred.json", "--type", typ, "--tlog-upload=false", "-y", "app.txt")
						os.WriteFile(filepath.Join(dir, name+".cosign.dsse.json"), []byte(r.Stdout), 0o644)
						totoVerify(0, name+".cosign.dsse.json", "app.txt")
						totoVerify(1, name+".cosign.dsse.json", "other.txt")
					}

					// toto → cosign: toto attest's bundle and DSSE envelope
					// verify in cosign verify-blob-attestation for the
					// attested file, and not for another.
					tb, td := name+".toto.bundle.json", name+".toto.dsse.json"
					blobMust(t, dir, cenv, "attest", "--key", key, "--type", typ, "--predicate", "pred.json", "--subject", "app.txt", "-o", tb)
					blobMust(t, dir, cenv, "attest", "--key", key, "--type", typ, "--predicate", "pred.json", "--subject", "app.txt", "--dsse", "-o", td)
					cosignVerify := func(ok bool, flags []string, blob string) {
						t.Helper()
						args := append([]string{"verify-blob-attestation", "--key", pub, "--type", typ}, flags...)
						r := oracle.Run(t, dir, nil, cosign, append(args, blob)...)
						if (r.Err == nil) != ok {
							t.Errorf("cosign %v %s: err %v, want ok=%v\n%s", flags, blob, r.Err, ok, r.Stderr)
						}
						if !ok && !strings.Contains(r.Stderr, "digest") {
							t.Errorf("cosign %v %s failed for another reason: %s", flags, blob, r.Stderr)
						}
					}
					bundleFlags := append([]string{"--bundle", tb}, verifyBlobFlags(version)...)
					dsseFlags := []string{"--signature", td, "--insecure-ignore-tlog"}
					cosignVerify(true, bundleFlags, "app.txt")
					cosignVerify(false, bundleFlags, "other.txt")
					if name == "rsa" {
						// A bare DSSE envelope is in-toto's: RSA signs
						// with RSASSA-PSS, where cosign wants PKCS#1 v1.5
						// (the bundle above uses cosign's scheme).
						return
					}
					cosignVerify(true, dsseFlags, "app.txt")
					cosignVerify(false, dsseFlags, "other.txt")
				})
			}
		})
	}
}
