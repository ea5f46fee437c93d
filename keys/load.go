package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/toto-dev/toto/internal/boundedio"
	"github.com/toto-dev/toto/internal/jsonobj"
)

// maxKeyFileSize bounds how much of a key file is read: keys are small, and
// a key path may point at something an attacker controls.
const maxKeyFileSize = 1 << 20

// ErrUnsupported is returned for key types and schemes toto cannot use.
var ErrUnsupported = errors.New("unsupported key")

// Load reads a key file: PEM (PKCS#8, PKCS#1, SEC 1 EC, or SubjectPublicKeyInfo)
// or a securesystemslib JSON key. Errors name the file. An encrypted
// private key needs LoadWith and a password.
func Load(path string) (*Key, error) {
	return LoadWith(path, LoadOptions{})
}

func readKeyFile(path string) ([]byte, error) {
	data, err := boundedio.ReadFile(path, maxKeyFileSize)
	if errors.Is(err, boundedio.ErrTooLarge) {
		return nil, fmt.Errorf("load key %s: file larger than %d bytes", path, maxKeyFileSize)
	}
	if err != nil {
		return nil, fmt.Errorf("load key: %w", err)
	}
	return data, nil
}

// Parse reads a key from PEM or securesystemslib JSON bytes.
func Parse(data []byte) (*Key, error) {
	return parse(data, LoadOptions{})
}

func parse(data []byte, opts LoadOptions) (*Key, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("empty key data")
	}
	if trimmed[0] == '{' {
		return parseJSON(trimmed)
	}
	return parsePEMWith(trimmed, opts)
}

// parsePEM reads an unencrypted PEM key (keys embedded in JSON are never
// encrypted).
func parsePEM(data []byte) (*Key, error) {
	return parsePEMWith(data, LoadOptions{})
}

func parsePEMWith(data []byte, opts LoadOptions) (*Key, error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM key block found (expected PUBLIC KEY, PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY, ENCRYPTED PRIVATE KEY or ENCRYPTED SIGSTORE PRIVATE KEY)")
		}
		switch block.Type {
		case "EC PARAMETERS":
			continue // openssl ecparam writes these before the key
		case PEMEncryptedPKCS8:
			return parseEncryptedPKCS8(block, opts)
		case PEMSigstoreEncrypted, pemCosignEncrypted:
			return parseSigstoreEncrypted(block, opts)
		case "PUBLIC KEY":
			pub, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("PEM PUBLIC KEY: %w", err)
			}
			return fromCrypto(pub, nil)
		case "RSA PUBLIC KEY":
			pub, err := x509.ParsePKCS1PublicKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("PEM RSA PUBLIC KEY: %w", err)
			}
			return fromCrypto(pub, nil)
		case "PRIVATE KEY":
			priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("PEM PRIVATE KEY (PKCS#8): %w", err)
			}
			return fromPrivate(priv)
		case "RSA PRIVATE KEY":
			priv, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("PEM RSA PRIVATE KEY (PKCS#1): %w", err)
			}
			return fromPrivate(priv)
		case "EC PRIVATE KEY":
			priv, err := x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("PEM EC PRIVATE KEY: %w", err)
			}
			return fromPrivate(priv)
		default:
			return nil, fmt.Errorf("%w: PEM block type %q", ErrUnsupported, block.Type)
		}
	}
}

func fromPrivate(priv any) (*Key, error) {
	s, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: private key type %T", ErrUnsupported, priv)
	}
	return fromCrypto(s.Public(), s)
}

// fromCrypto builds a Key the way both references import PEM keys:
// default keyid_hash_algorithms, SPKI PEM (RSA, ECDSA) or hex (ed25519).
func fromCrypto(pub crypto.PublicKey, priv crypto.Signer) (*Key, error) {
	typ, scheme, err := typeAndScheme(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	val, err := publicValue(pub)
	if err != nil {
		return nil, err
	}
	return &Key{
		Type:                typ,
		Scheme:              scheme,
		KeyIDHashAlgorithms: append([]string(nil), DefaultKeyIDHashAlgorithms...),
		PublicValue:         val,
		pub:                 pub,
		priv:                priv,
		ids:                 new(idCache),
	}, nil
}

func publicValue(pub crypto.PublicKey) (string, error) {
	if ed, ok := pub.(ed25519.PublicKey); ok {
		return hex.EncodeToString(ed), nil
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encode public key: %w", err)
	}
	return strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))), nil
}

func parseJSON(data []byte) (*Key, error) {
	f, err := jsonobj.Split(data)
	if err != nil {
		return nil, fmt.Errorf("key JSON: %w", err)
	}
	var jk jsonKey
	if err := f.Take("keytype", &jk.KeyType, true); err != nil {
		return nil, fmt.Errorf("key JSON: %w", err)
	}
	if err := f.Take("scheme", &jk.Scheme, true); err != nil {
		return nil, fmt.Errorf("key JSON: %w", err)
	}
	if err := f.Take("keyval", &jk.KeyVal, true); err != nil {
		return nil, fmt.Errorf("key JSON: %w", err)
	}
	if err := f.Take("keyid_hash_algorithms", &jk.KeyIDHashAlgorithms, false); err != nil {
		return nil, fmt.Errorf("key JSON: %w", err)
	}
	if err := f.Take("keyid", &jk.KeyID, false); err != nil {
		return nil, fmt.Errorf("key JSON: %w", err)
	}
	if err := f.CheckLeftover("keytype", "scheme", "keyval", "keyid_hash_algorithms", "keyid"); err != nil {
		return nil, fmt.Errorf("key JSON: %w", err)
	}
	if jk.KeyVal.Public == "" {
		return nil, fmt.Errorf("key JSON: field \"keyval.public\": missing")
	}
	k := &Key{
		Type:                jk.KeyType,
		Scheme:              jk.Scheme,
		KeyIDHashAlgorithms: jk.KeyIDHashAlgorithms,
		PublicValue:         jk.KeyVal.Public,
		declaredID:          jk.KeyID,
		ids:                 new(idCache),
	}
	if len(f) > 0 {
		k.extra = f
	}
	switch jk.KeyType {
	case Ed25519:
		if jk.Scheme != SchemeEd25519 {
			return nil, fmt.Errorf("%w: key JSON: scheme %q for keytype ed25519", ErrUnsupported, jk.Scheme)
		}
		raw, err := hex.DecodeString(jk.KeyVal.Public)
		if err != nil || len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("key JSON: field \"keyval.public\": want %d bytes of hex for ed25519", ed25519.PublicKeySize)
		}
		k.pub = ed25519.PublicKey(raw)
		if jk.KeyVal.Private != "" {
			priv, err := hex.DecodeString(jk.KeyVal.Private)
			if err != nil {
				return nil, fmt.Errorf("key JSON: field \"keyval.private\": bad hex: %v", err)
			}
			switch len(priv) {
			case ed25519.SeedSize: // securesystemslib stores the seed only
				k.priv = ed25519.NewKeyFromSeed(priv)
			case ed25519.PrivateKeySize:
				k.priv = ed25519.PrivateKey(priv)
			default:
				return nil, fmt.Errorf("key JSON: field \"keyval.private\": want 32 or 64 bytes for ed25519, got %d", len(priv))
			}
			if !k.priv.Public().(ed25519.PublicKey).Equal(k.pub) {
				return nil, errors.New("key JSON: keyval.private does not match keyval.public")
			}
		}
	case RSA, ECDSA, ecdsaP256Legacy, ecdsaP384Legacy:
		pk, err := parsePEM([]byte(jk.KeyVal.Public))
		if err != nil {
			return nil, fmt.Errorf("key JSON: field \"keyval.public\": %w", err)
		}
		k.pub = pk.pub
		if err := checkScheme(k.Type, k.Scheme, k.pub); err != nil {
			return nil, fmt.Errorf("key JSON: %w", err)
		}
		if jk.KeyVal.Private != "" {
			sk, err := parsePEM([]byte(jk.KeyVal.Private))
			if err != nil {
				return nil, fmt.Errorf("key JSON: field \"keyval.private\": %w", err)
			}
			if sk.priv == nil {
				return nil, errors.New("key JSON: field \"keyval.private\": not a private key")
			}
			if !publicEqual(sk.pub, k.pub) {
				return nil, errors.New("key JSON: keyval.private does not match keyval.public")
			}
			k.priv = sk.priv
		}
	default:
		return nil, fmt.Errorf("%w: key JSON: field \"keytype\": %q (want rsa, ed25519 or ecdsa)", ErrUnsupported, jk.KeyType)
	}
	return k, nil
}

// checkScheme rejects keytype/scheme pairs that do not fit the key material.
func checkScheme(typ, scheme string, pub crypto.PublicKey) error {
	switch pub.(type) {
	case *rsa.PublicKey:
		if typ != RSA {
			return fmt.Errorf("field \"keytype\": %q but keyval.public is an RSA key", typ)
		}
		if scheme != SchemeRSAPSS && scheme != SchemeRSAPKCS1v15 {
			return fmt.Errorf("%w: field \"scheme\": %q for an RSA key", ErrUnsupported, scheme)
		}
	case *ecdsa.PublicKey:
		if typ == RSA || typ == Ed25519 {
			return fmt.Errorf("field \"keytype\": %q but keyval.public is an ECDSA key", typ)
		}
		switch scheme {
		case SchemeECDSAP256, SchemeECDSAP384, SchemeECDSAP521:
		default:
			return fmt.Errorf("%w: field \"scheme\": %q for an ECDSA key", ErrUnsupported, scheme)
		}
	default:
		return fmt.Errorf("%w: field \"keyval.public\": %T", ErrUnsupported, pub)
	}
	return nil
}

func publicEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// MarshalPrivateJSON writes k, including its private part, as a
// securesystemslib JSON key.
func (k *Key) MarshalPrivateJSON() ([]byte, error) {
	if k.priv == nil {
		return nil, errors.New("key has no private part")
	}
	var priv string
	switch p := k.priv.(type) {
	case ed25519.PrivateKey:
		priv = hex.EncodeToString(p.Seed())
	default:
		der, err := x509.MarshalPKCS8PrivateKey(p)
		if err != nil {
			return nil, err
		}
		priv = strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	}
	known := map[string]any{
		"keytype": k.Type,
		"scheme":  k.Scheme,
		"keyval":  map[string]string{"public": k.PublicValue, "private": priv},
		// securesystemslib's private key loaders (in-toto-run -k,
		// in-toto-sign -k) require a keyid member and sign under it, as
		// the key files in-toto-keygen writes have one.
		"keyid": k.ID(),
	}
	if k.KeyIDHashAlgorithms != nil {
		known["keyid_hash_algorithms"] = k.KeyIDHashAlgorithms
	}
	return marshalWithExtra(known, k.extra)
}

// MarshalPEM writes the private key as PKCS#8 PEM, or the public key as
// SubjectPublicKeyInfo PEM when private is false.
func (k *Key) MarshalPEM(private bool) ([]byte, error) {
	if private {
		if k.priv == nil {
			return nil, errors.New("key has no private part")
		}
		der, err := x509.MarshalPKCS8PrivateKey(k.priv)
		if err != nil {
			return nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	}
	der, err := x509.MarshalPKIXPublicKey(k.pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

func marshalWithExtra(known map[string]any, extra map[string]json.RawMessage) ([]byte, error) {
	return jsonobj.Join(known, extra)
}
