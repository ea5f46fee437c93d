// Package notationtest sets up what tests of Notary Project signatures
// need: a CA and a signing certificate (notation.GenerateCertificates),
// the key and chain files, a trust store holding the CA, a trustpolicy.json
// and OCI layouts to sign.
package notationtest

import (
	"crypto/x509/pkix"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/toto-dev/toto/notation"
)

// Subject is the default signing certificate's subject.
var Subject = pkix.Name{CommonName: "toto test signer", Organization: []string{"toto"}, Province: []string{"WA"}, Country: []string{"US"}}

// Options tune New.
type Options struct {
	// Certificates tune the CA and signing certificate; Subject
	// defaults to Subject.
	Certificates notation.CertificateOptions
	// Statement is the policy statement New writes; zero gets
	// DefaultStatement.
	Statement *Statement
	// TSARootPEM, when set, is written to truststore/x509/tsa/tsa/.
	TSARootPEM []byte
}

// Statement is one trust policy statement, as JSON.
type Statement struct {
	Name                  string                `json:"name"`
	RegistryScopes        []string              `json:"registryScopes"`
	SignatureVerification SignatureVerification `json:"signatureVerification"`
	TrustStores           []string              `json:"trustStores"`
	TrustedIdentities     []string              `json:"trustedIdentities"`
}

// SignatureVerification is a statement's level and overrides.
type SignatureVerification struct {
	Level           string            `json:"level"`
	Override        map[string]string `json:"override,omitempty"`
	VerifyTimestamp string            `json:"verifyTimestamp,omitempty"`
}

// DefaultStatement trusts the CA of New (store ca:toto, and tsa:tsa when
// a TSA root is given) for the signer's subject, strict, every scope.
func DefaultStatement(e *Env) Statement {
	stores := []string{"ca:toto"}
	if e.TSARoot != "" {
		stores = append(stores, "tsa:tsa")
	}
	return Statement{
		Name:                  "toto-test",
		RegistryScopes:        []string{"*"},
		SignatureVerification: SignatureVerification{Level: "strict"},
		TrustStores:           stores,
		TrustedIdentities:     []string{"x509.subject: " + e.Certs.Leaf.Subject.String()},
	}
}

// Env is a test's signing identity, trust store and trust policy, as
// files under Dir and as loaded values.
type Env struct {
	Dir   string
	Certs *notation.Certificates
	// KeyPath (PKCS#8 PEM) and ChainPath (PEM, leaf then CA) are what
	// notation sign --key/--cert-chain and toto take.
	KeyPath, ChainPath string
	// TrustStore is Dir/truststore (x509/ca/toto/ca.pem, and
	// x509/tsa/tsa/tsa.pem with a TSA root); TSARoot is that file.
	TrustStore, TSARoot string
	// PolicyPath is Dir/trustpolicy.json.
	PolicyPath string
	Policy     *notation.Policy
	Store      *notation.TrustStore
}

// New makes a CA and signing certificate and writes them with a trust
// store and a trust policy into a temporary folder.
func New(t testing.TB, opts Options) *Env {
	t.Helper()
	co := opts.Certificates
	if co.Subject.String() == "" {
		co.Subject = Subject
	}
	certs, err := notation.GenerateCertificates(co)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e := &Env{Dir: dir, Certs: certs,
		KeyPath:    filepath.Join(dir, "signer.key"),
		ChainPath:  filepath.Join(dir, "signer.crt"),
		TrustStore: filepath.Join(dir, "truststore"),
		PolicyPath: filepath.Join(dir, "trustpolicy.json"),
	}
	keyPEM, err := certs.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	write(t, e.KeyPath, keyPEM)
	write(t, e.ChainPath, certs.ChainPEM())
	write(t, filepath.Join(e.TrustStore, "x509", "ca", "toto", "ca.pem"), certs.CAPEM())
	if opts.TSARootPEM != nil {
		e.TSARoot = filepath.Join(e.TrustStore, "x509", "tsa", "tsa", "tsa.pem")
		write(t, e.TSARoot, opts.TSARootPEM)
	}
	st := DefaultStatement(e)
	if opts.Statement != nil {
		st = *opts.Statement
	}
	e.WritePolicy(t, st)
	if e.Store, err = notation.OpenTrustStore(e.TrustStore); err != nil {
		t.Fatal(err)
	}
	return e
}

// WritePolicy replaces the trust policy with these statements and loads
// it.
func (e *Env) WritePolicy(t testing.TB, sts ...Statement) {
	t.Helper()
	raw, err := json.MarshalIndent(map[string]any{"version": "1.0", "trustPolicies": sts}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	write(t, e.PolicyPath, append(raw, '\n'))
	if e.Policy, err = notation.LoadPolicy(e.PolicyPath); err != nil {
		t.Fatal(err)
	}
}

// VerifyOptions are Env's policy and trust store as notation.VerifyOptions.
func (e *Env) VerifyOptions() notation.VerifyOptions {
	return notation.VerifyOptions{Policy: e.Policy, TrustStore: e.Store}
}

// Layout writes an OCI layout holding one random image into a new
// folder named name under a temporary folder, and returns its path.
func Layout(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return dir
}

func write(t testing.TB, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
