package image

import (
	"context"
	"fmt"
)

// CosignSignature is one signature in cosign v2's .sig storage, read but
// not verified: the layer (a simple-signing payload, as cosign writes
// it) and the base64 signature of its dev.cosignproject.cosign/signature
// annotation.
type CosignSignature struct {
	Payload   []byte
	Signature string
}

// CosignSignatures reads the image's cosign v2 signatures (the
// sha256-HEX.sig tag in a registry, cosign save's entries in an OCI
// layout), for callers that judge them under their own rules
// (containers-policy.json's sigstoreSigned, with its signedIdentity).
// Layers of another media type are skipped; every layer read is checked
// against its digest. No .sig storage: no signatures.
func (t *Target) CosignSignatures(ctx context.Context) ([]CosignSignature, error) {
	ms, err := t.store.cosignManifests(ctx, t.Descriptor.Digest)
	if err != nil {
		return nil, err
	}
	var out []CosignSignature
	for _, cm := range ms {
		if cm.kind != KindSignature {
			continue
		}
		m, err := cm.manifest()
		if err != nil {
			return nil, err
		}
		for _, l := range m.Layers {
			if string(l.MediaType) != MediaTypeSimpleSigning {
				continue
			}
			payload, err := t.store.blob(ctx, l.Digest, maxSimpleSigning)
			if err != nil {
				return nil, fmt.Errorf("%s layer %s: %w", cm.where, l.Digest, err)
			}
			out = append(out, CosignSignature{Payload: payload, Signature: l.Annotations[AnnotationCosignSignature]})
		}
	}
	return out, nil
}
