package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	intoto "github.com/in-toto/in-toto-golang/in_toto"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/secure-systems-lab/go-securesystemslib/signerverifier"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
)

// Debian's in-toto 1.3.1; its module is importable only by /usr/bin/python3.
const (
	pyInterpreter = "/usr/bin/python3"
	pyInTotoRun   = "/usr/bin/in-toto-run"
	pyVerify      = "/usr/bin/in-toto-verify"
	pyKeygen      = "/usr/bin/in-toto-keygen"
)

func requirePythonInToto(t *testing.T) {
	t.Helper()
	for _, p := range []string{pyInTotoRun, pyVerify, pyKeygen, pyInterpreter} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("Python in-toto reference not installed (%s missing; `apt-get install in-toto` provides it); skipping interop test", p)
		}
	}
}

// pyEnv drops in-toto's settings variables, which would change what the
// reference records.
func pyEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IN_TOTO_") && !strings.HasPrefix(kv, "PYTHON") {
			env = append(env, kv)
		}
	}
	return append(env, "PYTHONDONTWRITEBYTECODE=1", "LC_ALL=C.UTF-8")
}

// runPy runs a reference program in dir and returns stdout, exit code and
// combined output for messages.
func runPy(t *testing.T, dir, name string, args ...string) (string, int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = pyEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return out.String(), ee.ExitCode(), out.String() + errb.String()
	case err != nil:
		t.Fatalf("%s %v: %v\n%s", name, args, err, errb.String())
	}
	return out.String(), 0, out.String() + errb.String()
}

func pyScript(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", "py_runner.py"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// interopTree is a tree exercising what recording must agree on: nesting,
// spaces and non-ASCII in names, CRLF content, symlinks to a file and to a
// directory (both followed by in-toto-run), and things to exclude.
func interopTree(t *testing.T) string {
	root := tree(t, map[string]string{
		"src/main.c":                "int main(void) { return 0; }\n",
		"src/sub dir/ünïcode.txt":   "héllo\n",
		"src/lib/deep/er/x.h":       "#define X 1\n",
		"docs/crlf.txt":             "line one\r\nline two\rline three\r\n",
		"docs/empty":                "",
		"node_modules/pkg/index.js": "module.exports = 1\n",
		"web/node_modules/p/a.js":   "x\n",
		"build/out.o":               "\x7fELF",
		"lib/build":                 "a file called build\n",
		"cache.pyc":                 "bytecode",
		"old.link":                  "{}",
	})
	symlink(t, "src/main.c", filepath.Join(root, "main-link.c"))
	symlink(t, "src/lib", filepath.Join(root, "lib-link"))
	return root
}

// TestInteropRecordingMatchesPython records the same tree with the same
// options through in_toto.runlib.record_artifacts_as_dict and through
// RecordArtifacts and requires identical paths and digests.
func TestInteropRecordingMatchesPython(t *testing.T) {
	requirePythonInToto(t)
	t.Parallel()
	root := interopTree(t)
	elsewhere := t.TempDir()
	excl := []string{"node_modules", "*.pyc", "*.link"}
	type pyCase struct {
		Dir    string         `json:"dir"`
		Paths  []string       `json:"paths"`
		Kwargs map[string]any `json:"kwargs"`
	}
	cases := []struct {
		name string
		py   pyCase
		opts HashOptions
	}{
		{"whole tree with excludes",
			pyCase{root, []string{"."}, map[string]any{"exclude_patterns": excl, "follow_symlink_dirs": true}},
			HashOptions{NoDefaultExcludes: true, Exclude: excl}},
		{"directories and files named",
			pyCase{root, []string{"src", "./docs/crlf.txt", "src/../lib"}, map[string]any{"exclude_patterns": excl, "follow_symlink_dirs": true}},
			HashOptions{NoDefaultExcludes: true, Exclude: excl}},
		{"line ending normalisation",
			pyCase{root, []string{"docs", "src"}, map[string]any{"exclude_patterns": excl, "normalize_line_endings": true, "follow_symlink_dirs": true}},
			HashOptions{NoDefaultExcludes: true, Exclude: excl, NormalizeLineEndings: true}},
		{"lstrip",
			pyCase{root, []string{"src", "docs"}, map[string]any{"exclude_patterns": excl, "lstrip_paths": []string{"src/"}, "follow_symlink_dirs": true}},
			HashOptions{NoDefaultExcludes: true, Exclude: excl, LStripPaths: []string{"src/"}}},
		{"base path",
			pyCase{elsewhere, []string{"src", "lib-link"}, map[string]any{"exclude_patterns": excl, "base_path": root, "follow_symlink_dirs": true}},
			HashOptions{NoDefaultExcludes: true, Exclude: excl, BasePath: root}},
		{"anchored and directory patterns",
			pyCase{root, []string{"."}, map[string]any{"exclude_patterns": []string{"/build", "sub dir/", "**/deep", "*.pyc", "*.link", "node_modules"}, "follow_symlink_dirs": true}},
			HashOptions{NoDefaultExcludes: true, Exclude: []string{"/build", "sub dir/", "**/deep", "*.pyc", "*.link", "node_modules"}}},
		{"python default excludes",
			pyCase{root, []string{"."}, map[string]any{"exclude_patterns": []string{"*.link*", ".git", "*.pyc", "*~"}, "follow_symlink_dirs": true}},
			HashOptions{NoDefaultExcludes: true, Exclude: []string{"*.link*", ".git", "*.pyc", "*~"}}},
	}
	var req struct {
		Cases []pyCase `json:"cases"`
	}
	for _, c := range cases {
		req.Cases = append(req.Cases, c.py)
	}
	reqPath := filepath.Join(t.TempDir(), "request.json")
	b, _ := json.Marshal(req)
	if err := os.WriteFile(reqPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, code, all := runPy(t, elsewhere, pyInterpreter, pyScript(t), "record", reqPath)
	if code != 0 {
		t.Fatalf("py_runner.py record: exit %d\n%s", code, all)
	}
	var resp struct {
		Results []struct {
			Artifacts link.Artifacts `json:"artifacts"`
			Error     string         `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil || len(resp.Results) != len(cases) {
		t.Fatalf("py_runner.py output (%v): %s", err, out)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := resp.Results[i]
			if r.Error != "" {
				t.Fatalf("Python: %s", r.Error)
			}
			if len(r.Artifacts) == 0 {
				t.Fatal("Python recorded nothing; the comparison would prove nothing")
			}
			opts := c.opts
			if opts.BasePath == "" {
				opts.BasePath = c.py.Dir
			}
			got, err := RecordArtifacts(context.Background(), c.py.Paths, opts)
			if err != nil {
				t.Fatal(err)
			}
			assertArtifacts(t, got, r.Artifacts)
		})
	}
}

// TestInteropInTotoRunSameLink runs the same step with in-toto-run and with
// Run on one tree and compares the two links' materials, products and
// byproducts.
func TestInteropInTotoRunSameLink(t *testing.T) {
	requirePythonInToto(t)
	t.Parallel()
	root := interopTree(t)
	keyDir := t.TempDir()
	if _, code, all := runPy(t, keyDir, pyKeygen, "-t", "ed25519", "pykey"); code != 0 {
		t.Fatalf("in-toto-keygen: %s", all)
	}
	excl := []string{"node_modules", "*.pyc", "*.link", "out.txt.tmp"}
	// A command both can run, idempotent, with output on both streams.
	command := []string{"/bin/sh", "-c", "printf 'built\\n' > out.txt; echo to-stdout; echo to-stderr >&2"}
	if _, err := os.Stat(command[0]); err != nil {
		t.Skip("no /bin/sh")
	}

	res, err := Run(context.Background(), Options{
		Name: "build", Materials: []string{"."}, Products: []string{"."}, Command: command,
		Hash: HashOptions{BasePath: root, NoDefaultExcludes: true, Exclude: excl},
		Exec: ExecOptions{Dir: root},
	})
	if err != nil {
		t.Fatal(err)
	}

	args := []string{"-n", "build", "-k", filepath.Join(keyDir, "pykey"), "-t", "ed25519", "-s",
		"-m", ".", "-p", ".", "--exclude"}
	args = append(args, excl...)
	args = append(args, "--")
	args = append(args, command...)
	// The same starting tree for both: remove what toto's run made.
	if err := os.Remove(filepath.Join(root, "out.txt")); err != nil {
		t.Fatal(err)
	}
	if _, code, all := runPy(t, root, pyInTotoRun, args...); code != 0 {
		t.Fatalf("in-toto-run: exit %d\n%s", code, all)
	}
	matches, _ := filepath.Glob(filepath.Join(root, "build.*.link"))
	if len(matches) != 1 {
		t.Fatalf("in-toto-run wrote %v", matches)
	}
	data, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	env, err := envelope.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	py, err := link.Parse(env.Payload())
	if err != nil {
		t.Fatal(err)
	}
	if len(py.Materials) < 5 {
		t.Fatalf("in-toto-run recorded only %v", py.Materials.Paths())
	}
	t.Run("materials", func(t *testing.T) { assertArtifacts(t, res.Link.Materials, py.Materials) })
	t.Run("products", func(t *testing.T) { assertArtifacts(t, res.Link.Products, py.Products) })
	t.Run("byproducts", func(t *testing.T) {
		for _, k := range []string{"stdout", "stderr"} {
			if res.Link.ByProducts[k] != py.ByProducts[k] {
				t.Errorf("%s: toto %q, in-toto-run %q", k, res.Link.ByProducts[k], py.ByProducts[k])
			}
		}
		if rv, _ := py.ByProducts["return-value"].(json.Number); rv.String() != "0" || res.Link.ByProducts["return-value"] != 0 {
			t.Errorf("return-value: toto %v, in-toto-run %v", res.Link.ByProducts["return-value"], py.ByProducts["return-value"])
		}
	})
	if !reflect.DeepEqual(res.Link.Command, py.Command) {
		t.Errorf("command: toto %q, in-toto-run %q", res.Link.Command, py.Command)
	}
}

// TestInteropPythonVerifiesTotoLink runs a step with Run, writes the link
// signed by a toto key, and has in-toto-verify check it against a layout
// the Python reference made and signed: the link must pass, and a forged
// copy must fail.
func TestInteropPythonVerifiesTotoLink(t *testing.T) {
	requirePythonInToto(t)
	for _, tc := range []struct {
		typ    string
		pyType string
	}{{keys.Ed25519, "ed25519"}, {keys.RSA, "rsa"}} {
		t.Run(tc.pyType, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			k := testKey(t, tc.typ)
			pubPath := filepath.Join(dir, "functionary.pub")
			var pub []byte
			var err error
			if tc.pyType == "rsa" {
				pub, err = k.MarshalPEM(false)
			} else {
				pub, err = json.Marshal(k.Public())
			}
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(pubPath, pub, 0o644)
			out, code, all := runPy(t, dir, pyInterpreter, pyScript(t), "layout", dir, pubPath, tc.pyType)
			if code != 0 {
				t.Fatalf("py_runner.py layout: %s", all)
			}
			if !strings.Contains(out, k.ID()) {
				t.Fatalf("Python computes another keyid for toto's key: %s (toto: %s)", out, k.ID())
			}

			work := tree(t, map[string]string{"src/main.c": "int main;", "src/util.c": "util"})
			os.Mkdir(filepath.Join(work, "out"), 0o755)
			argv, env := self(t, "write", "RUNNER_FILE="+filepath.Join(work, "out", "app"), "RUNNER_CODE=0")
			res, err := Run(context.Background(), Options{
				Name: "build", Materials: []string{"src"}, Products: []string{"src", "out"},
				Command: argv, Hash: HashOptions{BasePath: work}, Exec: ExecOptions{Env: env},
			})
			if err != nil {
				t.Fatal(err)
			}
			// Debian's in-toto 1.3.1 reads only Metablock links
			// (Metablock.load); DSSE and attestations are checked with
			// in-toto-golang below.
			for _, f := range []LinkFormat{Metablock} {
				linkDir := filepath.Join(dir, f.String())
				os.Mkdir(linkDir, 0o755)
				path, err := Write(context.Background(), linkDir, res.Link, k, f)
				if err != nil {
					t.Fatal(err)
				}
				verifyArgs := []string{"-l", filepath.Join(dir, "root.layout"), "-k", filepath.Join(dir, "owner.pub"), "-t", "ed25519", "--link-dir", linkDir}
				_, code, all := runPy(t, dir, pyVerify, verifyArgs...)
				if code != 0 {
					t.Fatalf("%v: in-toto-verify rejects toto's link (exit %d):\n%s", f, code, all)
				}

				// A forged product digest must make verification fail.
				data, _ := os.ReadFile(path)
				e, _ := envelope.Parse(data)
				forged := strings.Replace(string(e.Payload()), res.Link.Products["out/app"]["sha256"], strings.Repeat("0", 64), 1)
				fe, _ := envelope.New(e.Format, e.PayloadType, []byte(forged))
				fe.Signatures = e.Signatures
				fb, _ := fe.Encode()
				os.WriteFile(path, fb, 0o644)
				if _, code, all := runPy(t, dir, pyVerify, verifyArgs...); code != 1 {
					t.Errorf("%v: in-toto-verify exit %d for a forged link, want 1:\n%s", f, code, all)
				}
			}
		})
	}
}

// TestInteropGolangVerifiesTotoLink loads links written by Write with
// in-toto-golang and verifies their signatures there, for every format.
func TestInteropGolangVerifiesTotoLink(t *testing.T) {
	dir := t.TempDir()
	k := testKey(t, keys.Ed25519)
	pem, err := k.MarshalPEM(false)
	if err != nil {
		t.Fatal(err)
	}
	pemPath := filepath.Join(dir, "k.pub.pem")
	os.WriteFile(pemPath, pem, 0o644)
	var gk intoto.Key
	if err := gk.LoadKeyDefaults(pemPath); err != nil {
		t.Fatal(err)
	}
	root := tree(t, map[string]string{"src/a.c": "a"})
	res, err := Run(context.Background(), Options{Name: "build", Materials: []string{"src"}, Products: []string{"src"}, Hash: HashOptions{BasePath: root}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []LinkFormat{Metablock, DSSE, Attestation} {
		t.Run(f.String(), func(t *testing.T) {
			out := filepath.Join(dir, f.String())
			os.Mkdir(out, 0o755)
			path, err := Write(context.Background(), out, res.Link, k, f)
			if err != nil {
				t.Fatal(err)
			}
			if f == Attestation {
				// in-toto-golang v0.11's LoadMetadata reads only links and
				// layouts; check the DSSE signature with
				// go-securesystemslib's verifier and the in-toto-golang key.
				verifyDSSE(t, path, gk, true)
				return
			}
			md, err := intoto.LoadMetadata(path)
			if err != nil {
				t.Fatalf("in-toto-golang cannot load toto's %v link: %v", f, err)
			}
			if err := md.VerifySignature(gk); err != nil {
				t.Errorf("in-toto-golang rejects toto's %v signature: %v", f, err)
			}
			if f == Metablock {
				gl, ok := md.GetPayload().(intoto.Link)
				if !ok {
					t.Fatalf("payload is %T, want a link", md.GetPayload())
				}
				if gl.Materials["src/a.c"]["sha256"] != sha256hex([]byte("a")) {
					t.Errorf("in-toto-golang reads materials %v", gl.Materials)
				}
			}
			// And a forged copy fails there too.
			data, _ := os.ReadFile(path)
			e, _ := envelope.Parse(data)
			forged := strings.Replace(string(e.Payload()), sha256hex([]byte("a")), sha256hex([]byte("b")), 1)
			fe, _ := envelope.New(e.Format, e.PayloadType, []byte(forged))
			fe.Signatures = e.Signatures
			fb, _ := fe.Encode()
			os.WriteFile(path, fb, 0o644)
			if f == Attestation {
				verifyDSSE(t, path, gk, false)
			} else if md, err := intoto.LoadMetadata(path); err == nil && md.VerifySignature(gk) == nil {
				t.Error("in-toto-golang accepts a forged toto link")
			}
		})
	}
}

// verifyDSSE checks a DSSE file's signature with go-securesystemslib's dsse
// verifier for an in-toto-golang ed25519 key.
func verifyDSSE(t *testing.T, path string, gk intoto.Key, wantOK bool) {
	t.Helper()
	sv, err := signerverifier.NewED25519SignerVerifierFromSSLibKey(&signerverifier.SSLibKey{
		KeyID: gk.KeyID, KeyType: gk.KeyType, Scheme: gk.Scheme,
		KeyIDHashAlgorithms: gk.KeyIDHashAlgorithms,
		KeyVal:              signerverifier.KeyVal{Public: gk.KeyVal.Public},
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var env dsse.Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	v, err := dsse.NewEnvelopeVerifier(sv)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(context.Background(), &env)
	if wantOK && err != nil {
		t.Errorf("go-securesystemslib rejects toto's DSSE signature: %v", err)
	}
	if !wantOK && err == nil {
		t.Error("go-securesystemslib accepts a forged DSSE envelope")
	}
}

// TestInteropRecordWithPython splits steps between the two recorders:
// in-toto-record start then RecordStop, and RecordStart then
// in-toto-record stop, with one key made by in-toto-keygen. Each final link
// must carry the materials from start and products from stop.
func TestInteropRecordWithPython(t *testing.T) {
	requirePythonInToto(t)
	pyRecord := "/usr/bin/in-toto-record"
	if _, err := os.Stat(pyRecord); err != nil {
		t.Skipf("%s missing; skipping", pyRecord)
	}
	t.Parallel()
	root := tree(t, map[string]string{"src/a": "a"})
	if _, code, all := runPy(t, root, pyKeygen, "-t", "ed25519", "pk"); code != 0 {
		t.Fatalf("in-toto-keygen: %s", all)
	}
	k, err := keys.Load(filepath.Join(root, "pk"))
	if err != nil {
		t.Fatalf("toto cannot load in-toto-keygen's key: %v", err)
	}
	ctx := context.Background()
	opts := func(name string, paths ...string) RecordOptions {
		return RecordOptions{Name: name, Paths: paths, Key: k, StateDir: root, OutDir: root, Hash: HashOptions{BasePath: root}}
	}
	check := func(name, product string) {
		t.Helper()
		l := loadLink(t, filepath.Join(root, link.FileName(name, k.ID())), k)
		if !l.Materials["src/a"].Equal(link.DigestSet{"sha256": sha256hex([]byte("a"))}) {
			t.Errorf("%s: materials %v", name, l.Materials)
		}
		if !l.Products["src/a"].Equal(link.DigestSet{"sha256": sha256hex([]byte(product))}) {
			t.Errorf("%s: products %v", name, l.Products)
		}
		if left, _ := filepath.Glob(filepath.Join(root, "."+name+".*.link-unfinished")); len(left) != 0 {
			t.Errorf("%s: preliminary link left behind: %v", name, left)
		}
	}

	// Python starts, toto stops.
	if _, code, all := runPy(t, root, pyRecord, "start", "-n", "py-start", "-k", "pk", "-t", "ed25519", "-m", "src"); code != 0 {
		t.Fatalf("in-toto-record start: %s", all)
	}
	os.WriteFile(filepath.Join(root, "src", "a"), []byte("a1"), 0o644)
	if _, _, _, err := RecordStop(ctx, opts("py-start", "src")); err != nil {
		t.Fatalf("toto cannot finish in-toto-record's step: %v", err)
	}
	check("py-start", "a1")

	// toto starts, Python stops.
	os.WriteFile(filepath.Join(root, "src", "a"), []byte("a"), 0o644)
	if _, _, err := RecordStart(ctx, opts("toto-start", "src")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "src", "a"), []byte("a2"), 0o644)
	if _, code, all := runPy(t, root, pyRecord, "stop", "-n", "toto-start", "-k", "pk", "-t", "ed25519", "-p", "src"); code != 0 {
		t.Fatalf("in-toto-record cannot finish toto's step: %s", all)
	}
	check("toto-start", "a2")
}
