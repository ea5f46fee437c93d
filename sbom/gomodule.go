package sbom

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

// FromGoModule reads a module's go.mod (path may name the go.mod file or
// its directory) and the go.sum beside it. The main module becomes Root;
// every required module, after replace directives, becomes a library
// component with its go.sum hash ("go:sum") and its license from the
// module cache. Since Go 1.17 go.mod lists every module needed to build the
// main module's packages, so no network or module graph walk is needed.
// A missing go.sum only means no hashes.
func FromGoModule(ctx context.Context, path string, opts ...Option) (*Inventory, error) {
	o := buildOptions(opts)
	gomod := path
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		gomod = filepath.Join(path, "go.mod")
	}
	data, err := os.ReadFile(gomod)
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	mf, err := modfile.Parse(gomod, data, nil)
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	if mf.Module == nil || mf.Module.Mod.Path == "" {
		return nil, fmt.Errorf("sbom: %s: no module directive", gomod)
	}
	dir := filepath.Dir(gomod)
	sums, err := readGoSum(filepath.Join(dir, "go.sum"))
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	mainPath := mf.Module.Mod.Path
	root := &Component{
		Type:    TypeApplication,
		Name:    mainPath,
		PURL:    golangPURL(mainPath, ""),
		License: DetectDirLicense(dir),
	}
	if mf.Go != nil {
		root.Properties = map[string]string{"go:go": mf.Go.Version}
	}
	inv := &Inventory{Name: o.name, Root: root}
	if inv.Name == "" {
		inv.Name = mainPath
	}

	// Replacements apply to one version (old@v) or to all versions (old).
	exact := map[module.Version]*modfile.Replace{}
	allVersions := map[string]*modfile.Replace{}
	for _, r := range mf.Replace {
		if r.Old.Version != "" {
			exact[r.Old] = r
		} else {
			allVersions[r.Old.Path] = r
		}
	}
	for _, req := range mf.Require {
		m := req.Mod
		c := Component{Type: TypeLibrary, Name: m.Path, Version: m.Version, Properties: map[string]string{}}
		if req.Indirect {
			c.Properties["go:indirect"] = "true"
		}
		r := exact[m]
		if r == nil {
			r = allVersions[m.Path]
		}
		licenseDir := ""
		if r != nil {
			c.Properties["go:replaces"] = m.String()
			if r.New.Version != "" {
				c.Name, c.Version = r.New.Path, r.New.Version
			} else {
				// A directory replacement: the code is in the tree.
				c.Version = ""
				c.Properties["go:replace-dir"] = r.New.Path
				licenseDir = r.New.Path
				if !filepath.IsAbs(licenseDir) {
					licenseDir = filepath.Join(dir, filepath.FromSlash(licenseDir))
				}
			}
		}
		if c.Version != "" {
			if s := sums[c.Name+" "+c.Version]; s != "" {
				c.Properties["go:sum"] = s
			}
		}
		c.PURL = golangPURL(c.Name, c.Version)
		if licenseDir != "" {
			c.License = DetectDirLicense(licenseDir)
		} else {
			c.License = goModuleLicense(o.modCache, c.Name, c.Version)
		}
		inv.Components = append(inv.Components, c)
	}
	inv.Normalize()
	return inv, nil
}

// readGoSum maps "path version" to the module's h1 hash, ignoring the
// "/go.mod" lines (which hash only the go.mod file). A missing file yields
// an empty map.
func readGoSum(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("sbom: %s:%d: malformed go.sum line", path, n)
		}
		if strings.HasSuffix(f[1], "/go.mod") {
			continue
		}
		sums[f[0]+" "+f[1]] = f[2]
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("sbom: %s: %w", path, err)
	}
	return sums, nil
}
