package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/toto-dev/toto/dockerfile"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/imagepolicy"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/runner"
)

// materialImageFlags are toto run's flags for images as materials and
// products.
type materialImageFlags struct {
	policy    string
	images    []string
	products  []string
	buildArgs []string
	platform  string
}

func (m *materialImageFlags) register(f *pflag.FlagSet) {
	f.StringVar(&m.policy, "verify-materials", "", "image policy `FILE`: verify the base images of Dockerfiles among the materials, and --material-image, before the command; record them by digest")
	f.StringArrayVar(&m.images, "material-image", nil, "image `REF` to verify (with --verify-materials) and record as a material (repeatable)")
	f.StringArrayVar(&m.products, "product-image", nil, "image `REF` to record by digest as a product, after the command (repeatable)")
	f.StringArrayVar(&m.buildArgs, "build-arg", nil, "`NAME=VALUE` for the Dockerfiles' ARGs, as docker build --build-arg (repeatable)")
	f.StringVar(&m.platform, "platform", "", "target `PLATFORM` the Dockerfiles are built for (os/arch[/variant])")
}

// verifier returns the runner's BeforeCommand hook, nil without
// --verify-materials. The policy and flags are checked now, before any work.
func (m *materialImageFlags) verifier(hash runner.HashOptions) (func(context.Context, link.Artifacts) error, error) {
	if m.policy == "" {
		if len(m.images) > 0 || len(m.buildArgs) > 0 || m.platform != "" {
			return nil, errors.New("--material-image, --build-arg and --platform need --verify-materials POLICY")
		}
		return nil, nil
	}
	if len(hash.LStripPaths) > 0 {
		return nil, errors.New("--verify-materials cannot be combined with --lstrip-paths: Dockerfiles are read from disk by their recorded paths")
	}
	ba, err := parseBuildArgs(m.buildArgs)
	if err != nil {
		return nil, err
	}
	p, err := imagepolicy.Load(m.policy)
	if err != nil {
		return nil, err
	}
	dir := hash.BasePath
	if dir == "" {
		dir = "."
	}
	return func(ctx context.Context, materials link.Artifacts) error {
		bases, err := dockerfile.VerifyMaterials(ctx, materials, dockerfile.MaterialOptions{
			Dir:    dir,
			Images: m.images,
			Parse:  dockerfile.Options{BuildArgs: ba, Platform: m.platform},
			Verify: dockerfile.VerifyOptions{Policy: p},
			Digest: func(data []byte) (link.DigestSet, error) {
				return runner.Digest(bytes.NewReader(data), runner.DigestOptions{Algorithms: hash.Algorithms, NormalizeLineEndings: hash.NormalizeLineEndings})
			},
		})
		for _, b := range bases {
			verdict := "allowed"
			if !b.Allowed() {
				verdict = "DENIED"
			}
			fmt.Fprintf(os.Stderr, "toto: %s %s → %s\n", verdict, visible(b.From.Image), b.Target)
		}
		return err
	}, nil
}

// recordProducts adds each --product-image to the link's products.
func (m *materialImageFlags) recordProducts(ctx context.Context, l *link.Link) error {
	for _, ref := range m.products {
		t, err := image.Open(ctx, ref, image.Options{})
		if err != nil {
			return fmt.Errorf("--product-image: %w", err)
		}
		name := t.ArtifactName()
		if old, ok := l.Products[name]; ok && old["sha256"] != t.Descriptor.Digest.Hex {
			return fmt.Errorf("--product-image: two images of %s cannot both be recorded under one product name", name)
		}
		if l.Products == nil {
			l.Products = link.Artifacts{}
		}
		l.Products[name] = link.DigestSet(t.ArtifactDigest())
	}
	return nil
}
