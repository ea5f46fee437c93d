package layout

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
)

// Payload returns the JSON to sign for l. It is json.Marshal(l): every key
// object carries its "keyid" member, as both reference implementations
// write them (in-toto-golang re-encodes a layout's keys with it before
// checking a Metablock signature).
func Payload(l *Layout) ([]byte, error) {
	return json.Marshal(l)
}

// ErrNoLayoutKeys is returned when a layout is to be verified against no
// keys at all, which would trust anything.
var ErrNoLayoutKeys = errors.New("no layout keys given; a layout is verified against its owners' public keys")

// SignatureCheck is the outcome of checking one layout key's signature.
type SignatureCheck struct {
	// KeyID is the key's keyid.
	KeyID string
	// Err is nil when the key made a valid signature; otherwise it wraps
	// envelope.ErrNoSignature or envelope.ErrBadSignature.
	Err error
}

// SignatureError reports the layout keys without a valid signature.
type SignatureError struct {
	Failed []SignatureCheck
}

func (e *SignatureError) Error() string {
	msgs := make([]string, len(e.Failed))
	for i, c := range e.Failed {
		msgs[i] = c.Err.Error()
	}
	return "layout signatures: " + strings.Join(msgs, "; ")
}

// Unwrap lets errors.Is find envelope.ErrNoSignature / ErrBadSignature.
func (e *SignatureError) Unwrap() []error {
	out := make([]error, len(e.Failed))
	for i, c := range e.Failed {
		out[i] = c.Err
	}
	return out
}

// CheckSignatures checks, for each layout key, whether it made a valid
// signature over e. A key passed twice is checked once.
func CheckSignatures(e *envelope.Envelope, layoutKeys []*keys.Key) []SignatureCheck {
	var out []SignatureCheck
	seen := map[string]bool{}
	for _, k := range layoutKeys {
		id := k.ID()
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, SignatureCheck{KeyID: id, Err: e.Verify(k)})
	}
	return out
}

// VerifyEnvelope returns the layout in e after checking that every one of
// layoutKeys made a valid signature over it (in-toto spec v1.0, section 5.1:
// the layout must be signed by each of the project owners' keys given to
// the verifier). Every missing or bad signature is reported, as a
// *SignatureError. Other signatures in e are ignored.
func VerifyEnvelope(e *envelope.Envelope, layoutKeys []*keys.Key) (*Layout, error) {
	if len(layoutKeys) == 0 {
		return nil, ErrNoLayoutKeys
	}
	if e.Format != envelope.Metablock && e.PayloadType != envelope.PayloadTypeInToto {
		return nil, fmt.Errorf("%w: %q, want %q", envelope.ErrPayloadType, e.PayloadType, envelope.PayloadTypeInToto)
	}
	var failed []SignatureCheck
	for _, c := range CheckSignatures(e, layoutKeys) {
		if c.Err != nil {
			failed = append(failed, c)
		}
	}
	if len(failed) > 0 {
		return nil, &SignatureError{Failed: failed}
	}
	return Parse(e.Payload())
}
