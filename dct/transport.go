package dct

import (
	"encoding/json"
	"fmt"
	"io"
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

// tokenTransport answers a registry-style bearer challenge (a 401 with
// `WWW-Authenticate: Bearer realm=…,service=…,scope=…`, as
// notary.docker.io sends even for public repositories) by fetching an
// anonymous token from the realm and retrying the request once with it.
// Only requests without a body are retried; verification only reads.
type tokenTransport struct {
	rt    http.RoundTripper
	mu    sync.Mutex
	token map[string]string // notary server host → token
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	key := req.URL.Host
	t.mu.Lock()
	tok := t.token[key]
	t.mu.Unlock()
	if tok != "" {
		req = withBearer(req, tok)
	}
	resp, err := t.rt.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || req.Body != nil {
		return resp, err
	}
	params, ok := bearerChallenge(resp.Header.Get("WWW-Authenticate"))
	if !ok {
		return resp, nil
	}
	resp.Body.Close()
	tok, err = t.fetchToken(req, params)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	if t.token == nil {
		t.token = map[string]string{}
	}
	t.token[key] = tok
	t.mu.Unlock()
	return t.rt.RoundTrip(withBearer(req, tok))
}

func withBearer(req *http.Request, tok string) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

// maxTokenResponse bounds a token server's answer.
const maxTokenResponse = 1 << 20

func (t *tokenTransport) fetchToken(req *http.Request, p map[string]string) (string, error) {
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
	realm.RawQuery = q.Encode()
	treq, err := http.NewRequestWithContext(req.Context(), http.MethodGet, realm.String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := t.rt.RoundTrip(treq)
	if err != nil {
		return "", fmt.Errorf("token from %s: %w", realm.Host, err)
	}
	defer resp.Body.Close()
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
