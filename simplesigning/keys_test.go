package simplesigning_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/toto-dev/toto/simplesigning"
)

// GenerateKey's keys round-trip through the armored files toto writes, sign
// and verify, for Ed25519 and RSA; too small RSA is refused.
func TestGenerateKey(t *testing.T) {
	for name, opts := range map[string]simplesigning.KeyOptions{
		"ed25519": {Name: "Release", Email: "release@example.com", Now: now.Add(-time.Hour)},
		"rsa":     {Name: "Release", RSABits: 2048, Now: now.Add(-time.Hour)},
	} {
		t.Run(name, func(t *testing.T) {
			e, err := simplesigning.GenerateKey(opts)
			if err != nil {
				t.Fatal(err)
			}
			priv, err := simplesigning.ArmorPrivateKey(e)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := simplesigning.ArmorPublicKey(e)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(priv, []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----")) || !bytes.HasPrefix(pub, []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----")) {
				t.Fatalf("armor:\n%s\n%s", priv, pub)
			}
			secret, err := simplesigning.ReadKeyring(priv)
			if err != nil {
				t.Fatal(err)
			}
			signer, err := simplesigning.SigningKey(secret, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := simplesigning.Sign(payload(t), signer, simplesigning.Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			public, err := simplesigning.ReadKeyring(pub)
			if err != nil {
				t.Fatal(err)
			}
			if public[0].PrivateKey != nil {
				t.Error("the public key file holds a private key")
			}
			v, err := simplesigning.Verify(sig, public, simplesigning.Options{Now: now})
			if err != nil || v.Fingerprint != simplesigning.Fingerprint(e) {
				t.Fatalf("%+v %v", v, err)
			}
		})
	}
	if _, err := simplesigning.GenerateKey(simplesigning.KeyOptions{RSABits: 1024}); err == nil {
		t.Error("1024-bit RSA accepted")
	}
}

func TestSigningKey(t *testing.T) {
	alice, bob := newEntity(t, "alice", 0), newEntity(t, "bob", 0)
	ring := openpgp.EntityList{alice, bob}
	if _, err := simplesigning.SigningKey(ring, "", nil); !errors.Is(err, simplesigning.ErrNoSigningKey) {
		t.Errorf("two keys, none named: %v", err)
	}
	if e, err := simplesigning.SigningKey(ring, simplesigning.Fingerprint(bob), nil); err != nil || e != bob {
		t.Errorf("by fingerprint: %v", err)
	}
	if _, err := simplesigning.SigningKey(ring, "0123", nil); !errors.Is(err, simplesigning.ErrNoSigningKey) {
		t.Errorf("unknown fingerprint: %v", err)
	}
	pub, _ := simplesigning.ArmorPublicKey(alice)
	public, _ := simplesigning.ReadKeyring(pub)
	if _, err := simplesigning.SigningKey(public, "", nil); !errors.Is(err, simplesigning.ErrNoSigningKey) {
		t.Errorf("public key only: %v", err)
	}

	// An encrypted key (gpg's default) is decrypted with the passphrase.
	carol := newEntity(t, "carol", 0)
	if err := carol.EncryptPrivateKeys([]byte("s3cret"), nil); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := carol.SerializePrivateWithoutSigning(&buf, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		pw   func() ([]byte, error)
		ok   bool
	}{
		{"no passphrase callback", nil, false},
		{"wrong passphrase", func() ([]byte, error) { return []byte("nope"), nil }, false},
		{"callback fails", func() ([]byte, error) { return nil, errors.New("no terminal") }, false},
		{"right passphrase", func() ([]byte, error) { return []byte("s3cret"), nil }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ring, err := simplesigning.ReadKeyring(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			e, err := simplesigning.SigningKey(ring, "", tc.pw)
			if !tc.ok {
				if !errors.Is(err, simplesigning.ErrNoSigningKey) {
					t.Errorf("%v, want ErrNoSigningKey", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := simplesigning.Sign(payload(t), e, simplesigning.Options{Now: now}); err != nil {
				t.Error(err)
			}
		})
	}
}

// A signature by a signing subkey verifies under the primary key's
// fingerprint while the subkey is valid, and fails with ErrExpiredKey
// once the subkey (not the primary key) has expired.
func TestExpiredSubkey(t *testing.T) {
	created := now.Add(-time.Hour) // newEntity's creation time
	e := newEntity(t, "subkeyed", 0)
	if err := e.AddSigningSubkey(&packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Time: func() time.Time { return created }, KeyLifetimeSecs: 600}); err != nil {
		t.Fatal(err)
	}
	sig, err := simplesigning.Sign(payload(t), e, simplesigning.Options{Now: created.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := simplesigning.ArmorPublicKey(e)
	ring, err := simplesigning.ReadKeyring(pub)
	if err != nil {
		t.Fatal(err)
	}
	v, err := simplesigning.Verify(sig, ring, simplesigning.Options{Now: created.Add(2 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if v.Fingerprint != simplesigning.Fingerprint(e) || v.SubkeyFingerprint == v.Fingerprint {
		t.Errorf("signed by %s (subkey %s), want the subkey of %s", v.Fingerprint, v.SubkeyFingerprint, simplesigning.Fingerprint(e))
	}
	if _, err := simplesigning.Verify(sig, ring, simplesigning.Options{Now: now}); !errors.Is(err, simplesigning.ErrExpiredKey) {
		t.Errorf("after the subkey expired: %v, want ErrExpiredKey", err)
	}
}
