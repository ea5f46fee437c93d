package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
)

// WithScheme returns a copy of k that signs and verifies with another
// signature scheme for the same key material: RSA keys have two
// (SchemeRSAPSS, which the in-toto references use, and SchemeRSAPKCS1v15,
// which Sigstore and cosign use). The copy's keyids differ from k's, since
// the scheme is part of a keyid; a declared keyid is not carried over.
// For the scheme k already has, it returns k.
func (k *Key) WithScheme(scheme string) (*Key, error) {
	if scheme == k.Scheme {
		return k, nil
	}
	if err := checkScheme(k.Type, scheme, k.pub); err != nil {
		return nil, err
	}
	c := *k
	c.Scheme = scheme
	c.KeyIDHashAlgorithms = slices.Clone(k.KeyIDHashAlgorithms)
	c.declaredID = ""
	c.ids = new(idCache)
	c.idsOf = nil
	return &c, nil
}

// ForSigstore returns k as Sigstore clients use it: an RSA key with
// PKCS#1 v1.5 and SHA-256 (cosign's only RSA scheme), any other key
// unchanged (ECDSA with the curve's hash and ed25519 are the same in
// both worlds).
//
// Unlike WithScheme, the RSA copy keeps k's keyids (ID, IDs, HasID): it is
// the same functionary key used in Sigstore's scheme, so that a signature
// it makes or verifies is attributed to k. It is a view for signing and
// verifying, not a key to publish: write k, not the copy, into a layout.
func (k *Key) ForSigstore() *Key {
	if _, ok := k.pub.(*rsa.PublicKey); !ok || k.Scheme == SchemeRSAPKCS1v15 {
		return k
	}
	c, err := k.WithScheme(SchemeRSAPKCS1v15)
	if err != nil {
		// An RSA key whose Type is not "rsa" (a hand-built literal):
		// leave it as it is, its own scheme check will refuse it.
		return k
	}
	c.idsOf = k
	if k.idsOf != nil {
		c.idsOf = k.idsOf
	}
	return c
}

// SigstoreHint is the public-key hint cosign writes in a keyed Sigstore
// bundle (verificationMaterial.publicKey.hint): the standard base64 of the
// SHA-256 of the key's DER SubjectPublicKeyInfo. It is "" for a key that
// has no SubjectPublicKeyInfo encoding.
func (k *Key) SigstoreHint() string {
	der, err := x509.MarshalPKIXPublicKey(k.pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// ErrDigestUnsupported is returned by VerifyDigest for a key whose
// signatures cover the message itself (ed25519), or a digest whose hash is
// not the one the key's scheme signs.
var ErrDigestUnsupported = errors.New("the key's scheme cannot verify a signature from a digest alone")

// VerifyDigest checks sig over a message known only by its digest under
// hash, as a Sigstore message signature is verified with an artifact
// digest. ECDSA signatures must use the curve's hash (SHA-256 for P-256),
// RSA signatures SHA-256; ed25519 signs the message itself and wraps
// ErrDigestUnsupported.
func (k *Key) VerifyDigest(hash crypto.Hash, digest, sig []byte) error {
	if !hash.Available() || len(digest) != hash.Size() {
		return fmt.Errorf("%w: a %d-byte digest for hash %v", ErrDigestUnsupported, len(digest), hash)
	}
	switch pub := k.pub.(type) {
	case ed25519.PublicKey:
		return fmt.Errorf("%w: ed25519 signs the message itself; verify with the artifact", ErrDigestUnsupported)
	case *ecdsa.PublicKey:
		if want := ecdsaHash(pub); hash != want {
			return fmt.Errorf("%w: %v digest for a %s key (signed with %v)", ErrDigestUnsupported, hash, k.Scheme, want)
		}
		if !ecdsa.VerifyASN1(pub, digest, sig) {
			return ErrBadSignature
		}
		return nil
	case *rsa.PublicKey:
		if hash != crypto.SHA256 {
			return fmt.Errorf("%w: %v digest for a %s key (signed with SHA-256)", ErrDigestUnsupported, hash, k.Scheme)
		}
		var err error
		switch k.Scheme {
		case SchemeRSAPSS:
			err = rsa.VerifyPSS(pub, crypto.SHA256, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		case SchemeRSAPKCS1v15:
			err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig)
		default:
			return fmt.Errorf("%w: scheme %q", ErrUnsupported, k.Scheme)
		}
		if err != nil {
			return ErrBadSignature
		}
		return nil
	}
	return fmt.Errorf("%w: public key type %T", ErrUnsupported, k.pub)
}
