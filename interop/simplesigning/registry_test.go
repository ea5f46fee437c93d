//go:build interop

package simplesigning

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/toto-dev/toto/internal/oracle"
)

// push writes a random image to the registry as repo:tag and returns its
// manifest digest.
func push(t *testing.T, host, repoTag string) string {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func write(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// registriesD writes the registries.d file of the tests (the one
// docs/simple-signing.md shows): the registry's signatures are read from
// and written to a local lookaside directory.
func registriesD(t *testing.T, dir, host, sigstore string) string {
	t.Helper()
	d := filepath.Join(dir, "registries.d")
	write(t, filepath.Join(d, "toto-test.yaml"), fmt.Sprintf(`docker:
  %s:
    lookaside: file://%s
`, host, sigstore))
	return d
}

// signedByPolicy writes the policy.json of the tests (the one
// docs/simple-signing.md shows): reject by default, and require a
// signature by the key for the registry's team/ namespace.
func signedByPolicy(t *testing.T, path, host, keyPath, signedIdentity string) string {
	t.Helper()
	id := ""
	if signedIdentity != "" {
		id = `,
          "signedIdentity": ` + signedIdentity
	}
	return write(t, path, fmt.Sprintf(`{
  "default": [{"type": "reject"}],
  "transports": {
    "docker": {
      "%s/team": [
        {
          "type": "signedBy",
          "keyType": "GPGKeys",
          "keyPath": "%s"%s
        }
      ]
    }
  }
}
`, host, keyPath, id))
}

func toto(t *testing.T, dir string, args ...string) oracle.Result {
	t.Helper()
	return oracle.Run(t, dir, nil, oracle.Toto(t), args...)
}

// skopeo copy --sign-by FPR (gpg, through the agent) pushes an image to a
// real registry with its signature in the registries.d lookaside; toto
// image verify --containers-policy accepts it under a signedBy policy with the gpg
// key, and names the signer; another key and another identity are refused.
func TestSkopeoSignsTotoVerifies(t *testing.T) {
	skopeo := oracle.Tool(t, "skopeo")
	host := oracle.Registry(t)
	dir := t.TempDir()
	env, fpr := gpgHome(t, keyTypes["ed25519"])
	otherEnv, _ := gpgHome(t, keyTypes["rsa"])
	write(t, filepath.Join(dir, "signer.pub"), oracle.MustRun(t, "", env, oracle.Tool(t, "gpg"), "--batch", "--export", "--armor").Stdout)
	write(t, filepath.Join(dir, "other.pub"), oracle.MustRun(t, "", otherEnv, oracle.Tool(t, "gpg"), "--batch", "--export").Stdout)
	sigstore := filepath.Join(dir, "sigstore")
	regd := registriesD(t, dir, host, sigstore)
	insecure := write(t, filepath.Join(dir, "insecure.json"), `{"default":[{"type":"insecureAcceptAnything"}]}`)

	digest := push(t, host, "src/app:1")
	oracle.MustRun(t, dir, env, skopeo, "--policy", insecure, "--registries.d", regd, "copy",
		"--src-tls-verify=false", "--dest-tls-verify=false", "--sign-by", fpr,
		"docker://"+host+"/src/app:1", "docker://"+host+"/team/app:1")
	sig := filepath.Join(sigstore, "team/app@sha256="+strings.TrimPrefix(digest, "sha256:"), "signature-1")
	if _, err := os.Stat(sig); err != nil {
		t.Fatalf("skopeo wrote no signature where toto reads it: %v", err)
	}

	verify := func(policy string, ref string) (oracle.Result, map[string]any) {
		r := toto(t, dir, "image", "verify", "--json", "--containers-policy", policy, "--registries-d", regd, ref)
		var res map[string]any
		if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil {
			t.Fatalf("toto verify: %v\nstdout: %s\nstderr: %s", err, r.Stdout, r.Stderr)
		}
		return r, res
	}
	good := signedByPolicy(t, filepath.Join(dir, "policy.json"), host, filepath.Join(dir, "signer.pub"), "")
	r, res := verify(good, host+"/team/app:1")
	if r.Err != nil || res["allowed"] != true {
		t.Fatalf("toto refused skopeo's signature: %s\n%s", r.Stdout, r.Stderr)
	}
	req := res["requirements"].([]any)[0].(map[string]any)
	s := req["signatures"].([]any)[0].(map[string]any)
	if s["fingerprint"] != fpr || s["dockerReference"] != host+"/team/app:1" || s["manifestDigest"] != digest || res["scope"] != host+"/team" {
		t.Errorf("result %s", r.Stdout)
	}
	// By digest: matchRepoDigestOrExact accepts the tag's signature.
	if r, res := verify(good, host+"/team/app@"+digest); r.Err != nil || res["allowed"] != true {
		t.Errorf("by digest: %s", r.Stdout)
	}
	for _, tc := range []struct{ name, policy, ref, reason string }{
		{"other key", signedByPolicy(t, filepath.Join(dir, "other.json"), host, filepath.Join(dir, "other.pub"), ""), host + "/team/app:1", "signed by a key not trusted here"},
		{"other identity", signedByPolicy(t, filepath.Join(dir, "exact.json"), host, filepath.Join(dir, "signer.pub"), `{"type": "exactReference", "dockerReference": "`+host+`/team/app:2"}`), host + "/team/app:1", "signed identity not accepted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, res := verify(tc.policy, tc.ref)
			if r.Err == nil || res["allowed"] != false || !strings.Contains(r.Stdout, tc.reason) {
				t.Errorf("toto verify: %v\n%s", r.Err, r.Stdout)
			}
		})
	}
}

// toto key generate --type pgp and toto image sign --format simple-signing (into the
// registries.d lookaside) → skopeo copy --policy P --registries.d D from the
// registry accepts the image under signedBy with toto's public key, and
// rejects it under another key and for another identity.
func TestTotoSignsSkopeoVerifies(t *testing.T) {
	skopeo := oracle.Tool(t, "skopeo")
	host := oracle.Registry(t)
	dir := t.TempDir()
	for _, args := range [][]string{
		{"key", "generate", "--type", "pgp", "-o", "release", "--uid", "Release <release@example.com>"},
		{"key", "generate", "--type", "pgp-rsa", "-o", "other"},
	} {
		if r := toto(t, dir, args...); r.Err != nil {
			t.Fatalf("toto %v: %v\n%s", args, r.Err, r.Stderr)
		}
	}
	sigstore := filepath.Join(dir, "sigstore")
	regd := registriesD(t, dir, host, sigstore)
	digest := push(t, host, "team/app:1")
	push(t, host, "team/app2:1")
	for _, args := range [][]string{
		{"image", "sign", "--format", "simple-signing", "--gpg-key", "release", "--registries-d", regd, host + "/team/app:1"},
		// Signed as app:1, stored for app2: a signature for another identity.
		{"image", "sign", "--format", "simple-signing", "--gpg-key", "release", "--registries-d", regd, "--identity", host + "/team/app:1", host + "/team/app2:1"},
	} {
		if r := toto(t, dir, args...); r.Err != nil {
			t.Fatalf("toto %v: %v\n%s", args, r.Err, r.Stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(sigstore, "team/app@sha256="+strings.TrimPrefix(digest, "sha256:"), "signature-1")); err != nil {
		t.Fatal(err)
	}
	copyWith := func(policy, ref string) oracle.Result {
		// GNUPGHOME: skopeo (gpgme) imports the policy's keys into an
		// ephemeral home; point the user's at an empty folder.
		home := t.TempDir()
		return oracle.Run(t, dir, []string{"GNUPGHOME=" + home}, skopeo, "--policy", policy, "--registries.d", regd, "copy",
			"--src-tls-verify=false", "docker://"+ref, "dir:"+filepath.Join(t.TempDir(), "out"))
	}
	good := signedByPolicy(t, filepath.Join(dir, "policy.json"), host, filepath.Join(dir, "release.pub"), "")
	if r := copyWith(good, host+"/team/app:1"); r.Err != nil {
		t.Fatalf("skopeo refused toto's signature: %v\n%s", r.Err, r.Stderr)
	}
	for _, tc := range []struct{ name, policy, ref, skopeoSays, totoSays string }{
		{"other key", signedByPolicy(t, filepath.Join(dir, "other.json"), host, filepath.Join(dir, "other.pub"), ""), host + "/team/app:1",
			"Invalid GPG signature", "signed by a key not trusted here"},
		{"identity of another image", good, host + "/team/app2:1",
			"Signature for identity " + host + "/team/app:1 is not accepted", "signed identity not accepted"},
		{"exactReference of another tag", signedByPolicy(t, filepath.Join(dir, "exact.json"), host, filepath.Join(dir, "release.pub"), `{"type": "exactReference", "dockerReference": "`+host+`/team/app:2"}`), host + "/team/app:1",
			"Signature for identity " + host + "/team/app:1 is not accepted", "signed identity not accepted"},
		{"unsigned repository", good, host + "/team/unsigned:1",
			"A signature was required, but no signature exists", "a signature was required, but no signature exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "unsigned repository" {
				push(t, host, "team/unsigned:1")
			}
			r := copyWith(tc.policy, tc.ref)
			if r.Err == nil || !strings.Contains(r.Stderr, "Source image rejected: "+tc.skopeoSays) {
				t.Errorf("skopeo accepted (or failed otherwise): %v\n%s", r.Err, r.Stderr)
			}
			t.Logf("skopeo: %s", strings.TrimSpace(r.Stderr))
			// toto agrees.
			v := toto(t, dir, "image", "verify", "--containers-policy", tc.policy, "--registries-d", regd, tc.ref)
			if v.Err == nil || !strings.Contains(v.Stdout, tc.totoSays) {
				t.Errorf("toto: %v\n%s", v.Err, v.Stdout)
			}
			t.Logf("toto: %s", strings.TrimSpace(v.Stdout))
		})
	}
	if v := toto(t, dir, "image", "verify", "--containers-policy", good, "--registries-d", regd, host+"/team/app:1"); v.Err != nil {
		t.Errorf("toto refused its own signature: %s\n%s", v.Stdout, v.Stderr)
	}
}

// The lookaside served over HTTP (a plain file server over the directory
// toto signed into, as a web server would publish it): skopeo copy and
// toto read the signatures from http:// and accept the image; a server
// answering 500 makes both fail rather than see "no signatures".
func TestHTTPLookaside(t *testing.T) {
	skopeo := oracle.Tool(t, "skopeo")
	host := oracle.Registry(t)
	dir := t.TempDir()
	if r := toto(t, dir, "key", "generate", "--type", "pgp", "-o", "release"); r.Err != nil {
		t.Fatal(r.Stderr)
	}
	sigstore := filepath.Join(dir, "sigstore")
	push(t, host, "team/app:1")
	if r := toto(t, dir, "image", "sign", "--format", "simple-signing", "--gpg-key", "release", "--lookaside", sigstore, host+"/team/app:1"); r.Err != nil {
		t.Fatal(r.Stderr)
	}
	var broken atomic.Bool
	files := http.FileServer(http.Dir(sigstore))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		files.ServeHTTP(w, r)
	}))
	defer srv.Close()
	regd := filepath.Join(dir, "registries.d")
	write(t, filepath.Join(regd, "toto-test.yaml"), fmt.Sprintf("docker:\n  %s:\n    lookaside: %s\n", host, srv.URL))
	policy := signedByPolicy(t, filepath.Join(dir, "policy.json"), host, filepath.Join(dir, "release.pub"), "")
	copyOut := func() oracle.Result {
		return oracle.Run(t, dir, []string{"GNUPGHOME=" + t.TempDir()}, skopeo, "--policy", policy, "--registries.d", regd, "copy",
			"--src-tls-verify=false", "docker://"+host+"/team/app:1", "dir:"+filepath.Join(t.TempDir(), "out"))
	}
	verify := func() oracle.Result {
		return toto(t, dir, "image", "verify", "--containers-policy", policy, "--registries-d", regd, host+"/team/app:1")
	}
	if r := copyOut(); r.Err != nil {
		t.Fatalf("skopeo over HTTP: %v\n%s", r.Err, r.Stderr)
	}
	if r := verify(); r.Err != nil {
		t.Fatalf("toto over HTTP: %v\n%s%s", r.Err, r.Stdout, r.Stderr)
	}
	broken.Store(true)
	if r := copyOut(); r.Err == nil {
		t.Error("skopeo accepted with the lookaside answering 500")
	}
	r := verify()
	if r.Err == nil || !strings.Contains(r.Stderr, "500") {
		t.Errorf("toto with the lookaside answering 500: %v\n%s%s", r.Err, r.Stdout, r.Stderr)
	}
	if code := exitCode(r.Err); code != 2 {
		t.Errorf("exit %d, want 2 (an input error, not a verdict)", code)
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return 0
}
