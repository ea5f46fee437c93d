//go:build interop

package notation

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/notaryproject/notation-core-go/revocation"
	"github.com/notaryproject/notation-core-go/revocation/result"
	"github.com/notaryproject/notation-core-go/signature"
	_ "github.com/notaryproject/notation-core-go/signature/cose"
	_ "github.com/notaryproject/notation-core-go/signature/jws"
	notationgo "github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/toto-dev/toto/notation"
	"github.com/toto-dev/toto/notation/notationtest"
)

// vector is one signature envelope from notation-go's testdata, the
// policy statement its own test uses, and the verdict that test expects
// for one check.
type vector struct {
	name      string
	file      string // under the notation-go module
	mediaType string
	scope     string
	level     string
	override  map[string]string
	stores    []string
	ids       []string
	verifyTS  string
	// check and want: the check notation-go's test asserts and the error
	// it expects ("" = passes).
	check string
	want  string
}

const sampleScope = "registry.acme-rockets.io/software/net-monitor"

func vectors() []vector {
	var vs []vector
	mockStores := []string{"ca:valid-trust-store", "signingAuthority:valid-trust-store"}
	mockIDs := []string{"x509.subject:CN=Notation Test Root,O=Notary,L=Seattle,ST=WA,C=US"}
	// verifier_test.go TestNotationVerificationCombinations, both
	// signing schemes, every level but skip.
	for _, scheme := range []string{"ca", "sa"} {
		for _, level := range []string{"strict", "permissive", "audit"} {
			base := vector{mediaType: notation.MediaTypeJWS, scope: sampleScope, level: level, stores: mockStores, ids: mockIDs}
			v := base
			v.name, v.file, v.check = scheme+" valid "+level, "internal/mock/testdata/"+scheme+"_valid_sig_env.json", "authenticity"
			vs = append(vs, v)
			v = base
			v.name, v.file, v.check, v.want = scheme+" invalid "+level, "internal/mock/testdata/"+scheme+"_invalid_sig_env.json", "integrity", "signature is invalid. Error: illegal base64 data at input byte 242"
			vs = append(vs, v)
			v = base
			v.name, v.file, v.check, v.want = scheme+" expired "+level, "internal/mock/testdata/"+scheme+"_expired_sig_env.json", "expiry", `digital signature has expired on "Fri, 29 Jul 2022 23:59:00 +0000"`
			vs = append(vs, v)
			v = base
			v.name, v.file, v.stores, v.check, v.want = scheme+" untrusted "+level, "internal/mock/testdata/"+scheme+"_valid_sig_env.json",
				[]string{"ca:valid-trust-store-2", "signingAuthority:valid-trust-store-2"}, "authenticity", "the signature's certificate chain does not contain any trusted certificate"
			vs = append(vs, v)
			v = base
			v.name, v.file, v.ids, v.check, v.want = scheme+" other identity "+level, "internal/mock/testdata/"+scheme+"_valid_sig_env.json",
				[]string{"x509.subject:CN=LOL,O=DummyOrg,L=Hyderabad,ST=TG,C=IN"}, "authenticity", `signing certificate from the digital signature does not match the X.509 trusted identities [map["C":"IN" "CN":"LOL" "L":"Hyderabad" "O":"DummyOrg" "ST":"TG"]] defined in the trust policy "vector"`
			vs = append(vs, v)
		}
	}
	// timestamp_test.go TestAuthenticTimestamp: authenticity is logged so
	// that the timestamp check runs whatever the chain.
	ts := func(name, file, mt string, stores []string, want string) vector {
		return vector{name: name, file: "verifier/testdata/timestamp/sigEnv/" + file, mediaType: mt, scope: sampleScope,
			level: "strict", override: map[string]string{"authenticity": "log"}, stores: stores, ids: []string{"*"}, verifyTS: "always",
			check: "authenticTimestamp", want: want}
	}
	tsStores := []string{"ca:valid-trust-store", "tsa:test-timestamp"}
	vs = append(vs,
		ts("jws with timestamp", "jwsWithTimestamp.sig", notation.MediaTypeJWS, tsStores, ""),
		ts("cose with timestamp", "coseWithTimestamp.sig", notation.MediaTypeCOSE, tsStores, ""),
		ts("jws expired cert with timestamp", "jwsExpiredWithTimestamp.sig", notation.MediaTypeJWS, tsStores, ""),
		ts("cose expired cert with timestamp", "coseExpiredWithTimestamp.sig", notation.MediaTypeCOSE, tsStores, ""),
		ts("cose expired cert, no tsa store", "coseExpiredWithTimestamp.sig", notation.MediaTypeCOSE, []string{"ca:valid-trust-store"},
			`verification time is after certificate "CN=testTSA,O=Notary,L=Seattle,ST=WA,C=US" validity period, it was expired at "Tue, 18 Jun 2024 07:30:31 +0000"`),
		ts("without timestamp", "withoutTimestamp.sig", notation.MediaTypeJWS, tsStores, "no timestamp countersignature was found in the signature envelope"),
		ts("tsa not trusted", "jwsWithTimestamp.sig", notation.MediaTypeJWS, []string{"ca:valid-trust-store", "tsa:test-mismatch"},
			"failed to verify the timestamp countersignature with error: failed to verify signed token: cms verification failure: x509: certificate signed by unknown authority"),
		ts("timestamp before notBefore", "timestampBeforeNotBefore.sig", notation.MediaTypeJWS, tsStores,
			`timestamp can be before certificate "CN=testTSA,O=Notary,L=Seattle,ST=WA,C=US" validity period, it will be valid from "Fri, 18 Sep 2099 11:54:34 +0000"`),
		ts("timestamp after notAfter", "timestampAfterNotAfter.sig", notation.MediaTypeCOSE, tsStores,
			`timestamp can be after certificate "CN=testTSA,O=Notary,L=Seattle,ST=WA,C=US" validity period, it was expired at "Tue, 18 Sep 2001 11:54:34 +0000"`),
	)
	return vs
}

// TestNotationGoVectors: the signature envelopes of notation-go's own
// verifier tests (JWS and COSE, both signing schemes, timestamped ones)
// verified by toto against notation-go's test trust store, each with the
// verdict notation-go's test expects for the check it asserts, and every
// check's outcome the same as notation-go's verifier gives on the same
// envelope, policy and store.
func TestNotationGoVectors(t *testing.T) {
	mod := moduleDir(t, "github.com/notaryproject/notation-go")
	store, err := notation.OpenTrustStore(filepath.Join(mod, "verifier", "testdata", "truststore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vectors() {
		t.Run(v.name, func(t *testing.T) {
			env, err := os.ReadFile(filepath.Join(mod, v.file))
			if err != nil {
				t.Fatal(err)
			}
			st := map[string]any{
				"name": "vector", "registryScopes": []string{v.scope},
				"signatureVerification": map[string]any{"level": v.level},
				"trustStores":           v.stores, "trustedIdentities": v.ids,
			}
			sv := st["signatureVerification"].(map[string]any)
			if v.override != nil {
				sv["override"] = v.override
			}
			if v.verifyTS != "" {
				sv["verifyTimestamp"] = v.verifyTS
			}
			raw, _ := json.Marshal(map[string]any{"version": "1.0", "trustPolicies": []any{st}})
			p, err := notation.ParsePolicy(raw)
			if err != nil {
				t.Fatal(err)
			}
			subject := targetOf(t, env, v.mediaType)
			res, err := notation.VerifyEnvelope(ctx, subject, v.scope, v.mediaType, env, notation.VerifyOptions{Policy: p, TrustStore: store})
			if err != nil {
				t.Fatal(err)
			}
			c := check(*res, v.check)
			switch {
			case v.want == "" && c.Outcome != notation.Passed:
				t.Errorf("%s: %+v, want passed", v.check, c)
			case v.want != "" && (c.Outcome != notation.Failed || c.Reason != v.want):
				t.Errorf("%s: %+v\nwant failed: %s", v.check, c, v.want)
			}
			// The same envelope through notation-go's verifier, with
			// revocation not checked (what toto's offline mode does)...
			nc := notChecked{}
			ov, err := verifier.NewWithOptions(p.Document(), store, nil, verifier.VerifierOptions{RevocationCodeSigningValidator: nc, RevocationTimestampingValidator: nc})
			if err != nil {
				t.Fatal(err)
			}
			compare(t, "offline", res, ov, subject, v, env)
			// ... and toto online against notation-go's defaults (both
			// reach the OCSP and CRL servers the certificates name).
			online, err := notation.VerifyEnvelope(ctx, subject, v.scope, v.mediaType, env, notation.VerifyOptions{Policy: p, TrustStore: store, Revocation: notation.RevocationOnline})
			if err != nil {
				t.Fatal(err)
			}
			ov, err = verifier.New(p.Document(), store, nil)
			if err != nil {
				t.Fatal(err)
			}
			compare(t, "online", online, ov, subject, v, env)
			t.Logf("verified %v; %s", res.Verified, summary(res))
		})
	}
}

// compare checks that toto's result and notation-go's verifier agree on
// the verdict and on every check notation-go ran.
func compare(t *testing.T, mode string, res *notation.SignatureResult, ov notationgo.Verifier, subject v1.Descriptor, v vector, env []byte) {
	t.Helper()
	out, oerr := ov.Verify(ctx, ocispec.Descriptor{MediaType: string(subject.MediaType), Digest: digestOf(subject), Size: subject.Size}, env,
		notationgo.VerifierVerifyOptions{ArtifactReference: v.scope + "@" + subject.Digest.String(), SignatureMediaType: v.mediaType})
	if (oerr == nil) != res.Verified {
		t.Errorf("%s: verified: toto %v (%v), notation-go %v", mode, res.Verified, res.Err, oerr)
	}
	if out == nil {
		return
	}
	for _, r := range out.VerificationResults {
		tc := check(*res, string(r.Type))
		if (r.Error == nil) != (tc.Outcome == notation.Passed) && !(r.Type == trustpolicy.TypeRevocation && tc.Outcome == notation.Skipped && r.Error == nil) {
			t.Errorf("%s: %s: toto %+v, notation-go %v", mode, r.Type, tc, r.Error)
		}
	}
}

// notChecked answers every certificate as not revocable without a
// request: revocation left unchecked.
type notChecked struct{}

func (notChecked) ValidateContext(_ context.Context, o revocation.ValidateContextOptions) ([]*result.CertRevocationResult, error) {
	out := make([]*result.CertRevocationResult, len(o.CertChain))
	for i := range out {
		out[i] = &result.CertRevocationResult{Result: result.ResultNonRevokable, ServerResults: []*result.ServerResult{{Result: result.ResultNonRevokable}}}
	}
	return out, nil
}

func digestOf(d v1.Descriptor) digest.Digest { return digest.Digest(d.Digest.String()) }

func summary(r *notation.SignatureResult) string {
	var parts []string
	for _, c := range r.Checks {
		parts = append(parts, c.Type+"="+string(c.Outcome))
	}
	return strings.Join(parts, " ")
}

// targetOf reads the artifact descriptor the envelope's payload signs
// (unverified: only to name the subject the vector was made for).
func targetOf(t *testing.T, env []byte, mt string) v1.Descriptor {
	t.Helper()
	e, err := signature.ParseEnvelope(mt, env)
	if err != nil {
		// An envelope that does not parse (the invalid vectors) gets a
		// placeholder: integrity fails before the subject matters.
		h, _ := v1.NewHash("sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e")
		return v1.Descriptor{MediaType: types.DockerManifestSchema2, Digest: h, Size: 528}
	}
	c, err := e.Content()
	if err != nil {
		h, _ := v1.NewHash("sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e")
		return v1.Descriptor{MediaType: types.DockerManifestSchema2, Digest: h, Size: 528}
	}
	var p struct {
		TargetArtifact struct {
			MediaType string `json:"mediaType"`
			Digest    string `json:"digest"`
			Size      int64  `json:"size"`
		} `json:"targetArtifact"`
	}
	if err := json.Unmarshal(c.Payload.Content, &p); err != nil {
		t.Fatal(err)
	}
	h, err := v1.NewHash(p.TargetArtifact.Digest)
	if err != nil {
		t.Fatal(err)
	}
	return v1.Descriptor{MediaType: types.MediaType(p.TargetArtifact.MediaType), Digest: h, Size: p.TargetArtifact.Size}
}

// TestNotationCoreConformanceJWS: notation-core-go's JWS conformance
// envelope carries no certificate chain (notation signs with X.509 chains
// only, never bare keys) and marks an extended attribute (signedCritKey1)
// critical; toto refuses it at integrity, saying why.
func TestNotationCoreConformanceJWS(t *testing.T) {
	mod := moduleDir(t, "github.com/notaryproject/notation-core-go")
	env, err := os.ReadFile(filepath.Join(mod, "signature", "jws", "testdata", "conformance.json"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := signature.ParseEnvelope(notation.MediaTypeJWS, env)
	if err != nil {
		t.Fatal(err)
	}
	content, verr := e.Verify()
	t.Logf("notation-core-go Verify: %v", verr)
	e2 := notationtest.New(t, notationtest.Options{Statement: &notationtest.Statement{
		Name: "conformance", RegistryScopes: []string{"*"}, SignatureVerification: notationtest.SignatureVerification{Level: "strict"},
		TrustStores: []string{"ca:toto"}, TrustedIdentities: []string{"*"},
	}}).VerifyOptions()
	h, _ := v1.NewHash("sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e")
	res, err := notation.VerifyEnvelope(ctx, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h, Size: 1}, sampleScope, notation.MediaTypeJWS, env, e2)
	if err != nil {
		t.Fatal(err)
	}
	c := check(*res, "integrity")
	if res.Verified || c.Outcome != notation.Failed {
		t.Fatalf("integrity %+v", c)
	}
	switch {
	case verr != nil && !strings.Contains(c.Reason, "certificate chain is not present"):
		t.Errorf("integrity reason %q, notation-core-go says %v", c.Reason, verr)
	case verr == nil && content != nil && !strings.Contains(c.Reason, "signedCritKey1"):
		t.Errorf("integrity reason does not name the critical attribute: %s", c.Reason)
	}
	t.Logf("integrity: %s", c.Reason)
}
