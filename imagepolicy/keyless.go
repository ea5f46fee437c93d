package imagepolicy

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/internal/boundedio"
	"github.com/toto-dev/toto/keys"
)

// maxTrustedRoot bounds a trusted_root.json read (as the CLI's metadata).
const maxTrustedRoot = 16 << 20

// Keyless are the Sigstore options of a requirement beyond its keys, each
// the image.VerifyOptions field `toto image verify` sets from the flag of
// the same name: a Fulcio certificate identity and issuer (exact, or a
// regular expression matching the whole value) under TrustedRoot, and a
// transparency-log entry or RFC 3161 timestamp verified against a log or
// authority of TrustedRoot.
type Keyless struct {
	// TrustedRoot is a Sigstore trusted_root.json (--trusted-root).
	TrustedRoot string `yaml:"trustedRoot"`
	// Identity, IdentityRegexp (--identity, --identity-regexp) and
	// Issuer, IssuerRegexp (--issuer, --issuer-regexp) admit keyless
	// bundles whose certificate names them.
	Identity       string `yaml:"identity"`
	IdentityRegexp string `yaml:"identityRegexp"`
	Issuer         string `yaml:"issuer"`
	IssuerRegexp   string `yaml:"issuerRegexp"`
	// RequireTlog and RequireTimestamp (--require-tlog,
	// --require-timestamp) need TrustedRoot.
	RequireTlog      bool `yaml:"requireTlog"`
	RequireTimestamp bool `yaml:"requireTimestamp"`
}

func (k *Keyless) identity() bool {
	return k.Identity != "" || k.IdentityRegexp != "" || k.Issuer != "" || k.IssuerRegexp != ""
}

// check refuses what the flags refuse: an identity or a log or timestamp
// requirement without a trusted root, an identity without an issuer (or
// the other way round), both an exact value and a regular expression.
func (k *Keyless) check(at string, keys int) error {
	switch {
	case keys == 0 && !k.identity():
		return fieldErrorf(at, "no keys and no keyless identity")
	case (k.identity() || k.RequireTlog || k.RequireTimestamp) && k.TrustedRoot == "":
		return fieldErrorf(at, "identity, issuer, requireTlog and requireTimestamp need trustedRoot")
	case k.Identity != "" && k.IdentityRegexp != "", k.Issuer != "" && k.IssuerRegexp != "":
		return fieldErrorf(at, "give identity or identityRegexp, issuer or issuerRegexp, not both")
	case k.identity() && (k.Identity == "" && k.IdentityRegexp == "" || k.Issuer == "" && k.IssuerRegexp == ""):
		return fieldErrorf(at, "a keyless identity needs both an identity and an issuer")
	}
	return nil
}

// verifyOptions maps keys and keyless options onto image.VerifyOptions as
// `toto image verify` maps its flags, the trust material read once.
func (p *Policy) verifyOptions(ctx context.Context, keyFiles []string, k Keyless) (image.VerifyOptions, error) {
	ks, err := p.loadKeys(ctx, keyFiles)
	if err != nil {
		return image.VerifyOptions{}, err
	}
	opts := image.VerifyOptions{
		Keys:     ks,
		Identity: k.Identity, IdentityRegexp: k.IdentityRegexp,
		Issuer: k.Issuer, IssuerRegexp: k.IssuerRegexp,
		RequireTlog: k.RequireTlog, RequireTimestamp: k.RequireTimestamp,
	}
	if k.TrustedRoot != "" {
		if opts.TrustedRoot, err = p.material(ctx, k.TrustedRoot, maxTrustedRoot); err != nil {
			return image.VerifyOptions{}, err
		}
		if err := p.checkTrustedRoot(opts.TrustedRoot); err != nil {
			return image.VerifyOptions{}, fmt.Errorf("trustedRoot %s: %w", k.TrustedRoot, err)
		}
	}
	if err := opts.Check(); err != nil {
		return image.VerifyOptions{}, err
	}
	if len(opts.Keys) == 0 && opts.TrustedRoot == nil {
		return image.VerifyOptions{}, errors.New("no trusted keys or trusted root")
	}
	return opts, nil
}

// trustFiles holds the trust material of a policy: files, each read once
// (a policy is evaluated for many images), keys by content, and the state
// of its TUF repository (trustsource.go).
type trustFiles struct {
	mu    sync.Mutex
	files map[string][]byte
	keys  map[[32]byte]*keys.Key
	// roots are the trusted roots that parsed, by content.
	roots map[[32]byte]bool
	// tufMu serialises the TUF repository's use: go-tuf's updater
	// writes the cache folder.
	tufMu sync.Mutex
	tuf   *tufState
}

// readOnce reads a file of the policy once, bounded.
func (p *Policy) readOnce(name string, max int64) ([]byte, error) {
	p.trust.mu.Lock()
	defer p.trust.mu.Unlock()
	if b, ok := p.trust.files[name]; ok {
		return b, nil
	}
	b, err := boundedio.ReadFile(p.file(name), max)
	if err != nil {
		return nil, err
	}
	if p.trust.files == nil {
		p.trust.files = map[string][]byte{}
	}
	p.trust.files[name] = b
	return b, nil
}

// checkTrustedRoot parses a trusted root once per content: one that does
// not parse is the policy's error, where image.Verify would only find
// that no entry verifies.
func (p *Policy) checkTrustedRoot(data []byte) error {
	sum := sha256.Sum256(data)
	p.trust.mu.Lock()
	ok := p.trust.roots[sum]
	p.trust.mu.Unlock()
	if ok {
		return nil
	}
	if _, err := root.NewTrustedRootFromJSON(data); err != nil {
		return err
	}
	p.trust.mu.Lock()
	if p.trust.roots == nil {
		p.trust.roots = map[[32]byte]bool{}
	}
	p.trust.roots[sum] = true
	p.trust.mu.Unlock()
	return nil
}
