package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImageVerifyDCTUsage: in DCT mode the key and policy flags are usage
// errors, and the DCT flags are outside it (exit 2).
func TestImageVerifyDCTUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"key with dct", []string{"--dct-server", "http://127.0.0.1:1", "--key", "k.pub"}, "--key does not apply with --dct-server"},
		{"policy with dct", []string{"--dct-offline", "--containers-policy", "p.json"}, "--containers-policy does not apply"},
		{"notation with dct", []string{"--dct-offline", "--notation-policy", "p.json", "--trust-store", "d"}, "do not apply with --dct-server"},
		{"signer without dct", []string{"--key", "k.pub", "--dct-signer", "alice"}, "--dct-signer does not apply without --dct-server"},
		{"both modes", []string{"--dct-offline", "--dct-server", "http://127.0.0.1:1"}, "give one"},
		{"bad server", []string{"--dct-server", "ftp://x", "--dct-trust-dir", dir}, "not an http(s) URL"},
		{"bad root cert", []string{"--dct-offline", "--dct-trust-dir", dir, "--dct-root-cert", "missing.pem"}, "missing.pem"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"image", "verify"}, tc.args...)
			r := runToto(t, dir, append(args, "127.0.0.1:1/app:1")...)
			if r.Code != 2 || !strings.Contains(r.Stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", r.Code, r.Stderr, tc.want)
			}
		})
	}
}

// TestImageVerifyDCTOffline: a trust directory without the repository's
// trust data fails (exit 1) and --json says why, with the decision.
func TestImageVerifyDCTOffline(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "trust"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := runToto(t, dir, "image", "verify", "--json", "--dct-offline", "--dct-trust-dir", "trust", "127.0.0.1:1/app:1")
	if r.Code != 1 {
		t.Fatalf("exit %d: %s %s", r.Code, r.Stdout, r.Stderr)
	}
	validateAgainst(t, dctSchema, r.Stdout)
	var rep struct {
		Verified bool
		Error    string
		Decision struct {
			Requirements []struct{ Outcome string }
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatal(err, r.Stdout)
	}
	if rep.Verified || !strings.Contains(rep.Error, "tag not signed") || len(rep.Decision.Requirements) != 1 || rep.Decision.Requirements[0].Outcome != "violated" {
		t.Fatalf("report %+v", rep)
	}
}

// TestImageMigrateDCTUsage: migrate-dct's format flags are checked before
// any trust data is read (exit 2).
func TestImageMigrateDCTUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown format", []string{"--format", "simple-signing", "--key", "k"}, `--format "simple-signing": want sigstore or notation`},
		{"chain with sigstore", []string{"--key", "k", "--cert-chain", "c.pem"}, "--cert-chain does not apply to --format sigstore"},
		{"rekor with notation", []string{"--format", "notation", "--key", "k", "--cert-chain", "c.pem", "--rekor-url", "http://127.0.0.1:1"}, "--rekor-url does not apply to --format notation"},
		{"notation without chain", []string{"--format", "notation", "--key", "k"}, "--key and --cert-chain are required"},
		{"notation key missing", []string{"--format", "notation", "--key", "missing.key", "--cert-chain", "c.pem"}, "missing.key"},
		{"dry run with signing flags", []string{"--dry-run", "--envelope", "cose"}, "--envelope does not apply with --dry-run"},
		{"no key", nil, "give --key KEY to sign with, or --dry-run"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"image", "migrate-dct", "--dct-offline", "--dct-trust-dir", dir}, tc.args...)
			r := runToto(t, dir, append(args, "127.0.0.1:1/app")...)
			if r.Code != 2 || !strings.Contains(r.Stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", r.Code, r.Stderr, tc.want)
			}
		})
	}
}
