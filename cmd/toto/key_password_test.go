package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An encrypted key (cosign's format, from real cosign v3) loads wherever
// toto takes a key, with the password from TOTO_PASSWORD, else
// COSIGN_PASSWORD; without either (and no terminal) the error names both.
func TestEncryptedKeyPasswordSources(t *testing.T) {
	key, _ := filepath.Abs("../../keys/testdata/encrypted/cosign-v3-ecdsa.key")
	pub, _ := filepath.Abs("../../keys/testdata/encrypted/cosign-v3-ecdsa.pub")
	dir := t.TempDir()
	want := keyIDJSON(t, mustToto(t, dir, "key", "id", "--json", pub).Stdout)
	for _, tc := range []struct {
		name       string
		toto       *string
		cosign     *string
		wantCode   int
		wantStderr []string
	}{
		{"TOTO_PASSWORD", ptr("toto-test"), nil, 0, nil},
		{"COSIGN_PASSWORD", nil, ptr("toto-test"), 0, nil},
		{"TOTO_PASSWORD first", ptr("toto-test"), ptr("wrong"), 0, nil},
		{"TOTO_PASSWORD set but wrong", ptr("wrong"), ptr("toto-test"), 2, []string{"wrong password", key}},
		{"none", nil, nil, 2, []string{"TOTO_PASSWORD", "COSIGN_PASSWORD", "terminal", key}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setOrUnset(t, envPassword, tc.toto)
			setOrUnset(t, envCosignPassword, tc.cosign)
			r := runToto(t, dir, "key", "id", "--json", key)
			if r.Code != tc.wantCode {
				t.Fatalf("exit %d, want %d\n%s%s", r.Code, tc.wantCode, r.Stdout, r.Stderr)
			}
			for _, w := range tc.wantStderr {
				if !strings.Contains(r.Stderr, w) {
					t.Errorf("stderr does not mention %q: %s", w, r.Stderr)
				}
			}
			if r.Code != 0 {
				return
			}
			got := keyIDJSON(t, r.Stdout)
			if got.KeyID != want.KeyID || !got.Private || got.Hint != want.Hint || got.Hint == "" {
				t.Errorf("got %+v, want keyid %s and hint %s", got, want.KeyID, want.Hint)
			}
		})
	}
}

type keyIDRow struct {
	KeyID   string `json:"keyid"`
	Private bool   `json:"private"`
	Hint    string `json:"sigstore_hint"`
}

func keyIDJSON(t *testing.T, out string) keyIDRow {
	t.Helper()
	var rows []keyIDRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 {
		t.Fatalf("key id --json: %v: %s", err, out)
	}
	return rows[0]
}

func ptr(s string) *string { return &s }

func setOrUnset(t *testing.T, name string, v *string) {
	t.Helper()
	t.Setenv(name, "") // restores the old value at the end
	if v == nil {
		os.Unsetenv(name)
	} else {
		os.Setenv(name, *v)
	}
}

// toto key generate writes encrypted keys (PKCS#8 with --encrypt, cosign's
// format with --format cosign) that sign a bundle and a layout.
func TestKeyGenerateEncrypted(t *testing.T) {
	t.Setenv(envPassword, "s3cret")
	dir := t.TempDir()
	stmt := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` + strings.Repeat("ab", 32) + `"}}],"predicateType":"https://example.com/p","predicate":{}}`
	os.WriteFile(filepath.Join(dir, "s.json"), []byte(stmt), 0o644)
	for _, tc := range []struct {
		name, pemType string
		args          []string
	}{
		{"pkcs8", "ENCRYPTED PRIVATE KEY", []string{"--encrypt"}},
		{"cosign", "ENCRYPTED SIGSTORE PRIVATE KEY", []string{"--format", "cosign"}},
	} {
		for _, typ := range []string{"ecdsa", "rsa"} {
			t.Run(tc.name+"/"+typ, func(t *testing.T) {
				name := tc.name + "-" + typ
				mustToto(t, dir, append([]string{"key", "generate", "-t", typ, "--bits", "2048", "-o", name}, tc.args...)...)
				b, _ := os.ReadFile(filepath.Join(dir, name+".key"))
				if !strings.HasPrefix(string(b), "-----BEGIN "+tc.pemType+"-----") {
					t.Fatalf("private key file: %.60s", b)
				}
				mustToto(t, dir, "bundle", "create", "--key", name, "--statement", "s.json", "-o", name+".bundle")
				mustToto(t, dir, "bundle", "verify", "--bundle", name+".bundle", "--key", name+".pub", "--no-artifact")
				t.Setenv(envPassword, "other")
				r := runToto(t, dir, "bundle", "create", "--key", name, "--statement", "s.json")
				if r.Code == 0 || !strings.Contains(r.Stderr, "wrong password") {
					t.Errorf("wrong password: exit %d: %s", r.Code, r.Stderr)
				}
				t.Setenv(envPassword, "s3cret")
			})
		}
	}
	r := runToto(t, dir, "key", "generate", "--format", "json", "--encrypt", "-o", "j")
	if r.Code == 0 || !strings.Contains(r.Stderr, "--encrypt") {
		t.Errorf("--format json --encrypt: exit %d: %s", r.Code, r.Stderr)
	}
}
