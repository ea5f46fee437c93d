package decision_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/toto-dev/toto/decision"
)

var errBad = errors.New("signature does not verify")

func TestDecision(t *testing.T) {
	ok := decision.Check("a", decision.Enforce)
	bad := decision.Check("b", decision.Enforce, errBad)
	for _, tc := range []struct {
		name     string
		reqs     []decision.Requirement
		allowed  bool
		denials  int
		warnings int
		audits   int
	}{
		{"nothing applies", nil, false, 0, 0, 0},
		{"one satisfied", []decision.Requirement{ok}, true, 0, 0, 0},
		{"one violated", []decision.Requirement{ok, bad}, false, 1, 0, 0},
		{"nil errors are no violation", []decision.Requirement{decision.Check("c", decision.Enforce, nil, nil)}, true, 0, 0, 0},
		{"warn does not deny", []decision.Requirement{ok, decision.Check("w", decision.Warn, errBad)}, true, 0, 1, 0},
		{"audit does not deny", []decision.Requirement{ok, decision.Check("x", decision.Audit, errBad)}, true, 0, 0, 1},
		{"a skipped enforced requirement denies", []decision.Requirement{ok, decision.Skip("s", decision.Enforce, "untrusted")}, false, 1, 0, 0},
		{"any of", []decision.Requirement{decision.Any("any", decision.Enforce, bad, ok)}, true, 0, 0, 0},
		{"all of", []decision.Requirement{decision.All("all", decision.Enforce, bad, ok)}, false, 1, 0, 0},
		{"2 of 3", []decision.Requirement{decision.AtLeast(2, "n", decision.Enforce, ok, bad, ok)}, true, 0, 0, 0},
		{"2 of 3 with one", []decision.Requirement{decision.AtLeast(2, "n", decision.Enforce, ok, bad, bad)}, false, 1, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := decision.Decision{Subject: "img", Requirements: tc.reqs}
			if d.Allowed() != tc.allowed || len(d.Denials()) != tc.denials || len(d.Warnings()) != tc.warnings || len(d.Audits()) != tc.audits {
				t.Fatalf("allowed %v denials %d warnings %d audits %d", d.Allowed(), len(d.Denials()), len(d.Warnings()), len(d.Audits()))
			}
			if (d.Err() == nil) != tc.allowed {
				t.Fatalf("Err %v with allowed %v", d.Err(), tc.allowed)
			}
		})
	}
	d := decision.Decision{Subject: "img", Requirements: []decision.Requirement{bad}}
	var de *decision.DeniedError
	if !errors.As(d.Err(), &de) || !errors.Is(d.Err(), errBad) || de.Requirement.Name != "b" {
		t.Fatalf("Err does not lead to the typed failure: %v", d.Err())
	}
}

func ExampleAtLeast() {
	sig := decision.Check("cosign signature by release.pub", decision.Enforce)
	notation := decision.Check("notation signature", decision.Enforce, errors.New("no signature"))
	sbom := decision.Check("SBOM without GPL-3.0", decision.Warn, errors.New("component x is GPL-3.0-only"))
	d := decision.Decision{Subject: "registry.example/app@sha256:...", Requirements: []decision.Requirement{
		decision.AtLeast(1, "one signature system", decision.Enforce, sig, notation), sbom,
	}}
	fmt.Println(d.Allowed(), len(d.Warnings()))
	// Output: true 1
}
