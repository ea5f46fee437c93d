package admission_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/toto-dev/toto/admission"
	"github.com/toto-dev/toto/admission/admissiontest"
	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/keys"
)

func mustPub(t testing.TB) []byte {
	t.Helper()
	k, err := keys.Generate(keys.ECDSA, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := k.MarshalPEM(false)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// verdictFor allows images whose reference contains "good" (pinned to a
// fixed digest), denies others, counting evaluations per image.
type countingEvaluator struct {
	mu    sync.Mutex
	calls map[string]int
	delay time.Duration
	// inFlight and maxInFlight show how many evaluations overlapped;
	// with rendezvous set, an evaluation also waits (up to delay) for
	// that many to be under way at once, so that overlap is observed
	// whatever the machine's load, not inferred from a wall clock.
	inFlight, maxInFlight int
	rendezvous            int
	arrived               chan struct{}
}

func (e *countingEvaluator) Evaluate(ctx context.Context, ns, img string) (*admission.Verdict, error) {
	e.mu.Lock()
	if e.calls == nil {
		e.calls = map[string]int{}
	}
	e.calls[img]++
	e.inFlight++
	e.maxInFlight = max(e.maxInFlight, e.inFlight)
	if e.rendezvous > 0 && e.inFlight == e.rendezvous {
		close(e.arrived)
	}
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.inFlight--
		e.mu.Unlock()
	}()
	var arrived <-chan struct{} // nil (never ready) without a rendezvous
	if e.rendezvous > 0 {
		arrived = e.arrived
	}
	select {
	case <-arrived:
	case <-time.After(e.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	d := &decision.Decision{Subject: img}
	if strings.Contains(img, "good") {
		d.Requirements = append(d.Requirements, decision.Check("sig", decision.Enforce))
	} else {
		d.Requirements = append(d.Requirements, decision.Check("sig", decision.Enforce, errors.New("no signature")))
	}
	return &admission.Verdict{Decision: d, Image: img, Digest: "sha256:" + strings.Repeat("a", 64), Pinned: "r.example/x@sha256:" + strings.Repeat("a", 64), Mutate: true, Policy: "p"}, nil
}

func (e *countingEvaluator) count(img string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[img]
}

// TestDedupeConcurrentCache: identical images of one pod are verified
// once, different ones concurrently, and a second review hits the cache.
func TestDedupeConcurrentCache(t *testing.T) {
	// Three distinct images: each evaluation waits (up to 2 s) until all
	// three are under way, which only concurrent verification reaches.
	ev := &countingEvaluator{delay: 2 * time.Second, rendezvous: 3, arrived: make(chan struct{})}
	w := startWebhook(t, admission.Options{Load: func() (admission.Evaluator, error) { return ev, nil }, CacheTTL: time.Minute})
	imgs := []string{"r.example/good:1", "r.example/good:2", "r.example/good:3", "r.example/good:1"}
	review := reviewOf(t, "u", podGVK, admissionv1.Create, "ns", podJSON(t, imgs, "r.example/good:1"), nil)
	r := w.send(t, "/validate", review)
	if !r.Allowed {
		t.Fatal(message(r))
	}
	if ev.count("r.example/good:1") != 1 {
		t.Errorf("good:1 evaluated %d times, want 1", ev.count("r.example/good:1"))
	}
	if ev.maxInFlight != 3 {
		t.Errorf("at most %d of the 3 distinct images were verified at once: not concurrent", ev.maxInFlight)
	}
	var patch []map[string]string
	if err := json.Unmarshal(r.Patch, &patch); err != nil || len(patch) != 5 {
		t.Fatalf("patch %s: want 5 operations (4 containers, 1 init)", r.Patch)
	}
	if r := w.send(t, "/validate", review); !r.Allowed {
		t.Errorf("cached review: %s", message(r))
	}
	if ev.count("r.example/good:2") != 1 {
		t.Errorf("cache missed: good:2 evaluated %d times", ev.count("r.example/good:2"))
	}
	// Another namespace is another key: policies differ per namespace.
	w.send(t, "/validate", reviewOf(t, "u", podGVK, admissionv1.Create, "other", podJSON(t, imgs[:1]), nil))
	if ev.count("r.example/good:1") != 2 {
		t.Errorf("namespace not in the cache key")
	}
	m := metricsText(t, w)
	for _, want := range []string{"toto_admission_cache_hits_total 3", "toto_admission_cache_misses_total 4"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestConcurrentRequestsShareVerification: many reviews of one image at
// once cause one verification.
func TestConcurrentRequestsShareVerification(t *testing.T) {
	ev := &countingEvaluator{delay: 200 * time.Millisecond}
	w := startWebhook(t, admission.Options{Load: func() (admission.Evaluator, error) { return ev, nil }})
	review := reviewOf(t, "u", podGVK, admissionv1.Create, "ns", podJSON(t, []string{"r.example/good:1"}), nil)
	var wg sync.WaitGroup
	var denied atomic.Int32
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := w.post("/validate", review)
			if err != nil || !r.Allowed {
				denied.Add(1)
			}
		}()
	}
	wg.Wait()
	if denied.Load() != 0 || ev.count("r.example/good:1") != 1 {
		t.Errorf("%d denied, %d verifications", denied.Load(), ev.count("r.example/good:1"))
	}
}

// TestBadReviews: what is not an AdmissionReview v1 is a 400 naming why,
// and an object of a kind the webhook does not read is denied.
func TestBadReviews(t *testing.T) {
	ev := &countingEvaluator{}
	w := startWebhook(t, admission.Options{Load: func() (admission.Evaluator, error) { return ev, nil }})
	for _, tc := range []struct{ name, body, want string }{
		{"not JSON", "{", "decode AdmissionReview"},
		{"v1beta1", `{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}}`, "want apiVersion admission.k8s.io/v1"},
		{"no request", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, "no request"},
	} {
		resp, err := w.client.Post(w.url+"/validate", "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(buf.String(), tc.want) {
			t.Errorf("%s: %d %q", tc.name, resp.StatusCode, buf.String())
		}
	}
	gvk := metav1.GroupVersionKind{Group: "apps", Version: "v1beta2", Kind: "Deployment"}
	r := w.send(t, "/validate", reviewOf(t, "u", gvk, admissionv1.Create, "ns", []byte(`{"spec":{}}`), nil))
	if r.Allowed || !strings.Contains(message(r), "unsupported kind: apps/v1beta2/Deployment") {
		t.Errorf("allowed %v: %s", r.Allowed, message(r))
	}
	r = w.send(t, "/validate", reviewOf(t, "u", podGVK, admissionv1.Create, "ns", []byte(`{"spec":{"containers":[{"name":"a","image":""}]}}`), nil))
	if r.Allowed || !strings.Contains(message(r), "empty image") {
		t.Errorf("empty image: allowed %v: %s", r.Allowed, message(r))
	}
}

// TestShutdownDrains: a review in flight when the server is told to stop
// is still answered; /readyz turns 503 meanwhile.
func TestShutdownDrains(t *testing.T) {
	ev := &countingEvaluator{delay: 700 * time.Millisecond}
	w := startWebhook(t, admission.Options{Load: func() (admission.Evaluator, error) { return ev, nil }})
	done := make(chan *admissionv1.AdmissionResponse, 1)
	go func() {
		r, _ := w.post("/validate", reviewOf(t, "u", podGVK, admissionv1.Create, "ns", podJSON(t, []string{"r.example/good:1"}), nil))
		done <- r
	}()
	time.Sleep(200 * time.Millisecond)
	w.cancel()
	waitFor(t, func() bool { return w.s.Readiness().Draining })
	if rd := w.s.Readiness(); rd.Ready {
		t.Errorf("ready while draining: %+v", rd)
	}
	r := <-done
	if r == nil || !r.Allowed {
		t.Fatalf("review in flight not answered: %+v", r)
	}
}

// TestCertificateRotation: new certificate files (another CA) are served
// to new connections without a restart.
func TestCertificateRotation(t *testing.T) {
	ev := &countingEvaluator{}
	w := startWebhook(t, admission.Options{Load: func() (admission.Evaluator, error) { return ev, nil }})
	next := admissiontest.NewTLS(t, t.TempDir())
	for _, f := range [][2]string{{next.CertFile, w.tls.CertFile}, {next.KeyFile, w.tls.KeyFile}} {
		data, err := os.ReadFile(f[0])
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, f[1], data)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := next.Client()
		resp, err := c.Get(w.url + "/healthz")
		c.CloseIdleConnections()
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rotated certificate is not served: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The old CA no longer verifies new connections.
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: w.tls.Pool}}}
	if resp, err := old.Get(w.url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("the old certificate is still served")
	}
}

// TestDenialNamesFailedChecks: a failed combination names the checks
// under it that did not hold.
func TestDenialNamesFailedChecks(t *testing.T) {
	ev := admission.EvaluatorFunc(func(_ context.Context, _, img string) (*admission.Verdict, error) {
		d := &decision.Decision{Subject: img, Requirements: []decision.Requirement{
			decision.All("trust", decision.Enforce,
				decision.Check("signedBy signer1", decision.Enforce, errors.New("signer1 did not sign")),
				decision.Any("mirror", decision.Enforce, decision.Check("signedBy signer2", decision.Enforce, errors.New("signer2 did not sign"))),
				decision.Check("digest", decision.Enforce)),
		}}
		return &admission.Verdict{Decision: d, Image: img, Digest: "sha256:" + strings.Repeat("b", 64), Policy: "p"}, nil
	})
	w := startWebhook(t, admission.Options{Load: func() (admission.Evaluator, error) { return ev, nil }})
	r := w.send(t, "/validate", reviewOf(t, "u", podGVK, admissionv1.Create, "ns", podJSON(t, []string{"r.example/x:1"}), nil))
	msg := message(r)
	if r.Allowed || !strings.Contains(msg, `requirement "trust" violated: 1 of 3`) ||
		!strings.Contains(msg, "(signedBy signer1: signer1 did not sign; signedBy signer2: signer2 did not sign)") || strings.Contains(msg, "digest:") {
		t.Fatalf("allowed %v: %s", r.Allowed, msg)
	}
}

// TestAuditLogged: an audit-action violation is logged with the review,
// and neither warned about nor denied.
func TestAuditLogged(t *testing.T) {
	ev := admission.EvaluatorFunc(func(_ context.Context, _, img string) (*admission.Verdict, error) {
		d := &decision.Decision{Subject: img, Requirements: []decision.Requirement{
			decision.Check("signature", decision.Enforce),
			decision.Check("provenance", decision.Audit, errors.New("no SLSA provenance")),
		}}
		return &admission.Verdict{Decision: d, Image: img, Policy: "p"}, nil
	})
	w := startWebhook(t, admission.Options{Load: func() (admission.Evaluator, error) { return ev, nil }})
	r := w.send(t, "/validate", reviewOf(t, "audit-1", podGVK, admissionv1.Create, "ns", podJSON(t, []string{"r.example/x:1"}), nil))
	if !r.Allowed || len(r.Warnings) != 0 {
		t.Fatalf("allowed %v, warnings %q", r.Allowed, r.Warnings)
	}
	for _, line := range strings.Split(w.logs.String(), "\n") {
		if strings.Contains(line, `"uid":"audit-1"`) {
			if !strings.Contains(line, `"audits":["image \"r.example/x:1\", policy \"p\": provenance violated: no SLSA provenance"]`) {
				t.Errorf("log line lacks the audit: %s", line)
			}
			return
		}
	}
	t.Errorf("no log line for the review:\n%s", w.logs.String())
}

// ExampleContainers lists the images of a CronJob with the JSON Pointer
// a patch rewrites each at.
func ExampleContainers() {
	cronJob := []byte(`{"apiVersion":"batch/v1","kind":"CronJob","spec":{"schedule":"* * * * *","jobTemplate":{"spec":{"template":{"spec":{
		"initContainers":[{"name":"setup","image":"registry.example/setup:1"}],
		"containers":[{"name":"job","image":"registry.example/job:2"}]}}}}}}`)
	cs, err := admission.Containers(metav1.GroupVersionKind{Group: "batch", Version: "v1", Kind: "CronJob"}, cronJob)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range cs {
		fmt.Println(c.Path, c.Image)
	}
	// Output:
	// /spec/jobTemplate/spec/template/spec/initContainers/0/image registry.example/setup:1
	// /spec/jobTemplate/spec/template/spec/containers/0/image registry.example/job:2
}

// FuzzReview feeds arbitrary objects of every kind through Containers:
// no panic, and every path it returns points at a string.
func FuzzReview(f *testing.F) {
	f.Add("Pod", []byte(`{"spec":{"containers":[{"name":"a","image":"x"}],"initContainers":[{"image":"y"}],"ephemeralContainers":[{"image":"z"}]}}`))
	f.Add("CronJob", []byte(`{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}}}`))
	f.Add("ReplicationController", []byte(`{"spec":{"template":null}}`))
	f.Add("Deployment", []byte(`{"spec":{"template":{"spec":{"containers":[{"image":1}]}}}}`))
	kinds := map[string]metav1.GroupVersionKind{
		"Pod": {Version: "v1", Kind: "Pod"}, "ReplicationController": {Version: "v1", Kind: "ReplicationController"},
		"Deployment": {Group: "apps", Version: "v1", Kind: "Deployment"}, "DaemonSet": {Group: "apps", Version: "v1", Kind: "DaemonSet"},
		"StatefulSet": {Group: "apps", Version: "v1", Kind: "StatefulSet"}, "ReplicaSet": {Group: "apps", Version: "v1", Kind: "ReplicaSet"},
		"Job": {Group: "batch", Version: "v1", Kind: "Job"}, "CronJob": {Group: "batch", Version: "v1", Kind: "CronJob"},
	}
	f.Fuzz(func(t *testing.T, kind string, raw []byte) {
		gvk, ok := kinds[kind]
		if !ok {
			gvk = metav1.GroupVersionKind{Version: "v1", Kind: kind}
		}
		cs, err := admission.Containers(gvk, raw)
		if err != nil {
			return
		}
		var obj any
		if json.Unmarshal(raw, &obj) != nil {
			t.Fatalf("Containers accepted invalid JSON %q", raw)
		}
		for _, c := range cs {
			if got, ok := pointer(obj, c.Path); ok && got != c.Image {
				t.Fatalf("%s: %v, Containers said %q", c.Path, got, c.Image)
			}
		}
	})
}

// pointer resolves a JSON Pointer of Containers' shape in a decoded
// object (false where the member is absent, as for an omitted image).
func pointer(v any, path string) (any, bool) {
	for _, tok := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		switch x := v.(type) {
		case map[string]any:
			v = x[tok]
		case []any:
			i := 0
			for _, ch := range tok {
				i = i*10 + int(ch-'0')
			}
			if i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, v != nil
}

// FuzzServeReview posts arbitrary bodies to the webhook's handler: it
// answers 400, or 200 with a well-formed AdmissionReview echoing the
// request's uid, and never allows what it could not read.
func FuzzServeReview(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","object":{"spec":{"containers":[{"name":"a","image":"r.example/good:1"}]}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"batch","version":"v1","kind":"CronJob"},"operation":"UPDATE","object":{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"image":"r.example/bad"}]}}}}}},"oldObject":{}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","object":null}}`))
	f.Add([]byte(`[]`))
	s, err := admission.New(admission.Options{Load: func() (admission.Evaluator, error) { return &countingEvaluator{}, nil }, CacheTTL: time.Minute})
	if err != nil {
		f.Fatal(err)
	}
	h := s.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body)))
		switch rec.Code {
		case http.StatusBadRequest:
			return
		case http.StatusOK:
		default:
			t.Fatalf("status %d", rec.Code)
		}
		var in, out admissionv1.AdmissionReview
		if err := json.Unmarshal(body, &in); err != nil || in.Request == nil {
			t.Fatalf("answered 200 to a body that is no review: %q", body)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil || out.Response.UID != in.Request.UID {
			t.Fatalf("bad answer %s", rec.Body.Bytes())
		}
		if out.Response.Allowed && (in.Request.Operation == admissionv1.Create || in.Request.Operation == admissionv1.Update) {
			cs, err := admission.Containers(in.Request.Kind, in.Request.Object.Raw)
			if err != nil {
				t.Fatalf("allowed an object it cannot read: %v", err)
			}
			for _, c := range cs {
				if !strings.Contains(c.Image, "good") && !oldHas(in.Request, c.Image) {
					t.Fatalf("allowed %q", c.Image)
				}
			}
		}
	})
}

// oldHas reports whether the request's old object ran image (an UPDATE
// judges only new images).
func oldHas(req *admissionv1.AdmissionRequest, image string) bool {
	if req.Operation != admissionv1.Update {
		return false
	}
	cs, err := admission.Containers(req.Kind, req.OldObject.Raw)
	if err != nil {
		return false
	}
	for _, c := range cs {
		if c.Image == image {
			return true
		}
	}
	return false
}

// TestDeadlineWithStuckEvaluator: even an evaluation that ignores its
// context cannot hold a review past its deadline.
func TestDeadlineWithStuckEvaluator(t *testing.T) {
	stuck := admission.EvaluatorFunc(func(context.Context, string, string) (*admission.Verdict, error) {
		time.Sleep(5 * time.Second)
		return nil, errors.New("too late")
	})
	w := startWebhook(t, admission.Options{Load: func() (admission.Evaluator, error) { return stuck, nil }, Timeout: 10 * time.Second})
	start := time.Now()
	r := w.send(t, "/validate?timeout=2s", reviewOf(t, "u", podGVK, admissionv1.Create, "ns", podJSON(t, []string{"r.example/good:1"}), nil))
	if took := time.Since(start); r.Allowed || took > 2*time.Second || !strings.Contains(message(r), "deadline") {
		t.Fatalf("allowed %v after %s: %s", r.Allowed, took, message(r))
	}
}

// An image the container runtime cannot pull from a registry, such as an
// OCI layout on the webhook's own disk (oci-layout:/path), is denied
// without asking the policy: the policy would read the webhook's files
// at a path any namespace user chose, and its answer (no such file, not a
// layout) would tell them what is there.
func TestLocalImageRefused(t *testing.T) {
	ev := &countingEvaluator{}
	s, err := admission.New(admission.Options{Load: func() (admission.Evaluator, error) { return ev, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, img := range []string{"oci-layout:/etc/good", "oci-layout:good"} {
		pod := fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":%q}]}}`, img)
		req := &admissionv1.AdmissionRequest{UID: "u", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Operation: admissionv1.Create, Namespace: "ns"}
		req.Object.Raw = []byte(pod)
		resp, _ := s.Review(context.Background(), req)
		if resp.Allowed || ev.count(img) != 0 {
			t.Errorf("%s: allowed %v, evaluated %d times", img, resp.Allowed, ev.count(img))
		}
		if resp.Result == nil || !strings.Contains(resp.Result.Message, "not a registry image") {
			t.Errorf("%s: message %+v", img, resp.Result)
		}
	}
}

// An image volume (spec.volumes[].image, Kubernetes' ImageVolume) is an
// image the kubelet pulls and mounts into the containers: it is judged
// like a container's, and pinned at its own path. Unjudged, an unsigned
// image's files would run inside a pod whose containers all passed.
func TestImageVolumeJudged(t *testing.T) {
	ev := &countingEvaluator{}
	s, err := admission.New(admission.Options{Load: func() (admission.Evaluator, error) { return ev, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	review := func(kind metav1.GroupVersionKind, obj string) *admissionv1.AdmissionResponse {
		req := &admissionv1.AdmissionRequest{UID: "u", Kind: kind, Operation: admissionv1.Create, Namespace: "ns"}
		req.Object.Raw = []byte(obj)
		resp, _ := s.Review(context.Background(), req)
		return resp
	}
	pod := metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
	resp := review(pod, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{
		"containers":[{"name":"c","image":"r.example/good:1","volumeMounts":[{"name":"tools","mountPath":"/tools"}]}],
		"volumes":[{"name":"cfg","configMap":{"name":"x"}},{"name":"tools","image":{"reference":"evil.example/tools:1"}}]}}`)
	if resp.Allowed || ev.count("evil.example/tools:1") != 1 || !strings.Contains(message(resp), `volume "tools" image "evil.example/tools:1" denied`) {
		t.Fatalf("pod with an unsigned image volume: allowed %v, %q", resp.Allowed, message(resp))
	}
	// Allowed: the volume's image is pinned at its own path.
	deploy := metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	resp = review(deploy, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"template":{"spec":{
		"containers":[{"name":"c","image":"r.example/good:1"}],
		"volumes":[{"name":"cfg","emptyDir":{}},{"name":"tools","image":{"reference":"r.example/good-tools:1"}}]}}}}`)
	if !resp.Allowed || !strings.Contains(string(resp.Patch), `"path":"/spec/template/spec/volumes/1/image/reference"`) {
		t.Fatalf("deployment with a signed image volume: allowed %v, patch %s, %q", resp.Allowed, resp.Patch, message(resp))
	}
}
