package verifier

import (
	"context"
	"fmt"

	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/sbom"
)

// SBOMCheck applies an SBOM policy to the attestations about the final
// product, as an AttestationCheck: every SBOM attestation whose signature
// and subject the verifier accepted is judged by sbom.CheckProducts.
// Verify adds one for the policy signed into the layout (its "sbom"
// member) by itself; pass more in Options.AttestationChecks.
func SBOMCheck(p sbom.Policy) AttestationCheck { return sbomCheck{p} }

type sbomCheck struct{ policy sbom.Policy }

func (c sbomCheck) Handles(predicateType string) bool { return sbom.IsSBOMPredicateType(predicateType) }

func (c sbomCheck) Check(_ context.Context, final link.Artifacts, atts []VerifiedAttestation) []error {
	in := make([]sbom.Attestation, len(atts))
	for i, a := range atts {
		in[i] = sbom.Attestation{Source: a.Source, Statement: a.Statement}
	}
	return sbom.CheckProducts(c.policy, final, in).Errors()
}

// layoutChecks returns the attestation checks the layout itself signs in:
// its SBOM policy, if it has one. A malformed policy is an input error.
func layoutChecks(l *layout.Layout) ([]AttestationCheck, error) {
	raw := l.Extra["sbom"]
	if raw == nil {
		return nil, nil
	}
	p, err := sbom.ParsePolicy(raw)
	if err != nil {
		return nil, fmt.Errorf("layout: field \"sbom\": %w", err)
	}
	return []AttestationCheck{SBOMCheck(p)}, nil
}
