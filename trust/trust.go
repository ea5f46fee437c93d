// Package trust holds trust roots: what a verifier trusts, kept apart from
// policy (what must hold: a layout, an image policy) and from evidence
// (what was found: links, attestations, signatures).
//
// A Root gathers every kind of trust material toto's verifiers take:
// layout owners' keys, keys trusted to sign artifacts directly, and a
// Sigstore trusted root; from TUF also notation configurations (trust
// policy and trust store) and OpenPGP keyrings for simple signing. A Root comes from a Source: Files reads
// local files, TUF from a TUF repository (docs/trust.md).
package trust

import (
	"context"
	"errors"
	"fmt"

	"github.com/toto-dev/toto/internal/boundedio"
	"github.com/toto-dev/toto/keys"
)

// Root is what a verifier trusts.
type Root struct {
	// LayoutOwners are the public keys every one of which must have signed
	// a root layout.
	LayoutOwners []*keys.Key
	// Keys are public keys trusted to sign artifacts and attestations
	// directly (toto image verify --key).
	Keys []*keys.Key
	// SigstoreTrustedRoot is a Sigstore trusted_root.json (Fulcio CAs,
	// Rekor logs, timestamp authorities, CT logs), as read.
	SigstoreTrustedRoot []byte
	// Layout is a signed root layout delivered with the trust material
	// (a TUF target), as read; nil when the layout comes from elsewhere.
	// It is policy, not trust: verify it with layout.Verify against
	// LayoutOwners like any other layout. LayoutTarget names it.
	Layout       []byte
	LayoutTarget string
	// Notation are notation configurations (trust policy and trust
	// store) by set name, from TUF targets under TargetNotationDir.
	Notation map[string]*NotationConfig
	// Keyrings are OpenPGP public keyrings by name, as read, from TUF
	// targets under TargetKeyringsDir.
	Keyrings map[string][]byte
	// DCTRoots are Docker Content Trust root certificates (PEM) by GUN,
	// from TUF targets DCTRootTarget(GUN).
	DCTRoots map[string][]byte
	// TUF describes the TUF metadata the Root came from; nil for Files.
	TUF *RootInfo
}

// Source delivers a Root.
type Source interface {
	Root(ctx context.Context) (*Root, error)
}

// Files is a Source reading trust material from local files.
type Files struct {
	// LayoutOwners and Keys are public key files (PEM or securesystemslib
	// JSON); a private key file is accepted and only its public part kept.
	LayoutOwners []string
	Keys         []string
	// SigstoreTrustedRoot is a trusted_root.json file, or "".
	SigstoreTrustedRoot string
}

// maxTrustedRootSize bounds a trusted_root.json read.
const maxTrustedRootSize = 16 << 20

// Root reads every file; errors name the file.
func (f Files) Root(ctx context.Context) (*Root, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := &Root{}
	var err error
	if r.LayoutOwners, err = loadPublic(f.LayoutOwners); err != nil {
		return nil, err
	}
	if r.Keys, err = loadPublic(f.Keys); err != nil {
		return nil, err
	}
	if f.SigstoreTrustedRoot != "" {
		b, err := boundedio.ReadFile(f.SigstoreTrustedRoot, maxTrustedRootSize)
		if errors.Is(err, boundedio.ErrTooLarge) {
			return nil, fmt.Errorf("trusted root %s: larger than %d bytes", f.SigstoreTrustedRoot, maxTrustedRootSize)
		}
		if err != nil {
			return nil, fmt.Errorf("trusted root: %w", err)
		}
		r.SigstoreTrustedRoot = b
	}
	return r, nil
}

func loadPublic(paths []string) ([]*keys.Key, error) {
	var out []*keys.Key
	for _, p := range paths {
		k, err := keys.Load(p)
		if err != nil {
			return nil, err
		}
		out = append(out, k.Public())
	}
	return out, nil
}
