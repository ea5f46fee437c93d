// Package keys holds the signing keys of in-toto functionaries and layout
// owners: the securesystemslib key model that layouts embed, loading from PEM
// and securesystemslib JSON files, key generation, keyids, and the signature
// schemes the reference implementations use.
//
// A Key always has a public part; it may also hold a private part, in which
// case it can sign. Public returns a copy safe to publish in a layout.
// Envelopes take the Signer and Verifier interfaces, which a Key
// implements; FromSigner makes a Key of any crypto.Signer (a KMS or HSM
// key), and a Key may carry an Identity (an X.509 chain, an OpenPGP key).
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"
)

// Key types as written in the "keytype" field.
const (
	RSA     = "rsa"
	Ed25519 = "ed25519"
	ECDSA   = "ecdsa"
	// Older securesystemslib versions put the scheme name in keytype.
	ecdsaP256Legacy = "ecdsa-sha2-nistp256"
	ecdsaP384Legacy = "ecdsa-sha2-nistp384"
)

// Signature schemes as written in the "scheme" field.
const (
	SchemeRSAPSS      = "rsassa-pss-sha256"
	SchemeRSAPKCS1v15 = "rsa-pkcs1v15-sha256"
	SchemeEd25519     = "ed25519"
	SchemeECDSAP256   = "ecdsa-sha2-nistp256"
	SchemeECDSAP384   = "ecdsa-sha2-nistp384"
	SchemeECDSAP521   = "ecdsa-sha2-nistp521"
)

// DefaultKeyIDHashAlgorithms is what both reference implementations attach
// to keys they import from PEM, and which then takes part in the keyid.
var DefaultKeyIDHashAlgorithms = []string{"sha256", "sha512"}

// Key is a public key, optionally with its private part.
type Key struct {
	// Type is the securesystemslib keytype: "rsa", "ed25519" or "ecdsa".
	Type string
	// Scheme is the signature scheme, e.g. "rsassa-pss-sha256".
	Scheme string
	// KeyIDHashAlgorithms is the optional keyid_hash_algorithms field. It is
	// part of the keyid when present, so it is kept exactly as found.
	KeyIDHashAlgorithms []string
	// PublicValue is keyval.public as written: a PEM block for RSA and
	// ECDSA, lowercase hex for ed25519.
	PublicValue string

	pub  crypto.PublicKey
	priv crypto.Signer
	// declaredID is the "keyid" member found in the key's JSON, if any.
	declaredID string
	// extra keeps unknown members of the key object.
	extra map[string]json.RawMessage
	// ids caches the keyids (see IDs); nil for a Key built as a literal.
	ids *idCache
	// identity is an X.509 chain or OpenPGP identity the key carries.
	identity *Identity
	// idsOf is the key whose keyids this one answers to: set by
	// ForSigstore, whose copy signs with another scheme but names the
	// same functionary key.
	idsOf *Key
}

// CryptoPublicKey returns the parsed public key.
func (k *Key) CryptoPublicKey() crypto.PublicKey { return k.pub }

// IsPrivate reports whether the key can sign.
func (k *Key) IsPrivate() bool { return k.priv != nil }

// Public returns a copy of k without its private part.
func (k *Key) Public() *Key {
	c := *k
	c.priv = nil
	c.KeyIDHashAlgorithms = slices.Clone(k.KeyIDHashAlgorithms)
	return &c
}

// ID returns the keyid of k: the hex SHA-256 of the canonical JSON of its
// public part, including keyid_hash_algorithms when the key has them (which
// is how both reference implementations compute it for keys they import).
//
// A key read from JSON that declares a keyid computed another of the ways
// listed in IDs keeps the declared one. Python in-toto computes every keyid
// with the default keyid_hash_algorithms, even for key objects that omit
// them (the RSA keys it embeds in layouts), and layouts and signatures name
// the key by that keyid.
func (k *Key) ID() string {
	return k.IDs()[0]
}

// IDs returns every keyid the reference implementations might use for this
// key: with its keyid_hash_algorithms, without any, with the default pair,
// and with the member present but null (in-toto-golang and go-securesystemslib
// hash a nil list that way). The first is ID(). A "keyid" member written in
// the key's JSON is not one of them unless it is computed one of these ways:
// a key object must not answer to a keyid that names another key.
func (k *Key) IDs() []string {
	if k.idsOf != nil {
		return k.idsOf.IDs()
	}
	if k.ids == nil {
		return k.computeIDs()
	}
	fp := k.fingerprint()
	k.ids.mu.Lock()
	defer k.ids.mu.Unlock()
	if k.ids.fp != fp || k.ids.ids == nil {
		k.ids.fp, k.ids.ids = fp, k.computeIDs()
	}
	return slices.Clone(k.ids.ids)
}

// idCache remembers a key's keyids: each is a canonical-JSON encoding and a
// SHA-256, and the verifier asks for them for every signature it sees. The
// fingerprint of the fields they derive from guards against a caller that
// changes those exported fields after use.
type idCache struct {
	mu  sync.Mutex
	fp  string
	ids []string
}

func (k *Key) fingerprint() string {
	return strings.Join([]string{k.Type, k.Scheme, fmt.Sprint(k.KeyIDHashAlgorithms == nil), strings.Join(k.KeyIDHashAlgorithms, ","), k.PublicValue, k.declaredID}, "\x00")
}

func (k *Key) computeIDs() []string {
	own := k.idOver(k.KeyIDHashAlgorithms)
	bare, def, null := k.idOver(nil), k.idOver(DefaultKeyIDHashAlgorithms), k.idOverNull()
	first := own
	if d := k.declaredID; d != "" && d != own && (d == bare || d == def || d == null) {
		first = d
	}
	ids := []string{first}
	for _, id := range []string{own, bare, def, null} {
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// HasID reports whether id is one of the keyids of k (see IDs), or the
// key's Sigstore public-key hint (see SigstoreHint): a keyed Sigstore
// bundle names its key only by that hint, and its signature reads as an
// envelope signature under it.
func (k *Key) HasID(id string) bool {
	if slices.Contains(k.IDs(), id) {
		return true
	}
	return len(id) == sigstoreHintLen && id == k.SigstoreHint()
}

// sigstoreHintLen is the length of a Sigstore hint: base64 of 32 bytes.
const sigstoreHintLen = 44

func (k *Key) idOver(algs []string) string {
	m := map[string]any{
		"keytype": k.Type,
		"scheme":  k.Scheme,
		"keyval":  map[string]any{"public": k.PublicValue},
	}
	if algs != nil {
		m["keyid_hash_algorithms"] = algs
	}
	return hashKeyObject(m)
}

// idOverNull is the keyid over `"keyid_hash_algorithms": null`, which is
// what in-toto-golang (Key.LoadKey with nil algorithms) and
// go-securesystemslib (JSON keys without the member) compute.
func (k *Key) idOverNull() string {
	return hashKeyObject(map[string]any{
		"keytype":               k.Type,
		"scheme":                k.Scheme,
		"keyval":                map[string]any{"public": k.PublicValue},
		"keyid_hash_algorithms": nil,
	})
}

func hashKeyObject(m map[string]any) string {
	b, err := cjson.EncodeCanonical(m)
	if err != nil {
		// Only strings and lists of strings go in; this cannot fail.
		panic(fmt.Sprintf("keys: canonical JSON of key: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// jsonKey is the securesystemslib key object.
type jsonKey struct {
	KeyType             string   `json:"keytype"`
	Scheme              string   `json:"scheme"`
	KeyIDHashAlgorithms []string `json:"keyid_hash_algorithms,omitempty"`
	KeyID               string   `json:"keyid,omitempty"`
	KeyVal              struct {
		Public  string `json:"public"`
		Private string `json:"private,omitempty"`
	} `json:"keyval"`
}

// MarshalJSON writes the public part of k in securesystemslib form, as
// layouts embed it. The private part is never written; see
// MarshalPrivateJSON.
func (k *Key) MarshalJSON() ([]byte, error) {
	known := map[string]any{
		"keytype": k.Type,
		"scheme":  k.Scheme,
		"keyval":  map[string]string{"public": k.PublicValue},
	}
	if k.KeyIDHashAlgorithms != nil {
		known["keyid_hash_algorithms"] = k.KeyIDHashAlgorithms
	}
	// Both references write a "keyid" member and Python's key schema
	// requires it; in-toto-golang re-encodes layout keys with it before
	// checking a layout signature.
	known["keyid"] = k.ID()
	return marshalWithExtra(known, k.extra)
}

// UnmarshalJSON reads a securesystemslib key object (public or private).
func (k *Key) UnmarshalJSON(data []byte) error {
	p, err := parseJSON(data)
	if err != nil {
		return err
	}
	*k = *p
	return nil
}

// publicKeyType reports the keytype and default scheme for a parsed key.
func typeAndScheme(pub crypto.PublicKey) (string, string, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return RSA, SchemeRSAPSS, nil
	case ed25519.PublicKey:
		return Ed25519, SchemeEd25519, nil
	case *ecdsa.PublicKey:
		switch p.Curve.Params().BitSize {
		case 256:
			return ECDSA, SchemeECDSAP256, nil
		case 384:
			return ECDSA, SchemeECDSAP384, nil
		case 521:
			return ECDSA, SchemeECDSAP521, nil
		}
		return "", "", fmt.Errorf("unsupported ECDSA curve %s", p.Curve.Params().Name)
	}
	return "", "", fmt.Errorf("unsupported public key type %T", pub)
}

// ShortID is the 8-hex-digit keyid prefix used in link file names and
// messages.
func ShortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
