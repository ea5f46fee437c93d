package imagepolicy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/toto-dev/toto/containerspolicy"
	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/lookaside"
)

// SimpleSigning requires a Red Hat simple signing signature (as skopeo,
// podman and toto image sign --format simple-signing write them) by one
// of Keys, for an identity SignedIdentity accepts: containers-policy.json's
// signedBy, evaluated by package containerspolicy over the signatures
// read from lookaside storage (package lookaside).
type SimpleSigning struct {
	// Keys are OpenPGP public keys or keyrings (armored or binary, as gpg
	// --export writes them); a signature by any of them counts.
	Keys []string `yaml:"keys"`
	// SignedIdentity is containers-policy.json's signedIdentity
	// (default matchRepoDigestOrExact).
	SignedIdentity *SignedIdentity `yaml:"signedIdentity"`
	// Lookaside is the signature storage base: a directory, a file:// or
	// http(s):// URL; the repository path is appended, as registries.d
	// does. RegistriesD instead reads a registries.d directory. Neither:
	// containers/image's built-in lookaside directory.
	Lookaside   string `yaml:"lookaside"`
	RegistriesD string `yaml:"registriesD"`

	// From a Portieris policy: keys in Secrets (their "key"), and the
	// basic authentication of the storage (storeSecret's username and
	// password).
	keySecrets  []secretRef
	storeSecret *secretRef
	// identity is signedIdentity as containers-policy.json writes it
	// (nil: the default), checked by check.
	identity *SignedIdentity
}

// SignedIdentity is containers-policy.json's signedIdentity. Portieris's
// spellings matchExactReference and matchExactRepository are read as
// exactReference and exactRepository.
type SignedIdentity struct {
	Type             string `yaml:"type" json:"type"`
	DockerReference  string `yaml:"dockerReference" json:"dockerReference,omitempty"`
	DockerRepository string `yaml:"dockerRepository" json:"dockerRepository,omitempty"`
	Prefix           string `yaml:"prefix" json:"prefix,omitempty"`
	SignedPrefix     string `yaml:"signedPrefix" json:"signedPrefix,omitempty"`
}

// check validates the requirement by building it as a containers-policy
// signedBy and parsing that with containerspolicy (its rules for
// identities and remap prefixes).
func (s *SimpleSigning) check(at string) error {
	n := len(s.Keys) + len(s.keySecrets)
	if n == 0 {
		return fieldErrorf(at, "no keys")
	}
	if s.Lookaside != "" && s.RegistriesD != "" {
		return fieldErrorf(at, "lookaside and registriesD: give one")
	}
	if id := s.SignedIdentity; id != nil {
		c := *id
		switch c.Type {
		case "":
			c.Type = "matchRepoDigestOrExact"
		case "matchExactReference":
			c.Type = "exactReference"
		case "matchExactRepository":
			c.Type = "exactRepository"
		}
		s.identity = &c
	}
	// Checked as containers-policy.json's own parser checks it.
	if _, err := s.containersPolicy("signedBy", s.keyLabels()); err != nil {
		return fieldErrorf(at, "%v", err)
	}
	return nil
}

// containersPolicy is the requirement as a containers-policy.json whose
// only requirement is typ (signedBy for OpenPGP keys, sigstoreSigned for
// PEM keys and cosign's signatures), over the keys named labels (read
// through LoadKeys's read func).
func (s *SimpleSigning) containersPolicy(typ string, labels []string) (*containerspolicy.Policy, error) {
	req := map[string]any{"type": typ, "keyPaths": labels}
	if typ == "signedBy" {
		req["keyType"] = containerspolicy.KeyTypeGPGKeys
	}
	if s.identity != nil {
		req["signedIdentity"] = s.identity
	}
	raw, err := json.Marshal(map[string]any{"default": []any{req}})
	if err != nil {
		return nil, err
	}
	return containerspolicy.Parse(raw)
}

// keyLabels name the keys in messages: the file as written, or
// "keySecret NAME"; made unique with their index where they repeat.
func (s *SimpleSigning) keyLabels() []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range s.Keys {
		out = append(out, k)
	}
	for _, r := range s.keySecrets {
		out = append(out, "keySecret "+r.name)
	}
	for i, l := range out {
		if seen[l] {
			out[i] = fmt.Sprintf("%s (%d)", l, i)
		}
		seen[out[i]] = true
	}
	return out
}

// secretNamespace is where a Portieris policy's secret is read.
func (p *Policy) secretNamespace(ctx context.Context, ref secretRef) string {
	if ref.namespace != "" {
		return ref.namespace
	}
	if p.k8s != nil && p.k8s.namespace != "" {
		return p.k8s.namespace
	}
	return scopeFrom(ctx).namespace
}

// secret reads key of a secret a Portieris policy names.
func (p *Policy) secret(ctx context.Context, ref secretRef, key string) ([]byte, error) {
	return scopeFrom(ctx).secrets.get(p.secretNamespace(ctx, ref), ref.name, key)
}

func (p *Policy) simpleSigning(ctx context.Context, t *image.Target, name string, action decision.Action, s *SimpleSigning) (decision.Requirement, error) {
	var rings [][]byte
	for _, f := range s.Keys {
		b, err := p.material(ctx, f, maxTrustFile)
		if err != nil {
			return decision.Requirement{}, fmt.Errorf("%w: %s: %v", ErrPolicy, name, err)
		}
		rings = append(rings, b)
	}
	for _, ref := range s.keySecrets {
		b, err := p.secret(ctx, ref, "key")
		if err != nil {
			return decision.Requirement{}, fmt.Errorf("%w: %s: keySecret: %w", ErrPolicy, name, err)
		}
		rings = append(rings, b)
	}
	if strings.HasPrefix(t.Reference, image.LayoutPrefix) {
		return decision.Check(name, action, errors.New("simple signing signatures are stored by registry repository: an OCI layout has none")), nil
	}
	named, err := reference.ParseNormalizedNamed(t.Reference)
	if err != nil {
		return decision.Check(name, action, fmt.Errorf("simple signing needs a registry image: %w", err)), nil
	}
	identity := named.String() + "@" + t.Digest()
	if t.Tag != "" {
		identity = named.String() + ":" + t.Tag
	}
	img, err := containerspolicy.DockerImage(identity)
	if err != nil {
		return decision.Check(name, action, err), nil
	}
	// OpenPGP keys judge the simple signing signatures of the lookaside
	// (or the registry's extension); PEM keys, cosign's .sig signatures
	// (containers-policy.json's sigstoreSigned).
	labels := s.keyLabels()
	var gpgLabels, pemLabels []string
	for i, b := range rings {
		if isOpenPGP(b) {
			gpgLabels = append(gpgLabels, labels[i])
		} else {
			pemLabels = append(pemLabels, labels[i])
		}
	}
	read := func(path string) ([]byte, error) {
		for i, l := range labels {
			if l == path {
				return rings[i], nil
			}
		}
		return nil, fmt.Errorf("no key %s", path)
	}
	var all containerspolicy.Signatures
	var errs, where []error
	if len(gpgLabels) > 0 {
		sigs, from, err := p.simpleSignatures(ctx, t, named, s)
		if err != nil {
			return decision.Requirement{}, fmt.Errorf("%w: %s: %w", ErrPolicy, name, err)
		}
		if sigs == nil && from != "" {
			return decision.Check(name, action, fmt.Errorf("read signatures from %s", from)), nil
		}
		all.Simple = sigs
		where = append(where, fmt.Errorf("%d signatures read from %s", len(sigs), from))
	}
	if len(pemLabels) > 0 {
		cs, err := t.CosignSignatures(ctx)
		if err != nil {
			return decision.Check(name, action, fmt.Errorf("read cosign signatures: %w", err)), nil
		}
		for _, c := range cs {
			all.Sigstore = append(all.Sigstore, containerspolicy.SigstoreSignature{Payload: c.Payload, Signature: c.Signature})
		}
		where = append(where, fmt.Errorf("%d cosign signatures read from the %s tag", len(cs), image.CosignTag(t.Descriptor.Digest, image.SuffixSignatures)))
	}
	// Keys of either kind: a signature by any of them counts.
	for _, k := range []struct {
		typ    string
		labels []string
	}{{"signedBy", gpgLabels}, {"sigstoreSigned", pemLabels}} {
		if len(k.labels) == 0 {
			continue
		}
		cp, err := s.containersPolicy(k.typ, k.labels)
		if err != nil {
			return decision.Requirement{}, fmt.Errorf("%w: %s: %v", ErrPolicy, name, err)
		}
		res := containerspolicy.EvaluateSignatures(cp, cp.LoadKeys(read), img, t.Digest(), all, containerspolicy.Options{})
		if res.Allowed {
			return decision.Check(name, action), nil
		}
		for _, rr := range res.Requirements {
			if !rr.Satisfied && rr.Err != nil {
				errs = append(errs, rr.Err)
			}
		}
	}
	if len(errs) == 0 {
		errs = append(errs, containerspolicy.ErrNoSignature)
	}
	// Say where signatures were looked for: an empty or wrong store is
	// the usual cause.
	return decision.Check(name, action, append(errs, where...)...), nil
}

// isOpenPGP tells an OpenPGP key (armored, or a binary packet, whose tag
// byte has its high bit set) from a PEM public key.
func isOpenPGP(b []byte) bool {
	t := bytes.TrimSpace(b)
	return bytes.HasPrefix(t, []byte("-----BEGIN PGP")) || (len(t) > 0 && t[0]&0x80 != 0)
}

// simpleSignatures reads t's simple signing signatures: from the
// configured lookaside (or registries.d), else from the registry's
// signature extension when it has one (as containers/image, and so
// Portieris, prefers it), else containers/image's built-in lookaside. A
// store that cannot be read is nil signatures and where it was; an
// unusable configuration is the error.
func (p *Policy) simpleSignatures(ctx context.Context, t *image.Target, named reference.Named, s *SimpleSigning) ([][]byte, string, error) {
	if s.Lookaside == "" && s.RegistriesD == "" {
		sigs, from, err := extensionSignatures(ctx, t)
		if err != nil {
			return nil, fmt.Sprintf("the registry (%v)", err), nil
		}
		if from != "" {
			return sigs, from, nil
		}
	}
	base, err := p.lookasideBase(s, named)
	if err != nil {
		return nil, "", err
	}
	client := http.DefaultClient
	if s.storeSecret != nil {
		user, err := p.secret(ctx, *s.storeSecret, "username")
		if err != nil {
			return nil, "", fmt.Errorf("storeSecret: %w", err)
		}
		pass, err := p.secret(ctx, *s.storeSecret, "password")
		if err != nil {
			return nil, "", fmt.Errorf("storeSecret: %w", err)
		}
		client = &http.Client{Transport: basicAuth{user: string(user), pass: string(pass), host: base.Host, rt: http.DefaultTransport}}
	}
	sigs, err := lookaside.Read(ctx, base, t.Digest(), lookaside.ReadOptions{Client: client})
	if err != nil {
		return nil, fmt.Sprintf("%s (%v)", base.Redacted(), err), nil
	}
	if sigs == nil {
		sigs = [][]byte{}
	}
	return sigs, base.Redacted(), nil
}

// lookasideBase is where named's signatures are read.
func (p *Policy) lookasideBase(s *SimpleSigning, named reference.Named) (*url.URL, error) {
	switch {
	case s.Lookaside != "":
		if strings.Contains(s.Lookaside, "://") {
			u, err := url.Parse(s.Lookaside)
			if err != nil {
				return nil, fmt.Errorf("lookaside %q: %w", s.Lookaside, err)
			}
			return lookaside.RepositoryURL(u, named)
		}
		abs, err := filepath.Abs(p.file(s.Lookaside))
		if err != nil {
			return nil, err
		}
		return lookaside.RepositoryURL(&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}, named)
	case s.RegistriesD != "":
		c, err := lookaside.LoadDir(p.file(s.RegistriesD))
		if err != nil {
			return nil, err
		}
		return c.RepositoryBase(named, false)
	}
	return (&lookaside.Config{}).RepositoryBase(named, false)
}

// extensionSignatures reads t's signatures through its registry's
// signature extension, authenticated as image reads are (anonymously,
// with the registry's token flow). from is where they were read, or ""
// when the registry has no extension (sigs nil: read the lookaside).
func extensionSignatures(ctx context.Context, t *image.Target) ([][]byte, string, error) {
	repo, err := name.NewRepository(t.Reference)
	if err != nil {
		return nil, "", err
	}
	reg := &url.URL{Scheme: repo.Registry.Scheme(), Host: repo.RegistryStr()}
	ok, err := lookaside.SupportsExtension(ctx, http.DefaultClient, reg)
	if err != nil || !ok {
		return nil, "", err
	}
	rt, err := transport.NewWithContext(ctx, repo.Registry, authn.Anonymous, http.DefaultTransport, []string{repo.Scope(transport.PullScope)})
	if err != nil {
		return nil, "", fmt.Errorf("registry %s: %w", reg.Host, err)
	}
	sigs, err := lookaside.ReadExtension(ctx, &http.Client{Transport: rt}, reg, repo.RepositoryStr(), t.Digest())
	if err != nil {
		return nil, "", err
	}
	if sigs == nil {
		sigs = [][]byte{}
	}
	return sigs, "the signature extension of " + reg.Host, nil
}

// basicAuth adds a Portieris storeSecret's credentials to requests to the
// signature store's host only.
type basicAuth struct {
	user, pass, host string
	rt               http.RoundTripper
}

func (b basicAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == b.host {
		req = req.Clone(req.Context())
		req.SetBasicAuth(b.user, b.pass)
	}
	return b.rt.RoundTrip(req)
}
