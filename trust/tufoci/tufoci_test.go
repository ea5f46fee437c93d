package tufoci_test

import (
	"context"
	"errors"
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

var anonymous = tufoci.Options{Credential: func(context.Context, string) (auth.Credential, error) { return auth.EmptyCredential, nil }}

func gen(t *testing.T) *keys.Key {
	t.Helper()
	k, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pem(t *testing.T, k *keys.Key) []byte {
	t.Helper()
	b, err := k.Public().MarshalPEM(false)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPushAndFetch: a repository published into a folder and pushed to
// distribution 2.8 on 127.0.0.1 is read back by trust.TUF through
// oci://; a second publish that removes a key moves the tag, and the
// client follows; a tampered target blob is refused by TUF.
func TestPushAndFetch(t *testing.T) {
	ctx := context.Background()
	host := oracle.Registry(t)
	root, tg, snap, ts := gen(t), gen(t), gen(t), gen(t)
	app, other := gen(t), gen(t)
	r := &repository.Repository{Dir: t.TempDir()}
	if err := r.Init(repository.InitOptions{Root: repository.RoleKeys{Keys: []*keys.Key{root.Public()}}, Targets: repository.RoleKeys{Keys: []*keys.Key{tg.Public()}}, Snapshot: snap.Public(), Timestamp: ts.Public()}); err != nil {
		t.Fatal(err)
	}
	publish := func() *tufoci.Pushed {
		t.Helper()
		for role, k := range map[string]*keys.Key{"root": root, "targets": tg} {
			if err := r.Sign(ctx, role, k); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := r.Publish(ctx, repository.PublishOptions{Snapshot: snap, Timestamp: ts}); err != nil {
			t.Fatal(err)
		}
		p, err := tufoci.Push(ctx, filepath.Join(r.Dir, repository.PublicDir), host+"/acme/trust", anonymous)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for name, k := range map[string]*keys.Key{"app": app, "other": other} {
		if err := r.AddTarget("toto/keys/"+name+".pub", pem(t, k), nil); err != nil {
			t.Fatal(err)
		}
	}
	p := publish()
	if p.Reference != host+"/acme/trust:tuf" || p.Uploaded == 0 || p.Uploaded > len(p.Files) || !contains(p.Files, "1.root.json") || !contains(p.Files, "timestamp.json") {
		t.Fatalf("pushed %+v", p)
	}
	pinned, err := os.ReadFile(filepath.Join(r.Dir, repository.PublicDir, "1.root.json"))
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	src := trust.TUF{TrustedRoot: pinned, MetadataURL: tufoci.Scheme + host + "/acme/trust", CacheDir: cache, NoLayout: true}
	got, err := src.Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Keys) != 2 {
		t.Fatalf("%d keys from the registry", len(got.Keys))
	}

	if err := r.RemoveTarget("toto/keys/other.pub"); err != nil {
		t.Fatal(err)
	}
	p2 := publish()
	if p2.Manifest.Digest == p.Manifest.Digest || p2.Uploaded == 0 || p2.Uploaded >= len(p2.Files) {
		t.Fatalf("second push: %+v", p2)
	}
	got, err = src.Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Keys) != 1 || !got.Keys[0].SamePublic(app) {
		t.Fatalf("after the second publish: %d keys", len(got.Keys))
	}
	// Offline from the cache, with the registry not asked.
	off := src
	off.Offline = true
	if _, err := off.Root(ctx); err != nil {
		t.Fatalf("offline: %v", err)
	}
	// Another tag, pinned by digest too.
	if _, err := tufoci.Push(ctx, filepath.Join(r.Dir, repository.PublicDir), host+"/acme/trust:v2", anonymous); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{tufoci.Scheme + host + "/acme/trust:v2", tufoci.Scheme + host + "/acme/trust@" + p2.Manifest.Digest.String()} {
		s := trust.TUF{TrustedRoot: pinned, MetadataURL: u, CacheDir: t.TempDir(), NoLayout: true}
		if got, err := s.Root(ctx); err != nil || len(got.Keys) != 1 {
			t.Fatalf("%s: %v", u, err)
		}
	}

	// A registry that serves other bytes for a target: push a copy of
	// the folder with the target's file replaced under another tag.
	bad := t.TempDir()
	copyDir(t, filepath.Join(r.Dir, repository.PublicDir), bad)
	matches, _ := filepath.Glob(filepath.Join(bad, "targets", "toto", "keys", "*.app.pub"))
	if len(matches) != 1 {
		t.Fatalf("target files %v", matches)
	}
	if err := os.WriteFile(matches[0], pem(t, other), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := tufoci.Push(ctx, bad, host+"/acme/trust:tampered", anonymous); err != nil {
		t.Fatal(err)
	}
	s := trust.TUF{TrustedRoot: pinned, MetadataURL: tufoci.Scheme + host + "/acme/trust:tampered", CacheDir: t.TempDir(), NoLayout: true}
	if _, err := s.Root(ctx); !errors.Is(err, trust.ErrTargetMismatch) {
		t.Fatalf("tampered target: %v", err)
	}
	// No such tag, and an artifact that is not a TUF repository.
	s.MetadataURL = tufoci.Scheme + host + "/acme/trust:missing"
	if _, err := s.Root(ctx); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing tag: %v", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The fetcher refuses URLs that are not oci:// or not under its
// reference. (A file the artifact lacks answers as an HTTP 404, which
// go-tuf's root walk needs: TestPushAndFetch's second publish reads
// 2.root.json as absent.)
func TestFetcherURLs(t *testing.T) {
	if _, err := tufoci.NewFetcher(context.Background(), "https://example.com/x", anonymous); err == nil {
		t.Fatal("https URL accepted")
	}
	f, err := tufoci.NewFetcher(context.Background(), "oci://127.0.0.1:1/a/b:t", anonymous)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.DownloadFile("oci://127.0.0.1:1/a/c:t/1.root.json", 10, 0); err == nil || !strings.Contains(err.Error(), "not under") {
		t.Fatalf("URL outside: %v", err)
	}
}

// FuzzParseManifest: whatever a registry serves as the manifest, the
// file names a Fetcher accepts are clean relative paths.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.toto.tuf.repository.v1","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"mediaType":"application/octet-stream","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"annotations":{"org.opencontainers.image.title":"targets/a/b.json"}}]}`))
	f.Add([]byte(`{"layers":[{"annotations":{"org.opencontainers.image.title":"../x"}}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		files, err := tufoci.ParseManifest(raw)
		if err != nil {
			return
		}
		for name := range files {
			if strings.HasPrefix(name, "/") || strings.Contains(name, `\`) || filepath.IsAbs(name) {
				t.Fatalf("unsafe name %q accepted", name)
			}
			for _, el := range strings.Split(name, "/") {
				if el == "" || el == "." || el == ".." {
					t.Fatalf("unsafe name %q accepted", name)
				}
			}
			// What oras pull or a mirror would write stays inside.
			dir := filepath.FromSlash("/base")
			if p := filepath.Join(dir, filepath.FromSlash(name)); !strings.HasPrefix(p, dir+string(filepath.Separator)) {
				t.Fatalf("%q leaves the folder", name)
			}
		}
	})
}
