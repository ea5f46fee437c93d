package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
)

// runDir makes a working directory with a key pair "k"/"k.pub" and a
// source file, and returns it with the key.
func runDir(t *testing.T) (string, *keys.Key) {
	t.Helper()
	dir := t.TempDir()
	mustToto(t, dir, "key", "generate", "-o", "k")
	k, err := keys.Load(filepath.Join(dir, "k.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "src"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "src", "a.c"), []byte("int a;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, k
}

// readLink loads and verifies a link file written by toto.
func readLink(t *testing.T, path string, k *keys.Key) (*envelope.Envelope, []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env, err := envelope.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Verify(k); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return env, env.Payload()
}

func linkFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*.link"))
	tmp, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	return append(m, tmp...)
}

func TestRunWritesSignedLink(t *testing.T) {
	dir, k := runDir(t)
	r := mustToto(t, dir, "run", "--step", "build", "--key", "k", "-m", "src", "-p", "out",
		"--", "sh", "-c", "mkdir -p out && cp src/a.c out/a.o && echo compiled && echo careful >&2")
	if !strings.Contains(r.Stdout, "compiled") || !strings.Contains(r.Stderr, "careful") {
		t.Errorf("command output not shown: stdout %q stderr %q", r.Stdout, r.Stderr)
	}
	_, payload := readLink(t, filepath.Join(dir, "build."+k.ID()[:8]+".link"), k)
	l, err := link.Parse(payload)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l.Materials["src/a.c"]; !ok || len(l.Materials) != 1 {
		t.Errorf("materials %v", l.Materials.Paths())
	}
	if !l.Products["out/a.o"].Equal(l.Materials["src/a.c"]) {
		t.Errorf("products %v", l.Products)
	}
	if l.ByProducts["stdout"] != "compiled\n" || l.ByProducts["stderr"] != "careful\n" {
		t.Errorf("byproducts %v", l.ByProducts)
	}
	if len(l.Command) != 3 || l.Command[0] != "sh" {
		t.Errorf("command %q", l.Command)
	}
}

func TestRunExitCodes(t *testing.T) {
	dir, k := runDir(t)
	name := func(step string) string { return filepath.Join(dir, step+"."+k.ID()[:8]+".link") }

	r := runToto(t, dir, "run", "-n", "fails", "-k", "k", "-m", "src", "--", "sh", "-c", "exit 7")
	if r.Code != 7 {
		t.Errorf("failing command: exit %d, want 7 (stderr %q)", r.Code, r.Stderr)
	}
	_, payload := readLink(t, name("fails"), k)
	if l, _ := link.Parse(payload); l == nil || l.ByProducts["return-value"].(json.Number).String() != "7" {
		t.Errorf("failed command's link does not record status 7: %s", payload)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"timeout", []string{"--timeout", "200ms", "--", "sleep", "10"}, 124, "timed out after 200ms"},
		{"not found", []string{"--", "toto-no-such-command"}, 127, "toto-no-such-command"},
		{"public key", []string{"-m", "src", "--", "true"}, 2, "public key"},
		{"missing material", []string{"-m", "nope", "--", "true"}, 2, `"nope"`},
		{"python-style paths", []string{"-m", "src", "other", "--", "true"}, 2, "own -m/-p flag"},
		{"no dash", []string{"true"}, 2, `after "--"`},
		{"bad exclude", []string{"-e", "[x", "--", "true"}, 2, `"[x"`},
		{"both formats", []string{"--dsse", "--attest", "--", "true"}, 2, "exclusive"},
		{"attest without products", []string{"--attest", "-m", "src", "--", "true"}, 2, "product"},
		{"bad symlink policy", []string{"--symlinks", "maybe", "--", "true"}, 2, "maybe"},
		{"missing output dir", []string{"-d", "no/such/dir", "--", "true"}, 2, "no/such/dir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "k"
			if tc.name == "public key" {
				key = "k.pub"
			}
			args := append([]string{"run", "-n", "s-" + strings.ReplaceAll(tc.name, " ", "-"), "-k", key}, tc.args...)
			r := runToto(t, dir, args...)
			if r.Code != tc.code || !strings.Contains(r.Stderr, tc.msg) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", r.Code, tc.code, r.Stderr, tc.msg)
			}
			if _, err := os.Stat(name("s-" + strings.ReplaceAll(tc.name, " ", "-"))); err == nil {
				t.Error("a link was written")
			}
		})
	}
	// Only the failing command's link exists, and no temp files.
	if files := linkFiles(t, dir); len(files) != 1 {
		t.Errorf("files left: %v", files)
	}
}

func TestRunFormatsAndJSON(t *testing.T) {
	dir, k := runDir(t)
	for _, tc := range []struct {
		flag    string
		format  envelope.Format
		payload string
	}{
		{"", envelope.Metablock, "link"},
		{"--dsse", envelope.DSSE, "link"},
		{"--attest", envelope.DSSE, "https://in-toto.io/Statement/v1"},
	} {
		args := []string{"run", "-n", "f" + strings.TrimLeft(tc.flag, "-"), "-k", "k", "-m", "src", "-p", "src", "--json", "-d", "."}
		if tc.flag != "" {
			args = append(args, tc.flag)
		}
		args = append(args, "--", "echo", "hello")
		r := mustToto(t, dir, args...)
		var s struct {
			Link      string `json:"link"`
			Format    string `json:"format"`
			KeyID     string `json:"keyid"`
			ExitCode  *int   `json:"exitCode"`
			Materials struct{ Files, Bytes int64 }
		}
		if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
			t.Fatalf("%s: stdout is not only the JSON summary: %v\n%s", tc.flag, err, r.Stdout)
		}
		if !strings.Contains(r.Stderr, "hello") {
			t.Errorf("%s: with --json the command's stdout should go to stderr: %q", tc.flag, r.Stderr)
		}
		if s.KeyID != k.ID() || s.ExitCode == nil || *s.ExitCode != 0 || s.Materials.Files != 1 || s.Materials.Bytes != 7 {
			t.Errorf("%s: summary %+v", tc.flag, s)
		}
		env, _ := readLink(t, filepath.Join(dir, s.Link), k)
		typ, _ := env.PayloadTypeField()
		if env.Format != tc.format || typ != tc.payload {
			t.Errorf("%s: wrote %v with %q", tc.flag, env.Format, typ)
		}
	}
}

func TestRunNoCommandAndPythonFlagNames(t *testing.T) {
	dir, k := runDir(t)
	mustToto(t, dir, "run", "--step-name", "review", "--signing-key", "k", "-m", "src", "-q")
	_, payload := readLink(t, filepath.Join(dir, "review."+k.ID()[:8]+".link"), k)
	l, err := link.Parse(payload)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Command) != 0 || len(l.ByProducts) != 0 || len(l.Materials) != 1 {
		t.Errorf("sign-off link: %s", payload)
	}
}

func TestRecordStartStop(t *testing.T) {
	dir, k := runDir(t)
	mustToto(t, dir, "record", "start", "-n", "edit", "-k", "k", "-m", "src", "--record-env")
	unfinished := filepath.Join(dir, ".edit."+k.ID()[:8]+".link-unfinished")
	if _, err := os.Stat(unfinished); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "src", "a.c"), []byte("int a = 1;\n"), 0o644)
	r := mustToto(t, dir, "record", "stop", "-n", "edit", "-k", "k", "-p", "src", "--json")
	var s struct{ Link string }
	if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
		t.Fatal(err)
	}
	_, payload := readLink(t, filepath.Join(dir, s.Link), k)
	l, err := link.Parse(payload)
	if err != nil {
		t.Fatal(err)
	}
	if l.Materials["src/a.c"].Equal(l.Products["src/a.c"]) || l.Environment["workdir"] == nil {
		t.Errorf("link does not show the edit: %s", payload)
	}
	if _, err := os.Stat(unfinished); !os.IsNotExist(err) {
		t.Error("preliminary link not removed")
	}
	r = runToto(t, dir, "record", "stop", "-n", "edit", "-k", "k", "-p", "src")
	if r.Code != 2 || !strings.Contains(r.Stderr, "record start") {
		t.Errorf("stop without start: exit %d, %q", r.Code, r.Stderr)
	}
}
