package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/keys"
)

// TestImageVerifyRequireTlogCLI: --require-tlog and --require-timestamp
// of toto image verify without a server. Without --trusted-root they are
// a usage error (exit 2) before the image is read; with a trusted root
// an unlogged signature does not verify (exit 1), with the reason under
// the entry and the requirement in the summary and in --json. The real
// log and TSA: interop/cosign TestTlogImageVerify.
func TestImageVerifyRequireTlogCLI(t *testing.T) {
	work := t.TempDir()
	writeKeyPair(t, work, "signer", keys.ECDSA)
	oci, _ := randomLayout(t)
	img := "oci-layout:" + oci
	mustToto(t, work, "image", "sign", "--key", "signer.key", img)
	if err := os.WriteFile(filepath.Join(work, "trusted_root.json"), []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	verify := []string{"image", "verify", "--key", "signer.pub"}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"no requirement", []string{"--trusted-root", "trusted_root.json"}, 0, []string{"VERIFIED: 1 signature(s)"}, nil},
		{"tlog without a trusted root", []string{"--require-tlog"}, 2, nil, []string{"need --trusted-root", "needs a trusted root"}},
		{"timestamp without a trusted root", []string{"--require-timestamp"}, 2, nil, []string{"need --trusted-root"}},
		{"tlog required", []string{"--trusted-root", "trusted_root.json", "--require-tlog"}, 1,
			[]string{"ignored: Sigstore bundle verification failed: transparency log: the bundle has no transparency-log entry, and one is required", "FAILED (--require-tlog): 0 signature(s)"},
			[]string{"no signature by a trusted key with a verified transparency-log entry (1 entry did not verify)"}},
		{"both required, require-all", []string{"--trusted-root", "trusted_root.json", "--require-tlog", "--require-timestamp", "--require-all"}, 1,
			[]string{"FAIL attestation", "https://sigstore.dev/cosign/sign/v1", "FAILED (--require-all --require-tlog --require-timestamp)"},
			[]string{"with a verified transparency-log entry and RFC 3161 timestamp"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append(append([]string{}, verify...), tc.args...), img)
			r := runToto(t, work, args...)
			wantCode(t, r, tc.code, args...)
			for _, s := range tc.stdout {
				if !strings.Contains(r.Stdout, s) {
					t.Errorf("stdout does not say %q:\n%s", s, r.Stdout)
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(r.Stderr, s) {
					t.Errorf("stderr does not say %q:\n%s", s, r.Stderr)
				}
			}
		})
	}

	args := append(append([]string{}, verify...), "--json", "--trusted-root", "trusted_root.json", "--require-tlog", img)
	r := runToto(t, work, args...)
	wantCode(t, r, 1, args...)
	var rep struct {
		RequireTlog bool
		Referrers   []struct{ Status, Error string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || !rep.RequireTlog || len(rep.Referrers) != 1 ||
		rep.Referrers[0].Status != "ignored" || !strings.Contains(rep.Referrers[0].Error, "no transparency-log entry") {
		t.Fatalf("--json: %v\n%s", err, r.Stdout)
	}
}
