package sbom

import (
	"cmp"
	"slices"
	"strings"
)

// ComponentType says what kind of thing a Component is.
type ComponentType string

// Component types. They map onto CycloneDX component types and SPDX
// primary package purposes.
const (
	TypeApplication ComponentType = "application"
	TypeLibrary     ComponentType = "library"
	TypeFile        ComponentType = "file"
)

// Hash algorithm names used as keys of Component.Hashes. They are the
// in-toto digest names, so a file component's Hashes can be compared with a
// link's or a Statement subject's digest set directly.
const (
	SHA1   = "sha1"
	SHA256 = "sha256"
	SHA512 = "sha512"
)

// NoAssertion is what SPDX writes where a value is unknown.
const NoAssertion = "NOASSERTION"

// Component is one entry of an SBOM: a package, module or file.
type Component struct {
	Type ComponentType
	// Name is the package or module name; for files, the slash-separated
	// path relative to where collection started.
	Name    string
	Version string
	// PURL is the package URL (https://github.com/package-url/purl-spec),
	// empty for plain files.
	PURL string
	// Hashes maps SHA1/SHA256/SHA512 to lowercase hex digests of the
	// component's own bytes (a file, or a package tarball as recorded in a
	// lockfile). Checksums that are not of the component's bytes, such as a
	// Go module's go.sum "h1:" tree hash, are kept in Properties instead.
	Hashes map[string]string
	// License is an SPDX license expression, or the license text as the
	// package declared it when that is not a valid expression. Empty means
	// unknown (NOASSERTION).
	License string
	// DownloadLocation is where the component can be fetched, if known.
	DownloadLocation string
	// Properties carry collector-specific facts ("go:sum", "npm:dev", ...)
	// that have no dedicated field in both formats.
	Properties map[string]string
}

// Ref is "name@version", or just the name when there is no version. It is
// how messages name a component.
func (c *Component) Ref() string {
	if c.Version == "" {
		return c.Name
	}
	return c.Name + "@" + c.Version
}

// key identifies a component for de-duplication and sorting.
func (c *Component) key() string {
	if c.PURL != "" {
		return string(c.Type) + "\x00" + c.PURL
	}
	return string(c.Type) + "\x00" + c.Name + "\x00" + c.Version
}

// Inventory is a format-neutral SBOM: what a document describes (Root, which
// may be nil) and everything it contains or depends on.
type Inventory struct {
	// Name names the document.
	Name string
	// Root is the primary component the document describes, such as a Go
	// binary's main module or an npm project. Nil when the inventory is a
	// plain set of artifacts.
	Root *Component
	// Components are sorted by Normalize; Root is not among them.
	Components []Component
}

// All returns Root (if any) followed by Components.
func (inv *Inventory) All() []Component {
	out := make([]Component, 0, len(inv.Components)+1)
	if inv.Root != nil {
		out = append(out, *inv.Root)
	}
	return append(out, inv.Components...)
}

// Normalize sorts the components (files first by path, then packages by
// name, version and purl) and merges duplicates: two entries with the same
// type and purl (or name and version) become one, with their hashes,
// license and properties combined. Encoders call it, so output does not
// depend on the order collectors ran in.
func (inv *Inventory) Normalize() {
	byKey := make(map[string]int, len(inv.Components))
	out := inv.Components[:0]
	var rootKey string
	if inv.Root != nil {
		rootKey = inv.Root.key()
	}
	for _, c := range inv.Components {
		k := c.key()
		if inv.Root != nil && k == rootKey {
			mergeInto(inv.Root, &c)
			continue
		}
		if i, ok := byKey[k]; ok {
			mergeInto(&out[i], &c)
			continue
		}
		byKey[k] = len(out)
		out = append(out, c)
	}
	clear(inv.Components[len(out):])
	inv.Components = out
	slices.SortFunc(inv.Components, compareComponents)
}

func compareComponents(a, b Component) int {
	ra, rb := typeRank(a.Type), typeRank(b.Type)
	return cmp.Or(
		cmp.Compare(ra, rb),
		strings.Compare(a.Name, b.Name),
		strings.Compare(a.Version, b.Version),
		strings.Compare(a.PURL, b.PURL),
		strings.Compare(string(a.Type), string(b.Type)),
	)
}

func typeRank(t ComponentType) int {
	if t == TypeFile {
		return 0
	}
	return 1
}

// mergeInto folds the facts of src into dst (same identity).
func mergeInto(dst, src *Component) {
	for alg, v := range src.Hashes {
		if dst.Hashes == nil {
			dst.Hashes = map[string]string{}
		}
		if _, ok := dst.Hashes[alg]; !ok {
			dst.Hashes[alg] = v
		}
	}
	if dst.License == "" {
		dst.License = src.License
	}
	if dst.DownloadLocation == "" {
		dst.DownloadLocation = src.DownloadLocation
	}
	for k, v := range src.Properties {
		if dst.Properties == nil {
			dst.Properties = map[string]string{}
		}
		if _, ok := dst.Properties[k]; !ok {
			dst.Properties[k] = v
		}
	}
}

// Merge returns one inventory holding the components of all of them. The
// roots of the inputs become ordinary components, since a merged document
// describes several things.
func Merge(name string, invs ...*Inventory) *Inventory {
	out := &Inventory{Name: name}
	for _, inv := range invs {
		if inv == nil {
			continue
		}
		out.Components = append(out.Components, inv.All()...)
	}
	out.Normalize()
	return out
}
