package dockerfile

import (
	"context"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/imagepolicy"
)

// Base is one FROM after resolution and verification.
type Base struct {
	From From
	// Target is the image as the registry serves the base name: an index
	// when the tag names a multi-platform image. It is what the policy is
	// evaluated for, and what Pin names: an index's digest covers each of
	// its platforms' manifests by digest, and a Dockerfile pinned to it
	// still builds for every platform.
	Target *image.Target
	// Platform is the platform the build takes from an index (the FROM's
	// --platform, else the target platform), and PlatformDigest that
	// platform's manifest; empty when Target is a single manifest.
	Platform       string
	PlatformDigest string
	// Decision is the policy's verdict for Target (nil when no policy was
	// given).
	Decision *decision.Decision

	file string // the Dockerfile, for errors (VerifyMaterials)
}

// Allowed says whether the policy allows the base image.
func (b *Base) Allowed() bool { return b.Decision == nil || b.Decision.Allowed() }

// VerifyOptions tune Resolve.
type VerifyOptions struct {
	// Image opens registry references (authentication, transport).
	Image image.Options
	// Policy, when set, is evaluated for every base image.
	Policy *imagepolicy.Policy
}

// Resolve resolves every FROM naming an image to a digest and, with a
// policy, evaluates it. It returns one Base per image FROM, in file
// order. An image that cannot be resolved, or an index without the
// platform the build needs, is an *Error at its line; a denied image is
// not an error (see Base.Allowed).
func Resolve(ctx context.Context, f *File, opts VerifyOptions) ([]Base, error) {
	var out []Base
	seen := map[[2]string]Base{} // one resolution per image and platform
	for _, fr := range f.Froms {
		if fr.Kind != KindImage {
			continue
		}
		key := [2]string{fr.Image, fr.Platform}
		b, ok := seen[key]
		if !ok {
			var err error
			if b, err = resolve(ctx, f, fr, opts); err != nil {
				return out, &Error{File: f.Name, Line: fr.Line, Err: err}
			}
			seen[key] = b
		}
		b.From = fr
		out = append(out, b)
	}
	return out, nil
}

func resolve(ctx context.Context, f *File, fr From, opts VerifyOptions) (Base, error) {
	b := Base{From: fr}
	t, err := image.Open(ctx, fr.Image, opts.Image)
	if err != nil {
		return b, fmt.Errorf("FROM %s: %w", fr.Image, err)
	}
	b.Target = t
	if isIndex(t.Descriptor.MediaType) && (fr.Platform != "" || f != nil) {
		b.Platform = fr.Platform
		if b.Platform == "" {
			b.Platform = f.TargetPlatform()
		}
		d, err := platformManifest(ctx, t, b.Platform)
		if err != nil {
			return b, fmt.Errorf("FROM %s: %w", fr.Image, err)
		}
		b.PlatformDigest = d
	}
	if opts.Policy != nil {
		d, err := opts.Policy.Evaluate(ctx, fr.Image, t)
		if err != nil {
			return b, fmt.Errorf("FROM %s: %w", fr.Image, err)
		}
		b.Decision = d
	}
	return b, nil
}

func isIndex(mt types.MediaType) bool {
	return mt == types.OCIImageIndex || mt == types.DockerManifestList
}

// maxIndex bounds an index manifest read here.
const maxIndex = 4 << 20

// platformManifest picks the manifest of platform from the index t names,
// as a container runtime would: same OS and architecture, and the variant
// (or OS version) when the wanted platform says one.
func platformManifest(ctx context.Context, t *image.Target, platform string) (string, error) {
	want, err := v1.ParsePlatform(platform)
	if err != nil {
		return "", fmt.Errorf("platform %q: %v", platform, err)
	}
	raw, err := t.Manifest(ctx, t.Descriptor.Digest)
	if err != nil {
		return "", err
	}
	if len(raw) > maxIndex {
		return "", fmt.Errorf("index larger than %d bytes", maxIndex)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(raw, &idx); err != nil {
		return "", fmt.Errorf("index %s: %v", t.Digest(), err)
	}
	for _, m := range idx.Manifests {
		if m.Platform == nil {
			continue
		}
		p := *m.Platform
		if p.OS == want.OS && p.Architecture == want.Architecture &&
			(want.Variant == "" || p.Variant == want.Variant || (p.Variant == "" && want.Architecture == "arm64" && want.Variant == "v8")) &&
			(want.OSVersion == "" || p.OSVersion == want.OSVersion) {
			return m.Digest.String(), nil
		}
	}
	return "", fmt.Errorf("index %s has no manifest for platform %s", t.Digest(), platform)
}
