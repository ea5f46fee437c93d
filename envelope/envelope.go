// Package envelope holds signed in-toto metadata in either of the two
// envelopes the reference implementations write:
//
//   - the classic Metablock, {"signed": {...}, "signatures": [{keyid, sig}]},
//     where each signature covers the canonical JSON of "signed" (in-toto
//     spec v1.0, section 4.2), hex-encoded;
//   - DSSE, {"payloadType", "payload", "signatures"}, where each signature
//     covers PAE(payloadType, payload), base64-encoded.
//
// Either holds any number of signatures. Signatures are always checked over
// the bytes that were signed — the original "signed" member or payload —
// never over a re-encoded struct.
package envelope

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/toto-dev/toto/internal/jsonobj"
	"github.com/toto-dev/toto/keys"
)

// Format says which envelope a document uses.
type Format int

const (
	// Metablock is the classic in-toto envelope.
	Metablock Format = iota
	// DSSE is the Dead Simple Signing Envelope.
	DSSE
	// SigstoreBundle is a Sigstore bundle (v0.1–v0.3) holding a DSSE
	// envelope signed with a key: the DSSE signature is what is checked,
	// with the functionary's key. Bundles carrying a certificate instead of
	// a key (keyless signing) are parsed but verify under no toto key; use
	// package bundle for those. A bundle holds exactly one signature, so
	// Sign refuses to add another.
	SigstoreBundle
)

func (f Format) String() string {
	switch f {
	case DSSE:
		return "dsse"
	case SigstoreBundle:
		return "sigstore-bundle"
	}
	return "metablock"
}

// PayloadTypeInToto is the DSSE payloadType for in-toto links, layouts and
// Statements.
const PayloadTypeInToto = "application/vnd.in-toto+json"

// Errors callers may branch on.
var (
	ErrNoSignature   = errors.New("no signature by this key")
	ErrBadSignature  = errors.New("signature does not verify")
	ErrPayloadType   = errors.New("unexpected DSSE payloadType")
	ErrNotAnEnvelope = errors.New("neither a Metablock nor a DSSE envelope")
	ErrBundleSigned  = errors.New("a Sigstore bundle holds one signature; sign the payload into a new bundle instead")
)

// Signature is one signature in an envelope.
type Signature struct {
	// KeyID names the key that made the signature.
	KeyID string
	// Sig is the raw signature (decoded from hex or base64).
	Sig []byte
	// Extra keeps other members of the signature object (for example GPG
	// headers written by the Python reference).
	Extra map[string]json.RawMessage

	// keyIDFromHint is set when a Sigstore bundle's signature had no keyid
	// and KeyID was taken from the bundle's public key hint; it is not
	// written back.
	keyIDFromHint bool
}

// Envelope is signed metadata.
type Envelope struct {
	// Format is the envelope kind.
	Format Format
	// PayloadType is the DSSE payloadType; empty for a Metablock.
	PayloadType string
	// Signatures in the order they were added.
	Signatures []Signature

	payload []byte
	extra   map[string]json.RawMessage
}

// New creates an unsigned envelope around payload. For a Metablock the
// payload must be a JSON object; payloadType is ignored.
func New(format Format, payloadType string, payload []byte) (*Envelope, error) {
	e := &Envelope{Format: format, payload: bytes.Clone(payload)}
	switch format {
	case Metablock:
		if _, err := jsonobj.Split(payload); err != nil {
			return nil, fmt.Errorf("metablock payload: %w", err)
		}
	case DSSE:
		if payloadType == "" {
			payloadType = PayloadTypeInToto
		}
		e.PayloadType = payloadType
	default:
		return nil, fmt.Errorf("unknown envelope format %d", format)
	}
	return e, nil
}

// Payload returns the signed document: the "signed" member of a Metablock,
// or the decoded DSSE payload.
func (e *Envelope) Payload() []byte { return e.payload }

// PayloadTypeField returns the payload's "_type" member ("link", "layout",
// or a Statement type URI), for dispatching on what the envelope holds.
func (e *Envelope) PayloadTypeField() (string, error) {
	f, err := jsonobj.Split(e.payload)
	if err != nil {
		return "", fmt.Errorf("payload: %w", err)
	}
	var t string
	if err := f.Take("_type", &t, true); err != nil {
		return "", fmt.Errorf("payload: %w", err)
	}
	return t, nil
}

// SignedBytes returns the exact bytes each signature covers.
func (e *Envelope) SignedBytes() ([]byte, error) {
	if e.Format == DSSE || e.Format == SigstoreBundle {
		return dsse.PAE(e.PayloadType, e.payload), nil
	}
	b, err := cjson.EncodeCanonical(json.RawMessage(e.payload))
	if err != nil {
		return nil, fmt.Errorf("canonical JSON of signed: %w", err)
	}
	return b, nil
}

// Sign adds a signature by k. Existing signatures by other keys are kept; an
// earlier signature by the same key is replaced, so a key never appears
// twice.
func (e *Envelope) Sign(ctx context.Context, k *keys.Key) error {
	if e.Format == SigstoreBundle {
		return ErrBundleSigned
	}
	data, err := e.SignedBytes()
	if err != nil {
		return err
	}
	sig, err := k.Sign(ctx, data)
	if err != nil {
		return err
	}
	id := k.ID()
	kept := e.Signatures[:0]
	for _, s := range e.Signatures {
		if !k.HasID(s.KeyID) {
			kept = append(kept, s)
		}
	}
	e.Signatures = append(kept, Signature{KeyID: id, Sig: sig})
	return nil
}

// Verify checks that k made a valid signature over this envelope. It
// considers every signature whose keyid is one of k's keyids (both
// reference schemes), and succeeds if any of them verifies.
func (e *Envelope) Verify(k *keys.Key) error {
	data, err := e.SignedBytes()
	if err != nil {
		return err
	}
	found := false
	for _, s := range e.Signatures {
		if !s.By(k) {
			continue
		}
		found = true
		if k.Verify(data, s.Sig) == nil {
			return nil
		}
	}
	if !found {
		return fmt.Errorf("key %s: %w", keys.ShortID(k.ID()), ErrNoSignature)
	}
	return fmt.Errorf("key %s: %w", keys.ShortID(k.ID()), ErrBadSignature)
}

// By reports whether the signature claims to be by k: its keyid is one of
// k's keyids, or it has none (DSSE makes the keyid an optional hint, so a
// signature without one is tried with every candidate key).
func (s Signature) By(k *keys.Key) bool {
	return s.KeyID == "" || k.HasID(s.KeyID)
}

// SignerIDs returns the distinct keyids named by the signatures.
func (e *Envelope) SignerIDs() []string {
	var ids []string
	seen := map[string]bool{}
	for _, s := range e.Signatures {
		if !seen[s.KeyID] {
			seen[s.KeyID] = true
			ids = append(ids, s.KeyID)
		}
	}
	return ids
}
