package admission_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"gopkg.in/yaml.v3"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/toto-dev/toto/admission"
	"github.com/toto-dev/toto/imagepolicy"
	"github.com/toto-dev/toto/internal/corpus"
	"github.com/toto-dev/toto/internal/oracle"
)

var podGVK = metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}

// podJSON is a pod whose containers run images (and init containers
// init).
func podJSON(t testing.TB, images []string, init ...string) []byte {
	t.Helper()
	var cs, ics []map[string]any
	for i, img := range images {
		cs = append(cs, map[string]any{"name": fmt.Sprintf("c%d", i), "image": img})
	}
	for i, img := range init {
		ics = append(ics, map[string]any{"name": fmt.Sprintf("init%d", i), "image": img})
	}
	spec := map[string]any{"containers": cs}
	if len(ics) > 0 {
		spec["initContainers"] = ics
	}
	data, err := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "test", "namespace": "apps"},
		"spec":     spec,
	})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// applyPatch applies the response's JSONPatch to obj with evanphx's
// json-patch (the implementation kube-apiserver applies webhook patches
// with) and returns the images of the result.
func applyPatch(t testing.TB, gvk metav1.GroupVersionKind, obj []byte, r *admissionv1.AdmissionResponse) []admission.Container {
	t.Helper()
	if r.Patch != nil {
		if r.PatchType == nil || *r.PatchType != admissionv1.PatchTypeJSONPatch {
			t.Fatalf("patch without patchType JSONPatch: %v", r.PatchType)
		}
		p, err := jsonpatch.DecodePatch(r.Patch)
		if err != nil {
			t.Fatalf("decode patch %s: %v", r.Patch, err)
		}
		if obj, err = p.Apply(obj); err != nil {
			t.Fatalf("apply patch %s: %v", r.Patch, err)
		}
	}
	cs, err := admission.Containers(gvk, obj)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestWebhookRegistry runs the webhook with a real policy over real TLS
// against a real registry: allowed and pinned, denied with the reason,
// a mixed pod, warnings, notation signatures, updates.
func TestWebhookRegistry(t *testing.T) {
	f := newRegistryFixture(t)
	pol := f.writePolicy(t, "policy.yaml", releasePolicy)
	w := startWebhook(t, admission.Options{Load: admission.PolicyLoader(pol, imagepolicy.SetOptions{}), CacheTTL: time.Minute})

	t.Run("signed: allowed, pinned, warned", func(t *testing.T) {
		obj := podJSON(t, []string{f.ref("signed")}, f.ref("signed"))
		r := w.send(t, "/validate", reviewOf(t, "uid-1", podGVK, admissionv1.Create, "apps", obj, nil))
		if r.UID != "uid-1" || !r.Allowed {
			t.Fatalf("uid %q allowed %v: %s", r.UID, r.Allowed, message(r))
		}
		for _, c := range applyPatch(t, podGVK, obj, r) {
			if c.Image != f.pinned("signed") {
				t.Errorf("%s: image %q after patch, want %q", c.Path, c.Image, f.pinned("signed"))
			}
		}
		if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "SBOM attestation") || !strings.Contains(r.Warnings[0], f.ref("signed")) {
			t.Errorf("warnings %q: want one naming the SBOM requirement and the image", r.Warnings)
		}
	})
	t.Run("unsigned: denied naming image, policy, requirement", func(t *testing.T) {
		obj := podJSON(t, []string{f.ref("unsigned")})
		r := w.send(t, "/validate", reviewOf(t, "uid-2", podGVK, admissionv1.Create, "apps", obj, nil))
		if r.UID != "uid-2" || r.Allowed || r.Patch != nil {
			t.Fatalf("uid %q allowed %v patch %s", r.UID, r.Allowed, r.Patch)
		}
		msg := message(r)
		for _, want := range []string{f.ref("unsigned"), "policy.yaml rules[0]", `"release signature" violated`, `container "c0"`} {
			if !strings.Contains(msg, want) {
				t.Errorf("message %q lacks %q", msg, want)
			}
		}
		if r.Result.Code != http.StatusForbidden {
			t.Errorf("code %d", r.Result.Code)
		}
	})
	t.Run("mixed pod: one bad container denies all", func(t *testing.T) {
		obj := podJSON(t, []string{f.ref("signed"), f.ref("other")})
		r := w.send(t, "/validate", reviewOf(t, "uid-3", podGVK, admissionv1.Create, "apps", obj, nil))
		if r.Allowed || r.Patch != nil {
			t.Fatalf("allowed %v patch %s", r.Allowed, r.Patch)
		}
		msg := message(r)
		if !strings.Contains(msg, f.ref("other")) || strings.Contains(msg, `image "`+f.ref("signed")+`"`) {
			t.Errorf("message %q: want only the other-signed image named", msg)
		}
	})
	t.Run("notation-signed image", func(t *testing.T) {
		obj := podJSON(t, []string{f.ref("notation")})
		r := w.send(t, "/validate", reviewOf(t, "uid-4", podGVK, admissionv1.Create, "apps", obj, nil))
		if !r.Allowed {
			t.Fatalf("denied: %s", message(r))
		}
		if cs := applyPatch(t, podGVK, obj, r); cs[0].Image != f.pinned("notation") {
			t.Errorf("image %q, want %q", cs[0].Image, f.pinned("notation"))
		}
	})
	t.Run("by digest: allowed, no patch", func(t *testing.T) {
		obj := podJSON(t, []string{f.pinned("signed")})
		r := w.send(t, "/validate", reviewOf(t, "uid-5", podGVK, admissionv1.Create, "apps", obj, nil))
		if !r.Allowed || r.Patch != nil {
			t.Fatalf("allowed %v patch %s: %s", r.Allowed, r.Patch, message(r))
		}
	})
	t.Run("update: only new images judged", func(t *testing.T) {
		old := podJSON(t, []string{f.ref("unsigned")})
		obj := podJSON(t, []string{f.ref("unsigned")})
		r := w.send(t, "/validate", reviewOf(t, "uid-6", podGVK, admissionv1.Update, "apps", obj, old))
		if !r.Allowed {
			t.Fatalf("an update keeping the admitted image was denied: %s", message(r))
		}
		obj = podJSON(t, []string{f.ref("unsigned"), f.ref("other")})
		r = w.send(t, "/validate", reviewOf(t, "uid-7", podGVK, admissionv1.Update, "apps", obj, old))
		if r.Allowed || !strings.Contains(message(r), f.ref("other")) {
			t.Fatalf("an update adding an unsigned image: allowed %v: %s", r.Allowed, message(r))
		}
	})
	t.Run("delete: allowed", func(t *testing.T) {
		r := w.send(t, "/validate", reviewOf(t, "uid-8", podGVK, admissionv1.Delete, "apps", nil, podJSON(t, []string{f.ref("unsigned")})))
		if !r.Allowed {
			t.Fatal(message(r))
		}
	})
	t.Run("image not in the registry: denied", func(t *testing.T) {
		obj := podJSON(t, []string{f.host + "/app:missing"})
		r := w.send(t, "/validate", reviewOf(t, "uid-9", podGVK, admissionv1.Create, "apps", obj, nil))
		if r.Allowed || !strings.Contains(message(r), "app:missing") {
			t.Fatalf("allowed %v: %s", r.Allowed, message(r))
		}
	})
	t.Run("metrics", func(t *testing.T) {
		resp, err := w.client.Get(w.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{
			`toto_admission_decisions_total{outcome="allowed_patched"}`,
			`toto_admission_decisions_total{outcome="denied"}`,
			`toto_admission_cache_hits_total`,
			`toto_admission_request_duration_seconds_bucket`,
			`toto_admission_policy_reload_failures_total 0`,
		} {
			if !strings.Contains(string(body), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
	// Every review was logged as one JSON object with its uid.
	for _, line := range strings.Split(strings.TrimSpace(w.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("log line not JSON: %q", line)
		}
	}
	if !strings.Contains(w.logs.String(), `"uid":"uid-2"`) {
		t.Errorf("no log line for uid-2:\n%s", w.logs.String())
	}
}

// portierisObject reads one of Portieris's e2e manifests and rewrites it
// as an API server would hand it over: images point at the loopback
// registry (":unsigned" to the unsigned image, others to the signed one),
// label values are strings (the files write `test: true`, which the API
// server refuses), and the CronJob file's kind (written "Job") is
// CronJob.
func portierisObject(t testing.TB, f *registryFixture, file string) (metav1.GroupVersionKind, []byte) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(data, &obj); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				switch {
				case k == "image":
					if s, _ := x.(string); strings.HasSuffix(s, ":unsigned") {
						v[k] = f.ref("unsigned")
					} else {
						v[k] = f.ref("signed")
					}
				case k == "labels":
					if m, ok := x.(map[string]any); ok {
						for lk, lv := range m {
							m[lk] = fmt.Sprint(lv)
						}
					}
				default:
					walk(x)
				}
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(obj)
	if spec, _ := obj["spec"].(map[string]any); spec != nil && spec["jobTemplate"] != nil {
		obj["kind"] = "CronJob"
	}
	gv, _ := obj["apiVersion"].(string)
	group, version, ok := strings.Cut(gv, "/")
	if !ok {
		group, version = "", gv
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return metav1.GroupVersionKind{Group: group, Version: version, Kind: obj["kind"].(string)}, raw
}

// TestPortierisWorkloads wraps Portieris's own e2e workloads (every kind
// the webhook reads) in AdmissionReviews: the signed ones are admitted
// and every image is pinned at the right path for the kind; the unsigned
// ones and the mixed deployment are denied.
func TestPortierisWorkloads(t *testing.T) {
	dir := corpus.Path(t, "portieris", "test", "e2e", "testdata")
	f := newRegistryFixture(t)
	pol := f.writePolicy(t, "policy.yaml", releasePolicy)
	w := startWebhook(t, admission.Options{Load: admission.PolicyLoader(pol, imagepolicy.SetOptions{}), CacheTTL: time.Minute})
	wantPrefix := map[string]string{
		"Pod": "/spec/", "CronJob": "/spec/jobTemplate/spec/template/spec/",
	}
	cases := 0
	for _, kind := range []string{"pod", "deployment", "replicaset", "replicationcontroller", "statefulset", "daemonset", "job", "cronjob"} {
		for _, file := range []string{"global-nginx-signed.yaml", "global-nginx-unsigned.yaml", "global-nginx-signed-unsigned.yaml"} {
			path := filepath.Join(dir, kind, file)
			if _, err := os.Stat(path); err != nil {
				continue
			}
			cases++
			t.Run(kind+"/"+file, func(t *testing.T) {
				gvk, obj := portierisObject(t, f, path)
				r := w.send(t, "/mutate", reviewOf(t, "uid-"+kind, gvk, admissionv1.Create, "apps", obj, nil))
				wantAllowed := !strings.Contains(file, "unsigned")
				if r.Allowed != wantAllowed {
					t.Fatalf("%s: allowed %v, want %v: %s", gvk.Kind, r.Allowed, wantAllowed, message(r))
				}
				if !wantAllowed {
					if !strings.Contains(message(r), f.ref("unsigned")) || !strings.Contains(message(r), "release signature") {
						t.Errorf("message %q", message(r))
					}
					return
				}
				prefix := wantPrefix[gvk.Kind]
				if prefix == "" {
					prefix = "/spec/template/spec/"
				}
				cs := applyPatch(t, gvk, obj, r)
				if len(cs) == 0 {
					t.Fatal("no containers")
				}
				for _, c := range cs {
					if !strings.HasPrefix(c.Path, prefix+"containers/") || c.Image != f.pinned("signed") {
						t.Errorf("%s: %q, want under %s pinned to %s", c.Path, c.Image, prefix, f.pinned("signed"))
					}
				}
			})
		}
	}
	if cases < 17 {
		t.Errorf("only %d Portieris manifests found", cases)
	}
}

// stallingProxy accepts TCP connections and never answers: a registry
// that hangs.
func stallingProxy(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", oracle.FreePort(t)))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// TestFailClosed: a registry that is down, or that hangs, gets the image
// denied within the review's deadline, with a reason that says so.
func TestFailClosed(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "release.pub"), mustPub(t))
	pol := filepath.Join(dir, "policy.yaml")
	writeFile(t, pol, []byte("rules:\n  - images: [\"*\"]\n    require: {name: release signature, sigstore: {keys: [release.pub]}}\n"))
	w := startWebhook(t, admission.Options{Load: admission.PolicyLoader(pol, imagepolicy.SetOptions{}), Timeout: 3 * time.Second, CacheTTL: time.Minute})

	down := fmt.Sprintf("127.0.0.1:%d", oracle.FreePort(t)) // nothing listens
	hang := stallingProxy(t)
	for _, tc := range []struct {
		name, host, path string
		within           time.Duration
		reason           string
	}{
		{"registry down", down, "/validate", 3 * time.Second, "connection refused"},
		{"registry hangs: the server's timeout", hang, "/validate", 4 * time.Second, "did not finish"},
		{"registry hangs: the API server's shorter timeout", hang, "/validate?timeout=2s", 2 * time.Second, "did not finish"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r := w.send(t, tc.path, reviewOf(t, "uid-fc", podGVK, admissionv1.Create, "apps", podJSON(t, []string{tc.host + "/app:1"}), nil))
			took := time.Since(start)
			if r.Allowed {
				t.Fatal("allowed")
			}
			if took > tc.within {
				t.Errorf("answered after %s, want within %s", took, tc.within)
			}
			if !strings.Contains(message(r), tc.reason) || !strings.Contains(message(r), tc.host+"/app:1") {
				t.Errorf("message %q lacks %q", message(r), tc.reason)
			}
			t.Logf("%s: denied after %s: %s", tc.name, took.Round(time.Millisecond), message(r))
		})
	}
}

// TestReloadUnderLoad rewrites the policy while reviews stream in: no
// review fails, every review before the rewrite is allowed, every review
// sent after the new generation is in force is denied; then an invalid
// policy leaves the last good one in force, reported in /readyz and
// metrics, until a good one replaces it.
func TestReloadUnderLoad(t *testing.T) {
	f := newRegistryFixture(t)
	pol := f.writePolicy(t, "policy.yaml", releasePolicy)
	w := startWebhook(t, admission.Options{
		Load:  admission.PolicyLoader(pol, imagepolicy.SetOptions{}),
		Watch: []string{f.dir}, PollInterval: 50 * time.Millisecond, CacheTTL: time.Minute,
	})
	review := reviewOf(t, "uid-load", podGVK, admissionv1.Create, "apps", podJSON(t, []string{f.ref("signed")}), nil)
	if r := w.send(t, "/validate", review); !r.Allowed {
		t.Fatalf("denied before the reload: %s", message(r))
	}

	var (
		stop                           atomic.Bool
		rewrittenAt, switchedAt        atomic.Int64
		errs, allowedLate, deniedEarly atomic.Int64
		total                          atomic.Int64
		wg                             sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				sent := time.Now().UnixNano()
				r, err := w.post("/validate", review)
				total.Add(1)
				if err != nil {
					errs.Add(1)
					continue
				}
				// Answered before the rewrite began: the old policy.
				if rewrittenAt.Load() == 0 && !r.Allowed {
					deniedEarly.Add(1)
				}
				if sw := switchedAt.Load(); sw != 0 && sent > sw && r.Allowed {
					allowedLate.Add(1)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	rewrittenAt.Store(time.Now().UnixNano())
	f.writePolicy(t, "policy.yaml", otherPolicy)
	waitFor(t, func() bool { return w.s.Readiness().PolicyGeneration == 2 })
	switchedAt.Store(time.Now().UnixNano())
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	t.Logf("%d reviews during the reload", total.Load())
	if errs.Load() != 0 || allowedLate.Load() != 0 || deniedEarly.Load() != 0 {
		t.Errorf("errors %d, allowed after the switch %d, denied before the rewrite %d", errs.Load(), allowedLate.Load(), deniedEarly.Load())
	}
	if r := w.send(t, "/validate", review); r.Allowed || !strings.Contains(message(r), "other signature") {
		t.Fatalf("after the reload: allowed %v: %s", r.Allowed, message(r))
	}

	// An invalid policy: the last good one (generation 2) stays.
	f.writePolicy(t, "policy.yaml", "rules:\n  - images: [\"*\"]\n    require: {sigstore: {}}\n")
	waitFor(t, func() bool { return w.s.Readiness().LastReloadError != "" })
	rd := readyz(t, w)
	if rd.PolicyGeneration != 2 || !strings.Contains(rd.LastReloadError, "no keys") || !rd.Ready {
		t.Errorf("readyz after a bad reload: %+v", rd)
	}
	if r := w.send(t, "/validate", reviewOf(t, "uid-x", podGVK, admissionv1.Create, "apps", podJSON(t, []string{f.ref("other")}), nil)); !r.Allowed {
		t.Errorf("the last good policy is not in force: %s", message(r))
	}
	if !strings.Contains(metricsText(t, w), "toto_admission_policy_reload_failures_total 1") {
		t.Error("reload failure not counted")
	}
	if !strings.Contains(w.logs.String(), "policy reload failed") {
		t.Error("reload failure not logged")
	}
	f.writePolicy(t, "policy.yaml", releasePolicy)
	waitFor(t, func() bool { return w.s.Readiness().PolicyGeneration == 3 })
	if rd := readyz(t, w); rd.LastReloadError != "" {
		t.Errorf("error kept after a good reload: %+v", rd)
	}
	if r := w.send(t, "/validate", review); !r.Allowed {
		t.Errorf("after the good reload: %s", message(r))
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 15s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readyz(t testing.TB, w *webhook) admission.Readiness {
	t.Helper()
	resp, err := w.client.Get(w.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rd admission.Readiness
	if err := json.NewDecoder(resp.Body).Decode(&rd); err != nil {
		t.Fatal(err)
	}
	if rd.Ready != (resp.StatusCode == http.StatusOK) {
		t.Errorf("readyz status %d with ready %v", resp.StatusCode, rd.Ready)
	}
	return rd
}

func metricsText(t testing.TB, w *webhook) string {
	t.Helper()
	resp, err := w.client.Get(w.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// pathCounter counts the requests a transport sends, by URL path.
type pathCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *pathCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[r.URL.Path]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *pathCounter) get(p string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[p]
}

// TestRegistryClientShared: the webhook pings a registry once, not once
// per image it verifies, and across policy generations.
func TestRegistryClientShared(t *testing.T) {
	f := newRegistryFixture(t)
	pol := f.writePolicy(t, "policy.yaml", releasePolicy)
	pc := &pathCounter{}
	w := startWebhook(t, admission.Options{Load: admission.PolicyLoader(pol, imagepolicy.SetOptions{Remote: []remote.Option{remote.WithTransport(pc)}})})
	for i, tag := range []string{"signed", "other", "unsigned", "notation"} {
		w.send(t, "/validate", reviewOf(t, "u", podGVK, admissionv1.Create, "apps", podJSON(t, []string{f.ref(tag)}), nil))
		if i == 0 && pc.get("/v2/") == 0 {
			t.Fatal("the counting transport saw no ping: not used")
		}
	}
	first := pc.get("/v2/")
	if err := w.s.Reload(); err != nil {
		t.Fatal(err)
	}
	w.send(t, "/validate", reviewOf(t, "u", podGVK, admissionv1.Create, "apps", podJSON(t, []string{f.ref("signed")}), nil))
	if got := pc.get("/v2/"); got != first || first > 2 {
		t.Errorf("%d pings for 5 verifications in one repository (%d for the first four), want those of the first only (1, or 2 with the https attempt)", got, first)
	}
}
