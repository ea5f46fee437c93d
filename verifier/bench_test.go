package verifier_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/verifier"
	cg "github.com/toto-dev/toto/verifier/internal/chaingen"
)

type benchChain struct {
	env  *envelope.Envelope
	opts verifier.Options
}

var benchChains = map[int]*benchChain{}

func bigChain(b *testing.B, n int) *benchChain {
	if c, ok := benchChains[n]; ok {
		return c
	}
	g := cg.Big(n)
	c := &benchChain{env: g.SignedLayout("owner"), opts: verifier.Options{LayoutKeys: []*keys.Key{g.Public("owner")}, Links: g.Source()}}
	benchChains[n] = c
	return c
}

// benchVerify verifies the Big chain with n artifacts per main step (about
// 3.3·n artifacts in all queues), signatures and link parsing included.
func benchVerify(b *testing.B, n int) {
	c := bigChain(b, n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := verifier.Verify(context.Background(), c.env, c.opts)
		if err != nil {
			b.Fatal(err)
		}
		if !res.Passed() {
			b.Fatal(res.Err())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/artifact")
}

// BenchmarkVerify100k verifies a chain with 100,000 artifacts per main
// step.
func BenchmarkVerify100k(b *testing.B) { benchVerify(b, 100_000) }

// BenchmarkVerifySizes shows how verification time grows with the number
// of artifacts: ns/artifact should stay about flat.
func BenchmarkVerifySizes(b *testing.B) {
	for _, n := range []int{10_000, 50_000, 100_000} {
		b.Run(fmt.Sprintf("artifacts=%d", n), func(b *testing.B) { benchVerify(b, n) })
	}
}

// BenchmarkVerifyDir verifies the Big chain from files, as toto verify
// does: reading, envelope parsing, canonical JSON for the signatures, link
// decoding and rules (BenchmarkVerifySizes starts from parsed envelopes).
// bench/verify.sh measures the whole command against the references.
func BenchmarkVerifyDir(b *testing.B) {
	for _, n := range []int{20_000, 100_000} {
		b.Run(fmt.Sprintf("artifacts=%d", n), func(b *testing.B) {
			g := cg.Big(n)
			dir := b.TempDir()
			if err := g.WriteDir(dir); err != nil {
				b.Fatal(err)
			}
			env := loadEnvelope(b, filepath.Join(dir, "root.layout"))
			owner := g.Public("owner")
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				d, err := verifier.OpenDir(filepath.Join(dir, "links"))
				if err != nil {
					b.Fatal(err)
				}
				res, err := verifier.Verify(context.Background(), env, verifier.Options{LayoutKeys: []*keys.Key{owner}, Links: d})
				d.Close()
				if err != nil {
					b.Fatal(err)
				}
				if !res.Passed() {
					b.Fatal(res.Err())
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/artifact")
		})
	}
}
