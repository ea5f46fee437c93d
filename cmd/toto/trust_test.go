package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/toto-dev/toto/internal/oracle"
)

// A team's ceremony end to end with the CLI: keys, init, targets, each
// holder signing, publish, then toto verify from the TUF repository
// served on 127.0.0.1 — online, offline, and after an owner is rotated.
func TestTrustCeremonyAndVerify(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []string{"root1", "root2", "targets1", "snapshot", "timestamp", "alice", "bob"} {
		mustToto(t, dir, "key", "generate", "--type", "ed25519", "-o", k)
	}
	layout := `{"_type":"layout","expires":"2099-01-01T00:00:00Z","readme":"","keys":{},"steps":[],"inspect":[]}`
	if err := os.WriteFile(filepath.Join(dir, "root.layout"), []byte(layout), 0o644); err != nil {
		t.Fatal(err)
	}
	mustToto(t, dir, "sign", "--key", "alice.key", "root.layout")

	mustToto(t, dir, "trust", "init", "repo", "--root-key", "root1.pub", "--root-key", "root2.pub", "--root-threshold", "2",
		"--targets-key", "targets1.pub", "--snapshot-key", "snapshot.pub", "--timestamp-key", "timestamp.pub")
	mustToto(t, dir, "trust", "add-target", "repo", "toto/owners/alice.pub", "alice.pub")
	mustToto(t, dir, "trust", "add-target", "repo", "toto/root.layout", "root.layout")
	if r := runToto(t, dir, "trust", "add-target", "repo", "toto/owners/bob.pub", "bob.key"); r.Code != 2 || !strings.Contains(r.Stderr, "private key") {
		t.Fatalf("private key as an owner target: exit %d %s", r.Code, r.Stderr)
	}
	// One root signature of two: publish refuses.
	mustToto(t, dir, "trust", "sign", "repo", "--role", "root", "--key", "root1.key")
	mustToto(t, dir, "trust", "sign", "repo", "--role", "targets", "--key", "targets1.key")
	if r := runToto(t, dir, "trust", "publish", "repo", "--snapshot-key", "snapshot.key", "--timestamp-key", "timestamp.key"); r.Code != 2 || !strings.Contains(r.Stderr, "threshold") {
		t.Fatalf("publish with 1 of 2 root signatures: exit %d %s", r.Code, r.Stderr)
	}
	r := mustToto(t, dir, "trust", "status", "repo")
	if !strings.Contains(r.Stderr, "root: staged version 1 has 1 of 2 signatures") {
		t.Errorf("status: %s%s", r.Stdout, r.Stderr)
	}
	mustToto(t, dir, "trust", "sign", "repo", "--role", "root", "--key", "root2.key")
	r = mustToto(t, dir, "trust", "publish", "repo", "--snapshot-key", "snapshot.key", "--timestamp-key", "timestamp.key")
	if !strings.Contains(r.Stdout, "published root v1, targets v1, snapshot v1, timestamp v1") {
		t.Errorf("publish: %s", r.Stdout)
	}

	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(dir, "repo", "public"))))
	defer srv.Close()
	pin := filepath.Join("repo", "public", "1.root.json")
	links := t.TempDir()
	verify := []string{"verify", "--tuf-root", pin, "--tuf-url", srv.URL, "--tuf-cache", "cache", "--links", links}
	r = mustToto(t, dir, verify...)
	if !strings.HasPrefix(r.Stdout, "PASS") {
		t.Errorf("verify: %s", r.Stdout)
	}

	// Rotate: bob replaces alice; the layout alice signed now fails.
	mustToto(t, dir, "trust", "add-target", "repo", "--remove", "toto/owners/alice.pub")
	mustToto(t, dir, "trust", "add-target", "repo", "toto/owners/bob.pub", "bob.pub")
	mustToto(t, dir, "trust", "sign", "repo", "--role", "targets", "--key", "targets1.key")
	mustToto(t, dir, "trust", "publish", "repo", "--snapshot-key", "snapshot.key", "--timestamp-key", "timestamp.key")
	r = runToto(t, dir, verify...)
	if r.Code != 1 {
		t.Fatalf("layout signed by the revoked owner: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	mustToto(t, dir, "sign", "--key", "bob.key", "root.layout")
	mustToto(t, dir, "trust", "add-target", "repo", "toto/root.layout", "root.layout")
	mustToto(t, dir, "trust", "sign", "repo", "--role", "targets", "--key", "targets1.key")
	mustToto(t, dir, "trust", "publish", "repo", "--snapshot-key", "snapshot.key", "--timestamp-key", "timestamp.key")
	mustToto(t, dir, verify...)

	// Server down: online verification is an input error (unreachable),
	// --tuf-offline verifies from the cache; --tuf-root with --layout-key
	// is a usage error.
	srv.Close()
	if r := runToto(t, dir, verify...); r.Code != 2 || !strings.Contains(r.Stderr, "unreachable") {
		t.Fatalf("server down: exit %d %s", r.Code, r.Stderr)
	}
	mustToto(t, dir, append(verify, "--tuf-offline")...)
	if r := runToto(t, dir, "verify", "--tuf-root", pin, "--layout-key", "bob.pub", "--links", links); r.Code != 2 {
		t.Fatalf("--tuf-root with --layout-key: exit %d", r.Code)
	}
}

// toto image verify takes its trusted keys from a TUF repository: a key
// published as toto/keys/NAME.pub verifies the image; once the repository
// removes it, the same signature no longer does.
func TestImageVerifyFromTUF(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []string{"root", "targets", "snapshot", "timestamp", "release"} {
		mustToto(t, dir, "key", "generate", "--type", "ed25519", "-o", k)
	}
	mustToto(t, dir, "trust", "init", "repo", "--root-key", "root.pub", "--targets-key", "targets.pub",
		"--snapshot-key", "snapshot.pub", "--timestamp-key", "timestamp.pub")
	mustToto(t, dir, "trust", "add-target", "repo", "toto/keys/release.pub", "release.pub")
	publish := func() {
		mustToto(t, dir, "trust", "sign", "repo", "--role", "root", "--key", "root.key")
		mustToto(t, dir, "trust", "sign", "repo", "--role", "targets", "--key", "targets.key")
		mustToto(t, dir, "trust", "publish", "repo", "--snapshot-key", "snapshot.key", "--timestamp-key", "timestamp.key")
	}
	publish()
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(dir, "repo", "public"))))
	defer srv.Close()

	img, _ := randomLayout(t)
	mustToto(t, dir, "image", "sign", "--key", "release.key", "oci-layout:"+img)
	verify := []string{"image", "verify", "--tuf-root", filepath.Join("repo", "public", "1.root.json"), "--tuf-url", srv.URL, "--tuf-cache", "cache", "oci-layout:" + img}
	if r := runToto(t, dir, verify...); r.Code != 0 {
		t.Fatalf("verify with the key from TUF: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}

	mustToto(t, dir, "trust", "add-target", "repo", "--remove", "toto/keys/release.pub")
	mustToto(t, dir, "trust", "sign", "repo", "--role", "targets", "--key", "targets.key")
	mustToto(t, dir, "trust", "publish", "repo", "--snapshot-key", "snapshot.key", "--timestamp-key", "timestamp.key")
	if r := runToto(t, dir, verify...); r.Code == 0 {
		t.Fatalf("the key removed from TUF still verifies:\n%s", r.Stdout)
	}
	// With --containers-policy, --tuf-root needs its URL as in key mode.
	if r := runToto(t, dir, "image", "verify", "--containers-policy", "p.json", "--tuf-root", "x", "oci-layout:"+img); r.Code != 2 || !strings.Contains(r.Stderr, "--tuf-url is required with --tuf-root") {
		t.Errorf("--tuf-root with --containers-policy: exit %d %s", r.Code, r.Stderr)
	}
}

// toto trust delegate through the CLI: the delegated role's key holder
// adds a signing key and signs the role; image verify --tuf-root trusts
// the key; a target outside the role's paths is refused; after the
// delegation key is replaced, publish waits for the new key.
func TestTrustDelegateCLI(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []string{"root", "targets", "snapshot", "timestamp", "frank", "grace", "release"} {
		mustToto(t, dir, "key", "generate", "--type", "ed25519", "-o", k)
	}
	mustToto(t, dir, "trust", "init", "repo", "--root-key", "root.pub", "--targets-key", "targets.pub",
		"--snapshot-key", "snapshot.pub", "--timestamp-key", "timestamp.pub")
	r := mustToto(t, dir, "trust", "delegate", "repo", "--role", "team-keys", "--paths", "toto/keys/*", "--key", "frank.pub")
	if !strings.Contains(r.Stdout, "delegating toto/keys/* to team-keys") {
		t.Errorf("delegate: %s", r.Stdout)
	}
	mustToto(t, dir, "trust", "add-target", "repo", "--role", "team-keys", "toto/keys/release.pub", "release.pub")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"add-target", "repo", "--role", "team-keys", "toto/owners/release.pub", "release.pub"}, "not under [toto/keys/*], the paths of team-keys"},
		{[]string{"add-target", "repo", "--role", "nobody", "toto/keys/x.pub", "release.pub"}, `role "nobody": not a delegated role`},
		{[]string{"sign", "repo", "--role", "team-keys", "--key", "grace.key"}, "not one of the role's keys"},
		{[]string{"delegate", "repo", "--role", "Targets", "--paths", "x", "--key", "frank.pub"}, "delegated role name"},
		{[]string{"delegate", "repo", "--role", "x", "--paths", "[", "--key", "frank.pub"}, `path pattern "["`},
		{[]string{"delegate", "repo", "--role", "team-keys", "--remove", "--key", "frank.pub"}, "--key does not apply with --remove"},
	} {
		r := runToto(t, dir, append([]string{"trust"}, tc.args...)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, r.Code, r.Stderr, tc.want)
		}
	}
	publish := []string{"trust", "publish", "repo", "--snapshot-key", "snapshot.key", "--timestamp-key", "timestamp.key"}
	if r := mustToto(t, dir, "trust", "status", "repo"); !strings.Contains(r.Stderr, "team-keys: staged version 1 has 0 of 1 signatures") || !strings.Contains(r.Stdout, "team-keys") {
		t.Errorf("status lists the delegated role: %s%s", r.Stdout, r.Stderr)
	}
	mustToto(t, dir, "trust", "sign", "repo", "--role", "root", "--key", "root.key")
	mustToto(t, dir, "trust", "sign", "repo", "--role", "targets", "--key", "targets.key")
	if r := runToto(t, dir, publish...); r.Code != 2 || !strings.Contains(r.Stderr, "delegated role team-keys") {
		t.Fatalf("publish before the role is signed: exit %d %s", r.Code, r.Stderr)
	}
	mustToto(t, dir, "trust", "sign", "repo", "--role", "team-keys", "--key", "frank.key")
	mustToto(t, dir, publish...)

	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(dir, "repo", "public"))))
	defer srv.Close()
	img, _ := randomLayout(t)
	mustToto(t, dir, "image", "sign", "--key", "release.key", "oci-layout:"+img)
	verify := []string{"image", "verify", "--tuf-root", filepath.Join("repo", "public", "1.root.json"), "--tuf-url", srv.URL, "--tuf-cache", "cache", "oci-layout:" + img}
	wantCode(t, runToto(t, dir, verify...), 0)

	// grace replaces frank: publish refuses until grace signs.
	mustToto(t, dir, "trust", "delegate", "repo", "--role", "team-keys", "--paths", "toto/keys/*", "--key", "grace.pub")
	mustToto(t, dir, "trust", "sign", "repo", "--role", "targets", "--key", "targets.key")
	if r := runToto(t, dir, "trust", "sign", "repo", "--role", "team-keys", "--key", "frank.key"); r.Code != 2 {
		t.Fatalf("revoked frank signs: exit %d", r.Code)
	}
	if r := runToto(t, dir, publish...); r.Code != 2 {
		t.Fatalf("publish with the role unsigned by grace: exit %d", r.Code)
	}
	mustToto(t, dir, "trust", "sign", "repo", "--role", "team-keys", "--key", "grace.key")
	mustToto(t, dir, publish...)
	wantCode(t, runToto(t, dir, verify...), 0)

	// Removing the delegation removes the trust in its key.
	mustToto(t, dir, "trust", "delegate", "repo", "--role", "team-keys", "--remove")
	mustToto(t, dir, "trust", "sign", "repo", "--role", "targets", "--key", "targets.key")
	mustToto(t, dir, publish...)
	if r := runToto(t, dir, verify...); r.Code == 0 {
		t.Fatalf("the key of a removed delegation still verifies:\n%s", r.Stdout)
	}
}

// toto trust publish --oci pushes the repository to a registry
// (distribution 2.8 on 127.0.0.1) and image verify --tuf-url oci://...
// reads the keys from it.
func TestTrustPublishOCI(t *testing.T) {
	host := oracle.Registry(t)
	dir := t.TempDir()
	for _, k := range []string{"root", "targets", "snapshot", "timestamp", "release", "alice"} {
		mustToto(t, dir, "key", "generate", "--type", "ed25519", "-o", k)
	}
	layout := `{"_type":"layout","expires":"2099-01-01T00:00:00Z","readme":"","keys":{},"steps":[],"inspect":[]}`
	if err := os.WriteFile(filepath.Join(dir, "root.layout"), []byte(layout), 0o644); err != nil {
		t.Fatal(err)
	}
	mustToto(t, dir, "sign", "--key", "alice.key", "root.layout")
	mustToto(t, dir, "trust", "init", "repo", "--root-key", "root.pub", "--targets-key", "targets.pub",
		"--snapshot-key", "snapshot.pub", "--timestamp-key", "timestamp.pub")
	mustToto(t, dir, "trust", "add-target", "repo", "toto/keys/release.pub", "release.pub")
	mustToto(t, dir, "trust", "add-target", "repo", "toto/owners/alice.pub", "alice.pub")
	mustToto(t, dir, "trust", "add-target", "repo", "toto/root.layout", "root.layout")
	mustToto(t, dir, "trust", "sign", "repo", "--role", "root", "--key", "root.key")
	mustToto(t, dir, "trust", "sign", "repo", "--role", "targets", "--key", "targets.key")
	r := mustToto(t, dir, "trust", "publish", "repo", "--snapshot-key", "snapshot.key", "--timestamp-key", "timestamp.key", "--oci", host+"/acme/trust:prod", "--json")
	validateAgainst(t, trustPublishSchema, r.Stdout)
	var out struct {
		Root int64 `json:"root"`
		OCI  struct {
			Reference string   `json:"reference"`
			Files     []string `json:"files"`
		} `json:"oci"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil || out.Root != 1 || out.OCI.Reference != host+"/acme/trust:prod" || len(out.OCI.Files) == 0 {
		t.Fatalf("publish --oci --json: %v\n%s", err, r.Stdout)
	}
	img, _ := randomLayout(t)
	mustToto(t, dir, "image", "sign", "--key", "release.key", "oci-layout:"+img)
	verify := []string{"image", "verify", "--tuf-root", filepath.Join("repo", "public", "1.root.json"), "--tuf-cache", "cache"}
	wantCode(t, runToto(t, dir, append(verify, "--tuf-url", "oci://"+host+"/acme/trust:prod", "oci-layout:"+img)...), 0)
	// The layout and its owner from the same artifact.
	if r := mustToto(t, dir, "verify", "--tuf-root", filepath.Join("repo", "public", "1.root.json"), "--tuf-url", "oci://"+host+"/acme/trust:prod", "--tuf-cache", "cache3", "--links", t.TempDir()); !strings.HasPrefix(r.Stdout, "PASS") {
		t.Errorf("toto verify from oci://: %s", r.Stdout)
	}
	if r := runToto(t, dir, append(verify, "--tuf-url", "oci://"+host+"/acme/none:prod", "--tuf-cache", "cache2", "oci-layout:"+img)...); r.Code != 2 || !strings.Contains(r.Stderr, "acme/none") {
		t.Fatalf("missing repository: exit %d %s", r.Code, r.Stderr)
	}
	if r := runToto(t, dir, "trust", "publish", "repo", "--snapshot-key", "snapshot.key", "--timestamp-key", "timestamp.key", "--oci", "127.0.0.1:1/x@sha256:"+strings.Repeat("0", 64)); r.Code != 2 || !strings.Contains(r.Stderr, "push to a tag, not a digest") {
		t.Fatalf("push to a digest: exit %d %s", r.Code, r.Stderr)
	}
}

// toto trust publish and status --json follow their schemas: publish
// refused (exit 2), published, and a status with a lapsed timestamp
// (exit 1, the JSON still written).
func TestTrustJSONSchemas(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []string{"root", "targets", "snapshot", "timestamp", "release"} {
		mustToto(t, dir, "key", "generate", "--type", "ed25519", "-o", k)
	}
	mustToto(t, dir, "trust", "init", "repo", "--root-key", "root.pub", "--targets-key", "targets.pub",
		"--snapshot-key", "snapshot.pub", "--timestamp-key", "timestamp.pub")
	mustToto(t, dir, "trust", "add-target", "repo", "toto/keys/release.pub", "release.pub")
	publish := []string{"trust", "publish", "repo", "--snapshot-key", "snapshot.key", "--timestamp-key", "timestamp.key", "--json"}

	// Nothing signed: status has warnings, publish refuses.
	st := validateAgainst(t, trustStatusSchema, mustToto(t, dir, "trust", "status", "repo", "--json").Stdout)
	if w, _ := st["warnings"].([]any); len(w) == 0 {
		t.Errorf("unsigned staged metadata: no warnings: %v", st)
	}
	r := runToto(t, dir, publish...)
	wantCode(t, r, 2)
	validateAgainst(t, errorSchema, r.Stdout)

	mustToto(t, dir, "trust", "sign", "repo", "--role", "root", "--key", "root.key")
	mustToto(t, dir, "trust", "sign", "repo", "--role", "targets", "--key", "targets.key")
	p := validateAgainst(t, trustPublishSchema, mustToto(t, dir, publish...).Stdout)
	if p["root"] != 1.0 || p["timestamp"] != 1.0 {
		t.Errorf("publish: %v", p)
	}
	st = validateAgainst(t, trustStatusSchema, mustToto(t, dir, "trust", "status", "repo", "--json").Stdout)
	roles, _ := st["roles"].([]any)
	if len(roles) != 4 {
		t.Fatalf("roles: %v", st["roles"])
	}
	if root := roles[0].(map[string]any); root["role"] != "root" || root["published"] != 1.0 || len(root["signed"].([]any)) != 1 || root["expires"] == nil {
		t.Errorf("root: %v", root)
	}

	// A timestamp that lapses: status exits 1 and still writes its JSON.
	mustToto(t, dir, append([]string{"trust", "--expires", "timestamp=1s"}, publish[1:]...)...)
	time.Sleep(2 * time.Second)
	r = runToto(t, dir, "trust", "status", "repo", "--json")
	wantCode(t, r, 1)
	st = validateAgainst(t, trustStatusSchema, r.Stdout)
	if !strings.Contains(fmt.Sprint(st["warnings"]), "timestamp: version 2 EXPIRED") {
		t.Errorf("lapsed timestamp: %v", st["warnings"])
	}
}
