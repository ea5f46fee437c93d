package envelope_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/internal/corpus"
	"github.com/toto-dev/toto/keys"
)

func mustKey(t *testing.T, elem ...string) *keys.Key {
	t.Helper()
	k, err := keys.Load(corpus.Path(t, elem...))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustParseFile(t *testing.T, elem ...string) *envelope.Envelope {
	t.Helper()
	data, err := os.ReadFile(corpus.Path(t, elem...))
	if err != nil {
		t.Fatal(err)
	}
	e, err := envelope.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Metadata signed by the reference implementations verifies, in both
// envelopes, and fails with the wrong key.
func TestVerifyCorpus(t *testing.T) {
	for _, tc := range []struct {
		file   []string
		key    []string
		format envelope.Format
	}{
		{[]string{"in-toto-golang", "data", "demo.layout"}, []string{"in-toto-golang", "data", "alice.pub"}, envelope.Metablock},
		{[]string{"in-toto-golang", "data", "demo.dsse.layout"}, []string{"in-toto-golang", "data", "alice.pub"}, envelope.DSSE},
		{[]string{"python-in-toto", "demo_files", "write-code.776a00e2.link"}, []string{"python-in-toto", "demo_files", "bob.pub"}, envelope.Metablock},
		{[]string{"python-in-toto", "demo_files", "package.2f89b927.link"}, []string{"python-in-toto", "demo_files", "carl.pub"}, envelope.Metablock},
		{[]string{"python-in-toto", "demo_dsse_files", "write-code.776a00e2.link"}, []string{"python-in-toto", "demo_files", "bob.pub"}, envelope.DSSE},
		{[]string{"python-in-toto", "demo_dsse_files", "package.2f89b927.link"}, []string{"python-in-toto", "demo_files", "carl.pub"}, envelope.DSSE},
	} {
		t.Run(strings.Join(tc.file, "/"), func(t *testing.T) {
			e := mustParseFile(t, tc.file...)
			if e.Format != tc.format {
				t.Fatalf("format %v, want %v", e.Format, tc.format)
			}
			if err := e.Verify(mustKey(t, tc.key...)); err != nil {
				t.Fatalf("verify: %v", err)
			}
			other := mustKey(t, "python-in-toto", "demo_files", "danny.pub")
			if err := e.Verify(other); !errors.Is(err, envelope.ErrNoSignature) {
				t.Fatalf("verify with unrelated key: got %v, want ErrNoSignature", err)
			}
			// Round trip keeps the signed bytes: still verifies.
			b, err := e.Encode()
			if err != nil {
				t.Fatal(err)
			}
			e2, err := envelope.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if err := e2.Verify(mustKey(t, tc.key...)); err != nil {
				t.Fatalf("verify after round trip: %v", err)
			}
		})
	}
}

func TestTamperedPayloadFails(t *testing.T) {
	data, err := os.ReadFile(corpus.Path(t, "in-toto-golang", "data", "demo.layout"))
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(data, []byte(`"foo.py"`), []byte(`"bar.py"`), 1)
	if bytes.Equal(tampered, data) {
		t.Fatal("test did not tamper")
	}
	e, err := envelope.Parse(tampered)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Verify(mustKey(t, "in-toto-golang", "data", "alice.pub")); !errors.Is(err, envelope.ErrBadSignature) {
		t.Fatalf("got %v, want ErrBadSignature", err)
	}
}

// Signing adds to existing signatures, replaces the signer's own earlier one,
// and keeps unknown fields in the payload.
func TestMultiSignatureAndUnknownFields(t *testing.T) {
	ctx := context.Background()
	payload := []byte(`{"_type":"layout","x-custom":{"b":1,"a":[true,null]},"n":"é"}`)
	for _, format := range []envelope.Format{envelope.Metablock, envelope.DSSE} {
		t.Run(format.String(), func(t *testing.T) {
			e, err := envelope.New(format, "", payload)
			if err != nil {
				t.Fatal(err)
			}
			var ks []*keys.Key
			for _, typ := range []string{keys.Ed25519, keys.ECDSA, keys.Ed25519} {
				k, err := keys.Generate(typ, keys.GenerateOptions{})
				if err != nil {
					t.Fatal(err)
				}
				ks = append(ks, k)
				if err := e.Sign(ctx, k); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.Sign(ctx, ks[0]); err != nil { // re-sign: no duplicate
				t.Fatal(err)
			}
			if len(e.Signatures) != 3 {
				t.Fatalf("%d signatures, want 3", len(e.Signatures))
			}
			b, _ := e.Encode()
			e2, err := envelope.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			for i, k := range ks {
				if err := e2.Verify(k.Public()); err != nil {
					t.Errorf("key %d: %v", i, err)
				}
			}
			var got map[string]any
			json.Unmarshal(e2.Payload(), &got)
			if _, ok := got["x-custom"]; !ok {
				t.Errorf("unknown payload field lost: %s", e2.Payload())
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{"not json", `nope`, "invalid JSON"},
		{"array", `[]`, "expected a JSON object"},
		{"neither", `{"foo":1}`, "neither a Metablock nor a DSSE"},
		{"both", `{"signed":{},"payload":"","signatures":[]}`, "neither"},
		{"signed not object", `{"signed":[],"signatures":[]}`, `"signed"`},
		{"no signatures", `{"signed":{}}`, `"signatures": missing`},
		{"bad hex", `{"signed":{},"signatures":[{"keyid":"ab","sig":"zz"}]}`, `signatures[0]: field "sig": not hex`},
		{"missing keyid", `{"signed":{},"signatures":[{"sig":"ab"}]}`, `signatures[0]: field "keyid"`},
		{"dup member", `{"signed":{"a":1,"a":2},"signatures":[]}`, `appears more than once`},
		{"bad base64", `{"payloadType":"x","payload":"!!","signatures":[]}`, `"payload": bad base64`},
		{"payloadType number", `{"payloadType":1,"payload":"","signatures":[]}`, `"payloadType"`},
		{"trailing", `{"signed":{},"signatures":[]} x`, "trailing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := envelope.Parse([]byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"signed":{"_type":"link"},"signatures":[{"keyid":"ab","sig":"cd"}]}`))
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"ab","sig":"zQ=="}]}`))
	k, _ := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := envelope.Parse(data)
		if err != nil {
			return
		}
		// Whatever parses re-encodes and parses again, and a random
		// document never verifies under a fresh key.
		b, err := e.MarshalJSON()
		if err != nil {
			return // e.g. non-canonicalisable numbers
		}
		if _, err := envelope.Parse(b); err != nil {
			t.Fatalf("re-encoded envelope does not parse: %v\n%s", err, b)
		}
		if e.Verify(k) == nil {
			t.Fatal("random envelope verified")
		}
	})
}
