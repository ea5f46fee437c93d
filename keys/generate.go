package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
)

// GenerateOptions tunes Generate. The zero value gives the defaults.
type GenerateOptions struct {
	// RSABits is the RSA modulus size; default 3072, as the references use.
	RSABits int
	// Curve is the ECDSA curve; default P-256.
	Curve elliptic.Curve
}

// Generate creates a new private key of the given type: Ed25519, ECDSA or RSA.
func Generate(keyType string, opts GenerateOptions) (*Key, error) {
	var priv crypto.Signer
	var err error
	switch keyType {
	case Ed25519:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case ECDSA:
		c := opts.Curve
		if c == nil {
			c = elliptic.P256()
		}
		priv, err = ecdsa.GenerateKey(c, rand.Reader)
	case RSA:
		bits := opts.RSABits
		if bits == 0 {
			bits = 3072
		}
		if bits < 2048 {
			return nil, fmt.Errorf("RSA keys must have at least 2048 bits, got %d", bits)
		}
		priv, err = rsa.GenerateKey(rand.Reader, bits)
	default:
		return nil, fmt.Errorf("%w: key type %q (want ed25519, ecdsa or rsa)", ErrUnsupported, keyType)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", keyType, err)
	}
	return fromCrypto(priv.Public(), priv)
}
