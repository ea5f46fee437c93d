package security

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/runner"
)

// Issue 13.6: SIGTERM (what kill, timeout(1) and CI runners send), like
// SIGINT, stops a running inspection and removes the sandbox copy.
func TestSignalCleansUpTheSandbox(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			owner, alice := newKey(t), newKey(t)
			dir := t.TempDir()
			l := inspected(t, alice, inspection("wait", []string{"sleep", "120"}))
			writeFile(t, filepath.Join(dir, "root.layout"), encode(t, signLayout(t, l, envelope.Metablock, owner)))
			writeFile(t, filepath.Join(dir, "owner.pub"), publicPEM(t, owner))
			writeLink(t, filepath.Join(dir, "links"), "build", alice, signLink(t, buildLink(), envelope.Metablock, alice))
			work := workdir(t, nil)
			tmp := t.TempDir() // the sandbox is made here
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, toto(t), "verify", "--layout", "root.layout", "--layout-key", "owner.pub",
				"--links", "links", "--workdir", work)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sandboxes := func() []string {
				m, _ := filepath.Glob(filepath.Join(tmp, "toto-inspection-*"))
				return m
			}
			// Wait until the inspection runs in its sandbox.
			for len(sandboxes()) == 0 {
				if ctx.Err() != nil {
					t.Fatalf("no sandbox appeared\n%s", out.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(200 * time.Millisecond) // past the copy, into the command
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			if ctx.Err() != nil {
				t.Fatalf("toto did not stop on %v\n%s", sig, out.String())
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Errorf("exit: %v, want a failure\n%s", err, out.String())
			}
			if left := sandboxes(); len(left) > 0 {
				t.Errorf("%v left the sandbox behind: %v", sig, left)
			}
		})
	}
}

// Issue 13.8: a DAG of directory symlinks (each level linking twice to the
// next: 2^depth paths from a tiny tree) is walked once per real directory,
// and the number of artifacts recorded is bounded with a typed error.
func TestSymlinkDAGWalk(t *testing.T) {
	const depth = 20
	root := t.TempDir()
	for i := 0; i <= depth; i++ {
		writeFile(t, filepath.Join(root, fmt.Sprintf("d%d", i), "f"), []byte("f"))
	}
	for i := 0; i < depth; i++ {
		for _, name := range []string{"a", "b"} {
			if err := os.Symlink(fmt.Sprintf("../d%d", i+1), filepath.Join(root, fmt.Sprintf("d%d", i), name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := runner.RecordArtifacts(ctx, []string{"."}, runner.HashOptions{BasePath: root})
	if err != nil {
		t.Fatal(err)
	}
	// Each real directory's file once directly and at most once through
	// a symlink.
	if len(got) > 2*(depth+1) {
		t.Fatalf("%d artifacts from %d directories: the walk multiplies through symlinks", len(got), depth+1)
	}
	for _, p := range []string{"d0/f", "d0/a/f", fmt.Sprintf("d%d/f", depth)} {
		if _, ok := got[p]; !ok {
			t.Errorf("%s not recorded: %v", p, got.Paths())
		}
	}

	t.Run("the artifact bound", func(t *testing.T) {
		max := len(got)
		if _, err := runner.RecordArtifacts(ctx, []string{"."}, runner.HashOptions{BasePath: root, MaxArtifacts: max}); err != nil {
			t.Fatalf("control: %d artifacts under a bound of %d: %v", max, max, err)
		}
		_, err := runner.RecordArtifacts(ctx, []string{"."}, runner.HashOptions{BasePath: root, MaxArtifacts: max - 1})
		if !errors.Is(err, runner.ErrTooManyArtifacts) || !strings.Contains(err.Error(), fmt.Sprint(max-1)) {
			t.Fatalf("%d artifacts under a bound of %d: %v, want ErrTooManyArtifacts naming the bound", max, max-1, err)
		}
	})
}
