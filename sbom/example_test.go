package sbom_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/sbom"
	"github.com/toto-dev/toto/statement"
)

// Describe an npm project and write it as CycloneDX 1.6 JSON.
func ExampleFromNPMLock() {
	inv, err := sbom.FromNPMLock(context.Background(), "testdata/npm/lock-v3.json", sbom.WithoutDevDependencies())
	if err != nil {
		panic(err)
	}
	fmt.Println(inv.Root.Ref(), inv.Root.License)
	for _, c := range inv.Components {
		fmt.Println(c.PURL, c.License)
	}
	doc, err := inv.Encode(sbom.CycloneDXJSON, sbom.EncodeOptions{Created: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.Contains(string(doc), `"specVersion": "1.6"`))
	// Output:
	// toto-sbom-fixture@1.0.0 Apache-2.0
	// pkg:npm/%40sindresorhus/is@4.6.0 MIT
	// pkg:npm/debug@4.3.4 MIT
	// pkg:npm/ms@2.1.2 MIT
	// pkg:npm/ms@2.1.3 MIT
	// pkg:npm/type-fest@0.21.3 (MIT OR CC0-1.0)
	// true
}

// Judge an SBOM attestation about an artifact against a layout's policy.
func ExampleEvaluate() {
	artifact := sbom.Artifact{Name: "app", Digests: link.DigestSet{"sha256": strings.Repeat("ab", 32)}}
	inv := &sbom.Inventory{Name: "app", Components: []sbom.Component{
		{Type: sbom.TypeLibrary, Name: "github.com/foo/bar", Version: "v1.2.0", License: "GPL-3.0-only"},
		{Type: sbom.TypeLibrary, Name: "github.com/foo/dual", Version: "v0.3.0", License: "MIT OR GPL-3.0-only"},
	}}
	st, err := sbom.NewStatement(inv, sbom.SPDXJSON,
		[]statement.Subject{{Name: "app", Digest: artifact.Digests}}, sbom.EncodeOptions{})
	if err != nil {
		panic(err)
	}
	policy := sbom.Policy{RequireSBOM: true, DenyLicenses: []string{"GPL-3.0-only"}}
	res := sbom.Evaluate(policy, artifact, []sbom.Attestation{{Source: "app.spdx.att", Statement: st}})
	for _, v := range res.Violations {
		fmt.Println(v.Rule+":", v.Message)
	}
	// Output:
	// deny-license: component github.com/foo/bar@v1.2.0 has license GPL-3.0-only, denied by policy (attestation app.spdx.att)
}
