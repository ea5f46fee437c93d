//go:build interop

package dctinterop

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/toto-dev/toto/internal/oracle"
)

// authProxy puts a registry-style token service in front of the real
// notary-server, as a private repository's notary sits behind its
// registry's auth server: every request needs "Bearer tok-alice", which
// the proxy's /token realm gives for alice:s3cret as HTTP Basic
// (docker's token flow). notary-server itself cannot be configured for
// token auth without that auth server, so the proxy plays it.
func authProxy(t *testing.T, server string) (string, *[]string) {
	t.Helper()
	target, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	var log []string
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/token" && r.Method == http.MethodPost {
			// docker's refresh-token grant (an identitytoken in
			// config.json).
			ok := r.ParseForm() == nil && r.PostForm.Get("grant_type") == "refresh_token" && r.PostForm.Get("refresh_token") == "rt-alice"
			log = append(log, fmt.Sprintf("token refresh %v", ok))
			if !ok {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			w.Write([]byte(`{"access_token":"tok-alice"}`))
			return
		}
		if r.URL.Path == "/token" {
			user, pass, ok := r.BasicAuth()
			log = append(log, "token "+user)
			if !ok || user != "alice" || pass != "s3cret" {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			w.Write([]byte(`{"token":"tok-alice"}`))
			return
		}
		if r.Header.Get("Authorization") != "Bearer tok-alice" {
			log = append(log, "401 "+r.URL.Path)
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+srv.URL+`/token",service="notary",scope="repository:team/app:pull"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		log = append(log, "ok "+r.URL.Path)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &log
}

// TestPrivateRepository: trust data behind a token service is read with
// --dct-username/--dct-password-stdin, NOTARY_AUTH (the notary CLI's
// variable) or the Docker configuration's credentials for the server, and
// refused without credentials or with wrong ones. The real notary CLI
// reads the same trust data through the same proxy with NOTARY_AUTH, so
// the proxy speaks the flow notary's client speaks.
func TestPrivateRepository(t *testing.T) {
	toto := oracle.Toto(t)
	e := newEnv(t)
	d1, s1 := e.push("v1")
	e.sign("v1", d1, s1)
	proxy, log := authProxy(t, e.server)
	proxyHost := strings.TrimPrefix(proxy, "http://")
	alice := base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))

	// The notary CLI publishes through the proxy with NOTARY_AUTH (it
	// sends credentials for writes; reads it makes anonymously), and
	// not without: the proxy's flow is the one notary's client speaks.
	notary := oracle.Tool(t, "notary")
	cli := func(env []string, args ...string) oracle.Result {
		return oracle.Run(t, e.dir, append(env, oracle.NotaryPassphrases...), notary, append([]string{"-s", proxy, "-d", e.signerDir}, args...)...)
	}
	d2, s2 := e.push("v2")
	if r := cli(nil, "addhash", e.gun, "v2", fmt.Sprint(s2), "--sha256", strings.TrimPrefix(d2, "sha256:")); r.Err != nil {
		t.Fatalf("notary addhash: %v\n%s", r.Err, r.Stderr)
	}
	if r := cli(nil, "publish", e.gun); r.Err == nil {
		t.Fatalf("notary publish through the proxy without credentials succeeded:\n%s", r.Stdout)
	}
	if r := cli([]string{"NOTARY_AUTH=" + alice}, "publish", e.gun); r.Err != nil {
		t.Fatalf("notary publish through the proxy with NOTARY_AUTH: %v\n%s\n%s", r.Err, r.Stdout, r.Stderr)
	}

	dockerCfg := t.TempDir()
	if err := os.WriteFile(filepath.Join(dockerCfg, "config.json"), []byte(`{"auths":{"`+proxyHost+`":{"auth":"`+alice+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tokenCfg := t.TempDir()
	if err := os.WriteFile(filepath.Join(tokenCfg, "config.json"), []byte(`{"auths":{"`+proxyHost+`":{"auth":"`+base64.StdEncoding.EncodeToString([]byte("<token>:"))+`","identitytoken":"rt-alice"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(stdin string, env []string, args ...string) (string, int) {
		cmd := exec.Command(toto, append([]string{"image", "verify", "--dct-server", proxy, "--dct-trust-dir", t.TempDir()}, args...)...)
		cmd.Env = append(append(os.Environ(), "DOCKER_CONFIG="+t.TempDir()), env...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	ref := e.repo + ":v1"
	tests := []struct {
		name  string
		stdin string
		env   []string
		args  []string
		code  int
		want  string
	}{
		{"no credentials", "", nil, nil, 1, "HTTP 401 for anonymous access"},
		{"--dct-username", "s3cret\n", nil, []string{"--dct-username", "alice", "--dct-password-stdin"}, 0, "verified"},
		{"wrong password", "guess\n", nil, []string{"--dct-username", "alice", "--dct-password-stdin"}, 1, `HTTP 401 for user "alice"`},
		{"NOTARY_AUTH", "", []string{"NOTARY_AUTH=" + alice}, nil, 0, "verified"},
		{"bad NOTARY_AUTH", "", []string{"NOTARY_AUTH=alice:s3cret"}, nil, 2, "NOTARY_AUTH: want base64"},
		{"docker config", "", []string{"DOCKER_CONFIG=" + dockerCfg}, nil, 0, "verified"},
		{"docker config identity token", "", []string{"DOCKER_CONFIG=" + tokenCfg}, nil, 0, "verified"},
		{"published through the proxy", "s3cret", nil, []string{"--dct-username", "alice", "--dct-password-stdin", e.repo + ":v2"}, 0, "@" + d2},
		{"username without stdin", "", nil, []string{"--dct-username", "alice"}, 2, "needs --dct-password-stdin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if !strings.Contains(strings.Join(args, " "), e.repo) {
				args = append(args, ref)
			}
			out, code := run(tc.stdin, tc.env, args...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, want %d with %q\n%s", code, tc.code, tc.want, out)
			}
		})
	}
	if !strings.Contains(strings.Join(*log, "\n"), "ok /v2/"+e.gun+"/_trust/tuf/") {
		t.Fatalf("the proxy never passed trust data through:\n%s", strings.Join(*log, "\n"))
	}
}
