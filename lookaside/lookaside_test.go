package lookaside_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/distribution/reference"

	"github.com/toto-dev/toto/lookaside"
)

const digest = "sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55"

func named(t *testing.T, s string) reference.Named {
	t.Helper()
	n, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		t.Fatal(err)
	}
	return reference.TagNameOnly(n)
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// The examples of containers-registries.d(5), merged from two files, with
// the old sigstore/sigstore-staging names as aliases.
func TestRegistriesD(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.yaml": `docker:
    registry.example.com:
        lookaside: https://registry-lookaside.example.com
    registry.example.com/mydepartment:
        lookaside: https://lookaside.mydepartment.example.com
        lookaside-staging: file:///mnt/mydepartment/lookaside-staging
    registry.example.com/mydepartment/myproject:mybranch:
        lookaside: http://localhost:4242/lookaside
        lookaside-staging: file:///home/useraccount/webroot/lookaside
    registry.example.com/nolookaside:
        use-sigstore-attachments: true
`,
		"b.yaml": `docker:
    old.example:
        sigstore: https://old.example/sigs
        sigstore-staging: file:///srv/old-staging
    "*.wild.example":
        lookaside: https://wild.example/sigs
default-docker:
    lookaside-staging: file:///mnt/company/common-lookaside-staging
`,
		"ignored.yml": `default-docker: {lookaside: "file:///nope"}`,
	})
	c, err := lookaside.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ref   string
		write bool
		want  string
	}{
		{"registry.example.com/other/app:1", false, "https://registry-lookaside.example.com/other/app"},
		{"registry.example.com/mydepartment/app:1", false, "https://lookaside.mydepartment.example.com/mydepartment/app"},
		{"registry.example.com/mydepartment/app:1", true, "file:///mnt/mydepartment/lookaside-staging/mydepartment/app"},
		{"registry.example.com/mydepartment/myproject:mybranch", false, "http://localhost:4242/lookaside/mydepartment/myproject"},
		{"registry.example.com/mydepartment/myproject:other", false, "https://lookaside.mydepartment.example.com/mydepartment/myproject"},
		// A matching scope without a base falls through to the next, as
		// containers/image's code does.
		{"registry.example.com/nolookaside/app:1", false, "https://registry-lookaside.example.com/nolookaside/app"},
		{"old.example/app:1", false, "https://old.example/sigs/app"},
		{"old.example/app:1", true, "file:///srv/old-staging/app"},
		{"a.wild.example/app:1", false, "https://wild.example/sigs/app"},
		{"quay.io/app:1", true, "file:///mnt/company/common-lookaside-staging/app"},
		{"busybox", true, "file:///mnt/company/common-lookaside-staging/library/busybox"},
	} {
		u, err := c.RepositoryBase(named(t, tc.ref), tc.write)
		if err != nil {
			t.Fatal(err)
		}
		if u.String() != tc.want {
			t.Errorf("%s (write %v): %s, want %s", tc.ref, tc.write, u, tc.want)
		}
	}
	for ref, want := range map[string]bool{
		"registry.example.com/nolookaside/app:1": true,
		"registry.example.com/other/app:1":       false,
		"quay.io/app:1":                          false,
	} {
		if got := c.UseSigstoreAttachments(named(t, ref)); got != want {
			t.Errorf("%s: use-sigstore-attachments %v, want %v", ref, got, want)
		}
	}
	// Nothing configured: the built-in default directory.
	u, err := (&lookaside.Config{}).RepositoryBase(named(t, "quay.io/app:1"), false)
	if err != nil || u.Scheme != "file" || !strings.HasSuffix(u.Path, "containers/sigstore/app") {
		t.Errorf("default: %v %v", u, err)
	}
}

func TestRegistriesDConflicts(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"default-docker twice": {"a.yaml": "default-docker: {lookaside: file:///a}\n", "b.yaml": "default-docker: {lookaside: file:///b}\n"},
		"scope twice":          {"a.yaml": "docker: {r.example: {lookaside: file:///a}}\n", "b.yaml": "docker: {r.example: {lookaside-staging: file:///b}}\n"},
		"not YAML":             {"a.yaml": "docker: [\n"},
		"docker not a mapping": {"a.yaml": "docker: 3\n"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := lookaside.LoadDir(writeFiles(t, files)); !errors.Is(err, lookaside.ErrConfig) {
				t.Errorf("LoadDir: %v, want ErrConfig", err)
			}
		})
	}
}

func TestSignatureURL(t *testing.T) {
	base, _ := url.Parse("https://sigs.example/lookaside/team/app")
	u, err := lookaside.SignatureURL(base, digest, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://sigs.example/lookaside/team/app@sha256=20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55/signature-3"; u.String() != want {
		t.Errorf("%s, want %s", u, want)
	}
	for _, bad := range []string{"sha256:../../etc", "sha256:ABC", "md5:00", ""} {
		if _, err := lookaside.SignatureURL(base, bad, 1); !errors.Is(err, lookaside.ErrDigest) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func fileBase(t *testing.T) *url.URL {
	return &url.URL{Scheme: "file", Path: filepath.Join(t.TempDir(), "team/app")}
}

// WriteNext numbers from 1, never overwrites, and 16 concurrent writers get
// 16 distinct numbers with no gap; Read returns them in order.
func TestWriteNextRead(t *testing.T) {
	base := fileBase(t)
	ctx := context.Background()
	if sigs, err := lookaside.Read(ctx, base, digest, lookaside.ReadOptions{}); err != nil || len(sigs) != 0 {
		t.Fatalf("empty: %v %v", sigs, err)
	}
	n, p, err := lookaside.WriteNext(base, digest, []byte("first"))
	if err != nil || n != 1 || !strings.HasSuffix(p, "/team/app@sha256="+digest[7:]+"/signature-1") {
		t.Fatalf("%d %s %v", n, p, err)
	}
	var wg sync.WaitGroup
	seen := make(chan int, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			n, _, err := lookaside.WriteNext(base, digest, []byte(fmt.Sprintf("sig %d", i)))
			if err != nil {
				t.Error(err)
			}
			seen <- n
		}(i)
	}
	wg.Wait()
	close(seen)
	got := map[int]bool{}
	for n := range seen {
		if got[n] {
			t.Errorf("number %d given twice", n)
		}
		got[n] = true
	}
	sigs, err := lookaside.Read(ctx, base, digest, lookaside.ReadOptions{})
	if err != nil || len(sigs) != 17 || string(sigs[0]) != "first" {
		t.Fatalf("read %d signatures, %v", len(sigs), err)
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 17 {
		t.Errorf("%d entries (temporary files left?)", len(entries))
	}
	if _, _, err := lookaside.WriteNext(&url.URL{Scheme: "https", Host: "x", Path: "/a"}, digest, []byte("x")); !errors.Is(err, lookaside.ErrUnsupportedScheme) {
		t.Errorf("https write: %v", err)
	}
}

func TestReadHTTP(t *testing.T) {
	var mu sync.Mutex
	handler := http.NotFoundHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := handler
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	set := func(h http.HandlerFunc) { mu.Lock(); handler = h; mu.Unlock() }
	base, _ := url.Parse(srv.URL + "/sigs/team/app")
	prefix := "/sigs/team/app@sha256=" + digest[7:] + "/signature-"
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    int
		err     error
	}{
		{"two then 404", func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case prefix + "1", prefix + "2":
				fmt.Fprint(w, "sig")
			default:
				http.NotFound(w, r)
			}
		}, 2, nil},
		{"none", http.NotFound, 0, nil},
		{"500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) }, 0, &lookaside.HTTPError{}},
		{"huge, declared", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(lookaside.MaxSignatureSize+1))
			w.Write(make([]byte, lookaside.MaxSignatureSize+1))
		}, 0, lookaside.ErrTooLarge},
		{"huge, chunked", func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush()
			w.Write(make([]byte, lookaside.MaxSignatureSize+1))
		}, 0, lookaside.ErrTooLarge},
		{"never ends", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "sig") }, 0, lookaside.ErrTooMany},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set(tc.handler)
			sigs, err := lookaside.Read(context.Background(), base, digest, lookaside.ReadOptions{})
			if tc.err == nil {
				if err != nil || len(sigs) != tc.want {
					t.Fatalf("%d signatures, %v", len(sigs), err)
				}
				return
			}
			var he *lookaside.HTTPError
			if _, isHTTP := tc.err.(*lookaside.HTTPError); isHTTP {
				if !errors.As(err, &he) || he.StatusCode != 500 {
					t.Errorf("%v, want HTTPError 500", err)
				}
			} else if !errors.Is(err, tc.err) {
				t.Errorf("%v, want %v", err, tc.err)
			}
			if sigs != nil {
				t.Errorf("partial list %d", len(sigs))
			}
		})
	}
	if _, err := lookaside.Read(context.Background(), &url.URL{Scheme: "ftp", Host: "x"}, digest, lookaside.ReadOptions{}); !errors.Is(err, lookaside.ErrUnsupportedScheme) {
		t.Errorf("ftp: %v", err)
	}
}

// A malformed registries.d file is reported at FILE:LINE:COL with the
// field path; unknown members stay ignored, as containers/image ignores
// them.
func TestRegistriesDErrorPosition(t *testing.T) {
	for name, tc := range map[string]struct{ doc, want string }{
		"a list for a base": {"docker:\n  r.example:\n    unknown: x\n    lookaside: [file:///a]\n", "a.yaml:4:16: docker.r.example.lookaside: want a string, got a list"},
		"attachments":       {"default-docker:\n  use-sigstore-attachments: sometimes\n", `a.yaml:2:29: default-docker.use-sigstore-attachments: want true or false, got "sometimes"`},
		"syntax":            {"docker:\n  r.example: {lookaside: file:///a\n  s.example: {}\n", "a.yaml:3: did not find expected ',' or '}'"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"a.yaml": tc.doc})
			_, err := lookaside.LoadDir(dir)
			want := filepath.Join(dir, tc.want)
			if err == nil || err.Error() != want || !errors.Is(err, lookaside.ErrConfig) {
				t.Errorf("got %v, want %s (ErrConfig)", err, want)
			}
		})
	}
	if c, err := lookaside.Parse(nil); err != nil || c == nil {
		t.Errorf("empty file: %v", err)
	}
}
