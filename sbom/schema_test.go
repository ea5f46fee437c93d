package sbom

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden")

// Schema URLs: the $id of each vendored schema, so that the relative $refs
// inside bom-1.6 (spdx.schema.json, jsf-0.82.schema.json) resolve offline.
const (
	spdxSchemaURL = "http://spdx.org/rdf/terms/2.3"
	cdxSchemaURL  = "http://cyclonedx.org/schema/bom-1.6.schema.json"
)

var schemas = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for url, file := range map[string]string{
		spdxSchemaURL: "spdx-schema.json",
		cdxSchemaURL:  "bom-1.6.schema.json",
		"http://cyclonedx.org/schema/spdx.schema.json":     "spdx.schema.json",
		"http://cyclonedx.org/schema/jsf-0.82.schema.json": "jsf-0.82.schema.json",
	} {
		f, err := os.Open(filepath.Join("testdata", "schema", file))
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			return nil, err
		}
		if err := c.AddResource(url, doc); err != nil {
			return nil, err
		}
	}
	out := map[string]*jsonschema.Schema{}
	for _, u := range []string{spdxSchemaURL, cdxSchemaURL} {
		s, err := c.Compile(u)
		if err != nil {
			return nil, err
		}
		out[u] = s
	}
	return out, nil
})

// validateJSON validates doc against the official schema for format f.
func validateJSON(t *testing.T, f Format, doc []byte) {
	t.Helper()
	all, err := schemas()
	if err != nil {
		t.Fatalf("load schemas: %v", err)
	}
	url := spdxSchemaURL
	if f == CycloneDXJSON {
		url = cdxSchemaURL
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("%s output is not JSON: %v", f, err)
	}
	if err := all[url].Validate(inst); err != nil {
		t.Fatalf("%s output does not validate against %s:\n%v", f, url, err)
	}
}

var fixedTime = time.Date(2024, 5, 17, 12, 30, 0, 0, time.UTC)

// sampleInventory exercises every field the encoders write: a root, a
// library with purl, hashes, license, download location and properties, a
// library with a license that is not an SPDX expression, one with a
// compound expression, and a file.
func sampleInventory() *Inventory {
	return &Inventory{
		Name: "example-app",
		Root: &Component{
			Type: TypeApplication, Name: "example.com/app", Version: "v1.0.0",
			PURL:    golangPURL("example.com/app", "v1.0.0"),
			Hashes:  map[string]string{SHA256: strings.Repeat("ab", 32)},
			License: "Apache-2.0",
		},
		Components: []Component{
			{Type: TypeLibrary, Name: "left-pad", Version: "1.3.0", PURL: npmPURL("left-pad", "1.3.0"),
				Hashes:           map[string]string{SHA512: strings.Repeat("cd", 64)},
				License:          "WTFPL",
				DownloadLocation: "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",
				Properties:       map[string]string{"npm:dev": "true"}},
			{Type: TypeLibrary, Name: "@scope/pkg", Version: "2.0.0", PURL: npmPURL("@scope/pkg", "2.0.0"),
				License: "SEE LICENSE IN LICENSE.txt"},
			{Type: TypeLibrary, Name: "github.com/BurntSushi/toml", Version: "v1.3.2+incompatible",
				PURL:       golangPURL("github.com/BurntSushi/toml", "v1.3.2+incompatible"),
				License:    "(MIT OR Apache-2.0) AND BSD-3-Clause",
				Properties: map[string]string{"go:sum": "h1:o7IhLm0Msx3BaB+n3Ag7L8EVlByGKpq14bsimJnp5Ag="}},
			{Type: TypeFile, Name: "bin/app", Hashes: map[string]string{
				SHA1: strings.Repeat("01", 20), SHA256: strings.Repeat("02", 32), SHA512: strings.Repeat("03", 64)}},
		},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test ./sbom -run %s -update to create it): %v", t.Name(), err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file %s; got:\n%s", t.Name(), path, got)
	}
}

func TestEncodeGolden(t *testing.T) {
	for _, tc := range []struct {
		format Format
		file   string
	}{
		{SPDXJSON, "sample.spdx.json"},
		{SPDXTagValue, "sample.spdx"},
		{CycloneDXJSON, "sample.cdx.json"},
		{CycloneDXXML, "sample.cdx.xml"},
	} {
		t.Run(string(tc.format), func(t *testing.T) {
			got, err := sampleInventory().Encode(tc.format, EncodeOptions{Created: fixedTime})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, got)
			// Encoding is deterministic: the same input gives the same bytes.
			again, err := sampleInventory().Encode(tc.format, EncodeOptions{Created: fixedTime})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, again) {
				t.Error("two encodings of the same inventory differ")
			}
		})
	}
}

func TestEncodedJSONValidatesAgainstOfficialSchemas(t *testing.T) {
	for _, f := range []Format{SPDXJSON, CycloneDXJSON} {
		for name, inv := range map[string]*Inventory{
			"sample":  sampleInventory(),
			"empty":   {Name: "empty"},
			"no-root": {Name: "files", Components: sampleInventory().Components},
		} {
			t.Run(string(f)+"/"+name, func(t *testing.T) {
				doc, err := inv.Encode(f, EncodeOptions{Created: fixedTime})
				if err != nil {
					t.Fatal(err)
				}
				validateJSON(t, f, doc)
			})
		}
	}
}

// The schemas must really reject bad documents, or the validation above
// proves nothing.
func TestSchemaValidationRejectsBrokenDocuments(t *testing.T) {
	all, err := schemas()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		format Format
		break_ func(map[string]any)
	}{
		{SPDXJSON, func(m map[string]any) { delete(m, "documentNamespace") }},
		{SPDXJSON, func(m map[string]any) {
			m["packages"].([]any)[0].(map[string]any)["SPDXID"] = "not an id"
		}},
		{CycloneDXJSON, func(m map[string]any) { m["bomFormat"] = "SPDX" }},
		{CycloneDXJSON, func(m map[string]any) {
			m["components"].([]any)[0].(map[string]any)["licenses"] = []any{map[string]any{"license": map[string]any{"id": "NOT-A-LICENSE"}}}
		}},
	} {
		doc, err := sampleInventory().Encode(tc.format, EncodeOptions{Created: fixedTime})
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(doc, &m); err != nil {
			t.Fatal(err)
		}
		tc.break_(m)
		url := spdxSchemaURL
		if tc.format == CycloneDXJSON {
			url = cdxSchemaURL
		}
		if err := all[url].Validate(m); err == nil {
			t.Errorf("%s: broken document validated", tc.format)
		}
	}
}

func TestCycloneDXLicenseIDsMatchSchema(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "schema", "spdx.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Enum []string `json:"enum"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	ids := cdxLicenseIDs()
	if len(ids) != len(s.Enum) {
		t.Fatalf("embedded list has %d ids, schema enum %d", len(ids), len(s.Enum))
	}
	for _, id := range s.Enum {
		if !ids[id] {
			t.Errorf("schema id %q missing from cyclonedx_license_ids.txt", id)
		}
	}
}
