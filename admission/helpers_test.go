package admission_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/toto-dev/toto/admission"
	"github.com/toto-dev/toto/admission/admissiontest"
	"github.com/toto-dev/toto/internal/oracle"
)

func writeFile(t testing.TB, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer collects log lines written concurrently.
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

// webhook is a Server serving over real TLS on loopback.
type webhook struct {
	s      *admission.Server
	tls    admissiontest.TLS
	url    string
	client *http.Client
	logs   *syncBuffer
	done   chan error
	cancel context.CancelFunc
}

// startWebhook serves opts with ListenAndServe on a free loopback port
// until the test ends.
func startWebhook(t testing.TB, opts admission.Options) *webhook {
	t.Helper()
	logs := &syncBuffer{}
	opts.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	s, err := admission.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	st := admissiontest.NewTLS(t, t.TempDir())
	addr := fmt.Sprintf("127.0.0.1:%d", oracle.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	w := &webhook{s: s, tls: st, url: "https://" + addr, client: st.Client(), logs: logs, done: make(chan error, 1), cancel: cancel}
	go func() {
		w.done <- admission.ListenAndServe(ctx, s, admission.ServeOptions{Addr: addr, CertFile: st.CertFile, KeyFile: st.KeyFile, ShutdownTimeout: 10 * time.Second})
	}()
	waitReady(t, w.client, w.url+"/healthz")
	t.Cleanup(func() {
		cancel()
		if err := <-w.done; err != nil {
			t.Errorf("ListenAndServe: %v", err)
		}
	})
	return w
}

func waitReady(t testing.TB, c *http.Client, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reviewOf is the AdmissionReview an API server sends for obj (JSON).
func reviewOf(t testing.TB, uid string, gvk metav1.GroupVersionKind, op admissionv1.Operation, namespace string, obj, old []byte) []byte {
	t.Helper()
	req := &admissionv1.AdmissionRequest{
		UID: types.UID(uid), Kind: gvk, Operation: op, Namespace: namespace, Name: "test",
		Resource:  metav1.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: strings.ToLower(gvk.Kind) + "s"},
		Object:    runtime.RawExtension{Raw: obj},
		OldObject: runtime.RawExtension{Raw: old},
	}
	data, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request:  req,
	})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// send posts a review and returns the response, failing the test on a
// transport error or a malformed answer.
func (w *webhook) send(t testing.TB, path string, review []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	r, err := w.post(path, review)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (w *webhook) post(path string, review []byte) (*admissionv1.AdmissionResponse, error) {
	return postReview(w.client, w.url+path, review)
}

func postReview(c *http.Client, url string, review []byte) (*admissionv1.AdmissionResponse, error) {
	resp, err := c.Post(url, "application/json", bytes.NewReader(review))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s: %s", resp.Status, body)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("decode response: %v: %s", err, body)
	}
	if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" || out.Response == nil {
		return nil, fmt.Errorf("malformed response: %s", body)
	}
	return out.Response, nil
}

func message(r *admissionv1.AdmissionResponse) string {
	if r.Result == nil {
		return ""
	}
	return r.Result.Message
}

// needRegistry skips a test that needs Debian's docker-registry where it
// is not installed (`make test` installs it); under CI it must be there.
func needRegistry(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("docker-registry"); err == nil {
		return
	}
	if dir := os.Getenv("TOTO_INTEROP_BIN"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "docker-registry")); err == nil {
			return
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("docker-registry is not installed: `make test` (make deps) installs Debian's docker-registry")
	}
	t.Skip("docker-registry (Debian package docker-registry) is not installed; `make deps` installs it")
}
