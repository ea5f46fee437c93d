package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// image verify --policy over a policy set: a directory with a Portieris
// ClusterImagePolicy (simple signing, key in a Secret) and an
// ImagePolicy for namespace "strict" that rejects; the image signed by
// toto image sign --format simple-signing. --namespace picks the policies
// as admission does; --json reports digest, pinned, mutate and policy; a
// single toto document still works on its own.
func TestImagePolicySetCLI(t *testing.T) {
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/team/app:1"
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	digest, _ := img.Digest()
	sigs := filepath.Join(dir, "sigs")
	mustToto(t, dir, "key", "generate", "--type", "pgp", "-o", "release", "--uid", "Release <release@example.com>")
	mustToto(t, dir, "image", "sign", "--format", "simple-signing", "--gpg-key", "release", "--lookaside", sigs, ref)
	pub, err := os.ReadFile(filepath.Join(dir, "release.pub"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"policies", "secrets"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "secrets", "release.yaml"), fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: release-key}\nstringData:\n  key: %q\n", pub))
	writeFile(t, filepath.Join(dir, "policies", "cluster.yaml"), fmt.Sprintf(`apiVersion: portieris.cloud.ibm.com/v1
kind: ClusterImagePolicy
metadata: {name: signed}
spec:
  repositories:
    - name: "%s/team/*"
      policy:
        simple:
          storeURL: file://%s
          requirements:
            - {type: signedBy, keySecret: release-key}
---
apiVersion: portieris.cloud.ibm.com/v1
kind: ImagePolicy
metadata: {name: nothing, namespace: strict}
spec:
  repositories:
    - name: "*"
      policy:
        simple:
          requirements: [{type: reject}]
`, host, sigs))

	res := mustToto(t, dir, "image", "verify", "--policy", "policies", "--secrets-dir", "secrets", "--namespace", "default", "--json", ref)
	var rep struct {
		Allowed                bool
		Digest, Pinned, Policy string
		Mutate                 bool
	}
	if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil {
		t.Fatalf("%v: %s", err, res.Stdout)
	}
	if !rep.Allowed || rep.Digest != digest.String() || rep.Pinned != host+"/team/app@"+digest.String() || !rep.Mutate ||
		rep.Policy != "ClusterImagePolicy signed (repositories[0] "+host+"/team/*)" {
		t.Fatalf("report %+v", rep)
	}

	args := []string{"image", "verify", "--policy", "policies", "--secrets-dir", "secrets", "--namespace", "strict", ref}
	res = runToto(t, dir, args...)
	wantCode(t, res, 1, args...)
	if !strings.Contains(res.Stdout, "DENIED") || !strings.Contains(res.Stderr, "ImagePolicy strict/nothing") || !strings.Contains(res.Stderr, "rejected by policy") {
		t.Fatalf("strict: %s\n%s", res.Stdout, res.Stderr)
	}

	// One toto document, evaluated on its own as before.
	writeFile(t, filepath.Join(dir, "one.yaml"), fmt.Sprintf("rules:\n  - images: [\"%s/team/*\"]\n    require: {simpleSigning: {keys: [release.pub], lookaside: sigs}}\n", host))
	res = mustToto(t, dir, "image", "verify", "--policy", "one.yaml", "--json", ref)
	if !strings.Contains(res.Stdout, digest.String()) {
		t.Fatalf("single document: %s", res.Stdout)
	}
	// One file of Portieris resources needs no --namespace: the cluster's
	// policy applies.
	writeFile(t, filepath.Join(dir, "portieris.yaml"), fmt.Sprintf("apiVersion: portieris.cloud.ibm.com/v1\nkind: ClusterImagePolicy\nmetadata: {name: any}\nspec: {repositories: [{name: \"%s/*\", policy: {}}]}\n", host))
	res = mustToto(t, dir, "image", "verify", "--policy", "portieris.yaml", ref)
	if !strings.Contains(res.Stdout, "ALLOWED") || !strings.Contains(res.Stdout, "ClusterImagePolicy any") {
		t.Fatalf("portieris file: %s", res.Stdout)
	}
	// A missing secret directory's secret, and --namespace without
	// --policy, are input errors.
	args = []string{"image", "verify", "--policy", "policies", "--namespace", "default", ref}
	wantCode(t, runToto(t, dir, args...), 2, args...)
	args = []string{"image", "verify", "--key", "release.pub", "--namespace", "default", ref}
	wantCode(t, runToto(t, dir, args...), 2, args...)
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A malformed policy is an input error (exit 2) naming FILE:LINE:COL and
// the field path, for one document and in a policy set; --json puts the
// same message in the error object.
func TestImagePolicyErrorPosition(t *testing.T) {
	dir := t.TempDir()
	img, _ := randomLayout(t)
	writeFile(t, filepath.Join(dir, "one.yaml"), "rules:\n  - images: [\"*\"]\n    require:\n      all:\n        - sigstore: {keys: [k.pub], requireTlog: maybe}\n")
	if err := os.Mkdir(filepath.Join(dir, "set"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "set", "a.yaml"), "rules: []\n---\nnamespace: team\nrules:\n  - images: [\"*\"]\n    require: {sigstore: {keys: [k.pub]}, action: block}\n")
	for _, tc := range []struct{ policy, want string }{
		{"one.yaml", `one.yaml:5:50: rules[0].require.all[0].sigstore.requireTlog: want true or false, got "maybe"`},
		{"set", filepath.Join("set", "a.yaml") + `:6:50: rules[0].require.action: "block": want enforce, warn or audit`},
	} {
		r := runToto(t, dir, "image", "verify", "--policy", tc.policy, "--json", "oci-layout:"+img)
		wantCode(t, r, 2)
		if !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("%s: stderr %s, want %s", tc.policy, r.Stderr, tc.want)
		}
		e := validateAgainst(t, errorSchema, r.Stdout)
		if msg := e["error"].(map[string]any)["message"].(string); !strings.Contains(msg, tc.want) {
			t.Errorf("%s: JSON message %q", tc.policy, msg)
		}
	}
}
