//go:build interop

package simplesigning

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"

	"github.com/toto-dev/toto/imagepolicy"
	"github.com/toto-dev/toto/internal/corpus"
	"github.com/toto-dev/toto/internal/oracle"
)

// Portieris's own ClusterImagePolicies (simple-signedby1 and
// simple-signedby2 from its e2e fixtures, the registry rewritten to a
// loopback one and the lookaside given as storeURL) with keys in
// Kubernetes Secrets exported by gpg, over images skopeo copy --sign-by
// signed: one signature satisfies signedby1 but not signedby2, until
// skopeo signs with the second key too. The digest the policy set returns
// is the one skopeo signed.
func TestPolicySetSkopeo(t *testing.T) {
	skopeo := oracle.Tool(t, "skopeo")
	gpg := oracle.Tool(t, "gpg")
	host := oracle.Registry(t)
	dir := t.TempDir()
	env1, fpr1 := gpgHome(t, keyTypes["ed25519"])
	env2, fpr2 := gpgHome(t, keyTypes["rsa"])
	sigstore := filepath.Join(dir, "sigstore")
	regd := registriesD(t, dir, host, sigstore)
	insecure := write(t, filepath.Join(dir, "insecure.json"), `{"default":[{"type":"insecureAcceptAnything"}]}`)
	secrets := filepath.Join(dir, "secrets")
	for name, env := range map[string][]string{"simple1pubkey": env1, "simple2pubkey": env2} {
		pub := oracle.MustRun(t, "", env, gpg, "--batch", "--export", "--armor").Stdout
		write(t, filepath.Join(secrets, name+".yaml"), fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\nstringData:\n  key: |\n    %s\n",
			name, strings.ReplaceAll(strings.TrimSpace(pub), "\n", "\n    ")))
	}
	policies := func(files ...string) *imagepolicy.Set {
		d := t.TempDir()
		for _, f := range files {
			data, err := os.ReadFile(corpus.Path(t, "portieris", "test", "e2e", "testdata", "clusterimagepolicy", f))
			if err != nil {
				t.Fatal(err)
			}
			doc := strings.ReplaceAll(string(data), "icr.io/cise/", host+"/team/")
			doc = strings.Replace(doc, "         simple:\n", "         simple:\n           storeURL: file://"+sigstore+"\n", 1)
			write(t, filepath.Join(d, f), doc)
		}
		s, err := imagepolicy.LoadSet(d, imagepolicy.SetOptions{SecretsDir: secrets})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	one, two := policies("simple-signedby1.yaml"), policies("simple-signedby2.yaml")

	digest := push(t, host, "src/app:1")
	// skopeo copies the source's signatures and adds its own: the second
	// copy, from team/app:1 onto itself, keeps signature-1.
	copyAs := func(env []string, fpr, src string) {
		oracle.MustRun(t, dir, env, skopeo, "--policy", insecure, "--registries.d", regd, "copy",
			"--src-tls-verify=false", "--dest-tls-verify=false", "--sign-by", fpr,
			"docker://"+host+"/"+src, "docker://"+host+"/team/app:1")
	}
	copyAs(env1, fpr1, "src/app:1")
	ref := host + "/team/app:1"
	ctx := context.Background()
	res, err := one.Evaluate(ctx, "default", ref)
	if err != nil || res.Err() != nil {
		t.Fatalf("skopeo-signed image under simple-signedby1: %v %v", err, res.Err())
	}
	if res.Digest != digest || res.Pinned != host+"/team/app@"+digest || !res.Mutate {
		t.Fatalf("result %+v, want digest %s", res, digest)
	}
	res, err = two.Evaluate(ctx, "default", ref)
	if err != nil || res.Decision.Allowed() || !strings.Contains(res.Err().Error(), "signedBy simple2pubkey") {
		t.Fatalf("one signature under simple-signedby2: %v %v", err, res.Err())
	}
	t.Log(res.Err())
	copyAs(env2, fpr2, "team/app:1") // signature-2, by the second key
	res, err = two.Evaluate(ctx, "default", ref)
	if err != nil || res.Err() != nil {
		t.Fatalf("both signatures under simple-signedby2: %v %v", err, res.Err())
	}
	// Another image under the same tag: its digest has no signature.
	other := push(t, host, "team/app:1")
	res, err = one.Evaluate(ctx, "default", ref)
	if err != nil || res.Decision.Allowed() || res.Digest != other {
		t.Fatalf("retagged: %v allowed %v digest %s", err, res.Decision.Allowed(), res.Digest)
	}
}

// sigRegistry is a registry with containers/image's signature API
// extension (docs/signature-protocols.md): /v2/ says
// X-Registry-Supports-Signatures: 1, and /extensions/v2/REPO/signatures/
// DIGEST lists (GET) and adds (PUT) signatures, kept as they were PUT.
type sigRegistry struct {
	next http.Handler
	mu   sync.Mutex
	sigs map[string][]json.RawMessage
	puts atomic.Int32
}

func (r *sigRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == "/v2/" || req.URL.Path == "/v2" {
		w.Header().Set("X-Registry-Supports-Signatures", "1")
	}
	rest, ok := strings.CutPrefix(req.URL.Path, "/extensions/v2/")
	if !ok {
		r.next.ServeHTTP(w, req)
		return
	}
	key := strings.Replace(rest, "/signatures/", "@", 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	switch req.Method {
	case http.MethodGet:
		list := r.sigs[key]
		if list == nil {
			list = []json.RawMessage{}
		}
		json.NewEncoder(w).Encode(map[string]any{"signatures": list})
	case http.MethodPut:
		b, err := io.ReadAll(req.Body)
		if err != nil || !json.Valid(b) {
			http.Error(w, "bad signature", http.StatusBadRequest)
			return
		}
		r.sigs[key] = append(r.sigs[key], b)
		r.puts.Add(1)
		w.WriteHeader(http.StatusCreated)
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
	}
}

// skopeo copy --sign-by to a registry with the signature extension stores
// the signature there (containers/image prefers it to any lookaside); a
// Portieris policy without storeURL reads it from there.
func TestPolicySetSkopeoExtension(t *testing.T) {
	skopeo := oracle.Tool(t, "skopeo")
	gpg := oracle.Tool(t, "gpg")
	reg := &sigRegistry{next: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))), sigs: map[string][]json.RawMessage{}}
	srv := httptest.NewServer(reg)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()
	env, fpr := gpgHome(t, keyTypes["ed25519"])
	insecure := write(t, filepath.Join(dir, "insecure.json"), `{"default":[{"type":"insecureAcceptAnything"}]}`)
	pub := oracle.MustRun(t, "", env, gpg, "--batch", "--export", "--armor").Stdout
	secrets := filepath.Join(dir, "secrets")
	write(t, filepath.Join(secrets, "k.yaml"), fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: simple1pubkey\nstringData:\n  key: |\n    %s\n", strings.ReplaceAll(strings.TrimSpace(pub), "\n", "\n    ")))
	policies := filepath.Join(dir, "policies")
	data, err := os.ReadFile(corpus.Path(t, "portieris", "test", "e2e", "testdata", "clusterimagepolicy", "simple-signedby1.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(policies, "p.yaml"), strings.ReplaceAll(string(data), "icr.io/cise/", host+"/team/"))

	digest := push(t, host, "src/app:1")
	oracle.MustRun(t, dir, env, skopeo, "--policy", insecure, "--registries.d", filepath.Join(dir, "no-registries.d"), "copy",
		"--src-tls-verify=false", "--dest-tls-verify=false", "--sign-by", fpr,
		"docker://"+host+"/src/app:1", "docker://"+host+"/team/app:1")
	if reg.puts.Load() != 1 {
		t.Fatalf("skopeo stored %d signatures through the extension", reg.puts.Load())
	}
	s, err := imagepolicy.LoadSet(policies, imagepolicy.SetOptions{SecretsDir: secrets})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Evaluate(context.Background(), "default", host+"/team/app:1")
	if err != nil || res.Err() != nil || res.Digest != digest {
		t.Fatalf("signature from the extension: %v %v (pushed %s)", err, res.Err(), digest)
	}
	res, err = s.Evaluate(context.Background(), "default", host+"/src/app:1")
	if err != nil || res.Decision.Allowed() {
		t.Fatalf("src has no signature (another repository): %v %v", err, res.Err())
	}
}
