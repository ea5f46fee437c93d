package verifier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/runner"
)

// DefaultInspectionTimeout is how long an inspection may run. (The Python
// reference kills inspections after 10 seconds; builds-as-inspections
// need longer.)
const DefaultInspectionTimeout = 10 * time.Minute

// SandboxRunner is the default InspectionRunner. The references run a
// layout's inspections one after another in the verifier's working
// directory and record all of it as materials and products; SandboxRunner
// does the same in one fresh private copy of Dir per layout, so that an
// inspection (an "untar", say) cannot change the user's tree, and throws
// the copy away afterwards. The copy is not a security boundary: the
// commands come from a signed layout and run with the verifier's rights.
type SandboxRunner struct {
	// Dir is the directory inspections see a copy of; "" means the
	// current directory.
	Dir string
	// Timeout bounds each phase that can be made to take long: copying
	// Dir into the sandbox, and each inspection as a whole (recording,
	// command, recording). 0 means DefaultInspectionTimeout.
	Timeout time.Duration
	// Stdout and Stderr receive the inspections' output live; nil
	// discards it (it is still recorded in the inspection's link).
	Stdout, Stderr io.Writer
	// Hash controls how the sandbox's artifacts are recorded. The runner
	// sets BasePath, records everything (no default excludes: a package
	// must not hide a .git folder or a *.link file from DISALLOW rules)
	// and refuses symlinks that lead out of the sandbox.
	Hash runner.HashOptions
}

// Workspace copies Dir into a new private folder and returns it as the
// workspace for one layout's inspections.
func (s *SandboxRunner) Workspace(ctx context.Context) (InspectionWorkspace, error) {
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
	timeout := s.timeout()
	cctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("%w: copying %s into the sandbox took longer than %v", runner.ErrTimeout, src, timeout))
	defer cancel()
	work := filepath.Join(tmp, "work")
	if err := copyTree(cctx, src, work, tmp); err != nil {
		os.RemoveAll(tmp)
		if cause := context.Cause(cctx); cause != nil {
			err = cause
		}
		return nil, fmt.Errorf("copy %s into the sandbox: %w", src, err)
	}
	// Never run anywhere but in the private copy: a real folder, not a
	// symlink out of the sandbox.
	if st, err := os.Lstat(work); err != nil || !st.IsDir() {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("sandbox %s is not a private folder; refusing to run inspections", work)
	}
	hash := s.Hash
	hash.BasePath = work
	hash.NoDefaultExcludes = true
	hash.Confine = true
	return &sandbox{tmp: tmp, work: work, timeout: timeout, hash: hash, stdout: s.Stdout, stderr: s.Stderr}, nil
}

func (s *SandboxRunner) timeout() time.Duration {
	if s.Timeout <= 0 {
		return DefaultInspectionTimeout
	}
	return s.Timeout
}

// sandbox is the private copy one layout's inspections share.
type sandbox struct {
	tmp, work      string
	timeout        time.Duration
	hash           runner.HashOptions
	stdout, stderr io.Writer
}

// Inspect records the sandbox, lets admit judge it, runs the command and
// records the sandbox again, all within the timeout.
func (b *sandbox) Inspect(ctx context.Context, in layout.Inspection, admit func(link.Artifacts) error) (*InspectionRun, error) {
	if len(in.Run) == 0 {
		return nil, errors.New("the inspection has no command to run")
	}
	ctx, cancel := context.WithTimeoutCause(ctx, b.timeout, fmt.Errorf("%w: inspection %s took longer than %v", runner.ErrTimeout, in.Name, b.timeout))
	defer cancel()
	cause := func(err error) error {
		if c := context.Cause(ctx); c != nil {
			return c
		}
		return err
	}
	materials, err := runner.RecordArtifacts(ctx, []string{"."}, b.hash)
	if err != nil {
		return nil, fmt.Errorf("record materials: %w", cause(err))
	}
	if err := admit(materials); err != nil {
		return nil, err
	}
	x, err := runner.Exec(ctx, in.Run, runner.ExecOptions{Dir: b.work, Stdout: b.stdout, Stderr: b.stderr})
	if err != nil {
		return nil, cause(err)
	}
	products, err := runner.RecordArtifacts(ctx, []string{"."}, b.hash)
	if err != nil {
		return nil, fmt.Errorf("record products: %w", cause(err))
	}
	return &InspectionRun{
		Link: &link.Link{
			Name:        in.Name,
			Command:     slices.Clone(in.Run),
			Materials:   materials,
			Products:    products,
			ByProducts:  runner.Byproducts(x),
			Environment: map[string]any{},
		},
		ExitCode: x.ExitCode,
	}, nil
}

// Close removes the sandbox.
func (b *sandbox) Close() error { return os.RemoveAll(b.tmp) }

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
			return copyFile(ctx, p, target)
		}
		return nil
	})
}

// copyFile copies a regular file, keeping holes as holes (a sparse file
// of terabytes must not fill the disk), and stops when ctx is done.
func copyFile(ctx context.Context, from, to string) error {
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
	if err := copyData(ctx, in, out, st.Size()); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyData copies the data segments of in (as SEEK_DATA and SEEK_HOLE
// find them, or all of it where the system cannot say) and sets out to
// size, so that holes stay unallocated.
func copyData(ctx context.Context, in, out *os.File, size int64) error {
	buf := make([]byte, 1<<20)
	copyRange := func(off, end int64) error {
		for off < end {
			if err := ctx.Err(); err != nil {
				return err
			}
			n := int64(len(buf))
			if end-off < n {
				n = end - off
			}
			m, err := in.ReadAt(buf[:n], off)
			if m > 0 {
				if _, werr := out.WriteAt(buf[:m], off); werr != nil {
					return werr
				}
			}
			off += int64(m)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	for off := int64(0); off < size; {
		data, err := seekData(in, off)
		if err != nil {
			if errors.Is(err, errNoMoreData) {
				break
			}
			// Holes unknown here: copy the rest as it is.
			if err := copyRange(off, size); err != nil {
				return err
			}
			break
		}
		hole, err := seekHole(in, data)
		if err != nil {
			hole = size
		}
		if err := copyRange(data, hole); err != nil {
			return err
		}
		off = hole
	}
	return out.Truncate(size)
}
