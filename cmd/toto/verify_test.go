package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/internal/corpus"
)

// golangDemo copies in-toto-golang's demo product into a fresh working
// directory and returns it with the corpus data folder.
func golangDemo(t *testing.T) (work, data string) {
	t.Helper()
	data = corpus.Path(t, "in-toto-golang", "data")
	work = t.TempDir()
	b, err := os.ReadFile(filepath.Join(data, "foo.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "foo.tar.gz"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return work, data
}

func TestVerifyCorpusDemo(t *testing.T) {
	work, data := golangDemo(t)
	args := []string{"verify", "--layout", filepath.Join(data, "demo.layout"), "--layout-key", filepath.Join(data, "alice.pub"), "--links", data}

	r := mustToto(t, work, append(args, "--report", "report.html", "--inspection-links", "insp")...)
	if !strings.HasPrefix(r.Stdout, "PASS  supply chain verified") {
		t.Errorf("stdout:\n%s", r.Stdout)
	}
	page, err := os.ReadFile(filepath.Join(work, "report.html"))
	if err != nil || !strings.Contains(string(page), "<svg") {
		t.Errorf("report.html: %v", err)
	}
	// What the inspection recorded is kept on request.
	if b, err := os.ReadFile(filepath.Join(work, "insp", "untar.link")); err != nil || !strings.Contains(string(b), `"foo.py"`) {
		t.Errorf("inspection link: %v %s", err, b)
	}
	// The inspection ran in a copy: the working directory is unchanged.
	if _, err := os.Stat(filepath.Join(work, "foo.py")); !os.IsNotExist(err) {
		t.Errorf("the untar inspection wrote into the working directory")
	}

	// A tampered product: exit 1, and the report says where and why.
	if err := os.WriteFile(filepath.Join(work, "foo.tar.gz"), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runToto(t, work, append(args, "--json")...)
	if r.Code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	var rep struct {
		Passed   bool
		Failures []struct{ Type, Item, Artifact, Message string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.Stdout)
	}
	found := false
	for _, f := range rep.Failures {
		if f.Type == "rule" && f.Item == "untar" && f.Artifact == "foo.tar.gz" && strings.Contains(f.Message, "hashes differ") {
			found = true
		}
	}
	if rep.Passed || !found {
		t.Errorf("failures: %+v", rep.Failures)
	}
	if !strings.Contains(r.Stderr, "verification failed") {
		t.Errorf("stderr: %s", r.Stderr)
	}
}

func TestVerifyFailuresAndUsageErrors(t *testing.T) {
	work, data := golangDemo(t)
	layout := filepath.Join(data, "demo.layout")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"wrong layout key", []string{"--layout", layout, "--layout-key", filepath.Join(data, "carol.pub"), "--links", data}, 1,
			"root layout: not signed by layout key"},
		{"unsigned layout", []string{"--layout", filepath.Join(data, "super.layout"), "--layout-key", filepath.Join(data, "alice.pub"), "--links", data}, 1,
			"no signature by this key"},
		{"no links", []string{"--layout", layout, "--layout-key", filepath.Join(data, "alice.pub"), "--links", work}, 1,
			"step write-code: needs links from 1 distinct authorised functionaries, found 0"},
		{"no layout key", []string{"--layout", layout, "--links", data}, 2, "at least one --layout-key"},
		{"missing layout", []string{"--layout", "nope.layout", "--layout-key", filepath.Join(data, "alice.pub")}, 2, "nope.layout"},
		{"missing links folder", []string{"--layout", layout, "--layout-key", filepath.Join(data, "alice.pub"), "--links", "nope"}, 2, "links folder"},
		{"a link as layout", []string{"--layout", filepath.Join(data, "package.d3ffd108.link"), "--layout-key", filepath.Join(data, "alice.pub"), "--links", data}, 2, "not a layout"},
		{"bad param", []string{"--layout", layout, "--layout-key", filepath.Join(data, "alice.pub"), "--links", data, "--param", "novalue"}, 2, "NAME=VALUE"},
		{"stray argument", []string{"--layout", layout, "--layout-key", filepath.Join(data, "alice.pub"), "extra"}, 2, "unknown command"},
		{"misspelt layout key", []string{"--layout", layout, "--layout-key", "keys/alise.pub", "--links", data}, 2, "toto: --layout-key keys/alise.pub: no such file"},
		{"private key as layout key", []string{"--layout", layout, "--layout-key", filepath.Join(data, "alice"), "--links", data}, 0,
			"warnings\n  --layout-key " + filepath.Join(data, "alice") + " is a private key; only its public half is used. Give the owner's public key (" + filepath.Join(data, "alice.pub") + ")"},
		{"in-toto-verify's -d for the links", []string{"--layout", layout, "--layout-key", filepath.Join(data, "alice.pub"), "-d", data}, 0, "PASS  supply chain verified"},
		{"in-toto-verify's --link-dir", []string{"--layout", layout, "--layout-key", filepath.Join(data, "alice.pub"), "--link-dir", data}, 0, "PASS  supply chain verified"},
		{"unused parameter", []string{"--layout", layout, "--layout-key", filepath.Join(data, "alice.pub"), "--links", data, "--param", "VERSOIN=1"}, 0,
			"parameter VERSOIN is not used by the layout (a misspelt name?)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runToto(t, work, append([]string{"verify"}, tc.args...)...)
			if r.Code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.Code, tc.code, r.Stdout, r.Stderr)
			}
			if !strings.Contains(r.Stdout+r.Stderr, tc.want) {
				t.Errorf("output lacks %q:\nstdout: %s\nstderr: %s", tc.want, r.Stdout, r.Stderr)
			}
		})
	}
}

// With --json, an input error (exit 2) is also JSON on stdout, so a script
// parsing stdout never gets nothing.
func TestJSONErrorOnUsageError(t *testing.T) {
	_, data := golangDemo(t)
	r := runToto(t, t.TempDir(), "verify", "--json", "--layout", filepath.Join(data, "demo.layout"), "--layout-key", "keys/alise.pub")
	if r.Code != 2 {
		t.Fatalf("exit %d, want 2", r.Code)
	}
	var out struct {
		Error struct {
			Code    int
			Message string
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.Stdout)
	}
	if out.Error.Code != 2 || out.Error.Message != "--layout-key keys/alise.pub: no such file" {
		t.Errorf("error %+v", out.Error)
	}
	// Without --json, stdout stays empty.
	if r := runToto(t, t.TempDir(), "verify", "--layout", filepath.Join(data, "demo.layout"), "--layout-key", "keys/alise.pub"); r.Stdout != "" {
		t.Errorf("stdout without --json: %q", r.Stdout)
	}
}

// Every warning and failure is said once, in the one report: the flag
// warnings join the verification's own in text, JSON and HTML (not a
// separate line on stderr), and a failed verification's verdict is the
// report's first line, not repeated on stderr (with --json, stderr has it:
// stdout is for the program).
func TestVerifySaysThingsOnce(t *testing.T) {
	work, data := golangDemo(t)
	args := []string{"verify", "--layout", filepath.Join(data, "demo.layout"), "--layout-key", filepath.Join(data, "alice"), "--links", data, "--param", "NOPE=1"}
	r := mustToto(t, work, append(args, "--report", "r.html")...)
	if r.Stderr != "" {
		t.Errorf("stderr: %q", r.Stderr)
	}
	if n := strings.Count(r.Stdout, "is a private key"); n != 1 {
		t.Errorf("stdout says the private-key warning %d times:\n%s", n, r.Stdout)
	}
	page, err := os.ReadFile(filepath.Join(work, "r.html"))
	if err != nil || strings.Count(string(page), "is a private key") != 1 || strings.Count(string(page), "parameter NOPE is not used") != 1 {
		t.Errorf("HTML warnings: %v", err)
	}
	r = mustToto(t, work, append(args, "--json")...)
	var rep struct {
		Warnings []struct{ Item, Message string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) != 2 || !strings.Contains(rep.Warnings[0].Message, "--layout-key") || !strings.Contains(rep.Warnings[1].Message, "NOPE") || r.Stderr != "" {
		t.Errorf("JSON warnings %+v, stderr %q", rep.Warnings, r.Stderr)
	}

	if err := os.WriteFile(filepath.Join(work, "foo.tar.gz"), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runToto(t, work, args...)
	if r.Code != 1 || r.Stderr != "" || !strings.HasPrefix(r.Stdout, "FAIL  supply chain did not verify: 1 failure(s)") {
		t.Errorf("failed text: exit %d, stderr %q\n%s", r.Code, r.Stderr, r.Stdout)
	}
	if !strings.Contains(r.Stdout, "foo.tar.gz is not what step package produced: sha256 ") {
		t.Errorf("the failure does not lead with its conclusion:\n%s", r.Stdout)
	}
}
