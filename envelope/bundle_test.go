package envelope_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/toto-dev/toto/bundle"
	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
)

// A keyed Sigstore bundle reads as an envelope whose one signature is
// checked with the signer's key; written back, it is still a bundle that
// Sigstore tooling verifies.
func TestSigstoreBundleIsAnEnvelope(t *testing.T) {
	ctx := context.Background()
	k, _ := keys.Generate(keys.ECDSA, keys.GenerateOptions{})
	other, _ := keys.Generate(keys.ECDSA, keys.GenerateOptions{})
	payload := []byte(`{"_type":"link","name":"build","materials":{},"products":{}}`)
	b, err := bundle.Create(ctx, k, "", payload)
	if err != nil {
		t.Fatal(err)
	}
	e, err := envelope.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if e.Format != bundle.Format || string(e.Payload()) != string(payload) || e.PayloadType != envelope.PayloadTypeInToto {
		t.Fatalf("parsed as %v with payload %s", e.Format, e.Payload())
	}
	if err := e.Verify(k.Public()); err != nil {
		t.Fatalf("signer's key: %v", err)
	}
	if err := e.Verify(other.Public()); err == nil {
		t.Fatal("verified with another key")
	}
	if err := e.Sign(ctx, other); !errors.Is(err, bundle.ErrSigned) {
		t.Fatalf("second signature on a bundle: %v", err)
	}
	out, err := e.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"mediaType":"application/vnd.dev.sigstore.bundle`) || strings.Contains(string(out), `"keyid"`) {
		t.Errorf("written back differently: %s", out)
	}
	if _, err := bundle.VerifyEnvelope(ctx, out, k.Public()); err != nil {
		t.Errorf("sigstore-go rejects the bundle written back: %v", err)
	}

	_, err = envelope.Parse([]byte(`{"mediaType":"application/json","dsseEnvelope":{}}`))
	if err == nil || !strings.Contains(err.Error(), "not a Sigstore bundle media type") {
		t.Errorf("wrong media type: %v", err)
	}
}
