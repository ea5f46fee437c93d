// Package image signs container images and attaches in-toto attestations to
// them, and verifies both, in an OCI image layout on disk or in any
// registry that speaks the OCI distribution API.
//
// Everything is addressed by manifest digest: a tag is resolved once, when
// the image is opened, and never again. Signatures and attestations follow
// cosign's bundle specification (cosign v3, specs/BUNDLE_SPEC.md):
//
//   - each is a keyed Sigstore v0.3 bundle (package bundle) holding a DSSE
//     envelope around an in-toto Statement v1 whose subject is the image
//     manifest digest;
//   - a signature's predicateType is https://sigstore.dev/cosign/sign/v1,
//     as cosign v3 writes, and its predicate is cosign's "simple signing"
//     document naming the reference and the manifest digest;
//   - the bundle is stored as the single layer of an OCI 1.1 artifact
//     manifest (artifactType application/vnd.dev.sigstore.bundle.v0.3+json,
//     empty config, subject = the image manifest descriptor), annotated
//     with dev.sigstore.bundle.content and dev.sigstore.bundle.predicateType;
//   - a registry without the referrers API gets the referrers tag schema
//     (an index tagged sha256-<hex>), and an OCI layout lists the referrer
//     manifests, untagged, in index.json.
//
// Verify also reads what cosign v2 writes by default: .sig and .att tags
// (simple-signing payloads signed bare, DSSE attestations), in registries
// and in cosign save's OCI layouts, and in-toto Statements v0.1. An image
// passes when one signature by a trusted identity verifies; the rest is
// reported, and ignored unless VerifyOptions.RequireAll.
//
// Attaching makes sure the referrer is listed where readers look: a
// registry's sha256-<hex> index is re-read and repaired until the entry
// stays (concurrent writers drop each other's entries otherwise), an OCI
// layout's index.json is rewritten under a lock on index.json.lock, and
// the image's entry is annotated as cosign save does, so cosign verify
// --local-image finds it. An attach that cannot be ensured is an
// *AttachError (ErrNotAttached).
//
// See docs/images.md for the reasoning and the exact formats.
package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// LayoutPrefix marks an image reference as an OCI image layout directory:
// oci-layout:DIR, oci-layout:DIR@sha256:HEX or oci-layout:DIR:TAG (TAG
// being an org.opencontainers.image.ref.name annotation in index.json).
const LayoutPrefix = "oci-layout:"

// Errors callers may branch on.
var (
	// ErrReference: the image reference is malformed or names nothing.
	ErrReference = errors.New("image reference")
	// ErrVerification: the image's signatures or attestations do not
	// satisfy the trusted keys.
	ErrVerification = errors.New("image verification failed")
	// ErrDigestMismatch is matched by a *DigestError.
	ErrDigestMismatch = errors.New("content does not match its digest")
)

// DigestError is content that does not hash to the digest it was named by:
// a manifest or blob rewritten in place in an OCI layout, or a registry
// whose Docker-Content-Digest disagrees with the manifest it served. Every
// manifest and blob toto reads is checked, the image's own manifest first,
// so a signature over the digest never vouches for other content.
type DigestError struct {
	// What says where the digest came from: "OCI layout DIR",
	// "registry.example/app (Docker-Content-Digest of tag 1.0)".
	What string
	// Want is the digest the content was named by; Got what it hashes to.
	Want, Got v1.Hash
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("%s: content named %s hashes to %s", e.What, e.Want, e.Got)
}

// Is makes errors.Is(err, ErrDigestMismatch) hold.
func (e *DigestError) Is(target error) bool { return target == ErrDigestMismatch }

// Target is an image resolved to one manifest digest. Every operation on it
// uses the digest, never the tag it may have been opened with.
type Target struct {
	// Reference is what the image was opened as (without the layout
	// prefix's digest), written into signatures as the docker-reference.
	Reference string
	// Descriptor is the image manifest (or index) the digest names.
	Descriptor v1.Descriptor
	// Tag is the tag the digest was resolved from (a registry tag, or an
	// OCI layout's ref.name), empty when the image was named by digest.
	// It is never used again: callers show "tag → digest" so a user can
	// see, and pin, what was checked or signed.
	Tag string

	store store
}

// Digest returns the manifest digest, "sha256:<hex>".
func (t *Target) Digest() string { return t.Descriptor.Digest.String() }

// String names the image by digest.
func (t *Target) String() string { return t.Reference + "@" + t.Digest() }

// Options tune Open.
type Options struct {
	// Remote options for registry references (authentication, transport,
	// platform). By default the anonymous keychain of ggcr is used.
	Remote []remote.Option
}

// Open resolves ref to a manifest digest. ref is either an OCI layout
// (LayoutPrefix) or a registry reference such as
// registry.example/app:1.0 or registry.example/app@sha256:HEX.
func Open(ctx context.Context, ref string, opts Options) (*Target, error) {
	if rest, ok := strings.CutPrefix(ref, LayoutPrefix); ok {
		return openLayout(ctx, rest)
	}
	return openRemote(ctx, ref, opts)
}

// store is where an image and its referrers live.
type store interface {
	// referrers lists the manifests whose subject is the digest.
	referrers(ctx context.Context, subject v1.Hash) ([]v1.Descriptor, error)
	// manifest fetches a manifest by digest, checking the digest.
	manifest(ctx context.Context, d v1.Hash) ([]byte, error)
	// blob fetches a blob by digest, checking the digest and size limit.
	blob(ctx context.Context, d v1.Hash, max int64) ([]byte, error)
	// cosignManifests finds cosign v2's .sig and .att manifests of the
	// subject (see cosigntags.go).
	cosignManifests(ctx context.Context, subject v1.Hash) ([]cosignManifest, error)
	// push stores blobs, then the manifest, and records it as a referrer
	// of its subject.
	push(ctx context.Context, a *artifact) error
}

// checkDigest verifies that data hashes to d; what names the content in
// a *DigestError.
func checkDigest(what string, d v1.Hash, data []byte) error {
	if d.Algorithm != "sha256" {
		return fmt.Errorf("unsupported digest algorithm %q", d.Algorithm)
	}
	h, _, err := v1.SHA256(bytes.NewReader(data))
	if err != nil {
		return err
	}
	if h != d {
		return &DigestError{What: what, Want: d, Got: h}
	}
	return nil
}

// checkSubject reads the image's own manifest by digest (the store checks
// the content against it) and its size against the descriptor. Open and
// Verify call it first: the referrers vouch for the digest only, so the
// content under it must be what was signed.
func (t *Target) checkSubject(ctx context.Context) error {
	raw, err := t.store.manifest(ctx, t.Descriptor.Digest)
	if err != nil {
		return fmt.Errorf("image manifest %s: %w", t.Descriptor.Digest, err)
	}
	if t.Descriptor.Size != 0 && int64(len(raw)) != t.Descriptor.Size {
		return fmt.Errorf("%w: image manifest %s is %d bytes, its descriptor says %d", ErrDigestMismatch, t.Descriptor.Digest, len(raw), t.Descriptor.Size)
	}
	return nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
