// Package envelope holds signed metadata in the envelope formats toto
// reads and writes, behind one Format interface that formats register
// into. Two are built in, the ones the in-toto reference implementations
// write:
//
//   - Metablock, {"signed": {...}, "signatures": [{keyid, sig}]}, where each
//     signature covers the canonical JSON of "signed" (in-toto spec v1.0,
//     section 4.2), hex-encoded;
//   - DSSE, {"payloadType", "payload", "signatures"}, where each signature
//     covers PAE(payloadType, payload), base64-encoded.
//
// Package bundle registers a third, the Sigstore bundle; later signature
// systems register theirs the same way (see docs/architecture.md).
//
// An envelope holds at most MaxSignatures signatures; a format may allow
// fewer (a Sigstore bundle holds one).
// Signatures are always checked over the bytes that were signed — the
// original "signed" member or payload — never over a re-encoded struct.
package envelope

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/toto-dev/toto/internal/jsonobj"
	"github.com/toto-dev/toto/keys"
)

// PayloadTypeInToto is the DSSE payloadType for in-toto links, layouts and
// Statements.
const PayloadTypeInToto = "application/vnd.in-toto+json"

// MaxSignatures is how many signatures one envelope may hold. Each
// signature may be checked against every key a verifier accepts (a DSSE
// signature without a keyid against all of them), so without a bound a
// file of junk signatures costs CPU in proportion to its size times the
// number of keys. Real envelopes carry one signature per signer; a layout
// signed by more than 64 owners, or a link by more than 64 functionaries,
// is not a use case.
const MaxSignatures = 64

// Errors callers may branch on.
var (
	ErrNoSignature   = errors.New("no signature by this key")
	ErrBadSignature  = errors.New("signature does not verify")
	ErrPayloadType   = errors.New("unexpected DSSE payloadType")
	ErrNotAnEnvelope = errors.New("neither a Metablock nor a DSSE envelope")
	// ErrTooManySignatures is matched by a *TooManySignaturesError.
	ErrTooManySignatures = errors.New("too many signatures")
)

// TooManySignaturesError is an envelope with more than MaxSignatures
// signatures: refused when it is parsed (none of them is checked), and
// by Sign rather than writing one.
type TooManySignaturesError struct {
	// Count is how many signatures the envelope has (or would have);
	// Max is the bound, MaxSignatures.
	Count, Max int
}

func (e *TooManySignaturesError) Error() string {
	return fmt.Sprintf("field \"signatures\": %d signatures, more than the %d an envelope may hold", e.Count, e.Max)
}

// Is makes errors.Is(err, ErrTooManySignatures) hold.
func (e *TooManySignaturesError) Is(target error) bool { return target == ErrTooManySignatures }

// Signature is one signature in an envelope.
type Signature struct {
	// KeyID names the key that made the signature.
	KeyID string
	// Sig is the raw signature (decoded from hex or base64).
	Sig []byte
	// Extra keeps other members of the signature object (for example GPG
	// headers written by the Python reference).
	Extra map[string]json.RawMessage
}

// Envelope is signed metadata.
type Envelope struct {
	// Format is the envelope format; its String names it in reports.
	Format Format
	// PayloadType is the DSSE payloadType (also for formats that carry a
	// DSSE envelope); empty for a Metablock.
	PayloadType string
	// Signatures in the order they were added.
	Signatures []Signature

	payload []byte
	extra   map[string]json.RawMessage
	raw     []byte
}

// New creates an unsigned envelope around payload. For a Metablock the
// payload must be a JSON object and payloadType is ignored; for DSSE an
// empty payloadType means PayloadTypeInToto. A nil format means Metablock,
// the format every in-toto implementation reads.
func New(format Format, payloadType string, payload []byte) (*Envelope, error) {
	if format == nil {
		format = Metablock
	}
	e := &Envelope{Format: format, payload: bytes.Clone(payload)}
	switch format {
	case Metablock:
		if _, err := jsonobj.Split(payload); err != nil {
			return nil, fmt.Errorf("metablock payload: %w", err)
		}
	default:
		if payloadType == "" {
			payloadType = PayloadTypeInToto
		}
		e.PayloadType = payloadType
	}
	return e, nil
}

// Assemble builds an envelope for a Format implementation: the payload
// and payloadType as signed, the signatures as read, and raw, the whole
// document as read (nil for a new one), which Raw returns to verifiers
// that need more of it than the signatures (a Sigstore bundle's log
// entries, say).
func Assemble(f Format, payloadType string, payload []byte, sigs []Signature, raw []byte) *Envelope {
	return &Envelope{Format: f, PayloadType: payloadType, payload: payload, Signatures: sigs, raw: raw}
}

// Payload returns the signed document: the "signed" member of a Metablock,
// or the decoded DSSE payload.
func (e *Envelope) Payload() []byte { return e.payload }

// Raw returns the document as it was parsed, or nil for an envelope made
// with New or Assemble without one.
func (e *Envelope) Raw() []byte { return e.raw }

// CheckInToto returns a *PayloadTypeError unless the envelope carries
// in-toto metadata: a Metablock always does; a DSSE payload (in any format
// that carries one) must have payloadType PayloadTypeInToto. Every reader
// of links, layouts and attestations calls it, so the rule is written once.
func (e *Envelope) CheckInToto() error {
	if e.Format == Metablock || e.PayloadType == PayloadTypeInToto {
		return nil
	}
	return &PayloadTypeError{Got: e.PayloadType, Want: PayloadTypeInToto}
}

// PayloadTypeError is a payloadType other than the one expected. It
// matches ErrPayloadType with errors.Is.
type PayloadTypeError struct{ Got, Want string }

func (e *PayloadTypeError) Error() string {
	return fmt.Sprintf("DSSE payloadType %q is not %q", e.Got, e.Want)
}

// Is makes errors.Is(err, ErrPayloadType) hold.
func (e *PayloadTypeError) Is(target error) bool { return target == ErrPayloadType }

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
func (e *Envelope) SignedBytes() ([]byte, error) { return e.Format.SignedBytes(e) }

// Sign adds a signature by s. Existing signatures by other keys are kept;
// an earlier signature by the same key is replaced, so a key never appears
// twice. s may be a *keys.Key or any other keys.Signer.
func (e *Envelope) Sign(ctx context.Context, s keys.Signer) error {
	if err := e.Format.CanSign(e); err != nil {
		return err
	}
	others := 0
	for _, old := range e.Signatures {
		if !s.HasID(old.KeyID) {
			others++
		}
	}
	// Never make an envelope that Parse would refuse.
	if others >= MaxSignatures {
		return &TooManySignaturesError{Count: others + 1, Max: MaxSignatures}
	}
	data, err := e.SignedBytes()
	if err != nil {
		return err
	}
	sig, err := s.Sign(ctx, data)
	if err != nil {
		return err
	}
	kept := e.Signatures[:0]
	for _, old := range e.Signatures {
		if !s.HasID(old.KeyID) {
			kept = append(kept, old)
		}
	}
	e.Signatures = append(kept, Signature{KeyID: s.ID(), Sig: sig})
	e.raw = nil
	return nil
}

// Verify checks that v made a valid signature over this envelope. It
// considers every signature whose keyid is one of v's keyids (both
// reference schemes), and succeeds if any of them verifies.
func (e *Envelope) Verify(v keys.Verifier) error {
	data, err := e.SignedBytes()
	if err != nil {
		return err
	}
	found := false
	for _, s := range e.Signatures {
		if !s.By(v) {
			continue
		}
		found = true
		if v.Verify(data, s.Sig) == nil {
			return nil
		}
	}
	if !found {
		return fmt.Errorf("key %s: %w", keys.ShortID(v.ID()), ErrNoSignature)
	}
	return fmt.Errorf("key %s: %w", keys.ShortID(v.ID()), ErrBadSignature)
}

// By reports whether the signature claims to be by v: its keyid is one of
// v's keyids, or it has none (DSSE makes the keyid an optional hint, so a
// signature without one is tried with every candidate key).
func (s Signature) By(v keys.Verifier) bool {
	return s.KeyID == "" || v.HasID(s.KeyID)
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

// MarshalJSON encodes the envelope in its format, keeping the original
// signed bytes and every member it was read with.
func (e *Envelope) MarshalJSON() ([]byte, error) { return e.Format.Encode(e) }

// Encode returns the envelope as indented JSON followed by a newline, the
// form toto writes to files.
func (e *Envelope) Encode() ([]byte, error) {
	b, err := e.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
