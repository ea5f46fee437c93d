package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/singleflight"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/image"
)

// Options configure a Server.
type Options struct {
	// Load loads the policy (required).
	Load Loader
	// Watch are the files and folders whose change triggers a reload
	// (the policy path, the secrets folder). Empty: no reloading.
	Watch []string
	// PollInterval is how often Watch is checked (default 2s).
	PollInterval time.Duration
	// Timeout bounds one review (default 8s). A review whose URL carries
	// the API server's ?timeout= gets less: that timeout less a margin,
	// so the answer arrives before the API server gives up.
	Timeout time.Duration
	// CacheTTL is how long an allowed image's verdict is kept (0: not
	// cached). DenyCacheTTL bounds it for denied images (default
	// min(CacheTTL, 10s)).
	CacheTTL, DenyCacheTTL time.Duration
	// CacheSize bounds the cached verdicts (default 10000).
	CacheSize int
	// Logger receives structured logs (default: discarded).
	Logger *slog.Logger
}

// policy is one loaded generation of the policy.
type policy struct {
	gen      uint64
	eval     Evaluator
	loadedAt time.Time
}

// Server answers admission reviews. Create it with New; serve
// s.Handler() (or call ListenAndServe), and run s.Watch for reloads.
type Server struct {
	opts    Options
	log     *slog.Logger
	m       *metrics
	cache   *cache
	flights singleflight.Group
	// base is cancelled when the server stops: verifications shared
	// between requests run under it, not under any one request.
	base     context.Context
	stopBase context.CancelFunc

	cur      atomic.Pointer[policy]
	draining atomic.Bool

	mu        sync.Mutex // guards reloadErr, reloadAt
	reloadErr error
	reloadAt  time.Time
}

// New loads the policy once (an error here is the caller's to report: a
// webhook must not start without a policy) and returns the server.
func New(opts Options) (*Server, error) {
	if opts.Load == nil {
		return nil, errors.New("admission: Options.Load is required")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 8 * time.Second
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 2 * time.Second
	}
	if opts.DenyCacheTTL <= 0 {
		opts.DenyCacheTTL = min(opts.CacheTTL, 10*time.Second)
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = 10000
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ev, err := opts.Load()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, log: opts.Logger, m: newMetrics(), cache: newCache(opts.CacheTTL, opts.DenyCacheTTL, opts.CacheSize)}
	s.base, s.stopBase = context.WithCancel(context.Background())
	s.cur.Store(&policy{gen: 1, eval: ev, loadedAt: time.Now()})
	s.m.generation.Set(1)
	return s, nil
}

// Handler serves POST /validate (the webhook; /mutate is the same),
// /healthz, /readyz and /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /validate", s.serveReview)
	mux.HandleFunc("POST /mutate", s.serveReview)
	mux.HandleFunc("POST /", s.serveReview)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", s.serveReady)
	mux.Handle("GET /metrics", s.MetricsHandler())
	return mux
}

// MetricsHandler serves the Prometheus metrics alone.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{})
}

// Readiness is what /readyz reports.
type Readiness struct {
	Ready            bool      `json:"ready"`
	PolicyGeneration uint64    `json:"policyGeneration"`
	PolicyLoadedAt   time.Time `json:"policyLoadedAt"`
	// LastReloadError is set while the policy files on disk do not
	// load; the policy of PolicyGeneration stays in force.
	LastReloadError string    `json:"lastReloadError,omitempty"`
	LastReloadAt    time.Time `json:"lastReloadAt,omitzero"`
	Draining        bool      `json:"draining,omitempty"`
}

// Readiness reports the server's state.
func (s *Server) Readiness() Readiness {
	p := s.cur.Load()
	r := Readiness{Ready: !s.draining.Load(), PolicyGeneration: p.gen, PolicyLoadedAt: p.loadedAt, Draining: s.draining.Load()}
	s.mu.Lock()
	if s.reloadErr != nil {
		r.LastReloadError = s.reloadErr.Error()
	}
	r.LastReloadAt = s.reloadAt
	s.mu.Unlock()
	return r
}

// serveReady is ready while a policy is in force (there always is one
// after New) and the server is not draining. A failed reload does not
// make it unready: the last good policy still serves, and taking every
// replica out of the Service for a bad edit would fail every admission.
func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request) {
	r := s.Readiness()
	w.Header().Set("Content-Type", "application/json")
	if !r.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(r)
}

// maxReviewSize bounds a review body: the API server's own request limit
// is 3 MiB, and a review carries the object and the old object.
const maxReviewSize = 8 << 20

func (s *Server) serveReview(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.m.inFlight.Inc()
	defer s.m.inFlight.Dec()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxReviewSize))
	if err != nil {
		s.invalid(w, start, fmt.Errorf("read review: %w", err))
		return
	}
	var in admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &in); err != nil {
		s.invalid(w, start, fmt.Errorf("decode AdmissionReview: %w", err))
		return
	}
	if in.APIVersion != admissionv1.SchemeGroupVersion.String() || in.Kind != "AdmissionReview" {
		s.invalid(w, start, fmt.Errorf("want apiVersion %s kind AdmissionReview, got %q %q", admissionv1.SchemeGroupVersion, in.APIVersion, in.Kind))
		return
	}
	if in.Request == nil {
		s.invalid(w, start, errors.New("AdmissionReview has no request"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.deadline(r))
	defer cancel()
	resp, info := s.Review(ctx, in.Request)
	out := admissionv1.AdmissionReview{TypeMeta: in.TypeMeta, Response: resp}
	data, err := json.Marshal(out)
	if err != nil {
		s.invalid(w, start, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(data)

	outcome := "denied"
	if resp.Allowed {
		outcome = "allowed"
		if resp.Patch != nil {
			outcome = "allowed_patched"
		}
	}
	d := time.Since(start)
	s.m.decisions.WithLabelValues(outcome).Inc()
	s.m.duration.WithLabelValues(outcome).Observe(d.Seconds())
	req := in.Request
	attrs := []any{
		slog.String("uid", string(req.UID)), slog.String("operation", string(req.Operation)),
		slog.String("kind", gvkString(req.Kind)), slog.String("namespace", req.Namespace), slog.String("name", req.Name),
		slog.Bool("allowed", resp.Allowed), slog.Bool("patched", resp.Patch != nil),
		slog.Any("images", info.images), slog.Int("cached", info.cached),
		slog.Uint64("policyGeneration", info.gen), slog.Duration("duration", d),
	}
	if resp.Result != nil && resp.Result.Message != "" {
		attrs = append(attrs, slog.String("reason", resp.Result.Message))
	}
	if len(resp.Warnings) > 0 {
		attrs = append(attrs, slog.Any("warnings", resp.Warnings))
	}
	if len(info.audits) > 0 {
		attrs = append(attrs, slog.Any("audits", info.audits))
	}
	s.log.Info("admission review", attrs...)
}

func (s *Server) invalid(w http.ResponseWriter, start time.Time, err error) {
	s.m.decisions.WithLabelValues("invalid").Inc()
	s.m.duration.WithLabelValues("invalid").Observe(time.Since(start).Seconds())
	s.log.Warn("invalid admission review", slog.String("error", err.Error()))
	http.Error(w, err.Error(), http.StatusBadRequest)
}

// deadline is the time one review may take: Options.Timeout, or less when
// the API server says (in ?timeout=, as kube-apiserver adds to webhook
// calls) that it waits less. The margin leaves time for the answer to
// travel back before the API server's own deadline.
func (s *Server) deadline(r *http.Request) time.Duration {
	d := s.opts.Timeout
	if q := r.URL.Query().Get("timeout"); q != "" {
		if api, err := time.ParseDuration(q); err == nil && api > 0 {
			margin := max(api/10, 500*time.Millisecond)
			d = min(d, max(api-margin, api/2))
		}
	}
	return d
}

// reviewInfo is what a review did, for its log line.
type reviewInfo struct {
	images []string
	cached int
	gen    uint64
	// audits are audit-action violations: logged, never shown to the
	// user nor denied.
	audits []string
}

// Review answers one admission request within ctx's deadline.
func (s *Server) Review(ctx context.Context, req *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, reviewInfo) {
	resp := &admissionv1.AdmissionResponse{UID: req.UID}
	p := s.cur.Load()
	info := reviewInfo{gen: p.gen}
	deny := func(msg string) (*admissionv1.AdmissionResponse, reviewInfo) {
		resp.Allowed = false
		resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden, Message: msg}
		return resp, info
	}
	switch req.Operation {
	case admissionv1.Create, admissionv1.Update:
	default:
		// DELETE and CONNECT bring no new image.
		resp.Allowed = true
		return resp, info
	}
	containers, err := Containers(req.Kind, req.Object.Raw)
	if err != nil {
		return deny("toto admission: " + err.Error())
	}
	// On UPDATE, images the old object already ran were admitted then;
	// only new ones are judged, so that a label change or a scale-down
	// is not blocked by a policy that changed since.
	old := map[string]bool{}
	if req.Operation == admissionv1.Update && len(req.OldObject.Raw) > 0 {
		if prev, err := Containers(req.Kind, req.OldObject.Raw); err == nil {
			for _, c := range prev {
				old[c.Image] = true
			}
		}
	}
	var judge []Container
	seen := map[string]bool{}
	for _, c := range containers {
		if old[c.Image] {
			continue
		}
		judge = append(judge, c)
		if !seen[c.Image] {
			seen[c.Image] = true
			info.images = append(info.images, c.Image)
		}
	}
	if len(judge) == 0 {
		resp.Allowed = true
		return resp, info
	}
	results := make([]imageResult, len(info.images))
	var wg sync.WaitGroup
	for i, img := range info.images {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = s.judge(ctx, p, req.Namespace, img)
		}()
	}
	wg.Wait()
	byImage := map[string]imageResult{}
	for i, img := range info.images {
		byImage[img] = results[i]
		if results[i].cached {
			info.cached++
		}
	}

	var denials []string
	var warnings []string
	warned := map[string]bool{}
	for _, c := range judge {
		r := byImage[c.Image]
		where := fmt.Sprintf("%s %q", strings.TrimSuffix(c.Kind, "s"), c.Name)
		switch {
		case r.err != nil:
			denials = append(denials, fmt.Sprintf("%s image %q: %v", where, c.Image, r.err))
		case !r.v.Decision.Allowed():
			denials = append(denials, fmt.Sprintf("%s image %q denied by policy %s: %s", where, c.Image, policyName(r.v), denialText(r.v.Decision)))
		}
		if r.err == nil && !warned[c.Image] {
			warned[c.Image] = true
			for _, w := range r.v.Decision.Warnings() {
				warnings = append(warnings, fmt.Sprintf("image %q, policy %s: %s %s: %s", c.Image, policyName(r.v), w.Name, w.Outcome, w.Reason))
			}
			for _, a := range r.v.Decision.Audits() {
				info.audits = append(info.audits, fmt.Sprintf("image %q, policy %s: %s %s: %s", c.Image, policyName(r.v), a.Name, a.Outcome, a.Reason))
			}
		}
	}
	resp.Warnings = warnings
	if len(denials) > 0 {
		return deny("toto admission: " + strings.Join(denials, "; "))
	}
	resp.Allowed = true
	var patch []patchOp
	for _, c := range judge {
		r := byImage[c.Image]
		if r.v.Mutate && r.v.Pinned != "" && r.v.Pinned != c.Image {
			patch = append(patch, patchOp{Op: "replace", Path: c.Path, Value: r.v.Pinned})
		}
	}
	if len(patch) > 0 {
		data, err := json.Marshal(patch)
		if err != nil {
			return deny("toto admission: " + err.Error())
		}
		pt := admissionv1.PatchTypeJSONPatch
		resp.Patch, resp.PatchType = data, &pt
	}
	return resp, info
}

// patchOp is one RFC 6902 operation.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value"`
}

func policyName(v *Verdict) string {
	if v.Policy == "" {
		return "(unnamed)"
	}
	return fmt.Sprintf("%q", v.Policy)
}

// denialText names each enforced requirement that failed, and why.
func denialText(d *decision.Decision) string {
	ds := d.Denials()
	if len(ds) == 0 {
		return "no requirement of the policy applies, so nothing allows it"
	}
	parts := make([]string, len(ds))
	for i, r := range ds {
		parts[i] = fmt.Sprintf("requirement %q %s: %s", r.Name, r.Outcome, r.Reason)
		if leaves := failedLeaves(r, nil); len(leaves) > 0 {
			parts[i] += " (" + strings.Join(leaves, "; ") + ")"
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// failedLeaves names the checks under a failed combination that did not
// hold, and why: "0 of 3 requirements satisfied" alone does not say what
// to fix.
func failedLeaves(r decision.Requirement, out []string) []string {
	for _, c := range r.Children {
		switch {
		case c.Outcome == decision.Satisfied:
		case len(c.Children) > 0:
			out = failedLeaves(c, out)
		default:
			out = append(out, fmt.Sprintf("%s: %s", c.Name, c.Reason))
		}
	}
	return out
}

type imageResult struct {
	v      *Verdict
	err    error
	cached bool
}

// judge returns the verdict on one image: from the cache, from a
// verification already in flight for the same key, or a new one. A
// verification runs under the server's context with Options.Timeout,
// not under the request's (whose deadline may be shorter and which other
// requests may join); the request stops waiting at its own deadline.
func (s *Server) judge(ctx context.Context, p *policy, namespace, img string) imageResult {
	if img == "" {
		return imageResult{err: errors.New("empty image reference")}
	}
	// An OCI layout names a folder on the webhook's disk, not an image a
	// node can pull: reading it would let any namespace user probe the
	// webhook's files.
	if strings.HasPrefix(img, image.LayoutPrefix) {
		return imageResult{err: fmt.Errorf("not a registry image: %s names a local OCI layout", image.LayoutPrefix)}
	}
	k := cacheKey{gen: p.gen, namespace: namespace, image: img}
	if v, ok := s.cache.get(k); ok {
		s.m.cacheHits.Inc()
		s.countVerdict(v, nil)
		return imageResult{v: v, cached: true}
	}
	s.m.cacheMisses.Inc()
	key := fmt.Sprintf("%d\x00%s\x00%s", p.gen, namespace, img)
	ch := s.flights.DoChan(key, func() (any, error) {
		s.m.verifications.Inc()
		vctx, cancel := context.WithTimeout(s.base, s.opts.Timeout)
		defer cancel()
		v, err := p.eval.Evaluate(vctx, namespace, img)
		if err == nil && (v == nil || v.Decision == nil) {
			err = errors.New("the policy gave no decision")
		}
		if err != nil {
			if vctx.Err() != nil {
				err = fmt.Errorf("verification did not finish within %s (registry slow or unreachable): %w", s.opts.Timeout, err)
			}
			return nil, err
		}
		s.cache.put(k, v)
		return v, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			s.countVerdict(nil, r.Err)
			return imageResult{err: r.Err}
		}
		v := r.Val.(*Verdict)
		s.countVerdict(v, nil)
		return imageResult{v: v}
	case <-ctx.Done():
		err := fmt.Errorf("verification did not finish before the review's deadline (registry slow or unreachable); denied: %w", context.Cause(ctx))
		s.countVerdict(nil, err)
		return imageResult{err: err}
	}
}

func (s *Server) countVerdict(v *Verdict, err error) {
	switch {
	case err != nil:
		s.m.images.WithLabelValues("error").Inc()
	case v.Decision.Allowed():
		s.m.images.WithLabelValues("allowed").Inc()
	default:
		s.m.images.WithLabelValues("denied").Inc()
	}
}

// Reload loads the policy again now. On success the new generation is in
// force (and the cache emptied); on failure the last good policy stays,
// and the error is reported in logs, metrics and Readiness.
func (s *Server) Reload() error {
	ev, err := s.opts.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reloadAt = time.Now()
	if err != nil {
		s.reloadErr = err
		s.m.reloadFailures.Inc()
		s.m.reloadFailing.Set(1)
		s.log.Error("policy reload failed; the last good policy stays in force",
			slog.String("error", err.Error()), slog.Uint64("policyGeneration", s.cur.Load().gen))
		return err
	}
	prev := s.cur.Load()
	p := &policy{gen: prev.gen + 1, eval: ev, loadedAt: time.Now()}
	s.cur.Store(p)
	s.cache.clear()
	s.reloadErr = nil
	s.m.reloads.Inc()
	s.m.reloadFailing.Set(0)
	s.m.generation.Set(float64(p.gen))
	s.log.Info("policy reloaded", slog.Uint64("policyGeneration", p.gen))
	return nil
}

// Watch polls Options.Watch every PollInterval and reloads the policy
// when any file's name, size or modification time changes, until ctx is
// done.
func (s *Server) Watch(ctx context.Context) {
	if len(s.opts.Watch) == 0 {
		return
	}
	last := fingerprint(s.opts.Watch)
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fp := fingerprint(s.opts.Watch)
		if fp == last {
			continue
		}
		last = fp
		s.Reload()
	}
}

// Close stops verifications in flight.
func (s *Server) Close() { s.stopBase() }

// Drain marks the server as going away: /readyz answers 503 so that the
// Service stops sending it reviews, while those in flight finish.
func (s *Server) Drain() { s.draining.Store(true) }
