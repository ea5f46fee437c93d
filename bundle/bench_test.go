package bundle_test

import (
	"context"
	"testing"

	"github.com/toto-dev/toto/bundle"
	"github.com/toto-dev/toto/keys"
)

func BenchmarkVerifyEnvelopeKeyed(b *testing.B) {
	ctx := context.Background()
	k, err := keys.Generate(keys.ECDSA, keys.GenerateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	raw, err := bundle.Create(ctx, k, "", []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"abab"}}],"predicateType":"p","predicate":{}}`))
	if err != nil {
		b.Fatal(err)
	}
	pub := k.Public()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bundle.VerifyEnvelope(ctx, raw, pub); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyKeylessProvenance(b *testing.B) {
	raw := readCorpus(b, "sigstore-go", "bundle-provenance.json")
	tr := readCorpus(b, "sigstore-go", "trusted-root-public-good.json")
	p := bundle.Policy{Identity: provenanceIdentity, Issuer: provenanceIssuer, ArtifactDigest: provenanceDigest}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bundle.Verify(context.Background(), raw, tr, p); err != nil {
			b.Fatal(err)
		}
	}
}
