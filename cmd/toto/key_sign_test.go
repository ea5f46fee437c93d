package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
)

func TestKeyGenerateWritesUsableKeys(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ typ, format string }{
		{"ed25519", "pem"}, {"ecdsa", "pem"}, {"rsa", "pem"}, {"ed25519", "json"}, {"ecdsa", "json"},
	} {
		name := tc.typ + "-" + tc.format
		args := []string{"key", "generate", "--type", tc.typ, "--format", tc.format, "-o", name}
		if tc.typ == "rsa" {
			args = append(args, "--bits", "2048")
		}
		mustToto(t, dir, args...)
		// The private key is NAME.key, recognisable by its name.
		st, err := os.Stat(filepath.Join(dir, name+".key"))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: private key mode %v, want 0600", name, st.Mode().Perm())
		}
		priv, err := keys.Load(filepath.Join(dir, name+".key"))
		if err != nil || !priv.IsPrivate() {
			t.Fatalf("%s: %v (private=%v)", name, err, priv != nil && priv.IsPrivate())
		}
		pub, err := keys.Load(filepath.Join(dir, name+".pub"))
		if err != nil || pub.IsPrivate() || pub.ID() != priv.ID() {
			t.Fatalf("%s.pub: %v", name, err)
		}
	}
	// Never overwrite a key.
	r := runToto(t, dir, "key", "generate", "-o", "ed25519-pem")
	if r.Code != 2 || !strings.Contains(r.Stderr, "refusing to overwrite") {
		t.Errorf("overwrite: exit %d, stderr %q", r.Code, r.Stderr)
	}
	r = runToto(t, dir, "key", "generate", "--type", "dsa", "-o", "x")
	if r.Code != 2 || !strings.Contains(r.Stderr, `"dsa"`) {
		t.Errorf("bad type: exit %d, stderr %q", r.Code, r.Stderr)
	}
}

func TestSignKeepsExistingSignatures(t *testing.T) {
	dir := t.TempDir()
	mustToto(t, dir, "key", "generate", "-o", "owner1")
	mustToto(t, dir, "key", "generate", "--type", "ecdsa", "-o", "owner2")
	payload := `{"_type":"layout","expires":"2030-01-01T00:00:00Z","readme":"","keys":{},"steps":[],"inspect":[],"x-extra":1}`
	for _, format := range []string{"metablock", "dsse"} {
		t.Run(format, func(t *testing.T) {
			f := filepath.Join(dir, format+".layout")
			os.WriteFile(f, []byte(payload), 0o644)
			args := []string{"sign", "--key", "owner1", f}
			if format == "dsse" {
				args = append(args, "--dsse")
			}
			mustToto(t, dir, args...)
			mustToto(t, dir, "sign", "--key", "owner2", f)
			mustToto(t, dir, "sign", "--key", "owner1", f) // re-sign: still two
			data, _ := os.ReadFile(f)
			env, err := envelope.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if env.Format.String() != format || len(env.Signatures) != 2 {
				t.Fatalf("got %s with %d signatures, want %s with 2", env.Format, len(env.Signatures), format)
			}
			for _, k := range []string{"owner1.pub", "owner2.pub"} {
				pub, _ := keys.Load(filepath.Join(dir, k))
				if err := env.Verify(pub); err != nil {
					t.Errorf("%s: %v", k, err)
				}
			}
			var m map[string]any
			json.Unmarshal(env.Payload(), &m)
			if m["x-extra"] == nil {
				t.Error("unknown payload field dropped by signing")
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	dir := t.TempDir()
	mustToto(t, dir, "key", "generate", "-o", "k")
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte("{nope"), 0o644)
	os.WriteFile(filepath.Join(dir, "ok.link"), []byte(`{"_type":"link","name":"a","materials":{},"products":{}}`), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sign", "--key", "k", "bad.json"}, "bad.json"},
		{[]string{"sign", "--key", "k.pub", "ok.link"}, "cannot sign"},
		{[]string{"sign", "ok.link"}, "--key"},
		{[]string{"sign", "--key", "missing", "ok.link"}, "missing"},
	} {
		r := runToto(t, dir, tc.args...)
		if r.Code != 2 || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("%v: exit %d stderr %q, want exit 2 mentioning %q", tc.args, r.Code, r.Stderr, tc.want)
		}
	}
	// A failed signing leaves the file untouched.
	data, _ := os.ReadFile(filepath.Join(dir, "ok.link"))
	if strings.Contains(string(data), "signatures") {
		t.Error("failed sign modified the file")
	}
}
