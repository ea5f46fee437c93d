package verifier_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/verifier"
	cg "github.com/toto-dev/toto/verifier/internal/chaingen"
)

// TestDifferentialChainedInspections runs chains whose inspections depend
// on each other through toto and both references. The references run a
// layout's inspections one after another in one directory, so a later
// inspection sees what an earlier one extracted, left behind or removed;
// toto does the same in one private copy (issue 13.3), and must reach the
// same verdict on every case.
func TestDifferentialChainedInspections(t *testing.T) {
	app := "\x7fELF"
	sum := sha256.Sum256([]byte(app))
	appDigest := hex.EncodeToString(sum[:])
	sh := func(script string) []string { return []string{"sh", "-c", script} }
	cases := []struct {
		name        string
		inspections func(b *cg.Builder)
		pass        bool
	}{
		{"a later inspection uses what an earlier one extracted", func(b *cg.Builder) {
			b.Inspection("unpack", sh("echo data > extracted"), nil, nil)
			b.Inspection("use", []string{"test", "-f", "extracted"}, nil, nil)
		}, true},
		{"control: nothing left behind", func(b *cg.Builder) {
			b.Inspection("first", []string{"true"}, nil, nil)
			b.Inspection("second", []string{"true"}, cg.Rules([]string{"DISALLOW", "leftover"}), nil)
		}, true},
		{"a file left behind meets a later DISALLOW", func(b *cg.Builder) {
			b.Inspection("first", []string{"touch", "leftover"}, nil, nil)
			b.Inspection("second", []string{"true"}, cg.Rules([]string{"DISALLOW", "leftover"}), nil)
		}, false},
		{"a later MATCH against an earlier inspection's product", func(b *cg.Builder) {
			b.Inspection("unpack", sh("echo data > extracted"), nil, nil)
			b.Inspection("check", []string{"true"}, cg.Rules(
				[]string{"MATCH", "extracted", "WITH", "PRODUCTS", "FROM", "unpack"},
				[]string{"MATCH", "app", "WITH", "PRODUCTS", "FROM", "build"},
				// in-toto-golang writes unpack.link where it runs.
				[]string{"ALLOW", "*.link"},
				[]string{"DISALLOW", "*"}), nil)
		}, true},
		{"an earlier inspection removes what a later one requires", func(b *cg.Builder) {
			b.Inspection("clean", []string{"rm", "app"}, nil, nil)
			b.Inspection("check", []string{"true"}, cg.Rules([]string{"REQUIRE", "app"}), nil)
		}, false},
		{"an earlier inspection changes what a later one matches", func(b *cg.Builder) {
			b.Inspection("patch", sh("echo patched >> app"), nil, nil)
			b.Inspection("check", []string{"true"}, cg.Rules(
				[]string{"MATCH", "app", "WITH", "PRODUCTS", "FROM", "build"},
				[]string{"DISALLOW", "*"}), nil)
		}, false},
	}
	_, err := os.Stat(pythonVerify)
	havePython := err == nil
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := cg.NewBuilder()
			b.Step("build", 1, []string{"alice"}, nil, cg.Rules([]string{"CREATE", "app"}, []string{"DISALLOW", "*"}))
			b.Link("build", "alice", &link.Link{Command: []string{}, Products: cg.Artifacts("app", appDigest)})
			tc.inspections(b)
			dir := t.TempDir()
			if err := b.WriteDir(dir); err != nil {
				t.Fatal(err)
			}
			// Each implementation gets a workdir of its own: the
			// references run inspections in it directly.
			work := func() string {
				w := t.TempDir()
				if err := os.WriteFile(filepath.Join(w, "app"), []byte(app), 0o644); err != nil {
					t.Fatal(err)
				}
				return w
			}
			totoWork := work()
			ok, why := runTotoDir(t, dir, &verifier.SandboxRunner{Dir: totoWork})
			if ok != tc.pass {
				t.Errorf("toto: %v (%s), want %v", ok, why, tc.pass)
			}
			if _, err := os.Stat(filepath.Join(totoWork, "app")); err != nil {
				t.Errorf("toto's inspections changed the user's folder: %v", err)
			}
			// in-toto-golang is run in its workdir: given a directory to
			// run inspections in, it records absolute paths, which no
			// relative rule pattern matches.
			t.Chdir(work())
			if ok, why := runGolangDir(t, dir, "", b.Public("owner")); ok != tc.pass {
				t.Errorf("in-toto-golang: %v (%s), want %v", ok, why, tc.pass)
			}
			if havePython {
				if ok, why := runPythonCLIArgs(work(), filepath.Join(dir, "root.layout"), filepath.Join(dir, "owner.pub"), "ed25519", filepath.Join(dir, "links")); ok != tc.pass {
					t.Errorf("python in-toto: %v (%s), want %v", ok, why, tc.pass)
				}
			}
		})
	}
}
