package layout_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/toto-dev/toto/layout"
)

// TestSubstituteEverywhere covers what TestSubstitute does not: prefixes,
// products, inspections, several placeholders in one word, values that
// themselves look like placeholders, and a source compiled from YAML.
func TestSubstituteEverywhere(t *testing.T) {
	src, err := parseSrc(t, srcHead+`parameters: [V, DIR, OUT-DIR, STEP]
steps:
  - name: build
    functionaries: [alice]
    command: [make, "V={V}", "{DIR}/{V}-{V}"]
    materials:
      - MATCH "*-{V}.go" IN {DIR} WITH PRODUCTS IN {OUT-DIR} FROM {STEP}
    products:
      - CREATE app-{V}
inspections:
  - name: check
    run: ./app-{V} --dir {DIR}
    materials:
      - MATCH app-{V} WITH PRODUCTS FROM build
    products:
      - ALLOW "{V}.log"
`)
	if err != nil {
		t.Fatal(err)
	}
	if got := layout.Parameters(src.Layout); !reflect.DeepEqual(got, []string{"DIR", "OUT-DIR", "STEP", "V"}) {
		t.Errorf("Parameters = %v", got)
	}
	got, err := src.Layout.Substitute(map[string]string{"V": "1.2", "DIR": "src", "OUT-DIR": "out", "STEP": "checkout", "UNUSED": "x"})
	if err != nil {
		t.Fatal(err)
	}
	s, in := got.Steps[0], got.Inspections[0]
	for _, c := range []struct{ got, want []string }{
		{s.ExpectedCommand, []string{"make", "V=1.2", "src/1.2-1.2"}},
		{s.ExpectedMaterials[0].List(), []string{"MATCH", "*-1.2.go", "IN", "src", "WITH", "PRODUCTS", "IN", "out", "FROM", "checkout"}},
		{s.ExpectedProducts[0].List(), []string{"CREATE", "app-1.2"}},
		{in.Run, []string{"./app-1.2", "--dir", "src"}},
		{in.ExpectedMaterials[0].List(), []string{"MATCH", "app-1.2", "WITH", "PRODUCTS", "FROM", "build"}},
		{in.ExpectedProducts[0].List(), []string{"ALLOW", "1.2.log"}},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}

	// A value is inserted literally, never expanded again.
	got, err = src.Layout.Substitute(map[string]string{"V": "{DIR}", "DIR": "d", "OUT-DIR": "o", "STEP": "s"})
	if err != nil {
		t.Fatal(err)
	}
	if c := got.Steps[0].ExpectedCommand[1]; c != "V={DIR}" {
		t.Errorf("value re-expanded: %q", c)
	}

	// Missing values are all named, each once, across steps and inspections.
	_, err = src.Layout.Substitute(map[string]string{"STEP": "s"})
	if err == nil || !strings.Contains(err.Error(), "DIR, OUT-DIR, V (pass") {
		t.Errorf("missing: %v", err)
	}
}

// Params names every placeholder Substitute would fill, once, sorted;
// escaped braces are not placeholders.
func TestParams(t *testing.T) {
	l := &layout.Layout{
		Steps: []layout.Step{{Name: "build", ExpectedCommand: []string{"make", "V={VERSION}", "{{literal}}"},
			ExpectedProducts: []layout.Rule{{Type: layout.Create, Pattern: "{NAME}-{VERSION}.tar.gz"}}}},
		Inspections: []layout.Inspection{{Name: "check", Run: []string{"test", "-f", "{NAME}"}}},
	}
	if got := l.Params(); strings.Join(got, ",") != "NAME,VERSION" {
		t.Errorf("Params() = %v, want [NAME VERSION]", got)
	}
}
