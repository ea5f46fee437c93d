package trust_test

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/trust"
)

func TestSplitNotationTarget(t *testing.T) {
	tests := []struct {
		target, set, rel string
		ours, bad        bool
	}{
		{"toto/notation/prod/trustpolicy.json", "prod", "trustpolicy.json", true, false},
		{"toto/notation/prod/truststore/x509/ca/acme/root.pem", "prod", "truststore/x509/ca/acme/root.pem", true, false},
		{"toto/notation/prod/truststore/x509/signingAuthority/s/a.crt", "prod", "truststore/x509/signingAuthority/s/a.crt", true, false},
		{"toto/notation/prod/truststore/x509/tsa/t/tsa.cer", "prod", "truststore/x509/tsa/t/tsa.cer", true, false},
		{"toto/keys/a.pub", "", "", false, false},
		{"toto/notation/prod/truststore/x509/root/acme/a.pem", "", "", true, true},
		{"toto/notation/prod/truststore/x509/ca/acme/sub/a.pem", "", "", true, true},
		{"toto/notation/prod/truststore/x509/ca/../../../x", "", "", true, true},
		{"toto/notation/../truststore/x509/ca/a/b", "", "", true, true},
		{"toto/notation/prod/truststore/x509/ca/.hidden/a.pem", "", "", true, true},
		{"toto/notation/prod/other.json", "", "", true, true},
		{"toto/notation/prod", "", "", true, true},
	}
	for _, tc := range tests {
		set, rel, ours, err := trust.SplitNotationTarget(tc.target)
		if ours != tc.ours || (err != nil) != tc.bad || set != tc.set || rel != tc.rel {
			t.Errorf("%s: %q %q %v %v", tc.target, set, rel, ours, err)
		}
		if err != nil && !errors.Is(err, trust.ErrBadTarget) {
			t.Errorf("%s: %v is not ErrBadTarget", tc.target, err)
		}
	}
}

// WriteDir lays a set out as notation's configuration folder, and refuses
// a certificate path that would leave it.
func TestNotationConfigWriteDir(t *testing.T) {
	dir := t.TempDir()
	c := &trust.NotationConfig{TrustPolicy: []byte(`{}`), Certificates: map[string][]byte{"x509/ca/acme/root.pem": []byte("PEM")}}
	if err := c.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"trustpolicy.json": "{}", "truststore/x509/ca/acme/root.pem": "PEM"} {
		if b, err := os.ReadFile(filepath.Join(dir, p)); err != nil || string(b) != want {
			t.Errorf("%s: %q %v", p, b, err)
		}
	}
	for _, bad := range []string{"x509/ca/../../../escape", "x509/ca/acme/../../../../escape", "../x509/ca/a/b", "x509/ca/acme", "x509/ca//a/b"} {
		c := &trust.NotationConfig{Certificates: map[string][]byte{bad: []byte("x")}}
		if err := c.WriteDir(t.TempDir()); !errors.Is(err, trust.ErrBadTarget) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escape")); err == nil {
		t.Fatal("a file was written outside the folder")
	}
}

func TestKeyringTarget(t *testing.T) {
	for in, want := range map[string]string{
		"/etc/pki/containers/release.gpg": "toto/keyrings/release.gpg",
		"release.gpg":                     "toto/keyrings/release.gpg",
		"keys/a.asc":                      "toto/keyrings/a.asc",
	} {
		if got := trust.KeyringTarget(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

// FuzzSplitNotationTarget: a target name accepted as part of a notation
// set never names a path outside the set's folder.
func FuzzSplitNotationTarget(f *testing.F) {
	for _, s := range []string{"toto/notation/prod/trustpolicy.json", "toto/notation/p/truststore/x509/ca/a/b.pem", "toto/notation/p/truststore/x509/ca/../b", "toto/keys/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		set, rel, ours, err := trust.SplitNotationTarget(target)
		if err != nil || !ours {
			return
		}
		if set == "" || strings.ContainsAny(set, `/\`) || set == ".." || set == "." {
			t.Fatalf("%q: set %q", target, set)
		}
		if path.Clean(rel) != rel || strings.HasPrefix(rel, "../") || strings.Contains(rel, "/../") || strings.Contains(rel, `\`) || rel == ".." {
			t.Fatalf("%q: rel %q leaves the set", target, rel)
		}
		if target != "toto/notation/"+set+"/"+rel {
			t.Fatalf("%q: %q + %q", target, set, rel)
		}
	})
}
