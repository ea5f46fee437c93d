package image

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/toto-dev/toto/bundle"
	"github.com/toto-dev/toto/keys"
)

// emptyTrustedRoot lists no log and no timestamp authority: enough to
// ask for a requirement, and nothing can meet it.
var emptyTrustedRoot = []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`)

// TestVerifyOptionsCheck: a log entry or timestamp required without a
// trusted root is the caller's error (bundle.ErrPolicy), found before
// anything is read.
func TestVerifyOptionsCheck(t *testing.T) {
	tests := []struct {
		name string
		opts VerifyOptions
		err  bool
	}{
		{"nothing required", VerifyOptions{}, false},
		{"tlog without a root", VerifyOptions{RequireTlog: true}, true},
		{"timestamp without a root", VerifyOptions{RequireTimestamp: true}, true},
		{"both without a root", VerifyOptions{RequireTlog: true, RequireTimestamp: true}, true},
		{"both with a root", VerifyOptions{RequireTlog: true, RequireTimestamp: true, TrustedRoot: emptyTrustedRoot}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Check()
			if tc.err != (err != nil) || (err != nil && !errors.Is(err, bundle.ErrPolicy)) {
				t.Fatalf("Check = %v, want error %v (bundle.ErrPolicy)", err, tc.err)
			}
		})
	}
}

// TestVerifyRequireTlog: the requirements reach every signature and
// attestation of an image (no server: toto's bundles here are not logged,
// so a requirement can only fail; the real log and TSA are in
// interop/cosign TestTlogImageVerify). An entry without the log entry or
// timestamp does not verify and says why; a cosign v2 .sig layer cannot
// meet them; without a trusted root Verify refuses before reading.
func TestVerifyRequireTlog(t *testing.T) {
	ctx := context.Background()
	signer := genKey(t, keys.ECDSA)
	dir, ds := newLayout(t, 1)
	tg := mustOpen(t, LayoutPrefix+dir)
	if _, err := Sign(ctx, tg, signer, SignOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Attest(ctx, tg, signer, sbomType, sbomPredicate, SignOptions{}); err != nil {
		t.Fatal(err)
	}
	// A cosign v2 .sig layer by the same key beside the referrers.
	w := layoutWriter{t: t, ls: tg.store.(*layoutStore)}
	payload := cosignPayload("r", ds[0].String())
	sig, err := signer.Sign(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	w.addManifest([]v1.Descriptor{w.sigLayer(payload, sig)}, map[string]string{AnnotationCosignKind: CosignKindSignatures})

	base := VerifyOptions{Keys: []*keys.Key{signer.Public()}}
	with := func(root []byte, tlog, ts, all bool) VerifyOptions {
		o := base
		o.TrustedRoot, o.RequireTlog, o.RequireTimestamp, o.RequireAll = root, tlog, ts, all
		return o
	}
	tests := []struct {
		name string
		opts VerifyOptions
		// want: nil (passes), or what Verify's error wraps.
		want []error
		// failures: entries that did not verify; reasons: what their
		// errors say; summary: what Verify's message says; phrase: how
		// the message and the decision word the requirement.
		failures int
		reasons  []string
		summary  string
		phrase   string
	}{
		{name: "no requirement", opts: base},
		{name: "trusted root, no requirement", opts: with(emptyTrustedRoot, false, false, false)},
		{name: "tlog without a root", opts: with(nil, true, false, false), want: []error{bundle.ErrPolicy}},
		{name: "timestamp without a root", opts: with(nil, false, true, false), want: []error{bundle.ErrPolicy}},
		{
			name: "tlog required", opts: with(emptyTrustedRoot, true, false, false),
			want: []error{ErrVerification, bundle.ErrTransparencyLog}, failures: 3,
			reasons: []string{"the bundle has no transparency-log entry, and one is required", "cosign v2 .sig layer: toto checks transparency-log entries only in Sigstore bundles"},
			summary: "no signature by a trusted key with a verified transparency-log entry (3 entries did not verify)",
			phrase:  "with a verified transparency-log entry",
		},
		{
			name: "timestamp required", opts: with(emptyTrustedRoot, false, true, false),
			want: []error{ErrVerification, bundle.ErrTimestamp}, failures: 3,
			reasons: []string{"the bundle has no RFC 3161 timestamp, and one is required", "cosign v2 .sig layer: toto checks timestamps only in Sigstore bundles"},
			summary: "with a verified RFC 3161 timestamp (3 entries did not verify)",
			phrase:  "with a verified RFC 3161 timestamp",
		},
		{
			name: "both required, require-all", opts: with(emptyTrustedRoot, true, true, true),
			want: []error{ErrVerification, bundle.ErrTransparencyLog}, failures: 3,
			reasons: []string{"transparency-log entry, and one is required"},
			summary: "with a verified transparency-log entry and RFC 3161 timestamp (3 entries did not verify)",
			phrase:  "with a verified transparency-log entry and RFC 3161 timestamp",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Verify(ctx, tg, tc.opts)
			dump := func() string { b, _ := json.MarshalIndent(rep, "", " "); return string(b) }
			if len(tc.want) == 0 {
				if err != nil || rep.Signatures != 2 || rep.Attestations != 1 {
					t.Fatalf("Verify = %v\n%s", err, dump())
				}
				for _, f := range rep.Findings {
					if len(f.Tlog) != 0 || len(f.Timestamps) != 0 {
						t.Errorf("an unlogged entry lists log entries or timestamps: %+v", f)
					}
				}
				return
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Fatalf("Verify = %v, want %v\n%s", err, w, dump())
				}
			}
			if errors.Is(err, bundle.ErrPolicy) {
				if len(rep.Findings) != 0 {
					t.Errorf("referrers were read before the policy was refused:\n%s", dump())
				}
				return
			}
			if rep.OK() || rep.Signatures != 0 || rep.Failures != tc.failures {
				t.Fatalf("counts:\n%s", dump())
			}
			if rep.RequireTlog != tc.opts.RequireTlog || rep.RequireTimestamp != tc.opts.RequireTimestamp {
				t.Errorf("report does not record the requirements:\n%s", dump())
			}
			for _, r := range tc.reasons {
				if tc.opts.RequireAll {
					wantFail(t, rep, err, r)
				} else {
					wantIgnored(t, rep, r)
				}
			}
			if !strings.Contains(err.Error(), tc.summary) {
				t.Errorf("Verify's message %q does not say %q", err, tc.summary)
			}
			if d := rep.Decision(); d.Allowed() || !strings.HasSuffix(d.Denials()[0].Name, tc.phrase) {
				t.Errorf("decision: %+v", d.Denials())
			}
		})
	}
}
