package keys_test

import (
	"context"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/internal/corpus"
	"github.com/toto-dev/toto/keys"
)

func TestGenerateSignVerifyRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		typ    string
		opts   keys.GenerateOptions
		scheme string
	}{
		{keys.Ed25519, keys.GenerateOptions{}, keys.SchemeEd25519},
		{keys.ECDSA, keys.GenerateOptions{}, keys.SchemeECDSAP256},
		{keys.ECDSA, keys.GenerateOptions{Curve: elliptic.P384()}, keys.SchemeECDSAP384},
		{keys.RSA, keys.GenerateOptions{RSABits: 2048}, keys.SchemeRSAPSS},
	} {
		t.Run(tc.scheme, func(t *testing.T) {
			k, err := keys.Generate(tc.typ, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if k.Scheme != tc.scheme || k.Type != tc.typ {
				t.Fatalf("got %s/%s, want %s/%s", k.Type, k.Scheme, tc.typ, tc.scheme)
			}
			msg := []byte("the signed bytes")
			sig, err := k.Sign(ctx, msg)
			if err != nil {
				t.Fatal(err)
			}
			pub := k.Public()
			if pub.IsPrivate() {
				t.Fatal("Public() kept the private part")
			}
			if err := pub.Verify(msg, sig); err != nil {
				t.Fatalf("verify own signature: %v", err)
			}
			if err := pub.Verify([]byte("other bytes"), sig); !errors.Is(err, keys.ErrBadSignature) {
				t.Fatalf("verify over other bytes: got %v, want ErrBadSignature", err)
			}
			if _, err := pub.Sign(ctx, msg); !errors.Is(err, keys.ErrNoPrivateKey) {
				t.Fatalf("public key signed: %v", err)
			}

			// Every on-disk form reloads to the same key (same keyid).
			dir := t.TempDir()
			privPEM, _ := k.MarshalPEM(true)
			pubPEM, _ := k.MarshalPEM(false)
			privJSON, err := k.MarshalPrivateJSON()
			if err != nil {
				t.Fatal(err)
			}
			pubJSON, _ := json.Marshal(pub)
			for name, data := range map[string][]byte{"priv.pem": privPEM, "pub.pem": pubPEM, "priv.json": privJSON, "pub.json": pubJSON} {
				p := filepath.Join(dir, name)
				os.WriteFile(p, data, 0o600)
				got, err := keys.Load(p)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got.ID() != k.ID() {
					t.Errorf("%s: keyid %s, want %s", name, got.ID(), k.ID())
				}
				if want := strings.HasPrefix(name, "priv"); got.IsPrivate() != want {
					t.Errorf("%s: IsPrivate = %v, want %v", name, got.IsPrivate(), want)
				}
			}
		})
	}
}

func TestKeyIDsBothWays(t *testing.T) {
	k, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A key without keyid_hash_algorithms (newer securesystemslib) has a
	// different keyid; both must be recognised.
	bare := k.Public()
	bare.KeyIDHashAlgorithms = nil
	if bare.ID() == k.ID() {
		t.Fatal("keyid did not depend on keyid_hash_algorithms")
	}
	if !k.HasID(bare.ID()) || !bare.HasID(k.ID()) {
		t.Fatalf("keyid schemes not matched either way: %v vs %v", k.IDs(), bare.IDs())
	}
	if k.HasID(strings.Repeat("0", 64)) {
		t.Fatal("HasID accepted an unrelated keyid")
	}
}

// The corpus keys' keyids must equal the ones the references put in their
// layouts and link file names.
func TestCorpusKeyIDs(t *testing.T) {
	for _, tc := range []struct {
		path   []string
		prefix string
	}{
		{[]string{"in-toto-golang", "data", "alice.pub"}, "70ca5750"},
		{[]string{"in-toto-golang", "data", "alice"}, "70ca5750"},
		{[]string{"python-in-toto", "demo_files", "bob.pub"}, "776a00e2"},
		{[]string{"python-in-toto", "demo_files", "carl.pub"}, "2f89b927"},
		{[]string{"in-toto-golang", "data", "carol.pub"}, ""},
		{[]string{"in-toto-golang", "data", "dan"}, ""},
	} {
		p := corpus.Path(t, tc.path...)
		k, err := keys.Load(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if !strings.HasPrefix(k.ID(), tc.prefix) {
			t.Errorf("%s: keyid %s, want prefix %s", filepath.Base(p), k.ID(), tc.prefix)
		}
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"empty", "", "empty key data"},
		{"garbage", "not a key", "no PEM key block"},
		{"bad json", `{"keytype":`, "invalid JSON"},
		{"unknown type", `{"keytype":"dsa","scheme":"x","keyval":{"public":"ab"}}`, `"keytype"`},
		{"missing keyval", `{"keytype":"ed25519","scheme":"ed25519"}`, `"keyval": missing`},
		{"bad hex", `{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"zz"}}`, `keyval.public`},
		{"wrong scheme", `{"keytype":"ed25519","scheme":"rsassa-pss-sha256","keyval":{"public":"` + strings.Repeat("ab", 32) + `"}}`, `scheme`},
		{"keytype number", `{"keytype":1,"scheme":"ed25519","keyval":{"public":"ab"}}`, `"keytype"`},
		{"encrypted", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "encrypted"},
		{"bad pem body", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "PUBLIC KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := keys.Parse([]byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadErrorNamesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "broken.pub")
	os.WriteFile(p, []byte("nope"), 0o644)
	_, err := keys.Load(p)
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("got %v, want error naming %s", err, p)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"` + strings.Repeat("ab", 32) + `"}}`))
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAOT5nGyAPlkxJCD00qGf12YnsHGnfe2Z1j+RxyFkbE5w=\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := keys.Parse(data)
		if err != nil {
			return
		}
		// A parsed key always has an ID and re-encodes.
		if len(k.ID()) != 64 {
			t.Fatalf("bad keyid %q", k.ID())
		}
		if _, err := json.Marshal(k); err != nil {
			t.Fatal(err)
		}
	})
}

// Keyids are cached, but never stale: changing a field they derive from
// changes them, and concurrent use is safe.
func TestKeyIDCacheFollowsFields(t *testing.T) {
	k, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	before := k.ID()
	c := k.Public()
	c.KeyIDHashAlgorithms = nil
	if c.ID() == before {
		t.Fatal("keyid did not change with keyid_hash_algorithms")
	}
	if k.ID() != before {
		t.Fatal("the original key's keyid changed with its copy")
	}
	done := make(chan bool)
	for i := 0; i < 4; i++ {
		go func() {
			for j := 0; j < 100; j++ {
				if !k.HasID(before) {
					t.Error("HasID(own keyid) = false")
				}
			}
			done <- true
		}()
	}
	for i := 0; i < 4; i++ {
		<-done
	}
}
