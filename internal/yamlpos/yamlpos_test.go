package yamlpos_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/toto-dev/toto/internal/yamlpos"
)

type rule struct {
	Images  []string `yaml:"images"`
	Enforce bool     `yaml:"enforce"`
	Count   int      `yaml:"count"`
}

type config struct {
	Default string `yaml:"default"`
	Rules   []rule `yaml:"rules"`
}

func TestDecodeErrorsGolden(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"type error in a nested mapping: its value's column",
			"default: deny\nrules:\n  - images: [a]\n    enforce: sometimes\n",
			`p.yaml:4:14: rules[0].enforce: want true or false, got "sometimes"`},
		{"two values on one line: the column tells them apart",
			"rules:\n  - {images: [a], enforce: true, count: many}\n",
			`p.yaml:2:41: rules[0].count: want a whole number, got "many"`},
		{"unknown field: its key",
			"default: deny\nrules:\n  - images: [a]\n    enforec: true\n",
			`p.yaml:4:5: rules[0].enforec: unknown field "enforec"`},
		{"a mapping for a list",
			"rules:\n  images: [a]\n",
			`p.yaml:2:3: rules: want a list, got a mapping`},
		{"a list for a string",
			"default: [allow]\n",
			`p.yaml:1:10: default: want a string, got a list`},
		{"several errors, in file order",
			"rules:\n  - count: x\n    enforce: 7\n",
			"p.yaml:2:12: rules[0].count: want a whole number, got \"x\"\np.yaml:3:14: rules[0].enforce: want true or false, got \"7\""},
		// yaml.v3 alone says line 1 for these (the line before the "[").
		{"unclosed flow list: the line of the problem",
			"rules:\n  - images: [a, b\n  - images: [c]\n",
			`p.yaml:3: did not find expected ',' or ']'`},
		{"flow list closed by a brace: the line of the problem",
			"a:\n  b: {c: 1, d: [1, 2}\n  e: 3\n",
			`p.yaml:2: did not find expected ',' or ']'`},
		{"unterminated quote: the last line, where the stream ends",
			"a: \"unterminated\nb: 2\nc: 3\n\n",
			`p.yaml:3: found unexpected end of stream`},
		{"unclosed list at the end",
			"expires: 90d\nsteps: [\n",
			`p.yaml:2: did not find expected node content`},
		{"bad indentation",
			"default: deny\n rules: []\n",
			`p.yaml:2: mapping values are not allowed in this context`},
		{"tab indentation",
			"rules:\n\t- images: [a]\n",
			`p.yaml:2: found character that cannot start any token`},
		{"two documents",
			"default: deny\n---\ndefault: allow\n",
			`p.yaml:2:1: a second YAML document: want one`},
		{"empty", "", `p.yaml: empty document`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c config
			_, err := yamlpos.Decode("p.yaml", []byte(tc.doc), &c)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", err, tc.want)
			}
			var pe *yamlpos.Error
			if !errors.As(err, &pe) {
				t.Errorf("not a *yamlpos.Error: %T", err)
			}
		})
	}
}

func TestAt(t *testing.T) {
	var c config
	doc, err := yamlpos.Decode("p.yaml", []byte("default: deny\nrules:\n  - images:\n      - ok\n      - \"\"\n  - images: []\n"), &c)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"rules[0].images[1]": "p.yaml:5:9: rules[0].images[1]: bad",
		"rules[1].images":    "p.yaml:6:13: rules[1].images: bad",
		"rules[1].enforce":   "p.yaml:6:5: rules[1].enforce: bad", // absent: its mapping
		"rules[7]":           "p.yaml:3:3: rules[7]: bad",         // absent: the list
		"default":            "p.yaml:1:10: default: bad",
	} {
		if got := doc.At(path, errors.New("bad")).Error(); got != want {
			t.Errorf("At(%q) = %q, want %q", path, got, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"default: deny\nrules:\n  - images: [a]\n", "rules: [{count: x}]", "a: [", "&a [*a]", "---\n---\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c config
		doc, err := yamlpos.Decode("f.yaml", data, &c)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		_ = doc.At("rules[0].images[0]", errors.New("x")).Error()
	})
}

// A stream of documents: each decoded strictly from its node, errors at
// the stream's own lines and columns (not the re-encoded node's), with
// the node's path before theirs.
func TestDecodeNodeGolden(t *testing.T) {
	stream := "default: deny\n" + // document 1
		"---\n" +
		"# a comment, so lines shift\n" +
		"rules:\n" +
		"  - {images: [a], enforce: true, count: many}\n" + // 5
		"  - images: [b]\n" +
		"    enforec: true\n" + // 7
		"---\n" +
		"items:\n" +
		"  - default: [allow]\n" + // 10
		"  - rules: [{images: [c], enforce: 7}]\n" // 11
	docs, err := yamlpos.ParseAll("s.yaml", []byte(stream))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 3 {
		t.Fatalf("%d documents", len(docs))
	}
	var c config
	if err := yamlpos.DecodeNode("s.yaml", docs[0], "", &c); err != nil || c.Default != "deny" {
		t.Fatalf("document 1: %v %+v", err, c)
	}
	want := "s.yaml:5:41: rules[0].count: want a whole number, got \"many\"\n" +
		"s.yaml:7:5: rules[1].enforec: unknown field \"enforec\""
	if err := yamlpos.DecodeNode("s.yaml", docs[1], "", &config{}); err == nil || err.Error() != want {
		t.Errorf("document 2:\n%v\nwant\n%s", err, want)
	}
	items := docs[2].Content[0].Content[1]
	for i, want := range []string{
		`s.yaml:10:14: items[0].default: want a string, got a list`,
		`s.yaml:11:36: items[1].rules[0].enforce: want true or false, got "7"`,
	} {
		err := yamlpos.DecodeNode("s.yaml", items.Content[i], fmt.Sprintf("items[%d]", i), &config{})
		if err == nil || err.Error() != want {
			t.Errorf("item %d:\n%v\nwant\n%s", i, err, want)
		}
	}
}

func TestParseAllSyntaxError(t *testing.T) {
	for _, tc := range []struct{ name, stream, want string }{
		{"in the second document", "a: 1\n---\nb: 2\nc: [1, 2\nd: 3\n", "s.yaml:5: did not find expected ',' or ']'"},
		{"bad indentation in the third", "a: 1\n---\nb: 2\n---\nc: 3\n d: 4\n", "s.yaml:6: mapping values are not allowed in this context"},
	} {
		_, err := yamlpos.ParseAll("s.yaml", []byte(tc.stream))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	if docs, err := yamlpos.ParseAll("s.yaml", []byte("---\n---\na: 1\n---\n")); err != nil || len(docs) != 1 {
		t.Errorf("empty documents: %d, %v", len(docs), err)
	}
}

func TestErrorWithoutFile(t *testing.T) {
	_, err := yamlpos.Decode("", []byte("default: deny\nrules: {}\n"), &config{})
	if err == nil || err.Error() != "line 2:8: rules: want a list, got a mapping" {
		t.Errorf("%v", err)
	}
}

// Any stream: its documents decode from their nodes without panicking,
// and every error names the file and a line of the stream.
func FuzzDecodeNode(f *testing.F) {
	for _, s := range []string{"a: 1\n---\nrules: [{count: x}]\n", "items: [{default: [x]}]", "&a {rules: [*a]}", "---\n- 1\n---\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := yamlpos.ParseAll("f.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		lines := strings.Count(string(data), "\n") + strings.Count(string(data), "\r") + 1 // YAML breaks lines at \r too
		for _, d := range docs {
			err := yamlpos.DecodeNode("f.yaml", d, "", &config{})
			for _, e := range unjoin(err) {
				var pe *yamlpos.Error
				if !errors.As(e, &pe) || pe.File != "f.yaml" || pe.Line > lines {
					t.Fatalf("misplaced error %v (%d lines)", e, lines)
				}
			}
		}
	})
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

type level string

type named struct {
	Level  level   `yaml:"level"`
	Levels []level `yaml:"levels"`
}

// A named type is worded by its kind: a string type is "a string", not
// (by its dotted name) a mapping.
func TestNamedTypeWording(t *testing.T) {
	_, err := yamlpos.Decode("n.yaml", []byte("level: [high]\nlevels: high\n"), &named{})
	want := "n.yaml:1:8: level: want a string, got a list\nn.yaml:2:9: levels: want a list, got \"high\""
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

// DecodeLoose ignores unknown fields and still places type errors.
func TestDecodeLoose(t *testing.T) {
	var c config
	if _, err := yamlpos.DecodeLoose("l.yaml", []byte("default: deny\nextra: 1\n"), &c); err != nil || c.Default != "deny" {
		t.Errorf("unknown field: %v %+v", err, c)
	}
	_, err := yamlpos.DecodeLoose("l.yaml", []byte("extra: 1\nrules: [{count: x}]\n"), &c)
	if want := `l.yaml:2:17: rules[0].count: want a whole number, got "x"`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	docs, err := yamlpos.ParseAll("l.yaml", []byte("a: 1\n---\nextra: 1\nrules: [{count: x, more: 2}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = yamlpos.DecodeNodeLoose("l.yaml", docs[1], "", &config{})
	if want := `l.yaml:4:17: rules[0].count: want a whole number, got "x"`; err == nil || err.Error() != want {
		t.Errorf("DecodeNodeLoose: got %v, want %s", err, want)
	}
}

type inner struct {
	Enforce bool `yaml:"enforce"`
}

type outer struct {
	Rules []rule `yaml:"rules"`
	Inner inner  `yaml:"inner"`
	Level level  `yaml:"level"`
}

// Several nodes of one tag on a line (flow style): the error's Go type
// tells which one it is about.
func TestPlaceByType(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"rules: [{images: [a], enforce: [x]}]\n", "t.yaml:1:32: rules[0].enforce: want true or false, got a list"},
		{"rules: [{count: 1}]\ninner: {enforce: true}\nx: {rules: [{images: [a]}], level: [b]}\n", `t.yaml:3:1: x: unknown field "x"`},
		{"{rules: [{images: [a], count: 1}], inner: {count: 2}}\n", `t.yaml:1:44: inner.count: unknown field "count"`},
		{"{rules: [{images: [a]}], level: [b]}\n", "t.yaml:1:33: level: want a string, got a list"},
	} {
		_, err := yamlpos.Decode("t.yaml", []byte(tc.doc), &outer{})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: got\n%v\nwant\n%s", tc.doc, err, tc.want)
		}
		// The same through a node of a stream.
		docs, perr := yamlpos.ParseAll("t.yaml", []byte(tc.doc))
		if perr != nil {
			t.Fatal(perr)
		}
		if err := yamlpos.DecodeNode("t.yaml", docs[0], "", &outer{}); err == nil || err.Error() != tc.want {
			t.Errorf("DecodeNode %q: got\n%v\nwant\n%s", tc.doc, err, tc.want)
		}
	}
}
