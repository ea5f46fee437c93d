package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/toto-dev/toto/attestation"
	"github.com/toto-dev/toto/bundle"
	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/sbom"
	"github.com/toto-dev/toto/statement"
)

// maxBundleBlob bounds a bundle layer: an SBOM statement fits.
const maxBundleBlob = 64 << 20

// VerifyOptions are the trust roots and requirements for Verify.
type VerifyOptions struct {
	// Keys are the public keys trusted to sign and attest the image (for
	// example a layout's functionary keys).
	Keys []*keys.Key
	// TrustedRoot, Identity/IdentityRegexp and Issuer/IssuerRegexp admit
	// keyless (Fulcio certificate) bundles; see bundle.Policy.
	TrustedRoot              []byte
	Identity, IdentityRegexp string
	Issuer, IssuerRegexp     string
	// RequireTlog and RequireTimestamp make a transparency-log entry and
	// an RFC 3161 timestamp, verified against a log and a timestamp
	// authority of TrustedRoot, part of what it takes for a signature or
	// attestation to verify (bundle.Policy's fields, through
	// attestation.Options). An entry without them does not verify: it
	// is ignored with the reason (bundle.ErrTransparencyLog,
	// bundle.ErrTimestamp), or fails the image with RequireAll. Only
	// Sigstore bundles carry them, so cosign v2 .sig and .att layers
	// never meet them. Both need TrustedRoot (Check).
	RequireTlog, RequireTimestamp bool

	// RequireAll is the strict mode: every signature and attestation
	// found (referrer bundles and cosign v2 .sig/.att layers) must verify.
	// By default, as cosign does, entries that do not verify (an unknown
	// key, a stale referrers-index entry, junk pushed by anyone with write
	// access) are reported as ignored with the reason and do not fail the
	// image.
	RequireAll bool
	// PredicateTypes each need at least one verified attestation of that
	// predicate type (URIs; PredicateType maps cosign's --type names).
	PredicateTypes []string
	// SBOMPolicy, when set, is applied (sbom.Evaluate) to the verified
	// SBOM attestations of the image.
	SBOMPolicy *sbom.Policy
}

// Check reports, wrapping bundle.ErrPolicy, options no image can pass: a
// log entry or timestamp required without a trusted root. Verify calls
// it first; a CLI may call it before opening the image.
func (o VerifyOptions) Check() error {
	return o.attestation().Check()
}

// attestation is the attestation.Options every bundle and DSSE envelope
// of the image is verified with.
func (o VerifyOptions) attestation() attestation.Options {
	return attestation.Options{
		Keys:                attestation.Keys(o.Keys...),
		SigstoreTrustedRoot: o.TrustedRoot,
		Identity:            o.Identity,
		IdentityRegexp:      o.IdentityRegexp,
		Issuer:              o.Issuer,
		IssuerRegexp:        o.IssuerRegexp,
		RequireTlog:         o.RequireTlog,
		RequireTimestamp:    o.RequireTimestamp,
	}
}

// Kinds of findings in a report.
const (
	KindSignature   = "signature"
	KindAttestation = "attestation"
	// KindIgnored is a referrer that is not a Sigstore bundle (for
	// example an SBOM pushed by another tool); it is listed, not judged.
	KindIgnored = "ignored"
)

// Statuses of a finding.
const (
	// StatusVerified: signed by a trusted identity, about this digest.
	StatusVerified = "verified"
	// StatusFailed: did not verify, and fails the image (RequireAll).
	StatusFailed = "failed"
	// StatusIgnored: not counted; Error or Reason says why.
	StatusIgnored = "ignored"
)

// ErrStaleReferrer: a referrers listing names a manifest the registry no
// longer has (a deleted referrer still listed in a referrers tag index).
var ErrStaleReferrer = errors.New("listed referrer manifest is gone (stale referrers index entry)")

// ErrMissingPredicateType is wrapped by Verify's error when a required
// predicate type has no verified attestation.
var ErrMissingPredicateType = errors.New("no verified attestation of a required predicate type")

// Finding is the verdict on one signature or attestation: a referrer, or
// one layer of a cosign v2 .sig or .att manifest.
type Finding struct {
	// Referrer is the manifest's digest: the referrer, or the .sig/.att
	// manifest.
	Referrer string `json:"referrer"`
	// Storage is StorageReferrer or StorageTag; for StorageTag, Tag is
	// where the manifest was found (sha256-HEX.sig) and Layer the layer
	// judged.
	Storage       string `json:"storage"`
	Tag           string `json:"tag,omitempty"`
	Layer         string `json:"layer,omitempty"`
	ArtifactType  string `json:"artifactType,omitempty"`
	Kind          string `json:"kind"`
	PredicateType string `json:"predicateType,omitempty"`
	// KeyID is the trusted key that signed it; Identity and Issuer the
	// certificate's, for a keyless bundle.
	KeyID    string `json:"keyid,omitempty"`
	Identity string `json:"identity,omitempty"`
	Issuer   string `json:"issuer,omitempty"`
	Verified bool   `json:"verified"`
	// Tlog are the transparency-log entries of a verified bundle that
	// verified against a log of the trusted root (log, log id, index);
	// Timestamps its verified times (RFC 3161 timestamps with their
	// authority's URI, Rekor v1 integrated times). Empty without a
	// trusted root, and for cosign v2 .sig/.att layers.
	Tlog       []bundle.LogEntry  `json:"tlog,omitempty"`
	Timestamps []bundle.Timestamp `json:"timestamps,omitempty"`
	// Status is StatusVerified, StatusFailed or StatusIgnored.
	Status string `json:"status"`
	// Error is why it did not verify; Reason why an entry that was not
	// judged (not a Sigstore bundle) is ignored.
	Error  string `json:"error,omitempty"`
	Reason string `json:"reason,omitempty"`

	err error                // Error's typed original, for errors.As on Verify's error
	st  *statement.Statement // the verified statement, for the SBOM policy
}

// fail records why f did not verify. Verify decides whether that fails
// the image or is ignored.
func (f *Finding) fail(err error) {
	f.Verified, f.Status, f.Error, f.err = false, StatusFailed, err.Error(), err
}

// ReportSchemaVersion is the version of Report's JSON, described by
// docs/schema/image-report.schema.json. It changes when a member is renamed
// or removed, or changes meaning; new optional members do not change it.
const ReportSchemaVersion = "1"

// Report is the outcome of Verify, and the JSON of `toto image verify
// --json` (docs/schema/image-report.schema.json).
type Report struct {
	// SchemaVersion is ReportSchemaVersion.
	SchemaVersion string `json:"schemaVersion"`
	// Image is the reference the image was opened as; Digest the manifest
	// digest everything was checked against.
	Image    string    `json:"image"`
	Digest   string    `json:"digest"`
	Findings []Finding `json:"referrers"`
	// Counts of verified signatures and attestations; of entries that did
	// not verify (fatal with RequireAll, ignored otherwise); of entries
	// ignored (not verifying, or not judged).
	Signatures   int `json:"verifiedSignatures"`
	Attestations int `json:"verifiedAttestations"`
	Failures     int `json:"failures"`
	Ignored      int `json:"ignored"`
	// RequireAll is the mode the report was made in; RequireTlog and
	// RequireTimestamp the requirements each verified entry met.
	RequireAll       bool `json:"requireAll"`
	RequireTlog      bool `json:"requireTlog,omitempty"`
	RequireTimestamp bool `json:"requireTimestamp,omitempty"`
	// PredicateTypes were required; MissingPredicateTypes had no verified
	// attestation.
	PredicateTypes        []string `json:"requiredPredicateTypes,omitempty"`
	MissingPredicateTypes []string `json:"missingPredicateTypes,omitempty"`
	// SBOM is the SBOM policy's result, when one was given.
	SBOM *sbom.Result `json:"sbom,omitempty"`
	// Error says why nothing could be checked (the image's content is not
	// what its digest names, ErrDigestMismatch): a failed verification with
	// no findings. Verify never sets it; `toto image verify --json` does.
	Error string `json:"error,omitempty"`
}

// OK reports whether the image passed: at least one signature verified;
// with RequireAll, every signature and attestation found verified; every
// required predicate type has a verified attestation; the SBOM policy, if
// any, holds.
func (r *Report) OK() bool {
	return r.Signatures > 0 && (!r.RequireAll || r.Failures == 0) &&
		len(r.MissingPredicateTypes) == 0 && (r.SBOM == nil || r.SBOM.OK())
}

// Verify finds the image's signatures and attestations by digest — its
// OCI 1.1 referrers (Sigstore bundles, as cosign v3 and toto write them)
// and cosign v2's .sig and .att tags — and checks each: signed by a
// trusted key (or, with a trusted root, a matching certificate identity),
// an in-toto Statement (v1 or v0.1) whose subject is this manifest digest
// or, for a .sig layer, a simple-signing payload naming it; a signature's
// simple-signing predicate, when present, must name the same digest.
//
// The image passes when at least one signature verifies (cosign's rule).
// Entries that do not verify are ignored with the reason, unless
// opts.RequireAll, which makes each a failure of the image ("everything
// attached to this image checks out"). Referrers that are not Sigstore
// bundles are listed as ignored. opts.PredicateTypes and opts.SBOMPolicy
// add requirements over the verified attestations.
//
// Every manifest and blob read is checked against its digest, the image's
// own manifest first: a manifest rewritten in place fails with a
// *DigestError (ErrDigestMismatch) before any referrer is looked at.
//
// The report is always returned; the error wraps ErrVerification when the
// image did not pass (and, through errors.As, each failing entry's
// error, such as a *DigestError), or says why the referrers could not be
// listed.
func Verify(ctx context.Context, t *Target, opts VerifyOptions) (*Report, error) {
	rep := &Report{SchemaVersion: ReportSchemaVersion, Image: t.Reference, Digest: t.Digest(), Findings: []Finding{}, RequireAll: opts.RequireAll,
		RequireTlog: opts.RequireTlog, RequireTimestamp: opts.RequireTimestamp, PredicateTypes: opts.PredicateTypes}
	if err := opts.Check(); err != nil {
		return rep, err
	}
	if err := t.checkSubject(ctx); err != nil {
		if errors.Is(err, ErrDigestMismatch) {
			return rep, fmt.Errorf("%w: %s: %w", ErrVerification, t, err)
		}
		return rep, err
	}
	av := attestation.NewVerifier(opts.attestation())
	// The cosign v2 tags are read while the referrers are: neither
	// depends on the other.
	var tagged []Finding
	var taggedErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		tagged, taggedErr = cosignFindings(ctx, t, opts, av)
	}()
	refs, err := t.store.referrers(ctx, t.Descriptor.Digest)
	if err != nil {
		<-done
		return rep, err
	}
	found := make([]Finding, len(refs))
	forEach(ctx, len(refs), func(i int) {
		found[i] = judgeReferrer(ctx, t, refs[i], av)
	})
	<-done
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	rep.Findings = append(rep.Findings, found...)
	rep.Findings = append(rep.Findings, tagged...)
	if taggedErr != nil {
		return rep, taggedErr
	}
	rep.judge(t, opts)
	if !rep.OK() {
		return rep, rep.err(t)
	}
	return rep, nil
}

// fetchers bounds the referrers (manifest, then bundle) fetched and
// verified at once.
const fetchers = 8

// forEach calls fn(0..n-1) on up to fetchers goroutines and returns when
// all have returned; it stops handing out work when ctx is done.
func forEach(ctx context.Context, n int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < min(n, fetchers); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// judgeReferrer reads one listed referrer and judges it.
func judgeReferrer(ctx context.Context, t *Target, d v1.Descriptor, av *attestation.Verifier) Finding {
	f := Finding{Referrer: d.Digest.String(), ArtifactType: d.ArtifactType, Storage: StorageReferrer}
	m, err := fetchReferrer(ctx, t, d)
	switch {
	case err != nil:
		// Listed as referring to this image but gone, unreadable or
		// pointing elsewhere: a stale, broken or planted entry.
		f.Kind = KindAttestation
		f.fail(err)
	case artifactTypeOf(m) != ArtifactTypeBundle:
		f.Kind, f.Status = KindIgnored, StatusIgnored
		f.ArtifactType = artifactTypeOf(m)
		f.Reason = "not a Sigstore bundle (artifact type " + f.ArtifactType + ")"
	default:
		f.ArtifactType = ArtifactTypeBundle
		if err := checkBundle(ctx, t, m, av, &f); err != nil {
			f.fail(err)
		} else {
			f.Verified, f.Status = true, StatusVerified
		}
	}
	return f
}

// judge counts the findings, applies the mode, and evaluates the
// requirements over the verified ones.
func (r *Report) judge(t *Target, opts VerifyOptions) {
	var atts []sbom.Attestation
	verifiedTypes := map[string]bool{}
	for i := range r.Findings {
		f := &r.Findings[i]
		switch {
		case f.Verified:
			if f.Kind == KindSignature {
				r.Signatures++
			} else {
				r.Attestations++
			}
			verifiedTypes[f.PredicateType] = true
			if f.st != nil {
				atts = append(atts, sbom.Attestation{Source: f.source(), Statement: f.st})
			}
		case f.Status == StatusFailed:
			r.Failures++
			if !opts.RequireAll {
				f.Status = StatusIgnored
				r.Ignored++
			}
		default:
			r.Ignored++
		}
	}
	for _, pt := range opts.PredicateTypes {
		if !verifiedTypes[pt] {
			r.MissingPredicateTypes = append(r.MissingPredicateTypes, pt)
		}
	}
	if opts.SBOMPolicy != nil {
		r.SBOM = sbom.Evaluate(*opts.SBOMPolicy, sbom.Artifact{
			Name:    t.String(),
			Digests: link.DigestSet{t.Descriptor.Digest.Algorithm: t.Descriptor.Digest.Hex},
		}, atts)
	}
}

// source names a finding in SBOM policy messages.
func (f *Finding) source() string {
	if f.Storage == StorageTag {
		return f.Tag + " layer " + f.Layer
	}
	return "referrer " + f.Referrer
}

// err is Verify's error for a report that is not OK.
func (r *Report) err(t *Target) error {
	var why []string
	if r.Signatures == 0 {
		why = append(why, fmt.Sprintf("no signature by a trusted key%s (%d entr%s did not verify)", r.required(), r.Failures, plural(r.Failures, "y", "ies")))
	} else if r.RequireAll && r.Failures > 0 {
		why = append(why, fmt.Sprintf("%d attached signature(s) or attestation(s) failed verification", r.Failures))
	}
	e := &verifyError{}
	if len(r.MissingPredicateTypes) > 0 {
		why = append(why, fmt.Sprintf("no verified attestation of type %s", strings.Join(r.MissingPredicateTypes, ", ")))
		e.causes = append(e.causes, ErrMissingPredicateType)
	}
	if r.SBOM != nil && !r.SBOM.OK() {
		why = append(why, fmt.Sprintf("SBOM policy: %d violation(s)", len(r.SBOM.Violations)))
		e.causes = append(e.causes, r.SBOM.Err())
	}
	e.msg = t.String() + ": " + strings.Join(why, "; ")
	for _, f := range r.Findings {
		if f.err != nil {
			e.causes = append(e.causes, f.err)
		}
	}
	return e
}

// required words the log and timestamp requirements for messages.
func (r *Report) required() string {
	switch {
	case r.RequireTlog && r.RequireTimestamp:
		return " with a verified transparency-log entry and RFC 3161 timestamp"
	case r.RequireTlog:
		return " with a verified transparency-log entry"
	case r.RequireTimestamp:
		return " with a verified RFC 3161 timestamp"
	}
	return ""
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
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
		if isNotFound(err) {
			return nil, fmt.Errorf("%w: %w", ErrStaleReferrer, err)
		}
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

func checkBundle(ctx context.Context, t *Target, m *v1.Manifest, av *attestation.Verifier, f *Finding) error {
	f.Kind = KindAttestation
	// What the manifest claims, shown until the statement says.
	f.PredicateType = m.Annotations[AnnotationPredicateType]
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
	va, err := verifyStatement(ctx, t, env, av, m.Annotations[AnnotationPredicateType], f)
	if va == nil {
		return err
	}
	f.Identity, f.Issuer = va.Identity, va.Issuer
	f.Tlog, f.Timestamps = va.Tlog, va.Timestamps
	if err != nil {
		return err
	}
	st := va.Statement
	if st.PredicateType != PredicateTypeSignature {
		f.st = st
		return nil
	}
	f.Kind = KindSignature
	// cosign v2 --new-bundle-format writes no predicate (statement.Parse
	// reads it as {}), cosign v3 an empty one, toto the simple-signing
	// document.
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

// verifyStatement verifies env, a referrer's bundle or a .att layer's
// envelope, through the one attestation path as a statement about this
// image, and records its key and predicate type in f; want is the
// predicate type the manifest or layer annotation claims, if any. The
// result is nil when nothing verified; with an error, it holds what did.
func verifyStatement(ctx context.Context, t *Target, env *envelope.Envelope, av *attestation.Verifier, want string, f *Finding) (*attestation.Verified, error) {
	va, err := av.Verify(ctx, env, link.DigestSet{t.Descriptor.Digest.Algorithm: t.Descriptor.Digest.Hex})
	if va == nil {
		return nil, err
	}
	if va.Key != nil {
		f.KeyID = va.Key.ID()
	}
	f.PredicateType = va.Statement.PredicateType
	if want != "" && want != va.Statement.PredicateType {
		return va, fmt.Errorf("annotation says predicate type %q, statement says %q", want, va.Statement.PredicateType)
	}
	if err != nil {
		return va, fmt.Errorf("statement subject does not name %s", t.Digest())
	}
	return va, nil
}

// Decision reports the verdict as a policy decision, to combine with other
// verifiers in an image policy: a signature by a trusted key, each
// required predicate type, the SBOM policy, and each entry that did not
// verify — enforced with RequireAll, a warning otherwise. Allowed is
// exactly OK.
func (r *Report) Decision() decision.Decision {
	d := decision.Decision{Subject: r.Image + "@" + r.Digest}
	var sigErr error
	if r.Signatures == 0 {
		sigErr = errors.New("no signature by a trusted key" + r.required())
	}
	d.Requirements = append(d.Requirements, decision.Check("signature by a trusted key"+r.required(), decision.Enforce, sigErr))
	for _, pt := range r.PredicateTypes {
		var err error
		if slices.Contains(r.MissingPredicateTypes, pt) {
			err = fmt.Errorf("%w: %s", ErrMissingPredicateType, pt)
		}
		d.Requirements = append(d.Requirements, decision.Check("attestation of type "+pt, decision.Enforce, err))
	}
	if r.SBOM != nil {
		d.Requirements = append(d.Requirements, decision.Check("SBOM policy", decision.Enforce, r.SBOM.Errors()...))
	}
	action := decision.Warn
	if r.RequireAll {
		action = decision.Enforce
	}
	for _, f := range r.Findings {
		if f.Verified || f.Error == "" {
			continue
		}
		what := f.Kind + " " + f.Referrer
		if f.Layer != "" {
			what += " layer " + f.Layer
		}
		d.Requirements = append(d.Requirements, decision.Check(what+" verifies", action, errors.New(f.Error)))
	}
	return d
}
