// Package admissiontest is for tests of the admission webhook, as
// net/http/httptest is for HTTP handlers: it makes a test CA and a serving
// certificate for 127.0.0.1, and builds and sends AdmissionReviews the way
// kube-apiserver does. It is not for production use.
package admissiontest

import (
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
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TLS is a CA made for the test and a serving certificate it issued for
// 127.0.0.1 (and the in-cluster service name), as files, with a pool
// trusting the CA.
type TLS struct {
	CertFile, KeyFile, CAFile string
	Pool                      *x509.CertPool
}

// NewTLS writes tls.crt, tls.key and ca.crt into dir, creating it.
func NewTLS(t testing.TB, dir string) TLS {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "toto admission test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "toto-admission.toto-system.svc"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames:    []string{"toto-admission.toto-system.svc", "localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	st := TLS{
		CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"), CAFile: filepath.Join(dir, "ca.crt"),
		Pool: x509.NewCertPool(),
	}
	st.Pool.AddCert(ca)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		path, typ string
		der       []byte
	}{{st.CertFile, "CERTIFICATE", leafDER}, {st.KeyFile, "PRIVATE KEY", keyDER}, {st.CAFile, "CERTIFICATE", caDER}} {
		if err := os.WriteFile(f.path, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// Client is an HTTPS client trusting only the test CA, speaking HTTP/2
// as kube-apiserver does to webhooks.
func (st TLS) Client() *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: st.Pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 64,
	}, Timeout: 30 * time.Second}
}

// PodReview is an AdmissionReview of creating, in namespace, a pod named
// p with one container running image.
func PodReview(uid, namespace, image string) []byte {
	return []byte(fmt.Sprintf(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":%q,"kind":{"group":"","version":"v1","kind":"Pod"},
"resource":{"group":"","version":"v1","resource":"pods"},"operation":"CREATE","namespace":%q,"userInfo":{},
"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":%q}]}}}}`, uid, namespace, image))
}

// Response is the part of an AdmissionReview response tests check.
type Response struct {
	UID     string
	Allowed bool
	Patch   []byte
	Status  struct{ Message string }
}

// Send posts review to url and returns the response and the raw body.
// It fails the test if the post fails or the body is no AdmissionReview.
func Send(t testing.TB, client *http.Client, url string, review []byte) (Response, []byte) {
	t.Helper()
	resp, err := client.Post(url, "application/json", strings.NewReader(string(review)))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Response Response }
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("review response %s: %v", body, err)
	}
	return out.Response, body
}
