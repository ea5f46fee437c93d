package trust_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/toto-dev/toto/trust"
)

// goTUFFixtures is go-tuf's own repository (internal/testutils/
// repository_data) in the module cache.
func goTUFFixtures(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/theupdateframework/go-tuf/v2").Output()
	if err != nil {
		t.Skipf("go list go-tuf: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "internal", "testutils", "repository_data", "repository")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("go-tuf fixtures: %v", err)
	}
	return dir
}

// The fixtures claim consistent snapshots but are laid out without
// version or hash prefixes; serve them under the names a client asks for.
// A target listing sha256 and sha512 is asked for under either (go-tuf
// takes the first of a map), so both lengths are hash prefixes.
var (
	versioned = regexp.MustCompile(`^/([0-9]+)\.(snapshot|targets|role1|role2)\.json$`)
	hashed    = regexp.MustCompile(`^/targets/(?:[0-9a-f]{64}|[0-9a-f]{128})\.(.+)$`)
)

func serveFixtures(t *testing.T, dir string) *httptest.Server {
	files := http.FileServer(http.Dir(filepath.Join(dir, "metadata")))
	targets := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case versioned.MatchString(r.URL.Path):
			r.URL.Path = "/" + versioned.FindStringSubmatch(r.URL.Path)[2] + ".json"
			files.ServeHTTP(w, r)
		case hashed.MatchString(r.URL.Path):
			r.URL.Path = "/targets/" + hashed.FindStringSubmatch(r.URL.Path)[1]
			targets.ServeHTTP(w, r)
		default:
			files.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// go-tuf's fixture repository loads: online over HTTP (with its
// delegation to role1), then offline from the cache.
func TestTUFGoTUFFixtures(t *testing.T) {
	dir := goTUFFixtures(t)
	// The fixtures' RSA keys have 1023-bit moduli, which Go refuses
	// since 1.24 unless told otherwise; for this test only.
	t.Setenv("GODEBUG", "rsa1024min=0")
	srv := serveFixtures(t, dir)
	pinned, err := os.ReadFile(filepath.Join(dir, "metadata", "root.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The fixtures expire in 2030.
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	src := trust.TUF{TrustedRoot: pinned, MetadataURL: srv.URL, CacheDir: t.TempDir(), NoLayout: true, Now: now}
	tests := []struct{ target, file string }{
		{"file1.txt", "file1.txt"},
		{"file3.txt", "file3.txt"}, // delegated to role1
	}
	for _, mode := range []string{"online", "offline"} {
		if mode == "offline" {
			srv.Close()
			src.Offline = true
		}
		for _, tc := range tests {
			got, err := src.Target(context.Background(), tc.target)
			if err != nil {
				t.Fatalf("%s %s: %v", mode, tc.target, err)
			}
			want, _ := os.ReadFile(filepath.Join(dir, "targets", tc.file))
			if string(got) != string(want) {
				t.Fatalf("%s %s: %q", mode, tc.target, got)
			}
		}
		r, err := src.Root(context.Background())
		if err != nil || r.TUF.RootVersion != 1 || len(r.LayoutOwners) != 0 {
			t.Fatalf("%s root: %v", mode, err)
		}
	}
	// A layout is required unless NoLayout: the fixtures have none.
	src.NoLayout = false
	if _, err := src.Root(context.Background()); err == nil {
		t.Fatal("fixtures without a layout target gave a layout")
	}
}
