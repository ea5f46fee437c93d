// Package kms loads signing keys that stay in a key management service,
// through sigstore's KMS abstraction (github.com/sigstore/sigstore's
// pkg/signature/kms), as a keys.Key whose private operations are KMS
// requests. HashiCorp Vault's (and OpenBao's) transit engine is the
// provider registered here: hashivault://KEYNAME, configured as cosign's
// is, by VAULT_ADDR and VAULT_TOKEN (or BAO_ADDR, BAO_TOKEN), and
// TRANSIT_SECRET_ENGINE_PATH (default "transit").
//
// It lives apart from package keys so that the Vault client is only a
// dependency of programs that ask for it.
package kms

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"

	sigkms "github.com/sigstore/sigstore/pkg/signature/kms"
	"github.com/sigstore/sigstore/pkg/signature/kms/hashivault"

	"github.com/toto-dev/toto/keys"
)

// Schemes are the key reference prefixes Load takes.
var Schemes = []string{hashivault.ReferenceScheme, hashivault.AlternativeScheme}

// IsReference reports whether s names a KMS key rather than a file.
func IsReference(s string) bool {
	for _, p := range Schemes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// ErrUnsupportedKey is returned for a KMS key toto cannot sign with as
// in-toto expects.
var ErrUnsupportedKey = errors.New("kms: unsupported key")

// Load returns the KMS key ref names. Its public key is fetched now (one
// request); every signature is a request to the KMS. ECDSA and Ed25519
// keys are supported. RSA keys are refused: sigstore's Vault client signs
// RSA with PKCS#1 v1.5 only, and in-toto signs RSA with RSASSA-PSS.
func Load(ctx context.Context, ref string) (*keys.Key, error) {
	if !IsReference(ref) {
		return nil, fmt.Errorf("kms: %q is not a KMS key reference (%s)", ref, strings.Join(Schemes, ", "))
	}
	sv, err := sigkms.Get(ctx, ref, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("kms: %s: %w", ref, err)
	}
	signer, _, err := sv.CryptoSigner(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("kms: %s: %w", ref, err)
	}
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("kms: %s: public key: %w", ref, err)
	}
	switch pub.(type) {
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("%w: %s is a %T key; toto signs with ECDSA or Ed25519 KMS keys", ErrUnsupportedKey, ref, pub)
	}
	k, err := keys.FromSigner(fixedPublic{signer, pub})
	if err != nil {
		return nil, fmt.Errorf("kms: %s: %w", ref, err)
	}
	return k, nil
}

// fixedPublic answers Public from the key fetched once, instead of the
// wrapper's lookup that cannot return an error.
type fixedPublic struct {
	crypto.Signer
	pub crypto.PublicKey
}

func (f fixedPublic) Public() crypto.PublicKey { return f.pub }
