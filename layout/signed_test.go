package layout_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/internal/jsonobj"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
)

func genKey(t testing.TB, typ string) *keys.Key {
	t.Helper()
	k, err := keys.Generate(typ, keys.GenerateOptions{RSABits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signedLayout returns the base layout in an envelope signed by signers.
func signedLayout(t testing.TB, format envelope.Format, signers ...*keys.Key) *envelope.Envelope {
	t.Helper()
	payload, err := layout.Payload(lintBase(t))
	if err != nil {
		t.Fatal(err)
	}
	e, err := envelope.New(format, "", payload)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range signers {
		if err := e.Sign(context.Background(), k); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// reparse writes and reads the envelope back, as the next owner would.
func reparse(t testing.TB, e *envelope.Envelope) *envelope.Envelope {
	t.Helper()
	b, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := envelope.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func TestVerifyEnvelopeRequiresEveryLayoutKey(t *testing.T) {
	owner1, owner2, other := genKey(t, keys.Ed25519), genKey(t, keys.ECDSA), genKey(t, keys.Ed25519)
	for _, format := range []envelope.Format{envelope.Metablock, envelope.DSSE} {
		t.Run(format.String(), func(t *testing.T) {
			// Owner 1 signs, the file travels, owner 2 adds a signature.
			e := reparse(t, signedLayout(t, format, owner1))
			if err := e.Sign(context.Background(), owner2); err != nil {
				t.Fatal(err)
			}
			e = reparse(t, e)
			if len(e.Signatures) != 2 {
				t.Fatalf("%d signatures", len(e.Signatures))
			}
			l, err := layout.VerifyEnvelope(e, []*keys.Key{owner1.Public(), owner2.Public()})
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Steps) != 2 {
				t.Errorf("layout not returned: %+v", l)
			}
			// Each alone also verifies; an extra signature is no problem.
			for _, k := range []*keys.Key{owner1, owner2} {
				if _, err := layout.VerifyEnvelope(e, []*keys.Key{k.Public()}); err != nil {
					t.Error(err)
				}
			}
			// A key that did not sign fails, naming it, while the others pass.
			_, err = layout.VerifyEnvelope(e, []*keys.Key{owner1.Public(), other.Public(), owner2.Public()})
			var se *layout.SignatureError
			if !errors.As(err, &se) || len(se.Failed) != 1 || se.Failed[0].KeyID != other.ID() || !errors.Is(err, envelope.ErrNoSignature) {
				t.Errorf("unsigned key: %v", err)
			}
			if !strings.Contains(err.Error(), other.ID()[:8]) {
				t.Errorf("error does not name the key: %v", err)
			}
		})
	}
}

func TestVerifyEnvelopeRejectsTampering(t *testing.T) {
	owner1, owner2 := genKey(t, keys.Ed25519), genKey(t, keys.RSA)
	e := signedLayout(t, envelope.Metablock, owner1, owner2)
	b, _ := e.Encode()
	// Raise a threshold after signing.
	tampered := strings.Replace(string(b), `"threshold": 2`, `"threshold": 1`, 1)
	if tampered == string(b) {
		t.Fatal("test did not tamper")
	}
	te, err := envelope.Parse([]byte(tampered))
	if err != nil {
		t.Fatal(err)
	}
	_, err = layout.VerifyEnvelope(te, []*keys.Key{owner1.Public(), owner2.Public()})
	var se *layout.SignatureError
	if !errors.As(err, &se) || len(se.Failed) != 2 || !errors.Is(err, envelope.ErrBadSignature) {
		t.Errorf("tampered layout: %v", err)
	}
	checks := layout.CheckSignatures(te, []*keys.Key{owner1.Public(), owner1.Public()})
	if len(checks) != 1 || checks[0].Err == nil {
		t.Errorf("CheckSignatures with a repeated key: %+v", checks)
	}
}

func TestVerifyEnvelopeEdgeCases(t *testing.T) {
	owner := genKey(t, keys.Ed25519)
	e := signedLayout(t, envelope.Metablock, owner)
	if _, err := layout.VerifyEnvelope(e, nil); !errors.Is(err, layout.ErrNoLayoutKeys) {
		t.Errorf("no keys: %v", err)
	}
	d := signedLayout(t, envelope.DSSE)
	d.PayloadType = "application/json"
	if err := d.Sign(context.Background(), owner); err != nil {
		t.Fatal(err)
	}
	if _, err := layout.VerifyEnvelope(d, []*keys.Key{owner}); !errors.Is(err, envelope.ErrPayloadType) {
		t.Errorf("wrong payloadType: %v", err)
	}
	// A signed link is not a layout.
	le, _ := envelope.New(envelope.Metablock, "", []byte(`{"_type":"link","name":"x"}`))
	le.Sign(context.Background(), owner)
	if _, err := layout.VerifyEnvelope(le, []*keys.Key{owner}); !errors.Is(err, layout.ErrWrongType) {
		t.Errorf("link as layout: %v", err)
	}
}

func TestPayloadNamesEachKeyID(t *testing.T) {
	l := lintBase(t)
	b, err := layout.Payload(l)
	if err != nil {
		t.Fatal(err)
	}
	f, err := jsonobj.Split(b)
	if err != nil {
		t.Fatal(err)
	}
	var ks map[string]map[string]any
	if err := json.Unmarshal(f["keys"], &ks); err != nil {
		t.Fatal(err)
	}
	if len(ks) != 2 {
		t.Fatalf("keys: %v", ks)
	}
	for id, k := range ks {
		if k["keyid"] != id {
			t.Errorf("key %s has keyid member %v", id, k["keyid"])
		}
		if _, ok := k["keyval"].(map[string]any)["private"]; ok {
			t.Errorf("key %s: private part written", id)
		}
	}
	// It is exactly what MarshalJSON writes.
	plain, _ := json.Marshal(l)
	back, err := layout.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := layout.Payload(back); string(again) != string(b) {
		t.Errorf("Payload not stable across Parse:\n%s\n%s", b, again)
	}
	if string(b) != string(plain) || !strings.Contains(string(b), `"threshold":2`) {
		t.Errorf("unexpected payload %s", b)
	}
}
