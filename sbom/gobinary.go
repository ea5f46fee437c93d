package sbom

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"golang.org/x/mod/modfile"
)

// FromGoBinary reads the build information the Go linker embeds in a binary
// (debug/buildinfo): the main module becomes the inventory's Root, with the
// binary's own digests, and every linked module becomes a library
// component with its go.sum hash (property "go:sum"). The Go standard
// library appears as module "stdlib" at the toolchain's version. Licenses
// come from the module cache when the module is there.
func FromGoBinary(ctx context.Context, path string, opts ...Option) (*Inventory, error) {
	o := buildOptions(opts)
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sbom: %s: no Go build information: %w", path, err)
	}
	digests, err := hashFiles(ctx, []string{path})
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	inv := inventoryFromBuildInfo(info, o)
	inv.Root.Hashes = digests[0]
	if inv.Name == "" {
		inv.Name = filepath.Base(path)
	}
	inv.Normalize()
	return inv, nil
}

func inventoryFromBuildInfo(info *buildinfo.BuildInfo, o options) *Inventory {
	mainPath := info.Main.Path
	if mainPath == "" {
		// Built from files outside any module ("go build x.go").
		mainPath = info.Path
	}
	root := &Component{
		Type:       TypeApplication,
		Name:       mainPath,
		Properties: map[string]string{},
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		root.Version = v
	} else if v != "" {
		root.Properties["go:version"] = v
	}
	root.PURL = golangPURL(root.Name, root.Version)
	if info.Path != "" && info.Path != mainPath {
		root.Properties["go:package"] = info.Path
	}
	if info.Main.Sum != "" {
		root.Properties["go:sum"] = info.Main.Sum
	}
	root.License = goModuleLicense(o.modCache, mainPath, info.Main.Version)
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs", "vcs.revision", "vcs.time", "vcs.modified", "GOOS", "GOARCH", "CGO_ENABLED", "-trimpath":
			root.Properties["go:build:"+s.Key] = s.Value
		}
	}
	if info.GoVersion != "" {
		root.Properties["go:toolchain"] = info.GoVersion
	}
	inv := &Inventory{Name: o.name, Root: root}
	for _, d := range info.Deps {
		inv.Components = append(inv.Components, goDepComponent(d, o))
	}
	if info.GoVersion != "" {
		inv.Components = append(inv.Components, stdlibComponent(info.GoVersion))
	}
	return inv
}

// goDepComponent describes a linked module. A replaced module is named by
// its replacement, since that is the code in the binary; the original is
// kept in "go:replaces". A replacement by a local directory has no
// version.
func goDepComponent(d *debug.Module, o options) Component {
	c := Component{Type: TypeLibrary, Name: d.Path, Version: d.Version, Properties: map[string]string{}}
	sum := d.Sum
	if r := d.Replace; r != nil {
		c.Properties["go:replaces"] = d.Path + "@" + d.Version
		// The go command records a directory replacement with version
		// "(devel)" (older toolchains: empty).
		if !modfile.IsDirectoryPath(r.Path) && r.Version != "" && r.Version != "(devel)" {
			c.Name, c.Version, sum = r.Path, r.Version, r.Sum
		} else {
			c.Version, sum = "", ""
			c.Properties["go:replace-dir"] = r.Path
		}
	}
	if sum != "" {
		c.Properties["go:sum"] = sum
	}
	c.PURL = golangPURL(c.Name, c.Version)
	c.License = goModuleLicense(o.modCache, c.Name, c.Version)
	return c
}

// stdlibComponent records the Go standard library linked into a binary.
// The purl follows the convention vulnerability databases match on:
// pkg:golang/stdlib@1.22.1 (no "go" prefix). The Go distribution has been
// under the 3-clause BSD license (go.dev/LICENSE) since its release, so
// that is stated rather than looked up in a GOROOT that may not be the one
// the binary was built with.
func stdlibComponent(goVersion string) Component {
	v, _, _ := strings.Cut(goVersion, " ") // "go1.22.1 X:boringcrypto"
	return Component{
		Type:    TypeLibrary,
		Name:    "stdlib",
		Version: v,
		PURL:    golangPURL("stdlib", strings.TrimPrefix(v, "go")),
		License: "BSD-3-Clause",
	}
}

// Executable formats debug/buildinfo understands, by leading magic bytes.
var execMagic = [][]byte{
	[]byte("\x7FELF"),
	[]byte("MZ"),             // PE
	{0xfe, 0xed, 0xfa, 0xce}, // Mach-O 32 BE
	{0xfe, 0xed, 0xfa, 0xcf}, // Mach-O 64 BE
	{0xce, 0xfa, 0xed, 0xfe}, // Mach-O 32 LE
	{0xcf, 0xfa, 0xed, 0xfe}, // Mach-O 64 LE
	{0x00, 0x61, 0x73, 0x6d}, // wasm
	[]byte("\x01\xdf"),       // XCOFF 32
	[]byte("\x01\xf7"),       // XCOFF 64
	{0xca, 0xfe, 0xba, 0xbe}, // Mach-O fat
}

// looksExecutable reads the first bytes of path so that ForArtifacts only
// asks debug/buildinfo about files that can be executables.
func looksExecutable(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var head [4]byte
	n, _ := f.Read(head[:])
	for _, m := range execMagic {
		if n >= len(m) && bytes.Equal(head[:len(m)], m) {
			return true
		}
	}
	return false
}

// IsGoBinary reports whether path is an executable with Go build
// information.
func IsGoBinary(path string) bool {
	if !looksExecutable(path) {
		return false
	}
	_, err := buildinfo.ReadFile(path)
	return err == nil
}
