package keys_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"testing"

	"github.com/toto-dev/toto/keys"
)

// opaque is a crypto.Signer that hides its private key, as a KMS, HSM or
// agent does: only Public and Sign are at hand.
type opaque struct{ s crypto.Signer }

func (o opaque) Public() crypto.PublicKey { return o.s.Public() }
func (o opaque) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return o.s.Sign(r, digest, opts)
}

// A key behind any crypto.Signer signs with the key's scheme: its
// signatures verify with the public key as loaded from PEM, and its keyid
// is that of the same key loaded from a file.
func TestFromSigner(t *testing.T) {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, priv := range map[string]crypto.Signer{"ed25519": ed, "ecdsa-p384": ec, "rsa-pss": rk} {
		t.Run(name, func(t *testing.T) {
			k, err := keys.FromSigner(opaque{priv})
			if err != nil {
				t.Fatal(err)
			}
			plain, err := keys.FromSigner(priv)
			if err != nil {
				t.Fatal(err)
			}
			if k.ID() != plain.ID() {
				t.Errorf("keyid %s, want %s", k.ID(), plain.ID())
			}
			pemBytes, err := plain.MarshalPEM(false)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := keys.Parse(pemBytes)
			if err != nil {
				t.Fatal(err)
			}
			msg := []byte("the exact signed bytes")
			sig, err := k.Sign(context.Background(), msg)
			if err != nil {
				t.Fatal(err)
			}
			if err := pub.Verify(msg, sig); err != nil {
				t.Fatalf("signature through the crypto.Signer does not verify: %v", err)
			}
			if pub.Verify([]byte("other bytes"), sig) == nil {
				t.Fatal("signature verifies over other bytes")
			}
		})
	}
}

func TestIdentity(t *testing.T) {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	k, _ := keys.FromSigner(ed)
	if k.Identity() != nil {
		t.Fatal("a plain key carries an identity")
	}
	withID := k.WithIdentity(keys.Identity{OpenPGPFingerprint: "ABCD", OpenPGPUserIDs: []string{"Release <r@example.com>"}})
	if withID.Identity().OpenPGPFingerprint != "ABCD" || withID.ID() != k.ID() || k.Identity() != nil {
		t.Fatal("identity is not carried beside the same keyid")
	}
	if withID.Public().Identity() == nil {
		t.Fatal("Public drops the identity")
	}
	if _, err := keys.FromCertificate(nil); err == nil {
		t.Fatal("an empty chain makes a key")
	}
}
