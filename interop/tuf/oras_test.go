//go:build interop

package tufinterop

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/toto-dev/toto/internal/oracle"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/trust"
	"github.com/toto-dev/toto/trust/repository"
	"github.com/toto-dev/toto/trust/tufoci"
)

var ctx = context.Background()

func gen(t *testing.T) *keys.Key {
	t.Helper()
	k, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// published makes a repository with a key target and a delegated role
// holding another, published into its public/ folder; it returns the
// folder and the two keys.
func published(t *testing.T) (string, *keys.Key, *keys.Key) {
	t.Helper()
	root, tg, snap, ts, del := gen(t), gen(t), gen(t), gen(t), gen(t)
	app, team := gen(t), gen(t)
	r := &repository.Repository{Dir: t.TempDir()}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.Init(repository.InitOptions{Root: repository.RoleKeys{Keys: []*keys.Key{root.Public()}}, Targets: repository.RoleKeys{Keys: []*keys.Key{tg.Public()}}, Snapshot: snap.Public(), Timestamp: ts.Public()}))
	pemOf := func(k *keys.Key) []byte {
		b, err := k.Public().MarshalPEM(false)
		must(err)
		return b
	}
	must(r.AddTarget("toto/keys/app.pub", pemOf(app), nil))
	must(r.Delegate(repository.DelegateOptions{Role: "team", Paths: []string{"toto/keys/team-*"}, Keys: []*keys.Key{del.Public()}}))
	must(r.AddTargetTo("team", "toto/keys/team-ci.pub", pemOf(team), nil))
	must(r.Sign(ctx, "root", root))
	must(r.Sign(ctx, "targets", tg))
	must(r.Sign(ctx, "team", del))
	_, err := r.Publish(ctx, repository.PublishOptions{Snapshot: snap, Timestamp: ts})
	must(err)
	return filepath.Join(r.Dir, repository.PublicDir), app, team
}

func keysFrom(t *testing.T, pub, metadataURL string) []*keys.Key {
	t.Helper()
	pinned, err := os.ReadFile(filepath.Join(pub, "1.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := trust.TUF{TrustedRoot: pinned, MetadataURL: metadataURL, CacheDir: t.TempDir(), NoLayout: true}.Root(ctx)
	if err != nil {
		t.Fatalf("%s: %v", metadataURL, err)
	}
	return root.Keys
}

func same(got []*keys.Key, want ...*keys.Key) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g.SamePublic(w)
		}
		if !found {
			return false
		}
	}
	return true
}

// TestOrasReadsWhatTotoPushed: oras repo tags lists the tag toto pushed,
// oras manifest fetch shows the artifact type and one titled layer per
// file, and oras pull writes exactly the published tree — which, served
// over HTTP, is the same TUF repository to trust.TUF.
func TestOrasReadsWhatTotoPushed(t *testing.T) {
	host := oracle.Registry(t)
	oras := oracle.Tool(t, "oras")
	pub, app, team := published(t)
	p, err := tufoci.Push(ctx, pub, host+"/acme/trust", tufoci.Options{Credential: func(context.Context, string) (auth.Credential, error) { return auth.EmptyCredential, nil }})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tags := oracle.MustRun(t, dir, nil, oras, "repo", "tags", "--plain-http", host+"/acme/trust")
	if strings.TrimSpace(tags.Stdout) != "tuf" {
		t.Fatalf("oras repo tags: %q", tags.Stdout)
	}
	mf := oracle.MustRun(t, dir, nil, oras, "manifest", "fetch", "--plain-http", host+"/acme/trust:tuf")
	var m struct {
		ArtifactType string
		Layers       []struct {
			Annotations map[string]string
		}
	}
	if err := json.Unmarshal([]byte(mf.Stdout), &m); err != nil || m.ArtifactType != tufoci.ArtifactType || len(m.Layers) != len(p.Files) {
		t.Fatalf("oras manifest fetch: %v\n%s", err, mf.Stdout)
	}
	out := filepath.Join(dir, "pulled")
	oracle.MustRun(t, dir, nil, oras, "pull", "--plain-http", "-o", out, host+"/acme/trust:tuf")
	for _, f := range p.Files {
		want, err := os.ReadFile(filepath.Join(pub, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(f)))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("oras pull: %s: %v", f, err)
		}
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(out)))
	defer srv.Close()
	if ks := keysFrom(t, pub, srv.URL); !same(ks, app, team) {
		t.Fatalf("the pulled tree over HTTP: %d keys", len(ks))
	}
	if ks := keysFrom(t, pub, tufoci.Scheme+host+"/acme/trust"); !same(ks, app, team) {
		t.Fatalf("oci://: %d keys", len(ks))
	}
}

// TestTotoReadsWhatOrasPushed: oras push of the published folder's files
// (relative paths, the artifact type given) is a repository trust.TUF
// reads through oci://.
func TestTotoReadsWhatOrasPushed(t *testing.T) {
	host := oracle.Registry(t)
	oras := oracle.Tool(t, "oras")
	pub, app, team := published(t)
	var files []string
	err := filepath.Walk(pub, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			rel, _ := filepath.Rel(pub, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"push", "--plain-http", "--artifact-type", tufoci.ArtifactType, host + "/acme/byoras:v1"}, files...)
	oracle.MustRun(t, pub, nil, oras, args...)
	if ks := keysFrom(t, pub, tufoci.Scheme+host+"/acme/byoras:v1"); !same(ks, app, team) {
		t.Fatalf("oci:// of what oras pushed: %d keys", len(ks))
	}
}
