package containerspolicy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/toto-dev/toto/image"
)

// The image-spec's annotations naming the image an image was built on.
const (
	AnnotationBaseName   = image.AnnotationBaseName
	AnnotationBaseDigest = image.AnnotationBaseDigest
)

// ErrBaseLayer: a signedBaseLayer requirement is not satisfied.
var ErrBaseLayer = errors.New("signedBaseLayer")

// BaseImage is the evidence a signedBaseLayer requirement reads, gathered
// by the caller (ReadBaseImage, then the policy's verdict on the base).
type BaseImage struct {
	// Name and Digest are the image manifest's base annotations
	// (AnnotationBaseName, AnnotationBaseDigest); empty when it has none.
	Name, Digest string
	// Layers are the image's layer digests, in order.
	Layers []string
	// BaseLayers are the layer digests of the manifest Digest names, or
	// of each manifest of the index it names.
	BaseLayers [][]string
	// Result is the policy's verdict on the base image, Name@Digest,
	// evaluated with the base's own signatures; nil when not evaluated.
	Result *Result
}

// evalBaseLayer decides signedBaseLayer as containers/image documents it
// (policy_types.go: "the image has a specified, correctly signed, base
// image"), which containers/image itself never evaluates: the image's
// base annotations name a base image whose name baseLayerIdentity accepts
// (matchExact is refused, as containers/image's documentation says), the
// image's layers begin with all of that base's layers, and the base image
// is itself accepted by the policy (its own scope's requirements: that is
// "correctly signed").
func evalBaseLayer(r *SignedBaseLayer, img Image, b *BaseImage, rr *RequirementResult) {
	fail := func(format string, a ...any) {
		rr.Err = fmt.Errorf("%w: "+format, append([]any{ErrBaseLayer}, a...)...)
	}
	if _, ok := r.BaseLayerIdentity.(MatchExact); ok {
		fail("baseLayerIdentity matchExact cannot name a base image (containers/image rejects it too)")
		return
	}
	if b == nil {
		fail("the image's base image was not read (ReadBaseImage)")
		return
	}
	if b.Name == "" || b.Digest == "" {
		fail("the image names no base image (manifest annotations %s and %s)", AnnotationBaseName, AnnotationBaseDigest)
		return
	}
	if err := matches(r.BaseLayerIdentity, img, b.Name); err != nil {
		fail("base image %s: %w", b.Name, err)
		return
	}
	prefix := false
	for _, bl := range b.BaseLayers {
		if len(bl) > 0 && len(bl) <= len(b.Layers) && equal(bl, b.Layers[:len(bl)]) {
			prefix = true
			break
		}
	}
	if !prefix {
		fail("the image's layers do not begin with the layers of its base image %s@%s", b.Name, b.Digest)
		return
	}
	if b.Result == nil {
		fail("the base image %s@%s was not evaluated", b.Name, b.Digest)
		return
	}
	if !b.Result.Allowed {
		var why []error
		for _, q := range b.Result.Requirements {
			if q.Err != nil {
				why = append(why, q.Err)
			}
		}
		fail("the base image %s@%s is not accepted by the policy: %w", b.Name, b.Digest, errors.Join(why...))
		return
	}
	rr.Satisfied = true
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Bounds of what ReadBaseImage reads.
const (
	maxManifest      = 4 << 20
	maxBaseManifests = 64
)

// ReadBaseImage reads the evidence of signedBaseLayer for t except the
// base's verdict: t's base annotations and layers, and the layers of the
// base image they name (opened by digest with opts; each manifest of an
// index). An image without base annotations is no error: its BaseImage
// has no Name, and signedBaseLayer fails on it. With the base image's
// target, the caller evaluates the policy for the base and sets Result.
func ReadBaseImage(ctx context.Context, t *image.Target, opts image.Options) (*BaseImage, *image.Target, error) {
	raw, err := t.Manifest(ctx, t.Descriptor.Digest)
	if err != nil {
		return nil, nil, err
	}
	m, err := parseManifest(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", t, err)
	}
	b := &BaseImage{Name: m.Annotations[AnnotationBaseName], Digest: m.Annotations[AnnotationBaseDigest]}
	for _, l := range m.Layers {
		b.Layers = append(b.Layers, l.Digest.String())
	}
	if b.Name == "" || b.Digest == "" {
		return b, nil, nil
	}
	h, err := v1.NewHash(b.Digest)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %s %q: %w", t, AnnotationBaseDigest, b.Digest, err)
	}
	bt, err := image.Open(ctx, b.Name+"@"+h.String(), opts)
	if err != nil {
		// A name with a tag and a digest: open the repository by digest.
		if n, _, ok := cutTag(b.Name); ok {
			bt, err = image.Open(ctx, n+"@"+h.String(), opts)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("base image of %s: %w", t, err)
		}
	}
	braw, err := bt.Manifest(ctx, bt.Descriptor.Digest)
	if err != nil {
		return nil, nil, err
	}
	bm, err := parseManifest(braw)
	if err != nil {
		return nil, nil, fmt.Errorf("base image %s: %w", bt, err)
	}
	if len(bm.Manifests) > maxBaseManifests {
		return nil, nil, fmt.Errorf("base image %s: index of %d manifests, more than %d", bt, len(bm.Manifests), maxBaseManifests)
	}
	if len(bm.Manifests) == 0 {
		b.BaseLayers = append(b.BaseLayers, digests(bm.Layers))
	}
	for _, d := range bm.Manifests {
		craw, err := bt.Manifest(ctx, d.Digest)
		if err != nil {
			return nil, nil, fmt.Errorf("base image %s: manifest %s: %w", bt, d.Digest, err)
		}
		cm, err := parseManifest(craw)
		if err != nil {
			return nil, nil, fmt.Errorf("base image %s: manifest %s: %w", bt, d.Digest, err)
		}
		b.BaseLayers = append(b.BaseLayers, digests(cm.Layers))
	}
	return b, bt, nil
}

// manifest is what ReadBaseImage needs of an image manifest or an index.
type manifest struct {
	Annotations map[string]string `json:"annotations"`
	Layers      []v1.Descriptor   `json:"layers"`
	Manifests   []v1.Descriptor   `json:"manifests"`
}

func parseManifest(raw []byte) (*manifest, error) {
	if len(raw) > maxManifest {
		return nil, fmt.Errorf("manifest larger than %d bytes", maxManifest)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return &m, nil
}

func digests(ds []v1.Descriptor) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.Digest.String())
	}
	return out
}

// cutTag splits "repo:tag" (not a registry port) into repo and tag.
func cutTag(name string) (string, string, bool) {
	for i := len(name) - 1; i >= 0; i-- {
		switch name[i] {
		case '/':
			return "", "", false
		case ':':
			return name[:i], name[i+1:], true
		}
	}
	return "", "", false
}
