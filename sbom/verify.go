package sbom

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/toto-dev/toto/attestation"
	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/statement"
)

// Rule names the check a Violation failed.
type Rule string

// The checks Evaluate and Verify make.
const (
	RuleSignature     Rule = "signature"      // not signed by an authorised key
	RuleSubject       Rule = "subject"        // attestation is about another artifact
	RulePredicate     Rule = "predicate"      // SBOM does not parse
	RuleRequireSBOM   Rule = "require-sbom"   // no usable SBOM, policy requires one
	RuleDenyLicense   Rule = "deny-license"   // component under a denied license
	RuleDenyComponent Rule = "deny-component" // denied component present
)

// Artifact is the product the SBOMs must describe.
type Artifact struct {
	Name    string
	Digests link.DigestSet
}

// Attestation is an in-toto Statement whose signature the caller has
// verified, with where it came from for messages.
type Attestation struct {
	Source    string
	Statement *statement.Statement
}

// SignedAttestation is an envelope holding an in-toto Statement, not yet
// verified.
type SignedAttestation struct {
	Source   string
	Envelope *envelope.Envelope
}

// Violation is one failed check.
type Violation struct {
	Rule Rule `json:"rule"`
	// Attestation is the Source of the attestation concerned, if any.
	Attestation string `json:"attestation,omitempty"`
	// Component is "name@version" for license and component rules.
	Component string `json:"component,omitempty"`
	// Message is a complete sentence for people.
	Message string `json:"message"`
}

func (v Violation) Error() string { return v.Message }

// CheckedSBOM records an SBOM that was about the artifact and parsed.
type CheckedSBOM struct {
	Source        string `json:"source"`
	PredicateType string `json:"predicateType"`
	Components    int    `json:"components"`
}

// Result is the outcome of the SBOM checks for one artifact. Every
// violation is listed, not just the first.
type Result struct {
	Artifact   string        `json:"artifact"`
	SBOMs      []CheckedSBOM `json:"sboms"`
	Violations []Violation   `json:"violations"`
}

// OK reports whether nothing was violated.
func (r *Result) OK() bool { return len(r.Violations) == 0 }

// Err is nil when OK, otherwise an error listing every violation; each is
// reachable with errors.As as a Violation.
func (r *Result) Err() error {
	if r.OK() {
		return nil
	}
	errs := make([]error, len(r.Violations))
	for i, v := range r.Violations {
		errs[i] = v
	}
	return fmt.Errorf("SBOM policy failed for %s: %w", r.Artifact, errors.Join(errs...))
}

func (r *Result) add(v Violation) { r.Violations = append(r.Violations, v) }

// Evaluate checks attestations (signatures already verified) against the
// artifact and the policy. Statements whose predicate type is not an SBOM
// are ignored. For each SBOM statement it checks that a subject's digests
// equal the artifact's (every shared algorithm, at least one), that the
// predicate parses, and that no component has a denied license or is a
// denied component; then, if the policy requires it, that at least one
// SBOM passed the first two checks. It does no I/O.
func Evaluate(p Policy, a Artifact, atts []Attestation) *Result {
	r := &Result{Artifact: a.Name}
	for _, att := range atts {
		st := att.Statement
		if st == nil || !IsSBOMPredicateType(st.PredicateType) {
			continue
		}
		src := att.Source
		if !st.Matches(a.Digests) {
			r.add(Violation{Rule: RuleSubject, Attestation: src, Message: fmt.Sprintf(
				"attestation %s: no subject matches artifact %s %s (subjects: %s)",
				src, a.Name, digestString(a.Digests), subjectsString(st.Subject))})
			continue
		}
		inv, err := ParsePredicate(st.PredicateType, st.Predicate)
		if err != nil {
			r.add(Violation{Rule: RulePredicate, Attestation: src, Message: fmt.Sprintf(
				"attestation %s: predicate of type %s does not parse: %v", src, st.PredicateType, err)})
			continue
		}
		all := inv.All()
		r.SBOMs = append(r.SBOMs, CheckedSBOM{Source: src, PredicateType: st.PredicateType, Components: len(all)})
		for i := range all {
			c := &all[i]
			if ids := p.deniedLicenses(c.License); len(ids) > 0 {
				var msg string
				if len(ids) == 1 && strings.TrimSpace(c.License) == ids[0] {
					msg = fmt.Sprintf("component %s has license %s, denied by policy (attestation %s)", c.Ref(), ids[0], src)
				} else {
					msg = fmt.Sprintf("component %s has license %q; %s denied by policy (attestation %s)",
						c.Ref(), c.License, joinIs(ids), src)
				}
				r.add(Violation{Rule: RuleDenyLicense, Attestation: src, Component: c.Ref(), Message: msg})
			}
			if entry := p.deniedBy(c); entry != "" {
				id := c.Ref()
				if c.PURL != "" {
					id += " (" + c.PURL + ")"
				}
				r.add(Violation{Rule: RuleDenyComponent, Attestation: src, Component: c.Ref(), Message: fmt.Sprintf(
					"component %s is denied by policy entry %q (attestation %s)", id, entry, src)})
			}
		}
	}
	if p.RequireSBOM && len(r.SBOMs) == 0 {
		r.add(Violation{Rule: RuleRequireSBOM, Message: fmt.Sprintf(
			"artifact %s has no valid SBOM attestation (SPDX or CycloneDX, signed by an authorised key, subject matching its digest), but the policy requires one", a.Name)})
	}
	return r
}

// CheckProducts applies the policy to the final products of a supply
// chain, as the verifier's attestation check: every SBOM attestation
// (signature already verified) whose subject matches one of the products
// is judged like Evaluate does; attestations about none of them are left
// to the verifier, which reports them. RequireSBOM is satisfied when at
// least one product has a valid SBOM. It does no I/O.
func CheckProducts(p Policy, final link.Artifacts, atts []Attestation) *Result {
	r := &Result{Artifact: "final product"}
	sub := p
	sub.RequireSBOM = false
	names := final.Paths()
	for _, a := range atts {
		if a.Statement == nil || !IsSBOMPredicateType(a.Statement.PredicateType) {
			continue
		}
		// Judge each attestation once, against the first product it is
		// about, even if it names several.
		for _, name := range names {
			if a.Statement.Matches(final[name]) {
				one := Evaluate(sub, Artifact{Name: name, Digests: final[name]}, []Attestation{a})
				r.SBOMs = append(r.SBOMs, one.SBOMs...)
				r.Violations = append(r.Violations, one.Violations...)
				break
			}
		}
	}
	if p.RequireSBOM && len(r.SBOMs) == 0 {
		r.add(Violation{Rule: RuleRequireSBOM, Message: fmt.Sprintf(
			"no final product (%s) has a valid SBOM attestation (SPDX or CycloneDX, signed by an authorised key), but the policy requires one",
			strings.Join(final.Paths(), ", "))})
	}
	return r
}

// Errors returns the violations as errors, for callers that collect
// errors from several checks.
func (r *Result) Errors() []error {
	out := make([]error, len(r.Violations))
	for i, v := range r.Violations {
		out[i] = v
	}
	return out
}

// Verify is Evaluate for envelopes: each must hold an in-toto Statement and
// carry a valid signature by one of the authorised keys (from the layout).
// SBOM attestations failing that are reported as RuleSignature violations
// and not used. Envelopes holding something other than a Statement (links,
// layouts) and Statements with other predicate types are ignored; a
// payload that claims to be a Statement but is malformed is a violation.
// It does no I/O.
func Verify(p Policy, a Artifact, envs []SignedAttestation, authorised []*keys.Key) *Result {
	av := attestation.NewVerifier(attestation.Options{Keys: attestation.Keys(authorised...)})
	var atts []Attestation
	var sigViolations []Violation
	for _, se := range envs {
		if se.Envelope == nil {
			continue
		}
		// Links and layouts may sit beside attestations; only in-toto
		// Statements are ours to judge.
		if typ, err := se.Envelope.PayloadTypeField(); err != nil || !statement.IsType(typ) {
			continue
		}
		st, err := statement.Parse(se.Envelope.Payload())
		if err != nil {
			sigViolations = append(sigViolations, Violation{Rule: RulePredicate, Attestation: se.Source,
				Message: fmt.Sprintf("attestation %s: not a valid in-toto Statement: %v", se.Source, err)})
			continue
		}
		if !IsSBOMPredicateType(st.PredicateType) {
			continue
		}
		// Signature and payloadType, through the one attestation path;
		// the subject is Evaluate's to judge, with its own messages.
		if _, err := av.Verify(context.Background(), se.Envelope); err != nil {
			sigViolations = append(sigViolations, Violation{Rule: RuleSignature, Attestation: se.Source,
				Message: fmt.Sprintf("attestation %s: %v", se.Source, err)})
			continue
		}
		atts = append(atts, Attestation{Source: se.Source, Statement: st})
	}
	r := Evaluate(p, a, atts)
	r.Violations = append(sigViolations, r.Violations...)
	return r
}

func shortIDs(ids []string) []string {
	if len(ids) == 0 {
		return []string{"nobody"}
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = keys.ShortID(id)
	}
	return out
}

func joinIs(ids []string) string {
	if len(ids) == 1 {
		return ids[0] + " is"
	}
	return strings.Join(ids, ", ") + " are"
}

func digestString(d link.DigestSet) string {
	algs := make([]string, 0, len(d))
	for alg := range d {
		algs = append(algs, alg)
	}
	sort.Strings(algs)
	parts := make([]string, len(algs))
	for i, alg := range algs {
		v := d[alg]
		if len(v) > 12 {
			v = v[:12] + "…"
		}
		parts[i] = alg + ":" + v
	}
	return strings.Join(parts, " ")
}

func subjectsString(subs []statement.Subject) string {
	parts := make([]string, len(subs))
	for i, s := range subs {
		parts[i] = strings.TrimSpace(s.Name + " " + digestString(s.Digest))
	}
	return strings.Join(parts, "; ")
}
