package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/signerverifier"
)

// ErrNoPrivateKey is returned when a public-only key is asked to sign.
var ErrNoPrivateKey = errors.New("key has no private part and cannot sign")

// ErrBadSignature is returned when a signature does not verify.
var ErrBadSignature = errors.New("signature does not verify")

// Sign signs data (already the exact bytes to be signed: canonical JSON for
// a Metablock, the PAE for DSSE) with the key's scheme. Signing goes through
// go-securesystemslib's signers, so toto produces exactly what the
// securesystemslib family produces.
func (k *Key) Sign(ctx context.Context, data []byte) ([]byte, error) {
	if k.priv == nil {
		return nil, fmt.Errorf("sign with key %s: %w", ShortID(k.ID()), ErrNoPrivateKey)
	}
	switch k.priv.(type) {
	case ed25519.PrivateKey, *rsa.PrivateKey, *ecdsa.PrivateKey:
	default:
		// A KMS, HSM or agent key: only its crypto.Signer is at hand.
		sig, err := k.signWithCrypto(data)
		if err != nil {
			return nil, fmt.Errorf("sign with key %s: %w", ShortID(k.ID()), err)
		}
		return sig, nil
	}
	if k.Scheme == SchemeRSAPKCS1v15 {
		// Not offered by go-securesystemslib; the references only emit it
		// with PKCS#1 v1.5-configured keys.
		sum := sha256.Sum256(data)
		return rsa.SignPKCS1v15(rand.Reader, k.priv.(*rsa.PrivateKey), crypto.SHA256, sum[:])
	}
	sv, err := k.signerVerifier()
	if err != nil {
		return nil, fmt.Errorf("sign with key %s: %w", ShortID(k.ID()), err)
	}
	sig, err := sv.Sign(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("sign with key %s: %w", ShortID(k.ID()), err)
	}
	return sig, nil
}

type signer interface {
	Sign(ctx context.Context, data []byte) ([]byte, error)
}

func (k *Key) signerVerifier() (signer, error) {
	sk := &signerverifier.SSLibKey{
		KeyType:             k.Type,
		Scheme:              k.Scheme,
		KeyIDHashAlgorithms: k.KeyIDHashAlgorithms,
		KeyID:               k.ID(),
	}
	switch p := k.priv.(type) {
	case ed25519.PrivateKey:
		sk.KeyVal.Public = k.PublicValue
		sk.KeyVal.Private = fmt.Sprintf("%x", []byte(p))
		return signerverifier.NewED25519SignerVerifierFromSSLibKey(sk)
	case *rsa.PrivateKey, *ecdsa.PrivateKey:
		pubPEM, err := k.MarshalPEM(false)
		if err != nil {
			return nil, err
		}
		privPEM, err := k.MarshalPEM(true)
		if err != nil {
			return nil, err
		}
		sk.KeyVal.Public, sk.KeyVal.Private = string(pubPEM), string(privPEM)
		if _, ok := p.(*rsa.PrivateKey); ok {
			return signerverifier.NewRSAPSSSignerVerifierFromSSLibKey(sk)
		}
		return signerverifier.NewECDSASignerVerifierFromSSLibKey(sk)
	}
	return nil, fmt.Errorf("%w: private key type %T", ErrUnsupported, k.priv)
}

// Verify checks sig over data with the key's scheme. RSA-PSS signatures are
// accepted with any salt length, as the Python reference does: it signs with
// a digest-length salt but verifies with PSS.AUTO, and other signers differ.
func (k *Key) Verify(data, sig []byte) error {
	switch pub := k.pub.(type) {
	case ed25519.PublicKey:
		if !ed25519.Verify(pub, data, sig) {
			return ErrBadSignature
		}
		return nil
	case *rsa.PublicKey:
		sum := sha256.Sum256(data)
		return k.VerifyDigest(crypto.SHA256, sum[:], sig)
	case *ecdsa.PublicKey:
		return k.VerifyDigest(ecdsaHash(pub), ecdsaDigest(pub, data), sig)
	}
	return fmt.Errorf("%w: public key type %T", ErrUnsupported, k.pub)
}

// ecdsaDigest hashes with the hash that matches the curve size, as
// securesystemslib does (sha256 for P-256, sha384 for P-384, sha512 above).
func ecdsaDigest(pub *ecdsa.PublicKey, data []byte) []byte {
	h := ecdsaHash(pub).New()
	h.Write(data)
	return h.Sum(nil)
}

// ecdsaHash is the hash that matches the curve size.
func ecdsaHash(pub *ecdsa.PublicKey) crypto.Hash {
	switch bits := pub.Curve.Params().BitSize; {
	case bits <= 256:
		return crypto.SHA256
	case bits <= 384:
		return crypto.SHA384
	}
	return crypto.SHA512
}
