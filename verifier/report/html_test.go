package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/verifier"
	cg "github.com/toto-dev/toto/verifier/internal/chaingen"
	"github.com/toto-dev/toto/verifier/report"
)

// chromium finds a headless Chromium: $TOTO_CHROMIUM, then Debian's
// chromium (installed by `make deps`), then other common names. Without
// one the test skips, except in CI (CI set), where `make test` has
// installed it and the test must run.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TOTO_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "/usr/bin/chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium found, and CI is set: `make deps` installs Debian's chromium (apt-get install chromium)")
	}
	t.Skip("no chromium found (run `make deps`, or apt-get install chromium, or set TOTO_CHROMIUM): the HTML layout is not checked in a browser")
	return ""
}

func chromiumArgs(t *testing.T) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--hide-scrollbars", "--window-size=1280,900", "--user-data-dir=" + t.TempDir()}
}

// measure is a test-only script, appended to a copy of the page (the
// report itself has none): it writes the boxes of the elements whose
// layout matters into the DOM that --dump-dom prints.
const measure = `<script>
(function(){
function box(e){var r=e.getBoundingClientRect();return [r.left+scrollX,r.top+scrollY,r.width,r.height];}
var out={vw:innerWidth,sw:document.documentElement.scrollWidth,svg:[],nodes:[],labels:[],concl:[],details:[],digests:[]};
document.querySelectorAll('.chain svg').forEach(function(s){out.svg.push({box:box(s),vbw:s.viewBox.baseVal.width});});
document.querySelectorAll('g.node').forEach(function(g){out.nodes.push({name:g.querySelector('text.name').textContent,rect:box(g.querySelector('rect')),texts:[].map.call(g.querySelectorAll('text'),box)});});
document.querySelectorAll('g.edge text').forEach(function(t){out.labels.push(box(t));});
document.querySelectorAll('#failures .concl').forEach(function(e){out.concl.push({box:box(e),text:e.textContent});});
document.querySelectorAll('details').forEach(function(e){out.details.push(box(e));});
document.querySelectorAll('#artifacts code.digest').forEach(function(e){out.digests.push({box:box(e),text:e.textContent});});
var p=document.createElement('pre');p.id='layout-facts';p.textContent=JSON.stringify(out);document.body.appendChild(p);
})();
</script>`

type facts struct {
	VW, SW int
	SVG    []struct {
		Box []float64
		VBW float64
	}
	Nodes []struct {
		Name  string
		Rect  []float64
		Texts [][]float64
	}
	Labels [][]float64
	Concl  []struct {
		Box  []float64
		Text string
	}
	Details [][]float64
	Digests []struct {
		Box  []float64
		Text string
	}
}

// render lays the page out in headless Chromium and returns the boxes the
// measuring script found. With TOTO_REPORT_SCREENSHOTS=DIR it also saves
// the page (without the script) as DIR/name.html and DIR/name.png, to
// look at.
func render(t *testing.T, name string, page []byte) facts {
	t.Helper()
	bin := chromium(t)
	dir := t.TempDir()
	harness := filepath.Join(dir, name+".html")
	withScript := bytes.Replace(page, []byte("</body>"), []byte(measure+"\n</body>"), 1)
	if err := os.WriteFile(harness, withScript, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append(chromiumArgs(t), "--dump-dom", "file://"+harness)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s --dump-dom: %v\n%s", bin, err, stderr.String())
	}
	const open = `<pre id="layout-facts">`
	i := bytes.Index(out, []byte(open))
	if i < 0 {
		t.Fatalf("the measuring script did not run; chromium printed:\n%.2000s\n%s", out, stderr.String())
	}
	rest := out[i+len(open):]
	rest = rest[:bytes.Index(rest, []byte("</pre>"))]
	var f facts
	if err := json.Unmarshal([]byte(html.UnescapeString(string(rest))), &f); err != nil {
		t.Fatal(err)
	}
	if shots := os.Getenv("TOTO_REPORT_SCREENSHOTS"); shots != "" {
		plain := filepath.Join(shots, name+".html")
		if err := os.WriteFile(plain, page, 0o644); err != nil {
			t.Fatal(err)
		}
		png, _ := filepath.Abs(filepath.Join(shots, name+".png"))
		abs, _ := filepath.Abs(plain)
		cmd := exec.CommandContext(ctx, bin, append(chromiumArgs(t), "--screenshot="+png, "file://"+abs)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("screenshot: %v\n%s", err, out)
		}
	}
	return f
}

type box struct{ x, y, w, h float64 }

func toBox(b []float64) box { return box{b[0], b[1], b[2], b[3]} }

func (a box) overlaps(b box) bool {
	return a.x < b.x+b.w && b.x < a.x+a.w && a.y < b.y+b.h && b.y < a.y+a.h
}

func (a box) contains(b box) bool {
	const tol = 1
	return b.x >= a.x-tol && b.y >= a.y-tol && b.x+b.w <= a.x+a.w+tol && b.y+b.h <= a.y+a.h+tol
}

func (a box) String() string { return fmt.Sprintf("[%.0f,%.0f %.0fx%.0f]", a.x, a.y, a.w, a.h) }

// checkChain asserts what makes the drawing readable: it is drawn at its
// natural size (not shrunk) and fits the window, every line of text is
// inside its box, no two boxes overlap, and no edge label overlaps a box
// or another label.
func checkChain(t *testing.T, f facts, wantNodes int) {
	t.Helper()
	if len(f.SVG) != 1 {
		t.Fatalf("%d chain drawings", len(f.SVG))
	}
	svg := f.SVG[0]
	if w := svg.Box[2]; w < svg.VBW-1 || w > svg.VBW+3 {
		t.Errorf("the chain is drawn %.0fpx wide for a %.0fpx drawing: scaled", w, svg.VBW)
	}
	if f.SW > f.VW {
		t.Errorf("the page is %dpx wide in a %dpx window: it scrolls sideways", f.SW, f.VW)
	}
	if len(f.Nodes) != wantNodes {
		t.Fatalf("%d boxes, want %d", len(f.Nodes), wantNodes)
	}
	for i, n := range f.Nodes {
		r := toBox(n.Rect)
		for j, tb := range n.Texts {
			if !r.contains(toBox(tb)) {
				t.Errorf("box %s: line %d %s sticks out of its box %s", n.Name, j+1, toBox(tb), r)
			}
		}
		for _, m := range f.Nodes[i+1:] {
			if r.overlaps(toBox(m.Rect)) {
				t.Errorf("boxes %s %s and %s %s overlap", n.Name, r, m.Name, toBox(m.Rect))
			}
		}
		for _, l := range f.Labels {
			if lb := toBox(l); lb.overlaps(r) {
				t.Errorf("an edge label %s overlaps box %s %s", lb, n.Name, r)
			}
		}
	}
	for i, l := range f.Labels {
		for _, m := range f.Labels[i+1:] {
			if toBox(l).overlaps(toBox(m)) {
				t.Errorf("edge labels %s and %s overlap", toBox(l), toBox(m))
			}
		}
	}
}

func htmlPage(t *testing.T, rep *report.Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := rep.HTML(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestHTMLInChromiumPassing(t *testing.T) {
	b := cg.NewBuilder()
	b.Step("build", 1, []string{"alice"}, nil, cg.Rules([]string{"CREATE", "*"}))
	b.Step("package", 1, []string{"bob"},
		cg.Rules([]string{"MATCH", "*", "WITH", "PRODUCTS", "FROM", "build"}, []string{"DISALLOW", "*"}),
		cg.Rules([]string{"CREATE", "demo-project.tar.gz"}, []string{"DISALLOW", "*"}))
	b.Link("build", "alice", &link.Link{Products: cg.Artifacts("demo.py", hSrc)})
	b.Link("package", "bob", &link.Link{Materials: cg.Artifacts("demo.py", hSrc), Products: cg.Artifacts("demo-project.tar.gz", hTar)})
	res, err := verifier.Verify(context.Background(), b.SignedLayout("owner"), verifier.Options{LayoutKeys: []*keys.Key{b.Public("owner")}, Links: b.Source()})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Passed() {
		t.Fatal(res.Err())
	}
	names := map[string]string{b.Public("alice").ID(): "alice", b.Public("bob").ID(): "bob", b.Public("owner").ID(): "owner"}
	layoutDigest := "sha256:" + strings.Repeat("0e", 32)
	page := htmlPage(t, report.New(res, report.Options{Layout: "root.layout", LayoutDigest: layoutDigest, Version: "v9.9.9-test", Names: names}))
	// The headline: the final artifact with its full digest, the layout's
	// digest, the signers by name, toto's version.
	for _, want := range []string{"verified artifacts", "demo-project.tar.gz", "sha256:" + hTar, layoutDigest,
		"owner (" + keys.ShortID(b.Public("owner").ID()), "alice (", "bob (", "v9.9.9-test"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("page lacks %q", want)
		}
	}
	f := render(t, "passing", page)
	checkChain(t, f, 2)
	if len(f.Digests) != 1 || f.Digests[0].Text != "sha256:"+hTar {
		t.Fatalf("headline digests: %+v", f.Digests)
	}
	if d := toBox(f.Digests[0].Box); d.x+d.w > float64(f.VW) || d.y > 400 {
		t.Errorf("the artifact's digest %s is not in the first screen", d)
	}
}

func TestHTMLInChromiumFailing(t *testing.T) {
	res := failingChain(t, "stray.sh")
	page := htmlPage(t, report.New(res, report.Options{Layout: "root.layout"}))
	f := render(t, "failing", page)
	checkChain(t, f, 3)
	// Each failure leads with its conclusion in plain words, before the
	// steps' rule mechanics, on the first screen; the two failures of
	// package about foo.tar.gz (materials and products) read as one.
	if len(f.Concl) != 2 {
		t.Fatalf("conclusions: %+v", f.Concl)
	}
	want := "foo.tar.gz is not what step build produced: sha256 baba… here, 7a7a… in build's link. (2 failures)"
	if f.Concl[0].Text != want {
		t.Errorf("first conclusion %q, want %q", f.Concl[0].Text, want)
	}
	if want := "Step package produced stray.sh, which the layout does not expect."; f.Concl[1].Text != want {
		t.Errorf("second conclusion %q, want %q", f.Concl[1].Text, want)
	}
	c := toBox(f.Concl[0].Box)
	if c.y > 900 || len(f.Details) == 0 || c.y > toBox(f.Details[0]).y {
		t.Errorf("the first conclusion %s is not on the first screen above the steps", c)
	}
}

// twelveSteps is a 12-step chain with long and short names, one step
// taking from two earlier ones (an edge that skips levels and bands).
func twelveSteps(t *testing.T) *verifier.Result {
	t.Helper()
	names := []string{"fetch", "verify-upstream-signatures-of-tarballs", "unpack", "configure", "compile-c-sources", "compile-go",
		"link", "unit-tests", "integration-tests-against-staging-database", "sbom", "package", "sign-release"}
	b := cg.NewBuilder()
	for i, n := range names {
		var mats [][]string
		if i > 0 {
			mats = append(mats, []string{"MATCH", names[i-1] + ".out", "WITH", "PRODUCTS", "FROM", names[i-1]})
		}
		if i == 6 {
			mats = append(mats, []string{"MATCH", names[2] + ".out", "WITH", "PRODUCTS", "FROM", names[2]})
		}
		mats = append(mats, []string{"DISALLOW", "*"})
		b.Step(n, 1, []string{"alice"}, cg.Rules(mats...), cg.Rules([]string{"CREATE", n + ".out"}, []string{"DISALLOW", "*"}))
		l := &link.Link{Products: cg.Artifacts(n+".out", hTar)}
		if i > 0 {
			l.Materials = cg.Artifacts(names[i-1]+".out", hTar)
		}
		if i == 6 {
			l.Materials[names[2]+".out"] = link.DigestSet{"sha256": hTar}
		}
		b.Link(n, "alice", l)
	}
	res, err := verifier.Verify(context.Background(), b.SignedLayout("owner"), verifier.Options{LayoutKeys: []*keys.Key{b.Public("owner")}, Links: b.Source()})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Passed() {
		t.Fatal(res.Err())
	}
	return res
}

func TestHTMLInChromiumTwelveSteps(t *testing.T) {
	res := twelveSteps(t)
	page := htmlPage(t, report.New(res, report.Options{Layout: "root.layout"}))
	f := render(t, "twelve", page)
	checkChain(t, f, 12)
	// The chain wraps: its boxes sit in more than one band.
	tops := map[float64]bool{}
	for _, n := range f.Nodes {
		tops[n.Rect[1]] = true
	}
	if len(tops) < 2 {
		t.Errorf("the 12-step chain does not wrap (box tops: %v)", tops)
	}
}
