package bundle_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/toto-dev/toto/bundle"
	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/internal/corpus"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/statement"
)

// The npm provenance example of sigstore-go: signed in GitHub Actions by
// sigstore-js's release workflow, about the sigstore@1.3.0 tarball.
const (
	provenanceIdentity = "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
	provenanceIssuer   = "https://token.actions.githubusercontent.com"
	provenanceDigest   = "sha512:76176ffa33808b54602c7c35de5c6e9a4deb96066dba6533f50ac234f4f1f4c6b3527515dc17c06fbe2860030f410eee69ea20079bd3a2c6f3dcf3b329b10751"
)

func readCorpus(t testing.TB, elem ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(corpus.Path(t, elem...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSigstoreGoProvenanceExample(t *testing.T) {
	b := readCorpus(t, "sigstore-go", "bundle-provenance.json")
	tr := readCorpus(t, "sigstore-go", "trusted-root-public-good.json")
	ctx := context.Background()
	otherDigest := "sha512:" + strings.Repeat("00", 64)

	tests := []struct {
		name    string
		policy  bundle.Policy
		wantErr error
	}{
		{"exact identity and subject digest", bundle.Policy{Identity: provenanceIdentity, Issuer: provenanceIssuer, ArtifactDigest: provenanceDigest}, nil},
		{"regexp identity", bundle.Policy{IdentityRegexp: `https://github\.com/sigstore/sigstore-js/.*`, Issuer: provenanceIssuer, ArtifactDigest: provenanceDigest}, nil},
		{"wrong identity", bundle.Policy{Identity: "https://github.com/evil/repo/.github/workflows/release.yml@refs/heads/main", Issuer: provenanceIssuer, ArtifactDigest: provenanceDigest}, bundle.ErrVerification},
		{"wrong issuer", bundle.Policy{Identity: provenanceIdentity, Issuer: "https://accounts.google.com", ArtifactDigest: provenanceDigest}, bundle.ErrVerification},
		{"artifact not a subject", bundle.Policy{Identity: provenanceIdentity, Issuer: provenanceIssuer, ArtifactDigest: otherDigest}, bundle.ErrVerification},
		{"artifact bytes not a subject", bundle.Policy{Identity: provenanceIdentity, Issuer: provenanceIssuer, Artifact: strings.NewReader("not the tarball")}, bundle.ErrVerification},
		{"no identity", bundle.Policy{Issuer: provenanceIssuer, ArtifactDigest: provenanceDigest}, bundle.ErrPolicy},
		{"no issuer", bundle.Policy{Identity: provenanceIdentity, ArtifactDigest: provenanceDigest}, bundle.ErrPolicy},
		{"no artifact", bundle.Policy{Identity: provenanceIdentity, Issuer: provenanceIssuer}, bundle.ErrPolicy},
		{"bad regexp", bundle.Policy{IdentityRegexp: "(", Issuer: provenanceIssuer, ArtifactDigest: provenanceDigest}, bundle.ErrPolicy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := bundle.Verify(ctx, b, tr, tc.policy)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Identity != provenanceIdentity || res.Issuer != provenanceIssuer {
				t.Errorf("identity %q issuer %q", res.Identity, res.Issuer)
			}
			if res.Content != bundle.ContentDSSE || res.Envelope == nil {
				t.Fatalf("content %q", res.Content)
			}
			if !bytes.Contains(res.Envelope.Payload(), []byte("https://slsa.dev/provenance/v0.2")) {
				t.Errorf("payload is not the SLSA provenance statement")
			}
			if len(res.Timestamps) == 0 {
				t.Errorf("no verified timestamp")
			}
		})
	}

	t.Run("without trusted root", func(t *testing.T) {
		_, err := bundle.Verify(ctx, b, nil, bundle.Policy{Identity: provenanceIdentity, Issuer: provenanceIssuer, ArtifactDigest: provenanceDigest})
		if !errors.Is(err, bundle.ErrPolicy) {
			t.Fatalf("got %v, want ErrPolicy", err)
		}
	})
	t.Run("malformed trusted root", func(t *testing.T) {
		_, err := bundle.Verify(ctx, b, []byte(`{"mediaType": 3}`), bundle.Policy{Identity: provenanceIdentity, Issuer: provenanceIssuer, ArtifactDigest: provenanceDigest})
		if !errors.Is(err, bundle.ErrPolicy) {
			t.Fatalf("got %v, want ErrPolicy", err)
		}
	})
	t.Run("tampered payload", func(t *testing.T) {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		env := m["dsseEnvelope"].(map[string]any)
		payload, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
		env["payload"] = base64.StdEncoding.EncodeToString(bytes.Replace(payload, []byte("sigstore@1.3.0"), []byte("sigstore@6.6.6"), 1))
		tampered, _ := json.Marshal(m)
		_, err := bundle.Verify(ctx, tampered, tr, bundle.Policy{Identity: provenanceIdentity, Issuer: provenanceIssuer, ArtifactDigest: provenanceDigest})
		if !errors.Is(err, bundle.ErrVerification) {
			t.Fatalf("got %v, want ErrVerification", err)
		}
	})
}

// The npm publish attestation is signed by the npm registry's own key,
// which neither the trusted root nor the test holds: it must not verify.
func TestSigstoreGoPublishExampleNeedsItsKey(t *testing.T) {
	b := readCorpus(t, "sigstore-go", "bundle-publish.json")
	tr := readCorpus(t, "sigstore-go", "trusted-root-public-good.json")
	other, err := keys.Generate(keys.ECDSA, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bundle.Verify(context.Background(), b, tr, bundle.Policy{ArtifactDigest: provenanceDigest})
	if !errors.Is(err, bundle.ErrVerification) {
		t.Fatalf("without a key: got %v, want ErrVerification", err)
	}
	_, err = bundle.Verify(context.Background(), b, tr, bundle.Policy{Keys: []*keys.Key{other}, ArtifactDigest: provenanceDigest})
	if !errors.Is(err, bundle.ErrVerification) {
		t.Fatalf("with another key: got %v, want ErrVerification", err)
	}
}

func genKeys(t *testing.T) map[string]*keys.Key {
	t.Helper()
	out := map[string]*keys.Key{}
	for _, typ := range []string{keys.Ed25519, keys.ECDSA, keys.RSA} {
		k, err := keys.Generate(typ, keys.GenerateOptions{RSABits: 2048})
		if err != nil {
			t.Fatal(err)
		}
		out[typ] = k
	}
	return out
}

func testStatement(t *testing.T) []byte {
	t.Helper()
	st, err := statement.New("https://example.com/predicate/v1", map[string]string{"hello": "world"},
		statement.Subject{Name: "app.tar.gz", Digest: link.DigestSet{"sha256": strings.Repeat("ab", 32)}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sigstoreVerifier loads the public key with sigstore's own signature
// package, not toto's, so that the round trip proves the bundle verifies in
// a Sigstore client.
func sigstoreVerifier(t *testing.T, k *keys.Key) signature.Verifier {
	t.Helper()
	var v signature.Verifier
	var err error
	switch pub := k.CryptoPublicKey().(type) {
	case ed25519.PublicKey:
		v, err = signature.LoadED25519Verifier(pub)
	case *ecdsa.PublicKey:
		v, err = signature.LoadECDSAVerifier(pub, crypto.SHA256)
	case *rsa.PublicKey:
		// What cosign uses for RSA, and what Create signs statements with.
		v, err = signature.LoadRSAPKCS1v15Verifier(pub, crypto.SHA256)
	default:
		t.Fatalf("key type %T", pub)
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCreateRoundTrip(t *testing.T) {
	ctx := context.Background()
	payload := testStatement(t)
	ks := genKeys(t)
	for typ, k := range ks {
		t.Run(typ, func(t *testing.T) {
			raw, err := bundle.Create(ctx, k, "", payload)
			if err != nil {
				t.Fatal(err)
			}
			if !bundle.IsBundle(raw) {
				t.Fatal("IsBundle false on a created bundle")
			}
			var probe struct {
				MediaType            string
				VerificationMaterial struct {
					PublicKey struct{ Hint string }
				}
			}
			if err := json.Unmarshal(raw, &probe); err != nil {
				t.Fatal(err)
			}
			if probe.MediaType != bundle.MediaTypeV03 || probe.VerificationMaterial.PublicKey.Hint != k.SigstoreHint() {
				t.Errorf("media type %q, hint %q", probe.MediaType, probe.VerificationMaterial.PublicKey.Hint)
			}

			// toto's side: the envelope comes back, payload byte-exact.
			env, err := bundle.VerifyEnvelope(ctx, raw, k.Public())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(env.Payload(), payload) || env.PayloadType != envelope.PayloadTypeInToto {
				t.Errorf("payload or type changed: %q", env.PayloadType)
			}
			// VerifyEnvelope names the verifying key, so the plain
			// envelope verifies too, with the key as Sigstore uses it
			// (RSA: PKCS#1 v1.5).
			if err := env.Verify(k.Public().ForSigstore()); err != nil {
				t.Errorf("envelope.Verify: %v", err)
			}

			// Sigstore's side: stock sigstore-go with sigstore's own key
			// loader, no toto crypto involved.
			sb := &sgbundle.Bundle{}
			if err := sb.UnmarshalJSON(raw); err != nil {
				t.Fatal(err)
			}
			ek := root.NewExpiringKey(sigstoreVerifier(t, k), time.Time{}, time.Time{})
			tm := root.NewTrustedPublicKeyMaterialFromMapping(map[string]*root.ExpiringKey{k.SigstoreHint(): ek})
			v, err := verify.NewVerifier(tm, verify.WithNoObserverTimestamps())
			if err != nil {
				t.Fatal(err)
			}
			digest, _ := hex.DecodeString(strings.Repeat("ab", 32))
			res, err := v.Verify(sb, verify.NewPolicy(verify.WithArtifactDigest("sha256", digest), verify.WithKey()))
			if err != nil {
				t.Fatalf("sigstore-go rejects toto's bundle: %v", err)
			}
			if res.Statement.GetPredicateType() != "https://example.com/predicate/v1" {
				t.Errorf("sigstore-go read predicate type %q", res.Statement.GetPredicateType())
			}
			// And a different key must not verify it in sigstore-go either.
			for otyp, other := range ks {
				if otyp == typ {
					continue
				}
				ek := root.NewExpiringKey(sigstoreVerifier(t, other), time.Time{}, time.Time{})
				tm := root.NewTrustedPublicKeyMaterialFromMapping(map[string]*root.ExpiringKey{k.SigstoreHint(): ek})
				v, _ := verify.NewVerifier(tm, verify.WithNoObserverTimestamps())
				if _, err := v.Verify(sb, verify.NewPolicy(verify.WithArtifactDigest("sha256", digest), verify.WithKey())); err == nil {
					t.Errorf("sigstore-go accepted the bundle with the %s key", otyp)
				}
			}
		})
	}
}

func TestVerifyKeyed(t *testing.T) {
	ctx := context.Background()
	payload := testStatement(t)
	ks := genKeys(t)
	signer := ks[keys.ECDSA]
	raw, err := bundle.Create(ctx, signer, "", payload)
	if err != nil {
		t.Fatal(err)
	}
	subject := "sha256:" + strings.Repeat("ab", 32)

	t.Run("reports which of several keys signed", func(t *testing.T) {
		res, err := bundle.Verify(ctx, raw, nil, bundle.Policy{
			Keys:           []*keys.Key{ks[keys.Ed25519].Public(), ks[keys.RSA].Public(), signer.Public()},
			ArtifactDigest: subject,
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Key == nil || res.Key.ID() != signer.ID() {
			t.Fatalf("matched key %v", res.Key)
		}
	})
	t.Run("untrusted key", func(t *testing.T) {
		_, err := bundle.Verify(ctx, raw, nil, bundle.Policy{Keys: []*keys.Key{ks[keys.Ed25519].Public()}, ArtifactDigest: subject})
		if !errors.Is(err, bundle.ErrVerification) {
			t.Fatalf("got %v", err)
		}
		if _, err := bundle.VerifyEnvelope(ctx, raw, ks[keys.RSA].Public()); !errors.Is(err, bundle.ErrVerification) {
			t.Fatalf("VerifyEnvelope: got %v", err)
		}
	})
	t.Run("wrong artifact", func(t *testing.T) {
		_, err := bundle.Verify(ctx, raw, nil, bundle.Policy{Keys: []*keys.Key{signer}, ArtifactDigest: "sha256:" + strings.Repeat("cd", 32)})
		if !errors.Is(err, bundle.ErrVerification) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("tampered payload", func(t *testing.T) {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		env := m["dsseEnvelope"].(map[string]any)
		env["payload"] = base64.StdEncoding.EncodeToString(bytes.Replace(payload, []byte("world"), []byte("WORLD"), 1))
		tampered, _ := json.Marshal(m)
		if _, err := bundle.VerifyEnvelope(ctx, tampered, signer); !errors.Is(err, bundle.ErrVerification) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("hint naming another key changes nothing", func(t *testing.T) {
		swapped := bytes.Replace(raw, []byte(signer.ID()), []byte(ks[keys.RSA].ID()), -1)
		env, err := bundle.VerifyEnvelope(ctx, swapped, signer)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(env.Payload(), payload) {
			t.Fatal("payload changed")
		}
	})
	t.Run("not a bundle", func(t *testing.T) {
		for _, in := range []string{``, `{}`, `[]`, `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`, `{"payload":"e30=","payloadType":"x","signatures":[]}`} {
			if _, err := bundle.VerifyEnvelope(ctx, []byte(in), signer); !errors.Is(err, bundle.ErrInvalidBundle) {
				t.Errorf("%q: got %v, want ErrInvalidBundle", in, err)
			}
		}
	})
	t.Run("non in-toto payload type is refused", func(t *testing.T) {
		other, err := bundle.Create(ctx, signer, "text/plain", []byte("hello"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bundle.VerifyEnvelope(ctx, other, signer); !errors.Is(err, bundle.ErrVerification) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unverified Envelope accessor", func(t *testing.T) {
		env, err := bundle.Envelope(raw)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(env.Payload(), payload) || len(env.Signatures) != 1 || env.Signatures[0].KeyID != "" {
			t.Fatalf("envelope %+v", env)
		}
	})
}

func TestIsBundle(t *testing.T) {
	for in, want := range map[string]bool{
		`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`:        true,
		`{"mediaType":"application/vnd.dev.sigstore.bundle+json;version=0.1"}`: true,
		`{"payloadType":"application/vnd.in-toto+json","payload":""}`:          false,
		`{"signed":{},"signatures":[]}`:                                        false,
		`not json`:                                                             false,
	} {
		if got := bundle.IsBundle([]byte(in)); got != want {
			t.Errorf("IsBundle(%s) = %v", in, got)
		}
	}
}

// FuzzVerifyEnvelope feeds untrusted bytes to the bundle parser and keyed
// verifier: nothing may panic, and nothing but a correctly signed bundle
// may verify.
func FuzzVerifyEnvelope(f *testing.F) {
	k, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	if err != nil {
		f.Fatal(err)
	}
	good, err := bundle.Create(context.Background(), k, "", []byte(`{"a":1}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},"dsseEnvelope":{"payload":"e30=","payloadType":"a","signatures":[{"sig":"AA=="}]}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := bundle.VerifyEnvelope(context.Background(), data, k)
		if err != nil {
			return
		}
		// Whatever verified must carry a valid signature by k.
		if len(env.Signatures) != 1 || k.Verify(mustPAE(env), env.Signatures[0].Sig) != nil {
			t.Fatalf("verified without a valid signature")
		}
	})
}

func mustPAE(env *envelope.Envelope) []byte {
	b, err := env.SignedBytes()
	if err != nil {
		panic(err)
	}
	return b
}

// A message-signature bundle (cosign sign-blob, from the Sigstore
// conformance suite) is no envelope: asked for as one by its media type, it
// says so with a sentinel callers branch on.
func TestMessageSignatureIsNotAnEnvelope(t *testing.T) {
	raw, err := os.ReadFile(corpus.Path(t, "sigstore-conformance", "bundle-verify", "happy-path-v0.2", "bundle.sigstore.json"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = envelope.ParseMediaType(bundle.MediaTypeV03, raw)
	if !errors.Is(err, bundle.ErrMessageSignature) || !errors.Is(err, bundle.ErrInvalidBundle) {
		t.Fatalf("got %v, want ErrMessageSignature inside ErrInvalidBundle", err)
	}
}
