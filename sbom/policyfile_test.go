package sbom

import (
	"errors"
	"strings"
	"testing"

	"github.com/toto-dev/toto/internal/yamlpos"
)

// YAML policy errors say FILE:LINE:COL and the field, for what yaml.v3
// refuses and for what Validate refuses after decoding.
func TestDecodePolicyYAMLErrorsGolden(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"wrong type", "denyLicenses: [MIT]\nrequireSBOM: sometimes\n",
			`p.yaml:2:14: requireSBOM: want true or false, got "sometimes"`},
		{"unknown field", "denyLicenses: [MIT]\ndenyLicences: [GPL-3.0]\n",
			`p.yaml:2:1: denyLicences: unknown field "denyLicences"`},
		{"a mapping in a list of strings", "denyComponents:\n  - name: lodash\n    version: 4.17.20\n",
			`p.yaml:2:5: denyComponents[0]: want a string, got a mapping`},
		{"bad license id, placed after decoding", "denyLicenses:\n  - MIT\n  - GPL 3\n",
			`p.yaml:3:5: denyLicenses[1]: "GPL 3": want one SPDX license id, optionally ending in '*'`},
		{"two bad entries, both placed", "denyLicenses: [MIT, \"*\"]\ndenyComponents: [\"pkg:npm\"]\n",
			"p.yaml:1:21: denyLicenses[1]: \"*\": want one SPDX license id, optionally ending in '*'\n" +
				`p.yaml:2:18: denyComponents[0]: "pkg:npm": a purl prefix needs a type and a name (pkg:TYPE/NAME)`},
		{"syntax", "denyLicenses: [MIT\nrequireSBOM: true\n",
			`p.yaml:2: did not find expected ',' or ']'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodePolicy("p.yaml", []byte(tc.doc))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got\n%v\nwant\n%s", err, tc.want)
			}
			var pe *yamlpos.Error
			if !errors.As(err, &pe) {
				t.Errorf("not placed: %T", err)
			}
		})
	}
	// JSON policies keep their messages.
	if _, err := DecodePolicy("p.json", []byte(`{"denyLicenses": ["GPL 3"]}`)); err == nil || err.Error() != `p.json: sbom policy: denyLicenses[0] "GPL 3": want one SPDX license id, optionally ending in '*'` {
		t.Errorf("JSON: %v", err)
	}
}

// A policy file is untrusted input: YAML or JSON, it decodes or fails with
// an error naming the file, and a decoded policy validates.
func FuzzDecodePolicy(f *testing.F) {
	for _, s := range []string{"denyLicenses: [MIT]\nrequireSBOM: true\n", "denyComponents:\n  - name: x\n", "{denyLicenses: [", `{"denyLicenses": ["GPL-*"]}`} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, yamlFile bool) {
		name := "p.json"
		if yamlFile {
			name = "p.yaml"
		}
		p, err := DecodePolicy(name, data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), name) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("decoded policy does not validate: %v", err)
		}
	})
}
