package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestVersionFlag(t *testing.T) {
	r := mustToto(t, t.TempDir(), "--version")
	if !strings.HasPrefix(r.Stdout, "toto version ") || strings.TrimSpace(strings.TrimPrefix(r.Stdout, "toto version ")) == "" {
		t.Errorf("--version printed %q", r.Stdout)
	}
}

// toto version says what the binary is, also when it was built with
// -buildvcs=false: then the version stamped at link time (make build does)
// is what it has.
func TestVersionCommand(t *testing.T) {
	r := mustToto(t, t.TempDir(), "version", "--json")
	var info map[string]string
	if err := json.Unmarshal([]byte(r.Stdout), &info); err != nil {
		t.Fatalf("%v\n%s", err, r.Stdout)
	}
	if info["version"] == "" || info["go"] == "" || info["module"] != "github.com/toto-dev/toto" {
		t.Errorf("version --json: %v", info)
	}

	bin := filepath.Join(t.TempDir(), "toto")
	build := exec.Command("go", "build", "-buildvcs=false", "-ldflags", "-X main.buildVersion=v9.9.9-test", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "toto v9.9.9-test\n") {
		t.Errorf("toto version of a -buildvcs=false build: %v %q", err, out)
	}
}

// The man pages come from the command tree: one per command, with the
// same description as --help.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	mustToto(t, dir, "man", "--dir", "pages")
	page, err := os.ReadFile(filepath.Join(dir, "pages", "toto-verify.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".TH \"TOTO\" \"1\"", "toto-verify - Verify a supply chain against its signed layout", "--layout-key KEY"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("toto-verify.1 lacks %q", want)
		}
	}
	for _, name := range []string{"toto.1", "toto-image-sign.1", "toto-key-generate.1", "toto-layout-create.1"} {
		if _, err := os.Stat(filepath.Join(dir, "pages", name)); err != nil {
			t.Errorf("no page %s: %v", name, err)
		}
	}
}
