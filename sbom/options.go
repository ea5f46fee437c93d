package sbom

import (
	"os"
	"path/filepath"
)

// Option adjusts how a collector works.
type Option func(*options)

type options struct {
	modCache   string
	noLicenses bool
	noDev      bool
	name       string
	baseDir    string
}

func buildOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.modCache == "" && !o.noLicenses {
		o.modCache = defaultModCache()
	}
	return o
}

// WithModCache sets the Go module cache in which license files of Go
// modules are looked up. The default follows the go command: $GOMODCACHE,
// else the first entry of $GOPATH plus /pkg/mod, else $HOME/go/pkg/mod.
func WithModCache(dir string) Option { return func(o *options) { o.modCache = dir } }

// WithoutLicenseDetection skips reading license files from the module
// cache; Go module licenses are then unknown.
func WithoutLicenseDetection() Option { return func(o *options) { o.noLicenses = true } }

// WithoutDevDependencies leaves out npm packages only needed for
// development ("dev": true in package-lock.json).
func WithoutDevDependencies() Option { return func(o *options) { o.noDev = true } }

// WithName sets the inventory (document) name instead of one derived from
// the input.
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithBaseDir makes ForArtifacts resolve relative paths against dir and
// name components by their path relative to it, as links record products
// relative to the step's base path.
func WithBaseDir(dir string) Option { return func(o *options) { o.baseDir = dir } }

func defaultModCache() string {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		if list := filepath.SplitList(gp); len(list) > 0 && list[0] != "" {
			return filepath.Join(list[0], "pkg", "mod")
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, "go", "pkg", "mod")
	}
	return ""
}
