package dct

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"

	"github.com/toto-dev/toto/decision"
)

// notaryFixtures is the notary module's fixtures/compatibility folder in
// the module cache (trust directories written by notary 0.1 and 0.3).
func notaryFixtures(t *testing.T) string {
	t.Helper()
	dir, err := fixturesDir()
	if err != nil {
		t.Skipf("notary module source not in the module cache: %v", err)
	}
	return dir
}

func fixturesDir() (string, error) {
	esc, err := module.EscapePath("github.com/theupdateframework/notary")
	if err != nil {
		return "", err
	}
	modcache := os.Getenv("GOMODCACHE")
	if modcache == "" {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			home, _ := os.UserHomeDir()
			gopath = filepath.Join(home, "go")
		}
		modcache = filepath.Join(strings.Split(gopath, string(os.PathListSeparator))[0], "pkg", "mod")
	}
	dir := filepath.Join(modcache, esc+"@v0.7.0", "fixtures", "compatibility")
	if _, err := os.Stat(dir); err != nil {
		return "", err
	}
	return dir, nil
}

// copyDir copies a trust directory to a writable temporary one (notary
// writes its cache there).
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

const licenseSHA = "sha256:9395bac6fccb26bcb55efb083d1b4b0fe72a1c25f959f056c016120b3bb56a62"

const emptySHA = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// TestCompatibilityFixtures reads the trust directories notary 0.1 and
// 0.3 wrote: every metadata file parses, targets sit in the roles the
// fixtures' README lists, and verification is refused with a clear
// error because their root certificates (ten years from 2016) expired.
func TestCompatibilityFixtures(t *testing.T) {
	fx := notaryFixtures(t)
	tests := []struct {
		dir, gun string
		targets  map[string]string // name → role
		expired  time.Time         // when the root certificate expires
	}{
		{"notary0.1", "docker.com/notary0.1/samplerepo", map[string]string{"LICENSE": "targets"}, time.Date(2116, 2, 5, 0, 58, 57, 0, time.UTC)},
		{"notary0.3", "docker.com/notary0.3/tst", map[string]string{"LICENSE": "targets", "change": "targets", "hello": "targets/releases"}, time.Date(2026, 7, 25, 22, 56, 32, 0, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			dir := copyDir(t, filepath.Join(fx, tc.dir))
			md, err := ReadMetadataDir(MetadataDir(dir, tc.gun))
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []string{"root", "targets", "snapshot", "timestamp"} {
				if md[r] == nil {
					t.Errorf("%s.json not read", r)
				}
			}
			for name, role := range tc.targets {
				m := md[role]
				if m == nil || m.Targets == nil {
					t.Fatalf("role %s not read", role)
				}
				if _, ok := m.Targets.Signed.Targets[name]; !ok {
					t.Errorf("%s not in %s", name, role)
				}
			}
			res, err := Lookup(tc.gun, "LICENSE", Options{TrustDir: dir})
			if time.Now().After(tc.expired) {
				if !errors.Is(err, ErrRootCert) || !errors.Is(err, ErrTrustData) || !strings.Contains(err.Error(), "expired on "+tc.expired.Format("2006-01-02")) {
					t.Fatalf("Lookup = %v, want an expired root certificate", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Digest != licenseSHA || res.Role != TargetsRole || res.Size != 11309 {
				t.Fatalf("LICENSE = %+v", res)
			}
			if len(res.Signatures) != 1 || res.Signatures[0].Role != TargetsRole || len(res.Signatures[0].KeyIDs) == 0 {
				t.Fatalf("signatures %+v", res.Signatures)
			}
			if _, err := Lookup(tc.gun, "nosuchtag", Options{TrustDir: dir}); !errors.Is(err, ErrNotSigned) {
				t.Fatalf("unsigned tag: %v", err)
			}
			if _, err := Lookup(tc.gun, "LICENSE", Options{TrustDir: dir, Signers: []string{"releases"}}); !errors.Is(err, ErrSigner) {
				t.Fatalf("required signer absent: %v", err)
			}
		})
	}
}

// TestRootCertID: a pinned root certificate must be valid now; its ID is
// the one notary records for the root key.
func TestRootCertID(t *testing.T) {
	fx := notaryFixtures(t)
	md, err := ReadMetadataDir(MetadataDir(filepath.Join(fx, "notary0.3"), "docker.com/notary0.3/tst"))
	if err != nil {
		t.Fatal(err)
	}
	root := md["root"].Root.Signed
	id := root.Roles["root"].KeyIDs[0]
	pemCert := root.Keys[id].Public()
	tests := []struct {
		name string
		pem  []byte
		now  time.Time
		want error
	}{
		{"valid in 2020", pemCert, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), nil},
		{"expired", pemCert, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), ErrRootCert},
		{"not yet valid", pemCert, time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC), ErrRootCert},
		{"no PEM", []byte("hello"), time.Time{}, ErrUsage},
		{"bad DER", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), time.Time{}, ErrUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RootCertID(tc.pem, tc.now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want == nil && got != id {
				t.Fatalf("ID = %s, want %s", got, id)
			}
		})
	}
}

// TestParseMetadataBad: malformed and oversized metadata is refused with
// ErrTrustData, saying which role.
func TestParseMetadataBad(t *testing.T) {
	tests := []struct {
		name, role, raw, want string
	}{
		{"not JSON", "root", "{", "not JSON"},
		{"no signed", "targets", `{"signatures":[]}`, "no \"signed\""},
		{"wrong type", "root", `{"signed":{"_type":"Targets","version":1,"expires":"2100-01-01T00:00:00Z"},"signatures":[]}`, "root"},
		{"lowercase type", "timestamp", `{"signed":{"_type":"timestamp","version":1,"expires":"2100-01-01T00:00:00Z","meta":{}},"signatures":[]}`, "timestamp"},
		{"snapshot without meta", "snapshot", `{"signed":{"_type":"Snapshot","version":1,"expires":"2100-01-01T00:00:00Z"},"signatures":[]}`, "snapshot"},
		{"not a role", "../root", `{"signed":{},"signatures":[]}`, "not a role"},
		{"oversized", "targets", strings.Repeat(" ", MaxMetadataSize+1), "more than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseMetadata(tc.role, []byte(tc.raw))
			if !errors.Is(err, ErrTrustData) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrTrustData with %q", err, tc.want)
			}
		})
	}
}

// TestOfflineMissingAndMalformed: offline verification of a repository
// without trust data, or with a malformed or oversized file, fails
// before notary reads it.
func TestOfflineMissingAndMalformed(t *testing.T) {
	fx := notaryFixtures(t)
	gun := "docker.com/notary0.3/tst"
	tests := []struct {
		name string
		edit func(t *testing.T, md string)
		want error
		gun  string
	}{
		{"no trust data", func(*testing.T, string) {}, ErrNotSigned, "docker.com/other/repo"},
		{"malformed delegation", func(t *testing.T, md string) {
			os.WriteFile(filepath.Join(md, "targets", "releases.json"), []byte(`{"signed":`), 0o644)
		}, ErrTrustData, gun},
		{"oversized snapshot", func(t *testing.T, md string) {
			os.WriteFile(filepath.Join(md, "snapshot.json"), make([]byte, MaxMetadataSize+1), 0o644)
		}, ErrTrustData, gun},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, filepath.Join(fx, "notary0.3"))
			tc.edit(t, MetadataDir(dir, gun))
			_, err := Lookup(tc.gun, "hello", Options{TrustDir: dir})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSignerRoleAndGUN(t *testing.T) {
	for in, want := range map[string]string{"alice": "targets/alice", "targets/releases": "targets/releases", "targets": "targets"} {
		if got := SignerRole(in); got != want {
			t.Errorf("SignerRole(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := Lookup("x/y", "t", Options{}); !errors.Is(err, ErrUsage) {
		t.Errorf("no trust dir: %v", err)
	}
}

// TestDecision: the tag's requirement and one per required signer.
func TestDecision(t *testing.T) {
	res := &Result{Image: "r/a", Digest: emptySHA, RequiredSigners: []string{"targets/alice", "targets/bob"}}
	tests := []struct {
		name    string
		err     error
		allowed bool
		out     []decision.Outcome
	}{
		{"verified", nil, true, []decision.Outcome{decision.Satisfied, decision.Satisfied, decision.Satisfied}},
		{"bob missing", errors.Join(wrapSigner("targets/bob")), false, []decision.Outcome{decision.Satisfied, decision.Satisfied, decision.Violated}},
		{"digest differs", ErrDigestMismatch, false, []decision.Outcome{decision.Violated, decision.Skipped, decision.Skipped}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Decision("r/a:1", res, tc.err)
			if d.Allowed() != tc.allowed || len(d.Requirements) != len(tc.out) {
				t.Fatalf("decision %+v", d)
			}
			for i, o := range tc.out {
				if d.Requirements[i].Outcome != o {
					t.Errorf("requirement %d = %s, want %s", i, d.Requirements[i].Outcome, o)
				}
			}
		})
	}
}

func wrapSigner(role string) error {
	return &signerError{role: role, err: fmt.Errorf("%w: %s did not sign r/a:1", ErrSigner, role)}
}

// TestServerBadMetadata: a notary server answering with malformed or
// oversized metadata, or an error, is refused with ErrTrustData.
func TestServerBadMetadata(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    error
		msg     string
	}{
		{"malformed root", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"signed":`) }, ErrTrustData, ""},
		{"oversized root, chunked", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Transfer-Encoding", "chunked")
			chunk := make([]byte, 1<<20)
			for i := 0; i <= MaxMetadataSize>>20; i++ {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, ErrTrustData, "more than"},
		{"server error", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }, ErrTrustData, ""},
		{"no trust data", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, ErrNotSigned, "no trust data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			_, err := Lookup("registry.example/app", "1", Options{Server: srv.URL, TrustDir: t.TempDir()})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %v with %q", err, tc.want, tc.msg)
			}
			t.Log(err)
		})
	}
}

// TestBearerToken: a notary server that challenges for a bearer token (as
// notary.docker.io does) gets an anonymous one from the realm, with the
// challenge's service and scope, and the read is retried with it.
func TestBearerToken(t *testing.T) {
	var srv *httptest.Server
	var tokenQuery string
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			tokenQuery = r.URL.RawQuery
			io.WriteString(w, `{"token":"t0k"}`)
			return
		}
		if r.Header.Get("Authorization") != "Bearer t0k" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+srv.URL+`/token",service="notary.example",scope="repository:registry.example/app:pull"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	_, err := Lookup("registry.example/app", "1", Options{Server: srv.URL, TrustDir: t.TempDir()})
	if !errors.Is(err, ErrNotSigned) {
		t.Fatalf("err = %v, want ErrNotSigned after authenticating", err)
	}
	if tokenQuery != "scope=repository%3Aregistry.example%2Fapp%3Apull&service=notary.example" {
		t.Fatalf("token query %q", tokenQuery)
	}
	for _, tc := range []struct {
		h    string
		ok   bool
		want map[string]string
	}{
		{`Bearer realm="https://auth.docker.io/token",service="notary.docker.io",scope="repository:docker.io/library/alpine:pull"`, true,
			map[string]string{"realm": "https://auth.docker.io/token", "service": "notary.docker.io", "scope": "repository:docker.io/library/alpine:pull"}},
		{`Bearer realm=https://a/t, service=s`, true, map[string]string{"realm": "https://a/t", "service": "s"}},
		{`Basic realm="x"`, false, nil},
		{`Bearer service="s"`, false, nil},
		{`Bearer realm="unterminated`, false, nil},
	} {
		got, ok := bearerChallenge(tc.h)
		if ok != tc.ok || (ok && fmt.Sprint(got) != fmt.Sprint(tc.want)) {
			t.Errorf("bearerChallenge(%q) = %v, %v", tc.h, got, ok)
		}
	}
}
