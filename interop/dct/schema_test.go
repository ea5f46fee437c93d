//go:build interop

package dctinterop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const schemaBaseURL = "https://github.com/toto-dev/toto/blob/main/docs/schema/"

// validateMigration validates migrate-dct --json output against the
// published schema (and the DCT and decision schemas it refers to).
func validateMigration(t *testing.T, doc string) {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	for _, name := range []string{"decision.schema.json", "dct-report.schema.json", "migrate-dct-report.schema.json"} {
		f, err := os.Open(filepath.Join("..", "..", "docs", "schema", name))
		if err != nil {
			t.Fatal(err)
		}
		d, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := c.AddResource(schemaBaseURL+name, d); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile(schemaBaseURL + "migrate-dct-report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, doc)
	}
	if err := s.Validate(inst); err != nil {
		t.Fatalf("migrate-dct --json does not validate: %v\n%s", err, doc)
	}
}
