package containerspolicy_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/toto-dev/toto/containerspolicy"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/simplesigning"
)

const fixtureDigest = "sha256:" + hex64

func mustParse(t *testing.T, doc string) *containerspolicy.Policy {
	t.Helper()
	p, err := containerspolicy.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func docker(t *testing.T, ref string) containerspolicy.Image {
	t.Helper()
	img, err := containerspolicy.DockerImage(ref)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// The containers/image fixtures give containers/image's verdicts: its
// signedBy tests (policy_eval_signedby_test.go, mechanism_test.go) accept
// dir-img-valid for testing/manifest:latest under matchExact with
// public-key.gpg, and reject the others, for the reasons below.
func TestEvaluateUpstreamFixtures(t *testing.T) {
	policy := func(key, identity string) string {
		return fmt.Sprintf(`{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":%q,"signedIdentity":%s}]}`, "testdata/upstream/"+key, identity)
	}
	const exact = `{"type":"matchExact"}`
	for _, tc := range []struct {
		name, key, identity, ref, digest string
		sigs                             []string
		want                             error // nil: allowed
	}{
		{"valid", "public-key.gpg", exact, "testing/manifest:latest", fixtureDigest, []string{"dir-img-valid/signature-1"}, nil},
		{"valid-2", "public-key.gpg", exact, "testing/manifest:latest", fixtureDigest, []string{"dir-img-valid-2/signature-2"}, nil},
		{"other tag", "public-key.gpg", exact, "testing/manifest:notlatest", fixtureDigest, []string{"dir-img-valid/signature-1"}, containerspolicy.ErrIdentityMismatch},
		{"name-only identity under matchExact", "public-key.gpg", exact, "testing/manifest:latest", fixtureDigest, []string{"image.signature"}, containerspolicy.ErrIdentityMismatch},
		{"name-only identity under matchRepository", "public-key.gpg", `{"type":"matchRepository"}`, "testing/manifest:latest", fixtureDigest, []string{"image.signature"}, nil},
		{"other digest", "public-key.gpg", exact, "testing/manifest:latest", "sha256:" + hex64[:63] + "0", []string{"dir-img-valid/signature-1"}, simplesigning.ErrDigestMismatch},
		{"unknown key", "public-key.gpg", exact, "testing/manifest:latest", fixtureDigest, []string{"unknown-key.signature"}, simplesigning.ErrUnknownKey},
		{"wrong keyring", "public-key-2.gpg", exact, "testing/manifest:latest", fixtureDigest, []string{"dir-img-valid/signature-1"}, simplesigning.ErrUnknownKey},
		{"expired", "public-key.gpg", exact, "testing/manifest:latest", fixtureDigest, []string{"expired.signature"}, simplesigning.ErrExpiredKey},
		{"corrupt", "public-key.gpg", exact, "testing/manifest:latest", fixtureDigest, []string{"corrupt.signature"}, simplesigning.ErrBadSignature},
		{"invalid blob", "public-key.gpg", exact, "testing/manifest:latest", fixtureDigest, []string{"invalid-blob.signature"}, simplesigning.ErrPayload},
		{"cleartext", "public-key.gpg", exact, "testing/manifest:latest", fixtureDigest, []string{"invalid-cleartext.signature"}, simplesigning.ErrCorrupt},
		{"invalid reference", "public-key.gpg", `{"type":"matchRepository"}`, "testing/manifest:latest", fixtureDigest, []string{"invalid-reference.signature"}, containerspolicy.ErrIdentityMismatch},
		{"unsigned literal", "public-key.gpg", exact, "testing/manifest:latest", fixtureDigest, []string{"unsigned-literal.signature"}, simplesigning.ErrCorrupt},
		{"encrypted", "public-key.gpg", exact, "testing/manifest:latest", fixtureDigest, []string{"unsigned-encrypted.signature"}, simplesigning.ErrCorrupt},
		{"subkey", "public-key-with-subkey.gpg", exact, "testing/manifest:latest", fixtureDigest, []string{"subkey.signature"}, nil},
		{"revoked subkey", "public-key-with-revoked-subkey.gpg", exact, "testing/manifest:latest", fixtureDigest, []string{"subkey-revoked.signature"}, simplesigning.ErrRevokedKey},
		{"no signatures", "public-key.gpg", exact, "testing/manifest:latest", fixtureDigest, nil, containerspolicy.ErrNoSignature},
		{"one bad, one good", "public-key.gpg", exact, "testing/manifest:latest", fixtureDigest, []string{"corrupt.signature", "dir-img-valid/signature-1"}, nil},
		{"missing key file", "no-such.gpg", exact, "testing/manifest:latest", fixtureDigest, []string{"dir-img-valid/signature-1"}, containerspolicy.ErrKeys},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParse(t, policy(tc.key, tc.identity))
			var sigs [][]byte
			for _, s := range tc.sigs {
				sigs = append(sigs, read(t, "upstream/"+s))
			}
			res := containerspolicy.Evaluate(p, p.LoadKeys(nil), docker(t, tc.ref), tc.digest, sigs, containerspolicy.Options{})
			rr := res.Requirements[0]
			if tc.want == nil {
				if !res.Allowed || !rr.Satisfied || rr.Err != nil {
					t.Fatalf("denied: %v", rr.Err)
				}
				s := rr.Signatures[rr.SatisfiedBy]
				if s.Fingerprint == "" || s.DockerReference == "" || !res.Decision().Allowed() {
					t.Errorf("satisfied by %+v", s)
				}
				return
			}
			if res.Allowed || rr.Satisfied || res.Decision().Allowed() {
				t.Fatal("allowed")
			}
			if !errors.Is(rr.Err, tc.want) {
				t.Errorf("reason %v, want %v", rr.Err, tc.want)
			}
			for _, s := range rr.Signatures {
				if s.Accepted || s.Err == nil || s.Reason == "" {
					t.Errorf("signature %+v", s)
				}
			}
		})
	}
}

func TestEvaluateSimpleRequirements(t *testing.T) {
	img := docker(t, "registry.example/app:1")
	for _, tc := range []struct {
		name, doc string
		allowed   bool
		want      error
	}{
		{"accept", `{"default":[{"type":"insecureAcceptAnything"}]}`, true, nil},
		{"reject", `{"default":[{"type":"reject"}]}`, false, containerspolicy.ErrRejected},
		{"all must hold", `{"default":[{"type":"insecureAcceptAnything"},{"type":"reject"}]}`, false, containerspolicy.ErrRejected},
		{"signedBaseLayer without its evidence", `{"default":[{"type":"signedBaseLayer","baseLayerIdentity":{"type":"matchRepository"}}]}`, false, containerspolicy.ErrBaseLayer},
		{"sigstoreSigned with fulcio", `{"default":[{"type":"sigstoreSigned","fulcio":{"caData":"eA==","oidcIssuer":"https://issuer.example","subjectEmail":"a@example.com"},"rekorPublicKeyData":"eA=="}]}`, false, containerspolicy.ErrNotImplemented},
		{"sigstoreSigned with rekor", `{"default":[{"type":"sigstoreSigned","keyData":"eA==","rekorPublicKeyData":"eA=="}]}`, false, containerspolicy.ErrNotImplemented},
		{"sigstoreSigned keyData not a key", `{"default":[{"type":"sigstoreSigned","keyData":"eA=="}]}`, false, containerspolicy.ErrKeys},
		{"X509Certificates", `{"default":[{"type":"signedBy","keyType":"X509Certificates","keyData":"eA=="}]}`, false, containerspolicy.ErrNotImplemented},
		{"keyData not a keyring", `{"default":[{"type":"signedBy","keyType":"GPGKeys","keyData":"bm9uc2Vuc2U="}]}`, false, containerspolicy.ErrKeys},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParse(t, tc.doc)
			res := containerspolicy.Evaluate(p, p.LoadKeys(nil), img, fixtureDigest, [][]byte{[]byte("x")}, containerspolicy.Options{})
			if res.Allowed != tc.allowed || res.Decision().Allowed() != tc.allowed {
				t.Fatalf("allowed %v: %+v", res.Allowed, res.Requirements)
			}
			if tc.want != nil && !errors.Is(res.Requirements[len(res.Requirements)-1].Err, tc.want) {
				t.Errorf("reason %v, want %v", res.Requirements[len(res.Requirements)-1].Err, tc.want)
			}
		})
	}
}

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func entity(t *testing.T, lifetime uint32) *openpgp.Entity {
	t.Helper()
	e, err := openpgp.NewEntity("signer", "", "signer@example.com", &packet.Config{
		Algorithm: packet.PubKeyAlgoEdDSA, Time: func() time.Time { return now.Add(-2 * time.Hour) }, KeyLifetimeSecs: lifetime,
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func publicKeyData(t *testing.T, e *openpgp.Entity) string {
	t.Helper()
	b, err := simplesigning.ArmorPublicKey(e)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func sign(t *testing.T, e *openpgp.Entity, ref, digest string) []byte {
	t.Helper()
	return signAt(t, e, ref, digest, now.Add(-time.Hour))
}

func signAt(t *testing.T, e *openpgp.Entity, ref, digest string, at time.Time) []byte {
	t.Helper()
	payload, err := (&simplesigning.Payload{DockerReference: ref, ManifestDigest: digest}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := simplesigning.Sign(payload, e, simplesigning.Options{Now: at})
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// Every signedIdentity type, as containers-policy.json(5) and
// containers/image's policy_reference_match.go define them.
func TestSignedIdentity(t *testing.T) {
	key := entity(t, 0)
	const (
		exact        = `{"type":"matchExact"}`
		repoOrExact  = `{"type":"matchRepoDigestOrExact"}`
		repository   = `{"type":"matchRepository"}`
		byDigest     = "registry.example/app@" + fixtureDigest
		otherDigest  = "registry.example/app@sha256:" + "1111111111111111111111111111111111111111111111111111111111111111"
		remapMirror  = `{"type":"remapIdentity","prefix":"mirror.example:5000/vendor","signedPrefix":"vendor.example"}`
		exactRef     = `{"type":"exactReference","dockerReference":"vendor.example/app:1"}`
		exactRepo    = `{"type":"exactRepository","dockerRepository":"vendor.example/app"}`
		dockerHubRef = `{"type":"exactReference","dockerReference":"busybox:1"}`
	)
	for _, tc := range []struct {
		name, identity, image, signed string
		ok                            bool
	}{
		{"matchExact same tag", exact, "registry.example/app:1", "registry.example/app:1", true},
		{"matchExact other tag", exact, "registry.example/app:1", "registry.example/app:2", false},
		{"matchExact name only signed", exact, "registry.example/app:1", "registry.example/app", false},
		{"matchExact by digest, tag signed", exact, byDigest, "registry.example/app:1", false},
		{"matchExact same digest", exact, byDigest, byDigest, true},
		{"matchExact normalised", exact, "busybox", "docker.io/library/busybox:latest", true},
		{"matchExact short form signed", exact, "docker.io/library/busybox:latest", "busybox:latest", true},
		{"matchRepoDigestOrExact tag", repoOrExact, "registry.example/app:1", "registry.example/app:1", true},
		{"matchRepoDigestOrExact other tag", repoOrExact, "registry.example/app:1", "registry.example/app:2", false},
		{"matchRepoDigestOrExact digest, any tag", repoOrExact, byDigest, "registry.example/app:2", true},
		{"matchRepoDigestOrExact digest, other digest signed", repoOrExact, byDigest, otherDigest, true},
		{"matchRepoDigestOrExact digest, name only", repoOrExact, byDigest, "registry.example/app", false},
		{"matchRepoDigestOrExact digest, other repo", repoOrExact, byDigest, "registry.example/other:1", false},
		{"default is matchRepoDigestOrExact", "", "registry.example/app:1", "registry.example/app:2", false},
		{"default by digest", "", byDigest, "registry.example/app:2", true},
		{"matchRepository other tag", repository, "registry.example/app:1", "registry.example/app:2", true},
		{"matchRepository name only", repository, "registry.example/app:1", "registry.example/app", true},
		{"matchRepository other repo", repository, "registry.example/app:1", "registry.example/app2:1", false},
		{"exactReference", exactRef, "mirror.example/x:9", "vendor.example/app:1", true},
		{"exactReference other tag", exactRef, "mirror.example/x:9", "vendor.example/app:2", false},
		{"exactReference normalised", dockerHubRef, "mirror.example/x:9", "docker.io/library/busybox:1", true},
		{"exactRepository", exactRepo, "mirror.example/x:9", "vendor.example/app:7", true},
		{"exactRepository other repo", exactRepo, "mirror.example/x:9", "vendor.example/lib:7", false},
		{"remapIdentity remapped", remapMirror, "mirror.example:5000/vendor/app:1", "vendor.example/app:1", true},
		{"remapIdentity unremapped name refused", remapMirror, "mirror.example:5000/vendor/app:1", "mirror.example:5000/vendor/app:1", false},
		{"remapIdentity other tag", remapMirror, "mirror.example:5000/vendor/app:1", "vendor.example/app:2", false},
		{"remapIdentity digest, any tag", remapMirror, "mirror.example:5000/vendor/app@" + fixtureDigest, "vendor.example/app:3", true},
		{"remapIdentity not under prefix: unchanged", remapMirror, "mirror.example:5000/vendorx/app:1", "mirror.example:5000/vendorx/app:1", true},
		{"remapIdentity prefix boundary", remapMirror, "mirror.example:5000/vendorx/app:1", "vendor.examplex/app:1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idm := ""
			if tc.identity != "" {
				idm = `,"signedIdentity":` + tc.identity
			}
			p := mustParse(t, `{"default":[{"type":"signedBy","keyType":"GPGKeys","keyData":"`+publicKeyData(t, key)+`"`+idm+`}]}`)
			res := containerspolicy.Evaluate(p, p.LoadKeys(nil), docker(t, tc.image), fixtureDigest, [][]byte{sign(t, key, tc.signed, fixtureDigest)}, containerspolicy.Options{Now: now})
			if res.Allowed != tc.ok {
				t.Fatalf("allowed %v, want %v: %v", res.Allowed, tc.ok, res.Requirements[0].Err)
			}
			if !tc.ok && !errors.Is(res.Requirements[0].Err, containerspolicy.ErrIdentityMismatch) {
				t.Errorf("reason %v", res.Requirements[0].Err)
			}
		})
	}
	t.Run("layout: only exactReference and exactRepository apply", func(t *testing.T) {
		img := containerspolicy.Image{Transport: "oci", Path: "/srv/images/app"}
		for identity, ok := range map[string]bool{exact: false, repoOrExact: false, repository: false, remapMirror: false, exactRef: true, exactRepo: true} {
			p := mustParse(t, `{"default":[{"type":"reject"}],"transports":{"oci":{"/srv/images":[{"type":"signedBy","keyType":"GPGKeys","keyData":"`+publicKeyData(t, key)+`","signedIdentity":`+identity+`}]}}}`)
			res := containerspolicy.Evaluate(p, nil, img, fixtureDigest, [][]byte{sign(t, key, "vendor.example/app:1", fixtureDigest)}, containerspolicy.Options{Now: now})
			if res.Allowed != ok || res.Scope != "/srv/images" {
				t.Errorf("%s: allowed %v (scope %q), want %v: %v", identity, res.Allowed, res.Scope, ok, res.Requirements[0].Err)
			}
		}
	})
	t.Run("expired key", func(t *testing.T) {
		short := entity(t, 60)
		p := mustParse(t, `{"default":[{"type":"signedBy","keyType":"GPGKeys","keyData":"`+publicKeyData(t, short)+`"}]}`)
		sig := signAt(t, short, "registry.example/app:1", fixtureDigest, now.Add(-2*time.Hour+30*time.Second))
		res := containerspolicy.Evaluate(p, nil, docker(t, "registry.example/app:1"), fixtureDigest, [][]byte{sig}, containerspolicy.Options{Now: now})
		if res.Allowed || !errors.Is(res.Requirements[0].Err, simplesigning.ErrExpiredKey) {
			t.Errorf("allowed %v: %v", res.Allowed, res.Requirements[0].Err)
		}
	})
}

func cosignPayload(ref, digest string) []byte {
	return []byte(`{"critical":{"identity":{"docker-reference":"` + ref + `"},"image":{"docker-manifest-digest":"` + digest + `"},"type":"cosign container image signature"},"optional":null}`)
}

// sigstoreSigned with public keys over cosign signatures (the .sig tag's
// payload and signature annotation): key, digest and identity checks, and
// the containers-policy.json(5) note that cosign's repository-only
// identities pass only matchRepository and exactRepository.
func TestSigstoreSigned(t *testing.T) {
	signer, err := keys.Generate(keys.ECDSA, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := keys.Generate(keys.ECDSA, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pemOf := func(k *keys.Key) string {
		b, err := k.MarshalPEM(false)
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	sig := func(k *keys.Key, payload []byte) containerspolicy.SigstoreSignature {
		s, err := k.ForSigstore().Sign(context.Background(), payload)
		if err != nil {
			t.Fatal(err)
		}
		return containerspolicy.SigstoreSignature{Payload: payload, Signature: base64.StdEncoding.EncodeToString(s)}
	}
	good := sig(signer, cosignPayload("registry.example/app", fixtureDigest))
	img := docker(t, "registry.example/app:1")
	for _, tc := range []struct {
		name, identity, key string
		sigs                []containerspolicy.SigstoreSignature
		want                error
	}{
		{"matchRepository", `{"type":"matchRepository"}`, pemOf(signer), []containerspolicy.SigstoreSignature{good}, nil},
		{"exactRepository", `{"type":"exactRepository","dockerRepository":"registry.example/app"}`, pemOf(signer), []containerspolicy.SigstoreSignature{good}, nil},
		{"default identity refuses a repository-only signature", "", pemOf(signer), []containerspolicy.SigstoreSignature{good}, containerspolicy.ErrIdentityMismatch},
		{"other key", `{"type":"matchRepository"}`, pemOf(other), []containerspolicy.SigstoreSignature{good}, simplesigning.ErrUnknownKey},
		{"other digest", `{"type":"matchRepository"}`, pemOf(signer), []containerspolicy.SigstoreSignature{sig(signer, cosignPayload("registry.example/app", "sha256:"+strings.Repeat("1", 64)))}, simplesigning.ErrDigestMismatch},
		{"atomic type", `{"type":"matchRepository"}`, pemOf(signer), []containerspolicy.SigstoreSignature{sig(signer, []byte(strings.Replace(string(cosignPayload("registry.example/app", fixtureDigest)), "cosign container image signature", "atomic container signature", 1)))}, simplesigning.ErrPayload},
		{"not base64", `{"type":"matchRepository"}`, pemOf(signer), []containerspolicy.SigstoreSignature{{Payload: good.Payload, Signature: "!!"}}, simplesigning.ErrCorrupt},
		{"no signatures", `{"type":"matchRepository"}`, pemOf(signer), nil, containerspolicy.ErrNoSignature},
		{"one bad, one good", `{"type":"matchRepository"}`, pemOf(signer), []containerspolicy.SigstoreSignature{sig(other, good.Payload), good}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idm := ""
			if tc.identity != "" {
				idm = `,"signedIdentity":` + tc.identity
			}
			p := mustParse(t, `{"default":[{"type":"sigstoreSigned","keyData":"`+tc.key+`"`+idm+`}]}`)
			res := containerspolicy.EvaluateSignatures(p, p.LoadKeys(nil), img, fixtureDigest, containerspolicy.Signatures{Sigstore: tc.sigs}, containerspolicy.Options{})
			rr := res.Requirements[0]
			if tc.want == nil {
				if !res.Allowed || rr.Signatures[rr.SatisfiedBy].Fingerprint != signer.ID() {
					t.Fatalf("denied: %v", rr.Err)
				}
				return
			}
			if res.Allowed || !errors.Is(rr.Err, tc.want) {
				t.Errorf("allowed %v: %v, want %v", res.Allowed, rr.Err, tc.want)
			}
		})
	}
}
