package kms_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/toto-dev/toto/attestation"
	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/keys/kms"
	"github.com/toto-dev/toto/keys/kms/vaulttest"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/statement"
)

func startVault(t *testing.T) *vaulttest.Server {
	t.Helper()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	return vaulttest.Start(t, map[string]crypto.Signer{"build-ec": ec, "build-ed": ed, "build-rsa": rk})
}

func TestLoadAndSignThroughVault(t *testing.T) {
	v := startVault(t)
	ctx := context.Background()
	for name, wantPath := range map[string]string{"build-ec": "/v1/transit/sign/build-ec/sha2-256", "build-ed": "/v1/transit/sign/build-ed"} {
		t.Run(name, func(t *testing.T) {
			k, err := kms.Load(ctx, "hashivault://"+name)
			if err != nil {
				t.Fatal(err)
			}
			// The key is the one Vault holds: its keyid is that of its
			// public key in a PEM file.
			der, _ := x509.MarshalPKIXPublicKey(v.Keys[name].Public())
			pub, err := keys.Parse(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
			if err != nil {
				t.Fatal(err)
			}
			if k.ID() != pub.ID() {
				t.Errorf("keyid %s, want %s", k.ID(), pub.ID())
			}
			data := []byte("payload to sign")
			v.Requests()
			sig, err := k.Sign(ctx, data)
			if err != nil {
				t.Fatal(err)
			}
			if err := pub.Verify(data, sig); err != nil {
				t.Errorf("the Vault signature does not verify with the public key: %v", err)
			}
			// The request shape: one sign request, the digest (ECDSA,
			// prehashed) or the message (ed25519), the token checked.
			reqs, bodies := v.Requests()
			if len(reqs) != 1 || reqs[0] != "PUT "+wantPath || len(bodies) != 1 {
				t.Fatalf("requests %q", reqs)
			}
			in, _ := base64.StdEncoding.DecodeString(bodies[0]["input"].(string))
			sum := sha256.Sum256(data)
			switch name {
			case "build-ec":
				if string(in) != string(sum[:]) || bodies[0]["prehashed"] != true {
					t.Errorf("ECDSA sign body %v", bodies[0])
				}
			case "build-ed":
				if string(in) != string(data) || bodies[0]["prehashed"] != false {
					t.Errorf("ed25519 sign body %v", bodies[0])
				}
			}

			// A signed attestation from the KMS key verifies with the
			// public key alone.
			st, err := statement.NewRaw("https://example.com/p/v1", []byte(`{"a":1}`), statement.Subject{Name: "f", Digest: link.DigestSet{"sha256": strings.Repeat("a", 64)}})
			if err != nil {
				t.Fatal(err)
			}
			env, err := attestation.Sign(ctx, st, k)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := env.Encode()
			back, err := envelope.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := attestation.NewVerifier(attestation.Options{Keys: attestation.Keys(pub)}).Verify(ctx, back); err != nil {
				t.Errorf("attestation signed in Vault: %v", err)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	v := startVault(t)
	ctx := context.Background()
	if _, err := kms.Load(ctx, "hashivault://build-rsa"); !errors.Is(err, kms.ErrUnsupportedKey) {
		t.Errorf("RSA key: %v", err)
	}
	if _, err := kms.Load(ctx, "hashivault://missing"); err == nil || !strings.Contains(err.Error(), "hashivault://missing") {
		t.Errorf("missing key: %v", err)
	}
	if _, err := kms.Load(ctx, "awskms://x"); err == nil || !strings.Contains(err.Error(), "not a KMS key reference") {
		t.Errorf("other scheme: %v", err)
	}
	t.Setenv("VAULT_TOKEN", "s.wrong")
	if _, err := kms.Load(ctx, "hashivault://build-ec"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("wrong token: %v", err)
	}
	_ = v
}
