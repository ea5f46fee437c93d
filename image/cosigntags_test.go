package image

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/statement"
)

// cosignPayload is a simple-signing payload byte for byte as cosign
// v2.6.5 writes it (optional: null).
func cosignPayload(ref, digest string) []byte {
	return []byte(`{"critical":{"identity":{"docker-reference":"` + ref + `"},"image":{"docker-manifest-digest":"` + digest + `"},"type":"cosign container image signature"},"optional":null}`)
}

func TestParseSimpleSigning(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name    string
		payload string
		wantErr error
	}{
		{"cosign v2", string(cosignPayload("reg/app", d)), nil},
		{"optional object", `{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"` + d + `"},"type":"cosign container image signature"},"optional":{"creator":"x","n":1}}`, nil},
		{"no optional", `{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"` + d + `"},"type":"cosign container image signature"}}`, nil},
		{"no critical", `{"optional":{}}`, ErrSimpleSigning},
		{"unknown member in critical", `{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"` + d + `"},"type":"cosign container image signature","x":1}}`, ErrSimpleSigning},
		{"unknown top-level member", `{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"` + d + `"},"type":"t"},"extra":1}`, ErrSimpleSigning},
		{"duplicate digest", `{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"` + d + `","docker-manifest-digest":"sha256:00"},"type":"t"}}`, ErrSimpleSigning},
		{"case variant", `{"critical":{"identity":{"docker-reference":"r"},"image":{"Docker-Manifest-Digest":"` + d + `"},"type":"t"}}`, ErrSimpleSigning},
		{"digest not a string", `{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":1},"type":"t"}}`, ErrSimpleSigning},
		{"not JSON", `critical`, ErrSimpleSigning},
		{"array", `[]`, ErrSimpleSigning},
		{"trailing data", string(cosignPayload("r", d)) + `{}`, ErrSimpleSigning},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ss, err := ParseSimpleSigning([]byte(tc.payload))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := ss.Check(SimpleSigningType, d); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSimpleSigningCheck(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	other := "sha256:" + strings.Repeat("cd", 32)
	ss, err := ParseSimpleSigning(cosignPayload("r", d))
	if err != nil {
		t.Fatal(err)
	}
	var oe *OtherImageError
	if err := ss.Check(SimpleSigningType, other); !errors.As(err, &oe) || oe.Got != d || oe.Want != other || !errors.Is(err, ErrOtherImage) {
		t.Errorf("other digest: %v", err)
	}
	if err := ss.Check(SimpleSigningTypeAtomic, d); !errors.Is(err, ErrSimpleSigning) {
		t.Errorf("atomic type: %v", err)
	}
}

func TestVerifySimpleSigning(t *testing.T) {
	ctx := context.Background()
	d := "sha256:" + strings.Repeat("ab", 32)
	signer, stranger := genKey(t, keys.ECDSA), genKey(t, keys.Ed25519)
	payload := cosignPayload("r", d)
	sig, err := signer.Sign(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	trusted := []*keys.Key{stranger.Public(), signer.Public()}
	for _, tc := range []struct {
		name    string
		payload []byte
		trusted []*keys.Key
		digest  string
		wantErr error
	}{
		{"valid, second key", payload, trusted, d, nil},
		{"untrusted", payload, []*keys.Key{stranger.Public()}, d, keys.ErrBadSignature},
		{"no keys", payload, nil, d, keys.ErrBadSignature},
		{"tampered payload", bytes.Replace(payload, []byte(`"type"`), []byte(`"type" `), 1), trusted, d, keys.ErrBadSignature},
		{"another image", payload, trusted, "sha256:" + strings.Repeat("cd", 32), ErrOtherImage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, ss, err := VerifySimpleSigning(tc.payload, sig, tc.trusted, tc.digest)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || k == nil || k.ID() != signer.ID() || ss.Critical.Image.DockerManifestDigest != d {
				t.Fatalf("got %v %v %+v", k, err, ss)
			}
		})
	}
	// An RSA key, as cosign signs with it (PKCS#1 v1.5), verifies under
	// the trusted key as toto loads it (RSA-PSS by default).
	rsaKey := genKey(t, keys.RSA)
	rsaSig, err := rsaKey.ForSigstore().Sign(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	if k, _, err := VerifySimpleSigning(payload, rsaSig, []*keys.Key{rsaKey.Public()}, d); err != nil || k.ID() != rsaKey.ID() {
		t.Errorf("RSA PKCS#1 v1.5: %v", err)
	}
	// A validly signed payload that is not simple signing.
	junk := []byte(`{"critical":{}}`)
	jsig, _ := signer.Sign(ctx, junk)
	if _, _, err := VerifySimpleSigning(junk, jsig, trusted, d); !errors.Is(err, ErrSimpleSigning) {
		t.Errorf("signed junk: %v", err)
	}
}

func TestPredicateType(t *testing.T) {
	for in, want := range map[string]string{
		"spdxjson":                 "https://spdx.dev/Document",
		"CycloneDX":                "https://cyclonedx.org/bom",
		"slsaprovenance":           "https://slsa.dev/provenance/v0.2",
		"slsaprovenance1":          "https://slsa.dev/provenance/v1",
		"https://example.com/p/v1": "https://example.com/p/v1",
	} {
		if got, _ := PredicateType(in); got != want {
			t.Errorf("PredicateType(%q) = %q, want %q", in, got, want)
		}
	}
}

// layoutWriter writes blobs and index.json entries into a test layout,
// as cosign save and oras do.
type layoutWriter struct {
	t  *testing.T
	ls *layoutStore
}

func (w layoutWriter) blob(data []byte) v1.Descriptor {
	w.t.Helper()
	h, n, _ := v1.SHA256(bytes.NewReader(data))
	if err := w.ls.writeBlob(h, data); err != nil {
		w.t.Fatal(err)
	}
	return v1.Descriptor{Digest: h, Size: n}
}

// addManifest writes a manifest with the given layers and lists it in
// index.json with annotations.
func (w layoutWriter) addManifest(layers []v1.Descriptor, ann map[string]string) v1.Hash {
	w.t.Helper()
	cfg := w.blob([]byte(`{}`))
	cfg.MediaType = types.OCIConfigJSON
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: cfg, Layers: layers}
	raw, _ := json.Marshal(m)
	d := w.blob(raw)
	d.MediaType, d.Annotations = types.OCIManifestSchema1, ann
	a := &artifact{manifest: raw, desc: d, blobs: map[v1.Hash][]byte{}}
	if err := w.ls.push(context.Background(), a); err != nil {
		w.t.Fatal(err)
	}
	return d.Digest
}

// sigLayer is a .sig layer: payload blob, signature annotation.
func (w layoutWriter) sigLayer(payload, sig []byte) v1.Descriptor {
	d := w.blob(payload)
	d.MediaType = MediaTypeSimpleSigning
	d.Annotations = map[string]string{AnnotationCosignSignature: base64.StdEncoding.EncodeToString(sig)}
	return d
}

// cosign v2's .sig and .att manifests in an OCI layout, by cosign save's
// kind annotation and by tag: each layer is judged on its own, good ones
// verify, the rest are ignored with the reason (or fail with RequireAll).
func TestCosignTagsInLayout(t *testing.T) {
	ctx := context.Background()
	signer, stranger := genKey(t, keys.ECDSA), genKey(t, keys.ECDSA)
	dir, ds := newLayout(t, 1)
	tg := mustOpen(t, LayoutPrefix+dir)
	d := ds[0].String()
	w := layoutWriter{t: t, ls: tg.store.(*layoutStore)}

	good := cosignPayload("r", d)
	goodSig, _ := signer.Sign(ctx, good)
	otherImg := cosignPayload("r", "sha256:"+strings.Repeat("cd", 32))
	otherSig, _ := signer.Sign(ctx, otherImg)
	strangerSig, _ := stranger.Sign(ctx, good)
	noSig := w.blob(good)
	noSig.MediaType = MediaTypeSimpleSigning
	wrongType := w.sigLayer(good, goodSig)
	wrongType.MediaType = "application/octet-stream"
	w.addManifest([]v1.Descriptor{
		w.sigLayer(good, goodSig),
		w.sigLayer(otherImg, otherSig),
		w.sigLayer(good, strangerSig),
		noSig,
		wrongType,
	}, map[string]string{AnnotationCosignKind: CosignKindSignatures})

	st, _ := statement.New("https://spdx.dev/Document", map[string]any{"spdxVersion": "SPDX-2.3"},
		statement.Subject{Name: "r", Digest: map[string]string{"sha256": ds[0].Hex}})
	st.Type = statement.TypeV01
	payload, _ := st.MarshalJSON()
	env, _ := envelope.New(envelope.DSSE, "", payload)
	if err := env.Sign(ctx, signer); err != nil {
		t.Fatal(err)
	}
	envJSON, _ := env.Encode()
	att := w.blob(envJSON)
	att.MediaType = envelope.MediaTypeDSSE
	att.Annotations = map[string]string{AnnotationCosignSignature: "", annotationAttPredicateType: "https://spdx.dev/Document"}
	lie := att
	lie.Annotations = map[string]string{annotationAttPredicateType: "https://slsa.dev/provenance/v1"}
	w.addManifest([]v1.Descriptor{att, lie}, map[string]string{annotationRefName: CosignTag(ds[0], SuffixAttestations)})

	// The layout still names one image: cosign's entries are not images.
	if again := mustOpen(t, LayoutPrefix+dir); again.Descriptor.Digest != ds[0] {
		t.Fatalf("opened %s", again.Descriptor.Digest)
	}
	opts := VerifyOptions{Keys: []*keys.Key{signer.Public()}, PredicateTypes: []string{"https://spdx.dev/Document"}}
	rep, err := Verify(ctx, tg, opts)
	if err != nil {
		b, _ := json.MarshalIndent(rep, "", " ")
		t.Fatalf("%v\n%s", err, b)
	}
	if rep.Signatures != 1 || rep.Attestations != 1 || rep.Failures != 5 || rep.Ignored != 5 {
		b, _ := json.MarshalIndent(rep, "", " ")
		t.Fatalf("counts:\n%s", b)
	}
	for _, want := range []string{
		"signature names manifest sha256:cdcd",
		"not signed by a trusted key",
		"no " + AnnotationCosignSignature + " annotation",
		`media type "application/octet-stream"`,
		`annotation says predicate type "https://slsa.dev/provenance/v1"`,
	} {
		wantIgnored(t, rep, want)
	}
	for _, f := range rep.Findings {
		if f.Storage != StorageTag || f.Layer == "" || f.Tag == "" {
			t.Errorf("finding %+v", f)
		}
	}
	strict := opts
	strict.RequireAll = true
	rep, err = Verify(ctx, tg, strict)
	if !errors.Is(err, ErrVerification) || rep.OK() {
		t.Fatalf("RequireAll: %v", err)
	}
	var oe *OtherImageError
	if !errors.As(err, &oe) {
		t.Errorf("Verify's error does not unwrap to the replanted signature's *OtherImageError: %v", err)
	}
	// A required predicate type nobody attested.
	missing := opts
	missing.PredicateTypes = []string{"https://slsa.dev/provenance/v1"}
	rep, err = Verify(ctx, tg, missing)
	if !errors.Is(err, ErrMissingPredicateType) || len(rep.MissingPredicateTypes) != 1 {
		t.Fatalf("missing type: %v %+v", err, rep.MissingPredicateTypes)
	}
	if d := rep.Decision(); d.Allowed() || len(d.Denials()) != 1 {
		t.Errorf("decision %+v", d.Denials())
	}
}

// FuzzParseSimpleSigning: untrusted payloads never crash the parser, and
// whatever it accepts re-reads to the same digest and type.
func FuzzParseSimpleSigning(f *testing.F) {
	f.Add(cosignPayload("reg/app", "sha256:"+strings.Repeat("ab", 32)))
	f.Add([]byte(`{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"d"},"type":"t"},"optional":{"a":[1,{"b":null}]}}`))
	f.Add([]byte(`{"critical":{"image":{"docker-manifest-digest":"d","docker-manifest-digest":"e"}}}`))
	f.Add([]byte(`{"critical":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ss, err := ParseSimpleSigning(data)
		if err != nil {
			if !errors.Is(err, ErrSimpleSigning) {
				t.Fatalf("error does not wrap ErrSimpleSigning: %v", err)
			}
			return
		}
		b, err := json.Marshal(ss)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseSimpleSigning(b)
		if err != nil {
			t.Fatalf("re-read of %s: %v", b, err)
		}
		if again.Critical != ss.Critical {
			t.Fatalf("re-read differs: %+v vs %+v", again.Critical, ss.Critical)
		}
	})
}

// FuzzCosignSigManifest: an untrusted .sig/.att manifest (layers,
// annotations, media types) in a layout never crashes the reader and never
// yields a verified finding: nothing in it was signed by the trusted key.
func FuzzCosignSigManifest(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":2,"annotations":{"dev.cosignproject.cosign/signature":"AAAA"}}]}`), true)
	f.Add([]byte(`{"layers":[{"mediaType":"application/vnd.dsse.envelope.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"annotations":{"predicateType":"x"}}]}`), false)
	f.Add([]byte(`{"layers":null}`), true)
	signer, err := keys.Generate(keys.ECDSA, keys.GenerateOptions{})
	if err != nil {
		f.Fatal(err)
	}
	dir, ds := newLayout(f, 1)
	tg, err := Open(context.Background(), LayoutPrefix+dir, Options{})
	if err != nil {
		f.Fatal(err)
	}
	ls := tg.store.(*layoutStore)
	// The empty object, so that a layer may name a blob that exists.
	if err := ls.writeBlob(mustHash(f, []byte(`{}`)), []byte(`{}`)); err != nil {
		f.Fatal(err)
	}
	opts := VerifyOptions{Keys: []*keys.Key{signer.Public()}}
	f.Fuzz(func(t *testing.T, manifest []byte, sig bool) {
		kind := KindAttestation
		if sig {
			kind = KindSignature
		}
		fs := &fakeCosignStore{layoutStore: ls, ms: []cosignManifest{{where: CosignTag(ds[0], SuffixSignatures), kind: kind, digest: mustHash(t, manifest), raw: manifest}}}
		ft := &Target{Reference: tg.Reference, Descriptor: tg.Descriptor, store: fs}
		rep, _ := Verify(context.Background(), ft, opts)
		if rep.Signatures != 0 || rep.Attestations != 0 || rep.OK() {
			t.Fatalf("an unsigned manifest verified: %+v", rep)
		}
	})
}

type fakeCosignStore struct {
	*layoutStore
	ms []cosignManifest
}

func (s *fakeCosignStore) referrers(context.Context, v1.Hash) ([]v1.Descriptor, error) {
	return nil, nil
}

func (s *fakeCosignStore) cosignManifests(context.Context, v1.Hash) ([]cosignManifest, error) {
	return s.ms, nil
}

func mustHash(t testing.TB, b []byte) v1.Hash {
	t.Helper()
	h, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return h
}
