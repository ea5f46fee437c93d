package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestCertificatesFromPEM(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "certs test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	cert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	other := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}}))
	broken := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2}}))
	tests := []struct {
		name      string
		in        string
		skipOther bool
		want      int
		rest      string
		err       string
	}{
		{"empty", "", false, 0, "", ""},
		{"text only", "hello", false, 0, "hello", ""},
		{"one", cert, false, 1, "", ""},
		{"two with text around", "a\n" + cert + "b\n" + cert + "tail", false, 2, "tail", ""},
		{"other refused", cert + other, false, 0, "", `PEM block "PUBLIC KEY" is not a CERTIFICATE`},
		{"other skipped", other + cert + other, true, 1, "", ""},
		{"broken certificate", cert + broken, true, 0, "", "x509"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certs, rest, err := CertificatesFromPEM([]byte(tt.in), tt.skipOther)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(certs) != tt.want {
				t.Fatalf("got %d certificates, want %d", len(certs), tt.want)
			}
			for _, c := range certs {
				if c.Subject.CommonName != "certs test" {
					t.Errorf("subject %q", c.Subject)
				}
			}
			if string(rest) != tt.rest {
				t.Errorf("rest = %q, want %q", rest, tt.rest)
			}
		})
	}
}

// FuzzCertificatesFromPEM: trust stores and root certificates are read
// from files and servers; any input gives certificates or an error, never
// a panic, and what is returned holds together: an error comes alone,
// certificates are non-empty, and the rest is a suffix of the input.
func FuzzCertificatesFromPEM(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAQI=\n-----END CERTIFICATE-----\ntrailing"), false)
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nAQ==\n-----END PUBLIC KEY-----\n"), true)
	f.Add([]byte("no pem here"), false)
	f.Fuzz(func(t *testing.T, data []byte, skipOther bool) {
		certs, rest, err := CertificatesFromPEM(data, skipOther)
		if err != nil {
			if certs != nil || rest != nil {
				t.Fatalf("error %v with results", err)
			}
			return
		}
		if !strings.HasSuffix(string(data), string(rest)) {
			t.Fatalf("rest %q is not a suffix of the input", rest)
		}
		for _, c := range certs {
			if c == nil || len(c.Raw) == 0 {
				t.Fatal("nil or empty certificate returned")
			}
		}
	})
}
