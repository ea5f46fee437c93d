// Package lookaside finds and stores simple signing signatures the way
// containers/image does: registries.d YAML (containers-registries.d(5))
// says which lookaside base URL serves which registry, namespace or image,
// and each signature of a manifest is
// <base>/<repository path>@<algorithm>=<hex>/signature-<N>, N from 1,
// on a local directory (file://) or a web server (http://, https://).
package lookaside

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/distribution/reference"

	"github.com/toto-dev/toto/containerspolicy"
	"github.com/toto-dev/toto/internal/yamlpos"
)

// ErrConfig is matched by every registries.d error.
var ErrConfig = errors.New("registries.d")

// Config is the merged content of a registries.d directory.
type Config struct {
	// DefaultDocker applies when no Docker scope has a base.
	DefaultDocker *Namespace `yaml:"default-docker"`
	// Docker maps scopes (host[:port], namespaces, repositories, full
	// references) to their sections.
	Docker map[string]Namespace `yaml:"docker"`
}

// Namespace is one configuration section.
type Namespace struct {
	// Lookaside is where signatures are read (and written, without
	// LookasideStaging).
	Lookaside string `yaml:"lookaside"`
	// LookasideStaging is where signatures are written.
	LookasideStaging string `yaml:"lookaside-staging"`
	// SigStore and SigStoreStaging are the old names of Lookaside and
	// LookasideStaging, used when the new ones are absent.
	SigStore        string `yaml:"sigstore"`
	SigStoreStaging string `yaml:"sigstore-staging"`
	// UseSigstoreAttachments is parsed for completeness.
	UseSigstoreAttachments *bool `yaml:"use-sigstore-attachments,omitempty"`
}

// MaxConfigSize bounds one registries.d file.
const MaxConfigSize = 1 << 20

// Parse reads one registries.d YAML file. Like containers/image, members
// it does not know are ignored; an empty file configures nothing. Errors
// say where ("line 3:14: docker.r.example.lookaside: ...").
func Parse(data []byte) (*Config, error) { return parse("", data) }

func parse(file string, data []byte) (*Config, error) {
	if len(data) > MaxConfigSize {
		return nil, fmt.Errorf("%w: %s larger than %d bytes", ErrConfig, cmp.Or(file, "file"), MaxConfigSize)
	}
	var c Config
	if _, err := yamlpos.DecodeLoose(file, data, &c); err != nil {
		if errors.Is(err, yamlpos.ErrEmpty) {
			return &Config{}, nil
		}
		return nil, &placedError{err}
	}
	return &c, nil
}

// placedError is an error at a place in a registries.d file
// (FILE:LINE:COL: path: what, internal/yamlpos), which leads its message.
type placedError struct{ err error }

func (e *placedError) Error() string   { return e.err.Error() }
func (e *placedError) Unwrap() []error { return []error{ErrConfig, e.err} }

// LoadDir reads every *.yaml file of dir (in name order) and merges them as
// containers/image does: default-docker may be defined once, and each
// docker scope in one file only.
func LoadDir(dir string) (*Config, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	merged := &Config{Docker: map[string]Namespace{}}
	defaultFrom := ""
	from := map[string]string{}
	for _, n := range names {
		p := filepath.Join(dir, n)
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		c, err := parse(p, data)
		if err != nil {
			return nil, err
		}
		if c.DefaultDocker != nil {
			if merged.DefaultDocker != nil {
				return nil, fmt.Errorf("%w: default-docker defined both in %s and %s", ErrConfig, defaultFrom, p)
			}
			merged.DefaultDocker, defaultFrom = c.DefaultDocker, p
		}
		for scope, ns := range c.Docker {
			if prev, ok := from[scope]; ok {
				return nil, fmt.Errorf("%w: docker namespace %q defined both in %s and %s", ErrConfig, scope, prev, p)
			}
			merged.Docker[scope], from[scope] = ns, p
		}
	}
	return merged, nil
}

func (ns Namespace) topLevel(write bool) string {
	if write {
		if ns.LookasideStaging != "" {
			return ns.LookasideStaging
		}
		if ns.SigStoreStaging != "" {
			return ns.SigStoreStaging
		}
	}
	if ns.Lookaside != "" {
		return ns.Lookaside
	}
	return ns.SigStore
}

// TopLevel returns the lookaside base configured for ref (for writing when
// write is set), and "" when none is: the most specific docker scope with
// a base (its full reference, its repository, namespaces, host[:port],
// *.domain wildcards), else default-docker. ref is a fully expanded
// reference with a tag or digest.
func (c *Config) TopLevel(ref reference.Named, write bool) string {
	if c == nil {
		return ""
	}
	img := containerspolicy.Image{Transport: "docker", Docker: ref}
	for _, scope := range img.Scopes() {
		if ns, ok := c.Docker[scope]; ok {
			if b := ns.topLevel(write); b != "" {
				return b
			}
		}
	}
	if c.DefaultDocker != nil {
		return c.DefaultDocker.topLevel(write)
	}
	return ""
}

// DefaultBase is containers/image's built-in lookaside directory when no
// configuration applies: /var/lib/containers/sigstore for root,
// $HOME/.local/share/containers/sigstore otherwise.
func DefaultBase() *url.URL {
	if os.Geteuid() == 0 {
		return &url.URL{Scheme: "file", Path: "/var/lib/containers/sigstore"}
	}
	home, _ := os.UserHomeDir()
	return &url.URL{Scheme: "file", Path: filepath.Join(home, ".local/share/containers/sigstore")}
}

// RepositoryBase is the base URL of ref's signatures: the configured (or
// built-in default) top level followed by ref's repository path, e.g.
// file:///srv/sigs/team/app for registry.example/team/app:1.
func (c *Config) RepositoryBase(ref reference.Named, write bool) (*url.URL, error) {
	top := c.TopLevel(ref, write)
	var base *url.URL
	if top == "" {
		base = DefaultBase()
	} else {
		u, err := url.Parse(top)
		if err != nil {
			return nil, fmt.Errorf("%w: invalid signature storage URL %q: %w", ErrConfig, top, err)
		}
		base = u
	}
	return RepositoryURL(base, ref)
}

// RepositoryURL appends ref's repository path (without host, tag or
// digest) to a top-level base.
func RepositoryURL(top *url.URL, ref reference.Named) (*url.URL, error) {
	repo := reference.Path(ref)
	if path.Clean(repo) != repo {
		return nil, fmt.Errorf("%w: unexpected path elements in %s", ErrConfig, ref)
	}
	u := *top
	// As containers/image: a base ending in "/" gives "//" (harmless on
	// file://, and what its clients request over HTTP).
	u.Path = u.Path + "/" + repo
	u.RawPath = ""
	return &u, nil
}

// UseSigstoreAttachments says whether cosign ("sigstore") attachments of
// ref are read, as containers/image decides: the use-sigstore-attachments
// of the most specific docker scope that sets it, else default-docker's,
// else false.
func (c *Config) UseSigstoreAttachments(ref reference.Named) bool {
	if c == nil {
		return false
	}
	img := containerspolicy.Image{Transport: "docker", Docker: ref}
	for _, scope := range img.Scopes() {
		if ns, ok := c.Docker[scope]; ok && ns.UseSigstoreAttachments != nil {
			return *ns.UseSigstoreAttachments
		}
	}
	if c.DefaultDocker != nil && c.DefaultDocker.UseSigstoreAttachments != nil {
		return *c.DefaultDocker.UseSigstoreAttachments
	}
	return false
}
