package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/toto-dev/toto/bundle"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/statement"
)

// Media types and annotations of cosign's bundle specification and the OCI
// image spec v1.1.
const (
	// ArtifactTypeBundle is the artifactType of referrers toto writes.
	ArtifactTypeBundle = bundle.MediaTypeV03
	// MediaTypeEmpty is the OCI empty descriptor's media type ({}).
	MediaTypeEmpty = "application/vnd.oci.empty.v1+json"

	AnnotationContent       = "dev.sigstore.bundle.content"
	AnnotationPredicateType = "dev.sigstore.bundle.predicateType"
	AnnotationCreated       = "org.opencontainers.image.created"
	AnnotationTitle         = "org.opencontainers.image.title"

	// PredicateTypeSignature is the predicate type cosign v3 gives image
	// signatures written as bundles.
	PredicateTypeSignature = "https://sigstore.dev/cosign/sign/v1"
	// SimpleSigningType is critical.type of cosign's simple-signing
	// document.
	SimpleSigningType = "cosign container image signature"
)

// emptyJSON is the content of the OCI empty descriptor.
var emptyJSON = []byte("{}")

// SimpleSigning is cosign's "simple signing" document
// (containers/image's signature format): it names the image reference and
// its manifest digest. toto puts it in the predicate of a signature.
type SimpleSigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// Attached describes a referrer that Sign or Attest pushed.
type Attached struct {
	// Manifest is the referrer manifest's descriptor.
	Manifest v1.Descriptor
	// PredicateType of the attached statement.
	PredicateType string
	// KeyID of the signing key.
	KeyID string
}

// artifact is a referrer ready to push: its blobs and manifest.
type artifact struct {
	subject  v1.Descriptor
	manifest []byte
	desc     v1.Descriptor // the manifest's descriptor, as listed in referrer indexes
	blobs    map[v1.Hash][]byte
}

// Options for Sign and Attest.
type SignOptions struct {
	// Now is the creation time written in the annotation; zero means
	// time.Now.
	Now time.Time
	// Bundle adds a transparency-log entry, an RFC 3161 timestamp or a
	// certificate to the bundle (see bundle.CreateOptions); zero writes
	// a keyed bundle with neither.
	Bundle bundle.CreateOptions
}

// Sign signs the image's manifest digest with k and attaches the signature
// as a referrer. The signed statement's subject is the digest; its
// predicate is the simple-signing document (see package doc).
func Sign(ctx context.Context, t *Target, k *keys.Key, opts SignOptions) (*Attached, error) {
	var ss SimpleSigning
	ss.Critical.Identity.DockerReference = t.Reference
	ss.Critical.Image.DockerManifestDigest = t.Digest()
	ss.Critical.Type = SimpleSigningType
	ss.Optional = map[string]any{}
	pred, err := json.Marshal(ss)
	if err != nil {
		return nil, err
	}
	return Attest(ctx, t, k, PredicateTypeSignature, pred, opts)
}

// Attest signs an in-toto Statement v1 about the image (subject: its
// manifest digest) with the given predicate, wraps it in a keyed Sigstore
// bundle and attaches it as a referrer.
func Attest(ctx context.Context, t *Target, k *keys.Key, predicateType string, predicate json.RawMessage, opts SignOptions) (*Attached, error) {
	sub := statement.Subject{
		Name:   t.Reference,
		Digest: link.DigestSet{t.Descriptor.Digest.Algorithm: t.Descriptor.Digest.Hex},
	}
	st, err := statement.NewRaw(predicateType, predicate, sub)
	if err != nil {
		return nil, fmt.Errorf("attest %s: %w", t, err)
	}
	payload, err := st.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b, err := bundle.CreateWith(ctx, k, "", payload, opts.Bundle)
	if err != nil {
		return nil, fmt.Errorf("attest %s: %w", t, err)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	a, err := newArtifact(t.Descriptor, b, predicateType, now)
	if err != nil {
		return nil, err
	}
	if err := t.store.push(ctx, a); err != nil {
		return nil, fmt.Errorf("attach to %s: %w", t, err)
	}
	return &Attached{Manifest: a.desc, PredicateType: predicateType, KeyID: k.ID()}, nil
}

// artifactManifest is the OCI 1.1 artifact manifest, marshalled, of one
// layer referring to subject: the empty descriptor as config and the
// layer's media type as the artifact type, as both cosign's bundle
// specification and toto's link referrers lay them out. emptyDigest is
// the config blob's digest, for the caller to push emptyJSON under.
func artifactManifest(subject, layer v1.Descriptor, ann map[string]string) (raw []byte, emptyDigest v1.Hash, err error) {
	eh, esize, err := v1.SHA256(bytes.NewReader(emptyJSON))
	if err != nil {
		return nil, v1.Hash{}, err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  string(layer.MediaType),
		Config:        v1.Descriptor{MediaType: MediaTypeEmpty, Digest: eh, Size: esize},
		Layers:        []v1.Descriptor{layer},
		Annotations:   ann,
		Subject:       &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
	}
	raw, err = json.Marshal(m)
	if err != nil {
		return nil, v1.Hash{}, err
	}
	return raw, eh, nil
}

// newArtifact builds the referrer manifest of cosign's bundle
// specification around bundleJSON.
func newArtifact(subject v1.Descriptor, bundleJSON []byte, predicateType string, now time.Time) (*artifact, error) {
	bh, bsize, err := v1.SHA256(bytes.NewReader(bundleJSON))
	if err != nil {
		return nil, err
	}
	ann := map[string]string{
		AnnotationContent:       bundle.ContentDSSE,
		AnnotationPredicateType: predicateType,
		AnnotationCreated:       now.UTC().Format(time.RFC3339),
	}
	raw, eh, err := artifactManifest(subject, v1.Descriptor{
		MediaType:   ArtifactTypeBundle,
		Digest:      bh,
		Size:        bsize,
		Annotations: map[string]string{AnnotationTitle: strings.Replace(bh.String(), ":", "-", 1) + ".sigstore.json"},
	}, ann)
	if err != nil {
		return nil, err
	}
	mh, msize, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	return &artifact{
		subject:  subject,
		manifest: raw,
		desc: v1.Descriptor{
			MediaType:    types.OCIManifestSchema1,
			Digest:       mh,
			Size:         msize,
			ArtifactType: ArtifactTypeBundle,
			Annotations:  ann,
		},
		blobs: map[v1.Hash][]byte{bh: bundleJSON, eh: emptyJSON},
	}, nil
}
