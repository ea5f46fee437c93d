package layout

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseRule(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want Rule
	}{
		{[]string{"CREATE", "foo"}, Rule{Type: Create, Pattern: "foo"}},
		{[]string{"disallow", "*"}, Rule{Type: Disallow, Pattern: "*"}},
		{[]string{"REQUIRE", "a/b"}, Rule{Type: Require, Pattern: "a/b"}},
		{[]string{"MATCH", "*", "WITH", "PRODUCTS", "FROM", "build"},
			Rule{Type: Match, Pattern: "*", DestType: Products, DestStep: "build"}},
		{[]string{"match", "*.py", "in", "src", "with", "materials", "from", "checkout"},
			Rule{Type: Match, Pattern: "*.py", SourcePrefix: "src", DestType: Materials, DestStep: "checkout"}},
		{[]string{"MATCH", "x", "WITH", "MATERIALS", "IN", "d", "FROM", "s"},
			Rule{Type: Match, Pattern: "x", DestType: Materials, DestPrefix: "d", DestStep: "s"}},
		{[]string{"MATCH", "x", "IN", "a", "WITH", "PRODUCTS", "IN", "b", "FROM", "s"},
			Rule{Type: Match, Pattern: "x", SourcePrefix: "a", DestType: Products, DestPrefix: "b", DestStep: "s"}},
	} {
		got, err := ParseRule(tc.in)
		if err != nil {
			t.Errorf("%v: %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v: got %+v, want %+v", tc.in, got, tc.want)
		}
		// Reparsing the list form gives the same rule.
		again, err := ParseRule(got.List())
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("%v: list form %v reparses to %+v, %v", tc.in, got.List(), again, err)
		}
	}
}

func TestParseRuleErrors(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, "empty rule"},
		{[]string{"CREATE"}, "exactly one pattern"},
		{[]string{"CREATE", "a", "b"}, "exactly one pattern"},
		{[]string{"COPY", "a"}, `unknown rule type "COPY"`},
		{[]string{"MATCH", "a", "FROM", "b"}, "expected WITH"},
		{[]string{"MATCH", "a", "WITH", "ARTIFACTS", "FROM", "b"}, "MATERIALS or PRODUCTS"},
		{[]string{"MATCH", "a", "WITH", "PRODUCTS"}, "expected FROM"},
		{[]string{"MATCH", "a", "WITH", "PRODUCTS", "FROM"}, "FROM needs a step"},
		{[]string{"MATCH", "a", "WITH", "PRODUCTS", "FROM", "b", "c"}, `unexpected "c"`},
		{[]string{"MATCH", "a", "IN"}, "IN needs a path prefix"},
	} {
		_, err := ParseRule(tc.in)
		var re *RuleError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want RuleError containing %q", tc.in, err, tc.want)
		}
	}
}

func TestSubstitute(t *testing.T) {
	l := &Layout{Steps: []Step{{
		Name:              "build",
		ExpectedMaterials: []Rule{{Type: Match, Pattern: "{PKG}.tar.gz", DestType: Products, DestStep: "{FROM}"}},
		ExpectedCommand:   []string{"make", "{TARGET}", "{not a param}", "{}", "{{TARGET}}", "a}}b{{"},
	}}}
	got, err := l.Substitute(map[string]string{"PKG": "foo", "FROM": "checkout", "TARGET": "all"})
	if err != nil {
		t.Fatal(err)
	}
	r := got.Steps[0].ExpectedMaterials[0]
	if r.Pattern != "foo.tar.gz" || r.DestStep != "checkout" {
		t.Errorf("rule not substituted: %+v", r)
	}
	if want := []string{"make", "all", "{not a param}", "{}", "{TARGET}", "a}b{"}; !reflect.DeepEqual(got.Steps[0].ExpectedCommand, want) {
		t.Errorf("command = %v, want %v", got.Steps[0].ExpectedCommand, want)
	}
	if l.Steps[0].ExpectedMaterials[0].Pattern != "{PKG}.tar.gz" {
		t.Error("Substitute modified the original layout")
	}
	if _, err := l.Substitute(map[string]string{"PKG": "x"}); err == nil || !strings.Contains(err.Error(), "FROM, TARGET") {
		t.Errorf("missing parameters: got %v", err)
	}
}
