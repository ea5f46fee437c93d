package layout_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/toto-dev/toto/layout"
)

// "{{NAME}}" is an escaped brace, not a parameter, in every place that
// reads placeholders: Substitute, Parameters (toto layout show) and a
// source that declares its parameters.
func TestEscapedBracesAreNotParameters(t *testing.T) {
	src := srcHead + "parameters: [VERSION]\nsteps:\n  - name: build\n    functionaries: [alice]\n" +
		"    command: [echo, \"{{NAME}}\", \"{VERSION}\", \"{{{VERSION}}}\"]\n    products: [\"CREATE app-{VERSION}{{x}}\"]\n"
	s, err := parseSrc(t, src)
	if err != nil {
		t.Fatalf("a source declaring only VERSION is refused: %v", err)
	}
	if got := layout.Parameters(s.Layout); !reflect.DeepEqual(got, []string{"VERSION"}) {
		t.Errorf("Parameters = %q, want [VERSION]", got)
	}
	sub, err := s.Layout.Substitute(map[string]string{"VERSION": "1.2"})
	if err != nil {
		t.Fatalf("Substitute with VERSION alone: %v", err)
	}
	if got := strings.Join(sub.Steps[0].ExpectedCommand, " "); got != "echo {NAME} 1.2 {1.2}" {
		t.Errorf("command %q", got)
	}
	if got := sub.Steps[0].ExpectedProducts[0].Pattern; got != "app-1.2{x}" {
		t.Errorf("pattern %q", got)
	}

	// A placeholder that is not declared is still caught.
	if _, err := parseSrc(t, strings.Replace(src, "{VERSION}\"", "{NAME}\"", 1)); err == nil || !strings.Contains(err.Error(), "placeholder {NAME} is not declared") {
		t.Errorf("undeclared {NAME}: %v", err)
	}
}
