package verifier_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	intoto "github.com/in-toto/in-toto-golang/in_toto"

	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/verifier"
	"github.com/toto-dev/toto/verifier/internal/chaingen"
)

const pythonVerify = "/usr/bin/in-toto-verify"

// Documented disagreements (docs/verification.md, "Reference bugs"): for
// each reference, the chain properties under which its verdict may differ
// from toto's, and in which direction. Everything else must agree.
const (
	totoStricter = "toto fails, the reference passes"
	either       = "either way"
)

var (
	pythonQuirks = map[string]string{
		chaingen.TamperReplay:          either,       // R1: link names are not checked
		chaingen.TamperSameKeyTwce:     totoStricter, // R2: one key under two keyids counts twice
		chaingen.QuirkDisagreeingLinks: totoStricter, // R3: threshold 1, links disagree: first one wins
	}
	golangQuirks = map[string]string{
		chaingen.TamperReplay:       either,       // R1
		chaingen.TamperSameKeyTwce:  totoStricter, // R2 (with DSSE links)
		chaingen.TamperPrefixEscape: totoStricter, // R4: MATCH ... IN consumes outside the prefix
		chaingen.TamperDotPath:      either,       // R5: paths and patterns are path.Clean'ed
	}
)

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return n
}

type verdicts struct {
	toto, golang, python *bool
	totoWhy, golangWhy   string
	pythonWhy            string
}

func verdictString(b *bool) string {
	switch {
	case b == nil:
		return "n/a"
	case *b:
		return "pass"
	}
	return "fail"
}

// TestDifferential generates random supply chains (steps, rules of all
// seven types with MATCH prefixes, ed25519 keys, thresholds, tamperings)
// and checks that toto's verdict agrees with in-toto-golang's and Python
// in-toto's on every one, except for the documented reference bugs.
//
// TOTO_DIFF_CASES sets the number of chains (default 48), TOTO_DIFF_SEED the
// first seed (default 1); a failure prints the seed and the chain.
func TestDifferential(t *testing.T) {
	n := envInt(t, "TOTO_DIFF_CASES", 48)
	seed0 := int64(envInt(t, "TOTO_DIFF_SEED", 1))
	havePython := true
	if _, err := os.Stat(pythonVerify); err != nil {
		havePython = false
		t.Logf("%s not found: comparing with in-toto-golang only (install Debian's in-toto package for Python in-toto)", pythonVerify)
	}
	type tc struct {
		chain *chaingen.Chain
		dir   string
		v     verdicts
	}
	cases := make([]*tc, n)
	for i := range cases {
		c, err := chaingen.Generate(seed0+int64(i), chaingen.Options{})
		if err != nil {
			t.Fatalf("seed %d: %v", seed0+int64(i), err)
		}
		dir := t.TempDir()
		if err := c.Write(dir); err != nil {
			t.Fatal(err)
		}
		cases[i] = &tc{chain: c, dir: dir}
	}

	// Python in-toto: every chain in one process through the same calls
	// in-toto-verify makes (its start-up takes a second); the first chain
	// also through the CLI itself, to show the two agree.
	if havePython {
		var dirs []string
		var idx []int
		for i, c := range cases {
			if !c.chain.DSSE { // Python in-toto 1.3.1 reads Metablocks only
				dirs = append(dirs, c.dir)
				idx = append(idx, i)
			}
		}
		oks, whys := runPythonBatch(t, dirs)
		for k, i := range idx {
			cases[i].v.python, cases[i].v.pythonWhy = &oks[k], whys[k]
		}
		if len(dirs) > 0 {
			if ok, why := runPythonCLI(dirs[0]); ok != oks[0] {
				t.Errorf("in-toto-verify says %v (%s) but the batch driver says %v (%s) for %s", ok, why, oks[0], whys[0], dirs[0])
			}
		}
	}
	stats := map[string]int{}
	for _, c := range cases {
		ok, why := runToto(t, c.chain, c.dir)
		c.v.toto, c.v.totoWhy = &ok, why
		gok, gwhy := runGolang(t, c.chain, c.dir)
		c.v.golang, c.v.golangWhy = &gok, gwhy

		stats[fmt.Sprintf("%s/toto:%s", c.chain.Tamper, verdictString(c.v.toto))]++
		quirks := append([]string{c.chain.Tamper}, c.chain.Quirks...)
		check := func(name string, got *bool, why string, allowed map[string]string) {
			if got == nil || *got == ok {
				return
			}
			for _, q := range quirks {
				if dir := allowed[q]; dir == either || dir == totoStricter && !ok {
					stats["documented disagreement with "+name+": "+q]++
					return
				}
			}
			t.Errorf("%s: toto %s, %s %s\n  toto: %s\n  %s: %s\n  chain: %s",
				c.dir, verdictString(c.v.toto), name, verdictString(got), c.v.totoWhy, name, why, c.chain.Describe())
		}
		check("in-toto-golang", c.v.golang, c.v.golangWhy, golangQuirks)
		check("python in-toto", c.v.python, c.v.pythonWhy, pythonQuirks)
	}
	keys := make([]string, 0, len(stats))
	for k := range stats {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t.Logf("%-60s %d", k, stats[k])
	}
}

func runToto(t *testing.T, c *chaingen.Chain, dir string) (bool, string) {
	t.Helper()
	return runTotoDir(t, dir, nil)
}

// runTotoDir verifies the chain laid out in dir (root.layout, owner.pub,
// links/), running inspections in a copy of workdir if given.
func runTotoDir(t *testing.T, dir string, runner verifier.InspectionRunner) (bool, string) {
	t.Helper()
	d, err := verifier.OpenDir(filepath.Join(dir, "links"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	env := loadEnvelope(t, filepath.Join(dir, "root.layout"))
	owner := loadKey(t, filepath.Join(dir, "owner.pub"))
	res, err := verifier.Verify(context.Background(), env, verifier.Options{LayoutKeys: []*keys.Key{owner}, Links: d, Inspections: runner})
	if err != nil {
		t.Fatalf("%s: Verify: %v", dir, err)
	}
	if res.Passed() {
		return true, ""
	}
	return false, strings.ReplaceAll(res.Err().Error(), "\n", "; ")
}

var stdoutMu sync.Mutex

// runGolang verifies with in-toto-golang v0.11.0, which prints warnings on
// stdout; they are silenced.
func runGolang(t *testing.T, c *chaingen.Chain, dir string) (bool, string) {
	t.Helper()
	return runGolangDir(t, dir, "", c.OwnerPub)
}

// runGolangDir verifies the chain in dir with in-toto-golang, running
// inspections in runDir (which must not be empty) if given.
func runGolangDir(t *testing.T, dir, runDir string, k *keys.Key) (bool, string) {
	t.Helper()
	return runGolangLayout(t, filepath.Join(dir, "root.layout"), filepath.Join(dir, "links"), runDir, k)
}

func runGolangLayout(t *testing.T, layoutPath, linkDir, runDir string, k *keys.Key) (bool, string) {
	t.Helper()
	mb, err := intoto.LoadMetadata(layoutPath)
	if err != nil {
		return false, "load layout: " + err.Error()
	}
	key := intoto.Key{KeyID: k.ID(), KeyIDHashAlgorithms: k.KeyIDHashAlgorithms, KeyType: k.Type, Scheme: k.Scheme,
		KeyVal: intoto.KeyVal{Public: k.PublicValue}}
	stdoutMu.Lock()
	saved := os.Stdout
	os.Stdout, _ = os.Open(os.DevNull)
	keyMap := map[string]intoto.Key{key.KeyID: key}
	if runDir != "" {
		_, err = intoto.InTotoVerifyWithDirectory(mb, keyMap, linkDir, runDir, "", nil, nil, false)
	} else {
		_, err = intoto.InTotoVerify(mb, keyMap, linkDir, "", nil, nil, false)
	}
	os.Stdout.Close()
	os.Stdout = saved
	stdoutMu.Unlock()
	if err != nil {
		return false, err.Error()
	}
	return true, ""
}

func runPythonCLI(dir string) (bool, string) {
	return runPythonCLIArgs(dir, filepath.Join(dir, "root.layout"), filepath.Join(dir, "owner.pub"), "ed25519", filepath.Join(dir, "links"))
}

// runPythonCLIArgs runs in-toto-verify in workdir (where inspections run).
func runPythonCLIArgs(workdir, layoutPath, keyPath, keyType, linkDir string) (bool, string) {
	cmd := exec.Command(pythonVerify, "--layout", layoutPath, "--layout-keys", keyPath, "--key-types", keyType, "--link-dir", linkDir)
	cmd.Dir = workdir
	out, err := cmd.CombinedOutput()
	if err == nil {
		return true, ""
	}
	msg := strings.TrimSpace(string(out))
	for _, line := range strings.Split(msg, "\n") {
		if strings.Contains(line, "(in-toto-verify)") {
			return false, line
		}
	}
	return false, msg
}

// pythonDriver does for each directory what in-toto-verify's main does.
const pythonDriver = `
import json, os, sys
from in_toto import verifylib
from in_toto.models.metadata import Metablock
from securesystemslib import interface
out = []
for d in json.load(sys.stdin):
    os.chdir(d)
    try:
        layout = Metablock.load("root.layout")
        keys = interface.import_publickeys_from_file(["owner.pub"], ["ed25519"])
        verifylib.in_toto_verify(layout, keys, "links")
        out.append([True, ""])
    except Exception as e:
        out.append([False, "%s: %s" % (type(e).__name__, str(e).split("\n")[0])])
json.dump(out, sys.stdout)
`

func runPythonBatch(t *testing.T, dirs []string) ([]bool, []string) {
	t.Helper()
	in, _ := json.Marshal(dirs)
	cmd := exec.Command("/usr/bin/python3", "-c", pythonDriver)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python driver: %v\n%s", err, stderr.String())
	}
	var res [][2]any
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("python driver output: %v", err)
	}
	oks, whys := make([]bool, len(res)), make([]string, len(res))
	for i, r := range res {
		oks[i], _ = r[0].(bool)
		whys[i], _ = r[1].(string)
	}
	return oks, whys
}
