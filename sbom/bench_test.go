package sbom

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// bigInventory has n library components, like a large npm project.
func bigInventory(n int) *Inventory {
	inv := &Inventory{Name: "big", Root: &Component{Type: TypeApplication, Name: "big", Version: "1.0.0", PURL: npmPURL("big", "1.0.0")}}
	for i := range n {
		name := fmt.Sprintf("pkg-%05d", i)
		inv.Components = append(inv.Components, Component{Type: TypeLibrary, Name: name, Version: "1.0.0",
			PURL: npmPURL(name, "1.0.0"), License: "MIT", Hashes: map[string]string{SHA512: fmt.Sprintf("%0128x", i)}})
	}
	return inv
}

func BenchmarkEncode1000(b *testing.B) {
	for _, f := range Formats {
		b.Run(string(f), func(b *testing.B) {
			for b.Loop() {
				if _, err := bigInventory(1000).Encode(f, EncodeOptions{Created: fixedTime}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEvaluate1000 is the verifier side: parse a 1000-component
// CycloneDX predicate (duplicate-key scan included) and apply a policy.
func BenchmarkEvaluate1000(b *testing.B) {
	st, err := NewStatement(bigInventory(1000), CycloneDXJSON, subjectsOf(artifactDigest), EncodeOptions{Created: fixedTime})
	if err != nil {
		b.Fatal(err)
	}
	att := Attestation{Source: "big", Statement: st}
	p := Policy{DenyLicenses: []string{"GPL-*", "AGPL-3.0-only"}, DenyComponents: []string{"left-pad", "pkg:npm/evil"}}
	a := Artifact{Name: "big", Digests: artifactDigest}
	for b.Loop() {
		if r := Evaluate(p, a, []Attestation{att}); !r.OK() {
			b.Fatal(r.Err())
		}
	}
}

func BenchmarkFromDir(b *testing.B) {
	dir := b.TempDir()
	data := make([]byte, 1<<20)
	for i := range 32 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d", i)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(32 << 20)
	for b.Loop() {
		if _, err := FromDir(context.Background(), dir); err != nil {
			b.Fatal(err)
		}
	}
}
