package notation

import (
	"context"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/notaryproject/notation-go/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/toto-dev/toto/image"
)

// Limits notation-go applies to what it reads.
const (
	maxSignatureBlob     = 32 << 20
	maxSignatureManifest = 4 << 20
)

// repository is notation-go's registry.Repository over a toto image:
// notation.Sign resolves the image and pushes the signature through it,
// so the signature is attached the way toto attaches everything (checked
// digests, the sha256-HEX index repaired until the entry stays, index.json
// under a lock).
type repository struct {
	t *image.Target
	// attached is the signature manifest PushSignature wrote; pushErr
	// why it failed (notation.Sign keeps only the message).
	attached v1.Descriptor
	pushErr  error
}

var _ registry.Repository = (*repository)(nil)

func ociDescriptor(d v1.Descriptor) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: string(d.MediaType), Digest: digest.Digest(d.Digest.String()), Size: d.Size}
}

// Resolve answers only for the image itself: its digest, or the tag it
// was opened with. toto resolved the tag once, in image.Open.
func (r *repository) Resolve(_ context.Context, ref string) (ocispec.Descriptor, error) {
	if ref == r.t.Digest() || (ref != "" && ref == r.t.Tag) {
		return ociDescriptor(r.t.Descriptor), nil
	}
	return ocispec.Descriptor{}, fmt.Errorf("%s: %q is not the image toto opened", r.t, ref)
}

func (r *repository) ListSignatures(ctx context.Context, desc ocispec.Descriptor, fn func([]ocispec.Descriptor) error) error {
	if desc.Digest.String() != r.t.Digest() {
		return fmt.Errorf("%s: list signatures of %s: not this image", r.t, desc.Digest)
	}
	refs, err := r.t.Referrers(ctx)
	if err != nil {
		return err
	}
	var out []ocispec.Descriptor
	for _, d := range refs {
		if d.ArtifactType == ArtifactType {
			od := ociDescriptor(d)
			od.ArtifactType, od.Annotations = d.ArtifactType, d.Annotations
			out = append(out, od)
		}
	}
	return fn(out)
}

func (r *repository) FetchSignatureBlob(ctx context.Context, desc ocispec.Descriptor) ([]byte, ocispec.Descriptor, error) {
	h, err := v1.NewHash(desc.Digest.String())
	if err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	layer, blob, err := readSignature(ctx, r.t, h)
	if err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	return blob, ociDescriptor(layer), nil
}

// readSignature reads a signature manifest by digest and checks what
// toto relies on: an OCI image manifest (at most 4 MiB) whose subject is
// the image, whose config media type is the Notary Project's, with
// exactly one layer, a JWS or COSE envelope of at most 32 MiB, read and
// checked against its digest. It returns that layer and the envelope.
func readSignature(ctx context.Context, t *image.Target, h v1.Hash) (v1.Descriptor, []byte, error) {
	raw, err := t.Manifest(ctx, h)
	if err != nil {
		return v1.Descriptor{}, nil, fmt.Errorf("signature manifest %s: %w", h, err)
	}
	if len(raw) > maxSignatureManifest {
		return v1.Descriptor{}, nil, fmt.Errorf("signature manifest %s: larger than %d bytes", h, maxSignatureManifest)
	}
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return v1.Descriptor{}, nil, fmt.Errorf("signature manifest %s: %w", h, err)
	}
	switch {
	case m.MediaType != types.OCIManifestSchema1:
		return v1.Descriptor{}, nil, fmt.Errorf("signature manifest %s: media type %q, want an OCI image manifest", h, m.MediaType)
	case m.Subject == nil || m.Subject.Digest != t.Descriptor.Digest:
		return v1.Descriptor{}, nil, fmt.Errorf("signature manifest %s: its subject is not %s", h, t.Digest())
	case string(m.Config.MediaType) != ArtifactType:
		return v1.Descriptor{}, nil, fmt.Errorf("signature manifest %s: config media type %q, want %s", h, m.Config.MediaType, ArtifactType)
	case len(m.Layers) != 1:
		return v1.Descriptor{}, nil, fmt.Errorf("signature manifest %s: %d layers, want exactly one envelope", h, len(m.Layers))
	}
	layer := m.Layers[0]
	if mt := string(layer.MediaType); mt != MediaTypeJWS && mt != MediaTypeCOSE {
		return v1.Descriptor{}, nil, fmt.Errorf("signature manifest %s: envelope media type %q, want %s or %s", h, mt, MediaTypeJWS, MediaTypeCOSE)
	}
	if layer.Size > maxSignatureBlob {
		return v1.Descriptor{}, nil, fmt.Errorf("signature manifest %s: envelope of %d bytes, more than %d", h, layer.Size, maxSignatureBlob)
	}
	blob, err := t.Blob(ctx, layer.Digest, maxSignatureBlob)
	if err != nil {
		return v1.Descriptor{}, nil, fmt.Errorf("signature envelope %s: %w", layer.Digest, err)
	}
	if int64(len(blob)) != layer.Size {
		return v1.Descriptor{}, nil, fmt.Errorf("signature envelope %s: %d bytes, the manifest says %d", layer.Digest, len(blob), layer.Size)
	}
	return layer, blob, nil
}

// emptyJSON is the notation signature manifest's config: the OCI empty
// descriptor's content, under the Notary Project's media type.
var emptyJSON = []byte("{}")

// PushSignature builds the signature manifest exactly as notation-go does
// (oras PackManifest, image spec 1.1: config = the empty JSON under
// ArtifactType, one layer = the envelope, subject, annotations) and
// attaches it with image.Target.Attach.
func (r *repository) PushSignature(ctx context.Context, mediaType string, blob []byte, subject ocispec.Descriptor, annotations map[string]string) (ocispec.Descriptor, ocispec.Descriptor, error) {
	if subject.Digest.String() != r.t.Digest() {
		return ocispec.Descriptor{}, ocispec.Descriptor{}, fmt.Errorf("%s: push a signature of %s: not this image", r.t, subject.Digest)
	}
	blobDesc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(blob), Size: int64(len(blob))}
	m := ocispec.Manifest{
		MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{
			MediaType: ArtifactType,
			Digest:    digest.FromBytes(emptyJSON),
			Size:      int64(len(emptyJSON)),
		},
		Layers:      []ocispec.Descriptor{blobDesc},
		Subject:     &subject,
		Annotations: annotations,
	}
	m.SchemaVersion = 2
	raw, err := json.Marshal(m)
	if err != nil {
		return ocispec.Descriptor{}, ocispec.Descriptor{}, err
	}
	d, err := r.t.Attach(ctx, image.Referrer{Manifest: raw, ArtifactType: ArtifactType, Blobs: [][]byte{emptyJSON, blob}})
	if err != nil {
		r.pushErr = err
		return ocispec.Descriptor{}, ocispec.Descriptor{}, err
	}
	r.attached = d
	md := ociDescriptor(d)
	md.ArtifactType, md.Annotations = d.ArtifactType, d.Annotations
	return blobDesc, md, nil
}
