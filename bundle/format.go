package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/toto-dev/toto/envelope"
)

// Format is the Sigstore bundle as an envelope format, registered with
// package envelope: envelope.Parse reads a bundle holding a DSSE envelope
// (a link, layout or attestation signed with a key), its one signature
// checked like any DSSE signature with the functionary's key. The bundle is
// parsed by sigstore-go, the only bundle parser in toto; the envelope's Raw
// is the bundle as read, which Verify needs for log entries and
// certificates. Bundles carrying a certificate instead of a key (keyless
// signing) parse, but verify under no toto key: give their Raw to Verify
// with a trusted root.
var Format envelope.Format = format{}

// ErrSigned is returned when a signature is to be added to a bundle that
// has one: a bundle holds exactly one.
var ErrSigned = errors.New("a Sigstore bundle holds one signature; sign the payload into a new bundle instead")

func init() { envelope.Register(Format) }

type format struct{}

func (format) String() string { return "sigstore-bundle" }

func (format) MediaTypes() []string {
	return []string{"application/vnd.dev.sigstore.bundle+json", MediaTypeV03}
}

// Match claims JSON objects with a DSSE envelope inside and neither
// member of the in-toto envelopes; message-signature bundles are not
// envelopes (they sign an artifact, not a payload).
func (format) Match(d *envelope.Document) bool {
	return d.Has("dsseEnvelope") && !d.Has("signed") && !d.Has("payload")
}

func (format) Decode(d *envelope.Document) (*envelope.Envelope, error) {
	var mediaType string
	if raw, ok := d.Members["mediaType"]; !ok {
		return nil, fmt.Errorf("%w: field \"mediaType\": missing", ErrInvalidBundle)
	} else if err := json.Unmarshal(raw, &mediaType); err != nil {
		return nil, fmt.Errorf("%w: field \"mediaType\": %v", ErrInvalidBundle, err)
	}
	if !strings.HasPrefix(mediaType, mediaTypePrefix) {
		return nil, fmt.Errorf("%w: field \"mediaType\": %q is not a Sigstore bundle media type", ErrInvalidBundle, mediaType)
	}
	b, err := parse(d.Data)
	if err != nil {
		return nil, err
	}
	inner, err := toEnvelope(b)
	if err != nil {
		return nil, err
	}
	// Sigstore signers leave the DSSE keyid empty; the public key hint
	// stands in for it. toto and cosign write keys.Key.SigstoreHint, which
	// keys.Key.HasID answers to (as it does to a toto keyid, the hint toto
	// wrote before). It is only a hint: the signature is checked with the
	// candidate key.
	var hint string
	if pk := b.GetVerificationMaterial().GetPublicKey(); pk != nil {
		hint = pk.GetHint()
	}
	sigs := inner.Signatures
	for i := range sigs {
		if sigs[i].KeyID == "" {
			sigs[i].KeyID = hint
		}
	}
	return envelope.Assemble(Format, inner.PayloadType, inner.Payload(), sigs, d.Data), nil
}

func (format) SignedBytes(e *envelope.Envelope) ([]byte, error) {
	return dsse.PAE(e.PayloadType, e.Payload()), nil
}

func (format) CanSign(e *envelope.Envelope) error {
	if len(e.Signatures) > 0 {
		return ErrSigned
	}
	return nil
}

// Encode writes a parsed bundle back exactly as read; a new one (made
// with envelope.New and signed once) as a keyed v0.3 bundle whose public
// key hint is the signature's keyid (the key signed with its own scheme;
// Create is the way to a bundle that cosign verifies).
func (format) Encode(e *envelope.Envelope) ([]byte, error) {
	if raw := e.Raw(); raw != nil {
		return raw, nil
	}
	if len(e.Signatures) != 1 {
		return nil, fmt.Errorf("%w: a bundle holds exactly one signature, this envelope has %d", ErrInvalidBundle, len(e.Signatures))
	}
	s := e.Signatures[0]
	return encode(build(e.PayloadType, e.Payload(), s.KeyID, s.Sig))
}
