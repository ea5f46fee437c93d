package image

import (
	"bytes"
	"context"
	"encoding/base64"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/toto-dev/toto/keys"
)

// CosignSignatures lists the simple-signing layers of cosign's .sig
// storage as stored, verified or not (other media types skipped, .att
// manifests not read), for callers that judge them themselves.
func TestCosignSignatures(t *testing.T) {
	ctx := context.Background()
	signer := genKey(t, keys.ECDSA)
	dir, ds := newLayout(t, 1)
	tg := mustOpen(t, LayoutPrefix+dir)
	d := ds[0].String()
	w := layoutWriter{t: t, ls: tg.store.(*layoutStore)}
	if sigs, err := tg.CosignSignatures(ctx); err != nil || len(sigs) != 0 {
		t.Fatalf("before signing: %v %v", sigs, err)
	}
	good := cosignPayload("r", d)
	goodSig, _ := signer.Sign(ctx, good)
	other := cosignPayload("r", "sha256:"+string(bytes.Repeat([]byte("cd"), 32)))
	otherSig, _ := signer.Sign(ctx, other)
	skipped := w.sigLayer(good, goodSig)
	skipped.MediaType = "application/octet-stream"
	w.addManifest([]v1.Descriptor{w.sigLayer(good, goodSig), w.sigLayer(other, otherSig), skipped},
		map[string]string{AnnotationCosignKind: CosignKindSignatures})
	sigs, err := tg.CosignSignatures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 2 || !bytes.Equal(sigs[0].Payload, good) || sigs[0].Signature != base64.StdEncoding.EncodeToString(goodSig) || !bytes.Equal(sigs[1].Payload, other) {
		t.Fatalf("signatures %+v", sigs)
	}
}
