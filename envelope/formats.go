package envelope

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/toto-dev/toto/internal/canonical"
	"github.com/toto-dev/toto/internal/jsonobj"
)

// The built-in formats.
var (
	// Metablock is the classic in-toto envelope.
	Metablock Format = metablock{}
	// DSSE is the Dead Simple Signing Envelope.
	DSSE Format = dsseFormat{}
)

// MediaTypeDSSE is the media type of a DSSE envelope document.
const MediaTypeDSSE = "application/vnd.dsse.envelope.v1+json"

func init() {
	Register(Metablock)
	Register(DSSE)
}

type metablock struct{}

func (metablock) String() string          { return "metablock" }
func (metablock) MediaTypes() []string    { return nil }
func (metablock) CanSign(*Envelope) error { return nil }
func (metablock) Match(d *Document) bool  { return d.Has("signed") && !d.Has("payload") }

func (metablock) Decode(d *Document) (*Envelope, error) {
	f := jsonobj.Fields(d.Members)
	signed := f["signed"]
	delete(f, "signed")
	if len(signed) == 0 || signed[0] != '{' {
		return nil, &jsonobj.FieldError{Field: "signed", Err: fmt.Errorf("want a JSON object")}
	}
	// Duplicate members anywhere inside "signed" would let two parsers see
	// two documents under one signature. (The outer Split has checked that
	// it is valid JSON.)
	if err := jsonobj.CheckDuplicates(signed); err != nil {
		return nil, &jsonobj.FieldError{Field: "signed", Err: err}
	}
	sigs, err := parseSignatures(f, hex.DecodeString, "hex")
	if err != nil {
		return nil, err
	}
	// signed is kept as it is, sharing the document's memory (Parse says
	// so): on a 100 MB link a copy is 100 MB more.
	e := &Envelope{Format: Metablock, payload: signed, Signatures: sigs}
	if len(f) > 0 {
		e.extra = f
	}
	return e, nil
}

func (metablock) SignedBytes(e *Envelope) ([]byte, error) {
	// The same bytes as securesystemslib's cjson.EncodeCanonical, in one
	// pass over the text (package canonical is fuzzed against cjson).
	b, err := canonical.Encode(e.payload)
	if err != nil {
		return nil, fmt.Errorf("canonical JSON of signed: %w", err)
	}
	return b, nil
}

func (metablock) Encode(e *Envelope) ([]byte, error) {
	sigs, err := encodeSignatures(e.Signatures, hex.EncodeToString)
	if err != nil {
		return nil, err
	}
	return jsonobj.Join(map[string]any{"signatures": sigs, "signed": json.RawMessage(e.payload)}, e.extra)
}

type dsseFormat struct{}

func (dsseFormat) String() string          { return "dsse" }
func (dsseFormat) MediaTypes() []string    { return []string{MediaTypeDSSE} }
func (dsseFormat) CanSign(*Envelope) error { return nil }
func (dsseFormat) Match(d *Document) bool  { return d.Has("payload") && !d.Has("signed") }

func (dsseFormat) Decode(d *Document) (*Envelope, error) {
	return DecodeDSSE(d.Members)
}

// DecodeDSSE reads a DSSE envelope from its JSON members, for formats that
// carry one inside (a Sigstore bundle's "dsseEnvelope"). The envelope's
// Format is DSSE; the caller sets its own. Members are consumed; those
// left over are kept and written back.
func DecodeDSSE(members map[string]json.RawMessage) (*Envelope, error) {
	f := jsonobj.Fields(members)
	var pt, p64 string
	if err := f.Take("payloadType", &pt, true); err != nil {
		return nil, err
	}
	if err := f.Take("payload", &p64, true); err != nil {
		return nil, err
	}
	payload, err := decodeBase64(p64)
	if err != nil {
		return nil, &jsonobj.FieldError{Field: "payload", Err: fmt.Errorf("bad base64: %w", err)}
	}
	// An in-toto payload is JSON: refuse duplicate members in it, as in a
	// Metablock's "signed". Other payload types are opaque bytes here.
	if pt == PayloadTypeInToto {
		if err := jsonobj.CheckDuplicates(payload); err != nil {
			return nil, &jsonobj.FieldError{Field: "payload", Err: err}
		}
	}
	sigs, err := parseSignatures(f, decodeBase64, "base64")
	if err != nil {
		return nil, err
	}
	e := &Envelope{Format: DSSE, PayloadType: pt, payload: payload, Signatures: sigs}
	if len(f) > 0 {
		e.extra = f
	}
	return e, nil
}

func (dsseFormat) SignedBytes(e *Envelope) ([]byte, error) {
	return dsse.PAE(e.PayloadType, e.payload), nil
}

func (dsseFormat) Encode(e *Envelope) ([]byte, error) {
	sigs, err := encodeSignatures(e.Signatures, base64.StdEncoding.EncodeToString)
	if err != nil {
		return nil, err
	}
	return jsonobj.Join(map[string]any{
		"signatures":  sigs,
		"payloadType": e.PayloadType,
		"payload":     base64.StdEncoding.EncodeToString(e.payload),
	}, e.extra)
}

// decodeBase64 accepts standard and URL-safe base64, padded or not, as the
// DSSE spec allows either.
func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("not base64")
}

func parseSignatures(f jsonobj.Fields, decode func(string) ([]byte, error), encName string) ([]Signature, error) {
	var raw []json.RawMessage
	if err := f.Take("signatures", &raw, true); err != nil {
		return nil, err
	}
	// Refuse before decoding any: every signature may be tried against
	// every candidate key, so their number must not be the attacker's.
	if len(raw) > MaxSignatures {
		return nil, &TooManySignaturesError{Count: len(raw), Max: MaxSignatures}
	}
	sigs := make([]Signature, 0, len(raw))
	for i, r := range raw {
		sf, err := jsonobj.Split(r)
		if err != nil {
			return nil, fmt.Errorf("signatures[%d]: %w", i, err)
		}
		var s Signature
		var enc string
		// DSSE makes keyid an optional hint (Sigstore signers omit it).
		if err := sf.Take("keyid", &s.KeyID, encName == "hex"); err != nil {
			return nil, fmt.Errorf("signatures[%d]: %w", i, err)
		}
		// GPG signatures by the Python reference carry "signature" and
		// "other_headers" instead of "sig"; toto keeps them (in Extra) but
		// cannot verify them.
		_, isGPG := sf["signature"]
		if err := sf.Take("sig", &enc, !isGPG); err != nil {
			return nil, fmt.Errorf("signatures[%d]: %w", i, err)
		}
		if !isGPG {
			if s.Sig, err = decode(enc); err != nil {
				return nil, fmt.Errorf("signatures[%d]: field \"sig\": not %s: %v", i, encName, err)
			}
		}
		if err := sf.CheckLeftover("keyid", "sig"); err != nil {
			return nil, fmt.Errorf("signatures[%d]: %w", i, err)
		}
		if len(sf) > 0 {
			s.Extra = sf
		}
		sigs = append(sigs, s)
	}
	return sigs, nil
}

func encodeSignatures(in []Signature, encode func([]byte) string) ([]json.RawMessage, error) {
	sigs := make([]json.RawMessage, 0, len(in))
	for _, s := range in {
		known := map[string]any{"keyid": s.KeyID, "sig": encode(s.Sig)}
		if s.Sig == nil && s.Extra["signature"] != nil {
			delete(known, "sig") // a GPG signature, kept as found
		}
		b, err := jsonobj.Join(known, s.Extra)
		if err != nil {
			return nil, err
		}
		sigs = append(sigs, b)
	}
	return sigs, nil
}
