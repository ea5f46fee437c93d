package verifier

import (
	"context"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/statement"
)

// DefaultMaxSublayoutDepth bounds how deep sublayouts may nest.
const DefaultMaxSublayoutDepth = 8

// DefaultMaxSublayouts bounds how many sublayouts one verification
// verifies, however they nest: each holds an open folder and is verified
// in full.
const DefaultMaxSublayouts = 256

// Options configures Verify.
type Options struct {
	// LayoutKeys are the trust roots: every one of them must have signed
	// the layout. At least one is required.
	LayoutKeys []*keys.Key
	// Params are substituted for "{NAME}" in rules, expected commands and
	// inspection commands of the root layout (spec section 5.1). A
	// placeholder without a value is an input error.
	Params map[string]string
	// Now is the verification time for the expiry check; zero means
	// time.Now().
	Now time.Time
	// Links provides the evidence: links (and sublayouts) per step.
	Links LinkSource
	// Inspections runs the layout's inspections. If nil, a layout with
	// inspections fails verification: its checks cannot be skipped.
	Inspections InspectionRunner
	// Attestations are signed in-toto Statements about the final product
	// (the products of the last step). Each must be signed by a key of the
	// layout (a functionary) or a layout key, be an in-toto Statement v1,
	// and have a subject whose digest is that of a final product.
	Attestations []Attestation
	// AttestationChecks are policies over the attestations that passed
	// those checks, such as an SBOM policy (see package sbom).
	AttestationChecks []AttestationCheck
	// RunSublayoutInspections allows running the inspections of a
	// sublayout signed by someone other than the root layout's owners: a
	// functionary then chooses commands that run with the verifier's
	// rights. Without it such a sublayout fails verification with a
	// *SublayoutInspectionError (the references always run them).
	RunSublayoutInspections bool
	// MaxSublayoutDepth bounds sublayout nesting; 0 means
	// DefaultMaxSublayoutDepth.
	MaxSublayoutDepth int
	// MaxSublayouts bounds how many sublayouts one verification verifies
	// in all; 0 means DefaultMaxSublayouts.
	MaxSublayouts int
}

// LinkSource provides the signed evidence for the steps of a layout. Links
// is called concurrently for different steps.
type LinkSource interface {
	// Links returns every piece of evidence found for the step: link
	// envelopes, or layout envelopes for a step delegated to a sublayout.
	// Files that could not be read or parsed are returned with Err set, so
	// that they show up in the report; the error result is for failures of
	// the source as a whole.
	Links(ctx context.Context, step string) ([]LinkFile, error)
	// Sublayout returns the source holding the links of the sublayout that
	// the functionary with keyID (as listed in the layout) provided for
	// step.
	Sublayout(step, keyID string) (LinkSource, error)
}

// LinkLister is a LinkSource that can say where it reads links from and
// what it holds: the verifier uses it to explain a step with no link at
// all. DirSource is one.
type LinkLister interface {
	// Path names where links are read from: a folder's path.
	Path() string
	// LinkNames lists the names of every link file the source holds, for
	// any step.
	LinkNames() ([]string, error)
}

// LinkFile is one piece of evidence.
type LinkFile struct {
	// Name says where it came from, e.g. "package.2f89b927.link".
	Name string
	// Envelope is nil when Err is set.
	Envelope *envelope.Envelope
	Err      error
}

// InspectionRunner provides the workspace a layout's inspections run in.
type InspectionRunner interface {
	// Workspace prepares one workspace for the inspections of one layout.
	// They run in it one after another, in layout order, as both
	// references run them in their working directory: an inspection sees
	// what the earlier ones left behind.
	Workspace(ctx context.Context) (InspectionWorkspace, error)
}

// InspectionWorkspace is where the inspections of one layout run.
type InspectionWorkspace interface {
	// Inspect records the workspace as it is (the inspection's
	// materials) and passes that to admit. If admit returns an error,
	// Inspect returns it as is, without running anything; otherwise it
	// runs in.Run in the workspace and records it again (the products).
	// The returned link is unsigned. An error means the command could not
	// run at all.
	Inspect(ctx context.Context, in layout.Inspection, admit func(materials link.Artifacts) error) (*InspectionRun, error)
	// Close removes the workspace.
	Close() error
}

// InspectionRun is what an inspection left behind.
type InspectionRun struct {
	Link     *link.Link
	ExitCode int
}

// Attestation is a signed in-toto Statement given to the verifier.
type Attestation struct {
	// Source names it in the report (e.g. its file name).
	Source   string
	Envelope *envelope.Envelope
}

// AttestationCheck is a policy over attestations about the final product.
type AttestationCheck interface {
	// Handles reports whether the check understands predicates of this
	// type; attestations of types no check handles get a warning.
	Handles(predicateType string) bool
	// Check is given the final products and every attestation whose
	// signature verified and that parsed as a Statement, and returns every
	// violation.
	Check(ctx context.Context, final link.Artifacts, atts []VerifiedAttestation) []error
}

// VerifiedAttestation is an attestation whose signature verified.
type VerifiedAttestation struct {
	Source    string
	Statement *statement.Statement
	// Signers are the keyids (as listed in the layout) that signed it.
	Signers []string
}

func (o *Options) now() time.Time {
	if o.Now.IsZero() {
		return time.Now().UTC()
	}
	return o.Now.UTC()
}

func (o *Options) maxSublayouts() int {
	if o.MaxSublayouts <= 0 {
		return DefaultMaxSublayouts
	}
	return o.MaxSublayouts
}

func (o *Options) maxDepth() int {
	if o.MaxSublayoutDepth <= 0 {
		return DefaultMaxSublayoutDepth
	}
	return o.MaxSublayoutDepth
}
