package envelope

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/toto-dev/toto/internal/jsonobj"
)

// Parse decodes a Metablock or a DSSE envelope. Errors name the member at
// fault. Unknown members are kept and written back by MarshalJSON.
func Parse(data []byte) (*Envelope, error) {
	f, err := jsonobj.Split(data)
	if err != nil {
		return nil, err
	}
	_, hasSigned := f["signed"]
	_, hasPayload := f["payload"]
	if _, ok := f["dsseEnvelope"]; ok && !hasSigned && !hasPayload {
		return parseBundle(f)
	}
	switch {
	case hasSigned && !hasPayload:
		return parseMetablock(f)
	case hasPayload && !hasSigned:
		return parseDSSE(f)
	}
	return nil, fmt.Errorf("%w: want a \"signed\" member (Metablock) or a \"payload\" member (DSSE)", ErrNotAnEnvelope)
}

func parseMetablock(f jsonobj.Fields) (*Envelope, error) {
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
	// signed is already a private copy (Split copies each member), so it
	// is kept as is: on a 100 MB link another copy is 100 MB more.
	e := &Envelope{Format: Metablock, payload: signed, Signatures: sigs}
	if len(f) > 0 {
		e.extra = f
	}
	return e, nil
}

func parseDSSE(f jsonobj.Fields) (*Envelope, error) {
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

// bundleMediaTypePrefix starts the mediaType of every Sigstore bundle.
const bundleMediaTypePrefix = "application/vnd.dev.sigstore.bundle"

// parseBundle reads the DSSE envelope inside a Sigstore bundle. Sigstore
// signers leave the DSSE keyid empty; the bundle's public key hint (which
// toto's bundles set to the toto keyid) stands in for it.
func parseBundle(f jsonobj.Fields) (*Envelope, error) {
	var mediaType string
	if err := f.Take("mediaType", &mediaType, true); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(mediaType, bundleMediaTypePrefix) {
		return nil, &jsonobj.FieldError{Field: "mediaType", Err: fmt.Errorf("%q is not a Sigstore bundle media type", mediaType)}
	}
	inner, err := jsonobj.Split(f["dsseEnvelope"])
	if err != nil {
		return nil, &jsonobj.FieldError{Field: "dsseEnvelope", Err: err}
	}
	e, err := parseDSSE(inner)
	if err != nil {
		return nil, fmt.Errorf("dsseEnvelope: %w", err)
	}
	var vm struct {
		PublicKey struct {
			Hint string `json:"hint"`
		} `json:"publicKey"`
	}
	if raw, ok := f["verificationMaterial"]; ok {
		if err := json.Unmarshal(raw, &vm); err != nil {
			return nil, &jsonobj.FieldError{Field: "verificationMaterial", Err: err}
		}
	}
	for i := range e.Signatures {
		if e.Signatures[i].KeyID == "" && vm.PublicKey.Hint != "" {
			e.Signatures[i].KeyID = vm.PublicKey.Hint
			e.Signatures[i].keyIDFromHint = true
		}
	}
	// Keep the bundle's other members (verification material, its media
	// type) to write it back as found.
	f["mediaType"], _ = json.Marshal(mediaType)
	delete(f, "dsseEnvelope")
	e.Format = SigstoreBundle
	e.extra = f
	return e, nil
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
		if len(sf) > 0 {
			s.Extra = sf
		}
		sigs = append(sigs, s)
	}
	return sigs, nil
}

// MarshalJSON encodes the envelope, keeping the original signed bytes.
func (e *Envelope) MarshalJSON() ([]byte, error) {
	sigs := make([]json.RawMessage, 0, len(e.Signatures))
	for _, s := range e.Signatures {
		var enc string
		if e.Format != Metablock {
			enc = base64.StdEncoding.EncodeToString(s.Sig)
		} else {
			enc = hex.EncodeToString(s.Sig)
		}
		known := map[string]any{"keyid": s.KeyID, "sig": enc}
		if s.keyIDFromHint {
			delete(known, "keyid")
		}
		if s.Sig == nil && s.Extra["signature"] != nil {
			delete(known, "sig") // a GPG signature, kept as found
		}
		b, err := jsonobj.Join(known, s.Extra)
		if err != nil {
			return nil, err
		}
		sigs = append(sigs, b)
	}
	known := map[string]any{"signatures": sigs}
	switch e.Format {
	case DSSE, SigstoreBundle:
		known["payloadType"] = e.PayloadType
		known["payload"] = base64.StdEncoding.EncodeToString(e.payload)
	default:
		known["signed"] = json.RawMessage(e.payload)
	}
	if e.Format == SigstoreBundle {
		inner, err := jsonobj.Join(known, nil)
		if err != nil {
			return nil, err
		}
		return jsonobj.Join(map[string]any{"dsseEnvelope": json.RawMessage(inner)}, e.extra)
	}
	return jsonobj.Join(known, e.extra)
}

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
