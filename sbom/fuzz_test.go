package sbom

import (
	"os"
	"path/filepath"
	"testing"
)

// Parsers of untrusted input must never panic, and whatever they accept
// must be usable by the policy code.

func FuzzParseSPDXJSON(f *testing.F) {
	if doc, err := sampleInventory().Encode(SPDXJSON, EncodeOptions{Created: fixedTime}); err == nil {
		f.Add(doc)
	}
	f.Add([]byte(`{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","packages":[{"SPDXID":"SPDXRef-a","name":"a","licenseDeclared":"(MIT"}]}`))
	f.Add([]byte(`{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","files":[{"SPDXID":"x","fileName":"./f","licenseInfoInFiles":["GPL-3.0-only WITH"]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := ParseSPDXJSON(data)
		if err != nil {
			return
		}
		exercisePolicy(inv)
	})
}

func FuzzParseCycloneDXJSON(f *testing.F) {
	if doc, err := sampleInventory().Encode(CycloneDXJSON, EncodeOptions{Created: fixedTime}); err == nil {
		f.Add(doc)
	}
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"a","components":[{"type":"library","name":"b","licenses":[{"expression":"MIT AND (GPL-3.0-only OR"}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := ParseCycloneDXJSON(data)
		if err != nil {
			return
		}
		exercisePolicy(inv)
	})
}

func FuzzParseNPMLock(f *testing.F) {
	for _, name := range []string{"lock-v2.json", "lock-v3.json"} {
		if data, err := os.ReadFile(filepath.Join("testdata", "npm", name)); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"lockfileVersion":3,"packages":{"node_modules/a":{"version":"1","integrity":"sha1-AAAAAAAAAAAAAAAAAAAAAAAAAAA= sha512-x?y","license":[{"type":"MIT"}]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := ParseNPMLock(data)
		if err != nil {
			return
		}
		// Whatever a lockfile holds must encode to every format.
		for _, format := range Formats {
			if _, err := inv.Encode(format, EncodeOptions{Created: fixedTime}); err != nil {
				t.Fatalf("accepted lockfile does not encode as %s: %v", format, err)
			}
		}
	})
}

func FuzzLicenseExpression(f *testing.F) {
	for _, s := range []string{"MIT", "(MIT OR Apache-2.0) AND GPL-3.0-only WITH GCC-exception-3.1", "((((", "a OR", "WITH WITH", "SEE LICENSE IN x"} {
		f.Add(s)
	}
	p := Policy{DenyLicenses: []string{"GPL-*", "MIT"}}
	f.Fuzz(func(t *testing.T, s string) {
		_ = p.deniedLicenses(s)
		_ = licenseIDs(s)
	})
}

func exercisePolicy(inv *Inventory) {
	p := Policy{DenyLicenses: []string{"GPL-3.0-only", "AGPL-*"}, DenyComponents: []string{"a", "pkg:npm/b", "c@1"}}
	for _, c := range inv.All() {
		_ = p.deniedLicenses(c.License)
		_ = p.deniedBy(&c)
	}
}
