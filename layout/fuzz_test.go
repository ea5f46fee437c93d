package layout

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseRule feeds artifact rules in list form (words separated by NUL)
// to ParseRule. Whatever it accepts is well formed and survives the list,
// JSON and shell-quoted text forms unchanged; whatever it refuses is a
// *RuleError quoting the rule.
func FuzzParseRule(f *testing.F) {
	for _, r := range [][]string{
		{"MATCH", "foo.tar.gz", "IN", "dist", "WITH", "PRODUCTS", "IN", "out", "FROM", "build"},
		{"match", "*", "with", "materials", "from", "checkout"},
		{"MATCH", "IN", "IN", "WITH", "WITH", "PRODUCTS", "FROM", "FROM"},
		{"MATCH", "a", "IN", "", "WITH", "PRODUCTS", "FROM", ""},
		{"MATCH", "a", "WITH", "PRODUCTS", "FROM"},
		{"MATCH", "a", "WITH", "PRODUCTS", "FROM", "b", "c"},
		{"CREATE", "*.tar.gz"},
		{"disallow", "'quoted' \"words\" \\ and spaces"},
		{"REQUIRE"},
		{"ALLOW", "a", "b"},
		{"BOGUS", "x"},
		{""},
	} {
		f.Add(strings.Join(r, "\x00"))
	}
	f.Fuzz(func(t *testing.T, s string) {
		parts := strings.Split(s, "\x00")
		r, err := ParseRule(parts)
		if err != nil {
			var re *RuleError
			if !errors.As(err, &re) || !slices.Equal(re.Rule, parts) {
				t.Fatalf("error %v is not a *RuleError quoting %q", err, parts)
			}
			return
		}
		switch r.Type {
		case Create, Delete, Modify, Allow, Disallow, Require:
			if r.SourcePrefix != "" || r.DestType != "" || r.DestPrefix != "" || r.DestStep != "" {
				t.Fatalf("%s rule with MATCH fields: %+v", r.Type, r)
			}
		case Match:
			if r.DestType != Materials && r.DestType != Products {
				t.Fatalf("MATCH with destination %q", r.DestType)
			}
		default:
			t.Fatalf("rule type %q", r.Type)
		}

		back, err := ParseRule(r.List())
		if err != nil || back != r {
			t.Fatalf("list form %q parses to %+v, %v; want %+v", r.List(), back, err, r)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var fromJSON Rule
		if err := json.Unmarshal(b, &fromJSON); err != nil {
			t.Fatalf("JSON %s does not parse: %v", b, err)
		}
		// JSON strings are Unicode: invalid UTF-8 becomes U+FFFD, so only
		// valid rules (all a layout can hold) must survive unchanged.
		if utf8.ValidString(s) && fromJSON != r {
			t.Fatalf("JSON %s parses to %+v; want %+v", b, fromJSON, r)
		}
		text := shellQuote(r.List())
		fromText, err := parseRuleText(text)
		if err != nil || fromText != r {
			t.Fatalf("text %s parses to %+v, %v; want %+v", text, fromText, err, r)
		}
	})
}

// FuzzRuleText feeds one-line rules, as layout sources and the builder
// take them, to the shell-style word splitter and the rule parser.
func FuzzRuleText(f *testing.F) {
	for _, s := range []string{
		`MATCH "*" WITH PRODUCTS FROM build`,
		`MATCH 'a b' IN "dist dir" WITH MATERIALS IN out FROM "x\"y"`,
		`CREATE foo\ bar`,
		`DISALLOW "unterminated`,
		`ALLOW 'unterminated`,
		`REQUIRE trailing\`,
		"\t  CREATE\n\r x  ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := splitWords(s)
		r, rerr := parseRuleText(s)
		if err != nil {
			if rerr == nil {
				t.Fatalf("%q: splitWords fails (%v) but the rule parses", s, err)
			}
			return
		}
		// Quoting the words back gives the same words.
		if again, err := splitWords(shellQuote(words)); err != nil || !slices.Equal(again, words) {
			t.Fatalf("%q: words %q quote and split to %q, %v", s, words, again, err)
		}
		want, werr := ParseRule(words)
		if (werr == nil) != (rerr == nil) || (werr == nil && want != r) {
			t.Fatalf("%q: text gives %+v, %v; its words give %+v, %v", s, r, rerr, want, werr)
		}
	})
}

// shellQuote joins words so that splitWords gives them back: each word in
// single quotes, with an embedded single quote ending the quotes, escaped
// with a backslash, and quotes reopened.
func shellQuote(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
