package verifier

import (
	"errors"
	"time"

	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
)

// ArtifactKind names one of the two artifact queues of an item.
type ArtifactKind string

// The two artifact kinds.
const (
	MaterialsQueue ArtifactKind = "materials"
	ProductsQueue  ArtifactKind = "products"
)

// Result is the outcome of a verification: every check, per step and per
// rule, and every failure.
type Result struct {
	// Name is "" for the root layout and the step name for a sublayout.
	Name string
	// Layout is the policy as verified, after parameter substitution.
	Layout *layout.Layout
	// Signatures has one entry per layout key.
	Signatures []SignatureCheck
	// Now is the verification time used for the expiry check.
	Now time.Time
	// Expired is set when the layout had expired at Now.
	Expired bool
	// Steps and Inspections are in layout order.
	Steps       []*ItemResult
	Inspections []*ItemResult
	// Summary is the link that stands for the whole chain: materials of
	// the first step, products of the last (what a superlayout sees of a
	// sublayout).
	Summary *link.Link
	// Attestations has one entry per attestation given in Options.
	Attestations []*AttestationResult
	// Failures is every failure, in the order found. Empty means the
	// supply chain passed.
	Failures []error
	// Warnings do not fail verification (e.g. an expected command that
	// differs from the one run).
	Warnings []Warning
}

// Passed reports whether verification succeeded.
func (r *Result) Passed() bool { return len(r.Failures) == 0 }

// Err returns nil when verification passed, and otherwise all failures
// joined; use errors.As to find, e.g., the first *RuleFailure.
func (r *Result) Err() error { return errors.Join(r.Failures...) }

// Step returns the result for the named step or inspection.
func (r *Result) Step(name string) *ItemResult {
	for _, s := range r.Steps {
		if s.Name == name {
			return s
		}
	}
	for _, s := range r.Inspections {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func (r *Result) fail(err error) { r.Failures = append(r.Failures, err) }

// SignatureCheck is the check of the layout's signature by one layout key,
// as layout.Verify made it.
type SignatureCheck = layout.SignatureCheck

// Warning is something a person should know that does not fail
// verification.
type Warning struct {
	// Item is the step or inspection concerned, if any.
	Item    string
	Message string
}

func (w Warning) String() string {
	if w.Item == "" {
		return w.Message
	}
	return w.Item + ": " + w.Message
}

// ItemStatus summarises an item's outcome.
type ItemStatus string

// Item outcomes.
const (
	StatusPassed  ItemStatus = "passed"
	StatusFailed  ItemStatus = "failed"
	StatusSkipped ItemStatus = "skipped"
)

// ItemResult is the outcome for one step or inspection.
type ItemResult struct {
	Name       string
	Inspection bool
	Status     ItemStatus
	// SkipReason says why an item was not (fully) checked, e.g. why an
	// inspection did not run.
	SkipReason string

	// Threshold and Links are for steps: every link found for the step,
	// accepted or not, and the distinct keys that were accepted.
	Threshold int
	Links     []*LinkCheck
	Signers   []string
	// Sublayouts holds the results of sublayouts provided for the step.
	Sublayouts []*Result

	// Run is the command an inspection ran, ExitCode its status.
	Run      []string
	ExitCode int
	// Ran says the inspection's command did run (ExitCode is its
	// status); false for one skipped or stopped by its material rules.
	Ran bool

	// Link is the evidence the rules were applied to: the step's reduced
	// link, or the link recorded for an inspection. Nil if there was none.
	Link *link.Link

	// Materials and Products are the rule results for each queue; nil when
	// the rules were not evaluated (no link).
	Materials, Products *RuleSetResult

	// Failures are this item's failures (also in Result.Failures).
	Failures []error
}

func (it *ItemResult) fail(res *Result, err error) {
	it.Failures = append(it.Failures, err)
	it.Status = StatusFailed
	res.fail(err)
}

// LinkCheck is the outcome of one piece of evidence found for a step.
type LinkCheck struct {
	// Source names it, e.g. "package.2f89b927.link".
	Source string
	// Signers are the authorised keys (keyids as listed in the step's
	// pubkeys) with a valid signature on it.
	Signers []string
	// Accepted is set when the link counts for the step.
	Accepted bool
	// Reason says why it was not accepted.
	Reason string
	// Sublayout is set when the evidence is a layout.
	Sublayout bool
	// Link is the link payload (for a sublayout: its summary link).
	Link *link.Link
}

// RuleSetResult is the outcome of one queue's rules (an item's
// expected_materials or expected_products).
type RuleSetResult struct {
	Kind ArtifactKind
	// Artifacts is how many artifacts the queue started with.
	Artifacts int
	Rules     []*RuleResult
	// Unconsumed is how many artifacts no rule consumed (they are allowed
	// implicitly unless a DISALLOW rule caught them).
	Unconsumed int
}

// RuleResult is the outcome of one artifact rule.
type RuleResult struct {
	Index int
	Rule  layout.Rule
	// Matched is how many queued artifacts the rule's pattern selected.
	Matched int
	// Consumed are the artifacts the rule removed from the queue, sorted.
	Consumed []string
	// QueueAfter is the queue length after the rule.
	QueueAfter int
	// Failures are the artifacts this rule failed (DISALLOW, REQUIRE).
	Failures []*RuleFailure
	// DestMissing is set for a MATCH rule whose FROM step or inspection has
	// no link: it cannot consume anything.
	DestMissing bool
}

// AttestationResult is the outcome for one attestation about the final
// product.
type AttestationResult struct {
	Source        string
	PredicateType string
	// Signers are the keys (keyids as listed in the layout) that validly
	// signed it.
	Signers []string
	// Subjects are the final products it is about.
	Subjects []string
	// Checked is set when an AttestationCheck handles its predicate type.
	Checked  bool
	Failures []error
}
