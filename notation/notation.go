// Package notation signs container images with Notary Project signatures
// (what the notation CLI, Ratify and AKS image integrity use) and verifies
// them under a notation trust policy and trust store, using the reference
// implementation as the library: notation-go and notation-core-go make and
// check the JWS and COSE envelopes, the RFC 3161 timestamps, the trust
// policy and the trust store; this package wires them to toto's images.
//
//   - Sign signs an image opened with image.Open (a registry or an OCI
//     layout) with a key and its X.509 chain, and attaches the signature
//     as notation does: an OCI image manifest whose config media type is
//     application/vnd.cncf.notary.signature, one layer (the envelope,
//     application/jose+json or application/cose), subject = the image,
//     annotations io.cncf.notary.x509chain.thumbprint#S256 and
//     org.opencontainers.image.created. It is attached through
//     image.Target.Attach: the registry's referrers API or its sha256-HEX
//     fallback index (the index cosign signatures use too), or the OCI
//     layout's index.json.
//   - Verify reads every Notary Project signature of the image and checks
//     each with notation-go's verifier under a Policy (trustpolicy.json)
//     and a TrustStore (truststore/x509/{ca,signingAuthority,tsa}/NAME),
//     reporting each check (integrity, authenticity, authentic timestamp,
//     expiry, revocation) with the action the policy's level gives it
//     (enforce, log, skip). Revocation is checked offline unless
//     VerifyOptions.Revocation is RevocationOnline: a certificate that
//     names OCSP or CRL endpoints is then reported as not checked.
//   - Report.Decision gives the result as a decision.Decision, so an image
//     policy combines it with toto's other verifiers.
//
// The library never prints; notation-go's logger stays the discarding
// default unless the caller puts one in the context (notation-go/log).
//
// See docs/notation.md.
package notation

import (
	"errors"
	"fmt"
	"strings"

	"github.com/notaryproject/notation-core-go/signature/cose"
	"github.com/notaryproject/notation-core-go/signature/jws"
	"github.com/notaryproject/notation-go/registry"
)

// Media types and annotations of the Notary Project signature
// specification.
const (
	// ArtifactType is the config media type (and listed artifact type) of
	// a signature manifest.
	ArtifactType = registry.ArtifactTypeNotation
	// MediaTypeJWS and MediaTypeCOSE are the envelope layer media types.
	MediaTypeJWS  = jws.MediaTypeEnvelope
	MediaTypeCOSE = cose.MediaTypeEnvelope
	// MediaTypePayload is the signed payload's content type.
	MediaTypePayload = "application/vnd.cncf.notary.payload.v1+json"
	// AnnotationThumbprint lists the SHA-256 thumbprints of the signing
	// chain, leaf first, as a JSON array of hex strings.
	AnnotationThumbprint = "io.cncf.notary.x509chain.thumbprint#S256"
	// AnnotationCreated is the signing time, RFC 3339.
	AnnotationCreated = "org.opencontainers.image.created"
)

// Envelope is a signature envelope format.
type Envelope string

// The envelope formats.
const (
	JWS  Envelope = "jws"
	COSE Envelope = "cose"
)

// MediaType is the envelope's layer media type; the zero Envelope is JWS,
// notation's default.
func (e Envelope) MediaType() (string, error) {
	switch e {
	case JWS, "":
		return MediaTypeJWS, nil
	case COSE:
		return MediaTypeCOSE, nil
	}
	return "", fmt.Errorf("%w: unknown envelope %q (want jws or cose)", ErrUsage, string(e))
}

// Errors callers may branch on.
var (
	// ErrUsage: options that cannot work together, or a missing one.
	ErrUsage = errors.New("notation usage")
	// ErrPolicy is matched by a *PolicyError.
	ErrPolicy = errors.New("invalid notation trust policy")
	// ErrTrustStore: the trust store folder is missing or malformed.
	ErrTrustStore = errors.New("notation trust store")
	// ErrCertificate is matched by a *CertificateError.
	ErrCertificate = errors.New("unusable signing certificate chain")
	// ErrVerification: the image has no Notary Project signature that
	// the trust policy accepts.
	ErrVerification = errors.New("notation verification failed")
	// ErrCritical is matched by a *CriticalError.
	ErrCritical = errors.New("signature has critical attributes toto does not understand")
	// ErrOtherArtifact is matched by an *OtherArtifactError.
	ErrOtherArtifact = errors.New("signature is for another artifact")
)

// PolicyError is a trust policy that cannot be used: malformed JSON,
// duplicate or unknown members, or a document notation-go refuses
// (unknown level, overlapping registry scopes, a wildcard identity beside
// others, ...).
type PolicyError struct {
	// Path is the file, when the policy was read from one.
	Path string
	Err  error
}

func (e *PolicyError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("%s: %s: %v", ErrPolicy, e.Path, e.Err)
	}
	return fmt.Sprintf("%s: %v", ErrPolicy, e.Err)
}

func (e *PolicyError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrPolicy) hold.
func (e *PolicyError) Is(target error) bool { return target == ErrPolicy }

// CertificateError is a signing chain notation would not accept: one
// that does not chain to its last certificate, a leaf without the
// codeSigning extended key usage or the digitalSignature key usage, an
// expired certificate, or a key that is not the leaf's.
type CertificateError struct{ Err error }

func (e *CertificateError) Error() string { return fmt.Sprintf("%s: %v", ErrCertificate, e.Err) }

func (e *CertificateError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrCertificate) hold.
func (e *CertificateError) Is(target error) bool { return target == ErrCertificate }

// OtherArtifactError is a signature whose payload names another artifact
// than the image it is attached to (its descriptor's digest, size or
// media type differ).
type OtherArtifactError struct {
	// Signed is what the payload's targetArtifact names; Image the
	// image's manifest descriptor.
	Signed, Image string
}

func (e *OtherArtifactError) Error() string {
	return fmt.Sprintf("%s: the payload signs %s, the image is %s", ErrOtherArtifact, e.Signed, e.Image)
}

// Is makes errors.Is(err, ErrOtherArtifact) hold.
func (e *OtherArtifactError) Is(target error) bool { return target == ErrOtherArtifact }

// CriticalError is a signature envelope whose protected header marks an
// extended attribute critical (COSE crit, JWS crit) that toto does not
// process; the Notary Project specification requires the verifier to
// fail. (notation-go checks this only when a verification plugin is
// named.)
type CriticalError struct {
	Attributes []string
}

func (e *CriticalError) Error() string {
	return fmt.Sprintf("%s: %s", ErrCritical, strings.Join(e.Attributes, ", "))
}

// Is makes errors.Is(err, ErrCritical) hold.
func (e *CriticalError) Is(target error) bool { return target == ErrCritical }
