package dct

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// authServer is a notary server stand-in on 127.0.0.1 that demands
// credentials: with bearer, a token from its /token realm, which asks
// for alice:s3cret as HTTP Basic; else HTTP Basic directly. Behind the
// challenge it answers 404 (no trust data), which Lookup reports as
// ErrNotSigned: the request got through.
func authServer(t *testing.T, bearer bool) (*httptest.Server, *[]string) {
	var srv *httptest.Server
	var seen []string
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if r.URL.Path == "/token" {
			seen = append(seen, "token:"+user)
			if !ok || user != "alice" || pass != "s3cret" {
				http.Error(w, "bad credentials", http.StatusUnauthorized)
				return
			}
			w.Write([]byte(`{"token":"t0k-alice"}`))
			return
		}
		authorized := r.Header.Get("Authorization") == "Bearer t0k-alice"
		if !bearer {
			authorized = ok && user == "alice" && pass == "s3cret"
		}
		if !authorized {
			if bearer {
				w.Header().Set("WWW-Authenticate", `Bearer realm="`+srv.URL+`/token",service="notary",scope="repository:registry.example/private:pull"`)
			} else {
				w.Header().Set("WWW-Authenticate", `Basic realm="notary"`)
			}
			seen = append(seen, "401")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		seen = append(seen, "ok")
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func static(c Credential) func(context.Context, string) (Credential, error) {
	return func(context.Context, string) (Credential, error) { return c, nil }
}

// TestCredentials: a private repository's notary server is read with the
// credentials given — as a token service's Basic credentials, or as
// HTTP Basic — and without them, or with wrong ones, the error is
// ErrUnauthorized (in ErrTrustData) and says which.
func TestCredentials(t *testing.T) {
	good, bad := Credential{Username: "alice", Password: "s3cret"}, Credential{Username: "alice", Password: "guess"}
	for _, bearer := range []bool{true, false} {
		tests := []struct {
			name  string
			creds func(context.Context, string) (Credential, error)
			want  error
			msg   string
		}{
			{"right credentials", static(good), ErrNotSigned, ""},
			{"none", nil, ErrUnauthorized, map[bool]string{true: "HTTP 401 for anonymous access (the repository may be private: give credentials)", false: "asks for credentials (HTTP Basic) and none were given"}[bearer]},
			{"wrong password", static(bad), ErrUnauthorized, `"alice"`},
			{"credential source fails", func(context.Context, string) (Credential, error) { return Credential{}, errors.New("helper broke") }, ErrUnauthorized, "helper broke"},
		}
		for _, tc := range tests {
			name := tc.name + map[bool]string{true: ", token service", false: ", basic"}[bearer]
			t.Run(name, func(t *testing.T) {
				srv, seen := authServer(t, bearer)
				var hosts []string
				creds := tc.creds
				if creds != nil {
					creds = func(ctx context.Context, host string) (Credential, error) {
						hosts = append(hosts, host)
						return tc.creds(ctx, host)
					}
				}
				_, err := Lookup("registry.example/private", "1", Options{Server: srv.URL, TrustDir: t.TempDir(), Credentials: creds})
				if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("err = %v, want %v with %q (server saw %v)", err, tc.want, tc.msg, *seen)
				}
				if tc.want == ErrUnauthorized && !errors.Is(err, ErrTrustData) {
					t.Fatalf("err = %v, not in ErrTrustData", err)
				}
				u, _ := url.Parse(srv.URL)
				if creds != nil && (len(hosts) == 0 || hosts[0] != u.Host) {
					t.Fatalf("credentials asked for %v, want %s", hosts, u.Host)
				}
				if tc.want == ErrNotSigned && bearer && !strings.Contains(strings.Join(*seen, ","), "token:alice") {
					t.Fatalf("token service saw %v", *seen)
				}
			})
		}
	}
}

// Credentials go over plain HTTP only to loopback hosts.
func TestCredentialsPlainHTTP(t *testing.T) {
	for in, ok := range map[string]bool{
		"https://notary.example/x": true, "http://127.0.0.1:4443/x": true, "http://localhost/x": true,
		"http://[::1]:1/x": true, "http://notary.example/x": false, "http://10.0.0.1/x": false,
	} {
		u, _ := url.Parse(in)
		if err := plainHTTPAllowed(u); (err == nil) != ok || (err != nil && !errors.Is(err, ErrUsage)) {
			t.Errorf("%s: %v", in, err)
		}
	}
	// A realm on plain HTTP elsewhere is refused before anything is sent.
	var sent bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			sent = true
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="http://auth.example.invalid/token",service="notary"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	_, err := Lookup("registry.example/private", "1", Options{Server: srv.URL, TrustDir: t.TempDir(), Credentials: static(Credential{Username: "a", Password: "b"})})
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "plain HTTP to auth.example.invalid") || sent {
		t.Fatalf("err = %v, credentials sent %v", err, sent)
	}
}

// An identity token (docker login's OAuth2 refresh token) is exchanged at
// the realm with the refresh-token grant, as docker does.
func TestCredentialsIdentityToken(t *testing.T) {
	var srv *httptest.Server
	var form url.Values
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			if r.Method != http.MethodPost || r.ParseForm() != nil {
				http.Error(w, "want POST", http.StatusMethodNotAllowed)
				return
			}
			form = r.PostForm
			if form.Get("grant_type") != "refresh_token" || form.Get("refresh_token") != "rt-alice" {
				http.Error(w, "bad grant", http.StatusUnauthorized)
				return
			}
			w.Write([]byte(`{"access_token":"t0k-alice"}`))
			return
		}
		if r.Header.Get("Authorization") != "Bearer t0k-alice" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+srv.URL+`/token",service="notary",scope="repository:registry.example/private:pull"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	_, err := Lookup("registry.example/private", "1", Options{Server: srv.URL, TrustDir: t.TempDir(), Credentials: static(Credential{Username: "<token>", IdentityToken: "rt-alice"})})
	if !errors.Is(err, ErrNotSigned) {
		t.Fatalf("err = %v, want ErrNotSigned after the refresh-token grant", err)
	}
	if form.Get("service") != "notary" || form.Get("scope") != "repository:registry.example/private:pull" || form.Get("client_id") == "" {
		t.Fatalf("form %v", form)
	}
	_, err = Lookup("registry.example/private", "1", Options{Server: srv.URL, TrustDir: t.TempDir(), Credentials: static(Credential{IdentityToken: "revoked"})})
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("revoked identity token: %v", err)
	}
}
