package sbom

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FromFiles returns an inventory with one file component per path, named by
// the path as given (slash-separated) and carrying its SHA-1, SHA-256 and
// SHA-512 digests. Files are hashed in parallel.
func FromFiles(ctx context.Context, paths []string, opts ...Option) (*Inventory, error) {
	o := buildOptions(opts)
	names := make([]string, len(paths))
	for i, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("sbom: %w", err)
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("sbom: %s is not a regular file", p)
		}
		names[i] = filepath.ToSlash(filepath.Clean(p))
	}
	inv, err := filesInventory(ctx, paths, names)
	if err != nil {
		return nil, err
	}
	inv.Name = o.name
	if inv.Name == "" && len(paths) == 1 {
		inv.Name = filepath.Base(paths[0])
	}
	if inv.Name == "" {
		inv.Name = "artifacts"
	}
	return inv, nil
}

// FromDir walks root and returns one file component per regular file,
// named by its slash-separated path relative to root. Symbolic links to
// regular files are followed (the file's content is what a consumer gets);
// links to directories are not descended into, so link cycles cannot loop.
func FromDir(ctx context.Context, root string, opts ...Option) (*Inventory, error) {
	o := buildOptions(opts)
	var paths, names []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			st, err := os.Stat(p)
			if err != nil || !st.Mode().IsRegular() {
				return nil // dangling link or link to a directory
			}
		} else if !d.Type().IsRegular() {
			return nil // sockets, devices, fifos
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		paths = append(paths, p)
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sbom: walk %s: %w", root, err)
	}
	inv, err := filesInventory(ctx, paths, names)
	if err != nil {
		return nil, err
	}
	inv.Name = o.name
	if inv.Name == "" {
		abs, err := filepath.Abs(root)
		if err != nil {
			abs = root
		}
		inv.Name = filepath.Base(abs)
	}
	return inv, nil
}

func filesInventory(ctx context.Context, paths, names []string) (*Inventory, error) {
	digests, err := hashFiles(ctx, paths)
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	inv := &Inventory{Components: make([]Component, len(paths))}
	for i := range paths {
		inv.Components[i] = Component{Type: TypeFile, Name: names[i], Hashes: digests[i]}
	}
	inv.Normalize()
	return inv, nil
}

// errNotApplicable marks an input a collector does not understand (for
// example a file that is not a Go binary), so that ForArtifacts can try the
// next one.
var errNotApplicable = errors.New("not applicable")
