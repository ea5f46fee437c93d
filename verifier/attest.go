package verifier

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/toto-dev/toto/attestation"
	"github.com/toto-dev/toto/link"
)

// checkAttestations checks each attestation about the final product: a
// valid signature by a key of the layout (functionary) or a layout key, an
// in-toto Statement whose subject is a final product by digest; then runs
// the attestation checks (policies) over those that verified.
func (v *verification) checkAttestations(ctx context.Context, res *Result) {
	if len(v.opts.Attestations) == 0 && len(v.opts.AttestationChecks) == 0 {
		return
	}
	var trusted []attestation.TrustedKey
	ids := make([]string, 0, len(res.Layout.Keys))
	for id := range res.Layout.Keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		trusted = append(trusted, attestation.TrustedKey{ID: id, Key: res.Layout.Keys[id]})
	}
	trusted = append(trusted, attestation.Keys(v.opts.LayoutKeys...)...)
	av := attestation.NewVerifier(attestation.Options{Keys: trusted})
	final := res.Summary.Products
	paths := final.Paths()
	digests := make([]link.DigestSet, len(paths))
	for i, p := range paths {
		digests[i] = final[p]
	}
	var verified []VerifiedAttestation
	for i, a := range v.opts.Attestations {
		ar := &AttestationResult{Source: a.Source}
		if ar.Source == "" {
			ar.Source = fmt.Sprintf("#%d", i+1)
		}
		res.Attestations = append(res.Attestations, ar)
		fail := func(reason string, err error) {
			e := &AttestationError{Source: ar.Source, Reason: reason, Err: err}
			ar.Failures = append(ar.Failures, e)
			res.fail(e)
		}
		if a.Envelope == nil {
			fail("no envelope", nil)
			continue
		}
		va, err := av.Verify(ctx, a.Envelope, digests...)
		if va != nil {
			ar.Signers = va.Signers
			ar.PredicateType = va.Statement.PredicateType
			for _, k := range va.Subjects {
				ar.Subjects = append(ar.Subjects, paths[k])
			}
		}
		var ae *attestation.Error
		switch {
		case err == nil:
		case !errors.As(err, &ae):
			fail("not verifiable", err)
			continue
		case ae.Stage == attestation.StageSignature:
			fail("not signed by any key of the layout or any layout key", nil)
			continue
		case ae.Stage == attestation.StagePayloadType:
			fail(ae.Err.Error(), nil)
			continue
		case ae.Stage == attestation.StageStatement:
			fail("not an in-toto Statement v1", ae.Err)
			continue
		case ae.Stage == attestation.StageSubject:
			fail(fmt.Sprintf("no subject has the digest of a final product (the %d products of the last step)", len(final)), nil)
		}
		verified = append(verified, VerifiedAttestation{Source: ar.Source, Statement: va.Statement, Signers: ar.Signers})
		for _, c := range v.opts.AttestationChecks {
			if c.Handles(va.Statement.PredicateType) {
				ar.Checked = true
			}
		}
		if !ar.Checked {
			res.Warnings = append(res.Warnings, Warning{Message: fmt.Sprintf(
				"attestation %s: no policy checks predicate type %s; only its signature and subject were verified", ar.Source, va.Statement.PredicateType)})
		}
	}
	for _, c := range v.opts.AttestationChecks {
		for _, err := range c.Check(ctx, final, verified) {
			res.fail(&AttestationError{Err: err})
		}
	}
}
