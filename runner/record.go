package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/internal/boundedio"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
)

// ErrNoUnfinished is returned by RecordStop when no preliminary link from
// RecordStart is found.
var ErrNoUnfinished = errors.New("no preliminary link")

// maxLinkSize bounds how much of a preliminary link is read.
const maxLinkSize = 256 << 20

// RecordOptions describes one half of a step recorded in two parts, for
// steps that are not a single command (in-toto-record start/stop).
type RecordOptions struct {
	// Name is the step name.
	Name string
	// Paths are the materials (start) or products (stop).
	Paths []string
	// Hash controls how artifacts are found and hashed.
	Hash HashOptions
	// Environment is recorded at start.
	Environment EnvironmentOptions
	// Key signs the preliminary and the final link; stop only accepts a
	// preliminary link signed by it.
	Key *keys.Key
	// Format is the final link's format. The preliminary link is a
	// Metablock, which in-toto-record also reads, unless Format asks for
	// DSSE (then it is a DSSE link; a link without products cannot be a
	// Statement).
	Format LinkFormat
	// StateDir holds the preliminary link between start and stop; empty
	// means the working directory, where in-toto-record keeps it too.
	StateDir string
	// OutDir receives the final link; empty means the working directory.
	OutDir string
}

// RecordStart records the materials, signs a preliminary link and stores it
// as StateDir/UnfinishedFileName(name, keyid). It returns that path.
func RecordStart(ctx context.Context, o RecordOptions) (string, ProgressStats, error) {
	if o.Key == nil {
		return "", ProgressStats{}, errors.New("record start: no signing key")
	}
	l, stats, err := Start(ctx, o.Name, o.Paths, o.Hash, o.Environment)
	if err != nil {
		return "", stats, err
	}
	f := Metablock
	if o.Format != Metablock {
		f = DSSE
	}
	env, err := Sign(ctx, l, o.Key, f)
	if err != nil {
		return "", stats, err
	}
	path, err := writeEnvelope(filepath.Join(o.StateDir, UnfinishedFileName(o.Name, o.Key.ID())), env)
	return path, stats, err
}

// RecordStop finds the preliminary link RecordStart left for the step and
// key, checks its signature, records the products, writes the final signed
// link to OutDir/link.FileName(name, keyid) and removes the preliminary one.
// It returns the final link's path and the link (for what callers derive
// from it, such as SLSA provenance).
func RecordStop(ctx context.Context, o RecordOptions) (string, *link.Link, ProgressStats, error) {
	if o.Key == nil {
		return "", nil, ProgressStats{}, errors.New("record stop: no signing key")
	}
	prelimPath, prelim, err := loadUnfinished(o.StateDir, o.Name, o.Key)
	if err != nil {
		return "", nil, ProgressStats{}, err
	}
	l, stats, err := Stop(ctx, prelim, o.Paths, o.Hash)
	if err != nil {
		return "", nil, stats, err
	}
	path, err := Write(ctx, o.OutDir, l, o.Key, o.Format)
	if err != nil {
		return "", nil, stats, err
	}
	if err := os.Remove(prelimPath); err != nil {
		return path, l, stats, fmt.Errorf("link written to %s, but removing %s: %w", path, prelimPath, err)
	}
	return path, l, stats, nil
}

// loadUnfinished reads and verifies the preliminary link. It looks under
// every keyid the references might have used for the key, so that a start
// by in-toto-record can be stopped by toto.
func loadUnfinished(dir, name string, k *keys.Key) (string, *link.Link, error) {
	var path string
	var data []byte
	for _, id := range k.IDs() {
		p := filepath.Join(dir, UnfinishedFileName(name, id))
		b, err := boundedio.ReadFile(p, maxLinkSize)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", nil, err
		}
		path, data = p, b
		break
	}
	if path == "" {
		return "", nil, fmt.Errorf("%w for step %q and key %s: %s not found; run 'record start' first",
			ErrNoUnfinished, name, keys.ShortID(k.ID()), filepath.Join(dir, UnfinishedFileName(name, k.ID())))
	}
	env, err := envelope.Parse(data)
	if err != nil {
		return "", nil, fmt.Errorf("preliminary link %s: %w", path, err)
	}
	if err := env.Verify(k.Public()); err != nil {
		return "", nil, fmt.Errorf("preliminary link %s: %w", path, err)
	}
	l, err := link.Parse(env.Payload())
	if err != nil {
		return "", nil, fmt.Errorf("preliminary link %s: %w", path, err)
	}
	if l.Name != name {
		return "", nil, fmt.Errorf("preliminary link %s is for step %q, not %q", path, l.Name, name)
	}
	return path, l, nil
}
