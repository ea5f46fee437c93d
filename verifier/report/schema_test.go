package report_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/toto-dev/toto/verifier/report"
)

// The JSON the library writes validates against the published schema
// (docs/schema/verify-report.schema.json), whose objects refuse members
// they do not declare. cmd/toto's TestVerifyJSONSchema does the same for
// the toto binary's passing, failing and tampered outputs.
func TestJSONMatchesSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	schema, err := c.Compile(filepath.Join("..", "..", "docs", "schema", "verify-report.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, stray := range []string{"stray.sh", ""} {
		rep := report.New(failingChain(t, stray), report.Options{Layout: "root.layout", MaxList: 1})
		if rep.SchemaVersion != report.SchemaVersion {
			t.Errorf("schemaVersion %q", rep.SchemaVersion)
		}
		var js bytes.Buffer
		if err := rep.JSON(&js); err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(&js)
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(inst); err != nil {
			t.Errorf("report (stray %q) does not validate:\n%v", stray, err)
		}
	}
}
