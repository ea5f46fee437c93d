package dct

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// limitTransport bounds every response body from the notary server by
// MaxMetadataSize (notary's own bound is 100 MiB for root and
// delegations), so an oversized document is refused while it is read.
type limitTransport struct{ rt http.RoundTripper }

func (l limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.rt.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	if resp.ContentLength > MaxMetadataSize {
		resp.Body.Close()
		return nil, fmt.Errorf("notary server response %s: %d bytes, more than %d", req.URL.Path, resp.ContentLength, MaxMetadataSize)
	}
	resp.Body = &limitBody{rc: resp.Body, left: MaxMetadataSize, path: req.URL.Path}
	return resp, nil
}

type limitBody struct {
	rc   io.ReadCloser
	left int64
	path string
}

func (b *limitBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, fmt.Errorf("notary server response %s: more than %d bytes", b.path, MaxMetadataSize)
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, fmt.Errorf("notary server response %s: more than %d bytes", b.path, MaxMetadataSize)
	}
	return n, err
}

func (b *limitBody) Close() error { return b.rc.Close() }

// Credential is a user name and password (or token) for a notary server.
type Credential struct {
	Username, Password string
	// IdentityToken is an OAuth2 refresh token (docker login's
	// "identitytoken" for registries that issue one): a token service
	// is then asked with grant_type=refresh_token, as docker does,
	// instead of HTTP Basic.
	IdentityToken string
}

// Empty says there is nothing to send.
func (c Credential) Empty() bool {
	return c.Username == "" && c.Password == "" && c.IdentityToken == ""
}

// tokenTransport answers a notary server's authentication challenge and
// retries the request once:
//
//   - Bearer (`WWW-Authenticate: Bearer realm=…,service=…,scope=…`, a
//     registry-style token service, as notary.docker.io sends even for
//     public repositories): a token is asked for from the realm — with the
//     credentials as HTTP Basic when there are any, as docker and the
//     notary client do, else anonymously;
//   - Basic: the credentials as HTTP Basic.
//
// Credentials are never sent over plain HTTP except to a loopback host.
// Only requests without a body are retried; verification only reads.
type tokenTransport struct {
	rt    http.RoundTripper
	creds func(ctx context.Context, host string) (Credential, error)
	mu    sync.Mutex
	auth  map[string]string // notary server host → Authorization value
	// failed is the last authentication failure, for the caller: the
	// notary client reports transport errors without wrapping them.
	failed error
}

// authError is the authentication failure rt (a transport made by
// transport) met, if any.
func authError(rt http.RoundTripper) error {
	l, ok := rt.(limitTransport)
	if !ok {
		return nil
	}
	t, ok := l.rt.(*tokenTransport)
	if !ok {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

// fail records and returns an authentication failure.
func (t *tokenTransport) fail(err error) error {
	if errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrUsage) {
		t.mu.Lock()
		t.failed = err
		t.mu.Unlock()
	}
	return err
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	key := req.URL.Host
	t.mu.Lock()
	authz := t.auth[key]
	t.mu.Unlock()
	if authz != "" {
		req = withAuthorization(req, authz)
	}
	resp, err := t.rt.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || req.Body != nil {
		return resp, err
	}
	challenge := resp.Header.Get("WWW-Authenticate")
	cred, err := t.credential(req)
	if err != nil {
		resp.Body.Close()
		return nil, t.fail(fmt.Errorf("%w: %w", ErrUnauthorized, err))
	}
	if params, ok := bearerChallenge(challenge); ok {
		resp.Body.Close()
		tok, err := t.fetchToken(req, params, cred)
		if err != nil {
			return nil, t.fail(err)
		}
		authz = "Bearer " + tok
	} else if isBasicChallenge(challenge) && (cred.Username != "" || cred.Password != "") {
		resp.Body.Close()
		if err := plainHTTPAllowed(req.URL); err != nil {
			return nil, t.fail(err)
		}
		authz = "Basic " + base64.StdEncoding.EncodeToString([]byte(cred.Username+":"+cred.Password))
	} else {
		if isBasicChallenge(challenge) {
			resp.Body.Close()
			return nil, t.fail(fmt.Errorf("%w: notary server %s asks for credentials (HTTP Basic) and none were given", ErrUnauthorized, req.URL.Host))
		}
		return resp, nil
	}
	t.mu.Lock()
	if t.auth == nil {
		t.auth = map[string]string{}
	}
	t.auth[key] = authz
	t.mu.Unlock()
	resp, err = t.rt.RoundTrip(withAuthorization(req, authz))
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		resp.Body.Close()
		who := "anonymous access"
		if !cred.Empty() {
			who = "the credentials given for user " + strconvQuote(cred.Username)
		}
		return nil, t.fail(fmt.Errorf("%w: notary server %s refused %s", ErrUnauthorized, req.URL.Host, who))
	}
	return resp, err
}

func (t *tokenTransport) credential(req *http.Request) (Credential, error) {
	if t.creds == nil {
		return Credential{}, nil
	}
	c, err := t.creds(req.Context(), req.URL.Host)
	if err != nil {
		return Credential{}, fmt.Errorf("credentials for notary server %s: %w", req.URL.Host, err)
	}
	return c, nil
}

// plainHTTPAllowed refuses to send credentials over plain HTTP, except
// to a loopback host (a local notary server or test).
func plainHTTPAllowed(u *url.URL) error {
	if u.Scheme == "https" {
		return nil
	}
	h := u.Hostname()
	if h == "localhost" {
		return nil
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%w: not sending credentials over plain HTTP to %s", ErrUsage, u.Host)
}

func isBasicChallenge(h string) bool {
	scheme, _, _ := strings.Cut(strings.TrimSpace(h), " ")
	return strings.EqualFold(scheme, "basic")
}

func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }

func withAuthorization(req *http.Request, v string) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", v)
	return r
}

// maxTokenResponse bounds a token server's answer.
const maxTokenResponse = 1 << 20

func (t *tokenTransport) fetchToken(req *http.Request, p map[string]string, cred Credential) (string, error) {
	realm, err := url.Parse(p["realm"])
	if err != nil || (realm.Scheme != "https" && realm.Scheme != "http") || realm.Host == "" {
		return "", fmt.Errorf("notary server %s: bearer challenge with realm %q", req.URL.Host, p["realm"])
	}
	if realm.Scheme == "http" && req.URL.Scheme == "https" {
		return "", fmt.Errorf("notary server %s: token realm %s is not https", req.URL.Host, realm)
	}
	q := realm.Query()
	for _, k := range []string{"service", "scope"} {
		if v := p[k]; v != "" {
			q.Set(k, v)
		}
	}
	if !cred.Empty() {
		if err := plainHTTPAllowed(realm); err != nil {
			return "", err
		}
	}
	var treq *http.Request
	if cred.IdentityToken != "" {
		// The OAuth2 refresh-token grant of the distribution token
		// specification, as docker sends it.
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {cred.IdentityToken}, "client_id": {"toto"}}
		for _, k := range []string{"service", "scope"} {
			if v := p[k]; v != "" {
				form.Set(k, v)
			}
		}
		treq, err = http.NewRequestWithContext(req.Context(), http.MethodPost, realm.String(), strings.NewReader(form.Encode()))
		if err != nil {
			return "", err
		}
		treq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		realm.RawQuery = q.Encode()
		treq, err = http.NewRequestWithContext(req.Context(), http.MethodGet, realm.String(), nil)
		if err != nil {
			return "", err
		}
		if !cred.Empty() {
			treq.SetBasicAuth(cred.Username, cred.Password)
		}
	}
	resp, err := t.rt.RoundTrip(treq)
	if err != nil {
		return "", fmt.Errorf("token from %s: %w", realm.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		if cred.Empty() {
			return "", fmt.Errorf("%w: token from %s: HTTP %d for anonymous access (the repository may be private: give credentials)", ErrUnauthorized, realm.Host, resp.StatusCode)
		}
		return "", fmt.Errorf("%w: token from %s: HTTP %d for user %q", ErrUnauthorized, realm.Host, resp.StatusCode, cred.Username)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token from %s: HTTP %d", realm.Host, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse+1))
	if err != nil {
		return "", fmt.Errorf("token from %s: %w", realm.Host, err)
	}
	if len(body) > maxTokenResponse {
		return "", fmt.Errorf("token from %s: more than %d bytes", realm.Host, maxTokenResponse)
	}
	var tr struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return "", fmt.Errorf("token from %s: %w", realm.Host, err)
	}
	if tr.Token == "" {
		tr.Token = tr.AccessToken
	}
	if tr.Token == "" {
		return "", fmt.Errorf("token from %s: no token in the answer", realm.Host)
	}
	return tr.Token, nil
}

// bearerChallenge parses `Bearer k="v",k2="v2"` (quoted or bare values).
func bearerChallenge(h string) (map[string]string, bool) {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return nil, false
	}
	out := map[string]string{}
	for rest = strings.TrimSpace(rest); rest != ""; {
		k, after, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		var v string
		if strings.HasPrefix(after, `"`) {
			end := strings.Index(after[1:], `"`)
			if end < 0 {
				return nil, false
			}
			v, rest = after[1:1+end], after[2+end:]
		} else {
			v, rest, _ = strings.Cut(after, ",")
			v = strings.TrimSpace(v)
		}
		out[k] = v
		rest = strings.TrimLeft(strings.TrimSpace(rest), ",")
		rest = strings.TrimSpace(rest)
	}
	return out, out["realm"] != ""
}
