package verifier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	// Links may come as keyed Sigstore bundles: linking package bundle
	// registers that envelope format.
	_ "github.com/toto-dev/toto/bundle"
	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
)

// DefaultMaxLinkSize bounds the size of each link file a DirSource reads. A link
// for 100,000 artifacts is about 20 MB.
const DefaultMaxLinkSize = 256 << 20

// DefaultMaxTotalSize bounds how much evidence one DirSource (with its sublayout
// folders) reads in all, so that many large files cannot exhaust memory
// even though each is under DefaultMaxLinkSize.
const DefaultMaxTotalSize = 2 << 30

// DirSource is a LinkSource reading a links folder laid out as the reference
// implementations write it: "<step>.<keyid prefix>.link" files, and for a
// sublayout provided by a functionary, a folder "<step>.<keyid prefix>"
// beside its ".link" file holding the sublayout's links.
//
// Everything is read through an os.Root, so no file name, symlink or step
// name in a (signed but untrusted) layout can make it read outside the
// folder; files larger than MaxFileSize are refused.
type DirSource struct {
	// MaxFileSize bounds each file read; 0 means DefaultMaxLinkSize.
	MaxFileSize int64
	// MaxTotalSize bounds the bytes read by this DirSource and the sublayout
	// folders opened from it together; 0 means DefaultMaxTotalSize.
	MaxTotalSize int64

	path  string
	root  *os.Root
	spent *atomic.Int64 // shared with sublayout folders

	mu       sync.Mutex
	names    []string // regular files and symlinks in the folder, sorted
	listErr  error
	listed   bool
	children []*DirSource
}

// OpenDir opens a links folder. Close it when done.
func OpenDir(path string) (*DirSource, error) {
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("links folder: %w", err)
	}
	return &DirSource{path: path, root: root, spent: new(atomic.Int64)}, nil
}

// Close releases the folder and any sublayout folders opened from it.
func (d *DirSource) Close() error {
	d.mu.Lock()
	children := d.children
	d.children = nil
	d.mu.Unlock()
	var errs []error
	for _, c := range children {
		errs = append(errs, c.Close())
	}
	errs = append(errs, d.root.Close())
	return errors.Join(errs...)
}

// Path returns the folder's path (LinkLister).
func (d *DirSource) Path() string { return d.path }

// LinkNames lists the files named "*.link" in the folder (LinkLister).
func (d *DirSource) LinkNames() ([]string, error) {
	names, err := d.list()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		if strings.HasSuffix(n, ".link") {
			out = append(out, n)
		}
	}
	return out, nil
}

func (d *DirSource) list() ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.listed {
		return d.names, d.listErr
	}
	d.listed = true
	f, err := d.root.Open(".")
	if err != nil {
		d.listErr = err
		return nil, err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		d.listErr = fmt.Errorf("read links folder %s: %w", d.path, err)
		return nil, d.listErr
	}
	for _, e := range entries {
		if !e.IsDir() {
			d.names = append(d.names, e.Name())
		}
	}
	sort.Strings(d.names)
	return d.names, nil
}

// isLinkFileFor reports whether name is "<step>.<keyid prefix>.link". The
// keyid part may not contain a dot, so that the links of step "a" and of
// step "a.b" are told apart.
func isLinkFileFor(name, step string) bool {
	rest, ok := strings.CutPrefix(name, step+".")
	if !ok {
		return false
	}
	id, ok := strings.CutSuffix(rest, ".link")
	return ok && id != "" && !strings.Contains(id, ".")
}

// Links reads every link file for step.
func (d *DirSource) Links(ctx context.Context, step string) ([]LinkFile, error) {
	names, err := d.list()
	if err != nil {
		return nil, err
	}
	var out []LinkFile
	for _, name := range names {
		if !isLinkFileFor(name, step) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return out, err
		}
		lf := LinkFile{Name: name}
		data, err := d.read(name)
		if err == nil {
			lf.Envelope, err = envelope.Parse(data)
		}
		if err != nil {
			lf.Err = err
		}
		out = append(out, lf)
	}
	return out, nil
}

// ReadFile reads a file of the folder with the same bounds as link files.
func (d *DirSource) ReadFile(name string) ([]byte, error) { return d.read(name) }

func (d *DirSource) read(name string) ([]byte, error) {
	max := d.MaxFileSize
	if max <= 0 {
		max = DefaultMaxLinkSize
	}
	// Look before opening: opening a FIFO for reading blocks until
	// someone writes to it, forever in a links folder. O_NONBLOCK covers
	// a file swapped for one in between (it does nothing to regular
	// files).
	if st, err := d.root.Stat(name); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", name, st.Mode().Type())
	}
	f, err := d.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s is %d bytes, more than the limit of %d", name, st.Size(), max)
	}
	total := d.MaxTotalSize
	if total <= 0 {
		total = DefaultMaxTotalSize
	}
	if d.spent.Add(st.Size()) > total {
		return nil, fmt.Errorf("%s: the links folder holds more than %d bytes of evidence in all; refusing to read more", name, total)
	}
	// Read into a buffer of the file's size: io.ReadAll grows by doubling,
	// which for a link of 100,000 artifacts allocates about twice the file.
	var buf bytes.Buffer
	buf.Grow(int(st.Size()) + bytes.MinRead)
	if _, err := buf.ReadFrom(io.LimitReader(f, max+1)); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is more than the limit of %d bytes", name, max)
	}
	return data, nil
}

// Sublayout opens the folder "<step>.<keyid prefix>" holding the links of
// the sublayout that keyID provided for step.
func (d *DirSource) Sublayout(step, keyID string) (LinkSource, error) {
	name := step + "." + keys.ShortID(keyID)
	if strings.ContainsAny(name, `/\`+"\x00") || !filepath.IsLocal(name) {
		return nil, fmt.Errorf("sublayout links folder %q would not be inside %s", name, d.path)
	}
	// A symlinked folder (each pointing at ".", say) would let sublayouts
	// fan out as n^depth over one folder: only real folders count.
	if st, err := d.root.Lstat(name); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("sublayout links folder %s: %w", filepath.Join(d.path, name), ErrSymlinkedSublayoutFolder)
	}
	r, err := d.root.OpenRoot(name)
	if err != nil {
		return nil, fmt.Errorf("sublayout links folder: %w", err)
	}
	c := &DirSource{MaxFileSize: d.MaxFileSize, MaxTotalSize: d.MaxTotalSize, path: filepath.Join(d.path, name), root: r, spent: d.spent}
	d.mu.Lock()
	d.children = append(d.children, c)
	d.mu.Unlock()
	return c, nil
}

// MemSource is a LinkSource holding evidence in memory, for links that
// come from somewhere other than a folder (an API, an archive, a test).
type MemSource struct {
	// Steps maps a step name to its evidence.
	Steps map[string][]LinkFile
	// Sublayouts maps "<step>.<keyid prefix>" to the evidence of a
	// sublayout, as DirSource lays it out in folders.
	Sublayouts map[string]*MemSource
}

// Links returns the evidence for step.
func (m *MemSource) Links(ctx context.Context, step string) ([]LinkFile, error) {
	return m.Steps[step], nil
}

// Sublayout returns the evidence of the sublayout keyID provided for step.
func (m *MemSource) Sublayout(step, keyID string) (LinkSource, error) {
	name := step + "." + keys.ShortID(keyID)
	if s, ok := m.Sublayouts[name]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("no links for sublayout %s", name)
}
