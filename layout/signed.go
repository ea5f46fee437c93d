package layout

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

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

// Errors Verify returns for input that cannot be judged at all.
var (
	// ErrNoLayoutKeys: a layout is to be verified against no keys at all,
	// which would trust anything.
	ErrNoLayoutKeys = errors.New("no layout keys given: at least one key must have signed the layout")
	// ErrNotALayout: the envelope does not hold an in-toto layout (another
	// payloadType, another _type, not a JSON object).
	ErrNotALayout = errors.New("not a layout")
)

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

// Verification is a layout envelope checked against its owners' keys at
// a time. It is made by Verify, the one place toto decides whether a
// layout is trusted: the verifier (root layout and sublayouts) and toto
// image verify go through it; toto layout show, which also shows unsigned
// layouts, reports the same per-key CheckSignatures.
type Verification struct {
	// Layout is the parsed layout, trusted only if Err is nil.
	Layout *Layout
	// Signatures has one entry per distinct owner key, in the order given.
	Signatures []SignatureCheck
	// Now is the verification time; Expired says whether the layout had
	// expired then (it is valid up to and including its expiry second, as
	// in the references).
	Now     time.Time
	Expired bool
}

// Verify reads the layout in e and checks, for each of the owners' keys,
// that it made a valid signature over the exact signed bytes (in-toto spec
// v1.0, section 5.1: the layout must be signed by each of the project
// owners' keys given to the verifier), and whether the layout has expired
// at now. The error result is for input that cannot be judged: no keys
// (ErrNoLayoutKeys), an envelope that does not hold a layout
// (ErrNotALayout, and envelope.ErrPayloadType or ErrWrongType), a layout
// that does not parse. A layout that is not trusted is not an error: see
// Verification.Err.
func Verify(e *envelope.Envelope, owners []*keys.Key, now time.Time) (*Verification, error) {
	if len(owners) == 0 {
		return nil, ErrNoLayoutKeys
	}
	if e == nil {
		return nil, fmt.Errorf("%w: no envelope", ErrNotALayout)
	}
	if err := e.CheckInToto(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotALayout, err)
	}
	l, err := Parse(e.Payload())
	if err != nil {
		// Only now look at what the payload is instead, to say so.
		typ, terr := e.PayloadTypeField()
		switch {
		case terr != nil:
			return nil, fmt.Errorf("%w: %v", ErrNotALayout, terr)
		case typ != Type:
			return nil, fmt.Errorf("%w: payload _type is %q (%w)", ErrNotALayout, typ, ErrWrongType)
		}
		return nil, err
	}
	now = now.UTC()
	return &Verification{Layout: l, Signatures: CheckSignatures(e, owners), Now: now, Expired: l.Expired(now)}, nil
}

// SignatureErr is nil when every owner key signed, and otherwise a
// *SignatureError naming each that did not.
func (v *Verification) SignatureErr() error {
	var failed []SignatureCheck
	for _, c := range v.Signatures {
		if c.Err != nil {
			failed = append(failed, c)
		}
	}
	if len(failed) > 0 {
		return &SignatureError{Failed: failed}
	}
	return nil
}

// Err is nil when the layout is trusted: signed by every owner key and not
// expired at Now.
func (v *Verification) Err() error {
	if err := v.SignatureErr(); err != nil {
		return err
	}
	if v.Expired {
		return fmt.Errorf("layout expired on %s (verification time %s)", v.Layout.Expires.Format(TimeFormat), v.Now.Format(TimeFormat))
	}
	return nil
}

// FunctionaryKeys returns the public keys the layout lists, sorted by
// keyid: the keys trusted to sign its links and attestations.
func (l *Layout) FunctionaryKeys() []*keys.Key {
	ids := make([]string, 0, len(l.Keys))
	for id := range l.Keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]*keys.Key, len(ids))
	for i, id := range ids {
		out[i] = l.Keys[id].Public()
	}
	return out
}

// VerifyEnvelope returns the layout in e after checking that every one of
// layoutKeys made a valid signature over it; it is Verify without the
// expiry check (check Layout.Expired), for tools that show or re-sign a
// layout. Every missing or bad signature is reported, as a
// *SignatureError. Other signatures in e are ignored.
func VerifyEnvelope(e *envelope.Envelope, layoutKeys []*keys.Key) (*Layout, error) {
	v, err := Verify(e, layoutKeys, time.Time{})
	if err != nil {
		return nil, err
	}
	if err := v.SignatureErr(); err != nil {
		return nil, err
	}
	return v.Layout, nil
}
