//go:build interop

package tufinterop

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/toto-dev/toto/internal/oracle"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/trust"
	"github.com/toto-dev/toto/trust/repository"
)

// TestContainersPolicyKeysFromTUF: cosign v2 signs an image in
// distribution 2.8 (its sha256-HEX.sig tag); cosign's public key is
// published as the TUF target toto/keyrings/cosign.pub; toto image verify
// --containers-policy with a sigstoreSigned keyPath that does not exist
// on this machine accepts the image with --tuf-root (the key comes from
// TUF by the keyPath's base name) and rejects it without.
func TestContainersPolicyKeysFromTUF(t *testing.T) {
	toto := oracle.Toto(t)
	cosign := oracle.Tool(t, oracle.CosignV2)
	host := oracle.Registry(t)
	dir := t.TempDir()
	env := []string{"COSIGN_PASSWORD=interop"}
	oracle.MustRun(t, dir, env, cosign, "generate-key-pair", "--output-key-prefix", "cosign")
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.NewTag(host + "/team/app:1")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	oracle.MustRun(t, dir, env, cosign, "sign", "--key", "cosign.key", "--allow-insecure-registry", "--allow-http-registry", "--tlog-upload=false", "-y", host+"/team/app@"+d.String())

	pub, err := os.ReadFile(filepath.Join(dir, "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	gen := func() *keys.Key {
		k, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	root, tg, snap, ts := gen(), gen(), gen(), gen()
	r := &repository.Repository{Dir: t.TempDir()}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.Init(repository.InitOptions{Root: repository.RoleKeys{Keys: []*keys.Key{root.Public()}}, Targets: repository.RoleKeys{Keys: []*keys.Key{tg.Public()}}, Snapshot: snap.Public(), Timestamp: ts.Public()}))
	must(r.AddTarget(trust.TargetKeyringsDir+"cosign.pub", pub, nil))
	must(r.Sign(ctx, "root", root))
	must(r.Sign(ctx, "targets", tg))
	_, err = r.Publish(ctx, repository.PublishOptions{Snapshot: snap, Timestamp: ts})
	must(err)
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(r.Dir, repository.PublicDir))))
	defer srv.Close()

	regd := filepath.Join(dir, "registries.d")
	must(os.MkdirAll(regd, 0o755))
	must(os.WriteFile(filepath.Join(regd, "toto-test.yaml"), []byte(fmt.Sprintf("docker:\n  %s:\n    use-sigstore-attachments: true\n", host)), 0o644))
	policy := filepath.Join(dir, "policy.json")
	must(os.WriteFile(policy, []byte(fmt.Sprintf(`{"default":[{"type":"reject"}],"transports":{"docker":{"%s/team":[{"type":"sigstoreSigned","keyPath":"/etc/pki/containers/cosign.pub","signedIdentity":{"type":"matchRepository"}}]}}}`, host)), 0o644))
	verify := []string{"image", "verify", "--containers-policy", policy, "--registries-d", regd}
	tuf := []string{"--tuf-root", filepath.Join(r.Dir, repository.PublicDir, "1.root.json"), "--tuf-url", srv.URL, "--tuf-cache", filepath.Join(dir, "cache")}
	res := oracle.Run(t, dir, nil, toto, append(append(verify, tuf...), host+"/team/app:1")...)
	if res.Err != nil || !strings.Contains(res.Stdout, "ok   requirement 0 sigstoreSigned: cosign signature 1 by ") {
		t.Fatalf("with the key from TUF: %v\n%s%s", res.Err, res.Stdout, res.Stderr)
	}
	res = oracle.Run(t, dir, nil, toto, append(verify, host+"/team/app:1")...)
	if res.Err == nil || !strings.Contains(res.Stdout+res.Stderr, "/etc/pki/containers/cosign.pub") {
		t.Fatalf("without TUF the missing file must fail: %v\n%s%s", res.Err, res.Stdout, res.Stderr)
	}
}
