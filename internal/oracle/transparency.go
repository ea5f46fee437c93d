package oracle

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
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
	"time"
)

// Versions of the Sigstore servers the transparency tests run against,
// built by .ci/interop-deps.sh.
const (
	RekorServer     = "rekor-server-posix-v2.3.0"
	TimestampServer = "timestamp-server-v2.1.3"
)

// Rekor is a running Rekor v2 log.
type Rekor struct {
	// URL is the log's base URL, http://127.0.0.1:PORT: appends go to the
	// server (URL/api/v2/log/entries), everything else is read from
	// the tiles it writes (URL/checkpoint, URL/tile/...). Its host name,
	// 127.0.0.1, is the checkpoint origin.
	URL string
	// PublicKey is the log's checkpoint key.
	PublicKey ed25519.PublicKey
	// Dir holds the tiles and checkpoint.
	Dir string
}

// process runs a server until the test ends, keeping its output for
// failure messages.
type process struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t testing.TB, dir, bin string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	p := &process{cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

// waitHTTP polls url until it answers 200, the process exits or 30 s pass.
func (p *process) waitHTTP(t testing.TB, name, url string) {
	t.Helper()
	WaitHTTP(t, http.DefaultClient, name, url, p.done, p.logs.String)
}

// WaitHTTP polls url with client until it answers 200, fails the test if
// exited is closed first (nil: never) or 30 s pass; logs, if not nil,
// gives the server's output for the failure message.
func WaitHTTP(t testing.TB, client *http.Client, name, url string, exited <-chan struct{}, logs func() string) {
	t.Helper()
	out := func() string {
		if logs == nil {
			return ""
		}
		return logs()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		select {
		case <-exited:
			t.Fatalf("%s exited: %s", name, out())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s at %s did not answer: %v\n%s", name, url, err, out())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// RekorV2 starts rekor-tiles' POSIX server with a fresh Ed25519 key and
// storage in a temporary folder, checkpoint origin 127.0.0.1, and in front
// of it, on another free loopback port, an HTTP server that passes
// /api/ requests to it and serves the tiles folder for the rest (the
// server writes tiles but does not serve reads). Both stop when the test
// ends.
func RekorV2(t testing.TB) *Rekor {
	t.Helper()
	bin := Tool(t, RekorServer)
	dir := t.TempDir()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "ed25519.pem")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	tiles := filepath.Join(dir, "tiles")
	if err := os.Mkdir(tiles, 0o755); err != nil {
		t.Fatal(err)
	}
	httpPort := FreePort(t)
	p := start(t, dir, bin, "serve",
		"--hostname=127.0.0.1",
		"--storage-dir="+tiles,
		"--signer-filepath="+keyPath,
		"--http-address=127.0.0.1", fmt.Sprintf("--http-port=%d", httpPort),
		"--grpc-address=127.0.0.1", fmt.Sprintf("--grpc-port=%d", FreePort(t)),
		fmt.Sprintf("--http-metrics-port=%d", FreePort(t)),
		// Appends wait for the next checkpoint; the default is 10 s.
		"--checkpoint-interval=200ms",
		"--batch-max-age=50ms",
		"--log-level=warn",
	)
	api := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	p.waitHTTP(t, RekorServer, api+"/healthz")
	target, _ := url.Parse(api)
	proxy := httputil.NewSingleHostReverseProxy(target)
	files := http.FileServer(http.Dir(tiles))
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/healthz" {
			proxy.ServeHTTP(w, r)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	p.waitHTTP(t, RekorServer, front.URL+"/checkpoint")
	return &Rekor{URL: front.URL, PublicKey: pub, Dir: tiles}
}

// TSA is a running RFC 3161 timestamp authority.
type TSA struct {
	// URL is the timestamp endpoint (.../api/v1/timestamp).
	URL string
	// CertChainURL serves the TSA's chain, PEM, leaf first.
	CertChainURL string
}

// TimestampAuthority starts sigstore's timestamp-server on a free
// loopback port with an in-memory signer (a fresh chain each run) and
// without NTP monitoring. It stops when the test ends.
func TimestampAuthority(t testing.TB) *TSA {
	t.Helper()
	bin := Tool(t, TimestampServer)
	port := FreePort(t)
	p := start(t, t.TempDir(), bin, "serve",
		"--host=127.0.0.1", fmt.Sprintf("--port=%d", port),
		"--timestamp-signer=memory",
		"--disable-ntp-monitoring",
		"--include-chain-in-response",
	)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	p.waitHTTP(t, TimestampServer, base+"/ping")
	return &TSA{URL: base + "/api/v1/timestamp", CertChainURL: base + "/api/v1/timestamp/certchain"}
}
