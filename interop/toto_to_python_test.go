package interop

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/envelope"
)

// pyCheck is one (file, key) pair for testdata/py_verify.py.
type pyCheck struct {
	File   string `json:"file"`
	Format string `json:"format"`
	Pub    string `json:"pub"`
	Type   string `json:"type"`

	want   bool   // whether Python must accept it
	wantID string // the keyid toto computed for the key
	label  string
}

type pyResult struct {
	File  string `json:"file"`
	Pub   string `json:"pub"`
	KeyID string `json:"keyid"`
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// runPyVerify asks the Python module about every check at once (one
// interpreter start instead of one per check).
func runPyVerify(t *testing.T, dir string, checks []pyCheck) []pyResult {
	t.Helper()
	req, err := json.Marshal(map[string]any{"checks": checks})
	if err != nil {
		t.Fatal(err)
	}
	reqPath := filepath.Join(dir, "py_verify_request.json")
	writeFile(t, reqPath, req)
	script, _ := filepath.Abs(filepath.Join("testdata", "py_verify.py"))
	out, err := execOK(dir, pythonBin, script, reqPath)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct{ Results []pyResult }
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatalf("py_verify.py output: %v\n%s", err, out)
	}
	if len(resp.Results) != len(checks) {
		t.Fatalf("py_verify.py answered %d checks, asked %d", len(resp.Results), len(checks))
	}
	return resp.Results
}

// Links and layouts toto signs with toto-generated keys of every kind, as
// Metablocks and as DSSE, verify with the Python module; the keyid Python
// computes for each toto key is the one toto wrote; forgeries fail.
func TestTotoSignedVerifiesInPythonModule(t *testing.T) {
	requirePython(t)
	t.Parallel()
	dir := t.TempDir()
	ks := generateKeys(t)
	pubs := writeTotoKeys(t, dir, ks)

	var checks []pyCheck
	add := func(path string, format envelope.Format, signers []testKey, want bool) {
		for _, k := range signers {
			checks = append(checks, pyCheck{
				File: path, Format: format.String(), Pub: pubs[k.name], Type: pyKeyType(k.key),
				want: want, wantID: k.key.ID(),
				label: filepath.Base(path) + "/" + k.name,
			})
		}
	}
	for _, k := range ks {
		for _, format := range []envelope.Format{envelope.Metablock, envelope.DSSE} {
			step := "toto-" + format.String() + "-" + k.name
			path := filepath.Join(dir, linkFileName(step, k.key))
			e := signPayload(t, path, format, marshal(t, sampleLink(step)), k.key)
			add(path, format, []testKey{k}, true)

			forged := resign(t, e, tamperPayload(t, e.Payload(), `"made it\n`, `"made iT\n`))
			fpath := filepath.Join(dir, "forged-"+filepath.Base(path))
			writeEnvelope(t, fpath, forged)
			add(fpath, format, []testKey{k}, false)
		}
	}
	lay := layoutPayload(t, sampleLayout(t, ks))
	for _, format := range []envelope.Format{envelope.Metablock, envelope.DSSE} {
		path := filepath.Join(dir, "toto-"+format.String()+".layout")
		signPayload(t, path, format, lay, keysOf(ks)...)
		add(path, format, ks, true)
	}

	for i, r := range runPyVerify(t, dir, checks) {
		c := checks[i]
		t.Run(c.label, func(t *testing.T) {
			if r.OK != c.want {
				t.Errorf("Python verdict %v, want %v (error: %s)", r.OK, c.want, r.Error)
			}
			if r.KeyID != c.wantID {
				t.Errorf("Python computes keyid %s for toto's %s key, toto wrote %s", r.KeyID, c.Type, c.wantID)
			}
		})
	}
}

// The same, through the in-toto-sign CLI: each toto-signed link verifies
// with `in-toto-sign --verify`, the layout with all four keys at once, and
// a forged link exits 1.
func TestTotoSignedVerifiesWithInTotoSign(t *testing.T) {
	requirePython(t)
	t.Parallel()
	dir := t.TempDir()
	ks := generateKeys(t)
	pubs := writeTotoKeys(t, dir, ks)

	type cliCase struct {
		name     string
		args     []string
		wantCode int
	}
	var cases []cliCase
	for _, k := range ks {
		path := filepath.Join(dir, linkFileName("toto-"+k.name, k.key))
		e := signPayload(t, path, envelope.Metablock, marshal(t, sampleLink("toto-"+k.name)), k.key)
		cases = append(cases, cliCase{"link/" + k.name, []string{"-f", path, "-k", pubs[k.name], "-t", pyKeyType(k.key)}, 0})
		if k.name == "ed25519" {
			forged := filepath.Join(dir, "forged.link")
			writeEnvelope(t, forged, resign(t, e, tamperPayload(t, e.Payload(), "/build", "/buiLd")))
			cases = append(cases, cliCase{"forged-link/" + k.name, []string{"-f", forged, "-k", pubs[k.name], "-t", pyKeyType(k.key)}, 1})
		}
	}
	layoutPath := filepath.Join(dir, "root.layout")
	signPayload(t, layoutPath, envelope.Metablock, layoutPayload(t, sampleLayout(t, ks)), keysOf(ks)...)
	args := []string{"-f", layoutPath, "-k"}
	for _, k := range ks {
		args = append(args, pubs[k.name])
	}
	args = append(args, "-t")
	for _, k := range ks {
		args = append(args, pyKeyType(k.key))
	}
	cases = append(cases, cliCase{"layout/all-keys", args, 0})

	results := make([]execResult, len(cases))
	if err := runAll(func(i int) error {
		var err error
		results[i], err = execIn(dir, inTotoSign, append([]string{"--verify"}, cases[i].args...)...)
		return err
	}, len(cases)); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := results[i].Code; got != c.wantCode {
				t.Errorf("in-toto-sign --verify %s: exit %d, want %d\n%s", strings.Join(c.args, " "), got, c.wantCode, results[i].output())
			}
		})
	}
}
