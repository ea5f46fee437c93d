package attestation_test

import (
	"context"
	"errors"
	"testing"

	"github.com/toto-dev/toto/attestation"
	"github.com/toto-dev/toto/bundle"
	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
)

// TestRequireTlog: Options.RequireTlog/RequireTimestamp reach
// bundle.Policy, and hold for every envelope: a bundle without a log
// entry or timestamp fails at the signature stage with the typed reason,
// and so does a plain envelope, which carries neither; without a trusted
// root the options are the caller's error (bundle.ErrPolicy). No server:
// a logged bundle is verified in interop/cosign.
func TestRequireTlog(t *testing.T) {
	ctx := context.Background()
	k := mustKey(t, keys.ECDSA)
	st := statementBytes(t, digestA)
	root := []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`)
	plain, keyed := signed(t, envelope.DSSE, "", st, k), keyedBundle(t, st, k)
	opts := func(root []byte, tlog, ts bool) attestation.Options {
		return attestation.Options{Keys: attestation.Keys(k.Public()), SigstoreTrustedRoot: root, RequireTlog: tlog, RequireTimestamp: ts}
	}
	tests := []struct {
		name  string
		opts  attestation.Options
		env   *envelope.Envelope
		check error // Options.Check
		want  error // Verify (nil: verifies)
	}{
		{"plain, nothing required", opts(nil, false, false), plain, nil, nil},
		{"bundle, root, nothing required", opts(root, false, false), keyed, nil, nil},
		{"plain, tlog without a root", opts(nil, true, false), plain, bundle.ErrPolicy, bundle.ErrPolicy},
		{"bundle, timestamp without a root", opts(nil, false, true), keyed, bundle.ErrPolicy, bundle.ErrPolicy},
		{"plain, tlog required", opts(root, true, false), plain, nil, bundle.ErrTransparencyLog},
		{"plain, timestamp required", opts(root, false, true), plain, nil, bundle.ErrTimestamp},
		{"bundle, tlog required", opts(root, true, false), keyed, nil, bundle.ErrTransparencyLog},
		{"bundle, timestamp required", opts(root, false, true), keyed, nil, bundle.ErrTimestamp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.opts.Check(); !errors.Is(err, tc.check) || (tc.check == nil && err != nil) {
				t.Errorf("Check = %v, want %v", err, tc.check)
			}
			va, err := attestation.NewVerifier(tc.opts).Verify(ctx, tc.env, digestA)
			if tc.want == nil {
				if err != nil || va == nil || len(va.Tlog) != 0 || len(va.Timestamps) != 0 {
					t.Fatalf("Verify = %+v, %v", va, err)
				}
				return
			}
			if !errors.Is(err, tc.want) || va != nil {
				t.Fatalf("Verify = %+v, %v; want %v", va, err, tc.want)
			}
			var ae *attestation.Error
			if tc.want != bundle.ErrPolicy && (!errors.As(err, &ae) || ae.Stage != attestation.StageSignature) {
				t.Errorf("Verify = %v, want a %s failure", err, attestation.StageSignature)
			}
		})
	}
}
