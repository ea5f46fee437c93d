package verifier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/runner"
)

// DefaultInspectionTimeout is how long an inspection may run. (The Python
// reference kills inspections after 10 seconds; builds-as-inspections
// need longer.)
const DefaultInspectionTimeout = 10 * time.Minute

// SandboxRunner is the default InspectionRunner. The Python reference runs
// inspections in the verifier's working directory and records all of it
// as materials and products; SandboxRunner does the same in a fresh
// temporary copy of Dir, so an inspection (an "untar", say) cannot change
// the user's tree, and throws the copy away afterwards. The copy is not a
// security boundary: the commands come from the signed layout and run with
// the verifier's rights.
type SandboxRunner struct {
	// Dir is the directory inspections see a copy of; "" means the
	// current directory.
	Dir string
	// Timeout kills an inspection after this long; 0 means
	// DefaultInspectionTimeout.
	Timeout time.Duration
	// Stdout and Stderr receive the inspections' output live; nil
	// discards it (it is still recorded in the inspection's link).
	Stdout, Stderr io.Writer
	// Hash controls how the sandbox's artifacts are recorded (the
	// defaults record sha256 like the references; BasePath is set by the
	// runner).
	Hash runner.HashOptions
}

// RunInspection copies Dir to a temporary directory, records it, runs the
// inspection there, and records it again.
func (s *SandboxRunner) RunInspection(ctx context.Context, in layout.Inspection) (*InspectionRun, error) {
	if len(in.Run) == 0 {
		return nil, errors.New("the inspection has no command to run")
	}
	src := s.Dir
	if src == "" {
		src = "."
	}
	src, err := filepath.Abs(src)
	if err != nil {
		return nil, err
	}
	// A workdir reached through a symlink would be copied as that symlink,
	// and the inspection would then run in the real folder: resolve it
	// first, so that what is copied is the folder itself.
	if src, err = filepath.EvalSymlinks(src); err != nil {
		return nil, fmt.Errorf("inspection workdir: %w", err)
	}
	if st, err := os.Stat(src); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("inspection workdir %s is not a folder", src)
	}
	tmp, err := os.MkdirTemp("", "toto-inspection-")
	if err != nil {
		return nil, fmt.Errorf("create sandbox: %w", err)
	}
	defer os.RemoveAll(tmp)
	work := filepath.Join(tmp, "work")
	if err := copyTree(ctx, src, work, tmp); err != nil {
		return nil, fmt.Errorf("copy %s into the sandbox: %w", src, err)
	}
	// Never run anywhere but in the private copy: a real folder, not a
	// symlink out of the sandbox.
	if st, err := os.Lstat(work); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("sandbox %s is not a private folder; refusing to run the inspection", work)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultInspectionTimeout
	}
	hash := s.Hash
	hash.BasePath = work
	res, err := runner.Run(ctx, runner.Options{
		Name:      in.Name,
		Materials: []string{"."},
		Products:  []string{"."},
		Command:   in.Run,
		Hash:      hash,
		Exec:      runner.ExecOptions{Dir: work, Stdout: s.Stdout, Stderr: s.Stderr, Timeout: timeout},
	})
	if err != nil {
		return nil, err
	}
	return &InspectionRun{Link: res.Link, ExitCode: res.ExitCode()}, nil
}

// copyTree copies regular files, directories and symlinks (as symlinks)
// from src to dst, skipping skip (the sandbox itself, should it lie inside
// src) and anything else (sockets, devices).
func copyTree(ctx context.Context, src, dst, skip string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == skip {
			return filepath.SkipDir
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			to, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(to, target)
		case d.Type().IsRegular():
			return copyFile(p, target)
		}
		return nil
	})
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, st.Mode().Perm()|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
