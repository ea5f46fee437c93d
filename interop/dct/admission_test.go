//go:build interop

package dctinterop

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/toto-dev/toto/internal/corpus"
	"github.com/toto-dev/toto/internal/oracle"
)

// TestAdmissionDCT runs `toto admission serve` with Portieris's
// pinned-signer1 ImagePolicy over trust data the real notary CLI
// published to notary-server: a pod whose image targets/signer1 signed is
// admitted and pinned to the signed digest; an unsigned image is denied
// naming the ImagePolicy and why.
func TestAdmissionDCT(t *testing.T) {
	e := newEnv(t)
	e.delegate("targets/signer1")
	d1, s1 := e.push("signed")
	e.sign("signed", d1, s1, "targets/signer1")
	e.push("unsigned")
	secrets := filepath.Join(e.dir, "secrets")
	policies := filepath.Join(e.dir, "policies")
	for _, d := range []string{secrets, policies} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.signerSecret(secrets, "signer1pubkey", "signer1")
	raw, err := os.ReadFile(corpus.Path(t, "portieris", "test", "e2e", "testdata", "imagepolicy", "pinned-signer1.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.ReplaceAll(string(raw), "de.icr.io/testing-authn/nginx", e.repo)
	doc = strings.ReplaceAll(doc, "https://notary.de.icr.io", e.server)
	write(t, filepath.Join(policies, "pinned-signer1.yaml"), []byte(doc))

	certFile, keyFile, pool := servingCert(t, e.dir)
	addr := fmt.Sprintf("127.0.0.1:%d", oracle.FreePort(t))
	cmd := exec.Command(oracle.Toto(t), "admission", "serve", "--policy", policies, "--secrets", secrets,
		"--addr", addr, "--tls-cert", certFile, "--tls-key", keyFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("toto admission serve: %v\n%s", err, stderr.String())
		}
	})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 30 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get("https://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %v\n%s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	review := func(image string) (allowed bool, patch, msg string) {
		body := fmt.Sprintf(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},
"resource":{"group":"","version":"v1","resource":"pods"},"operation":"CREATE","namespace":"default","userInfo":{},
"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"nginx","image":%q}]}}}}`, image)
		resp, err := client.Post("https://"+addr+"/mutate", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var out struct {
			Response struct {
				UID     string
				Allowed bool
				Patch   []byte
				Status  struct{ Message string }
			}
		}
		if err := json.Unmarshal(data, &out); err != nil || out.Response.UID != "u" {
			t.Fatalf("response %s: %v", data, err)
		}
		return out.Response.Allowed, string(out.Response.Patch), out.Response.Status.Message
	}
	if ok, patch, msg := review(e.repo + ":signed"); !ok || !strings.Contains(patch, `"path":"/spec/containers/0/image","value":"`+e.repo+"@"+d1+`"`) {
		t.Errorf("signed: allowed %v, patch %s: %s", ok, patch, msg)
	}
	if ok, _, msg := review(e.repo + ":unsigned"); ok || !strings.Contains(msg, "ImagePolicy default/pinned-signer1") || !strings.Contains(msg, e.repo+":unsigned") || !strings.Contains(msg, "tag not signed") {
		t.Errorf("unsigned: allowed %v: %s", ok, msg)
	} else {
		t.Log(msg)
	}
}

// servingCert writes a self-signed certificate for 127.0.0.1 and its key
// into dir.
func servingCert(t *testing.T, dir string) (string, string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "toto-admission"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	write(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	write(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
