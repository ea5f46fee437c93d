package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/runner/internal/gitignore"
)

// DefaultExcludes are the exclude patterns applied unless
// HashOptions.NoDefaultExcludes is set: version-control metadata and link
// files (finished, unfinished, and half-written temporary ones), which
// would otherwise make a step's products depend on its own evidence.
var DefaultExcludes = []string{".git", "*.link", "*.link-unfinished", "*.link.tmp-*"}

// SymlinkPolicy says what to record for a symbolic link.
type SymlinkPolicy int

const (
	// FollowSymlinks records a link to a file under the link's path with
	// the target's digest, and walks a link to a directory as if it were
	// the directory, recording paths under the link's name. in-toto-run
	// and in-toto-record do this too (in_toto_run passes
	// follow_symlink_dirs=True), with three differences: a link that
	// points back to a directory being walked is an ErrSymlinkLoop (Python
	// recurses until the path is too long), a link to nothing is an
	// ErrDanglingSymlink (Python skips it with a log message), and a
	// directory already walked once through a symlink is not walked again
	// through another one, so that a tree of links cannot multiply the
	// walk (Python records every path).
	FollowSymlinks SymlinkPolicy = iota
	// RecordSymlinks records every symbolic link as itself, never
	// following it: its digest is that of the link's target path as
	// readlink returns it (the bytes git stores for a symlink).
	RecordSymlinks
)

// String returns "follow" or "record".
func (p SymlinkPolicy) String() string {
	switch p {
	case FollowSymlinks:
		return "follow"
	case RecordSymlinks:
		return "record"
	}
	return fmt.Sprintf("SymlinkPolicy(%d)", int(p))
}

// ParseSymlinkPolicy parses "follow" or "record".
func ParseSymlinkPolicy(s string) (SymlinkPolicy, error) {
	switch s {
	case "follow":
		return FollowSymlinks, nil
	case "record":
		return RecordSymlinks, nil
	}
	return 0, fmt.Errorf("unknown symlink policy %q (want follow or record)", s)
}

// Errors callers may branch on; they are wrapped with the artifact's path.
var (
	ErrDanglingSymlink = errors.New("dangling symlink")
	ErrSymlinkLoop     = errors.New("symlink loop")
	ErrNotRegular      = errors.New("not a regular file, directory or symlink")
	ErrPathCollision   = errors.New("two artifacts recorded under one path")
	// ErrChangedWhileHashing: a file's size or times changed while it was
	// read, so its digest may be of neither version.
	ErrChangedWhileHashing = errors.New("file changed while it was being hashed")
	// ErrSymlinkEscapes: under HashOptions.Confine, a symlink resolves to
	// something outside BasePath.
	ErrSymlinkEscapes = errors.New("symlink leads out of the recorded folder")
	// ErrTooManyArtifacts: the walk found more than HashOptions.MaxArtifacts
	// files.
	ErrTooManyArtifacts = errors.New("too many artifacts")
)

// DefaultMaxArtifacts bounds how many artifacts one recording may hold
// unless HashOptions.MaxArtifacts says otherwise: about 2 GB of memory.
const DefaultMaxArtifacts = 5_000_000

// HashOptions controls how artifacts are found and hashed.
type HashOptions struct {
	// Algorithms are hash algorithm names (see Algorithms); empty means
	// sha256. Every artifact gets a digest for each.
	Algorithms []string
	// NormalizeLineEndings hashes content as if "\r\n" and "\r" were "\n"
	// (see DigestOptions).
	NormalizeLineEndings bool
	// Exclude holds gitignore-style patterns matched against recorded
	// paths (relative to BasePath, before LStripPaths). An excluded
	// directory is not walked at all.
	Exclude []string
	// NoDefaultExcludes turns off DefaultExcludes.
	NoDefaultExcludes bool
	// BasePath is the directory relative paths are resolved against;
	// recorded paths stay relative to it. Empty means the working
	// directory.
	BasePath string
	// LStripPaths are prefixes removed from recorded paths, the first that
	// matches. As in the references, they are plain string prefixes, no
	// prefix may be a prefix of another, and two artifacts ending up
	// under the same path is an error.
	LStripPaths []string
	// Symlinks chooses between following and recording symbolic links.
	Symlinks SymlinkPolicy
	// Confine refuses (ErrSymlinkEscapes) to follow a symlink that
	// resolves outside BasePath, as the inspection sandbox needs: what it
	// records must be the sandbox, not the verifier's machine.
	Confine bool
	// MaxArtifacts bounds the number of artifacts recorded
	// (ErrTooManyArtifacts); 0 means DefaultMaxArtifacts.
	MaxArtifacts int
	// Workers is the number of files hashed at once; 0 means GOMAXPROCS.
	Workers int
	// Progress, if not nil, is updated as files are found and hashed.
	Progress *Progress
	// open replaces os.Open in tests.
	open func(string) (io.ReadCloser, error)
}

// Progress counts work done by RecordArtifacts. It is safe to read from
// another goroutine while recording runs.
type Progress struct {
	found, files, bytes atomic.Int64
}

// ProgressStats is a snapshot of Progress.
type ProgressStats struct {
	// Found is the number of files queued for hashing so far.
	Found int64
	// Files is the number of files hashed.
	Files int64
	// Bytes is the number of bytes read.
	Bytes int64
}

// Stats returns the current counts.
func (p *Progress) Stats() ProgressStats {
	return ProgressStats{Found: p.found.Load(), Files: p.files.Load(), Bytes: p.bytes.Load()}
}

// RecordArtifacts hashes the files at paths, walking directories, and
// returns them keyed by path with forward slashes, the way in-toto-run
// records materials and products: a relative path is recorded relative to
// BasePath as given (cleaned, without "./"), an absolute one as absolute.
//
// Files are read streaming, in parallel. A missing path, an unreadable
// file, a dangling symlink or a symlink loop is an error naming the path;
// nothing is returned then.
func RecordArtifacts(ctx context.Context, paths []string, opts HashOptions) (link.Artifacts, error) {
	w, err := newWalker(opts)
	if err != nil {
		return nil, err
	}
	return w.run(ctx, paths)
}

type job struct {
	key    string // recorded path, after lstrip
	fsPath string // where to read it
	// target is set (and the link itself recorded) under RecordSymlinks.
	target  string
	symlink bool
}

type result struct {
	key string
	ds  link.DigestSet
}

type walker struct {
	opts    HashOptions
	algs    []string
	match   *gitignore.Matcher
	open    func(string) (io.ReadCloser, error)
	workers int

	seen map[string]string // key -> fsPath, to catch collisions
	jobs chan job
	// walked holds the directories walked so far through a symlink.
	walked    []os.FileInfo
	walkedIDs map[fileID]bool
	// root is BasePath resolved, for Confine.
	root string
	max  int
}

func newWalker(opts HashOptions) (*walker, error) {
	algs, err := checkAlgorithms(opts.Algorithms)
	if err != nil {
		return nil, err
	}
	var patterns []string
	if !opts.NoDefaultExcludes {
		patterns = append(patterns, DefaultExcludes...)
	}
	patterns = append(patterns, opts.Exclude...)
	m, err := gitignore.Compile(patterns)
	if err != nil {
		return nil, err
	}
	for i, a := range opts.LStripPaths {
		if a == "" {
			return nil, errors.New("lstrip prefix must not be empty")
		}
		for _, b := range opts.LStripPaths[i+1:] {
			if strings.HasPrefix(a, b) || strings.HasPrefix(b, a) {
				return nil, fmt.Errorf("lstrip prefixes %q and %q overlap: one is a prefix of the other", a, b)
			}
		}
	}
	if opts.Symlinks != FollowSymlinks && opts.Symlinks != RecordSymlinks {
		return nil, fmt.Errorf("unknown symlink policy %d", opts.Symlinks)
	}
	w := &walker{opts: opts, algs: algs, match: m, open: opts.open, workers: opts.Workers, max: opts.MaxArtifacts}
	if w.max <= 0 {
		w.max = DefaultMaxArtifacts
	}
	if opts.Confine {
		base := opts.BasePath
		if base == "" {
			base = "."
		}
		if base, err = filepath.Abs(base); err == nil {
			base, err = filepath.EvalSymlinks(base)
		}
		if err != nil {
			return nil, fmt.Errorf("base path: %w", err)
		}
		w.root = base
	}
	if w.open == nil {
		w.open = openForHash
	}
	if w.workers <= 0 {
		w.workers = runtime.GOMAXPROCS(0)
	}
	return w, nil
}

func (w *walker) run(ctx context.Context, paths []string) (link.Artifacts, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	w.seen = map[string]string{}
	w.walkedIDs = map[fileID]bool{}
	w.walked = nil
	w.jobs = make(chan job, 4*w.workers)
	results := make([][]result, w.workers)
	var wg sync.WaitGroup
	for i := 0; i < w.workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = w.hashJobs(ctx, cancel)
		}(i)
	}

	var walkErr error
	for _, p := range paths {
		if walkErr = w.top(ctx, p); walkErr != nil {
			cancel(walkErr) // stop the workers early
			break
		}
	}
	close(w.jobs)
	wg.Wait()
	// The first failure, walker's or worker's, or the caller's
	// cancellation.
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	out := make(link.Artifacts, len(w.seen))
	for _, rs := range results {
		for _, r := range rs {
			out[r.key] = r.ds
		}
	}
	return out, nil
}

func (w *walker) hashJobs(ctx context.Context, fail context.CancelCauseFunc) []result {
	d := newDigester(w.algs, w.opts.NormalizeLineEndings)
	var out []result
	var bytesCounter *atomic.Int64
	if w.opts.Progress != nil {
		bytesCounter = &w.opts.Progress.bytes
	}
	for j := range w.jobs {
		if ctx.Err() != nil {
			continue // drain so the walker never blocks
		}
		var ds link.DigestSet
		var err error
		if j.symlink {
			d.normalize = false // a link target is not text to normalise
			ds, _, err = d.digest(strings.NewReader(j.target), nil)
			d.normalize = w.opts.NormalizeLineEndings
		} else {
			ds, err = w.hashFile(d, j.fsPath, bytesCounter)
		}
		if err != nil {
			fail(fmt.Errorf("artifact %q: %w", j.key, err))
			continue
		}
		if w.opts.Progress != nil {
			w.opts.Progress.files.Add(1)
		}
		out = append(out, result{key: j.key, ds: ds})
	}
	return out
}

func (w *walker) hashFile(d *digester, p string, counter *atomic.Int64) (link.DigestSet, error) {
	f, err := w.open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, _ := f.(stater)
	var before fileState
	if st != nil {
		if before, err = st.state(); err != nil {
			return nil, err
		}
	}
	ds, n, err := d.digest(f, counter)
	var pe *fs.PathError
	if err != nil && !errors.As(err, &pe) {
		return nil, fmt.Errorf("read %s: %w", p, err) // name the file
	}
	if err != nil || st == nil {
		return ds, err
	}
	// A writer racing the read leaves a digest of neither version: compare
	// the file's size and times before and after. (Not the bytes read:
	// files in /proc and /sys report sizes that are not their length.)
	after, err := st.state()
	if err != nil {
		return nil, err
	}
	if after != before {
		return nil, fmt.Errorf("%w: %s (%d bytes before, %d read, %d after)", ErrChangedWhileHashing, p, before.size, n, after.size)
	}
	return ds, nil
}

// fileState is what tells a file changed: its size and its modification
// and status-change times.
type fileState struct {
	size         int64
	mtime, ctime int64 // nanoseconds
}

// stater is implemented by files that can report their state while open.
type stater interface {
	state() (fileState, error)
}

// top records one path as given by the caller.
func (w *walker) top(ctx context.Context, p string) error {
	if p == "" {
		return errors.New("empty artifact path")
	}
	rec := filepath.ToSlash(filepath.Clean(p))
	fsPath := p
	if !filepath.IsAbs(p) && w.opts.BasePath != "" {
		fsPath = filepath.Join(w.opts.BasePath, p)
	}
	if w.match.MatchParents(rec) {
		return nil
	}
	fi, err := os.Lstat(fsPath)
	if err != nil {
		if w.excluded(rec, false) {
			return nil
		}
		return fmt.Errorf("artifact %q: %w", rec, err)
	}
	return w.entry(ctx, rec, fsPath, fi.Mode().Type(), nil, true)
}

// excluded matches an entry whose parents are known not to be excluded.
// The walk root "." is never excluded.
func (w *walker) excluded(rec string, isDir bool) bool {
	return rec != "." && w.match.MatchEntry(rec, isDir)
}

// entry handles one path found by the caller or in a directory. typ is its
// type without following links; stack holds the directories being walked,
// for loop detection. Excludes are checked before anything is read, so an
// excluded directory is never opened.
func (w *walker) entry(ctx context.Context, rec, fsPath string, typ fs.FileMode, stack []os.FileInfo, explicit bool) error {
	switch {
	case typ.IsDir():
		if w.excluded(rec, true) {
			return nil
		}
		fi, err := os.Stat(fsPath)
		if err != nil {
			return fmt.Errorf("artifact %q: %w", rec, err)
		}
		return w.dir(ctx, rec, fsPath, fi, stack)
	case typ&fs.ModeSymlink != 0:
		if w.opts.Symlinks == RecordSymlinks {
			if w.excluded(rec, false) {
				return nil
			}
			target, err := os.Readlink(fsPath)
			if err != nil {
				return fmt.Errorf("artifact %q: %w", rec, err)
			}
			return w.emit(ctx, job{fsPath: fsPath, target: target, symlink: true}, rec)
		}
		if w.opts.Confine {
			if err := w.confined(rec, fsPath); err != nil {
				return err
			}
		}
		fi, err := os.Stat(fsPath)
		if err != nil {
			if w.excluded(rec, false) {
				return nil
			}
			target, _ := os.Readlink(fsPath)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				return fmt.Errorf("artifact %q: %w to %q", rec, ErrDanglingSymlink, target)
			case errors.Is(err, syscall.ELOOP):
				return fmt.Errorf("artifact %q: %w: %q resolves back to itself", rec, ErrSymlinkLoop, target)
			}
			return fmt.Errorf("artifact %q: %w", rec, err)
		}
		if w.excluded(rec, fi.IsDir()) {
			return nil
		}
		switch {
		case fi.IsDir():
			for _, anc := range stack {
				if os.SameFile(anc, fi) {
					target, _ := os.Readlink(fsPath)
					return fmt.Errorf("artifact %q: %w: %q points back to a directory being walked", rec, ErrSymlinkLoop, target)
				}
			}
			// Each directory is walked through symlinks once: a tree of
			// links to links (a DAG) would otherwise multiply the walk,
			// 84 KB of tree becoming hundreds of thousands of paths.
			if w.seenDir(fi) {
				return nil
			}
			return w.dir(ctx, rec, fsPath, fi, stack)
		case fi.Mode().IsRegular():
			return w.emit(ctx, job{fsPath: fsPath}, rec)
		}
		return w.special(rec, explicit)
	}
	if w.excluded(rec, false) {
		return nil
	}
	if typ.IsRegular() {
		return w.emit(ctx, job{fsPath: fsPath}, rec)
	}
	return w.special(rec, explicit)
}

// confined checks that the symlink at fsPath resolves inside the root.
func (w *walker) confined(rec, fsPath string) error {
	abs, err := filepath.Abs(fsPath)
	if err != nil {
		return fmt.Errorf("artifact %q: %w", rec, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil // dangling or looping: reported as such by the caller
	}
	if rel, err := filepath.Rel(w.root, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		target, _ := os.Readlink(fsPath)
		return fmt.Errorf("artifact %q: %w: %q resolves to %s", rec, ErrSymlinkEscapes, target, real)
	}
	return nil
}

// seenDir reports whether the directory was already walked through a
// symlink, and remembers it.
func (w *walker) seenDir(fi os.FileInfo) bool {
	if id, ok := idOf(fi); ok {
		if w.walkedIDs[id] {
			return true
		}
		w.walkedIDs[id] = true
		return false
	}
	for _, d := range w.walked {
		if os.SameFile(d, fi) {
			return true
		}
	}
	w.walked = append(w.walked, fi)
	return false
}

// special handles sockets, devices and FIFOs: reading a FIFO could block
// forever, so they are skipped inside directories (as in-toto-run does) and
// refused when named explicitly.
func (w *walker) special(rec string, explicit bool) error {
	if explicit {
		return fmt.Errorf("artifact %q: %w", rec, ErrNotRegular)
	}
	return nil
}

func (w *walker) dir(ctx context.Context, rec, fsPath string, fi os.FileInfo, stack []os.FileInfo) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ents, err := os.ReadDir(fsPath)
	if err != nil {
		return fmt.Errorf("artifact %q: %w", rec, err)
	}
	stack = append(stack, fi)
	for _, e := range ents {
		child := e.Name()
		if rec != "." {
			child = rec + "/" + child
		}
		if err := w.entry(ctx, child, filepath.Join(fsPath, e.Name()), e.Type(), stack, false); err != nil {
			return err
		}
	}
	return nil
}

// emit applies lstrip, checks the key is unique and queues the file.
func (w *walker) emit(ctx context.Context, j job, rec string) error {
	key := rec
	for _, prefix := range w.opts.LStripPaths {
		if strings.HasPrefix(key, prefix) {
			key = key[len(prefix):]
			break
		}
	}
	if key == "" {
		return fmt.Errorf("artifact %q: lstrip leaves an empty path", rec)
	}
	if prev, ok := w.seen[key]; ok {
		if prev == j.fsPath {
			return nil // the same file named twice, e.g. "-m . -m a"
		}
		return fmt.Errorf("artifact %q: %w: %q (from %s and %s)", rec, ErrPathCollision, key, prev, j.fsPath)
	}
	if len(w.seen) >= w.max {
		return fmt.Errorf("artifact %q: %w: more than %d", rec, ErrTooManyArtifacts, w.max)
	}
	w.seen[key] = j.fsPath
	j.key = key
	if w.opts.Progress != nil {
		w.opts.Progress.found.Add(1)
	}
	select {
	case w.jobs <- j:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
