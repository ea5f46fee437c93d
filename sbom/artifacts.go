package sbom

import (
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/statement"
)

// ForArtifacts builds one inventory for a set of artifacts, as a step's
// products: every file (directories are walked) becomes a file component
// with its digests, named by its path as given; and files that describe
// packages add those packages: Go binaries (their embedded build
// information), go.mod (with go.sum beside it) and package-lock.json.
// Files are hashed in parallel.
func ForArtifacts(ctx context.Context, paths []string, opts ...Option) (*Inventory, error) {
	o := buildOptions(opts)
	// files are paths to open; names are what the SBOM calls them.
	var files, names []string
	add := func(file string) error {
		name := file
		if o.baseDir != "" {
			rel, err := filepath.Rel(o.baseDir, file)
			if err != nil {
				return err
			}
			name = rel
		}
		files = append(files, file)
		names = append(names, filepath.ToSlash(filepath.Clean(name)))
		return nil
	}
	for _, p := range paths {
		if o.baseDir != "" && !filepath.IsAbs(p) {
			p = filepath.Join(o.baseDir, p)
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("sbom: %w", err)
		}
		if !st.IsDir() {
			if err := add(p); err != nil {
				return nil, fmt.Errorf("sbom: %w", err)
			}
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				return add(path)
			}
			if d.Type()&fs.ModeSymlink != 0 {
				if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
					return add(path)
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("sbom: walk %s: %w", p, err)
		}
	}
	base, err := filesInventory(ctx, files, names)
	if err != nil {
		return nil, err
	}
	// filesInventory sorted its components; index digests by name.
	digests := make(map[string]map[string]string, len(base.Components))
	for _, c := range base.Components {
		digests[c.Name] = c.Hashes
	}
	parts := []*Inventory{base}
	for i, f := range files {
		inv, err := describeFile(ctx, f, digests[names[i]], o)
		if errors.Is(err, errNotApplicable) {
			continue
		}
		if err != nil {
			return nil, err
		}
		parts = append(parts, inv)
	}
	name := o.name
	if name == "" {
		name = "artifacts"
		if len(paths) == 1 {
			name = filepath.Base(paths[0])
		}
	}
	return Merge(name, parts...), nil
}

// describeFile returns the packages a file describes, or errNotApplicable.
func describeFile(ctx context.Context, path string, hashes map[string]string, o options) (*Inventory, error) {
	withOpts := []Option{WithModCache(o.modCache)}
	if o.noLicenses {
		withOpts = append(withOpts, WithoutLicenseDetection())
	}
	if o.noDev {
		withOpts = append(withOpts, WithoutDevDependencies())
	}
	switch filepath.Base(path) {
	case "package-lock.json":
		return FromNPMLock(ctx, path, withOpts...)
	case "go.mod":
		return FromGoModule(ctx, path, withOpts...)
	}
	if !looksExecutable(path) {
		return nil, errNotApplicable
	}
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, errNotApplicable // an executable, but not a Go one
	}
	inv := inventoryFromBuildInfo(info, o)
	inv.Root.Hashes = hashes
	return inv, nil
}

// AttestProducts is what `toto run --sbom` calls after a step: it describes
// the step's products (paths relative to base, as the link records them;
// Go binaries, go.mod and package-lock.json among them add their packages)
// and returns a DSSE envelope, signed by k, holding an in-toto Statement
// whose subjects are exactly the products with the digests the link
// recorded.
func AttestProducts(ctx context.Context, base string, products link.Artifacts, f Format, k *keys.Key, eo EncodeOptions, opts ...Option) (*envelope.Envelope, error) {
	if len(products) == 0 {
		return nil, errors.New("sbom: the step has no products to describe")
	}
	inv, err := ForArtifacts(ctx, products.Paths(), append(opts, WithBaseDir(base))...)
	if err != nil {
		return nil, err
	}
	return Attest(ctx, inv, f, statement.SubjectsFrom(products), k, eo)
}

// NewStatement encodes inv in format f (SPDXJSON or CycloneDXJSON) and
// wraps the document in an in-toto Statement v1 about subjects, with
// predicate type PredicateSPDX or PredicateCycloneDX. The predicate is the
// document itself, byte for byte (compacted).
func NewStatement(inv *Inventory, f Format, subjects []statement.Subject, opts EncodeOptions) (*statement.Statement, error) {
	pt, err := f.PredicateType()
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	if len(subjects) == 0 {
		return nil, errors.New("sbom: an attestation needs at least one subject")
	}
	doc, err := inv.Encode(f, opts)
	if err != nil {
		return nil, err
	}
	st, err := statement.New(pt, rawJSON(doc), subjects...)
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	return st, nil
}

// Attest is NewStatement signed by k in a DSSE envelope (payloadType
// application/vnd.in-toto+json).
func Attest(ctx context.Context, inv *Inventory, f Format, subjects []statement.Subject, k *keys.Key, opts EncodeOptions) (*envelope.Envelope, error) {
	st, err := NewStatement(inv, f, subjects, opts)
	if err != nil {
		return nil, err
	}
	payload, err := st.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	env, err := envelope.New(envelope.DSSE, envelope.PayloadTypeInToto, payload)
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	if err := env.Sign(ctx, k); err != nil {
		return nil, fmt.Errorf("sbom: sign: %w", err)
	}
	return env, nil
}

// SubjectsForFiles hashes files (SHA-256 and SHA-512, the in-toto digest
// algorithms) and returns them as statement subjects named by path.
func SubjectsForFiles(ctx context.Context, paths ...string) ([]statement.Subject, error) {
	ds, err := hashFiles(ctx, paths)
	if err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	out := make([]statement.Subject, len(paths))
	for i, p := range paths {
		out[i] = statement.Subject{
			Name:   strings.TrimPrefix(filepath.ToSlash(filepath.Clean(p)), "./"),
			Digest: map[string]string{SHA256: ds[i][SHA256], SHA512: ds[i][SHA512]},
		}
	}
	return out, nil
}

// rawJSON lets statement.New embed an already encoded document.
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }
