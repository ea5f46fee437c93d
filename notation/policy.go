package notation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/notaryproject/notation-go/verifier/trustpolicy"

	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/internal/boundedio"
	"github.com/toto-dev/toto/internal/jsonobj"
)

// maxPolicySize bounds a trustpolicy.json.
const maxPolicySize = 1 << 20

// Policy is a notation trust policy document (trustpolicy.json, version
// 1.0), validated by notation-go.
type Policy struct {
	doc *trustpolicy.Document
}

// Document is the validated document, as notation-go's verifier takes it.
// Callers must not change it.
func (p *Policy) Document() *trustpolicy.Document { return p.doc }

// LoadPolicy reads and parses a trustpolicy.json.
func LoadPolicy(path string) (*Policy, error) {
	data, err := boundedio.ReadFile(path, maxPolicySize)
	if err != nil {
		return nil, &PolicyError{Path: path, Err: err}
	}
	p, err := ParsePolicy(data)
	if err != nil {
		var pe *PolicyError
		if errors.As(err, &pe) {
			pe.Path = path
		}
		return nil, err
	}
	return p, nil
}

// ParsePolicy parses a trust policy document more strictly than notation
// does (it decodes with encoding/json and ignores what it does not know):
// duplicate members, members differing from a known one only in case,
// unknown members and trailing data are refused, so that toto and
// notation never read two different policies from one file. The document
// is then validated by notation-go (trustpolicy.Document.Validate):
// version 1.0, levels strict/permissive/audit/skip and their overrides,
// trust store and identity syntax, and registry scopes — one statement
// per scope, '*' alone.
func ParsePolicy(data []byte) (*Policy, error) {
	if len(data) > maxPolicySize {
		return nil, &PolicyError{Err: fmt.Errorf("larger than %d bytes", maxPolicySize)}
	}
	if err := jsonobj.CheckDuplicates(data); err != nil {
		return nil, &PolicyError{Err: err}
	}
	var doc trustpolicy.Document
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, &PolicyError{Err: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &PolicyError{Err: errors.New("trailing data after the document")}
	}
	// Case variants: Go's decoder matched "Version" to "version"; a
	// case-sensitive reader would not. Split and Take refuse them.
	f, err := jsonobj.Split(data)
	if err != nil {
		return nil, &PolicyError{Err: err}
	}
	var strict struct {
		Version       string                    `json:"version"`
		TrustPolicies []trustpolicy.TrustPolicy `json:"trustPolicies"`
	}
	if err := f.Take("version", &strict.Version, true); err != nil {
		return nil, &PolicyError{Err: err}
	}
	if err := f.Take("trustPolicies", &strict.TrustPolicies, true); err != nil {
		return nil, &PolicyError{Err: err}
	}
	if len(f) > 0 {
		return nil, &PolicyError{Err: fmt.Errorf("unknown members %v", keys(f))}
	}
	if err := doc.Validate(); err != nil {
		return nil, &PolicyError{Err: err}
	}
	return &Policy{doc: &doc}, nil
}

func keys(f jsonobj.Fields) []string {
	out := make([]string, 0, len(f))
	for k := range f {
		out = append(out, k)
	}
	return out
}

// Statement returns the policy statement that applies to the artifact
// reference (SCOPE@sha256:HEX): the one listing SCOPE, else the '*' one.
func (p *Policy) Statement(ref string) (*trustpolicy.TrustPolicy, error) {
	s, err := p.doc.GetApplicableTrustPolicy(ref)
	if err != nil {
		return nil, &PolicyError{Err: err}
	}
	return s, nil
}

// LocalScope is the registry scope toto matches an OCI layout against:
// "local/" and the layout folder's base name, lower-cased, with every run
// of characters a repository name cannot have replaced by "-" (so
// oci-layout:./out/App_1 is local/app_1). VerifyOptions.Scope overrides
// it.
func LocalScope(dir string) string {
	base := strings.ToLower(filepath.Base(filepath.Clean(dir)))
	base = nonRepo.ReplaceAllString(base, "-")
	base = strings.Trim(base, "-._")
	if base == "" {
		base = "layout"
	}
	return "local/" + base
}

var nonRepo = regexp.MustCompile(`[^a-z0-9._-]+|[._-]{2,}`)

// ScopeOf is the registry scope of an opened image: the repository
// ("registry.example/app") or, for an OCI layout, LocalScope of its
// folder.
func ScopeOf(t *image.Target) string {
	if dir, ok := strings.CutPrefix(t.Reference, image.LayoutPrefix); ok {
		return LocalScope(dir)
	}
	return t.Reference
}
