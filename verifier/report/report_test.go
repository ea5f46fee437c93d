package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/verifier"
	cg "github.com/toto-dev/toto/verifier/internal/chaingen"
	"github.com/toto-dev/toto/verifier/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var (
	hSrc = strings.Repeat("5c", 32)
	hTar = strings.Repeat("7a", 32)
	hBad = strings.Repeat("ba", 32)
)

// failingChain is build → package → untar where package's functionary
// packaged something other than what build produced, and a stray file.
func failingChain(t *testing.T, name string) *verifier.Result {
	t.Helper()
	b := cg.NewBuilder()
	b.Step("build", 1, []string{"alice"}, nil,
		cg.Rules([]string{"CREATE", "foo.tar.gz"}, []string{"DISALLOW", "*"}))
	b.Step("package", 1, []string{"bob"},
		cg.Rules([]string{"MATCH", "foo.tar.gz", "WITH", "PRODUCTS", "FROM", "build"}, []string{"DISALLOW", "*"}),
		cg.Rules([]string{"MATCH", "foo.tar.gz", "WITH", "PRODUCTS", "FROM", "build"}, []string{"DISALLOW", "*"}))
	b.Inspection("untar", []string{"tar", "xzf", "foo.tar.gz"},
		cg.Rules([]string{"MATCH", "foo.tar.gz", "WITH", "PRODUCTS", "FROM", "package"}), nil)
	b.Link("build", "alice", &link.Link{Products: cg.Artifacts("foo.tar.gz", hTar), Command: []string{"make"}})
	b.Link("package", "bob", &link.Link{
		Materials: cg.Artifacts("foo.tar.gz", hBad),
		Products:  cg.Artifacts("foo.tar.gz", hBad, name, hSrc),
	})
	res, err := verifier.Verify(context.Background(), b.SignedLayout("owner"), verifier.Options{
		LayoutKeys: []*keys.Key{b.Public("owner")},
		Links:      b.Source(),
		Now:        time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", name, got)
	}
}

func TestTextAndJSONGolden(t *testing.T) {
	res := failingChain(t, "stray.sh")
	opts := report.Options{Layout: "root.layout"}
	rep := report.New(res, opts)
	var text, js bytes.Buffer
	if err := rep.Text(&text, opts); err != nil {
		t.Fatal(err)
	}
	if err := rep.JSON(&js); err != nil {
		t.Fatal(err)
	}
	golden(t, "failing.txt", text.Bytes())
	golden(t, "failing.json", js.Bytes())

	// The text names the step, the rule, the artifact and the cause.
	for _, want := range []string{
		"FAIL  supply chain did not verify: 3 failure(s)",
		"materials of step package: foo.tar.gz was DISALLOWed by rule 2 (DISALLOW *); nothing earlier consumed it; closest rule: MATCH foo.tar.gz WITH PRODUCTS FROM build — hashes differ",
		"products of step package: stray.sh was DISALLOWed",
		"SKIP  untar",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q", want)
		}
	}
	// The JSON is typed for scripts.
	var back report.Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Passed || len(back.Failures) != 3 || back.Failures[0].Type != "rule" || back.Failures[0].Item != "package" ||
		back.Failures[0].Artifact != "foo.tar.gz" || back.Failures[0].Rule != "DISALLOW *" {
		t.Errorf("json failures: %+v", back.Failures)
	}
}

func TestPassingText(t *testing.T) {
	b := cg.NewBuilder()
	b.Step("build", 1, []string{"alice"}, nil, cg.Rules([]string{"CREATE", "*"}))
	b.Link("build", "alice", &link.Link{Products: cg.Artifacts("a", hSrc)})
	res, err := verifier.Verify(context.Background(), b.SignedLayout("owner"), verifier.Options{LayoutKeys: []*keys.Key{b.Public("owner")}, Links: b.Source()})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.New(res, report.Options{}).Text(&buf, report.Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "PASS  supply chain verified\n") || !strings.Contains(buf.String(), "ok    build  (1 of 1 functionaries: ") {
		t.Errorf("text:\n%s", buf.String())
	}
}

// The HTML page is self-contained, well-formed, draws every item and the
// flows between them, and escapes hostile artifact names.
func TestHTML(t *testing.T) {
	res := failingChain(t, `<script>alert(1)</script>.sh`)
	var buf bytes.Buffer
	if err := report.New(res, report.Options{Layout: "root.layout"}).HTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if strings.Contains(page, "<script>") {
		t.Error("an artifact name was not escaped")
	}
	for _, bad := range []string{"<script", "<link", " src=", "@import", "url(http"} {
		if strings.Contains(page, bad) {
			t.Errorf("page is not self-contained: contains %q", bad)
		}
	}
	for _, want := range []string{`class="node passed step"`, `class="node failed step"`, `class="node skipped inspection"`, `class="edge fail"`, "mismatched", "<svg",
		"Would run <code>tar xzf foo.tar.gz</code>; it did not run."} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// A skipped inspection is never shown as having run.
	if strings.Contains(page, "Ran <code>tar xzf") {
		t.Error("the page says the skipped inspection ran")
	}
	// The SVG is well-formed XML.
	svg := regexp.MustCompile(`(?s)<svg.*?</svg>`).FindString(page)
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := dec.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("SVG is not well-formed: %v", err)
			}
			break
		}
	}
	if testing.Verbose() {
		_ = os.WriteFile(filepath.Join(t.TempDir(), "report.html"), buf.Bytes(), 0o644)
	}
}

// A chain with 100,000 artifacts still gives a short report.
func TestReportCapsLists(t *testing.T) {
	b := cg.NewBuilder()
	b.Step("build", 1, []string{"alice"}, nil, cg.Rules([]string{"DISALLOW", "*"}))
	a := link.Artifacts{}
	for i := 0; i < 5000; i++ {
		a[strings.Repeat("d/", 3)+string(rune('a'+i%26))+strings.Repeat("x", i%7)+"-"+strconv.Itoa(i)] = link.DigestSet{"sha256": hSrc}
	}
	b.Link("build", "alice", &link.Link{Products: a})
	res, err := verifier.Verify(context.Background(), b.SignedLayout("owner"), verifier.Options{LayoutKeys: []*keys.Key{b.Public("owner")}, Links: b.Source()})
	if err != nil {
		t.Fatal(err)
	}
	var text, js bytes.Buffer
	rep := report.New(res, report.Options{})
	if err := rep.Text(&text, report.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := rep.JSON(&js); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(text.String(), "\n"); n > 60 || !strings.Contains(text.String(), "… and 4980 more") {
		t.Errorf("text has %d lines", n)
	}
	if len(rep.Failures) != 5000 {
		t.Errorf("JSON must keep every failure, has %d", len(rep.Failures))
	}
}
