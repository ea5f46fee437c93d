//go:build interop

package simplesigning

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/internal/oracle"
)

// cosign v2 signs an image with a key (a sha256-HEX.sig tag, as
// containers/image's sigstoreSigned reads it; Debian's skopeo 1.9.3 is
// built without sigstore support, so cosign is the oracle): toto
// image verify --containers-policy accepts it under sigstoreSigned with cosign's
// public key and matchRepository, where registries.d sets
// use-sigstore-attachments; and refuses it under another key, under the
// default identity (cosign signs the repository only), and without
// use-sigstore-attachments.
func TestCosignSigstoreSigned(t *testing.T) {
	cosign := oracle.Tool(t, oracle.CosignV2)
	host := oracle.Registry(t)
	dir := t.TempDir()
	env := []string{"COSIGN_PASSWORD=interop"}
	for _, prefix := range []string{"cosign", "other"} {
		oracle.MustRun(t, dir, env, cosign, "generate-key-pair", "--output-key-prefix", prefix)
	}
	digest := push(t, host, "team/app:1")
	oracle.MustRun(t, dir, env, cosign, "sign", "--key", "cosign.key", "--allow-insecure-registry", "--allow-http-registry", "--tlog-upload=false", "-y", host+"/team/app@"+digest)

	regd := filepath.Join(dir, "registries.d")
	write(t, filepath.Join(regd, "toto-test.yaml"), fmt.Sprintf("docker:\n  %s:\n    use-sigstore-attachments: true\n", host))
	plain := filepath.Join(dir, "plain.d")
	write(t, filepath.Join(plain, "toto-test.yaml"), fmt.Sprintf("docker:\n  %s:\n    lookaside: file://%s\n", host, filepath.Join(dir, "sigstore")))
	policy := func(file, key, identity string) string {
		id := ""
		if identity != "" {
			id = `, "signedIdentity": ` + identity
		}
		return write(t, filepath.Join(dir, file), fmt.Sprintf(`{
  "default": [{"type": "reject"}],
  "transports": {
    "docker": {
      "%s/team": [{"type": "sigstoreSigned", "keyPath": %q%s}]
    }
  }
}
`, host, filepath.Join(dir, key), id))
	}
	good := policy("policy.json", "cosign.pub", `{"type": "matchRepository"}`)
	verify := func(policy, regd string) oracle.Result {
		return toto(t, dir, "image", "verify", "--containers-policy", policy, "--registries-d", regd, host+"/team/app:1")
	}
	if r := verify(good, regd); r.Err != nil || !strings.Contains(r.Stdout, "ok   requirement 0 sigstoreSigned: cosign signature 1 by ") {
		t.Fatalf("toto refused cosign's signature: %v\n%s%s", r.Err, r.Stdout, r.Stderr)
	}
	for _, tc := range []struct{ name, policy, regd, says string }{
		{"other key", policy("other.json", "other.pub", `{"type": "matchRepository"}`), regd, "signed by a key not trusted here"},
		{"default identity", policy("default.json", "cosign.pub", ""), regd, "signed identity not accepted"},
		{"attachments not enabled", good, plain, "a signature was required, but no signature exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := verify(tc.policy, tc.regd)
			if r.Err == nil || exitCode(r.Err) != 1 || !strings.Contains(r.Stdout, tc.says) {
				t.Errorf("toto: %v\n%s%s", r.Err, r.Stdout, r.Stderr)
			}
		})
	}
}
