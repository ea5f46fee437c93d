package interop

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// pyKeyRef is a key as the Python reference reported it.
type pyKeyRef struct {
	Name    string `json:"name"`
	Pub     string `json:"pub"`
	Priv    string `json:"priv"` // empty for keys made with the module
	KeyID   string `json:"keyid"`
	KeyType string `json:"keytype"`
	Scheme  string `json:"scheme"`
}

// pyEntry is one signed file testdata/py_make.py wrote.
type pyEntry struct {
	File   string     `json:"file"`
	Kind   string     `json:"kind"`   // "link" or "layout"
	Format string     `json:"format"` // "metablock" or "dsse"
	Keys   []pyKeyRef `json:"keys"`
}

type pyManifest struct {
	Entries []pyEntry `json:"entries"`
	// Unsupported maps a scheme securesystemslib 0.26 cannot sign with to
	// the error it gave.
	Unsupported map[string]string `json:"unsupported"`
	// CLIKeys are the keys in-toto-keygen made (with private key files).
	CLIKeys []pyKeyRef `json:"cli_keys"`
}

// pyFixture is metadata made once per test binary by the Python reference:
// keys from in-toto-keygen, links from in-toto-run, a layout signed by
// in-toto-sign, and everything testdata/py_make.py makes with the module.
type pyFixture struct {
	Dir      string
	Manifest pyManifest
	// CLILinks maps a CLI key name to the link in-toto-run signed with it.
	CLILinks map[string]string
	// CLILayout is the layout in-toto-sign signed with every CLI key.
	CLILayout string
	// Artifact is the file in-toto-run recorded, relative to Dir.
	Artifact string
}

// cliKeyTypes are the key kinds in-toto-keygen offers, by the file name
// the fixture gives them; RSA is PEM, the others securesystemslib JSON.
var cliKeyTypes = []struct{ name, typ string }{
	{"rsa", "rsa"}, {"ed25519", "ed25519"}, {"ecdsa", "ecdsa"},
}

var (
	pyOnce    sync.Once
	pyFix     *pyFixture
	pyFixErr  error
	pyFixRoot string // removed by TestMain
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pyFixRoot != "" {
		os.RemoveAll(pyFixRoot)
	}
	os.Exit(code)
}

// pythonFixture returns the shared Python-made metadata, making it on first
// use. It skips when the reference is not installed.
func pythonFixture(t testing.TB) *pyFixture {
	t.Helper()
	requirePython(t)
	pyOnce.Do(func() { pyFix, pyFixErr = makePythonFixture() })
	if pyFixErr != nil {
		t.Fatalf("making metadata with the Python reference: %v", pyFixErr)
	}
	return pyFix
}

func makePythonFixture() (*pyFixture, error) {
	dir, err := os.MkdirTemp("", "toto-interop-py-")
	if err != nil {
		return nil, err
	}
	pyFixRoot = dir
	f := &pyFixture{Dir: dir, CLILinks: map[string]string{}, Artifact: "src/hello.txt"}
	if err := os.MkdirAll(filepath.Join(dir, "src"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, f.Artifact), []byte("hello from the interop suite\n"), 0o644); err != nil {
		return nil, err
	}

	// Keys, by the CLI. 2048-bit RSA keeps this fast.
	if err := runAll(func(i int) error {
		k := cliKeyTypes[i]
		args := []string{"-t", k.typ}
		if k.typ == "rsa" {
			args = append(args, "-b", "2048")
		}
		_, err := execOK(dir, inTotoKeygen, append(args, k.name)...)
		return err
	}, len(cliKeyTypes)); err != nil {
		return nil, err
	}

	// Module-made metadata and CLI links, concurrently.
	script, err := filepath.Abs(filepath.Join("testdata", "py_make.py"))
	if err != nil {
		return nil, err
	}
	var manifestJSON string
	if err := runAll(func(i int) error {
		if i == len(cliKeyTypes) {
			out, err := execOK(dir, pythonBin, script, dir)
			manifestJSON = out
			return err
		}
		k := cliKeyTypes[i]
		product := "out-" + k.name + ".txt"
		_, err := execOK(dir, inTotoRun, "-n", "cli-"+k.name, "-k", k.name, "-t", k.typ,
			"-m", "src", "-p", product, "-s",
			"--", "sh", "-c", "cp src/hello.txt "+product+" && echo copied")
		return err
	}, len(cliKeyTypes)+1); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(manifestJSON), &f.Manifest); err != nil {
		return nil, fmt.Errorf("py_make.py manifest: %w", err)
	}
	for _, k := range cliKeyTypes {
		m, _ := filepath.Glob(filepath.Join(dir, "cli-"+k.name+".*.link"))
		if len(m) != 1 {
			return nil, fmt.Errorf("in-toto-run -n cli-%s wrote %d links, want 1: %v", k.name, len(m), m)
		}
		f.CLILinks[k.name] = m[0]
	}

	// The layout, signed by in-toto-sign with every CLI key at once.
	f.CLILayout = filepath.Join(dir, "cli-signed.layout")
	args := []string{"-f", "py-unsigned.layout", "-o", f.CLILayout, "-k"}
	for _, k := range cliKeyTypes {
		args = append(args, k.name)
	}
	args = append(args, "-t")
	for _, k := range cliKeyTypes {
		args = append(args, k.typ)
	}
	if _, err := execOK(dir, inTotoSign, args...); err != nil {
		return nil, err
	}
	return f, nil
}

// runAll runs fn(0..n-1) concurrently and returns the first error.
func runAll(fn func(i int) error, n int) error {
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() { errs <- fn(i) }()
	}
	var first error
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// cliKeyRef returns the manifest's record of the in-toto-keygen key name.
func (f *pyFixture) cliKeyRef(t testing.TB, name string) pyKeyRef {
	t.Helper()
	for _, r := range f.Manifest.CLIKeys {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no CLI key %q in the py_make.py manifest", name)
	return pyKeyRef{}
}
