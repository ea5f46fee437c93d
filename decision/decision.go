// Package decision is the result type of policy evaluation: for each
// requirement of a policy, what was required, how it is enforced, whether
// it held, and why. Every verifier in toto can report as a Decision (the
// chain verifier, image verification), so that an image policy and the
// admission controller combine many verifiers — all of, any of, n of —
// and say per requirement what was enforced, only logged, or skipped.
//
// It does no verification itself and no I/O.
package decision

import (
	"errors"
	"fmt"
	"strings"
)

// Action is what a violated requirement does.
type Action string

// The actions, as in policy files.
const (
	// Enforce: a violation denies.
	Enforce Action = "enforce"
	// Warn: a violation is reported to the user as a warning; allowed.
	Warn Action = "warn"
	// Audit: a violation is only logged; allowed.
	Audit Action = "audit"
)

// Outcome is what evaluation found.
type Outcome string

// The outcomes.
const (
	Satisfied Outcome = "satisfied"
	Violated  Outcome = "violated"
	// Skipped: not evaluated (its evidence could not be trusted, or a
	// combination was decided without it). A skipped enforced
	// requirement does not satisfy anything.
	Skipped Outcome = "skipped"
)

// Requirement is one evaluated requirement. Requirements nest: a
// combination (All, Any, AtLeast) holds the requirements it combines.
type Requirement struct {
	// Name says what was required, e.g. "in-toto layout root.layout" or
	// "cosign signature by release.pub".
	Name    string  `json:"name"`
	Action  Action  `json:"action"`
	Outcome Outcome `json:"outcome"`
	// Reason says why, in words a person can act on.
	Reason string `json:"reason,omitempty"`
	// Errors are the typed failures behind a violation.
	Errors []error `json:"-"`
	// Children are the requirements a combination combines.
	Children []Requirement `json:"children,omitempty"`
}

// Check makes a leaf requirement from an evaluation: Satisfied when errs
// is empty, Violated with errs otherwise.
func Check(name string, action Action, errs ...error) Requirement {
	r := Requirement{Name: name, Action: action, Outcome: Satisfied}
	var live []error
	for _, e := range errs {
		if e != nil {
			live = append(live, e)
		}
	}
	if len(live) > 0 {
		r.Outcome, r.Errors = Violated, live
		msgs := make([]string, len(live))
		for i, e := range live {
			msgs[i] = e.Error()
		}
		r.Reason = strings.Join(msgs, "; ")
	}
	return r
}

// Skip makes a requirement that was not evaluated, with why.
func Skip(name string, action Action, reason string) Requirement {
	return Requirement{Name: name, Action: action, Outcome: Skipped, Reason: reason}
}

// AtLeast combines requirements: satisfied when at least n of them are.
// All is AtLeast(len), Any is AtLeast(1).
func AtLeast(n int, name string, action Action, rs ...Requirement) Requirement {
	c := Requirement{Name: name, Action: action, Children: rs}
	ok := 0
	for _, r := range rs {
		if r.Outcome == Satisfied {
			ok++
		}
	}
	if ok >= n {
		c.Outcome = Satisfied
		return c
	}
	c.Outcome = Violated
	c.Reason = fmt.Sprintf("%d of %d requirements satisfied, %d needed", ok, len(rs), n)
	return c
}

// All is satisfied when every requirement is.
func All(name string, action Action, rs ...Requirement) Requirement {
	return AtLeast(len(rs), name, action, rs...)
}

// Any is satisfied when at least one requirement is.
func Any(name string, action Action, rs ...Requirement) Requirement {
	return AtLeast(1, name, action, rs...)
}

// Decision is the verdict on one subject (an image, a supply chain).
type Decision struct {
	Subject      string        `json:"subject"`
	Requirements []Requirement `json:"requirements"`
}

// Allowed reports whether no enforced requirement is violated or skipped.
// A decision with no requirements is not allowed: nothing vouched for the
// subject.
func (d *Decision) Allowed() bool {
	if len(d.Requirements) == 0 {
		return false
	}
	for _, r := range d.Requirements {
		if r.Action == Enforce && r.Outcome != Satisfied {
			return false
		}
	}
	return true
}

// Denials are the enforced requirements that failed; Warnings the warned
// ones; Audits the audited ones.
func (d *Decision) Denials() []Requirement  { return d.failed(Enforce) }
func (d *Decision) Warnings() []Requirement { return d.failed(Warn) }
func (d *Decision) Audits() []Requirement   { return d.failed(Audit) }

func (d *Decision) failed(a Action) []Requirement {
	var out []Requirement
	for _, r := range d.Requirements {
		if r.Action == a && r.Outcome != Satisfied {
			out = append(out, r)
		}
	}
	return out
}

// Err is nil when allowed, and otherwise names each denial; the typed
// failures behind them are reachable with errors.As.
func (d *Decision) Err() error {
	if d.Allowed() {
		return nil
	}
	if len(d.Requirements) == 0 {
		return fmt.Errorf("%s: no requirement applies, so nothing allows it", d.Subject)
	}
	var errs []error
	for _, r := range d.Denials() {
		errs = append(errs, &DeniedError{Subject: d.Subject, Requirement: r})
	}
	return errors.Join(errs...)
}

// DeniedError is an enforced requirement that did not hold.
type DeniedError struct {
	Subject     string
	Requirement Requirement
}

func (e *DeniedError) Error() string {
	r := e.Requirement
	return fmt.Sprintf("%s: %s %s: %s", e.Subject, r.Name, r.Outcome, r.Reason)
}

// Unwrap gives the typed failures behind the denial.
func (e *DeniedError) Unwrap() []error { return e.Requirement.Errors }
