package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/toto-dev/toto/attestation"
	"github.com/toto-dev/toto/bundle"
	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
)

// maxBundleBlob bounds a bundle layer: an SBOM statement fits.
const maxBundleBlob = 64 << 20

// VerifyOptions are the trust roots for Verify.
type VerifyOptions struct {
	// Keys are the public keys trusted to sign and attest the image (for
	// example a layout's functionary keys).
	Keys []*keys.Key
	// TrustedRoot, Identity/IdentityRegexp and Issuer/IssuerRegexp admit
	// keyless (Fulcio certificate) bundles; see bundle.Policy.
	TrustedRoot              []byte
	Identity, IdentityRegexp string
	Issuer, IssuerRegexp     string
}

// Kinds of referrers in a report.
const (
	KindSignature   = "signature"
	KindAttestation = "attestation"
	// KindIgnored is a referrer that is not a Sigstore bundle (for
	// example an SBOM pushed by another tool); it is listed, not judged.
	KindIgnored = "ignored"
)

// Finding is the verdict on one referrer.
type Finding struct {
	// Referrer is the referrer manifest's digest.
	Referrer      string `json:"referrer"`
	ArtifactType  string `json:"artifactType,omitempty"`
	Kind          string `json:"kind"`
	PredicateType string `json:"predicateType,omitempty"`
	// KeyID is the trusted key that signed it; Identity and Issuer the
	// certificate's, for a keyless bundle.
	KeyID    string `json:"keyid,omitempty"`
	Identity string `json:"identity,omitempty"`
	Issuer   string `json:"issuer,omitempty"`
	Verified bool   `json:"verified"`
	Error    string `json:"error,omitempty"`

	err error // Error's typed original, for errors.As on Verify's error
}

// Report is the outcome of Verify.
type Report struct {
	// Image is the reference the image was opened as; Digest the manifest
	// digest everything was checked against.
	Image    string    `json:"image"`
	Digest   string    `json:"digest"`
	Findings []Finding `json:"referrers"`
	// Counts of verified signatures and attestations, and of bundles that
	// failed.
	Signatures   int `json:"verifiedSignatures"`
	Attestations int `json:"verifiedAttestations"`
	Failures     int `json:"failures"`
}

// OK reports whether the image passed: at least one signature verified,
// and every Sigstore bundle attached to it verified.
func (r *Report) OK() bool { return r.Signatures > 0 && r.Failures == 0 }

// Verify lists the image's referrers by digest and checks every Sigstore
// bundle among them: the bundle must verify with a trusted key (or, with a
// trusted root, a matching certificate identity), hold an in-toto
// Statement whose subject is this manifest digest, and for a signature
// carry a simple-signing predicate naming the same digest.
//
// The image passes when at least one signature verifies and no bundle
// fails: an attestation attached by an unknown key, or moved over from
// another image, fails the image rather than being skipped, because a
// consumer asking "is everything attached to this image trustworthy" must
// not get yes when something is not. Non-bundle referrers are listed as
// ignored.
//
// Every manifest and blob read is checked against its digest, the image's
// own manifest first: a manifest rewritten in place fails with a
// *DigestError (ErrDigestMismatch) before any referrer is looked at.
//
// The report is always returned; the error wraps ErrVerification when the
// image did not pass (and, through errors.As, each failing bundle's
// error, such as a *DigestError), or says why the referrers could not be
// listed.
func Verify(ctx context.Context, t *Target, opts VerifyOptions) (*Report, error) {
	rep := &Report{Image: t.Reference, Digest: t.Digest(), Findings: []Finding{}}
	if err := t.checkSubject(ctx); err != nil {
		if errors.Is(err, ErrDigestMismatch) {
			return rep, fmt.Errorf("%w: %s: %w", ErrVerification, t, err)
		}
		return rep, err
	}
	refs, err := t.store.referrers(ctx, t.Descriptor.Digest)
	if err != nil {
		return rep, err
	}
	for _, d := range refs {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		f := Finding{Referrer: d.Digest.String(), ArtifactType: d.ArtifactType}
		m, err := fetchReferrer(ctx, t, d)
		switch {
		case err != nil:
			// Listed as referring to this image but unreadable or
			// pointing elsewhere: a broken or planted attachment.
			f.Kind = KindAttestation
			f.Error, f.err = err.Error(), err
			rep.Failures++
		case artifactTypeOf(m) != ArtifactTypeBundle:
			f.Kind = KindIgnored
			f.ArtifactType = artifactTypeOf(m)
		default:
			f.ArtifactType = ArtifactTypeBundle
			if err := checkBundle(ctx, t, m, opts, &f); err != nil {
				f.Error, f.err = err.Error(), err
				rep.Failures++
			} else {
				f.Verified = true
				if f.Kind == KindSignature {
					rep.Signatures++
				} else {
					rep.Attestations++
				}
			}
		}
		rep.Findings = append(rep.Findings, f)
	}
	if !rep.OK() {
		var msg string
		if rep.Signatures == 0 {
			msg = fmt.Sprintf("%s: no signature by a trusted key (%d bundle(s) failed)", t, rep.Failures)
		} else {
			msg = fmt.Sprintf("%s: %d attached bundle(s) failed verification", t, rep.Failures)
		}
		e := &verifyError{msg: msg}
		for _, f := range rep.Findings {
			if f.err != nil {
				e.causes = append(e.causes, f.err)
			}
		}
		return rep, e
	}
	return rep, nil
}

// verifyError is Verify's error for an image that did not pass: its
// message is the summary (the report has the details), and it unwraps to
// ErrVerification and to each failing referrer's error, so a caller can
// tell, say, a rewritten blob (*DigestError) from an untrusted key.
type verifyError struct {
	msg    string
	causes []error
}

func (e *verifyError) Error() string   { return ErrVerification.Error() + ": " + e.msg }
func (e *verifyError) Unwrap() []error { return append([]error{ErrVerification}, e.causes...) }

// fetchReferrer reads a listed referrer's manifest. The listing (a
// referrers index) is not authenticated, and registries disagree on the
// artifactType they report, so the manifest itself is what counts: it must
// point at this image.
func fetchReferrer(ctx context.Context, t *Target, d v1.Descriptor) (*v1.Manifest, error) {
	raw, err := t.store.manifest(ctx, d.Digest)
	if err != nil {
		return nil, fmt.Errorf("fetch referrer manifest: %w", err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("referrer manifest: %w", err)
	}
	if m.Subject == nil || m.Subject.Digest != t.Descriptor.Digest {
		return nil, errors.New("referrer manifest's subject is not this image")
	}
	return &m, nil
}

// artifactTypeOf follows the OCI image spec: artifactType, else the config
// media type.
func artifactTypeOf(m *v1.Manifest) string {
	if m.ArtifactType != "" {
		return m.ArtifactType
	}
	return string(m.Config.MediaType)
}

func checkBundle(ctx context.Context, t *Target, m *v1.Manifest, opts VerifyOptions, f *Finding) error {
	f.Kind = KindAttestation
	if len(m.Layers) != 1 || string(m.Layers[0].MediaType) != ArtifactTypeBundle {
		return fmt.Errorf("referrer manifest must have exactly one %s layer", ArtifactTypeBundle)
	}
	b, err := t.store.blob(ctx, m.Layers[0].Digest, maxBundleBlob)
	if err != nil {
		return fmt.Errorf("fetch bundle: %w", err)
	}
	env, err := envelope.ParseMediaType(string(m.Layers[0].MediaType), b)
	if err != nil {
		if errors.Is(err, bundle.ErrMessageSignature) {
			return errors.New("bundle holds a bare message signature, not a statement about the image")
		}
		return err
	}
	av := attestation.NewVerifier(attestation.Options{
		Keys:                attestation.Keys(opts.Keys...),
		SigstoreTrustedRoot: opts.TrustedRoot,
		Identity:            opts.Identity,
		IdentityRegexp:      opts.IdentityRegexp,
		Issuer:              opts.Issuer,
		IssuerRegexp:        opts.IssuerRegexp,
	})
	va, err := av.Verify(ctx, env, link.DigestSet{t.Descriptor.Digest.Algorithm: t.Descriptor.Digest.Hex})
	if va == nil {
		return err
	}
	if va.Key != nil {
		f.KeyID = va.Key.ID()
	}
	f.Identity, f.Issuer = va.Identity, va.Issuer
	st := va.Statement
	f.PredicateType = st.PredicateType
	if want := m.Annotations[AnnotationPredicateType]; want != "" && want != st.PredicateType {
		return fmt.Errorf("annotation says predicate type %q, statement says %q", want, st.PredicateType)
	}
	if err != nil {
		return fmt.Errorf("statement subject does not name %s", t.Digest())
	}
	if st.PredicateType != PredicateTypeSignature {
		return nil
	}
	f.Kind = KindSignature
	var ss SimpleSigning
	if err := json.Unmarshal(st.Predicate, &ss); err != nil {
		return fmt.Errorf("signature predicate: %w", err)
	}
	// cosign v3 leaves the predicate empty; when present it must agree.
	if got := ss.Critical.Image.DockerManifestDigest; got != "" && got != t.Digest() {
		return fmt.Errorf("signature names manifest %s, not %s", got, t.Digest())
	}
	return nil
}

// Decision reports the verdict as a policy decision, to combine with other
// verifiers in an image policy: at least one signature by a trusted key,
// and every attached bundle verified (each failing one is a violation of
// its own). Allowed is exactly OK.
func (r *Report) Decision() decision.Decision {
	d := decision.Decision{Subject: r.Image + "@" + r.Digest}
	var sigErr error
	if r.Signatures == 0 {
		sigErr = errors.New("no signature by a trusted key")
	}
	d.Requirements = append(d.Requirements, decision.Check("signature by a trusted key", decision.Enforce, sigErr))
	for _, f := range r.Findings {
		if f.Kind == KindIgnored || f.Verified {
			continue
		}
		d.Requirements = append(d.Requirements, decision.Check(f.Kind+" "+f.Referrer+" verifies", decision.Enforce, errors.New(f.Error)))
	}
	return d
}
