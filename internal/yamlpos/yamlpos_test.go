package yamlpos_test

import (
	"errors"
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
