package notation

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	notationgo "github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/image"
)

// VerifyOptions tune Verify and VerifyEnvelope.
type VerifyOptions struct {
	// Policy is the trust policy (required).
	Policy *Policy
	// TrustStore holds the certificates the policy's trustStores name
	// (required).
	TrustStore *TrustStore
	// Scope is the registry scope the policy statement is picked by;
	// empty means ScopeOf the image (its repository, or local/NAME for an
	// OCI layout).
	Scope string
	// Revocation is RevocationOffline (the default) or RevocationOnline.
	Revocation Revocation
	// MaxSignatures bounds how many signatures are verified; zero means
	// 100. More are reported as not verified.
	MaxSignatures int
	// UserMetadata must all be present in a signature's payload
	// (notation verify --user-metadata).
	UserMetadata map[string]string
}

func (o VerifyOptions) check() error {
	if o.Policy == nil {
		return fmt.Errorf("%w: no trust policy", ErrUsage)
	}
	if o.TrustStore == nil {
		return fmt.Errorf("%w: no trust store", ErrUsage)
	}
	switch o.Revocation {
	case "", RevocationOffline, RevocationOnline:
	default:
		return fmt.Errorf("%w: revocation %q (want offline or online)", ErrUsage, string(o.Revocation))
	}
	return nil
}

// The checks of the Notary Project's verification, in the order
// notation-go runs them, as trustpolicy names them.
var checkTypes = []trustpolicy.ValidationType{
	trustpolicy.TypeIntegrity,
	trustpolicy.TypeAuthenticity,
	trustpolicy.TypeAuthenticTimestamp,
	trustpolicy.TypeExpiry,
	trustpolicy.TypeRevocation,
}

// Outcome is what one check found.
type Outcome string

// The outcomes of a check.
const (
	Passed Outcome = "passed"
	Failed Outcome = "failed"
	// Skipped: not evaluated — the level's action is skip, an enforced
	// check before it failed, or revocation could not be checked
	// offline (the Reason says which).
	Skipped Outcome = "skipped"
)

// Check is one verification check of one signature.
type Check struct {
	// Type is integrity, authenticity, authenticTimestamp, expiry or
	// revocation.
	Type string `json:"type"`
	// Action is what the policy's level does when it fails: enforce,
	// log or skip.
	Action  string  `json:"action"`
	Outcome Outcome `json:"outcome"`
	Reason  string  `json:"reason,omitempty"`
	Err     error   `json:"-"`
}

// SignatureResult is the verdict on one signature.
type SignatureResult struct {
	// Manifest is the signature manifest's digest (empty for
	// VerifyEnvelope).
	Manifest  string `json:"manifest,omitempty"`
	MediaType string `json:"mediaType"`
	// Signer is the signing certificate's subject.
	Signer        string     `json:"signer,omitempty"`
	SigningScheme string     `json:"signingScheme,omitempty"`
	SigningTime   *time.Time `json:"signingTime,omitempty"`
	Expiry        *time.Time `json:"expiry,omitempty"`
	Timestamped   bool       `json:"timestamped"`
	Checks        []Check    `json:"checks"`
	// Offline lists what revocation checking skipped offline: each
	// certificate (signing chain, or the TSA's) naming OCSP or CRL
	// endpoints, with them.
	Offline []string `json:"offline,omitempty"`
	// Verified: every enforced check passed and the payload names the
	// image.
	Verified bool   `json:"verified"`
	Reason   string `json:"reason,omitempty"`
	Err      error  `json:"-"`
}

// Report is the result of Verify.
type Report struct {
	// Image is REF@sha256:HEX.
	Image string `json:"image"`
	// Reference is what the policy statement was picked by:
	// SCOPE@sha256:HEX.
	Reference string `json:"reference"`
	// Statement is the trust policy statement's name, Level its
	// verification level (strict, permissive, audit, skip, or the level
	// with overrides).
	Statement string `json:"statement"`
	Level     string `json:"level"`
	// Enforcement is the action of each check under that level.
	Enforcement map[string]string `json:"enforcement"`
	Revocation  Revocation        `json:"revocation"`
	// Signatures are every Notary Project signature found, in listing
	// order.
	Signatures []SignatureResult `json:"signatures"`
}

// Skip reports whether the policy's level is skip: no signature was read,
// and the image is accepted, as notation does.
func (r *Report) Skip() bool { return r.Level == trustpolicy.LevelSkip.Name }

// OK reports whether the image passes: the level is skip, or at least one
// signature verified.
func (r *Report) OK() bool {
	if r.Skip() {
		return true
	}
	for _, s := range r.Signatures {
		if s.Verified {
			return true
		}
	}
	return false
}

// VerifyError is an image without a signature the policy accepts.
type VerifyError struct {
	Image string
	// Causes are the failures of each signature.
	Causes []error
}

func (e *VerifyError) Error() string {
	if len(e.Causes) == 0 {
		return fmt.Sprintf("%s: %s: no Notary Project signature found", ErrVerification, e.Image)
	}
	msgs := make([]string, len(e.Causes))
	for i, c := range e.Causes {
		msgs[i] = c.Error()
	}
	return fmt.Sprintf("%s: %s: %s", ErrVerification, e.Image, strings.Join(msgs, "; "))
}

func (e *VerifyError) Unwrap() []error { return append([]error{ErrVerification}, e.Causes...) }

// Err is nil when the image passes, else a *VerifyError.
func (r *Report) Err() error {
	if r.OK() {
		return nil
	}
	e := &VerifyError{Image: r.Image}
	for _, s := range r.Signatures {
		if s.Err != nil {
			e.Causes = append(e.Causes, fmt.Errorf("signature %s: %w", s.Manifest, s.Err))
		}
	}
	return e
}

// session is one verification: the verifier and its revocation
// validators.
type session struct {
	opts      VerifyOptions
	v         notationgo.Verifier
	statement *trustpolicy.TrustPolicy
	level     *trustpolicy.VerificationLevel
	ref       string
	cs, ts    *offlineValidator
}

func newSession(opts VerifyOptions, scope string, d v1.Hash) (*session, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	ref := scope + "@" + d.String()
	st, err := opts.Policy.Statement(ref)
	if err != nil {
		return nil, err
	}
	level, err := st.SignatureVerification.GetVerificationLevel()
	if err != nil {
		return nil, &PolicyError{Err: err}
	}
	s := &session{opts: opts, statement: st, level: level, ref: ref}
	vo := verifier.VerifierOptions{}
	if opts.Revocation != RevocationOnline {
		s.cs, s.ts = &offlineValidator{}, &offlineValidator{}
		vo.RevocationCodeSigningValidator, vo.RevocationTimestampingValidator = s.cs, s.ts
	}
	s.v, err = verifier.NewWithOptions(opts.Policy.doc, opts.TrustStore, nil, vo)
	if err != nil {
		return nil, &PolicyError{Err: err}
	}
	return s, nil
}

func (s *session) report(img string) *Report {
	r := &Report{
		Image:       img,
		Reference:   s.ref,
		Statement:   s.statement.Name,
		Level:       s.level.Name,
		Enforcement: map[string]string{},
		Revocation:  s.opts.Revocation,
	}
	if r.Revocation == "" {
		r.Revocation = RevocationOffline
	}
	if s.statement.SignatureVerification.VerificationLevel == trustpolicy.LevelSkip.Name {
		r.Level = trustpolicy.LevelSkip.Name
	} else if len(s.statement.SignatureVerification.Override) > 0 {
		r.Level = s.statement.SignatureVerification.VerificationLevel + " with overrides"
	}
	for _, t := range checkTypes {
		a := s.level.Enforcement[t]
		if r.Level == trustpolicy.LevelSkip.Name {
			a = trustpolicy.ActionSkip
		}
		r.Enforcement[string(t)] = string(a)
	}
	return r
}

// Verify checks every Notary Project signature attached to the image
// (listed as referrers with artifact type ArtifactType; each manifest is
// read and must have the image as subject) with notation-go's verifier
// under opts.Policy and opts.TrustStore, and reports each check. The image
// passes (Report.OK) when one signature verifies, as notation verify
// does, or when the policy statement's level is skip.
//
// The error is for what stops verification: bad options, no applicable
// policy statement (a *PolicyError), an unreadable referrers listing.
// Signatures that fail are in the report; Report.Err says why.
func Verify(ctx context.Context, t *image.Target, opts VerifyOptions) (*Report, error) {
	scope := opts.Scope
	if scope == "" {
		scope = ScopeOf(t)
	}
	s, err := newSession(opts, scope, t.Descriptor.Digest)
	if err != nil {
		return nil, err
	}
	r := s.report(t.String())
	if r.Skip() {
		return r, nil
	}
	refs, err := t.Referrers(ctx)
	if err != nil {
		return nil, err
	}
	max := opts.MaxSignatures
	if max <= 0 {
		max = 100
	}
	for _, d := range refs {
		if d.ArtifactType != ArtifactType {
			continue
		}
		if len(r.Signatures) >= max {
			err := fmt.Errorf("not verified: more than %d signatures", max)
			r.Signatures = append(r.Signatures, SignatureResult{Manifest: d.Digest.String(), Reason: err.Error(), Err: err})
			continue
		}
		layer, blob, err := readSignature(ctx, t, d.Digest)
		if err != nil {
			r.Signatures = append(r.Signatures, SignatureResult{Manifest: d.Digest.String(), Reason: err.Error(), Err: err})
			continue
		}
		res := s.verify(ctx, t.Descriptor, string(layer.MediaType), blob)
		res.Manifest = d.Digest.String()
		r.Signatures = append(r.Signatures, *res)
	}
	return r, nil
}

// VerifyEnvelope checks one signature envelope (JWS or COSE bytes, as
// the layer of a signature manifest holds it) of the artifact whose
// manifest descriptor is subject, under the policy statement that applies
// to scope: what Verify does for each signature it finds. The error is
// for bad options or no applicable statement; the verdict is in the
// result.
func VerifyEnvelope(ctx context.Context, subject v1.Descriptor, scope, mediaType string, envelope []byte, opts VerifyOptions) (*SignatureResult, error) {
	s, err := newSession(opts, scope, subject.Digest)
	if err != nil {
		return nil, err
	}
	if s.level.Name == trustpolicy.LevelSkip.Name {
		return &SignatureResult{MediaType: mediaType, Verified: true, Reason: "the trust policy statement's level is skip"}, nil
	}
	return s.verify(ctx, subject, mediaType, envelope), nil
}

func (s *session) verify(ctx context.Context, subject v1.Descriptor, mediaType string, blob []byte) *SignatureResult {
	res := &SignatureResult{MediaType: mediaType}
	if s.cs != nil {
		s.cs.take()
		s.ts.take()
	}
	desc := ociDescriptor(subject)
	outcome, err := s.v.Verify(ctx, desc, blob, notationgo.VerifierVerifyOptions{
		ArtifactReference:  s.ref,
		SignatureMediaType: mediaType,
		UserMetadata:       s.opts.UserMetadata,
	})
	var csSkipped, tsSkipped []string
	if s.cs != nil {
		csSkipped, tsSkipped = s.cs.take(), s.ts.take()
	}
	for _, c := range csSkipped {
		res.Offline = append(res.Offline, "revocation of "+c)
	}
	for _, c := range tsSkipped {
		res.Offline = append(res.Offline, "revocation of TSA certificate "+c)
	}
	if outcome == nil {
		res.Err, res.Reason = err, err.Error()
		return res
	}
	level := outcome.VerificationLevel
	if level == nil {
		level = s.level
	}
	if ec := outcome.EnvelopeContent; ec != nil {
		si := ec.SignerInfo
		if len(si.CertificateChain) > 0 {
			res.Signer = si.CertificateChain[0].Subject.String()
		}
		res.SigningScheme = string(si.SignedAttributes.SigningScheme)
		if st := si.SignedAttributes.SigningTime; !st.IsZero() {
			res.SigningTime = &st
		}
		if !si.SignedAttributes.Expiry.IsZero() {
			e := si.SignedAttributes.Expiry
			res.Expiry = &e
		}
		res.Timestamped = len(si.UnsignedAttributes.TimestampSignature) > 0
	}
	got := map[trustpolicy.ValidationType]*notationgo.ValidationResult{}
	for _, vr := range outcome.VerificationResults {
		if vr != nil {
			got[vr.Type] = vr
		}
	}
	for _, typ := range checkTypes {
		action := level.Enforcement[typ]
		c := Check{Type: string(typ), Action: string(action)}
		vr, ok := got[typ]
		switch {
		case ok && typ == trustpolicy.TypeRevocation && vr.Error == nil && len(csSkipped) > 0:
			c.Outcome = Skipped
			c.Err = fmt.Errorf("%w (offline): %s; verify with revocation online to check", ErrOffline, strings.Join(csSkipped, "; "))
			c.Reason = c.Err.Error()
		case ok && vr.Error == nil:
			c.Outcome = Passed
			switch {
			case typ == trustpolicy.TypeRevocation && s.cs != nil:
				c.Reason = "offline: no certificate in the chain names an OCSP server or CRL, so none is revocable"
			case typ == trustpolicy.TypeAuthenticTimestamp && len(tsSkipped) > 0:
				c.Reason = fmt.Sprintf("the timestamp verified; the TSA chain's revocation was not checked offline: %s", strings.Join(tsSkipped, "; "))
			}
		case ok:
			c.Outcome, c.Err = Failed, vr.Error
			c.Reason = vr.Error.Error()
		case action == trustpolicy.ActionSkip:
			c.Outcome, c.Reason = Skipped, "the trust policy's level skips it"
		default:
			c.Outcome, c.Reason = Skipped, "not evaluated: an enforced check before it failed"
		}
		res.Checks = append(res.Checks, c)
	}
	// notation-go checks unknown critical attributes only when a
	// verification plugin is named (and toto runs none); the
	// specification says a verifier fails on a critical attribute it
	// does not understand, so toto does, as an integrity failure.
	if ec := outcome.EnvelopeContent; ec != nil {
		var crit []string
		for _, a := range ec.SignerInfo.SignedAttributes.ExtendedAttributes {
			if a.Critical {
				crit = append(crit, fmt.Sprint(a.Key))
			}
		}
		if len(crit) > 0 {
			ce := &CriticalError{Attributes: crit}
			res.Checks[0].Outcome, res.Checks[0].Err, res.Checks[0].Reason = Failed, ce, ce.Error()
			for i := 1; i < len(res.Checks); i++ {
				if res.Checks[i].Outcome == Passed {
					res.Checks[i].Outcome, res.Checks[i].Reason = Skipped, "not evaluated: an enforced check before it failed"
				}
			}
			res.Err, res.Reason = ce, ce.Error()
			return res
		}
	}
	if err == nil {
		res.Verified = true
		return res
	}
	res.Err = err
	// notation-go says "content descriptor mismatch": say what the
	// payload signs instead.
	if ec := outcome.EnvelopeContent; ec != nil && outcome.Error != nil && outcome.Error.Error() == "content descriptor mismatch" {
		var p struct {
			TargetArtifact ocispec.Descriptor `json:"targetArtifact"`
		}
		if json.Unmarshal(ec.Payload.Content, &p) == nil {
			res.Err = &OtherArtifactError{Signed: describe(p.TargetArtifact), Image: describe(desc)}
		}
	}
	res.Reason = res.Err.Error()
	return res
}

func describe(d ocispec.Descriptor) string {
	return fmt.Sprintf("%s (%d bytes, %s)", d.Digest, d.Size, d.MediaType)
}

// Decision gives the report as a decision.Decision with one requirement,
// "notation signature (trust policy statement NAME, level LEVEL)": any one
// signature verified satisfies it. Each signature is a child requirement
// (enforced, satisfied when it verified) whose children are its checks,
// with the policy's action: enforce as decision.Enforce, log as
// decision.Audit (logged, allowed), skip as an audited skipped
// requirement. A statement at level skip gives an audited skipped
// requirement: allowed, as notation allows it.
func (r *Report) Decision() decision.Decision {
	name := fmt.Sprintf("notation signature (trust policy statement %q, level %s)", r.Statement, r.Level)
	d := decision.Decision{Subject: r.Image}
	if r.Skip() {
		d.Requirements = []decision.Requirement{decision.Skip(name, decision.Audit, "the trust policy statement's level is skip: signatures are not verified")}
		return d
	}
	var sigs []decision.Requirement
	for _, s := range r.Signatures {
		sr := decision.Requirement{Name: "signature " + s.Manifest, Action: decision.Enforce, Outcome: decision.Satisfied}
		if s.Signer != "" {
			sr.Name += " by " + s.Signer
		}
		if !s.Verified {
			sr.Outcome, sr.Reason = decision.Violated, s.Reason
			if s.Err != nil {
				sr.Errors = []error{s.Err}
			}
		}
		for _, c := range s.Checks {
			sr.Children = append(sr.Children, checkRequirement(c))
		}
		sigs = append(sigs, sr)
	}
	req := decision.Any(name, decision.Enforce, sigs...)
	if len(sigs) == 0 {
		req.Reason = "no Notary Project signature found"
	}
	d.Requirements = []decision.Requirement{req}
	return d
}

func checkRequirement(c Check) decision.Requirement {
	action := decision.Enforce
	switch trustpolicy.ValidationAction(c.Action) {
	case trustpolicy.ActionLog, trustpolicy.ActionSkip:
		action = decision.Audit
	}
	r := decision.Requirement{Name: c.Type, Action: action, Reason: c.Reason}
	switch c.Outcome {
	case Passed:
		r.Outcome = decision.Satisfied
	case Failed:
		r.Outcome = decision.Violated
	default:
		r.Outcome = decision.Skipped
	}
	if c.Err != nil {
		r.Errors = []error{c.Err}
	}
	return r
}
