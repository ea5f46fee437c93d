// Package dct verifies image tags signed with Docker Content Trust (Notary
// v1): the tag is resolved to the manifest digest signed in the
// repository's trust data (targets/releases first, then targets, as
// `docker pull` does), the registry must serve exactly that digest, and the
// roles that signed the tag are reported. Trust data comes from a
// notary-server, or offline from an existing trust directory
// (~/.docker/trust, holding tuf/<gun>/metadata).
//
// The TUF dialect of DCT is read, and its signatures, expiries, root
// certificates, delegations and trust pinning checked, by the notary
// client library (github.com/theupdateframework/notary), the library
// Docker and Portieris use. This package does not print.
package dct

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/theupdateframework/notary"
	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/client/changelist"
	"github.com/theupdateframework/notary/cryptoservice"
	store "github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"

	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/internal/boundedio"
	"github.com/toto-dev/toto/keys"
)

// The roles a docker client takes a tag's digest from, in order.
const (
	ReleasesRole = "targets/releases"
	TargetsRole  = "targets"
)

// Errors. Every error of Verify and Lookup wraps one of them.
var (
	// ErrUsage: the options are unusable (no server and no trust
	// directory, a root certificate that does not parse).
	ErrUsage = errors.New("dct: usage")
	// ErrTrustData: the trust data could not be fetched or did not
	// verify: malformed or oversized metadata, bad signatures, expired
	// metadata or root certificate, a root that does not match the pinned
	// certificate, a rollback.
	ErrTrustData = errors.New("dct: trust data")
	// ErrNotSigned: the trust data has no signed target for the tag (an
	// unsigned tag, a removed target).
	ErrNotSigned = errors.New("dct: tag not signed")
	// ErrOutsidePaths: a delegation lists the tag but is not delegated
	// paths that cover it; its signature does not count.
	ErrOutsidePaths = errors.New("dct: delegation signs outside its paths")
	// ErrSigner: a required signer role did not sign the tag, or signed
	// another digest.
	ErrSigner = errors.New("dct: required signer")
	// ErrDigestMismatch: the registry serves another manifest under the
	// tag than the one signed.
	ErrDigestMismatch = errors.New("dct: registry digest differs from the signed digest")
	// ErrRegistry: the registry could not be read.
	ErrRegistry = errors.New("dct: registry")
	// ErrRootCert: the pinned root certificate is unusable (expired, not
	// yet valid).
	ErrRootCert = errors.New("dct: root certificate")
	// ErrUnauthorized: the notary server (or its token service) refused
	// the credentials given, or asked for credentials and none were
	// given. It comes wrapped in ErrTrustData.
	ErrUnauthorized = errors.New("dct: notary server authentication")
)

// Options say where trust data comes from and what is required of it.
type Options struct {
	// Server is the notary-server URL ("https://notary.docker.io"). Empty
	// means offline: only TrustDir's cached metadata is read.
	Server string
	// TrustDir is the notary trust directory (docker's ~/.docker/trust):
	// metadata is cached under tuf/<gun>/metadata and, without RootCert,
	// the first root seen is trusted for later runs (TOFU). Required.
	TrustDir string
	// RootCert pins the repository's root: the PEM certificate of the
	// root key (`notary key list`, root_keys/…; docker trust signer
	// inspect). Without it the root is trusted on first use.
	RootCert []byte
	// Signers are delegation roles that must sign the tag with the same
	// digest ("alice" means "targets/alice"), as Portieris's signer
	// secrets require.
	Signers []string
	// Credentials answer the notary server's authentication challenge
	// for a private repository (see Credential): a token service's, as
	// docker and the notary client answer it, or HTTP Basic. Called with
	// the notary server's host; nil or an empty Credential: anonymous.
	Credentials func(ctx context.Context, host string) (Credential, error)
	// Transport carries requests to the notary server (nil:
	// http.DefaultTransport).
	Transport http.RoundTripper
	// Image opens the image in its registry (authentication, transport).
	Image image.Options
	// SkipRegistry only reads trust data: Result.RegistryDigest stays
	// empty. For Lookup.
	SkipRegistry bool
	// Now is the time certificates are checked at (zero: time.Now).
	Now time.Time
}

// Signature is one role that signs the tag.
type Signature struct {
	// Role is the role name: "targets", "targets/releases",
	// "targets/alice".
	Role string `json:"role"`
	// Digest is the manifest digest the role signs, "sha256:HEX".
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	// KeyIDs are the keys whose signatures over the role's metadata
	// verified.
	KeyIDs []string `json:"keyids"`
}

// Result is a verified tag.
type Result struct {
	// Image is the fully qualified repository, GUN its trust data's name
	// (docker.io/library/alpine), Tag the tag.
	Image string `json:"image"`
	GUN   string `json:"gun"`
	Tag   string `json:"tag"`
	// Digest is the signed manifest digest, Role the role it was taken
	// from (targets/releases, else targets, else the required signer).
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	Role   string `json:"role"`
	// Signatures are every role signing the tag, sorted by role.
	Signatures []Signature `json:"signatures"`
	// RegistryDigest is what the registry's tag resolves to (fetched and
	// hashed); equal to Digest when the result verified.
	RegistryDigest string `json:"registryDigest,omitempty"`
	// RequiredSigners are the delegation roles that had to sign.
	RequiredSigners []string `json:"requiredSigners,omitempty"`
}

// Ref names the verified image by digest.
func (r *Result) Ref() string { return r.Image + "@" + r.Digest }

// GUN returns the Globally Unique Name of a repository's trust data as
// docker computes it: the fully qualified repository name, with Docker
// Hub as docker.io (docker.io/library/alpine).
func GUN(repo name.Repository) string {
	reg := repo.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	return reg + "/" + repo.RepositoryStr()
}

// SignerRole returns the delegation role a signer name stands for:
// "alice" is "targets/alice"; a name starting with "targets/" is itself.
func SignerRole(s string) string {
	if s == TargetsRole || strings.HasPrefix(s, TargetsRole+"/") {
		return s
	}
	return TargetsRole + "/" + s
}

// Verify verifies that ref (REGISTRY/REPO:TAG) is signed in its trust data
// and that the registry serves the signed digest. On a verification
// failure the error wraps ErrNotSigned, ErrSigner, ErrOutsidePaths,
// ErrDigestMismatch or ErrTrustData, and the Result (when not nil) holds
// what was found.
func Verify(ctx context.Context, ref string, opts Options) (*Result, error) {
	res, _, err := verify(ctx, ref, opts)
	return res, err
}

// verify is Verify, also returning the image opened at the signed digest
// (nil when the registry was not read or the tag did not verify).
func verify(ctx context.Context, ref string, opts Options) (*Result, *image.Target, error) {
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		tag, err = name.NewTag(ref)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %q is not IMAGE:TAG: %v", ErrUsage, ref, err)
		}
	}
	res, err := lookup(tag, opts)
	if err != nil && !errors.Is(err, ErrSigner) {
		return res, nil, err
	}
	signers := err // only ErrSigner: the registry is still checked
	if opts.SkipRegistry {
		return res, nil, signers
	}
	t, err := image.Open(ctx, tag.String(), opts.Image)
	if err != nil {
		return res, nil, fmt.Errorf("%w: %w", ErrRegistry, err)
	}
	res.RegistryDigest = t.Digest()
	if res.RegistryDigest != res.Digest {
		return res, nil, errors.Join(fmt.Errorf("%w: %s resolves to %s in the registry, the trust data (%s) signs %s", ErrDigestMismatch, tag, res.RegistryDigest, res.Role, res.Digest), signers)
	}
	if t.Descriptor.Size != res.Size && res.Size != 0 {
		return res, nil, errors.Join(fmt.Errorf("%w: %s is %d bytes in the registry, %d signed", ErrDigestMismatch, tag, t.Descriptor.Size, res.Size), signers)
	}
	if signers != nil {
		return res, nil, signers
	}
	return res, t, nil
}

// Lookup reads the trust data of gun and returns what it signs for tag,
// without a registry.
func Lookup(gun, tag string, opts Options) (*Result, error) {
	repo, err := name.NewRepository(gun)
	if err != nil {
		return nil, fmt.Errorf("%w: GUN %q: %v", ErrUsage, gun, err)
	}
	t := repo.Tag(tag)
	return lookup(t, opts)
}

func lookup(tag name.Tag, opts Options) (*Result, error) {
	if opts.TrustDir == "" {
		return nil, fmt.Errorf("%w: a trust directory is required", ErrUsage)
	}
	gun := GUN(tag.Context())
	res := &Result{Image: tag.Context().Name(), GUN: gun, Tag: tag.TagStr()}
	for _, s := range opts.Signers {
		res.RequiredSigners = append(res.RequiredSigners, SignerRole(s))
	}
	pin, err := pinning(gun, opts)
	if err != nil {
		return nil, err
	}
	rt, err := transport(gun, opts)
	if err != nil {
		return res, err
	}
	repo, err := openRepository(opts.TrustDir, gun, opts.Server, rt, pin)
	if err != nil {
		return res, err
	}
	all, err := repo.GetAllTargetMetadataByName(res.Tag)
	if err != nil {
		var nst client.ErrNoSuchTarget
		var nrepo client.ErrRepositoryNotExist
		var ninit client.ErrRepoNotInitialized
		switch {
		case errors.As(err, &nst):
			return res, notSigned(opts.TrustDir, gun, res.Tag, err)
		case errors.As(err, &nrepo), errors.As(err, &ninit):
			return res, fmt.Errorf("%w: %s: no trust data for the repository: %v", ErrNotSigned, gun, err)
		}
		if e := expiredRoot(opts.TrustDir, gun, opts.Now); e != nil {
			return res, fmt.Errorf("%w: %s: %w (notary: %v)", ErrTrustData, gun, e, err)
		}
		if e := authError(rt); e != nil {
			return res, fmt.Errorf("%w: %s: %w", ErrTrustData, gun, e)
		}
		return res, fmt.Errorf("%w: %s: %v", ErrTrustData, gun, err)
	}
	bySigner := map[string]Signature{}
	for _, s := range all {
		sig := Signature{Role: s.Role.Name.String(), Size: s.Target.Length}
		if h, ok := s.Target.Hashes[notary.SHA256]; ok {
			sig.Digest = "sha256:" + hex.EncodeToString(h)
		}
		for _, x := range s.Signatures {
			sig.KeyIDs = append(sig.KeyIDs, x.KeyID)
		}
		sort.Strings(sig.KeyIDs)
		res.Signatures = append(res.Signatures, sig)
		bySigner[sig.Role] = sig
	}
	sort.Slice(res.Signatures, func(i, j int) bool { return res.Signatures[i].Role < res.Signatures[j].Role })
	pick := []string{ReleasesRole, TargetsRole}
	pick = append(pick, res.RequiredSigners...)
	for _, r := range pick {
		if s, ok := bySigner[r]; ok && s.Digest != "" {
			res.Digest, res.Size, res.Role = s.Digest, s.Size, r
			break
		}
	}
	if res.Digest == "" {
		var roles []string
		for _, s := range res.Signatures {
			roles = append(roles, s.Role)
		}
		return res, fmt.Errorf("%w: %s:%s has no sha256 digest signed by %s or %s (signed by: %s)", ErrNotSigned, gun, res.Tag, ReleasesRole, TargetsRole, strings.Join(roles, ", "))
	}
	var errs []error
	for _, r := range res.RequiredSigners {
		s, ok := bySigner[r]
		switch {
		case !ok:
			errs = append(errs, &signerError{role: r, err: fmt.Errorf("%w: %s did not sign %s:%s", ErrSigner, r, gun, res.Tag)})
		case s.Digest != res.Digest:
			errs = append(errs, &signerError{role: r, err: fmt.Errorf("%w: %s signs %s:%s as %s, %s as %s", ErrSigner, r, gun, res.Tag, s.Digest, res.Role, res.Digest)})
		}
	}
	return res, errors.Join(errs...)
}

// RootCertID returns the ID notary pins a root by for a PEM certificate
// (or chain, leaf first), after checking it is valid at now (zero:
// time.Now).
func RootCertID(pemBytes []byte, now time.Time) (string, error) {
	certs, _, err := keys.CertificatesFromPEM(pemBytes, true)
	if err != nil {
		return "", fmt.Errorf("%w: root certificate: %v", ErrUsage, err)
	}
	if len(certs) == 0 {
		return "", fmt.Errorf("%w: root certificate: no PEM CERTIFICATE block", ErrUsage)
	}
	if now.IsZero() {
		now = time.Now()
	}
	for _, c := range certs {
		if now.After(c.NotAfter) {
			return "", fmt.Errorf("%w: %q expired on %s", ErrRootCert, c.Subject.CommonName, c.NotAfter.UTC().Format(time.RFC3339))
		}
		if now.Before(c.NotBefore) {
			return "", fmt.Errorf("%w: %q is not valid before %s", ErrRootCert, c.Subject.CommonName, c.NotBefore.UTC().Format(time.RFC3339))
		}
	}
	var k data.PublicKey
	if len(certs) == 1 {
		k = utils.CertToKey(certs[0])
	} else {
		k, err = utils.CertBundleToKey(certs[0], certs[1:])
		if err != nil {
			return "", fmt.Errorf("%w: root certificate chain: %v", ErrUsage, err)
		}
	}
	return k.ID(), nil
}

// expiredRoot says which certificate of the cached root role expired, when
// every one has: notary's own error does not say.
func expiredRoot(trustDir, gun string, now time.Time) error {
	raw, err := boundedio.ReadFile(filepath.Join(MetadataDir(trustDir, gun), "root.json"), MaxMetadataSize)
	if err != nil {
		return nil
	}
	m, err := ParseMetadata("root", raw)
	if err != nil {
		return nil
	}
	if now.IsZero() {
		now = time.Now()
	}
	role, ok := m.Root.Signed.Roles[data.CanonicalRootRole]
	if !ok || len(role.KeyIDs) == 0 {
		return nil
	}
	var last error
	for _, id := range role.KeyIDs {
		k, ok := m.Root.Signed.Keys[id]
		if !ok {
			return nil
		}
		c, err := utils.LoadCertFromPEM(k.Public())
		if err != nil || !now.After(c.NotAfter) {
			return nil
		}
		last = fmt.Errorf("%w: %q (key %s) expired on %s", ErrRootCert, c.Subject.CommonName, id, c.NotAfter.UTC().Format(time.RFC3339))
	}
	return last
}

// MetadataDir is where a trust directory keeps gun's metadata.
func MetadataDir(trustDir, gun string) string {
	return filepath.Join(trustDir, "tuf", filepath.FromSlash(gun), "metadata")
}

// pinning is the trust pinning of gun: the root certificate when given
// (and no TOFU), else trust on first use.
func pinning(gun string, opts Options) (trustpinning.TrustPinConfig, error) {
	pin := trustpinning.TrustPinConfig{}
	if len(opts.RootCert) > 0 {
		id, err := RootCertID(opts.RootCert, opts.Now)
		if err != nil {
			return pin, err
		}
		pin.Certs = map[string][]string{gun: {id}}
		pin.DisableTOFU = true
	}
	return pin, nil
}

// transport is the round tripper to the notary server, bounded; nil when
// offline, after checking the cached files notary will read.
func transport(gun string, opts Options) (http.RoundTripper, error) {
	if opts.Server == "" {
		return nil, CheckMetadataDir(MetadataDir(opts.TrustDir, gun))
	}
	rt := opts.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	return limitTransport{&tokenTransport{rt: rt, creds: opts.Credentials}}, nil
}

// openRepository opens gun's trust data read-only: metadata cached in
// trustDir, fetched from server when rt is not nil, no private keys and an
// empty changelist (unpublished local changes are not trust data).
func openRepository(trustDir, gun, server string, rt http.RoundTripper, pin trustpinning.TrustPinConfig) (client.Repository, error) {
	cache, err := store.NewFileStore(MetadataDir(trustDir, gun), "json")
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrTrustData, gun, err)
	}
	var remote store.RemoteStore = store.OfflineStore{}
	if rt != nil {
		u, err := url.Parse(server)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: notary server %q is not an http(s) URL", ErrUsage, server)
		}
		remote, err = store.NewHTTPStore(strings.TrimSuffix(server, "/")+"/v2/"+gun+"/_trust/tuf/", "", "json", "key", rt)
		if err != nil {
			return nil, fmt.Errorf("%w: notary server %q: %v", ErrUsage, server, err)
		}
	}
	repo, err := client.NewRepository(data.GUN(gun), server, remote, cache, pin, cryptoservice.NewCryptoService(), changelist.NewMemChangelist())
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrTrustData, gun, err)
	}
	return repo, nil
}

// Decision makes the shared decision type of a verification: one enforced
// requirement "Docker Content Trust signature of IMAGE:TAG", satisfied
// when err is nil, and one per required signer.
func Decision(ref string, res *Result, err error) decision.Decision {
	d := decision.Decision{Subject: ref}
	if res != nil && res.Digest != "" {
		d.Subject = res.Ref()
	}
	tagErr := withoutSigner(err)
	d.Requirements = append(d.Requirements, decision.Check("Docker Content Trust signature of "+ref, decision.Enforce, tagErr))
	if res != nil {
		for _, r := range res.RequiredSigners {
			name := "Docker Content Trust signer " + r
			if tagErr != nil {
				d.Requirements = append(d.Requirements, decision.Skip(name, decision.Enforce, "the tag did not verify"))
				continue
			}
			d.Requirements = append(d.Requirements, decision.Check(name, decision.Enforce, signerErr(err, r)))
		}
	}
	return d
}

// withoutSigner is err without its ErrSigner parts (which only come
// joined with errors.Join, beside at most one other error).
func withoutSigner(err error) error {
	var rest []error
	for _, e := range split(err) {
		if !errors.Is(e, ErrSigner) {
			rest = append(rest, e)
		}
	}
	return errors.Join(rest...)
}

// signerError is the ErrSigner failure of one required signer role.
type signerError struct {
	role string
	err  error
}

func (e *signerError) Error() string { return e.err.Error() }
func (e *signerError) Unwrap() error { return e.err }

// signerErr is err's failure of the required signer role, if any.
func signerErr(err error, role string) error {
	for _, e := range split(err) {
		var se *signerError
		if errors.As(e, &se) && se.role == role {
			return e
		}
	}
	return nil
}

// split undoes errors.Join, the outermost level only, and only when err
// carries a signer error: other errors wrap two sentinels with one
// fmt.Errorf and stay whole.
func split(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok && errors.Is(err, ErrSigner) {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, split(e)...)
		}
		return out
	}
	return []error{err}
}
