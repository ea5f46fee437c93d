// Package toto is the shortest way to use toto as a library: VerifyChain
// verifies a supply chain from files — a signed layout, its owners' keys,
// a links folder, attestations, an SBOM policy — exactly as the toto verify
// command does, so a caller need not stitch envelope, layout, trust,
// verifier and sbom together.
//
// The packages underneath are the API for everything else: envelope
// (signature formats), keys (keys and signers), trust (trust roots),
// layout (policy), verifier (the chain verification core and its evidence
// sources), attestation (the one path for signed statements), sbom, bundle
// and image. docs/architecture.md maps them.
package toto

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/internal/boundedio"
	"github.com/toto-dev/toto/sbom"
	"github.com/toto-dev/toto/trust"
	"github.com/toto-dev/toto/verifier"
)

// MaxMetadataSize bounds each layout or attestation file read.
const MaxMetadataSize = 64 << 20

// ChainOptions names the files of one verification.
type ChainOptions struct {
	// Layout is the signed layout file; with Trust it may be "" to take
	// the layout the trust source delivers (trust.Root.Layout).
	Layout string
	// LayoutKeys are the owners' public key files; every one must have
	// signed the layout. At least one is required, unless Trust is set.
	LayoutKeys []string
	// Trust, instead of LayoutKeys, delivers the layout owners' keys (and
	// the layout itself, when Layout is ""): a trust.TUF repository.
	Trust trust.Source
	// Links is the links folder; "" means the current folder.
	Links string
	// Params are substituted for {NAME} in the layout.
	Params map[string]string
	// Workdir is the folder inspections see a private copy of; "" means
	// the current folder. InspectionTimeout kills an inspection after
	// that long (0: verifier.DefaultInspectionTimeout); InspectionOutput,
	// if set, receives the inspections' output live.
	Workdir           string
	InspectionTimeout time.Duration
	InspectionOutput  io.Writer
	// RunSublayoutInspections allows the inspections of sublayouts that a
	// functionary, not a root layout owner, signed (see
	// verifier.Options.RunSublayoutInspections).
	RunSublayoutInspections bool
	// Attestations are signed in-toto Statement files about the final
	// product.
	Attestations []string
	// SBOMPolicy is a policy file applied beside the one the layout signs
	// in (which always applies).
	SBOMPolicy string
	// Now is the verification time; zero means now.
	Now time.Time
}

// VerifyChain reads the files named in opts and verifies the chain. As
// with verifier.Verify, the error is for input that cannot be verified
// (a missing file, a malformed layout, a parameter without a value); a
// chain that fails verification is reported in the Result. Errors name
// the file at fault.
func VerifyChain(ctx context.Context, opts ChainOptions) (*verifier.Result, error) {
	root, env, err := chainTrust(ctx, opts)
	if err != nil {
		return nil, err
	}
	vopts := verifier.Options{LayoutKeys: root.LayoutOwners, Params: opts.Params, Now: opts.Now, RunSublayoutInspections: opts.RunSublayoutInspections}
	links := opts.Links
	if links == "" {
		links = "."
	}
	src, err := verifier.OpenDir(links)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	vopts.Links = src
	workdir := opts.Workdir
	if workdir == "" {
		workdir = "."
	}
	if st, err := os.Stat(workdir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("workdir %s is not a folder", workdir)
	}
	vopts.Inspections = &verifier.SandboxRunner{Dir: workdir, Timeout: opts.InspectionTimeout, Stdout: opts.InspectionOutput, Stderr: opts.InspectionOutput}
	for _, p := range opts.Attestations {
		e, err := readEnvelope("attestation", p)
		if err != nil {
			return nil, err
		}
		vopts.Attestations = append(vopts.Attestations, verifier.Attestation{Source: filepath.Base(p), Envelope: e})
	}
	if opts.SBOMPolicy != "" {
		p, err := sbom.LoadPolicy(opts.SBOMPolicy)
		if err != nil {
			return nil, err
		}
		vopts.AttestationChecks = append(vopts.AttestationChecks, verifier.SBOMCheck(p))
	}
	res, err := verifier.Verify(ctx, env, vopts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", layoutName(opts, root), err)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	for _, w := range root.TUF.ExpiryWarnings(now) {
		res.Warnings = append(res.Warnings, verifier.Warning{Message: w})
	}
	return res, nil
}

// ErrTrustAndKeys: ChainOptions with both LayoutKeys and Trust.
var ErrTrustAndKeys = errors.New("layout owner keys given both as files and by a trust source")

// chainTrust reads the layout owners' keys and the layout: from files, or
// from opts.Trust.
func chainTrust(ctx context.Context, opts ChainOptions) (*trust.Root, *envelope.Envelope, error) {
	if opts.Trust == nil {
		if len(opts.LayoutKeys) == 0 {
			return nil, nil, verifier.ErrNoLayoutKeys
		}
		env, err := readEnvelope("layout", opts.Layout)
		if err != nil {
			return nil, nil, err
		}
		root, err := trust.Files{LayoutOwners: opts.LayoutKeys}.Root(ctx)
		if err != nil {
			return nil, nil, err
		}
		return root, env, nil
	}
	if len(opts.LayoutKeys) > 0 {
		return nil, nil, ErrTrustAndKeys
	}
	root, err := opts.Trust.Root(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(root.LayoutOwners) == 0 {
		return nil, nil, verifier.ErrNoLayoutKeys
	}
	if opts.Layout != "" {
		env, err := readEnvelope("layout", opts.Layout)
		return root, env, err
	}
	if root.Layout == nil {
		return nil, nil, fmt.Errorf("layout: the trust source delivered none and no layout file was given")
	}
	env, err := envelope.Parse(root.Layout)
	if err != nil {
		return nil, nil, fmt.Errorf("layout %s: %w", layoutName(opts, root), err)
	}
	return root, env, nil
}

func layoutName(opts ChainOptions, root *trust.Root) string {
	if opts.Layout == "" && root != nil && root.LayoutTarget != "" {
		return "TUF target " + root.LayoutTarget
	}
	return opts.Layout
}

func readEnvelope(what, path string) (*envelope.Envelope, error) {
	data, err := boundedio.ReadFile(path, MaxMetadataSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	e, err := envelope.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	return e, nil
}
