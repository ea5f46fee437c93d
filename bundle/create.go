package bundle

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
)

// Create signs payload with k into a keyed v0.3 bundle: a DSSE envelope
// (payloadType, default application/vnd.in-toto+json) whose one signature
// covers PAE(payloadType, payload), and verification material holding only
// a public-key hint, the one cosign writes for the same key
// (keys.Key.SigstoreHint); the DSSE signature's own keyid is left empty,
// as Sigstore clients expect. No transparency-log entry or timestamp is
// added: a verifier trusts the key itself, out of band (for example from
// a layout).
//
// An RSA key signs as Sigstore clients verify (PKCS#1 v1.5, SHA-256; see
// keys.Key.ForSigstore) unless the payload is in-toto link or layout
// metadata, which keeps the in-toto scheme of the key (RSA-PSS): a layout
// checks a step's link with the functionary's in-toto key, whatever
// envelope holds it. Verify accepts both for RSA.
//
// The output is sigstore-go's canonical protobuf JSON encoding of the
// bundle, so any Sigstore client can read it.
func Create(ctx context.Context, k *keys.Key, payloadType string, payload []byte) ([]byte, error) {
	if payloadType == "" {
		payloadType = envelope.PayloadTypeInToto
	}
	signer := k
	if !inTotoMetadata(payloadType, payload) {
		signer = k.ForSigstore()
	}
	sig, err := signer.Sign(ctx, dsse.PAE(payloadType, payload))
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return build(payloadType, payload, k.SigstoreHint(), sig)
}

// linkPredicateType is the in-toto link attestation predicate (package
// link's PredicateType), which the layout verifier reads as a link.
const linkPredicateType = "https://in-toto.io/attestation/link/v0.3"

// inTotoMetadata reports whether payload is an in-toto link or layout (or
// a link attestation), which a layout verifies with the functionary's
// in-toto key and scheme.
func inTotoMetadata(payloadType string, payload []byte) bool {
	if payloadType != envelope.PayloadTypeInToto {
		return false
	}
	var probe struct {
		Type          string `json:"_type"`
		PredicateType string `json:"predicateType"`
	}
	if json.Unmarshal(payload, &probe) != nil {
		return false
	}
	switch strings.ToLower(probe.Type) {
	case "link", "layout":
		return true
	}
	return probe.PredicateType == linkPredicateType
}

// build encodes a keyed v0.3 bundle with one DSSE signature and the public
// key hint.
func build(payloadType string, payload []byte, hint string, sig []byte) ([]byte, error) {
	pb := &protobundle.Bundle{
		MediaType: MediaTypeV03,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{
				PublicKey: &protocommon.PublicKeyIdentifier{Hint: hint},
			},
		},
		Content: &protobundle.Bundle_DsseEnvelope{
			DsseEnvelope: &protodsse.Envelope{
				Payload:     payload,
				PayloadType: payloadType,
				// The keyid stays empty, as Sigstore signers write it:
				// sigstore-go (through go-securesystemslib's DSSE
				// verifier) skips a signature whose keyid is not the
				// SHA-256 of the key's DER, which a toto keyid is not.
				Signatures: []*protodsse.Signature{{Sig: sig}},
			},
		},
	}
	b, err := sgbundle.NewBundle(pb)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	out, err := b.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return out, nil
}
