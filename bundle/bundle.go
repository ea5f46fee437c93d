// Package bundle verifies and produces Sigstore bundles
// (https://github.com/sigstore/protobuf-specs, media types
// application/vnd.dev.sigstore.bundle+json;version=0.1 to
// application/vnd.dev.sigstore.bundle.v0.3+json).
//
// A bundle is one more envelope to toto: it carries either a DSSE envelope
// (an in-toto Statement, a link, a simple-signing payload) or a bare message
// signature, plus the verification material (a Fulcio certificate or a
// public-key hint) and optional transparency-log entries and RFC 3161
// timestamps.
//
// Verification is delegated to sigstore-go's verify package and runs
// offline: the trust roots come from a trusted_root.json file, the caller's
// public keys, or both. Nothing is fetched.
//
// Bundles are parsed by sigstore-go only. Linking this package registers
// Format with package envelope, so envelope.Parse reads a bundle holding a
// DSSE envelope as one more envelope. The entry points:
//
//   - Verify checks a bundle against a trusted root and a Policy (certificate
//     identity and issuer for keyless bundles, trusted keys for keyed ones,
//     and the artifact the signature must cover).
//   - VerifyEnvelope checks a keyed bundle with one toto key and returns the
//     DSSE envelope inside, so that a link, layout or attestation may be
//     shipped as a bundle.
//   - Create signs a payload with a toto key into a keyed v0.3 bundle.
package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/toto-dev/toto/envelope"
)

// Media types of the Sigstore bundle format.
const (
	// MediaTypeV03 is the media type of bundles toto writes, and the OCI
	// artifactType cosign uses for bundles attached to images.
	MediaTypeV03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// mediaTypePrefix is shared by every bundle version.
	mediaTypePrefix = "application/vnd.dev.sigstore.bundle"
)

// Content kinds, as written in cosign's dev.sigstore.bundle.content
// annotation.
const (
	ContentDSSE             = "dsse-envelope"
	ContentMessageSignature = "message-signature"
)

// Errors callers may branch on. Every error returned by Verify and
// VerifyEnvelope wraps exactly one of them.
var (
	// ErrInvalidBundle: the bundle does not parse or breaks the bundle
	// format's structural rules. The bundle is evidence, so callers treat
	// this as a failed verification.
	ErrInvalidBundle = errors.New("invalid Sigstore bundle")
	// ErrVerification: the bundle parsed but a signature, certificate,
	// transparency-log entry, timestamp, identity or artifact check failed.
	ErrVerification = errors.New("Sigstore bundle verification failed")
	// ErrPolicy: the caller's policy or trust material is unusable (a
	// malformed trusted root, a keyless bundle without an identity to
	// check, a bad regular expression). This is a usage error, not a
	// verdict on the bundle.
	ErrPolicy = errors.New("bundle verification policy")
	// ErrMessageSignature: the bundle holds a bare message signature over
	// an artifact, not a DSSE envelope with a payload. It comes wrapped in
	// ErrInvalidBundle or ErrVerification.
	ErrMessageSignature = errors.New("bundle holds a message signature, not a DSSE envelope")
	// ErrArtifactMismatch: the artifact digest a caller names is not the
	// one a message-signature bundle signs. Always with ErrVerification.
	ErrArtifactMismatch = errors.New("the artifact is not the one the bundle signs")
	// ErrTransparencyLog: a transparency-log entry is missing though
	// required, is by a log the trusted root does not list, or does not
	// verify (inclusion proof, checkpoint signature, entry). Always with
	// ErrVerification.
	ErrTransparencyLog = errors.New("transparency log")
	// ErrTimestamp: an RFC 3161 timestamp is missing though required, or
	// does not verify against a timestamp authority of the trusted root.
	// Always with ErrVerification.
	ErrTimestamp = errors.New("signed timestamp")
	// ErrCertificate: the signing certificate does not chain to a
	// certificate authority of the trusted root at the verified time (for
	// example, the timestamp is outside the certificate's validity).
	// Always with ErrVerification.
	ErrCertificate = errors.New("signing certificate")
)

// maxBundleSize bounds how much a bundle may weigh: bundles hold one
// signature, a certificate chain and a few log entries, and an SBOM
// statement at most.
const maxBundleSize = 64 << 20

// IsBundle reports whether data looks like a Sigstore bundle (a JSON object
// whose mediaType is a Sigstore bundle media type). It does not validate
// the bundle; use it to dispatch between bundles and plain envelopes.
func IsBundle(data []byte) bool {
	var probe struct {
		MediaType string `json:"mediaType"`
	}
	if json.Unmarshal(data, &probe) != nil {
		return false
	}
	return strings.HasPrefix(probe.MediaType, mediaTypePrefix)
}

// parse decodes and validates a bundle with sigstore-go.
func parse(data []byte) (*sgbundle.Bundle, error) {
	if len(data) > maxBundleSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalidBundle, maxBundleSize)
	}
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidBundle, err)
	}
	return &b, nil
}

// Envelope returns the DSSE envelope a bundle carries as a toto envelope,
// WITHOUT verifying anything. It is for inspection and tooling; trust only
// what VerifyEnvelope or Verify return.
func Envelope(bundleJSON []byte) (*envelope.Envelope, error) {
	b, err := parse(bundleJSON)
	if err != nil {
		return nil, err
	}
	return toEnvelope(b)
}

// toEnvelope converts the bundle's DSSE envelope. The JSON is built here
// rather than by protojson so that an empty keyid stays present (toto's
// envelope parser requires the member; Sigstore signers often leave it
// empty).
func toEnvelope(b *sgbundle.Bundle) (*envelope.Envelope, error) {
	d := b.GetDsseEnvelope()
	if d == nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBundle, ErrMessageSignature)
	}
	type sig struct {
		KeyID string `json:"keyid"`
		Sig   []byte `json:"sig"`
	}
	out := struct {
		PayloadType string `json:"payloadType"`
		Payload     []byte `json:"payload"`
		Signatures  []sig  `json:"signatures"`
	}{PayloadType: d.GetPayloadType(), Payload: d.GetPayload(), Signatures: []sig{}}
	for _, s := range d.GetSignatures() {
		out.Signatures = append(out.Signatures, sig{KeyID: s.GetKeyid(), Sig: s.GetSig()})
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidBundle, err)
	}
	env, err := envelope.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: DSSE envelope: %v", ErrInvalidBundle, err)
	}
	return env, nil
}
