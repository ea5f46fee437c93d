package admission

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// ServeOptions say where and how ListenAndServe listens.
type ServeOptions struct {
	// Addr is the TLS address of the webhook, e.g. ":8443".
	Addr string
	// CertFile and KeyFile are the serving certificate (PEM) and its key.
	// They are read again when they change (certificate rotation).
	CertFile, KeyFile string
	// MetricsAddr, when set, serves /metrics, /healthz and /readyz over
	// plain HTTP there too (for a scraper without the webhook's CA).
	MetricsAddr string
	// ShutdownTimeout bounds the drain of reviews in flight after ctx is
	// done (default 20s).
	ShutdownTimeout time.Duration
	// DrainDelay is how long /readyz reports 503 before the listener
	// closes, so that endpoints drop this replica first (default 0).
	DrainDelay time.Duration
}

// ListenAndServe serves s over TLS until ctx is done, reloading the
// policy as its files change; then it drains: /readyz turns 503, reviews
// in flight are answered, and it returns nil.
func ListenAndServe(ctx context.Context, s *Server, opts ServeOptions) error {
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 20 * time.Second
	}
	certs := &certReloader{cert: opts.CertFile, key: opts.KeyFile}
	if _, err := certs.get(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("admission: listen %s: %w", opts.Addr, err)
	}
	srv := &http.Server{
		Handler: s.Handler(),
		TLSConfig: &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return certs.get() },
		},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	servers := []*http.Server{srv}
	errc := make(chan error, 2)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	s.log.Info("serving admission webhook", slog.String("addr", ln.Addr().String()))
	if opts.MetricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", s.MetricsHandler())
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
		mux.HandleFunc("GET /readyz", s.serveReady)
		mln, err := net.Listen("tcp", opts.MetricsAddr)
		if err != nil {
			srv.Close()
			return fmt.Errorf("admission: listen %s: %w", opts.MetricsAddr, err)
		}
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, msrv)
		go func() { errc <- msrv.Serve(mln) }()
		s.log.Info("serving metrics", slog.String("addr", mln.Addr().String()))
	}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go s.Watch(wctx)

	select {
	case err := <-errc:
		for _, x := range servers {
			x.Close()
		}
		s.Close()
		return fmt.Errorf("admission: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: draining reviews in flight")
	s.Drain()
	if opts.DrainDelay > 0 {
		time.Sleep(opts.DrainDelay)
	}
	sctx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	for _, x := range servers[1:] {
		x.Shutdown(sctx)
	}
	s.Close()
	if err != nil {
		return fmt.Errorf("admission: shutdown: %w", err)
	}
	s.log.Info("stopped")
	return nil
}

// certReloader gives the serving certificate, read again when its files'
// modification times change (checked at most once a second).
type certReloader struct {
	cert, key string

	mu      sync.Mutex
	c       *tls.Certificate
	stamp   string
	checked time.Time
}

func (r *certReloader) get() (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c != nil && time.Since(r.checked) < time.Second {
		return r.c, nil
	}
	r.checked = time.Now()
	stamp := fingerprint([]string{r.cert, r.key})
	if r.c != nil && stamp == r.stamp {
		return r.c, nil
	}
	c, err := tls.LoadX509KeyPair(r.cert, r.key)
	if err != nil {
		if r.c != nil {
			// Half-rotated files: keep serving the old pair.
			return r.c, nil
		}
		return nil, fmt.Errorf("admission: TLS certificate: %w", err)
	}
	r.c, r.stamp = &c, stamp
	return r.c, nil
}

// fingerprint summarises the names, sizes and modification times of the
// files under paths (symbolic links followed, as a Kubernetes ConfigMap
// or Secret volume swaps its ..data link on update). A path that cannot
// be read counts as its error, so that its return is a change too.
func fingerprint(paths []string) string {
	h := sha256.New()
	for _, root := range paths {
		st, err := os.Stat(root)
		if err != nil {
			fmt.Fprintf(h, "%s\x00err\x00%v\n", root, errors.Unwrap(err))
			continue
		}
		if !st.IsDir() {
			fmt.Fprintf(h, "%s\x00%d\x00%d\n", root, st.Size(), st.ModTime().UnixNano())
			continue
		}
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				fmt.Fprintf(h, "%s\x00err\n", p)
				return nil
			}
			st, err := os.Stat(p)
			if err != nil {
				fmt.Fprintf(h, "%s\x00err\n", p)
				return nil
			}
			fmt.Fprintf(h, "%s\x00%d\x00%d\x00%v\n", p, st.Size(), st.ModTime().UnixNano(), st.IsDir())
			return nil
		})
	}
	return string(h.Sum(nil))
}
