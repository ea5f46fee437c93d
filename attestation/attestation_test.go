package attestation_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/toto-dev/toto/attestation"
	"github.com/toto-dev/toto/bundle"
	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/statement"
)

var (
	digestA = link.DigestSet{"sha256": strings.Repeat("a1", 32)}
	digestB = link.DigestSet{"sha256": strings.Repeat("b2", 32)}
)

func mustKey(t *testing.T, typ string) *keys.Key {
	t.Helper()
	k, err := keys.Generate(typ, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func statementBytes(t *testing.T, d link.DigestSet) []byte {
	t.Helper()
	st, err := statement.New("https://example.com/predicate/v1", map[string]string{"x": "y"}, statement.Subject{Name: "app", Digest: d})
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func signed(t *testing.T, f envelope.Format, payloadType string, payload []byte, k *keys.Key) *envelope.Envelope {
	t.Helper()
	e, err := envelope.New(f, payloadType, payload)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Sign(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return e
}

func keyedBundle(t *testing.T, payload []byte, k *keys.Key) *envelope.Envelope {
	t.Helper()
	raw, err := bundle.Create(context.Background(), k, "", payload)
	if err != nil {
		t.Fatal(err)
	}
	e, err := envelope.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Every caller's checks, in order, each failing with its own Stage.
func TestVerify(t *testing.T) {
	ctx := context.Background()
	alice, bob, mallory := mustKey(t, keys.Ed25519), mustKey(t, keys.ECDSA), mustKey(t, keys.ECDSA)
	v := attestation.NewVerifier(attestation.Options{Keys: []attestation.TrustedKey{
		{ID: "alice-in-layout", Key: alice.Public()}, {ID: "bob", Key: bob.Public()}, {ID: "alice-again", Key: alice.Public()},
	}})
	st := statementBytes(t, digestA)
	linkPayload := []byte(`{"_type":"link","name":"build","materials":{},"products":{},"byproducts":{},"command":[],"environment":{}}`)
	for _, tc := range []struct {
		name      string
		env       *envelope.Envelope
		subjects  []link.DigestSet
		stage     attestation.Stage
		signers   string
		wantMatch []int
	}{
		{"DSSE by a trusted key, named as listed", signed(t, envelope.DSSE, "", st, alice), nil, "", "alice-in-layout,alice-again", nil},
		{"Metablock by a trusted key", signed(t, envelope.Metablock, "", st, bob), nil, "", "bob", nil},
		{"keyed Sigstore bundle", keyedBundle(t, st, bob), nil, "", "bob", nil},
		{"subject among those expected", signed(t, envelope.DSSE, "", st, bob), []link.DigestSet{digestB, digestA}, "", "bob", []int{1}},
		{"by a stranger", signed(t, envelope.DSSE, "", st, mallory), nil, attestation.StageSignature, "", nil},
		{"bundle by a stranger", keyedBundle(t, st, mallory), nil, attestation.StageSignature, "", nil},
		{"other payloadType", signed(t, envelope.DSSE, "application/json", st, alice), nil, attestation.StagePayloadType, "", nil},
		{"a link, not a Statement", signed(t, envelope.DSSE, "", linkPayload, alice), nil, attestation.StageStatement, "", nil},
		{"about another artifact", signed(t, envelope.DSSE, "", st, alice), []link.DigestSet{digestB}, attestation.StageSubject, "alice-in-layout,alice-again", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			va, err := v.Verify(ctx, tc.env, tc.subjects...)
			var ae *attestation.Error
			switch {
			case tc.stage == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.stage != "" && (!errors.As(err, &ae) || ae.Stage != tc.stage):
				t.Fatalf("got %v, want a %s failure", err, tc.stage)
			}
			if tc.signers == "" {
				if va != nil && tc.stage != attestation.StageSubject {
					t.Errorf("a failed attestation came back as verified: %+v", va)
				}
				return
			}
			if va == nil {
				t.Fatal("no Verified value")
			}
			if got := strings.Join(va.Signers, ","); got != tc.signers {
				t.Errorf("signers %s, want %s", got, tc.signers)
			}
			if va.Statement == nil || va.Statement.PredicateType != "https://example.com/predicate/v1" {
				t.Errorf("statement %+v", va.Statement)
			}
			if len(tc.wantMatch) > 0 && (len(va.Subjects) != 1 || va.Subjects[0] != tc.wantMatch[0]) {
				t.Errorf("subjects %v, want %v", va.Subjects, tc.wantMatch)
			}
		})
	}

	// A tampered payload fails on its signature, never later.
	e := signed(t, envelope.DSSE, "", st, alice)
	tampered, _ := envelope.New(envelope.DSSE, "", statementBytes(t, digestB))
	tampered.Signatures = e.Signatures
	if _, err := v.Verify(ctx, tampered); !errors.Is(err, envelope.ErrBadSignature) {
		t.Errorf("tampered: %v", err)
	}
	if _, err := attestation.NewVerifier(attestation.Options{}).Verify(ctx, e); err == nil {
		t.Error("verified with no trusted material")
	}
}
