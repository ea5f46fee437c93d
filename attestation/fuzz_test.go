package attestation_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/toto-dev/toto/attestation"
	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
)

// FuzzVerify feeds untrusted documents through parsing and the attestation
// path: nothing crashes, and nothing verifies under a key that signed
// nothing.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"AA=="}]}`))
	f.Add([]byte(`{"signed":{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"x","predicate":{}},"signatures":[{"keyid":"ab","sig":"cd"}]}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AA=="}]}}`))
	k, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	if err != nil {
		f.Fatal(err)
	}
	v := attestation.NewVerifier(attestation.Options{Keys: attestation.Keys(k.Public())})
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := envelope.Parse(data)
		if err != nil {
			return
		}
		if va, err := v.Verify(context.Background(), e); err == nil || va != nil && len(va.Signers) > 0 {
			t.Fatalf("a random document verified: %+v", va)
		}
	})
}

// ExampleVerifier_Verify verifies a DSSE attestation with a trusted key.
func ExampleVerifier_Verify() {
	ctx := context.Background()
	k, _ := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	payload := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app","digest":{"sha256":"` +
		"a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1" + `"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`)
	env, _ := envelope.New(envelope.DSSE, "", payload)
	_ = env.Sign(ctx, k)

	v := attestation.NewVerifier(attestation.Options{Keys: attestation.Keys(k.Public())})
	va, err := v.Verify(ctx, env)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(va.Statement.PredicateType, len(va.Signers))
	// Output: https://slsa.dev/provenance/v1 1
}
