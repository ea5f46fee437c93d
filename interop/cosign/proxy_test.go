//go:build interop

package cosign

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
)

// proxy is a reverse proxy on 127.0.0.1 in front of the real registry. It
// counts the requests clients make, and can answer some requests itself
// instead of forwarding them (a registry that drops writes).
type proxy struct {
	host string // 127.0.0.1:PORT, what clients are pointed at

	mu     sync.Mutex
	counts map[string]int // "METHOD /v2/..." -> requests
	total  int
	drop   func(r *http.Request) bool
}

// newProxy starts a proxy to the registry at host. drop, when not nil,
// picks requests the proxy answers 201 Created without forwarding them.
func newProxy(t *testing.T, host string, drop func(r *http.Request) bool) *proxy {
	t.Helper()
	p := &proxy{counts: map[string]int{}, drop: drop}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.counts[r.Method+" "+r.URL.Path]++
		p.total++
		p.mu.Unlock()
		if p.drop != nil && p.drop(r) {
			w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("0", 64))
			w.WriteHeader(http.StatusCreated)
			return
		}
		// The registry names itself in Location headers; clients follow
		// them relative to the host they asked, so rewrite them back.
		rp.ServeHTTP(w, r)
	}))
	rp.ModifyResponse = func(resp *http.Response) error {
		if loc := resp.Header.Get("Location"); loc != "" {
			resp.Header.Set("Location", strings.Replace(loc, "://"+host, "://"+srv.Listener.Addr().String(), 1))
		}
		return nil
	}
	t.Cleanup(srv.Close)
	p.host = srv.Listener.Addr().String()
	return p
}

// reset zeroes the counters.
func (p *proxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts, p.total = map[string]int{}, 0
}

// stats returns the total, the /v2/ pings, and the requests made more
// than once (a repeated GET of one manifest, say).
func (p *proxy) stats() (total, pings int, repeated []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, n := range p.counts {
		if n > 1 && k != "GET /v2/" {
			repeated = append(repeated, fmt.Sprintf("%s ×%d", k, n))
		}
	}
	sort.Strings(repeated)
	return p.total, p.counts["GET /v2/"], repeated
}

// summary is a one-line account for logs.
func (p *proxy) summary() string {
	p.mu.Lock()
	byKind := map[string]int{}
	for k, n := range p.counts {
		method, path, _ := strings.Cut(k, " ")
		kind := "other"
		switch {
		case path == "/v2/":
			kind = "ping"
		case strings.Contains(path, "/manifests/"):
			kind = "manifest"
		case strings.Contains(path, "/blobs/"):
			kind = "blob"
		case strings.Contains(path, "/referrers/"):
			kind = "referrers"
		}
		byKind[method+" "+kind] += n
	}
	p.mu.Unlock()
	var parts []string
	for k, n := range byKind {
		parts = append(parts, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(parts)
	total, _, _ := p.stats()
	return fmt.Sprintf("%d requests (%s)", total, strings.Join(parts, ", "))
}
