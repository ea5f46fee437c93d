package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/toto-dev/toto/admission/admissiontest"
	"github.com/toto-dev/toto/internal/oracle"
)

// freePort is a free 127.0.0.1 address for a server the test starts.
func freePort(t *testing.T) string {
	return fmt.Sprintf("127.0.0.1:%d", oracle.FreePort(t))
}

func TestAdmissionServeUsage(t *testing.T) {
	dir := t.TempDir()
	if r := runToto(t, dir, "admission", "serve"); r.Code != exitUsageOrData || !strings.Contains(r.Stderr, "--policy") {
		t.Errorf("no flags: exit %d: %s", r.Code, r.Stderr)
	}
	bad := filepath.Join(dir, "policy.yaml")
	os.WriteFile(bad, []byte("rules:\n  - images: [\"*\"]\n    require: {sigstore: {}}\n"), 0o644)
	admissiontest.NewTLS(t, dir)
	r := runToto(t, dir, "admission", "serve", "--policy", bad, "--tls-cert", "tls.crt", "--tls-key", "tls.key", "--addr", freePort(t))
	if r.Code != exitUsageOrData || !strings.Contains(r.Stderr, "policy.yaml") || !strings.Contains(r.Stderr, "no keys") {
		t.Errorf("bad policy: exit %d: %s", r.Code, r.Stderr)
	}
	r = runToto(t, dir, "admission", "serve", "--policy", bad, "--tls-cert", "missing.crt", "--tls-key", "tls.key")
	if r.Code != exitUsageOrData {
		t.Errorf("missing certificate: exit %d: %s", r.Code, r.Stderr)
	}
}

// TestAdmissionServeDeployArgs runs toto with the arguments of
// deploy/deployment.yaml (paths under a temporary folder, addresses on
// loopback): it serves the webhook over TLS and the metrics over HTTP,
// denies an image it cannot verify, logs JSON, and exits 0 on SIGTERM
// after draining.
func TestAdmissionServeDeployArgs(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	if err := sigsyaml.UnmarshalStrict(raw, &d); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	st := admissiontest.NewTLS(t, filepath.Join(root, "tls"))
	os.MkdirAll(filepath.Join(root, "policy"), 0o755)
	os.MkdirAll(filepath.Join(root, "secrets"), 0o755)
	os.WriteFile(filepath.Join(root, "policy", "policy.yaml"), []byte("rules:\n  - images: [\"*\"]\n    require: {sigstore: {keys: [release.pub]}}\n"), 0o644)
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustPKIX(t)})
	os.WriteFile(filepath.Join(root, "policy", "release.pub"), pub, 0o644)

	webhook, metrics := freePort(t), freePort(t)
	var args []string
	for _, a := range d.Spec.Template.Spec.Containers[0].Args {
		a = strings.ReplaceAll(a, "/etc/toto/", root+"/")
		switch {
		case strings.HasPrefix(a, "--addr="):
			a = "--addr=" + webhook
		case strings.HasPrefix(a, "--metrics-addr="):
			a = "--metrics-addr=" + metrics
		case strings.HasPrefix(a, "--drain-delay="):
			a = "--drain-delay=1s"
		}
		args = append(args, a)
	}
	cmd := exec.Command(totoBin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	client := st.Client()
	oracle.WaitHTTP(t, http.DefaultClient, "toto admission serve", "http://"+metrics+"/readyz", nil, stderr.String)
	down := freePort(t)
	out, body := admissiontest.Send(t, client, "https://"+webhook+"/mutate?timeout=10s", admissiontest.PodReview("u-1", "apps", down+"/app:1"))
	if out.UID != "u-1" || out.Allowed || !strings.Contains(out.Status.Message, down+"/app:1") {
		t.Errorf("review: %s", body)
	}
	if resp, err := http.Get("http://" + metrics + "/metrics"); err != nil {
		t.Error(err)
	} else {
		m, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(m), `toto_admission_decisions_total{outcome="denied"} 1`) {
			t.Errorf("metrics: no denial counted")
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit within 20s of SIGTERM")
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Errorf("stderr line not JSON: %q", l)
		}
	}
	if !strings.Contains(stderr.String(), `"msg":"stopped"`) || !strings.Contains(stderr.String(), `"uid":"u-1"`) {
		t.Errorf("logs:\n%s", stderr.String())
	}
}

func mustPKIX(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return der
}
