package notation_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/notaryproject/notation-core-go/signature"
	"github.com/notaryproject/notation-core-go/signature/cose"
	notationgo "github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/registry"
	"github.com/notaryproject/notation-go/signer"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/notation"
	"github.com/toto-dev/toto/notation/notationtest"
)

func open(t *testing.T, ref string) *image.Target {
	t.Helper()
	tg, err := image.Open(context.Background(), ref, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func sign(t *testing.T, e *notationtest.Env, tg *image.Target, opts notation.SignOptions) *notation.Signed {
	t.Helper()
	s, err := notation.Sign(context.Background(), tg, e.Certs.Key, e.Certs.Chain(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verify(t *testing.T, tg *image.Target, opts notation.VerifyOptions) *notation.Report {
	t.Helper()
	r, err := notation.Verify(context.Background(), tg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// oracleVerify verifies with notation-go's own repository (oras over the
// OCI layout), verifier.New and notation.Verify: what the notation CLI
// runs for notation verify --oci-layout.
func oracleVerify(t *testing.T, e *notationtest.Env, dir string, tg *image.Target) error {
	t.Helper()
	repo, err := registry.NewOCIRepository(dir, registry.RepositoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(e.Policy.Document(), e.Store, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = notationgo.Verify(context.Background(), v, repo, notationgo.VerifyOptions{
		ArtifactReference:    notation.LocalScope(dir) + "@" + tg.Digest(),
		MaxSignatureAttempts: 50,
	})
	return err
}

func checks(r notation.SignatureResult) map[string]notation.Check {
	m := map[string]notation.Check{}
	for _, c := range r.Checks {
		m[c.Type] = c
	}
	return m
}

func TestSignVerifyLayout(t *testing.T) {
	for _, tc := range []struct {
		env notation.Envelope
		kt  notation.KeyType
	}{
		{notation.JWS, notation.ECDSAP256},
		{notation.COSE, notation.ECDSAP384},
		{notation.JWS, notation.RSA3072},
		{notation.COSE, notation.RSA2048},
	} {
		t.Run(string(tc.env)+"-"+string(tc.kt), func(t *testing.T) {
			e := notationtest.New(t, notationtest.Options{Certificates: notation.CertificateOptions{KeyType: tc.kt}})
			dir := notationtest.Layout(t, "app")
			tg := open(t, image.LayoutPrefix+dir)
			s := sign(t, e, tg, notation.SignOptions{Envelope: tc.env, Expiry: time.Hour})
			if s.Manifest.ArtifactType != notation.ArtifactType {
				t.Errorf("artifact type %q", s.Manifest.ArtifactType)
			}
			r := verify(t, open(t, image.LayoutPrefix+dir), e.VerifyOptions())
			if !r.OK() || len(r.Signatures) != 1 || !r.Signatures[0].Verified {
				t.Fatalf("not verified: %+v", r)
			}
			if r.Reference != "local/app@"+tg.Digest() || r.Level != "strict" {
				t.Errorf("reference %q level %q", r.Reference, r.Level)
			}
			for _, typ := range []string{"integrity", "authenticity", "authenticTimestamp", "expiry", "revocation"} {
				c := checks(r.Signatures[0])[typ]
				if c.Outcome != notation.Passed || c.Action != "enforce" {
					t.Errorf("%s: %+v", typ, c)
				}
			}
			if d := r.Decision(); !d.Allowed() {
				t.Errorf("decision: %v", d.Err())
			}
			if err := oracleVerify(t, e, dir, tg); err != nil {
				t.Errorf("notation-go refuses toto's signature: %v", err)
			}
		})
	}
}

func TestNotationGoSignsTotoVerifies(t *testing.T) {
	for _, mt := range []string{notation.MediaTypeJWS, notation.MediaTypeCOSE} {
		t.Run(mt, func(t *testing.T) {
			e := notationtest.New(t, notationtest.Options{})
			dir := notationtest.Layout(t, "app")
			tg := open(t, image.LayoutPrefix+dir)
			repo, err := registry.NewOCIRepository(dir, registry.RepositoryOptions{})
			if err != nil {
				t.Fatal(err)
			}
			s, err := signer.NewGenericSigner(e.Certs.Key, e.Certs.Chain())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := notationgo.Sign(context.Background(), s, repo, notationgo.SignOptions{
				SignerSignOptions: notationgo.SignerSignOptions{SignatureMediaType: mt},
				ArtifactReference: tg.Digest(),
			}); err != nil {
				t.Fatal(err)
			}
			r := verify(t, open(t, image.LayoutPrefix+dir), e.VerifyOptions())
			if !r.OK() || len(r.Signatures) != 1 || r.Signatures[0].MediaType != mt {
				t.Fatalf("toto does not verify notation-go's signature: %+v", r)
			}
		})
	}
}

// TestLevels: every level and an override, on a signature from a CA the
// trust store does not hold, an expired one, and at level skip.
func TestLevels(t *testing.T) {
	e := notationtest.New(t, notationtest.Options{})
	stranger := notationtest.New(t, notationtest.Options{})
	dir := notationtest.Layout(t, "app")
	tg := open(t, image.LayoutPrefix+dir)
	sign(t, stranger, tg, notation.SignOptions{})
	expiredDir := notationtest.Layout(t, "old")
	sign(t, e, open(t, image.LayoutPrefix+expiredDir), notation.SignOptions{Expiry: time.Second})
	time.Sleep(1100 * time.Millisecond)

	stmt := func(level string, override map[string]string) notationtest.Statement {
		s := notationtest.DefaultStatement(e)
		s.SignatureVerification = notationtest.SignatureVerification{Level: level, Override: override}
		if level == "skip" {
			s.TrustStores, s.TrustedIdentities = nil, nil
		}
		return s
	}
	for _, tc := range []struct {
		name        string
		dir         string
		st          notationtest.Statement
		ok          bool
		check       string
		outcome     notation.Outcome
		action      string
		wantLevel   string
		wantSkipped bool
	}{
		{"untrusted strict", dir, stmt("strict", nil), false, "authenticity", notation.Failed, "enforce", "strict", false},
		{"untrusted permissive", dir, stmt("permissive", nil), false, "authenticity", notation.Failed, "enforce", "permissive", false},
		{"untrusted audit", dir, stmt("audit", nil), true, "authenticity", notation.Failed, "log", "audit", false},
		{"untrusted strict, authenticity log", dir, stmt("strict", map[string]string{"authenticity": "log"}), true, "authenticity", notation.Failed, "log", "strict with overrides", false},
		{"expired strict", expiredDir, stmt("strict", nil), false, "expiry", notation.Failed, "enforce", "strict", false},
		{"expired permissive", expiredDir, stmt("permissive", nil), true, "expiry", notation.Failed, "log", "permissive", false},
		{"expired strict, expiry log", expiredDir, stmt("strict", map[string]string{"expiry": "log"}), true, "expiry", notation.Failed, "log", "strict with overrides", false},
		{"expired audit, revocation skip", expiredDir, stmt("audit", map[string]string{"revocation": "skip"}), true, "revocation", notation.Skipped, "skip", "audit with overrides", false},
		{"skip", dir, stmt("skip", nil), true, "", "", "", "skip", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.WritePolicy(t, tc.st)
			r := verify(t, open(t, image.LayoutPrefix+tc.dir), e.VerifyOptions())
			if r.OK() != tc.ok || r.Level != tc.wantLevel || r.Skip() != tc.wantSkipped {
				t.Fatalf("ok %v level %q skip %v: %+v", r.OK(), r.Level, r.Skip(), r)
			}
			d := r.Decision()
			if d.Allowed() != tc.ok {
				t.Errorf("decision allowed %v, want %v: %v", d.Allowed(), tc.ok, d.Err())
			}
			if !tc.ok && !errors.Is(d.Err(), notation.ErrOtherArtifact) && !errors.Is(r.Err(), notation.ErrVerification) {
				t.Errorf("Err: %v", r.Err())
			}
			if tc.check == "" {
				if len(r.Signatures) != 0 {
					t.Errorf("level skip read signatures")
				}
				return
			}
			c := checks(r.Signatures[0])[tc.check]
			if c.Outcome != tc.outcome || c.Action != tc.action {
				t.Errorf("%s: %+v, want %s/%s", tc.check, c, tc.outcome, tc.action)
			}
		})
	}
}

// TestRevocationOffline: a leaf naming OCSP and CRL endpoints is not
// checked offline (no request is made: the endpoints are unreachable), the
// check is skipped and the report says which certificate and endpoints.
func TestRevocationOffline(t *testing.T) {
	e := notationtest.New(t, notationtest.Options{Certificates: notation.CertificateOptions{
		OCSPServer:            []string{"http://127.0.0.1:1/ocsp"},
		CRLDistributionPoints: []string{"http://127.0.0.1:1/ca.crl"},
	}})
	dir := notationtest.Layout(t, "app")
	sign(t, e, open(t, image.LayoutPrefix+dir), notation.SignOptions{})
	for _, tc := range []struct {
		level string
		ok    bool
	}{{"strict", true}, {"permissive", true}} {
		t.Run(tc.level, func(t *testing.T) {
			st := notationtest.DefaultStatement(e)
			st.SignatureVerification.Level = tc.level
			e.WritePolicy(t, st)
			r := verify(t, open(t, image.LayoutPrefix+dir), e.VerifyOptions())
			c := checks(r.Signatures[0])["revocation"]
			if r.OK() != tc.ok || c.Outcome != notation.Skipped || !errors.Is(c.Err, notation.ErrOffline) ||
				!strings.Contains(c.Reason, "http://127.0.0.1:1/ocsp") || !strings.Contains(c.Reason, "online") ||
				len(r.Signatures[0].Offline) != 1 || !strings.Contains(r.Signatures[0].Offline[0], "CN=toto test signer") {
				t.Fatalf("ok %v, revocation %+v, offline %v", r.OK(), c, r.Signatures[0].Offline)
			}
			// Online, the unreachable endpoints make the status unknown:
			// strict fails, permissive logs it.
			o := e.VerifyOptions()
			o.Revocation = notation.RevocationOnline
			r = verify(t, open(t, image.LayoutPrefix+dir), o)
			c = checks(r.Signatures[0])["revocation"]
			if r.OK() != (tc.level == "permissive") || c.Outcome != notation.Failed || !strings.Contains(c.Reason, "revocation status is unknown") {
				t.Fatalf("online: ok %v, revocation %+v", r.OK(), c)
			}
		})
	}
}

func TestBadChains(t *testing.T) {
	e := notationtest.New(t, notationtest.Options{})
	other := notationtest.New(t, notationtest.Options{})
	tg := open(t, image.LayoutPrefix+notationtest.Layout(t, "app"))
	gen := func(o notation.CertificateOptions) *notation.Certificates {
		c, err := notation.GenerateCertificates(o)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	noEKU := gen(notation.CertificateOptions{LeafExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	noKU := gen(notation.CertificateOptions{LeafKeyUsage: x509.KeyUsageKeyEncipherment})
	expired := gen(notation.CertificateOptions{NotBefore: time.Now().Add(-48 * time.Hour), Validity: time.Hour})
	for _, tc := range []struct {
		name  string
		key   any
		chain []*x509.Certificate
		want  string
	}{
		{"does not chain", e.Certs.Key, []*x509.Certificate{e.Certs.Leaf, other.Certs.CA}, "is not issued by"},
		{"no chain", e.Certs.Key, nil, "empty certificate chain"},
		{"wrong EKU", noEKU.Key, noEKU.Chain(), "extended key usage"},
		{"wrong key usage", noKU.Key, noKU.Chain(), "key usage"},
		{"expired leaf", expired.Key, expired.Chain(), "invalid at signing time"},
		{"not the leaf's key", other.Certs.Key, e.Certs.Chain(), "not the signing certificate's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := notation.Sign(context.Background(), tg, tc.key, tc.chain, notation.SignOptions{})
			var ce *notation.CertificateError
			if !errors.As(err, &ce) || !errors.Is(err, notation.ErrCertificate) || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.want)) {
				t.Fatalf("err = %v, want a CertificateError containing %q", err, tc.want)
			}
		})
	}
}

func TestSignUsageErrors(t *testing.T) {
	e := notationtest.New(t, notationtest.Options{})
	tg := open(t, image.LayoutPrefix+notationtest.Layout(t, "app"))
	for _, tc := range []struct {
		name string
		opts notation.SignOptions
	}{
		{"unknown envelope", notation.SignOptions{Envelope: "pgp"}},
		{"fractional expiry", notation.SignOptions{Expiry: 1500 * time.Millisecond}},
		{"TSA without roots", notation.SignOptions{TSAURL: "http://127.0.0.1:1/"}},
		{"roots without TSA", notation.SignOptions{TSARoots: []*x509.Certificate{e.Certs.CA}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := notation.Sign(context.Background(), tg, e.Certs.Key, e.Certs.Chain(), tc.opts)
			if !errors.Is(err, notation.ErrUsage) {
				t.Fatalf("err = %v, want ErrUsage", err)
			}
		})
	}
}

// TestPayloadForAnotherDigest: a signature manifest of image B carrying
// an envelope signed for image A fails with an OtherArtifactError.
func TestPayloadForAnotherDigest(t *testing.T) {
	e := notationtest.New(t, notationtest.Options{})
	a := open(t, image.LayoutPrefix+notationtest.Layout(t, "a"))
	bDir := notationtest.Layout(t, "b")
	b := open(t, image.LayoutPrefix+bDir)
	s := sign(t, e, a, notation.SignOptions{})
	raw, err := a.Manifest(context.Background(), s.Manifest.Digest)
	if err != nil {
		t.Fatal(err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	env, err := a.Blob(context.Background(), m.Layers[0].Digest, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	m.Subject = &v1.Descriptor{MediaType: b.Descriptor.MediaType, Digest: b.Descriptor.Digest, Size: b.Descriptor.Size}
	moved, _ := json.Marshal(m)
	if _, err := b.Attach(context.Background(), image.Referrer{Manifest: moved, Blobs: [][]byte{[]byte("{}"), env}}); err != nil {
		t.Fatal(err)
	}
	r := verify(t, open(t, image.LayoutPrefix+bDir), e.VerifyOptions())
	if r.OK() || !errors.Is(r.Err(), notation.ErrOtherArtifact) || !strings.Contains(r.Err().Error(), a.Digest()) {
		t.Fatalf("err = %v", r.Err())
	}
}

func TestPolicyErrors(t *testing.T) {
	good := `{"version":"1.0","trustPolicies":[{"name":"a","registryScopes":["*"],"signatureVerification":{"level":"strict"},"trustStores":["ca:x"],"trustedIdentities":["*"]}]}`
	if _, err := notation.ParsePolicy([]byte(good)); err != nil {
		t.Fatalf("good policy: %v", err)
	}
	stmt := func(name, scope string) string {
		return `{"name":"` + name + `","registryScopes":["` + scope + `"],"signatureVerification":{"level":"strict"},"trustStores":["ca:x"],"trustedIdentities":["*"]}`
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"overlapping scopes", `{"version":"1.0","trustPolicies":[` + stmt("a", "r.example/app") + `,` + stmt("b", "r.example/app") + `]}`, "present in multiple trust policy statements"},
		{"two wildcards", `{"version":"1.0","trustPolicies":[` + stmt("a", "*") + `,` + stmt("b", "*") + `]}`, "multiple"},
		{"duplicate member", `{"version":"1.0","version":"1.0","trustPolicies":[]}`, "more than once"},
		{"case variant", `{"Version":"1.0","trustPolicies":[` + stmt("a", "*") + `]}`, "version"},
		{"unknown member", `{"version":"1.0","trustPolicies":[` + stmt("a", "*") + `],"extra":1}`, "unknown"},
		{"unknown nested member", `{"version":"1.0","trustPolicies":[{"name":"a","registryScopes":["*"],"signatureVerification":{"level":"strict","levle":"x"},"trustStores":["ca:x"],"trustedIdentities":["*"]}]}`, "unknown field"},
		{"unknown level", strings.Replace(good, `"strict"`, `"lenient"`, 1), "lenient"},
		{"bad override", strings.Replace(good, `{"level":"strict"}`, `{"level":"strict","override":{"integrity":"log"}}`, 1), "integrity"},
		{"version 2", strings.Replace(good, `"1.0"`, `"2.0"`, 1), "unsupported version"},
		{"trailing data", good + "{}", "trailing"},
		{"wildcard identity beside another", strings.Replace(good, `["*"]}`, `["*","x509.subject: CN=a"]}`, 1), "wildcard"},
		{"not JSON", `{`, "unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := notation.ParsePolicy([]byte(tc.doc))
			var pe *notation.PolicyError
			if !errors.As(err, &pe) || !errors.Is(err, notation.ErrPolicy) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a PolicyError containing %q", err, tc.want)
			}
		})
	}
	p := filepath.Join(t.TempDir(), "trustpolicy.json")
	os.WriteFile(p, []byte(`{"version":"1.0"}`), 0o644)
	if _, err := notation.LoadPolicy(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("LoadPolicy error does not name the file: %v", err)
	}
}

func TestNoApplicableStatement(t *testing.T) {
	e := notationtest.New(t, notationtest.Options{})
	st := notationtest.DefaultStatement(e)
	st.RegistryScopes = []string{"registry.example/app"}
	e.WritePolicy(t, st)
	tg := open(t, image.LayoutPrefix+notationtest.Layout(t, "app"))
	_, err := notation.Verify(context.Background(), tg, e.VerifyOptions())
	if !errors.Is(err, notation.ErrPolicy) || !strings.Contains(err.Error(), "local/app@") {
		t.Fatalf("err = %v", err)
	}
	o := e.VerifyOptions()
	o.Scope = "registry.example/app"
	if _, err := notation.Verify(context.Background(), tg, o); err != nil {
		t.Fatalf("with Scope: %v", err)
	}
}

func TestNoSignature(t *testing.T) {
	e := notationtest.New(t, notationtest.Options{})
	r := verify(t, open(t, image.LayoutPrefix+notationtest.Layout(t, "app")), e.VerifyOptions())
	d := r.Decision()
	if r.OK() || d.Allowed() || !strings.Contains(r.Err().Error(), "no Notary Project signature") {
		t.Fatalf("ok %v: %v", r.OK(), r.Err())
	}
	if got := d.Requirements[0]; got.Action != decision.Enforce || got.Outcome != decision.Violated {
		t.Errorf("requirement %+v", got)
	}
}

func TestLocalScope(t *testing.T) {
	for in, want := range map[string]string{
		"./out/app":    "local/app",
		"/x/App_1":     "local/app_1",
		"/x/my layout": "local/my-layout",
		"/x/--a..b--":  "local/a-b",
		"/":            "local/layout",
	} {
		if got := notation.LocalScope(in); got != want {
			t.Errorf("LocalScope(%q) = %q, want %q", in, got, want)
		}
		if _, err := notation.ParsePolicy([]byte(`{"version":"1.0","trustPolicies":[{"name":"a","registryScopes":["` + notation.LocalScope(in) + `"],"signatureVerification":{"level":"strict"},"trustStores":["ca:x"],"trustedIdentities":["*"]}]}`)); err != nil {
			t.Errorf("scope %q refused by notation-go: %v", notation.LocalScope(in), err)
		}
	}
}

func TestTrustStoreFolders(t *testing.T) {
	e := notationtest.New(t, notationtest.Options{})
	for _, d := range []string{e.TrustStore, e.Dir} {
		s, err := notation.OpenTrustStore(d)
		if err != nil {
			t.Fatal(err)
		}
		certs, err := s.GetCertificates(context.Background(), "ca", "toto")
		if err != nil || len(certs) != 1 || !certs[0].Equal(e.Certs.CA) {
			t.Fatalf("%s: %v %v", d, certs, err)
		}
	}
	if _, err := notation.OpenTrustStore(t.TempDir()); !errors.Is(err, notation.ErrTrustStore) {
		t.Errorf("empty folder: %v", err)
	}
}

func TestDecisionSkipLevel(t *testing.T) {
	r := &notation.Report{Image: "x@sha256:1", Level: trustpolicy.LevelSkip.Name}
	d := r.Decision()
	if !d.Allowed() || d.Requirements[0].Outcome != decision.Skipped || d.Requirements[0].Action != decision.Audit {
		t.Fatalf("%+v", d)
	}
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(`{"version":"1.0","trustPolicies":[{"name":"a","registryScopes":["*"],"signatureVerification":{"level":"strict","override":{"expiry":"log"}},"trustStores":["ca:x","tsa:t"],"trustedIdentities":["x509.subject: CN=a, O=b"]}]}`))
	f.Add([]byte(`{"version":"1.0","trustPolicies":[{"name":"a","registryScopes":["local/app","r.example:5000/a/b"],"signatureVerification":{"level":"skip"}}]}`))
	f.Add([]byte(`{"version":"1.0","trustPolicies":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := notation.ParsePolicy(data)
		if err != nil {
			var pe *notation.PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// A parsed policy is one notation-go accepts and can pick from.
		if err := p.Document().Validate(); err != nil {
			t.Fatalf("accepted a policy notation-go refuses: %v", err)
		}
		_, _ = p.Statement("local/app@sha256:0000000000000000000000000000000000000000000000000000000000000000")
		// Re-encoded, it parses to the same statements.
		raw, err := json.Marshal(p.Document())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := notation.ParsePolicy(raw); err != nil {
			t.Fatalf("re-encoded policy refused: %v\n%s", err, raw)
		}
	})
}

// TestCOSEUnknownCritical: a COSE envelope with an extended attribute
// marked critical (in its protected crit header) that toto does not know
// fails integrity with a CriticalError (notation-go without a plugin
// would accept it); the envelope toto signed verifies through
// VerifyEnvelope.
func TestCOSEUnknownCritical(t *testing.T) {
	e := notationtest.New(t, notationtest.Options{})
	dir := notationtest.Layout(t, "app")
	tg := open(t, image.LayoutPrefix+dir)
	s := sign(t, e, tg, notation.SignOptions{Envelope: notation.COSE})
	raw, err := tg.Manifest(context.Background(), s.Manifest.Digest)
	if err != nil {
		t.Fatal(err)
	}
	var m v1.Manifest
	json.Unmarshal(raw, &m)
	env, err := tg.Blob(context.Background(), m.Layers[0].Digest, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	scope := notation.LocalScope(dir)
	res, err := notation.VerifyEnvelope(context.Background(), tg.Descriptor, scope, notation.MediaTypeCOSE, env, e.VerifyOptions())
	if err != nil || !res.Verified {
		t.Fatalf("untouched envelope: %v %+v", err, res)
	}

	// The same payload, signed by notation-core-go's COSE envelope with
	// an extended attribute marked critical.
	ls, err := signature.NewLocalSigner(e.Certs.Chain(), e.Certs.Key)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]any{"targetArtifact": map[string]any{
		"mediaType": tg.Descriptor.MediaType, "digest": tg.Digest(), "size": tg.Descriptor.Size}})
	bad, err := cose.NewEnvelope().Sign(&signature.SignRequest{
		Payload:                  signature.Payload{ContentType: notation.MediaTypePayload, Content: payload},
		Signer:                   ls,
		SigningTime:              time.Now(),
		SigningScheme:            signature.SigningSchemeX509,
		ExtendedSignedAttributes: []signature.Attribute{{Key: "io.toto.test.unknown", Critical: true, Value: "must be understood"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ov, err := verifier.New(e.Policy.Document(), e.Store, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ov.Verify(context.Background(), ocispec.Descriptor{MediaType: string(tg.Descriptor.MediaType), Digest: digest.Digest(tg.Digest()), Size: tg.Descriptor.Size}, bad,
		notationgo.VerifierVerifyOptions{ArtifactReference: scope + "@" + tg.Digest(), SignatureMediaType: notation.MediaTypeCOSE}); err != nil {
		// The reason toto checks critical attributes itself is gone.
		t.Errorf("notation-go now refuses an unknown critical attribute without a plugin (%v): toto's own check in session.verify may be redundant", err)
	}
	res, err = notation.VerifyEnvelope(context.Background(), tg.Descriptor, scope, notation.MediaTypeCOSE, bad, e.VerifyOptions())
	if err != nil {
		t.Fatal(err)
	}
	c := checks(*res)["integrity"]
	if res.Verified || !errors.Is(res.Err, notation.ErrCritical) || c.Outcome != notation.Failed || !strings.Contains(c.Reason, "io.toto.test.unknown") {
		t.Fatalf("verified %v err %v integrity %+v", res.Verified, res.Err, c)
	}
}
