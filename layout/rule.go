package layout

import (
	"encoding/json"
	"fmt"
	"strings"
)

// RuleType names an artifact rule (in-toto spec v1.0, section 4.3.3).
type RuleType string

// The seven artifact rules.
const (
	Match    RuleType = "MATCH"
	Create   RuleType = "CREATE"
	Delete   RuleType = "DELETE"
	Modify   RuleType = "MODIFY"
	Allow    RuleType = "ALLOW"
	Disallow RuleType = "DISALLOW"
	Require  RuleType = "REQUIRE"
)

// Destination artifact kinds in a MATCH rule.
const (
	Materials = "MATERIALS"
	Products  = "PRODUCTS"
)

// Rule is one artifact rule, parsed from its list form, e.g.
//
//	["MATCH", "foo.tar.gz", "IN", "dist", "WITH", "PRODUCTS", "IN", "out", "FROM", "build"]
type Rule struct {
	Type RuleType
	// Pattern is the glob the rule applies to (for REQUIRE: a path).
	Pattern string
	// SourcePrefix is the "IN <prefix>" before WITH in a MATCH rule.
	SourcePrefix string
	// DestType is MATERIALS or PRODUCTS (MATCH only).
	DestType string
	// DestPrefix is the "IN <prefix>" after WITH in a MATCH rule.
	DestPrefix string
	// DestStep is the step named by FROM (MATCH only).
	DestStep string
}

// RuleError reports a malformed rule together with the rule as written.
type RuleError struct {
	Rule   []string
	Reason string
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("rule %s: %s", quoteRule(e.Rule), e.Reason)
}

func quoteRule(r []string) string {
	b, _ := json.Marshal(r)
	return string(b)
}

// ParseRule parses the list form of an artifact rule. Keywords are matched
// case-insensitively and the structure must be exact, as in the Python
// reference (which also accepts empty patterns and step names; the layout
// linter warns about those instead).
func ParseRule(parts []string) (Rule, error) {
	bad := func(format string, args ...any) (Rule, error) {
		return Rule{}, &RuleError{Rule: parts, Reason: fmt.Sprintf(format, args...)}
	}
	if len(parts) == 0 {
		return bad("empty rule")
	}
	kw := RuleType(strings.ToUpper(parts[0]))
	switch kw {
	case Create, Delete, Modify, Allow, Disallow, Require:
		if len(parts) != 2 {
			return bad("%s takes exactly one pattern, e.g. [%q, \"*.tar.gz\"]", kw, kw)
		}
		return Rule{Type: kw, Pattern: parts[1]}, nil
	case Match:
		return parseMatch(parts)
	}
	return bad("unknown rule type %q (want MATCH, CREATE, DELETE, MODIFY, ALLOW, DISALLOW or REQUIRE)", parts[0])
}

// parseMatch handles
// MATCH <pattern> [IN <prefix>] WITH (MATERIALS|PRODUCTS) [IN <prefix>] FROM <step>.
func parseMatch(parts []string) (Rule, error) {
	bad := func(format string, args ...any) (Rule, error) {
		return Rule{}, &RuleError{Rule: parts, Reason: fmt.Sprintf(format, args...)}
	}
	const usage = "want MATCH <pattern> [IN <prefix>] WITH (MATERIALS|PRODUCTS) [IN <prefix>] FROM <step>"
	r := Rule{Type: Match}
	i := 1
	next := func() (string, bool) {
		if i >= len(parts) {
			return "", false
		}
		i++
		return parts[i-1], true
	}
	keyword := func(want string) bool {
		if i < len(parts) && strings.EqualFold(parts[i], want) {
			i++
			return true
		}
		return false
	}
	var ok bool
	if r.Pattern, ok = next(); !ok {
		return bad("missing pattern; %s", usage)
	}
	if keyword("IN") {
		if r.SourcePrefix, ok = next(); !ok {
			return bad("IN needs a path prefix; %s", usage)
		}
	}
	if !keyword("WITH") {
		return bad("expected WITH; %s", usage)
	}
	dt, ok := next()
	switch strings.ToUpper(dt) {
	case Materials, Products:
		r.DestType = strings.ToUpper(dt)
	default:
		return bad("WITH must be followed by MATERIALS or PRODUCTS, got %q", dt)
	}
	if keyword("IN") {
		if r.DestPrefix, ok = next(); !ok {
			return bad("IN needs a path prefix; %s", usage)
		}
	}
	if !keyword("FROM") {
		return bad("expected FROM <step>; %s", usage)
	}
	if r.DestStep, ok = next(); !ok {
		return bad("FROM needs a step name; %s", usage)
	}
	if i != len(parts) {
		return bad("unexpected %q after the step name; %s", parts[i], usage)
	}
	return r, nil
}

// List returns the rule in its list form.
func (r Rule) List() []string {
	if r.Type != Match {
		return []string{string(r.Type), r.Pattern}
	}
	out := []string{string(Match), r.Pattern}
	if r.SourcePrefix != "" {
		out = append(out, "IN", r.SourcePrefix)
	}
	out = append(out, "WITH", r.DestType)
	if r.DestPrefix != "" {
		out = append(out, "IN", r.DestPrefix)
	}
	return append(out, "FROM", r.DestStep)
}

// String returns the rule as a space-separated line, e.g.
// "MATCH foo.tar.gz WITH PRODUCTS FROM build".
func (r Rule) String() string { return strings.Join(r.List(), " ") }

// MarshalJSON writes the list form.
func (r Rule) MarshalJSON() ([]byte, error) { return json.Marshal(r.List()) }

// UnmarshalJSON parses the list form.
func (r *Rule) UnmarshalJSON(data []byte) error {
	var parts []string
	if err := json.Unmarshal(data, &parts); err != nil {
		return fmt.Errorf("rule %s: want a list of strings", data)
	}
	p, err := ParseRule(parts)
	if err != nil {
		return err
	}
	*r = p
	return nil
}

// ParseRules parses a list of rules; the error names the index of the first
// bad one.
func ParseRules(lists [][]string) ([]Rule, error) {
	out := make([]Rule, 0, len(lists))
	for i, l := range lists {
		r, err := ParseRule(l)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		out = append(out, r)
	}
	return out, nil
}
