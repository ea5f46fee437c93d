package verifier_test

import (
	"testing"

	"github.com/toto-dev/toto/decision"
)

// A Result read as a Decision allows exactly what Passed allows, and under
// an untrusted layout no step counts as satisfied.
func TestResultDecision(t *testing.T) {
	b := twoSteps()
	b.Link("build", "alice", buildLink())
	b.Link("build", "bob", buildLink())
	b.Link("package", "dave", packageLink())
	res := verify(t, b, b.SignedLayout("owner"), nil)
	d := res.Decision("foo.tar.gz")
	if !res.Passed() || !d.Allowed() || len(d.Requirements) != 3 {
		t.Fatalf("passing chain: passed %v allowed %v %+v", res.Passed(), d.Allowed(), d.Requirements)
	}

	res = verify(t, b, b.SignedLayout("mallory"), nil)
	d = res.Decision("foo.tar.gz")
	if res.Passed() || d.Allowed() {
		t.Fatal("a layout signed by another key is allowed")
	}
	if d.Requirements[0].Outcome != decision.Violated {
		t.Errorf("layout requirement %+v", d.Requirements[0])
	}
	for _, r := range d.Requirements[1:] {
		if r.Outcome != decision.Skipped {
			t.Errorf("%s is %s under an untrusted layout, want skipped", r.Name, r.Outcome)
		}
	}

	b2 := twoSteps()
	b2.Link("build", "alice", buildLink())
	b2.Link("package", "dave", packageLink())
	res = verify(t, b2, b2.SignedLayout("owner"), nil)
	d = res.Decision("foo.tar.gz")
	if res.Passed() || d.Allowed() || len(d.Denials()) != 1 || d.Denials()[0].Name != "step build" {
		t.Fatalf("threshold not met: denials %+v", d.Denials())
	}
}
