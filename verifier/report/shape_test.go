package report_test

import (
	"bytes"
	"html"
	"strings"
	"testing"

	"github.com/toto-dev/toto/verifier/report"
)

// TestOneShapeSaidOnce: every failure has the same fields in JSON and is
// said once in the text and once (its mechanics) in the HTML; a conclusion
// shared by several failures of one item is said once in the text.
func TestOneShapeSaidOnce(t *testing.T) {
	res := failingChain(t, "stray.sh")
	opts := report.Options{Layout: "root.layout"}
	rep := report.New(res, opts)
	var text, page bytes.Buffer
	if err := rep.Text(&text, opts); err != nil {
		t.Fatal(err)
	}
	if err := rep.HTML(&page); err != nil {
		t.Fatal(err)
	}
	// The HTML escapes; compare on the unescaped page.
	doc := html.UnescapeString(page.String())
	conclusions := map[string]int{}
	for _, f := range rep.Failures {
		if f.Conclusion == "" || f.Item == "" || f.Artifact == "" || f.Rule == "" || f.Kind == "" {
			t.Errorf("failure without its fields: %+v", f)
		}
		if n := strings.Count(text.String(), f.Message); n != 1 {
			t.Errorf("text says %q %d times", f.Message, n)
		}
		if n := strings.Count(doc, f.Message); n != 1 {
			t.Errorf("HTML says %q %d times", f.Message, n)
		}
		conclusions[f.Conclusion]++
	}
	if len(conclusions) != 2 {
		t.Fatalf("conclusions %v: the fixture has two (one artifact twice, one stray file)", conclusions)
	}
	for c := range conclusions {
		if n := strings.Count(text.String(), c); n != 1 {
			t.Errorf("text says conclusion %q %d times", c, n)
		}
		// Once in "What failed", once leading the item's failures.
		if n := strings.Count(doc, c); n != 2 {
			t.Errorf("HTML says conclusion %q %d times, want 2", c, n)
		}
	}
}
