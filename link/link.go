// Package link models in-toto link metadata: the record, signed by a
// functionary, of one step of a supply chain — which artifacts it used
// (materials), which it made (products), and what ran (in-toto spec v1.0,
// section 4.3 "Link").
//
// A Link is only the signed payload. Signatures live in an envelope (see
// package envelope); parse the envelope first, verify it, then decode its
// payload with Parse.
package link

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/toto-dev/toto/internal/jsonobj"
	"github.com/toto-dev/toto/keys"
)

// FileName is the name a signed link is stored under, as both reference
// implementations name it: "<step>.<first 8 hex digits of the keyid>.link".
func FileName(step, keyID string) string {
	return step + "." + keys.ShortID(keyID) + ".link"
}

// Type is the value of the "_type" field of a link.
const Type = "link"

// PredicateType is the in-toto attestation predicate type for links carried
// in an in-toto Statement.
const PredicateType = "https://in-toto.io/attestation/link/v0.3"

// DigestSet maps a hash algorithm name ("sha256", "sha512", ...) to a
// lowercase hex digest.
type DigestSet map[string]string

// Equal reports whether two digest sets agree. Following the reference
// implementations, two sets are equal when they have the same algorithms with
// the same values.
func (d DigestSet) Equal(o DigestSet) bool {
	if len(d) != len(o) {
		return false
	}
	for alg, v := range d {
		if o[alg] != v {
			return false
		}
	}
	return true
}

// Artifacts maps an artifact path (forward slashes) to its digests.
type Artifacts map[string]DigestSet

// Paths returns the artifact paths in sorted order.
func (a Artifacts) Paths() []string {
	out := make([]string, 0, len(a))
	for p := range a {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Well-known byproduct keys written by the runner.
const (
	ByProductStdout      = "stdout"
	ByProductStderr      = "stderr"
	ByProductReturnValue = "return-value"
)

// Link is the signed payload of in-toto link metadata.
type Link struct {
	// Name is the name of the step (or inspection) this link records.
	Name string
	// Command is the command that was run, if any.
	Command []string
	// Materials are the artifacts recorded before the command ran.
	Materials Artifacts
	// Products are the artifacts recorded after the command ran.
	Products Artifacts
	// ByProducts holds stdout, stderr and return-value, and anything else
	// a runner chose to record. Numbers decode as json.Number.
	ByProducts map[string]any
	// Environment holds optional information about the environment the
	// step ran in.
	Environment map[string]any
	// Extra keeps fields this version does not know, so that a decoded and
	// re-encoded link loses nothing.
	Extra map[string]json.RawMessage
}

// ErrWrongType is returned when the "_type" field is not "link".
var ErrWrongType = errors.New("wrong _type")

// Parse decodes a link payload (the "signed" part of a Metablock, or a DSSE
// payload). Errors name the offending field.
func Parse(data []byte) (*Link, error) { return ParseWith(data, ParseOptions{}) }

// ParseOptions tunes Parse.
type ParseOptions struct {
	// Digests, if set, is shared by the links of one verification, which
	// then share equal digest sets (see DigestSets).
	Digests *DigestSets
}

// ParseWith is Parse with options.
func ParseWith(data []byte, opts ParseOptions) (*Link, error) {
	// The members are used here and dropped, but for unknown ones, which
	// are copied into Extra below.
	f, err := jsonobj.SplitShared(data)
	if err != nil {
		return nil, fmt.Errorf("link: %w", err)
	}
	var typ string
	if err := f.Take("_type", &typ, true); err != nil {
		return nil, fmt.Errorf("link: %w", err)
	}
	if typ != Type {
		return nil, fmt.Errorf("link: field \"_type\": %w: got %q, want %q", ErrWrongType, typ, Type)
	}
	l := &Link{}
	// The artifact maps are nearly all of a link: decode them on the fast
	// path; what it declines (null, escapes, errors) goes through Take.
	matsDone := takeArtifacts(f, "materials", &l.Materials, opts.Digests)
	prodsDone := takeArtifacts(f, "products", &l.Products, opts.Digests)
	for _, fld := range []struct {
		name     string
		v        any
		required bool
	}{
		{"name", &l.Name, true},
		{"command", &l.Command, false},
		{"materials", &l.Materials, l.Materials == nil},
		{"products", &l.Products, l.Products == nil},
		{"byproducts", &l.ByProducts, false},
		{"environment", &l.Environment, false},
	} {
		if err := f.Take(fld.name, fld.v, fld.required); err != nil {
			return nil, fmt.Errorf("link: %w", err)
		}
	}
	if err := f.CheckLeftover("_type", "name", "command", "materials", "products", "byproducts", "environment"); err != nil {
		return nil, fmt.Errorf("link: %w", err)
	}
	if !matsDone {
		if err := validateArtifacts("materials", l.Materials); err != nil {
			return nil, fmt.Errorf("link %q: %w", l.Name, err)
		}
	}
	if !prodsDone {
		if err := validateArtifacts("products", l.Products); err != nil {
			return nil, fmt.Errorf("link %q: %w", l.Name, err)
		}
	}
	if len(f) > 0 {
		l.Extra = make(map[string]json.RawMessage, len(f))
		for k, v := range f {
			l.Extra[k] = append(json.RawMessage(nil), v...)
		}
	}
	return l, nil
}

func validateArtifacts(field string, a Artifacts) error {
	for path, ds := range a {
		if path == "" {
			return fmt.Errorf("field %q: empty artifact path", field)
		}
		if err := checkAlgorithmCase(field, path, ds); err != nil {
			return err
		}
		for alg, hexdig := range ds {
			if alg == "" {
				return fmt.Errorf("field %q: artifact %q: empty hash algorithm name", field, path)
			}
			if !isHex(hexdig) {
				return fmt.Errorf("field %q: artifact %q: %s digest %q is not hex", field, path, alg, hexdig)
			}
		}
	}
	return nil
}

// checkAlgorithmCase refuses a digest set with two algorithm names that
// differ only in case ("sha256" and "SHA256"): a reader that matches
// algorithm names without regard to case would compare one digest, a
// case-sensitive one the other. Artifact paths, by contrast, may differ
// only in case (two files on a case-sensitive file system).
func checkAlgorithmCase(field, path string, ds DigestSet) error {
	if len(ds) < 2 {
		return nil // nearly every set: one algorithm
	}
	if len(ds) <= 8 {
		// The usual sets (sha256, sha512) checked without allocating,
		// since a link may list a million artifacts.
		clash := false
		for a := range ds {
			for b := range ds {
				clash = clash || a < b && strings.EqualFold(a, b)
			}
		}
		if !clash {
			return nil
		}
	}
	algs := make([]string, 0, len(ds))
	for alg := range ds {
		algs = append(algs, alg)
	}
	sort.Strings(algs) // the same error every time
	seen := make(map[string]string, len(algs))
	for _, a := range algs {
		k := jsonobj.FoldName(a)
		if b, ok := seen[k]; ok {
			return &jsonobj.FieldError{Field: field, Err: &jsonobj.CaseError{Path: jsonobj.Pointer(field, path), Name: a, Other: b}}
		}
		seen[k] = a
	}
	return nil
}

// hexDigit marks the bytes [0-9a-fA-F].
var hexDigit = func() (t [256]bool) {
	for _, c := range "0123456789abcdefABCDEF" {
		t[c] = true
	}
	return t
}()

func isHex(s string) bool {
	// The Python reference accepts [a-fA-F0-9]+; so do we.
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !hexDigit[s[i]] {
			return false
		}
	}
	return true
}

// MarshalJSON encodes the link with sorted keys, empty collections rather
// than null (the Python reference's schema demands objects and lists), and
// any unknown fields it was decoded with.
func (l *Link) MarshalJSON() ([]byte, error) {
	known := map[string]any{
		"_type":       Type,
		"name":        l.Name,
		"command":     nonNilSlice(l.Command),
		"materials":   nonNilArtifacts(l.Materials),
		"products":    nonNilArtifacts(l.Products),
		"byproducts":  nonNilMap(l.ByProducts),
		"environment": nonNilMap(l.Environment),
	}
	return jsonobj.Join(known, l.Extra)
}

// UnmarshalJSON implements json.Unmarshaler via Parse.
func (l *Link) UnmarshalJSON(data []byte) error {
	p, err := Parse(data)
	if err != nil {
		return err
	}
	*l = *p
	return nil
}

func nonNilSlice(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilArtifacts(a Artifacts) Artifacts {
	if a == nil {
		return Artifacts{}
	}
	return a
}

func nonNilMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
