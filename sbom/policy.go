package sbom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Policy is the SBOM part of a layout: which licenses and components the
// final product may not contain, and whether it must come with an SBOM
// attestation at all. It is written in the layout source, for example
//
//	sbom:
//	  requireSBOM: true
//	  denyLicenses: [GPL-3.0-only, AGPL-*]
//	  denyComponents: [github.com/evil/lib, left-pad@1.3.0, pkg:npm/%40bad]
type Policy struct {
	// DenyLicenses are SPDX license identifiers, compared case-blind. A
	// trailing '*' matches any identifier with that prefix ("GPL-*").
	// An "A OR B" choice is denied only when every alternative is.
	DenyLicenses []string `json:"denyLicenses,omitempty" yaml:"denyLicenses,omitempty"`
	// DenyComponents are "name" (any version), "name@version", or a purl
	// prefix ("pkg:golang/github.com/evil" denies every module under
	// it, "pkg:npm/lodash@4.17.20" one version).
	DenyComponents []string `json:"denyComponents,omitempty" yaml:"denyComponents,omitempty"`
	// RequireSBOM makes a missing SBOM attestation for the product a
	// failure.
	RequireSBOM bool `json:"requireSBOM,omitempty" yaml:"requireSBOM,omitempty"`
}

// IsZero reports whether the policy asks for nothing.
func (p *Policy) IsZero() bool {
	return p == nil || len(p.DenyLicenses) == 0 && len(p.DenyComponents) == 0 && !p.RequireSBOM
}

// PolicyError is a bad entry of a policy: Field names it
// ("denyLicenses[1]"), so a policy file's reader can say where it is.
type PolicyError struct {
	Field string
	Err   error
}

func (e *PolicyError) Error() string { return "sbom policy: " + e.Field + " " + e.Err.Error() }
func (e *PolicyError) Unwrap() error { return e.Err }

// Validate checks every entry, naming the bad ones (each a *PolicyError,
// joined).
func (p *Policy) Validate() error {
	var errs []error
	bad := func(field string, format string, args ...any) {
		errs = append(errs, &PolicyError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	for i, l := range p.DenyLicenses {
		s := strings.TrimSpace(l)
		if s == "" || s == "*" || strings.ContainsAny(s, " ()") || strings.Count(s, "*") > 1 ||
			strings.Contains(s, "*") && !strings.HasSuffix(s, "*") {
			bad(fmt.Sprintf("denyLicenses[%d]", i), "%q: want one SPDX license id, optionally ending in '*'", l)
		}
	}
	for i, c := range p.DenyComponents {
		s := strings.TrimSpace(c)
		field := fmt.Sprintf("denyComponents[%d]", i)
		switch {
		case s == "":
			bad(field, "is empty")
		case strings.HasPrefix(s, "pkg:"):
			if !strings.Contains(s, "/") {
				bad(field, "%q: a purl prefix needs a type and a name (pkg:TYPE/NAME)", c)
			}
		default:
			name, _ := splitNameVersion(s)
			if name == "" || strings.HasPrefix(name, "@") && !strings.Contains(name, "/") {
				bad(field, "%q: no component name (an npm scope needs @scope/name)", c)
			}
		}
	}
	return errors.Join(errs...)
}

// splitNameVersion splits "name@version" at the last '@' that is not the
// first character, so npm scopes ("@types/node@20.1.0") keep theirs.
func splitNameVersion(s string) (name, version string) {
	if i := strings.LastIndexByte(s, '@'); i > 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// deniedLicenses returns the identifiers in c's license that make it
// violate the policy; nil if it complies.
func (p *Policy) deniedLicenses(license string) []string {
	if len(p.DenyLicenses) == 0 || strings.TrimSpace(license) == "" {
		return nil
	}
	denied := func(id string) bool {
		base, _, _ := strings.Cut(id, " WITH ")
		for _, d := range p.DenyLicenses {
			d = strings.TrimSpace(d)
			if prefix, ok := strings.CutSuffix(d, "*"); ok {
				if len(base) >= len(prefix) && strings.EqualFold(base[:len(prefix)], prefix) {
					return true
				}
			} else if strings.EqualFold(base, d) || strings.EqualFold(id, d) {
				return true
			}
		}
		return false
	}
	if e, err := parseLicenseExpr(license); err == nil {
		return e.denied(denied)
	}
	// Not an expression (free text from a package): deny on any mention.
	var out []string
	for _, id := range licenseIDs(license) {
		if denied(id) {
			out = append(out, id)
		}
	}
	return out
}

// deniedBy returns the DenyComponents entry that matches c, or "".
func (p *Policy) deniedBy(c *Component) string {
	purl := purlUnescape(c.PURL)
	for _, d := range p.DenyComponents {
		d = strings.TrimSpace(d)
		if strings.HasPrefix(d, "pkg:") {
			if purl != "" && purlHasPrefix(purl, purlUnescape(d)) {
				return d
			}
			continue
		}
		name, version := splitNameVersion(d)
		if name != c.Name {
			continue
		}
		if version == "" || strings.TrimPrefix(version, "v") == strings.TrimPrefix(c.Version, "v") {
			return d
		}
	}
	return ""
}

// purlHasPrefix matches whole purl segments: "pkg:npm/lodash" matches
// "pkg:npm/lodash@4.0.0" but not "pkg:npm/lodash.merge@1.0.0".
func purlHasPrefix(purl, prefix string) bool {
	if !strings.HasPrefix(purl, prefix) {
		return false
	}
	if len(purl) == len(prefix) || strings.HasSuffix(prefix, "/") {
		return true
	}
	switch purl[len(prefix)] {
	case '@', '/', '?', '#':
		return true
	}
	return false
}

// ParsePolicy decodes a policy from JSON (for example the "sbom" member of
// a layout), rejecting unknown fields so that a misspelt rule is an error
// rather than silently not enforced, and validates it.
func ParsePolicy(data []byte) (Policy, error) {
	var p Policy
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Policy{}, fmt.Errorf("sbom policy: %w", err)
	}
	if dec.More() {
		return Policy{}, errors.New("sbom policy: data after the JSON object")
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}
