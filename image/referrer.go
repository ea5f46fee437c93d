package image

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Exported access to an image's referrers for other signature formats
// (package notation): they build their own referrer manifests and read
// their own envelopes, and reuse the image's store, digest checks and the
// attach guarantees of Sign (see attach.go).

// MaxReferrerBlob bounds a referrer blob read through Blob by callers that
// have no better bound.
const MaxReferrerBlob = 32 << 20

// Referrers lists the manifests recorded as referrers of the image: the
// referrers API or the sha256-HEX fallback index of a registry, or the
// index.json entries of an OCI layout whose subject is the image. The
// listing is not authenticated: read each manifest (Manifest) and check
// its subject before trusting anything it says.
func (t *Target) Referrers(ctx context.Context) ([]v1.Descriptor, error) {
	return t.store.referrers(ctx, t.Descriptor.Digest)
}

// Manifest fetches a manifest of the image's repository (or layout) by
// digest; the content is checked against the digest.
func (t *Target) Manifest(ctx context.Context, h v1.Hash) ([]byte, error) {
	if err := hashOK(h); err != nil {
		return nil, err
	}
	return t.store.manifest(ctx, h)
}

// Blob fetches a blob by digest, at most max bytes; the content is
// checked against the digest.
func (t *Target) Blob(ctx context.Context, h v1.Hash, max int64) ([]byte, error) {
	if err := hashOK(h); err != nil {
		return nil, err
	}
	return t.store.blob(ctx, h, max)
}

// hashOK refuses a digest other than sha256 (the only one toto reads or
// names blob files by).
func hashOK(h v1.Hash) error {
	if h.Algorithm != "sha256" || len(h.Hex) != 64 {
		return fmt.Errorf("unsupported digest %q", h)
	}
	return nil
}

// Referrer is an OCI image manifest to attach to an image, built by the
// caller: its exact bytes and the blobs it names.
type Referrer struct {
	// Manifest is the raw OCI image manifest; its subject must be the
	// image's manifest.
	Manifest []byte
	// ArtifactType is what the referrers index lists for it (the
	// manifest's artifactType, or its config media type).
	ArtifactType string
	// Blobs are the config and layer contents the manifest names.
	Blobs [][]byte
}

// Attach pushes a referrer's blobs and manifest (by digest) and makes
// sure it is listed where readers look, as Sign does: a registry's
// referrers API or sha256-HEX index (repaired until the entry stays), an
// OCI layout's index.json (under its lock). It returns the referrer's
// descriptor as listed; an attach that cannot be ensured is an
// *AttachError (ErrNotAttached).
func (t *Target) Attach(ctx context.Context, r Referrer) (v1.Descriptor, error) {
	var m v1.Manifest
	if err := json.Unmarshal(r.Manifest, &m); err != nil {
		return v1.Descriptor{}, fmt.Errorf("attach to %s: referrer manifest: %w", t, err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.SchemaVersion != 2 {
		return v1.Descriptor{}, fmt.Errorf("attach to %s: referrer is not an OCI image manifest (mediaType %q)", t, m.MediaType)
	}
	if m.Subject == nil || m.Subject.Digest != t.Descriptor.Digest {
		return v1.Descriptor{}, fmt.Errorf("attach to %s: the referrer's subject is not the image", t)
	}
	blobs := map[v1.Hash][]byte{}
	for _, b := range r.Blobs {
		h, _, err := v1.SHA256(bytes.NewReader(b))
		if err != nil {
			return v1.Descriptor{}, err
		}
		blobs[h] = b
	}
	for _, d := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		if _, ok := blobs[d.Digest]; !ok {
			return v1.Descriptor{}, fmt.Errorf("attach to %s: no content given for blob %s", t, d.Digest)
		}
	}
	mh, msize, err := v1.SHA256(bytes.NewReader(r.Manifest))
	if err != nil {
		return v1.Descriptor{}, err
	}
	at := r.ArtifactType
	if at == "" {
		at = artifactTypeOf(&m)
	}
	if at == "" {
		return v1.Descriptor{}, errors.New("attach: referrer without an artifact type")
	}
	a := &artifact{
		subject:  t.Descriptor,
		manifest: r.Manifest,
		desc: v1.Descriptor{
			MediaType:    types.OCIManifestSchema1,
			Digest:       mh,
			Size:         msize,
			ArtifactType: at,
			Annotations:  m.Annotations,
		},
		blobs: blobs,
	}
	if err := t.store.push(ctx, a); err != nil {
		return v1.Descriptor{}, fmt.Errorf("attach to %s: %w", t, err)
	}
	return a.desc, nil
}
