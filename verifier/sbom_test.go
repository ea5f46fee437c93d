package verifier_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/sbom"
	"github.com/toto-dev/toto/verifier"
)

// A library caller of Verify gets the SBOM policy signed into the layout
// applied, exactly as toto verify applies it: no CLI wiring needed.
func TestLayoutSBOMPolicyAppliesToLibraryCallers(t *testing.T) {
	for _, tc := range []struct {
		name, policy string
		wantFail     bool
	}{
		{"no policy", "", false},
		{"policy that requires an SBOM", `{"requireSBOM":true}`, true},
		{"policy that does not", `{"denyLicenses":["GPL-3.0-only"]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := twoSteps()
			if tc.policy != "" {
				b.Layout.Extra = map[string]json.RawMessage{"sbom": json.RawMessage(tc.policy)}
			}
			b.Link("build", "alice", buildLink())
			b.Link("build", "bob", buildLink())
			b.Link("package", "dave", packageLink())
			res := verify(t, b, b.SignedLayout("owner"), nil)
			if res.Passed() == tc.wantFail {
				t.Fatalf("passed %v, want %v: %v", res.Passed(), !tc.wantFail, res.Failures)
			}
			if !tc.wantFail {
				return
			}
			var v sbom.Violation
			if !errors.As(res.Err(), &v) || v.Rule != sbom.RuleRequireSBOM {
				t.Fatalf("want a %s violation, got %v", sbom.RuleRequireSBOM, res.Failures)
			}
		})
	}
}

// A malformed policy in the layout is an input error naming the field.
func TestLayoutSBOMPolicyMalformed(t *testing.T) {
	b := twoSteps()
	b.Layout.Extra = map[string]json.RawMessage{"sbom": json.RawMessage(`{"requireSBOM":"yes"}`)}
	opts := verifier.Options{LayoutKeys: []*keys.Key{b.Public("owner")}, Links: b.Source()}
	_, err := verifier.Verify(t.Context(), b.SignedLayout("owner"), opts)
	if err == nil || !strings.Contains(err.Error(), `layout: field "sbom"`) {
		t.Fatalf("got %v, want an error naming the sbom field", err)
	}
}
