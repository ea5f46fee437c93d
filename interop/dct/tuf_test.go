//go:build interop

package dctinterop

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/internal/oracle"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/trust"
	"github.com/toto-dev/toto/trust/repository"
)

// tufWithRoots publishes a TUF repository whose targets pin DCT root
// certificates (GUN → PEM) and serves it on 127.0.0.1; it returns the
// pinned root.json path and the URL.
func tufWithRoots(t *testing.T, roots map[string][]byte) (string, string) {
	t.Helper()
	gen := func() *keys.Key {
		k, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	root, tg, snap, ts := gen(), gen(), gen(), gen()
	r := &repository.Repository{Dir: t.TempDir()}
	if err := r.Init(repository.InitOptions{Root: repository.RoleKeys{Keys: []*keys.Key{root.Public()}}, Targets: repository.RoleKeys{Keys: []*keys.Key{tg.Public()}}, Snapshot: snap.Public(), Timestamp: ts.Public()}); err != nil {
		t.Fatal(err)
	}
	for gun, pem := range roots {
		if err := r.AddTarget(trust.DCTRootTarget(gun), pem, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Sign(ctx, "root", root); err != nil {
		t.Fatal(err)
	}
	if err := r.Sign(ctx, "targets", tg); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Publish(ctx, repository.PublishOptions{Snapshot: snap, Timestamp: ts}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(r.Dir, repository.PublicDir))))
	t.Cleanup(srv.Close)
	return filepath.Join(r.Dir, repository.PublicDir, "1.root.json"), srv.URL
}

// TestTUFPinnedRoot: the repository's DCT root certificate delivered by
// TUF (toto/dct/GUN/root.pem) pins the trust data in toto image verify
// --dct-server --tuf-root and migrate-dct --dry-run --tuf-root; another
// repository's root certificate under this GUN is refused; a TUF
// repository without the GUN's target is an input error.
func TestTUFPinnedRoot(t *testing.T) {
	toto := oracle.Toto(t)
	e := newEnv(t)
	d1, s1 := e.push("v1")
	e.sign("v1", d1, s1)
	other := newEnv(t)
	good, goodURL := tufWithRoots(t, map[string][]byte{e.gun: e.rootCert()})
	wrong, wrongURL := tufWithRoots(t, map[string][]byte{e.gun: other.rootCert()})
	none, noneURL := tufWithRoots(t, map[string][]byte{other.gun: other.rootCert()})
	dir := t.TempDir()
	verify := func(pin, u string, extra ...string) (string, int) {
		return runIn(t, dir, toto, append(append([]string{"image", "verify", "--dct-server", e.server, "--dct-trust-dir", t.TempDir(),
			"--tuf-root", pin, "--tuf-url", u, "--tuf-cache", t.TempDir()}, extra...), e.repo+":v1")...)
	}
	if out, code := verify(good, goodURL); code != 0 || !strings.Contains(out, "@"+d1) {
		t.Fatalf("pinned by TUF: exit %d\n%s", code, out)
	}
	if out, code := verify(wrong, wrongURL); code != 1 {
		t.Fatalf("another repository's root pinned: exit %d\n%s", code, out)
	}
	if out, code := verify(none, noneURL); code != 2 || !strings.Contains(out, "toto/dct/"+e.gun+"/root.pem") {
		t.Fatalf("no target for the GUN: exit %d\n%s", code, out)
	}
	certFile := filepath.Join(dir, "root.pem")
	if err := os.WriteFile(certFile, e.rootCert(), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := verify(good, goodURL, "--dct-root-cert", certFile); code != 2 || !strings.Contains(out, "give one") {
		t.Fatalf("--dct-root-cert with --tuf-root: exit %d\n%s", code, out)
	}
	out, code := runIn(t, dir, toto, "image", "migrate-dct", "--dry-run", "--dct-server", e.server, "--dct-trust-dir", t.TempDir(),
		"--tuf-root", wrong, "--tuf-url", wrongURL, "--tuf-cache", t.TempDir(), e.repo)
	if code != 1 {
		t.Fatalf("migrate-dct with another repository's root pinned: exit %d\n%s", code, out)
	}
	out, code = runIn(t, dir, toto, "image", "migrate-dct", "--dry-run", "--dct-server", e.server, "--dct-trust-dir", t.TempDir(),
		"--tuf-root", good, "--tuf-url", goodURL, "--tuf-cache", t.TempDir(), e.repo)
	if code != 0 || !strings.Contains(out, "verified v1") {
		t.Fatalf("migrate-dct pinned by TUF: exit %d\n%s", code, out)
	}
}
