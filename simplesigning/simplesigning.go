// Package simplesigning signs and verifies container image signatures in
// the "simple signing" format of containers/image, the library podman,
// skopeo, buildah and CRI-O use (containers-signature(5)): a small JSON
// payload naming the image by reference and manifest digest, signed as an
// OpenPGP signed message (not detached, not cleartext).
//
// OpenPGP is github.com/ProtonMail/go-crypto, the pure-Go implementation
// containers/image itself uses without gpgme, so toto builds with
// CGO_ENABLED=0. Which signatures are required for which image is a policy
// (containers-policy.json(5)) question, answered elsewhere; this package
// answers "is this signature by one of these keys, and what does it say".
package simplesigning

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/toto-dev/toto/internal/jsonobj"
)

// Type is the critical.type of a simple signing payload.
const Type = "atomic container signature"

// MaxSignatureSize bounds a signature read or verified, as containers/image
// bounds a signature body (4 MiB).
const MaxSignatureSize = 4 << 20

// Errors callers branch on; each failure wraps one of them.
var (
	// ErrCorrupt: not an OpenPGP signed message (corrupt packets, a
	// cleartext-signed or detached signature, an encrypted message).
	ErrCorrupt = errors.New("not an OpenPGP signed message")
	// ErrUnknownKey: signed by a key not in the keyring.
	ErrUnknownKey = errors.New("signed by a key not trusted here")
	// ErrExpiredKey: the signing key or signature has expired.
	ErrExpiredKey = errors.New("signing key or signature expired")
	// ErrRevokedKey: the signing (sub)key has been revoked.
	ErrRevokedKey = errors.New("signing key revoked")
	// ErrBadSignature: the signature does not verify over the payload.
	ErrBadSignature = errors.New("signature does not verify")
	// ErrPayload: the signed payload is not a simple signing payload.
	ErrPayload = errors.New("not a simple signing payload")
	// ErrDigestMismatch: the payload names another manifest digest.
	ErrDigestMismatch = errors.New("signature is for another manifest digest")
)

// Payload is the signed content (containers-signature(5)).
type Payload struct {
	// DockerReference is critical.identity.docker-reference, the image
	// name the signer meant (e.g. "registry.example/app:1.4").
	DockerReference string
	// ManifestDigest is critical.image.docker-manifest-digest
	// ("sha256:...").
	ManifestDigest string
	// Creator and Timestamp are from "optional"; zero when absent.
	Creator   string
	Timestamp int64
}

// MarshalJSON writes the payload as containers/image does: critical and
// optional, the fixed type.
func (p *Payload) MarshalJSON() ([]byte, error) {
	optional := map[string]any{}
	if p.Creator != "" {
		optional["creator"] = p.Creator
	}
	if p.Timestamp != 0 {
		optional["timestamp"] = p.Timestamp
	}
	return json.Marshal(map[string]any{
		"critical": map[string]any{
			"type":     Type,
			"image":    map[string]string{"docker-manifest-digest": p.ManifestDigest},
			"identity": map[string]string{"docker-reference": p.DockerReference},
		},
		"optional": optional,
	})
}

// Document is a simple-signing payload of any type: Red Hat's (Type) and
// cosign v2's .sig payloads ("cosign container image signature") are the
// same document.
type Document struct {
	// Type is critical.type.
	Type string
	// DockerReference is critical.identity.docker-reference.
	DockerReference string
	// ManifestDigest is critical.image.docker-manifest-digest.
	ManifestDigest string
	// Optional holds the members of "optional" as they were written; nil
	// when it is absent or null.
	Optional map[string]json.RawMessage
}

// ParseDocument reads a payload strictly, as containers/image does:
// exactly critical (identity.docker-reference, image.docker-manifest-digest
// and type, all strings) and optionally optional (an object or null); no
// duplicate members, no member differing from a known one only in case,
// nothing unknown in critical (a signer may have meant a constraint this
// reader would ignore). The type is not checked. Errors wrap ErrPayload.
func ParseDocument(data []byte) (*Document, error) {
	bad := func(err error) error { return fmt.Errorf("%w: %w", ErrPayload, err) }
	top, err := jsonobj.Split(data)
	if err != nil {
		return nil, bad(err)
	}
	var critRaw, optRaw json.RawMessage
	if err := top.Take("critical", &critRaw, true); err != nil {
		return nil, bad(err)
	}
	if err := top.Take("optional", &optRaw, false); err != nil {
		return nil, bad(err)
	}
	if err := noneLeft(top, ""); err != nil {
		return nil, bad(err)
	}
	crit, err := jsonobj.Split(critRaw)
	if err != nil {
		return nil, bad(fmt.Errorf("critical: %w", err))
	}
	var idRaw, imgRaw json.RawMessage
	d := &Document{}
	if err := crit.Take("identity", &idRaw, true); err != nil {
		return nil, bad(fmt.Errorf("critical: %w", err))
	}
	if err := crit.Take("image", &imgRaw, true); err != nil {
		return nil, bad(fmt.Errorf("critical: %w", err))
	}
	if err := crit.Take("type", &d.Type, true); err != nil {
		return nil, bad(fmt.Errorf("critical: %w", err))
	}
	if err := noneLeft(crit, "critical."); err != nil {
		return nil, bad(err)
	}
	for _, m := range []struct {
		what, member string
		raw          json.RawMessage
		into         *string
	}{
		{"critical.identity", "docker-reference", idRaw, &d.DockerReference},
		{"critical.image", "docker-manifest-digest", imgRaw, &d.ManifestDigest},
	} {
		f, err := jsonobj.Split(m.raw)
		if err != nil {
			return nil, bad(fmt.Errorf("%s: %w", m.what, err))
		}
		if err := f.Take(m.member, m.into, true); err != nil {
			return nil, bad(fmt.Errorf("%s: %w", m.what, err))
		}
		if err := noneLeft(f, m.what+"."); err != nil {
			return nil, bad(err)
		}
	}
	if len(optRaw) > 0 && string(optRaw) != "null" {
		opt, err := jsonobj.Split(optRaw)
		if err != nil {
			return nil, bad(fmt.Errorf("optional: %w", err))
		}
		d.Optional = opt
	}
	return d, nil
}

func noneLeft(f jsonobj.Fields, prefix string) error {
	for name := range f {
		return fmt.Errorf("unknown member %s%q", prefix, name)
	}
	return nil
}

// ParsePayload reads a Red Hat simple-signing payload: ParseDocument, then
// critical.type must be Type; of optional, creator (a string) and
// timestamp (an integer) are read and other members ignored.
func ParsePayload(data []byte) (*Payload, error) {
	d, err := ParseDocument(data)
	if err != nil {
		return nil, err
	}
	if d.Type != Type {
		return nil, fmt.Errorf("%w: critical.type is not %q", ErrPayload, Type)
	}
	p := &Payload{DockerReference: d.DockerReference, ManifestDigest: d.ManifestDigest}
	if raw, ok := d.Optional["creator"]; ok {
		if err := json.Unmarshal(raw, &p.Creator); err != nil {
			return nil, fmt.Errorf("%w: optional.creator: %v", ErrPayload, err)
		}
	}
	if raw, ok := d.Optional["timestamp"]; ok {
		if err := json.Unmarshal(raw, &p.Timestamp); err != nil {
			return nil, fmt.Errorf("%w: optional.timestamp: %v", ErrPayload, err)
		}
	}
	return p, nil
}

// ReadKeyring reads OpenPGP keys, armored ("-----BEGIN PGP PUBLIC KEY
// BLOCK-----", several blocks allowed) or binary, as gpg --export writes
// them.
func ReadKeyring(data []byte) (openpgp.EntityList, error) {
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN PGP")) {
		var all openpgp.EntityList
		rest := data
		for len(bytes.TrimSpace(rest)) > 0 {
			r := bytes.NewReader(rest)
			block, err := armor.Decode(r)
			if err != nil {
				if len(all) > 0 && errors.Is(err, io.EOF) {
					break
				}
				return nil, fmt.Errorf("armored keyring: %w", err)
			}
			el, err := openpgp.ReadKeyRing(block.Body)
			if err != nil {
				return nil, fmt.Errorf("armored keyring: %w", err)
			}
			all = append(all, el...)
			consumed := len(rest) - r.Len()
			if consumed <= 0 {
				break
			}
			rest = rest[consumed:]
		}
		if len(all) == 0 {
			return nil, errors.New("no keys in keyring")
		}
		return all, nil
	}
	el, err := openpgp.ReadKeyRing(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return el, nil
}

// Fingerprint is the uppercase hex fingerprint of an entity's primary key,
// as gpg prints it and policy.json's keyPaths are matched by.
func Fingerprint(e *openpgp.Entity) string {
	return strings.ToUpper(fmt.Sprintf("%x", e.PrimaryKey.Fingerprint))
}

// Options are the knobs of Sign and Verify.
type Options struct {
	// Now is the time keys and signatures are checked against (and the
	// signature's creation time when signing); zero means time.Now.
	Now time.Time
}

func (o Options) config() *packet.Config {
	c := &packet.Config{DefaultHash: 0}
	if !o.Now.IsZero() {
		now := o.Now
		c.Time = func() time.Time { return now }
	}
	return c
}

// Sign signs payload as an OpenPGP signed message with signer's signing
// key (it must hold a decrypted private key).
func Sign(payload []byte, signer *openpgp.Entity, opts Options) ([]byte, error) {
	if signer == nil || signer.PrivateKey == nil {
		return nil, errors.New("simplesigning: the signing key has no private key")
	}
	var buf bytes.Buffer
	w, err := openpgp.Sign(&buf, signer, nil, opts.config())
	if err != nil {
		return nil, fmt.Errorf("simplesigning: sign: %w", err)
	}
	if _, err := w.Write(payload); err != nil {
		return nil, fmt.Errorf("simplesigning: sign: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("simplesigning: sign: %w", err)
	}
	return buf.Bytes(), nil
}

// Verified is a signature that verified.
type Verified struct {
	// Payload is the signed content, as signed.
	Payload []byte
	// Fingerprint is the signing key's primary fingerprint (uppercase
	// hex), and SubkeyFingerprint the fingerprint of the (sub)key that
	// made the signature.
	Fingerprint, SubkeyFingerprint string
	// Created is when the signature was made.
	Created time.Time
}

// Verify checks that sig is an OpenPGP signed message by a key of keyring,
// valid at opts.Now, and returns what it signs. It does not interpret the
// payload: see ParsePayload and CheckDigest.
func Verify(sig []byte, keyring openpgp.EntityList, opts Options) (*Verified, error) {
	if len(sig) > MaxSignatureSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrCorrupt, len(sig), MaxSignatureSize)
	}
	if bytes.HasPrefix(bytes.TrimSpace(sig), []byte("-----BEGIN PGP")) {
		return nil, fmt.Errorf("%w: armored or cleartext-signed text; containers/image signatures are binary signed messages", ErrCorrupt)
	}
	md, err := openpgp.ReadMessage(bytes.NewReader(sig), keyring, nil, opts.config())
	if err != nil {
		return nil, classify(err)
	}
	if md.IsEncrypted || md.IsSymmetricallyEncrypted {
		return nil, fmt.Errorf("%w: an encrypted message", ErrCorrupt)
	}
	if !md.IsSigned {
		return nil, fmt.Errorf("%w: the message is not signed", ErrCorrupt)
	}
	if md.SignedBy == nil {
		return nil, fmt.Errorf("%w: key ID %016X", ErrUnknownKey, md.SignedByKeyId)
	}
	body, err := io.ReadAll(io.LimitReader(md.UnverifiedBody, MaxSignatureSize+1))
	if err != nil {
		return nil, classify(err)
	}
	if len(body) > MaxSignatureSize {
		return nil, fmt.Errorf("%w: payload larger than %d bytes", ErrCorrupt, MaxSignatureSize)
	}
	if md.SignatureError != nil {
		return nil, classify(md.SignatureError)
	}
	if md.Signature == nil {
		return nil, fmt.Errorf("%w: no signature packet", ErrCorrupt)
	}
	v := &Verified{
		Payload:           body,
		Fingerprint:       Fingerprint(md.SignedBy.Entity),
		SubkeyFingerprint: strings.ToUpper(fmt.Sprintf("%x", md.SignedBy.PublicKey.Fingerprint)),
		Created:           md.Signature.CreationTime,
	}
	return v, nil
}

func classify(err error) error {
	switch {
	case errors.Is(err, pgperrors.ErrKeyExpired), errors.Is(err, pgperrors.ErrSignatureExpired):
		return fmt.Errorf("%w: %v", ErrExpiredKey, err)
	case errors.Is(err, pgperrors.ErrKeyRevoked):
		return fmt.Errorf("%w: %v", ErrRevokedKey, err)
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		return fmt.Errorf("%w: %v", ErrUnknownKey, err)
	}
	var se pgperrors.SignatureError
	if errors.As(err, &se) {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return fmt.Errorf("%w: %v", ErrCorrupt, err)
}

// CheckDigest checks that the payload names manifestDigest
// ("sha256:..."), compared as containers/image compares digests (the
// algorithm and the hex, case-sensitively).
func (p *Payload) CheckDigest(manifestDigest string) error {
	if p.ManifestDigest != manifestDigest {
		return fmt.Errorf("%w: it names %s, the image is %s", ErrDigestMismatch, p.ManifestDigest, manifestDigest)
	}
	return nil
}

// ArmorPublicKey writes e's public key (primary key, subkeys, identities
// and their signatures) armored, as gpg --export --armor does.
func ArmorPublicKey(e *openpgp.Entity) ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := e.Serialize(w); err != nil {
		return nil, fmt.Errorf("simplesigning: public key: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// ArmorPrivateKey writes e's private key (unencrypted) armored, as gpg
// --export-secret-keys --armor does for a key without a passphrase.
func ArmorPrivateKey(e *openpgp.Entity) ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := e.SerializePrivate(w, nil); err != nil {
		return nil, fmt.Errorf("simplesigning: private key: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}
