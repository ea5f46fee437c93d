package verifier

import (
	"errors"

	"github.com/toto-dev/toto/decision"
)

// Decision reports the result as a policy decision about subject (what
// the chain produced, e.g. an image reference), so that it combines with
// other verifiers' decisions in an image policy. Every requirement is
// enforced: the layout's signatures and expiry, then each step and
// inspection, then the attestations. When the layout is not trusted, the
// steps and inspections are Skipped, not Satisfied: nothing a step showed
// counts under an untrusted layout.
func (r *Result) Decision(subject string) decision.Decision {
	d := decision.Decision{Subject: subject}
	var layoutErrs, attErrs []error
	for _, f := range r.Failures {
		var se *LayoutSignatureError
		var ee *ExpiredError
		var ae *AttestationError
		switch {
		case errors.As(f, &se), errors.As(f, &ee):
			layoutErrs = append(layoutErrs, f)
		case errors.As(f, &ae):
			attErrs = append(attErrs, f)
		}
	}
	name := "layout signed by every owner key and not expired"
	d.Requirements = append(d.Requirements, decision.Check(name, decision.Enforce, layoutErrs...))
	trusted := len(layoutErrs) == 0
	items := append(append([]*ItemResult(nil), r.Steps...), r.Inspections...)
	for _, it := range items {
		what := "step " + it.Name
		if it.Inspection {
			what = "inspection " + it.Name
		}
		switch {
		case !trusted:
			d.Requirements = append(d.Requirements, decision.Skip(what, decision.Enforce, "not evaluated: the layout is not trusted"))
		case it.Status == StatusSkipped:
			d.Requirements = append(d.Requirements, decision.Skip(what, decision.Enforce, it.SkipReason))
		default:
			d.Requirements = append(d.Requirements, decision.Check(what, decision.Enforce, it.Failures...))
		}
	}
	if len(r.Attestations) > 0 || len(attErrs) > 0 {
		d.Requirements = append(d.Requirements, decision.Check("attestations about the final product", decision.Enforce, attErrs...))
	}
	return d
}
