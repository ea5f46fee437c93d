package security_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/verifier"
)

// Issue 13.1 [high]: a workdir reached through a symlink (the user's
// --workdir, or "." inside a symlinked folder) must still be copied, not
// recreated as a symlink into the real folder: an inspection may only ever
// change its private copy.
func TestInspectionSandboxIsAPrivateCopyEvenThroughASymlink(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(real, "keep.txt"), []byte("the user's file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, dir := range map[string]string{
		// Control: the real folder itself.
		"real folder": real,
		// The attack: a symlink to it, absolute and relative.
		"absolute symlink": mustSymlink(t, real, filepath.Join(base, "abs")),
		"relative symlink": mustSymlink(t, "real", filepath.Join(base, "rel")),
	} {
		t.Run(name, func(t *testing.T) {
			r := &verifier.SandboxRunner{Dir: dir}
			run, err := inspectOnce(r, layout.Inspection{
				Name: "vandal",
				Run:  []string{"sh", "-c", "test -f keep.txt && rm keep.txt && echo x > planted.txt"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if run.ExitCode != 0 {
				t.Fatalf("the inspection did not see the workdir's files (exit %d)", run.ExitCode)
			}
			if _, ok := run.Link.Materials["keep.txt"]; !ok {
				t.Errorf("materials %v: keep.txt not recorded", run.Link.Materials.Paths())
			}
			if _, err := os.Stat(filepath.Join(real, "keep.txt")); err != nil {
				t.Errorf("the inspection removed the user's real file: %v", err)
			}
			if _, err := os.Stat(filepath.Join(real, "planted.txt")); err == nil {
				t.Error("the inspection wrote into the user's real folder")
			}
		})
	}
}

func mustSymlink(t *testing.T, to, at string) string {
	t.Helper()
	if err := os.Symlink(to, at); err != nil {
		t.Fatal(err)
	}
	return at
}

// inspectOnce runs one inspection in a fresh workspace of r.
func inspectOnce(r verifier.InspectionRunner, in layout.Inspection) (*verifier.InspectionRun, error) {
	ws, err := r.Workspace(context.Background())
	if err != nil {
		return nil, err
	}
	defer ws.Close()
	return ws.Inspect(context.Background(), in, func(link.Artifacts) error { return nil })
}
