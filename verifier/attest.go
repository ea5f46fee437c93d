package verifier

import (
	"context"
	"fmt"
	"sort"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/statement"
)

// checkAttestations checks each attestation about the final product: a
// valid signature by a key of the layout (functionary) or a layout key, an
// in-toto Statement whose subject is a final product by digest; then runs
// the attestation checks (policies) over those that verified.
func (v *verification) checkAttestations(ctx context.Context, res *Result) {
	if len(v.opts.Attestations) == 0 && len(v.opts.AttestationChecks) == 0 {
		return
	}
	type signer struct {
		id  string
		key *keys.Key
	}
	var signers []signer
	ids := make([]string, 0, len(res.Layout.Keys))
	for id := range res.Layout.Keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		signers = append(signers, signer{id, res.Layout.Keys[id]})
	}
	for _, k := range v.opts.LayoutKeys {
		signers = append(signers, signer{k.ID(), k})
	}
	final := res.Summary.Products
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
		e := a.Envelope
		if e == nil {
			fail("no envelope", nil)
			continue
		}
		for _, s := range signers {
			if e.Verify(s.key) == nil {
				ar.Signers = append(ar.Signers, s.id)
			}
		}
		if len(ar.Signers) == 0 {
			fail("not signed by any key of the layout or any layout key", nil)
			continue
		}
		if e.Format != envelope.Metablock && e.PayloadType != envelope.PayloadTypeInToto {
			fail(fmt.Sprintf("DSSE payloadType %q is not %q", e.PayloadType, envelope.PayloadTypeInToto), nil)
			continue
		}
		st, err := statement.Parse(e.Payload())
		if err != nil {
			fail("not an in-toto Statement v1", err)
			continue
		}
		ar.PredicateType = st.PredicateType
		for _, p := range final.Paths() {
			if st.Matches(final[p]) {
				ar.Subjects = append(ar.Subjects, p)
			}
		}
		if len(ar.Subjects) == 0 {
			fail(fmt.Sprintf("no subject has the digest of a final product (the %d products of the last step)", len(final)), nil)
		}
		verified = append(verified, VerifiedAttestation{Source: ar.Source, Statement: st, Signers: ar.Signers})
		for _, c := range v.opts.AttestationChecks {
			if c.Handles(st.PredicateType) {
				ar.Checked = true
			}
		}
		if !ar.Checked {
			res.Warnings = append(res.Warnings, Warning{Message: fmt.Sprintf(
				"attestation %s: no policy checks predicate type %s; only its signature and subject were verified", ar.Source, st.PredicateType)})
		}
	}
	for _, c := range v.opts.AttestationChecks {
		for _, err := range c.Check(ctx, final, verified) {
			res.fail(&AttestationError{Err: err})
		}
	}
}
