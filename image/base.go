package image

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/distribution/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The OCI image-spec's pre-defined annotations (annotations.md) naming the
// image an image was built on; buildah writes them, and AnnotateBase.
const (
	AnnotationBaseName   = "org.opencontainers.image.base.name"
	AnnotationBaseDigest = "org.opencontainers.image.base.digest"
)

// maxBaseManifests bounds the manifests of a base index read.
const maxBaseManifests = 64

// ErrNotOnBase: the image's layers do not begin with the base image's.
var ErrNotOnBase = errors.New("image is not built on that base")

// BaseOptions tune AnnotateBase.
type BaseOptions struct {
	// Tag, if set, is pointed at the annotated image.
	Tag string
}

// AnnotateBase records that the image t was built on base: it writes a
// copy of t's manifest with AnnotationBaseName (baseName, the reference
// the base was built from, e.g. "registry.example/base:3") and
// AnnotationBaseDigest (base's digest) into t's repository, and returns the
// new image (a new digest: annotations are part of the manifest; config
// and layers are unchanged). It refuses, with ErrNotOnBase, when t's
// layers do not begin with the base's (with an index, one of its
// manifests'): the annotation must not claim a base the image is not
// built on. Registry images only; t must be an image manifest.
func AnnotateBase(ctx context.Context, t *Target, baseName string, base *Target, opts BaseOptions) (*Target, error) {
	rs, ok := t.store.(*remoteStore)
	if !ok {
		return nil, fmt.Errorf("%w: %s: base annotations are written to registry images only", ErrReference, t)
	}
	raw, err := t.Manifest(ctx, t.Descriptor.Digest)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: manifest: %w", t, err)
	}
	if _, isIndex := m["manifests"]; isIndex {
		return nil, fmt.Errorf("%w: %s is an index: annotate each platform's image", ErrReference, t)
	}
	layers, err := layersOf(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	onBase, err := builtOn(ctx, layers, base)
	if err != nil {
		return nil, err
	}
	if !onBase {
		return nil, fmt.Errorf("%w: the layers of %s do not begin with those of %s", ErrNotOnBase, t, base)
	}
	ann := map[string]string{}
	if a, ok := m["annotations"]; ok {
		if err := json.Unmarshal(a, &ann); err != nil {
			return nil, fmt.Errorf("%s: annotations: %w", t, err)
		}
	}
	if ann[AnnotationBaseName], err = BaseName(baseName); err != nil {
		return nil, err
	}
	ann[AnnotationBaseDigest] = base.Digest()
	if m["annotations"], err = json.Marshal(ann); err != nil {
		return nil, err
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	h, size, err := v1.SHA256(bytes.NewReader(out))
	if err != nil {
		return nil, err
	}
	po, err := rs.withPush(ctx)
	if err != nil {
		return nil, err
	}
	mt := t.Descriptor.MediaType
	if err := remote.Put(rs.repo.Digest(h.String()), rawManifest{raw: out, mt: mt}, po...); err != nil {
		return nil, fmt.Errorf("push manifest %s: %w", h, err)
	}
	if opts.Tag != "" {
		if err := remote.Put(rs.repo.Tag(opts.Tag), rawManifest{raw: out, mt: mt}, po...); err != nil {
			return nil, fmt.Errorf("tag %s: %w", opts.Tag, err)
		}
	}
	rs.cache(h, out)
	return &Target{Reference: t.Reference, Descriptor: v1.Descriptor{MediaType: mt, Digest: h, Size: size}, Tag: opts.Tag, store: rs}, nil
}

// BaseName is baseName as AnnotateBase records it: fully qualified, as the
// image-spec asks ("alpine:3" → "docker.io/library/alpine:3").
func BaseName(baseName string) (string, error) {
	named, err := reference.ParseNormalizedNamed(baseName)
	if err != nil {
		return "", fmt.Errorf("%w: base name %q: %v", ErrReference, baseName, err)
	}
	return named.String(), nil
}

// builtOn says whether layers begin with all the layers of base (of one of
// its manifests, when base is an index).
func builtOn(ctx context.Context, layers []v1.Hash, base *Target) (bool, error) {
	raw, err := base.Manifest(ctx, base.Descriptor.Digest)
	if err != nil {
		return false, err
	}
	var idx struct {
		Manifests []v1.Descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		return false, fmt.Errorf("%s: %w", base, err)
	}
	if len(idx.Manifests) > maxBaseManifests {
		return false, fmt.Errorf("%s: index of %d manifests, more than %d", base, len(idx.Manifests), maxBaseManifests)
	}
	cands := [][]byte{raw}
	if base.Descriptor.MediaType == types.OCIImageIndex || base.Descriptor.MediaType == types.DockerManifestList || len(idx.Manifests) > 0 {
		cands = nil
		for _, d := range idx.Manifests {
			c, err := base.Manifest(ctx, d.Digest)
			if err != nil {
				return false, fmt.Errorf("%s: manifest %s: %w", base, d.Digest, err)
			}
			cands = append(cands, c)
		}
	}
	for _, c := range cands {
		bl, err := layersOf(c)
		if err != nil {
			return false, fmt.Errorf("%s: %w", base, err)
		}
		if len(bl) == 0 || len(bl) > len(layers) {
			continue
		}
		prefix := true
		for i := range bl {
			if bl[i] != layers[i] {
				prefix = false
				break
			}
		}
		if prefix {
			return true, nil
		}
	}
	return false, nil
}

func layersOf(raw []byte) ([]v1.Hash, error) {
	var m struct {
		Layers []v1.Descriptor `json:"layers"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	out := make([]v1.Hash, 0, len(m.Layers))
	for _, l := range m.Layers {
		out = append(out, l.Digest)
	}
	return out, nil
}
