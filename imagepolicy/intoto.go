package imagepolicy

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/verifier"
)

// InToto requires the supply chain that made the image to verify against
// an in-toto layout: the layout signed by every one of OwnerKeys (the one
// place a layout is trusted, layout.Verify), its steps' links read from
// the image's referrers (image.LinkSource, attached with
// image.AttachLink), the chain verified by verifier.Verify, and the image
// a product of one of the chain's steps, so that links copied onto another
// image vouch for nothing. Inspections do not run at admission: a layout
// with inspections does not verify here.
type InToto struct {
	Layout    string            `yaml:"layout"`
	OwnerKeys []string          `yaml:"ownerKeys"`
	Params    map[string]string `yaml:"params"`
	// Attestations are predicate types (URIs or cosign's names) of
	// Sigstore bundles attached to the image that the chain verifies as
	// attestations about its final products (verifier.Options
	// .Attestations: signed by a functionary or owner, about a final
	// product, under the layout's own SBOM policy); each type needs one.
	Attestations []string `yaml:"attestations"`

	mu     sync.Mutex
	env    *envelope.Envelope // the layout as last read
	envSum [32]byte           // and the SHA-256 of its bytes
}

// ErrNotProduced is wrapped when no step of a verified chain has the
// image among its products.
var ErrNotProduced = errors.New("the image is not among the products of the supply chain")

func (r *InToto) check(at string) error {
	switch {
	case r.Layout == "":
		return fieldErrorf(at+".intoto", "no layout")
	case len(r.OwnerKeys) == 0:
		return fieldErrorf(at+".intoto", "no ownerKeys to check the layout's signatures")
	}
	for k := range r.Params {
		if k == "" || strings.ContainsAny(k, "{}") {
			return fieldErrorf(at+".intoto.params", "bad name %q", k)
		}
	}
	return nil
}

// layoutEnvelope reads the requirement's layout (a file, read once, or a
// TUF target), parsed again only when its content changes.
func (p *Policy) layoutEnvelope(ctx context.Context, r *InToto) (*envelope.Envelope, error) {
	data, err := p.material(ctx, r.Layout, maxTrustFile)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.env != nil && r.envSum == sum {
		return r.env, nil
	}
	env, err := envelope.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("layout %s: %w", r.Layout, err)
	}
	r.env, r.envSum = env, sum
	return env, nil
}

func (p *Policy) intoto(ctx context.Context, t *image.Target, name string, action decision.Action, r *InToto) (decision.Requirement, error) {
	env, err := p.layoutEnvelope(ctx, r)
	if err != nil {
		return materialErr(name, action, err)
	}
	owners, err := p.loadKeys(ctx, r.OwnerKeys)
	if err != nil {
		return materialErr(name, action, err)
	}
	src, err := image.LinkSource(ctx, t)
	if err != nil {
		// The evidence could not be read: nothing vouches for the image.
		return decision.Check(name, action, err), nil
	}
	opts := verifier.Options{LayoutKeys: owners, Params: r.Params, Links: src}
	var types []string
	var unreadable []error
	if len(r.Attestations) > 0 {
		for _, a := range r.Attestations {
			u, _ := image.PredicateType(a)
			types = append(types, u)
		}
		if opts.Attestations, unreadable, err = image.ChainAttestations(ctx, t, types); err != nil {
			return decision.Check(name, action, err), nil
		}
	}
	res, err := verifier.Verify(ctx, env, opts)
	if err != nil {
		if ctx.Err() != nil {
			return decision.Requirement{}, err
		}
		// A layout that is no layout, a parameter without a value: the
		// policy's own material is at fault.
		return decision.Requirement{}, fmt.Errorf("%w: %s: layout %s: %v", ErrPolicy, name, r.Layout, err)
	}
	return chainRequirement(name, action, t, res, attestedTypes(res, types, unreadable)), nil
}

// attestedTypes is nil when every required predicate type has an
// attestation the chain verified, and otherwise says which have none.
func attestedTypes(res *verifier.Result, types []string, unreadable []error) error {
	var missing []string
	for _, pt := range types {
		found := false
		for _, a := range res.Attestations {
			found = found || a.PredicateType == pt && len(a.Failures) == 0
		}
		if !found {
			missing = append(missing, pt)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	err := fmt.Errorf("%w: %s", image.ErrMissingPredicateType, strings.Join(missing, ", "))
	if len(unreadable) > 0 {
		err = fmt.Errorf("%w (unreadable: %w)", err, errors.Join(unreadable...))
	}
	return err
}

// chainRequirement maps a chain verification to one requirement whose
// children are the verifier's own (layout trust, each step and
// inspection, attestations) and whose reason names what failed.
func chainRequirement(name string, action decision.Action, t *image.Target, res *verifier.Result, attested error) decision.Requirement {
	d := res.Decision(t.String())
	children := d.Requirements
	var produced error
	if res.Passed() {
		produced = imageProduced(t, res)
		children = append(children, decision.Check("the image is a product of the chain", decision.Enforce, produced))
	}
	if attested != nil {
		children = append(children, decision.Check("attestations of the required types", decision.Enforce, attested))
	}
	req := decision.All(name, action, children...)
	if req.Outcome == decision.Satisfied {
		return req
	}
	// The violations say what failed; what was skipped because of them
	// only when nothing was violated.
	var why, skipped []string
	for _, c := range children {
		switch c.Outcome {
		case decision.Violated:
			why = append(why, fmt.Sprintf("%s %s: %s", c.Name, c.Outcome, c.Reason))
		case decision.Skipped:
			skipped = append(skipped, fmt.Sprintf("%s %s: %s", c.Name, c.Outcome, c.Reason))
		}
	}
	if len(why) == 0 {
		why = skipped
	}
	req.Reason = strings.Join(why, "; ")
	req.Errors = append([]error(nil), res.Failures...)
	for _, e := range []error{produced, attested} {
		if e != nil {
			req.Errors = append(req.Errors, e)
		}
	}
	return req
}

// imageProduced finds the image's manifest digest among the products of
// the chain's steps (for example the manifest blob of an OCI layout a
// step wrote, out/blobs/sha256/HEX). Every step's link was accepted and
// its rules applied, so any step's product is vouched for; the last step
// is often a test or sign-off with no products of its own.
func imageProduced(t *image.Target, res *verifier.Result) error {
	alg, hex := t.Descriptor.Digest.Algorithm, t.Descriptor.Digest.Hex
	var names []string
	for _, s := range res.Steps {
		if s.Link == nil {
			continue
		}
		for n, ds := range s.Link.Products {
			if ds[alg] == hex {
				return nil
			}
			names = append(names, s.Name+":"+n)
		}
	}
	sort.Strings(names)
	if len(names) > 5 {
		names = append(names[:5], "…")
	}
	return fmt.Errorf("%w: no product of a step has digest %s (products: %s)", ErrNotProduced, t.Digest(), strings.Join(names, ", "))
}
