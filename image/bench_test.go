package image

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/toto-dev/toto/keys"
)

// BenchmarkVerifyLayout verifies an image in an OCI layout carrying one
// signature and 20 attestations.
func BenchmarkVerifyLayout(b *testing.B) {
	ctx := context.Background()
	k, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	dir, _ := newLayout(b, 1)
	tg, err := Open(ctx, LayoutPrefix+dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := Sign(ctx, tg, k, SignOptions{}); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if _, err := Attest(ctx, tg, k, fmt.Sprintf("https://example.com/p/%d", i), json.RawMessage(`{"n":1}`), SignOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	opts := VerifyOptions{Keys: []*keys.Key{k.Public()}}
	b.ReportAllocs()
	for b.Loop() {
		rep, err := Verify(ctx, tg, opts)
		if err != nil || rep.Attestations != 20 {
			b.Fatal(err)
		}
	}
}
