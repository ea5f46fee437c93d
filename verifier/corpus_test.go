package verifier_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/internal/corpus"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/verifier"
)

func loadEnvelope(t testing.TB, path string) *envelope.Envelope {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := envelope.Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return e
}

func loadKey(t testing.TB, path string) *keys.Key {
	t.Helper()
	k, err := keys.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func openDir(t testing.TB, path string) *verifier.DirSource {
	t.Helper()
	d, err := verifier.OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// workdirWith makes a temporary working directory for inspections holding
// copies of the given files (with their base names).
func workdirWith(t testing.TB, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mustVerify(t testing.TB, layoutEnv *envelope.Envelope, opts verifier.Options) *verifier.Result {
	t.Helper()
	res, err := verifier.Verify(context.Background(), layoutEnv, opts)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return res
}

func requirePass(t testing.TB, res *verifier.Result) {
	t.Helper()
	if !res.Passed() {
		t.Fatalf("verification failed:\n%v", res.Err())
	}
}

// The in-toto-golang demo: demo.layout signed by alice, two RSA-signed
// links, an inspection that untars foo.tar.gz. in-toto-golang v0.11 passes
// it (see SOURCES.md).
func TestCorpusGolangDemoPasses(t *testing.T) {
	data := corpus.Path(t, "in-toto-golang", "data")
	work := workdirWith(t, filepath.Join(data, "foo.tar.gz"))
	res := mustVerify(t, loadEnvelope(t, filepath.Join(data, "demo.layout")), verifier.Options{
		LayoutKeys:  []*keys.Key{loadKey(t, filepath.Join(data, "alice.pub"))},
		Links:       openDir(t, data),
		Inspections: &verifier.SandboxRunner{Dir: work},
	})
	requirePass(t, res)
	untar := res.Step("untar")
	if untar == nil || untar.Status != verifier.StatusPassed || untar.Link == nil {
		t.Fatalf("inspection untar: %+v", untar)
	}
	// The inspection ran in a copy: it saw foo.py appear, the user's
	// directory did not.
	if _, ok := untar.Link.Products["foo.py"]; !ok {
		t.Errorf("inspection products %v lack foo.py", untar.Link.Products.Paths())
	}
	if _, err := os.Stat(filepath.Join(work, "foo.py")); !os.IsNotExist(err) {
		t.Errorf("the inspection modified the working directory (foo.py: %v)", err)
	}
	if got := res.Step("package").Signers; len(got) != 1 || !strings.HasPrefix(got[0], "d3ffd108") {
		t.Errorf("package signers %v", got)
	}
}

func TestCorpusGolangDemoTamperedProductFails(t *testing.T) {
	data := corpus.Path(t, "in-toto-golang", "data")
	work := t.TempDir()
	tampered, err := os.ReadFile(filepath.Join(data, "foo.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	tampered = append(tampered, 0) // a different digest, whatever tar makes of it
	if err := os.WriteFile(filepath.Join(work, "foo.tar.gz"), tampered, 0o644); err != nil {
		t.Fatal(err)
	}
	res := mustVerify(t, loadEnvelope(t, filepath.Join(data, "demo.layout")), verifier.Options{
		LayoutKeys:  []*keys.Key{loadKey(t, filepath.Join(data, "alice.pub"))},
		Links:       openDir(t, data),
		Inspections: &verifier.SandboxRunner{Dir: work},
	})
	if res.Passed() {
		t.Fatal("a tampered foo.tar.gz passed")
	}
	var rf *verifier.RuleFailure
	if !errors.As(res.Err(), &rf) {
		t.Fatalf("want a *RuleFailure, got %v", res.Err())
	}
	if rf.Item != "untar" || !rf.Inspection || rf.Artifact != "foo.tar.gz" || rf.Kind != verifier.MaterialsQueue {
		t.Errorf("failure %+v", rf)
	}
	for _, want := range []string{"materials of inspection untar: foo.tar.gz was DISALLOWed", "closest rule: MATCH foo.tar.gz WITH PRODUCTS FROM package — hashes differ"} {
		if !strings.Contains(rf.Error(), want) {
			t.Errorf("message %q lacks %q", rf.Error(), want)
		}
	}
}

// The Python reference's own test: sign the demo template with alice's RSA
// key (with toto), verify with her public key, bob's and carl's links, in
// either envelope.
func TestCorpusPythonDemo(t *testing.T) {
	demo := corpus.Path(t, "python-in-toto", "demo_files")
	alice := loadKey(t, filepath.Join(demo, "alice"))
	for _, linkDir := range []string{"demo_files", "demo_dsse_files"} {
		t.Run(linkDir, func(t *testing.T) {
			dir := corpus.Path(t, "python-in-toto", linkDir)
			env := signTemplate(t, filepath.Join(dir, "demo.layout.template"), alice)
			opts := verifier.Options{
				LayoutKeys:  []*keys.Key{loadKey(t, filepath.Join(demo, "alice.pub"))},
				Links:       openDir(t, dir),
				Inspections: &verifier.SandboxRunner{Dir: pythonDemoWorkdir(t, demo)},
			}
			requirePass(t, mustVerify(t, env, opts))

			// Signed by somebody else: the layout key did not sign.
			bob := loadKey(t, filepath.Join(demo, "bob"))
			env.Signatures = nil
			if err := env.Sign(context.Background(), bob); err != nil {
				t.Fatal(err)
			}
			res := mustVerify(t, env, opts)
			var se *verifier.LayoutSignatureError
			if !errors.As(res.Err(), &se) {
				t.Fatalf("want a LayoutSignatureError, got %v", res.Err())
			}
			if insp := res.Step("untar"); insp.Status != verifier.StatusSkipped {
				t.Errorf("an inspection of an unsigned layout ran: %+v", insp)
			}
		})
	}
}

func TestCorpusGolangDSSE(t *testing.T) {
	data := corpus.Path(t, "in-toto-golang", "data")
	alice := loadKey(t, filepath.Join(data, "alice.pub"))
	for _, tc := range []struct {
		layout string
		work   bool
	}{
		{"demo.dsse.layout", true},       // DSSE layout, Metablock links
		{"dsse-only.root.layout", false}, // DSSE layout and links
	} {
		t.Run(tc.layout, func(t *testing.T) {
			opts := verifier.Options{LayoutKeys: []*keys.Key{alice}, Links: openDir(t, data)}
			if tc.work {
				opts.Inspections = &verifier.SandboxRunner{Dir: workdirWith(t, filepath.Join(data, "foo.tar.gz"))}
			}
			requirePass(t, mustVerify(t, loadEnvelope(t, filepath.Join(data, tc.layout)), opts))
		})
	}
}

// super.layout delegates its one step to alice, whose link file holds a
// sublayout (the demo chain); its links live in "sub_layout.70ca5750"
// beside it. The superlayout expired in 2021, so the verification time is
// injected.
func TestCorpusSublayout(t *testing.T) {
	data := corpus.Path(t, "in-toto-golang", "data")
	links := t.TempDir()
	sub := filepath.Join(links, "sub_layout.70ca5750")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(data, "sub_layout.70ca5750.link"), filepath.Join(links, "sub_layout.70ca5750.link"))
	for _, f := range []string{"write-code.b7d643de.link", "package.d3ffd108.link"} {
		copyFile(t, filepath.Join(data, f), filepath.Join(sub, f))
	}
	env := loadEnvelope(t, filepath.Join(data, "super.layout"))
	if err := env.Sign(context.Background(), loadKey(t, filepath.Join(data, "alice"))); err != nil {
		t.Fatal(err)
	}
	opts := verifier.Options{
		LayoutKeys:  []*keys.Key{loadKey(t, filepath.Join(data, "alice.pub"))},
		Links:       openDir(t, links),
		Inspections: &verifier.SandboxRunner{Dir: workdirWith(t, filepath.Join(data, "foo.tar.gz"))},
		Now:         time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	res := mustVerify(t, env, opts)
	requirePass(t, res)
	step := res.Step("sub_layout")
	if len(step.Sublayouts) != 1 || !step.Sublayouts[0].Passed() || step.Sublayouts[0].Step("untar").Status != verifier.StatusPassed {
		t.Fatalf("sublayout result: %+v", step.Sublayouts)
	}
	// The summary link stands for the sublayout: products of its last step.
	if _, ok := step.Link.Products["foo.tar.gz"]; !ok || step.Link.Name != "sub_layout" {
		t.Errorf("summary link %+v", step.Link)
	}

	// Today the superlayout has expired.
	opts.Now = time.Time{}
	res = mustVerify(t, env, opts)
	var ee *verifier.ExpiredError
	if !errors.As(res.Err(), &ee) {
		t.Fatalf("want ExpiredError, got %v", res.Err())
	}

	// A sublayout without its links folder fails, and says why.
	if err := os.RemoveAll(sub); err != nil {
		t.Fatal(err)
	}
	opts.Now = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	opts.Links = openDir(t, links)
	res = mustVerify(t, env, opts)
	var se *verifier.SublayoutError
	if !errors.As(res.Err(), &se) || se.Step != "sub_layout" || !strings.Contains(se.Error(), "sub_layout.70ca5750") {
		t.Fatalf("want SublayoutError naming the folder, got %v", res.Err())
	}
}

// pythonDemoWorkdir holds foo.tar.gz and a stand-in for the Python test
// suite's scripts/tar, which the demo's inspection runs as
// "python ./scripts/tar xfz foo.tar.gz".
func pythonDemoWorkdir(t testing.TB, demo string) string {
	t.Helper()
	// A pyenv shim takes seconds to start; use the system interpreter
	// when there is one.
	if py, err := exec.LookPath("/usr/bin/python3"); err == nil {
		bin := t.TempDir()
		if err := os.Symlink(py, filepath.Join(bin, "python")); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	if _, err := exec.LookPath("python"); err != nil {
		t.Skip("the Python demo's inspection runs `python`, which is not on PATH")
	}
	work := workdirWith(t, filepath.Join(demo, "foo.tar.gz"))
	if err := os.Mkdir(filepath.Join(work, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := "import sys, tarfile\n# usage: tar xfz FILE\nwith tarfile.open(sys.argv[2]) as t:\n    t.extractall()\n"
	if err := os.WriteFile(filepath.Join(work, "scripts", "tar"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	return work
}

// signTemplate signs a layout template the way the Python tests do: the
// template has no "expires", which Python's Layout fills with a date a
// month ahead.
func signTemplate(t testing.TB, path string, k *keys.Key) *envelope.Envelope {
	t.Helper()
	var payload map[string]any
	if err := json.Unmarshal(loadEnvelope(t, path).Payload(), &payload); err != nil {
		t.Fatal(err)
	}
	payload["expires"] = time.Now().AddDate(0, 1, 0).UTC().Format(layout.TimeFormat)
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	env, err := envelope.New(envelope.Metablock, "", b)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Sign(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return env
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
