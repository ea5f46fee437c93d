package image

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/toto-dev/toto/keys"
)

// countingTransport counts the requests sent to the registry.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// TestVerifyOneSnapshot: the requirements of one policy evaluation (two
// Verify calls on one Target, as an image policy with a signature and an
// attestation requirement makes) read the registry once — the referrers,
// the cosign tags, the manifests and blobs come from the first — and a
// signature pushed through the Target is seen by the next Verify.
func TestVerifyOneSnapshot(t *testing.T) {
	ctx := context.Background()
	signer, attester := genKey(t, keys.ECDSA), genKey(t, keys.ECDSA)
	for regName, host := range registries(t) {
		t.Run(regName, func(t *testing.T) {
			ref := host + "/app:1"
			pushRandom(t, ref)
			if _, err := Sign(ctx, mustOpen(t, ref), signer, SignOptions{}); err != nil {
				t.Fatal(err)
			}
			ct := &countingTransport{}
			tg, err := Open(ctx, ref, Options{Remote: []remote.Option{remote.WithTransport(ct)}})
			if err != nil {
				t.Fatal(err)
			}
			sig := VerifyOptions{Keys: []*keys.Key{signer.Public()}}
			if rep, err := Verify(ctx, tg, sig); err != nil || !rep.OK() {
				t.Fatalf("signature: %v", err)
			}
			first := ct.n.Load()
			att := VerifyOptions{Keys: []*keys.Key{signer.Public(), attester.Public()}, PredicateTypes: []string{sbomType}}
			if _, err := Verify(ctx, tg, att); err == nil {
				t.Fatal("an attestation that was never made verified")
			}
			if again := ct.n.Load() - first; again != 0 {
				t.Errorf("the second Verify sent %d requests to the registry, want 0 (first: %d)", again, first)
			}
			// Attested through the same Target: the next Verify lists
			// the referrers again and finds it.
			if _, err := Attest(ctx, tg, attester, sbomType, sbomPredicate, SignOptions{}); err != nil {
				t.Fatal(err)
			}
			if rep, err := Verify(ctx, tg, att); err != nil || !rep.OK() {
				t.Fatalf("the attestation pushed through the Target is not seen: %v", err)
			}
		})
	}
}
