package imagepolicy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/theupdateframework/notary/tuf/data"
	notaryutils "github.com/theupdateframework/notary/tuf/utils"

	"github.com/toto-dev/toto/dct"
	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/image"
)

// DCT requires a Docker Content Trust (Notary v1) signature of the image's
// tag, for the very digest being verified, checked by package dct.
type DCT struct {
	// Server is the notary server URL; empty reads TrustDir's cached
	// trust data only (offline).
	Server string `yaml:"server"`
	// TrustDir is the notary trust directory: cached metadata and, without
	// RootCert, the roots trusted on first use. Empty: a new temporary
	// directory for each evaluation, so each evaluation trusts the root it
	// is served first, as Portieris does.
	TrustDir string `yaml:"trustDir"`
	// RootCert pins the repository's root (the PEM certificate of its
	// root key).
	RootCert string `yaml:"rootCert"`
	// Signers are delegation roles that must sign the tag with the same
	// digest ("alice" is targets/alice).
	Signers []string `yaml:"signers"`

	// From a Portieris policy: signer Secrets (name: the role, publicKey:
	// the signer's key, which must be one that signed the role), and no
	// trustServer (the registry's known one is used).
	signerSecrets    []secretRef
	serverByRegistry bool
}

func (d *DCT) check(at string) error {
	if d.Server == "" && d.TrustDir == "" && !d.serverByRegistry {
		return fieldErrorf(at, "server (or, offline, trustDir) is required")
	}
	for _, s := range d.Signers {
		if s == "" || strings.ContainsAny(s, " \t") {
			return fieldErrorf(at, "signer %q is not a role name", s)
		}
	}
	return nil
}

// dctFailure is the result of a DCT lookup that ended without trust data
// to judge: the policy's own error for an unusable requirement (bad
// options, an expired pinned root), the context's error when the review's
// deadline ended it, else a violated requirement (no trust data, no such
// tag, the server unreachable).
func dctFailure(ctx context.Context, reqName string, action decision.Action, err error) (decision.Requirement, error) {
	if errors.Is(err, dct.ErrUsage) || errors.Is(err, dct.ErrRootCert) {
		return decision.Requirement{}, fmt.Errorf("%w: %s: %w", ErrPolicy, reqName, err)
	}
	if ctx.Err() != nil {
		return decision.Requirement{}, ctx.Err()
	}
	return decision.Check(reqName, action, err), nil
}

// signerKey is a signer a Portieris secret names: its role and the key ID
// notary gives its public key.
type signerKey struct {
	role, keyID, secret string
}

func (p *Policy) dct(ctx context.Context, t *image.Target, reqName string, action decision.Action, d *DCT) (decision.Requirement, error) {
	opts := dct.Options{Server: d.Server, TrustDir: d.TrustDir, Signers: d.Signers, SkipRegistry: true,
		Transport: ctxTransport{ctx: ctx, rt: http.DefaultTransport}}
	if d.RootCert != "" {
		b, err := p.material(ctx, d.RootCert, maxTrustFile)
		if err != nil {
			return decision.Requirement{}, fmt.Errorf("%w: %s: rootCert: %v", ErrPolicy, reqName, err)
		}
		opts.RootCert = b
	}
	var keys []signerKey
	for _, ref := range d.signerSecrets {
		role, err := p.secret(ctx, ref, "name")
		if err != nil {
			return decision.Requirement{}, fmt.Errorf("%w: %s: signerSecrets: %w", ErrPolicy, reqName, err)
		}
		pub, err := p.secret(ctx, ref, "publicKey")
		if err != nil {
			return decision.Requirement{}, fmt.Errorf("%w: %s: signerSecrets: %w", ErrPolicy, reqName, err)
		}
		k, err := notaryutils.ParsePEMPublicKey(pub)
		if err != nil {
			return decision.Requirement{}, fmt.Errorf("%w: %s: signer secret %s: publicKey: %v", ErrPolicy, reqName, ref.name, err)
		}
		id, err := notaryutils.CanonicalKeyID(k)
		if err != nil {
			return decision.Requirement{}, fmt.Errorf("%w: %s: signer secret %s: publicKey: %v", ErrPolicy, reqName, ref.name, err)
		}
		r := strings.TrimSpace(string(role))
		opts.Signers = append(opts.Signers, r)
		keys = append(keys, signerKey{role: dct.SignerRole(r), keyID: id, secret: ref.name})
	}
	if strings.HasPrefix(t.Reference, image.LayoutPrefix) {
		return decision.Check(reqName, action, errors.New("Docker Content Trust signs registry tags: an OCI layout has none")), nil
	}
	repo, err := name.NewRepository(t.Reference)
	if err != nil {
		return decision.Check(reqName, action, err), nil
	}
	if d.serverByRegistry {
		host := repo.RegistryStr()
		if opts.Server, err = portierisTrustServer(host); err != nil {
			return decision.Check(reqName, action, err), nil
		}
	}
	if opts.TrustDir == "" {
		dir, err := os.MkdirTemp("", "toto-dct-")
		if err != nil {
			return decision.Requirement{}, err
		}
		defer os.RemoveAll(dir)
		opts.TrustDir = dir
	} else {
		opts.TrustDir = p.file(opts.TrustDir)
	}
	tag := t.Tag
	if tag == "" {
		// Named by digest (as admission sees pods after mutation): the
		// digest must be what some tag is signed as.
		if tag, err = signedTagFor(ctx, t, opts); err != nil {
			return dctFailure(ctx, reqName, action, err)
		}
	}
	ref := t.Reference + ":" + tag
	res, verr := dct.Verify(ctx, ref, opts)
	if res == nil || errors.Is(verr, dct.ErrUsage) {
		return dctFailure(ctx, reqName, action, verr)
	}
	dd := dct.Decision(ref, res, verr)
	kids := dd.Requirements
	// The registry was read once, by image.Open: the trust data must sign
	// exactly that digest, which is what every other requirement checked.
	if res.Digest != "" && res.Digest != t.Digest() {
		kids = append(kids, decision.Check("Docker Content Trust digest of "+ref, decision.Enforce,
			fmt.Errorf("%w: %s resolves to %s in the registry, the trust data (%s) signs %s", dct.ErrDigestMismatch, ref, t.Digest(), res.Role, res.Digest)))
	}
	var delegationKeys map[string]data.PublicKey
	if len(keys) > 0 {
		delegationKeys = signingKeys(opts.TrustDir, res.GUN)
	}
	for _, k := range keys {
		var err error
		i := slices.IndexFunc(res.Signatures, func(s dct.Signature) bool { return s.Role == k.role })
		switch {
		case i < 0:
			err = fmt.Errorf("%w: %s did not sign %s", dct.ErrSigner, k.role, ref)
		case !signedBy(res.Signatures[i].KeyIDs, delegationKeys, k.keyID):
			err = fmt.Errorf("%w: %s is signed by keys %s, not by the key of signer secret %s (%s)", dct.ErrSigner, k.role, strings.Join(res.Signatures[i].KeyIDs, ", "), k.secret, k.keyID)
		}
		kids = append(kids, decision.Check("Docker Content Trust signer key of "+k.secret, decision.Enforce, err))
	}
	// Every part is enforced within this requirement; its own action
	// (enforce, warn, audit) applies to the whole.
	return decision.All(reqName, action, kids...), nil
}

// maxDigestTags bounds the tags searched for an image named by digest.
const maxDigestTags = 1000

// signedTagFor finds a tag the trust data signs (in targets/releases or
// targets) as t's digest. The trust data is fetched once; each tag is then
// looked up in the trust directory's verified cache, offline.
func signedTagFor(ctx context.Context, t *image.Target, opts dct.Options) (string, error) {
	tags, err := dct.Tags(t.Reference, opts)
	if err != nil {
		return "", err
	}
	if len(tags) > maxDigestTags {
		return "", fmt.Errorf("%w: %s is named by digest and its trust data signs %d tags, more than the %d searched for it", dct.ErrNotSigned, t, len(tags), maxDigestTags)
	}
	repo, err := name.NewRepository(t.Reference)
	if err != nil {
		return "", err
	}
	offline := opts
	offline.Server, offline.Signers, offline.Transport = "", nil, nil
	for _, tag := range tags {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		res, err := dct.Lookup(dct.GUN(repo), tag, offline)
		if err == nil && res.Digest == t.Digest() {
			return tag, nil
		}
	}
	return "", fmt.Errorf("%w: %s is named by digest, and no tag of its trust data (%d tags in targets/releases or targets) is signed as that digest", dct.ErrNotSigned, t, len(tags))
}

// signingKeys are the delegation keys of gun's verified trust data (cached
// in trustDir by the verification just done), by key ID.
func signingKeys(trustDir, gun string) map[string]data.PublicKey {
	md, err := dct.ReadMetadataDir(dct.MetadataDir(trustDir, gun))
	if err != nil {
		return nil
	}
	out := map[string]data.PublicKey{}
	for _, m := range md {
		if m.Targets == nil {
			continue
		}
		for id, k := range m.Targets.Signed.Delegations.Keys {
			out[id] = k
		}
	}
	return out
}

// signedBy reports whether one of ids (the keys whose signatures over a
// role verified) is the key whose canonical ID is want: the ID of the bare
// public key, as docker trust names signer keys, whether the delegation
// holds the key or a certificate of it.
func signedBy(ids []string, delegationKeys map[string]data.PublicKey, want string) bool {
	for _, id := range ids {
		if id == want {
			return true
		}
		if k, ok := delegationKeys[id]; ok {
			if c, err := notaryutils.CanonicalKeyID(k); err == nil && c == want {
				return true
			}
		}
	}
	return false
}

// ctxTransport carries an evaluation's context (its deadline) into the
// notary client's requests, which take none.
type ctxTransport struct {
	ctx context.Context
	rt  http.RoundTripper
}

func (c ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return c.rt.RoundTrip(req.WithContext(c.ctx))
}
