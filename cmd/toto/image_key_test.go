package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// toto image sign and attest take encrypted keys (cosign's format), with
// the password from TOTO_PASSWORD or COSIGN_PASSWORD, as every other
// command does; without one the error names both.
func TestImageSignEncryptedKey(t *testing.T) {
	key, _ := filepath.Abs("../../keys/testdata/encrypted/cosign-v3-ecdsa.key")
	pub, _ := filepath.Abs("../../keys/testdata/encrypted/cosign-v3-ecdsa.pub")
	work := t.TempDir()
	pred := filepath.Join(work, "pred.json")
	if err := os.WriteFile(pred, []byte(`{"k":"v"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name           string
		toto, cosign   *string
		wantCode       int
		wantStderr     []string
		wantAttachment bool
	}{
		{"TOTO_PASSWORD", ptr("toto-test"), nil, 0, nil, true},
		{"COSIGN_PASSWORD", nil, ptr("toto-test"), 0, nil, true},
		{"wrong password", ptr("wrong"), nil, 2, []string{"wrong password", key}, false},
		{"no password", nil, nil, 2, []string{"TOTO_PASSWORD", "COSIGN_PASSWORD", key}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setOrUnset(t, envPassword, tc.toto)
			setOrUnset(t, envCosignPassword, tc.cosign)
			dir, _ := randomLayout(t)
			ref := "oci-layout:" + dir
			for _, args := range [][]string{
				{"image", "sign", "--key", key, ref},
				{"image", "attest", "--key", key, "--predicate-type", "https://example.com/p", "--predicate", pred, ref},
			} {
				r := runToto(t, work, args...)
				wantCode(t, r, tc.wantCode, args...)
				for _, w := range tc.wantStderr {
					if !strings.Contains(r.Stderr, w) {
						t.Errorf("%v: stderr does not mention %q: %s", args, w, r.Stderr)
					}
				}
			}
			if !tc.wantAttachment {
				return
			}
			args := []string{"image", "verify", "--require-all", "--key", pub, "--type", "https://example.com/p", ref}
			wantCode(t, runToto(t, work, args...), 0, args...)
		})
	}
}
