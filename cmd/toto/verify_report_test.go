package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The HTML report headlines the layout's digest and toto's version, and
// with --names shows keys by the names a layout source gives them.
func TestVerifyReportHeadline(t *testing.T) {
	work, data := golangDemo(t)
	// The demo's functionaries' public keys are not files of the corpus;
	// its layout owner's is, and a source may name any key.
	src := fmt.Sprintf("expires: 90d\nfunctionaries:\n  alice: %s\nsteps:\n  - name: x\n    functionaries: [alice]\n",
		filepath.Join(data, "alice.pub"))
	if err := os.WriteFile(filepath.Join(work, "names.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	lay := filepath.Join(data, "demo.layout")
	mustToto(t, work, "verify", "--layout", lay, "--layout-key", filepath.Join(data, "alice.pub"), "--links", data,
		"--report", "report.html", "--names", "names.yaml")
	page, err := os.ReadFile(filepath.Join(work, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(lay)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{fmt.Sprintf("sha256:%x", sha256.Sum256(b)), "alice (70ca5750) ✓", "verified artifacts", "foo.tar.gz", "<th>toto</th><td>" + version()} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}

	r := runToto(t, work, "verify", "--layout", lay, "--layout-key", filepath.Join(data, "alice.pub"), "--links", data,
		"--report", "report.html", "--names", "missing.yaml")
	if r.Code != 2 || !strings.Contains(r.Stderr, "--names missing.yaml") {
		t.Errorf("exit %d, stderr %s", r.Code, r.Stderr)
	}
}
