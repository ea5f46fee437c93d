package simplesigning

import (
	"crypto"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// ErrNoSigningKey: a keyring without a usable private signing key (none
// at all, none matching the fingerprint asked for, or one still
// encrypted without a passphrase).
var ErrNoSigningKey = errors.New("no usable OpenPGP signing key")

// KeyOptions are the knobs of GenerateKey.
type KeyOptions struct {
	// Name and Email make the user ID "Name <Email>".
	Name, Email string
	// RSABits makes an RSA key of that size; zero makes an Ed25519 key.
	RSABits int
	// Lifetime is how long the key is valid; zero means no expiry.
	Lifetime time.Duration
	// Now is the key's creation time; zero means time.Now.
	Now time.Time
}

// GenerateKey makes an OpenPGP key pair able to sign simple signing
// signatures (an Ed25519 or RSA primary key, SHA-256 self-signatures),
// which gpg and containers/image accept.
func GenerateKey(opts KeyOptions) (*openpgp.Entity, error) {
	cfg := &packet.Config{DefaultHash: crypto.SHA256, Algorithm: packet.PubKeyAlgoEdDSA}
	if opts.RSABits != 0 {
		if opts.RSABits < 2048 {
			return nil, fmt.Errorf("simplesigning: RSA keys of %d bits are too small (2048 at least)", opts.RSABits)
		}
		cfg.Algorithm, cfg.RSABits = packet.PubKeyAlgoRSA, opts.RSABits
	}
	if !opts.Now.IsZero() {
		now := opts.Now
		cfg.Time = func() time.Time { return now }
	}
	if opts.Lifetime > 0 {
		cfg.KeyLifetimeSecs = uint32(opts.Lifetime / time.Second)
	}
	e, err := openpgp.NewEntity(opts.Name, "", opts.Email, cfg)
	if err != nil {
		return nil, fmt.Errorf("simplesigning: generate key: %w", err)
	}
	return e, nil
}

// SigningKey picks the signing key of a secret keyring (ReadKeyring reads
// gpg --export-secret-keys output, armored or binary): the entity whose
// primary fingerprint (or a subkey's) is fingerprint, or the only one with
// a private key when fingerprint is "". An encrypted private key is
// decrypted with passphrase (called at most once; nil refuses encrypted
// keys).
func SigningKey(keyring openpgp.EntityList, fingerprint string, passphrase func() ([]byte, error)) (*openpgp.Entity, error) {
	fingerprint = strings.ToUpper(strings.ReplaceAll(fingerprint, " ", ""))
	var found []*openpgp.Entity
	for _, e := range keyring {
		if e.PrivateKey == nil {
			continue
		}
		if fingerprint == "" || Fingerprint(e) == fingerprint || hasSubkey(e, fingerprint) {
			found = append(found, e)
		}
	}
	switch {
	case len(found) == 0 && fingerprint != "":
		return nil, fmt.Errorf("%w: no private key with fingerprint %s", ErrNoSigningKey, fingerprint)
	case len(found) == 0:
		return nil, fmt.Errorf("%w: the keyring holds no private key", ErrNoSigningKey)
	case len(found) > 1:
		return nil, fmt.Errorf("%w: the keyring holds %d private keys; name one by fingerprint", ErrNoSigningKey, len(found))
	}
	e := found[0]
	if encrypted(e) {
		if passphrase == nil {
			return nil, fmt.Errorf("%w: the private key is encrypted", ErrNoSigningKey)
		}
		pw, err := passphrase()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNoSigningKey, err)
		}
		if err := e.DecryptPrivateKeys(pw); err != nil {
			return nil, fmt.Errorf("%w: decrypting the private key: %w", ErrNoSigningKey, err)
		}
	}
	return e, nil
}

func hasSubkey(e *openpgp.Entity, fingerprint string) bool {
	for _, s := range e.Subkeys {
		if strings.ToUpper(fmt.Sprintf("%x", s.PublicKey.Fingerprint)) == fingerprint {
			return true
		}
	}
	return false
}

func encrypted(e *openpgp.Entity) bool {
	if e.PrivateKey != nil && e.PrivateKey.Encrypted {
		return true
	}
	for _, s := range e.Subkeys {
		if s.PrivateKey != nil && s.PrivateKey.Encrypted {
			return true
		}
	}
	return false
}
