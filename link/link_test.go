package link_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/internal/corpus"
	"github.com/toto-dev/toto/link"
)

func TestParseCorpusLinks(t *testing.T) {
	dir := corpus.Dir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*.link"))
	if len(files) == 0 {
		t.Skip("no corpus links")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		e, err := envelope.Parse(data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		typ, _ := e.PayloadTypeField()
		if typ != link.Type {
			continue // sublayouts are stored as .link files too
		}
		l, err := link.Parse(e.Payload())
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if filepath.Base(f) != "canonical-test.link" && !strings.HasPrefix(filepath.Base(f), l.Name+".") {
			t.Errorf("%s: link name %q does not match the file name", f, l.Name)
		}
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		l2, err := link.Parse(b)
		if err != nil {
			t.Fatalf("%s: reparse: %v", f, err)
		}
		if len(l2.Products) != len(l.Products) || len(l2.Materials) != len(l.Materials) {
			t.Errorf("%s: artifacts lost on round trip", f)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{"wrong type", `{"_type":"layout"}`, `"_type"`},
		{"missing name", `{"_type":"link","materials":{},"products":{}}`, `"name": missing`},
		{"bad hex", `{"_type":"link","name":"a","materials":{"f":{"sha256":"xyz"}},"products":{}}`, `artifact "f": sha256 digest "xyz" is not hex`},
		{"materials list", `{"_type":"link","name":"a","materials":[],"products":{}}`, `"materials"`},
		{"dup field", `{"_type":"link","name":"a","name":"b","materials":{},"products":{}}`, `"name" appears more than once`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := link.Parse([]byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func TestMarshalEmptyIsValid(t *testing.T) {
	b, err := json.Marshal(&link.Link{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"_type":"link","byproducts":{},"command":[],"environment":{},"materials":{},"name":"x","products":{}}`
	if string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"_type":"link","name":"a","command":["make"],"materials":{"f":{"sha256":"ab"}},"products":{},"byproducts":{"return-value":0},"environment":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := link.Parse(data)
		if err != nil {
			return
		}
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := link.Parse(b); err != nil {
			t.Fatalf("re-encoded link does not parse: %v\n%s", err, b)
		}
	})
}
