package verifier

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
)

// BenchmarkRules measures the artifact-rule engine alone (no parsing, no
// signatures) on a step with n materials and n products and a rule list
// that mixes wildcard, literal and prefixed MATCH rules: the cost per
// artifact should not grow with n.
func BenchmarkRules(b *testing.B) {
	for _, n := range []int{10_000, 50_000, 100_000} {
		b.Run(fmt.Sprintf("artifacts=%d", n), func(b *testing.B) {
			src, own := link.Artifacts{}, &link.Link{Materials: link.Artifacts{}, Products: link.Artifacts{}}
			for i := 0; i < n; i++ {
				s := sha256.Sum256([]byte(fmt.Sprint(i)))
				d := link.DigestSet{"sha256": hex.EncodeToString(s[:])}
				p := fmt.Sprintf("src/pkg%03d/file%06d.go", i%1000, i)
				src["dist/"+p] = d
				own.Materials["in/"+p] = d
				own.Products["in/"+p] = d
			}
			own.Products["app.tar.gz"] = link.DigestSet{"sha256": "00"}
			env := &ruleEnv{item: "s", own: own, links: map[string]*link.Link{"build": {Products: src}, "s": own},
				names: map[string]bool{"build": true, "s": true}}
			var lits [][]string
			for i := 0; i < 100; i++ {
				lits = append(lits, []string{"REQUIRE", fmt.Sprintf("in/src/pkg%03d/file%06d.go", i%1000, i)})
			}
			mat := compileRulesList(b, append(lits,
				[]string{"MATCH", "*.go", "IN", "in", "WITH", "PRODUCTS", "IN", "dist", "FROM", "build"},
				[]string{"DISALLOW", "*"}))
			prod := compileRulesList(b, [][]string{
				{"CREATE", "app.tar.gz"}, {"MATCH", "*", "WITH", "MATERIALS", "FROM", "s"}, {"DISALLOW", "*"}})
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m, p := applyRules(env, MaterialsQueue, mat), applyRules(env, ProductsQueue, prod)
				if m.Unconsumed != 0 || p.Unconsumed != 0 {
					b.Fatalf("unconsumed: %d, %d", m.Unconsumed, p.Unconsumed)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(2*n), "ns/artifact")
		})
	}
}

func compileRulesList(b *testing.B, lists [][]string) []compiledRule {
	b.Helper()
	rs := make([][]string, len(lists))
	copy(rs, lists)
	out, err := parseRulesForBench(rs)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

func parseRulesForBench(lists [][]string) ([]compiledRule, error) {
	rs, err := layout.ParseRules(lists)
	if err != nil {
		return nil, err
	}
	return compileRules(rs), nil
}
