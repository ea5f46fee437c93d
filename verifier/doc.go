// Package verifier checks a software supply chain against its signed
// in-toto layout (in-toto spec v1.0, section 5, "Verifying the final
// product"), with the semantics of the Python reference implementation:
//
//  1. every given layout key signed the layout, and it has not expired;
//  2. parameters are substituted into rules and commands;
//  3. for each step, links signed by authorised functionaries are loaded
//     and at least threshold distinct keys vouch for identical artifacts;
//     links that hold a layout are sublayouts, verified recursively and
//     summarised into a link;
//  4. expected commands are compared (a mismatch is only a warning);
//  5. each step's material and product rules are applied (the artifact
//     queue of section 4.3.3);
//  6. if everything so far passed, inspections run and their rules are
//     applied;
//  7. optionally, attestations about the final product are checked
//     (through package attestation), and the SBOM policy signed into the
//     layout, with any other AttestationCheck, is applied to them.
//
// Whether a layout (root or sublayout) is trusted is decided by
// layout.Verify. Trust roots (Options.LayoutKeys), policy (the layout in
// its envelope) and evidence (links from a LinkSource, attestations) are
// kept apart. The
// verification core does no I/O of its own: links come through a
// LinkSource (DirSource reads a directory, MemSource holds memory; both
// pass the evidencetest conformance suite) and inspections through an
// InspectionRunner (SandboxRunner runs them in a copy of a directory).
//
// Verify never stops at the first problem: the Result records every
// failure, per step and per rule, with typed errors (*RuleFailure,
// *ThresholdError, ...) that say which artifact failed which rule and why.
package verifier
