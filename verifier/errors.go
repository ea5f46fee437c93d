package verifier

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
)

// Errors returned by Verify for bad input (as opposed to a supply chain
// that fails verification, which is reported in the Result).
var (
	// ErrNoLayoutKeys: at least one layout key is required.
	ErrNoLayoutKeys = layout.ErrNoLayoutKeys
	// ErrNoLinkSource: Options.Links is nil.
	ErrNoLinkSource = errors.New("no link source given")
	// ErrNotALayout: the envelope does not hold a layout.
	ErrNotALayout = layout.ErrNotALayout
)

// LayoutSignatureError: a layout key did not sign the layout (validly).
type LayoutSignatureError struct {
	// Layout names the layout: "root layout" or "sublayout of step X".
	Layout string
	KeyID  string
	Err    error
	// SignedBy are the keyids the layout's signatures name, to tell a
	// layout signed by other keys from one not signed at all.
	SignedBy []string
}

func (e *LayoutSignatureError) Error() string {
	msg := fmt.Sprintf("%s: not signed by layout key %s: %v", e.Layout, keys.ShortID(e.KeyID), e.Err)
	if errors.Is(e.Err, envelope.ErrNoSignature) {
		if len(e.SignedBy) == 0 {
			return msg + "; the layout has no signatures: sign it with toto sign --key OWNER.key LAYOUT"
		}
		ids := make([]string, len(e.SignedBy))
		for i, id := range e.SignedBy {
			ids[i] = keys.ShortID(id)
		}
		return msg + fmt.Sprintf("; it is signed by %s", strings.Join(ids, ", "))
	}
	return msg
}

func (e *LayoutSignatureError) Unwrap() error { return e.Err }

// ExpiredError: the layout expired before the verification time.
type ExpiredError struct {
	Layout       string
	Expires, Now time.Time
}

func (e *ExpiredError) Error() string {
	return fmt.Sprintf("%s expired on %s (verification time %s)", e.Layout,
		e.Expires.UTC().Format(layout.TimeFormat), e.Now.UTC().Format(layout.TimeFormat))
}

// LayoutError: the (sub)layout is not usable as policy, e.g. two steps share
// a name or a threshold is below 1.
type LayoutError struct {
	Layout string
	Reason string
}

func (e *LayoutError) Error() string { return fmt.Sprintf("%s: %s", e.Layout, e.Reason) }

// ThresholdError: fewer distinct authorised functionaries than the step's
// threshold provided a valid link.
type ThresholdError struct {
	Step      string
	Threshold int
	// Signers are the distinct keys (keyids as listed in the layout) whose
	// links were accepted.
	Signers []string
	// Rejected explains every link that was found but not accepted.
	Rejected []*LinkCheck
	// Missing says where no link at all was found for the step, when the
	// source can tell (a links folder); nil otherwise.
	Missing *MissingLinks
}

// MissingLinks is what a person needs when a step has no link at all:
// where toto looked, for which names, and what else was there.
type MissingLinks struct {
	// Location is the folder looked in.
	Location string `json:"location"`
	// LookedFor are the file names an authorised functionary's link would
	// have ("<step>.<keyid prefix>.link").
	LookedFor []string `json:"lookedFor"`
	// Empty says the folder holds no link file at all.
	Empty bool `json:"empty,omitempty"`
	// Unused are link files there that are for no step of the layout.
	Unused []string `json:"unused,omitempty"`
	// Near is the step name of an unused file that is close to this
	// step's name (a typo), if any.
	Near string `json:"didYouMean,omitempty"`
}

func (e *ThresholdError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "step %s: needs links from %d distinct authorised functionaries, found %d", e.Step, e.Threshold, len(e.Signers))
	if len(e.Signers) > 0 {
		ids := make([]string, len(e.Signers))
		for i, s := range e.Signers {
			ids[i] = keys.ShortID(s)
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(ids, ", "))
	}
	for _, r := range e.Rejected {
		fmt.Fprintf(&b, "; %s rejected: %s", r.Source, r.Reason)
	}
	if m := e.Missing; m != nil {
		if len(m.LookedFor) > 0 {
			fmt.Fprintf(&b, "; looked in %s for %s", m.Location, strings.Join(m.LookedFor, ", "))
		}
		switch {
		case m.Empty:
			fmt.Fprintf(&b, "; %s holds no link files at all: point --links at the folder the links were written to", m.Location)
		case m.Near != "":
			fmt.Fprintf(&b, "; did you mean step %s → %s? (%s is there)", m.Near, e.Step, strings.Join(m.Unused, ", "))
		case len(m.Unused) > 0:
			fmt.Fprintf(&b, "; link files there for no step of the layout: %s", strings.Join(m.Unused, ", "))
		}
	}
	return b.String()
}

// DisagreementError: links accepted for one step report different
// materials or products, so the functionaries do not vouch for the same
// thing.
type DisagreementError struct {
	Step string
	// A and B name the two links that differ.
	A, B string
	// Differences lists the first few differing artifacts, e.g.
	// "products foo.tar.gz: sha256 1a2b… vs 3c4d…".
	Differences []string
}

func (e *DisagreementError) Error() string {
	return fmt.Sprintf("step %s: links %s and %s report different artifacts: %s", e.Step, e.A, e.B, strings.Join(e.Differences, "; "))
}

// RuleFailure: an artifact failed an artifact rule (DISALLOW matched it,
// or REQUIRE did not find it).
type RuleFailure struct {
	// Item is the step or inspection name.
	Item string
	// Inspection is set when Item is an inspection.
	Inspection bool
	// Kind says which queue: materials or products.
	Kind ArtifactKind
	// RuleIndex is the position of Rule in the item's rule list.
	RuleIndex int
	Rule      layout.Rule
	Artifact  string
	// Reason says why, in words a person can act on, e.g. "foo.tar.gz was
	// DISALLOWed; nothing earlier consumed it; closest rule: MATCH ... —
	// hashes differ".
	Reason string
	// NearMisses are the earlier rules whose pattern covered the artifact
	// but that did not consume it, with the reason each did not.
	NearMisses []NearMiss
}

func (e *RuleFailure) Error() string {
	return fmt.Sprintf("%s of %s %s: %s", e.Kind, itemWord(e.Inspection), e.Item, e.Reason)
}

// NearMiss is an earlier rule that could have consumed an artifact but did
// not.
type NearMiss struct {
	RuleIndex int
	Rule      layout.Rule
	Reason    string
	// Expected and Actual are set for a MATCH rule whose hashes differ:
	// the artifact's digest set in the FROM step's link, and here.
	Expected, Actual link.DigestSet
}

// InspectionError: an inspection could not run or exited non-zero.
type InspectionError struct {
	Inspection string
	// ExitCode is the command's exit status; meaningful when Err is nil.
	ExitCode int
	Err      error
}

func (e *InspectionError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("inspection %s: %v", e.Inspection, e.Err)
	}
	return fmt.Sprintf("inspection %s: command exited with status %d", e.Inspection, e.ExitCode)
}

func (e *InspectionError) Unwrap() error { return e.Err }

// SublayoutError: the sublayout a functionary provided for a step failed
// verification. Unwrap gives the sublayout's own failures, so errors.As
// finds a *RuleFailure inside a sublayout too.
type SublayoutError struct {
	Step   string
	KeyID  string
	Result *Result
	// Err is set when the sublayout could not be verified at all (bad
	// payload, recursion loop, depth limit).
	Err error
}

func (e *SublayoutError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("step %s: sublayout by %s: %v", e.Step, keys.ShortID(e.KeyID), e.Err)
	}
	n := 0
	if e.Result != nil {
		n = len(e.Result.Failures)
	}
	return fmt.Sprintf("step %s: sublayout by %s failed verification (%d failure(s))", e.Step, keys.ShortID(e.KeyID), n)
}

func (e *SublayoutError) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Err}
	}
	if e.Result == nil {
		return nil
	}
	return e.Result.Failures
}

// AttestationError: an attestation about the final product did not check
// out.
type AttestationError struct {
	// Source names the attestation (file name or index); empty for a
	// violation an AttestationCheck found across attestations.
	Source string
	Reason string
	Err    error
}

func (e *AttestationError) Error() string {
	if e.Source == "" {
		return fmt.Sprintf("attestation policy: %v", e.Err)
	}
	if e.Err != nil {
		return fmt.Sprintf("attestation %s: %s: %v", e.Source, e.Reason, e.Err)
	}
	return fmt.Sprintf("attestation %s: %s", e.Source, e.Reason)
}

func (e *AttestationError) Unwrap() error { return e.Err }

func itemWord(inspection bool) string {
	if inspection {
		return "inspection"
	}
	return "step"
}

// ErrSymlinkedSublayoutFolder: the links folder of a sublayout is a
// symlink; it must be a real folder.
var ErrSymlinkedSublayoutFolder = errors.New("is a symlink, not a folder")

// ErrTooManySublayouts: the supply chain holds more sublayouts than
// Options.MaxSublayouts.
var ErrTooManySublayouts = errors.New("too many sublayouts")

// SublayoutInspectionError: a sublayout signed by a functionary, not by
// the root layout's owners, asks to run an inspection, and the verifier
// did not allow it (Options.RunSublayoutInspections, toto verify
// --run-sublayout-inspections).
type SublayoutInspectionError struct {
	// Step is the superlayout's step the sublayout is evidence for.
	Step string
	// KeyID is the functionary who signed the sublayout.
	KeyID      string
	Inspection string
	Run        []string
}

func (e *SublayoutInspectionError) Error() string {
	return fmt.Sprintf("sublayout of step %s, signed by functionary %s (not a root layout owner), asks to run inspection %s: %s; "+
		"it did not run: allow commands from sublayouts with toto verify --run-sublayout-inspections (Options.RunSublayoutInspections)",
		e.Step, keys.ShortID(e.KeyID), e.Inspection, quoteCmd(e.Run))
}

// ReplayedSublayoutError: the same sublayout was given as evidence for two
// steps. A sublayout names no step, so a copy of one step's sublayout
// would otherwise pass for another step that never ran.
type ReplayedSublayoutError struct {
	Step, Other string
	// Source is the evidence file given for Step.
	Source string
}

func (e *ReplayedSublayoutError) Error() string {
	return fmt.Sprintf("step %s: %s is the sublayout already given for step %s; one sublayout is evidence for one step only", e.Step, e.Source, e.Other)
}
