package bundle_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/toto-dev/toto/bundle"
	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
)

// messageBundle builds a keyed message-signature bundle over artifact as
// cosign sign-blob --bundle writes it (real cosign bundles are verified in
// interop/cosign).
func messageBundle(t *testing.T, k *keys.Key, artifact []byte) []byte {
	t.Helper()
	sig, err := k.ForSigstore().Sign(context.Background(), artifact)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(artifact)
	b, err := sgbundle.NewBundle(&protobundle.Bundle{
		MediaType: bundle.MediaTypeV03,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: k.SigstoreHint()}},
		},
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: sum[:]},
			Signature:     sig,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// A keyed message signature verifies by the artifact's digest (issue 14.5:
// the key adapter used to ignore the digest sigstore-go passes and always
// fail with "signed by no trusted key"); the wrong digest says so.
func TestMessageSignatureByDigest(t *testing.T) {
	ctx := context.Background()
	artifact := []byte("release tarball")
	sum := sha256.Sum256(artifact)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	ks := genKeys(t)
	for _, typ := range []string{keys.ECDSA, keys.RSA} {
		k := ks[typ]
		raw := messageBundle(t, k, artifact)
		others := []*keys.Key{ks[keys.Ed25519].Public()}
		for otyp, o := range ks {
			if otyp != typ && otyp != keys.Ed25519 {
				others = append(others, o.Public())
			}
		}
		for _, tc := range []struct {
			name    string
			policy  bundle.Policy
			wantErr []error
			want    string
		}{
			{"by digest", bundle.Policy{ArtifactDigest: digest}, nil, ""},
			{"by digest, upper-case hex", bundle.Policy{ArtifactDigest: "SHA256:" + strings.ToUpper(hex.EncodeToString(sum[:]))}, nil, ""},
			{"by artifact", bundle.Policy{Artifact: bytes.NewReader(artifact)}, nil, ""},
			{"wrong digest", bundle.Policy{ArtifactDigest: "sha256:" + strings.Repeat("cd", 32)}, []error{bundle.ErrVerification, bundle.ErrArtifactMismatch}, "is not the digest the bundle signs (" + digest + ")"},
			{"other algorithm", bundle.Policy{ArtifactDigest: "sha512:" + strings.Repeat("cd", 64)}, []error{bundle.ErrVerification, bundle.ErrArtifactMismatch}, "sha512:"},
			{"wrong artifact", bundle.Policy{Artifact: strings.NewReader("other")}, []error{bundle.ErrVerification}, "signed by no trusted key"},
			{"untrusted key", bundle.Policy{ArtifactDigest: digest, Keys: others}, []error{bundle.ErrVerification}, "signed by no trusted key"},
		} {
			t.Run(typ+"/"+tc.name, func(t *testing.T) {
				p := tc.policy
				if p.Keys == nil {
					p.Keys = append([]*keys.Key{ks[keys.Ed25519].Public()}, k.Public())
				}
				res, err := bundle.Verify(ctx, raw, nil, p)
				if tc.wantErr == nil {
					if err != nil {
						t.Fatal(err)
					}
					if res.Content != bundle.ContentMessageSignature || res.Key.ID() != k.ID() {
						t.Fatalf("content %s, key %s", res.Content, res.Key.ID())
					}
					return
				}
				for _, w := range tc.wantErr {
					if !errors.Is(err, w) {
						t.Fatalf("got %v, want %v", err, w)
					}
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("got %q, want it to mention %q", err, tc.want)
				}
			})
		}
	}
	// ed25519 signs the message itself: by digest it cannot be checked,
	// and the error says why.
	ed := ks[keys.Ed25519]
	raw := messageBundle(t, ed, artifact)
	_, err := bundle.Verify(ctx, raw, nil, bundle.Policy{Keys: []*keys.Key{ed.Public()}, ArtifactDigest: digest})
	if !errors.Is(err, bundle.ErrVerification) || !strings.Contains(err.Error(), "ed25519") {
		t.Fatalf("ed25519 by digest: %v", err)
	}
	if _, err := bundle.Verify(ctx, raw, nil, bundle.Policy{Keys: []*keys.Key{ed.Public()}, Artifact: bytes.NewReader(artifact)}); err != nil {
		t.Fatalf("ed25519 by artifact: %v", err)
	}
}

// RSA in a bundle: a statement is signed as Sigstore verifies it (PKCS#1
// v1.5), a link or layout keeps the in-toto scheme (RSA-PSS) that a layout
// checks it with; Verify accepts both, and names the caller's key.
func TestRSASchemeByContext(t *testing.T) {
	ctx := context.Background()
	k := genKeys(t)[keys.RSA]
	linkPayload := []byte(`{"_type":"link","name":"build","materials":{},"products":{},"byproducts":{},"command":[],"environment":{}}`)
	linkStatement := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"ab"}}],"predicateType":"https://in-toto.io/attestation/link/v0.3","predicate":{"name":"build"}}`)
	for _, tc := range []struct {
		name        string
		payloadType string
		payload     []byte
		scheme      string
	}{
		{"statement", "", testStatement(t), keys.SchemeRSAPKCS1v15},
		{"other payload type", "text/plain", []byte(`{"_type":"link"}`), keys.SchemeRSAPKCS1v15},
		{"link", "", linkPayload, keys.SchemeRSAPSS},
		{"link attestation", "", linkStatement, keys.SchemeRSAPSS},
		{"layout", "", []byte(`{"_type":"layout","steps":[]}`), keys.SchemeRSAPSS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := bundle.Create(ctx, k, tc.payloadType, tc.payload)
			if err != nil {
				t.Fatal(err)
			}
			env, err := envelope.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			pt := tc.payloadType
			if pt == "" {
				pt = envelope.PayloadTypeInToto
			}
			pss, _ := k.Public().WithScheme(keys.SchemeRSAPSS)
			pkcs, _ := k.Public().WithScheme(keys.SchemeRSAPKCS1v15)
			signer := map[string]*keys.Key{keys.SchemeRSAPSS: pss, keys.SchemeRSAPKCS1v15: pkcs}
			for scheme, v := range signer {
				err := v.Verify(dsse.PAE(pt, tc.payload), env.Signatures[0].Sig)
				if (scheme == tc.scheme) != (err == nil) {
					t.Errorf("signature under %s: %v (signed with %s)", scheme, err, tc.scheme)
				}
			}
			if pt != envelope.PayloadTypeInToto {
				return // sigstore-go verifies in-toto payloads only
			}
			res, err := bundle.Verify(ctx, raw, nil, bundle.Policy{Keys: []*keys.Key{k.Public()}, SkipArtifact: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Key.ID() != k.ID() || res.Envelope.Signatures[0].KeyID != k.ID() {
				t.Errorf("verified as %s, envelope keyid %s, want %s", res.Key.ID(), res.Envelope.Signatures[0].KeyID, k.ID())
			}
			// The envelope read from the bundle names the key by the
			// Sigstore hint, which the key answers to.
			if h := env.Signatures[0].KeyID; h != k.SigstoreHint() || !k.HasID(h) {
				t.Errorf("envelope keyid %q, want the hint %q", h, k.SigstoreHint())
			}
		})
	}
}
