package notation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/notaryproject/notation-core-go/signature"

	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/notation"
	"github.com/toto-dev/toto/notation/notationtest"
)

// FuzzVerifyEnvelope feeds JWS and COSE envelopes (seeded with valid ones
// toto made) through VerifyEnvelope, notation-core-go's parsers and
// notation-go's verifier: no panic, a typed result, and nothing but the
// exact signed envelope verifies.
func FuzzVerifyEnvelope(f *testing.F) {
	e := notationtest.New(f, notationtest.Options{})
	dir := notationtest.Layout(f, "app")
	tg, err := image.Open(context.Background(), image.LayoutPrefix+dir, image.Options{})
	if err != nil {
		f.Fatal(err)
	}
	valid := map[string][]byte{}
	for i, env := range []notation.Envelope{notation.JWS, notation.COSE} {
		s, err := notation.Sign(context.Background(), tg, e.Certs.Key, e.Certs.Chain(), notation.SignOptions{Envelope: env})
		if err != nil {
			f.Fatal(err)
		}
		raw, _ := tg.Manifest(context.Background(), s.Manifest.Digest)
		var m v1.Manifest
		json.Unmarshal(raw, &m)
		blob, err := tg.Blob(context.Background(), m.Layers[0].Digest, 1<<20)
		if err != nil {
			f.Fatal(err)
		}
		valid[s.MediaType] = blob
		f.Add(uint8(i), blob)
	}
	f.Add(uint8(0), []byte(`{"payload":"","protected":"","header":{},"signature":""}`))
	f.Add(uint8(1), []byte{0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40})
	opts := e.VerifyOptions()
	scope := notation.LocalScope(dir)
	f.Fuzz(func(t *testing.T, which uint8, env []byte) {
		mt := notation.MediaTypeJWS
		if which%2 == 1 {
			mt = notation.MediaTypeCOSE
		}
		res, err := notation.VerifyEnvelope(context.Background(), tg.Descriptor, scope, mt, env, opts)
		if err != nil {
			t.Fatalf("VerifyEnvelope error (only options and policy errors expected): %v", err)
		}
		if len(res.Checks) != 5 && res.Err == nil {
			t.Fatalf("a result without checks or error: %+v", res)
		}
		if res.Verified && !bytes.Equal(env, valid[mt]) {
			// Unsigned parts (unprotected headers, JSON spacing) may
			// change; what is signed — the payload and the signature —
			// may not.
			got, want := signed(t, mt, env), signed(t, mt, valid[mt])
			if !bytes.Equal(got.Payload.Content, want.Payload.Content) || !bytes.Equal(got.SignerInfo.Signature, want.SignerInfo.Signature) {
				t.Fatalf("a changed %s envelope verified:\n%q", mt, env)
			}
		}
	})
}

func signed(t *testing.T, mt string, env []byte) *signature.EnvelopeContent {
	e, err := signature.ParseEnvelope(mt, env)
	if err != nil {
		t.Fatalf("verified but does not parse: %v", err)
	}
	c, err := e.Content()
	if err != nil {
		t.Fatalf("verified but has no content: %v", err)
	}
	return c
}
