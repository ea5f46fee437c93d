package bundle

import (
	"context"
	"fmt"

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
// a public-key hint, the key's toto keyid (the DSSE signature's own keyid is
// left empty, as Sigstore clients expect). No transparency-log entry or
// timestamp is added: a verifier trusts the key itself, out of band (for
// example from a layout).
//
// The output is sigstore-go's canonical protobuf JSON encoding of the
// bundle, so any Sigstore client can read it.
func Create(ctx context.Context, k *keys.Key, payloadType string, payload []byte) ([]byte, error) {
	if payloadType == "" {
		payloadType = envelope.PayloadTypeInToto
	}
	sig, err := k.Sign(ctx, dsse.PAE(payloadType, payload))
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return build(payloadType, payload, k.ID(), sig)
}

// build encodes a keyed v0.3 bundle with one DSSE signature and the public
// key hint id.
func build(payloadType string, payload []byte, id string, sig []byte) ([]byte, error) {
	pb := &protobundle.Bundle{
		MediaType: MediaTypeV03,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{
				PublicKey: &protocommon.PublicKeyIdentifier{Hint: id},
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
