package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
)

// Signer makes signatures for envelopes. A *Key with a private part is
// one; so is any crypto.Signer (a KMS or HSM key, an agent) wrapped with
// FromSigner. Envelope formats call Sign with the exact bytes to be
// signed.
type Signer interface {
	// ID is the keyid written beside the signature.
	ID() string
	// HasID reports whether id is one of the signer's keyids (both
	// reference schemes), so that re-signing replaces its old signature.
	HasID(id string) bool
	Sign(ctx context.Context, data []byte) ([]byte, error)
}

// Verifier checks signatures made by one key. A *Key is one.
type Verifier interface {
	ID() string
	HasID(id string) bool
	Verify(data, sig []byte) error
}

var (
	_ Signer   = (*Key)(nil)
	_ Verifier = (*Key)(nil)
)

// FromSigner makes a Key from any crypto.Signer: its public part as the
// references import PEM keys (default keyid_hash_algorithms, so the keyid
// is the one a PEM file of the same key gets), signing through s. The
// private key material never has to leave s: ed25519 signs the message,
// ECDSA the curve-sized digest, RSA with PSS and a digest-length salt, as
// securesystemslib does.
func FromSigner(s crypto.Signer) (*Key, error) {
	return fromCrypto(s.Public(), s)
}

// FromPublic makes a public-only Key from a parsed public key.
func FromPublic(pub crypto.PublicKey) (*Key, error) {
	return fromCrypto(pub, nil)
}

// Identity is who a key belongs to, as an outside system vouches for it:
// an X.509 certificate chain (notation, keyless Sigstore) or an OpenPGP
// key's fingerprint and user IDs (Red Hat simple signing). It does not
// take part in the keyid.
type Identity struct {
	// Chain is the certificate chain, leaf first; the leaf certifies the
	// key.
	Chain []*x509.Certificate
	// OpenPGPFingerprint is the upper-case hex fingerprint of an OpenPGP
	// key, OpenPGPUserIDs its user IDs.
	OpenPGPFingerprint string
	OpenPGPUserIDs     []string
}

// WithIdentity returns a copy of k carrying id.
func (k *Key) WithIdentity(id Identity) *Key {
	c := *k
	c.identity = &id
	return &c
}

// Identity returns the identity the key carries, or nil.
func (k *Key) Identity() *Identity { return k.identity }

// FromCertificate makes a public Key from the leaf of an X.509 chain (leaf
// first), carrying the chain as its identity. The chain is not validated
// here: that is the trust policy's job.
func FromCertificate(chain []*x509.Certificate) (*Key, error) {
	if len(chain) == 0 {
		return nil, fmt.Errorf("%w: empty certificate chain", ErrUnsupported)
	}
	k, err := FromPublic(chain[0].PublicKey)
	if err != nil {
		return nil, err
	}
	return k.WithIdentity(Identity{Chain: chain}), nil
}

// signWithCrypto signs through a crypto.Signer that is not one of the
// standard library's private key types, with the key's scheme.
func (k *Key) signWithCrypto(data []byte) ([]byte, error) {
	switch pub := k.pub.(type) {
	case ed25519.PublicKey:
		return k.priv.Sign(rand.Reader, data, crypto.Hash(0))
	case *ecdsa.PublicKey:
		return k.priv.Sign(rand.Reader, ecdsaDigest(pub, data), ecdsaHash(pub))
	case *rsa.PublicKey:
		sum := sha256.Sum256(data)
		if k.Scheme == SchemeRSAPKCS1v15 {
			return k.priv.Sign(rand.Reader, sum[:], crypto.SHA256)
		}
		return k.priv.Sign(rand.Reader, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
	}
	return nil, fmt.Errorf("%w: public key type %T", ErrUnsupported, k.pub)
}

// SamePublic reports whether k and o are the same public key, whatever
// keyids or schemes they are listed under (a layout may list one key under
// two keyids; a threshold counts it once).
func (k *Key) SamePublic(o *Key) bool {
	if e, ok := k.pub.(interface{ Equal(crypto.PublicKey) bool }); ok {
		return e.Equal(o.pub)
	}
	return k.ID() == o.ID()
}
