//go:build interop

package cosign

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/toto-dev/toto/imagepolicy"
	"github.com/toto-dev/toto/internal/oracle"
)

// A simpleSigning requirement with a PEM key reads cosign v2's .sig
// signatures (containers-policy.json's sigstoreSigned): cosign signs the
// repository without tag or digest, so matchRepository accepts its
// signature and the default matchRepoDigestOrExact does not, as in
// containers/image; the other key's signature does not count.
func TestPolicySetCosignPEM(t *testing.T) {
	e := newEnv(t)
	ref := e.push("team/app")
	e.sign(oracle.CosignV2, "cosign.key", ref)
	other := e.push("team/other")
	e.sign(oracle.CosignV2, "other.key", other)
	policy := e.write("policy.yaml", fmt.Sprintf(`rules:
  - images: ["%[1]s/team/*"]
    require:
      simpleSigning: {keys: [cosign.pub], signedIdentity: {type: matchRepository}}
  - images: ["%[1]s/team/app@*"]
    require:
      simpleSigning: {keys: [cosign.pub]}
`, e.host))
	s, err := imagepolicy.LoadSet(policy, imagepolicy.SetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tagged := repoOf(ref) + ":latest"
	for _, tc := range []struct {
		ref, policy string
		allowed     bool
		reason      string
	}{
		{tagged, "policy.yaml rules[0]", true, ""},
		{ref, "policy.yaml rules[1]", false, "signed identity not accepted"},
		{repoOf(other) + ":latest", "policy.yaml rules[0]", false, "signed by a key not trusted here"},
	} {
		res, err := s.Evaluate(ctx, "default", tc.ref)
		if err != nil {
			t.Fatal(err)
		}
		if res.Decision.Allowed() != tc.allowed || res.Policy != tc.policy {
			t.Errorf("%s: allowed %v by %s: %v", tc.ref, res.Decision.Allowed(), res.Policy, res.Err())
		}
		if !tc.allowed && (!strings.Contains(res.Err().Error(), "cosign signatures read from the sha256-") || !strings.Contains(res.Err().Error(), tc.reason)) {
			t.Errorf("%s: %v", tc.ref, res.Err())
		}
	}
}
