package sbom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrNotSBOM is returned by ParsePredicate for predicate types that are not
// SPDX or CycloneDX documents.
var ErrNotSBOM = errors.New("not an SBOM predicate type")

// IsSBOMPredicateType reports whether t is the SPDX or CycloneDX predicate
// type, with or without a version suffix ("https://spdx.dev/Document/v2.3").
func IsSBOMPredicateType(t string) bool {
	_, ok := predicateKind(t)
	return ok
}

func predicateKind(t string) (string, bool) {
	for _, base := range []string{PredicateSPDX, PredicateCycloneDX} {
		if t == base || strings.HasPrefix(t, base+"/") {
			return base, true
		}
	}
	return "", false
}

// ParsePredicate decodes the predicate of an SBOM attestation into an
// Inventory whose Components are every package (and file) the document
// lists, the described root included. Errors name the offending field.
func ParsePredicate(predicateType string, predicate []byte) (*Inventory, error) {
	kind, ok := predicateKind(predicateType)
	if !ok {
		return nil, fmt.Errorf("predicate type %q: %w", predicateType, ErrNotSBOM)
	}
	if kind == PredicateSPDX {
		return ParseSPDXJSON(predicate)
	}
	return ParseCycloneDXJSON(predicate)
}

// decodeJSON decodes data into v and rejects trailing data, so that a
// predicate is exactly one JSON document, and duplicate object keys, which
// Go resolves silently (last wins) while other SBOM tools may take the
// first: a signer must not be able to show the policy one component list
// and another tool a different one.
func decodeJSON(data []byte, v any) error {
	if err := rejectDuplicateKeys(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON document")
	}
	return nil
}

type spdxJSONDoc struct {
	SPDXVersion string `json:"spdxVersion"`
	SPDXID      string `json:"SPDXID"`
	Name        string `json:"name"`
	Packages    []struct {
		SPDXID           string             `json:"SPDXID"`
		Name             string             `json:"name"`
		VersionInfo      string             `json:"versionInfo"`
		LicenseConcluded string             `json:"licenseConcluded"`
		LicenseDeclared  string             `json:"licenseDeclared"`
		DownloadLocation string             `json:"downloadLocation"`
		Purpose          string             `json:"primaryPackagePurpose"`
		Checksums        []spdxJSONChecksum `json:"checksums"`
		ExternalRefs     []struct {
			Category string `json:"referenceCategory"`
			Type     string `json:"referenceType"`
			Locator  string `json:"referenceLocator"`
		} `json:"externalRefs"`
	} `json:"packages"`
	Files []struct {
		SPDXID             string             `json:"SPDXID"`
		FileName           string             `json:"fileName"`
		LicenseConcluded   string             `json:"licenseConcluded"`
		LicenseInfoInFiles []string           `json:"licenseInfoInFiles"`
		Checksums          []spdxJSONChecksum `json:"checksums"`
	} `json:"files"`
}

type spdxJSONChecksum struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"checksumValue"`
}

var spdxAlgNames = map[string]string{"SHA1": SHA1, "SHA256": SHA256, "SHA512": SHA512}

// ParseSPDXJSON reads an SPDX 2.x JSON document. Package licenses are the
// declared and concluded expressions (both, when they differ), since a
// policy must hold for each.
func ParseSPDXJSON(data []byte) (*Inventory, error) {
	var d spdxJSONDoc
	if err := decodeJSON(data, &d); err != nil {
		return nil, fmt.Errorf("SPDX document: invalid JSON: %w", err)
	}
	if !strings.HasPrefix(d.SPDXVersion, "SPDX-2.") {
		return nil, fmt.Errorf("SPDX document: field \"spdxVersion\": got %q, want SPDX-2.x", d.SPDXVersion)
	}
	if d.SPDXID != "SPDXRef-DOCUMENT" {
		return nil, fmt.Errorf("SPDX document: field \"SPDXID\": got %q, want SPDXRef-DOCUMENT", d.SPDXID)
	}
	inv := &Inventory{Name: d.Name}
	for i, p := range d.Packages {
		if p.Name == "" || p.SPDXID == "" {
			return nil, fmt.Errorf("SPDX document: packages[%d]: fields \"name\" and \"SPDXID\" are required", i)
		}
		c := Component{Type: TypeLibrary, Name: p.Name, Version: p.VersionInfo,
			License: combineLicenses(p.LicenseDeclared, p.LicenseConcluded)}
		if p.Purpose == "APPLICATION" {
			c.Type = TypeApplication
		}
		if p.DownloadLocation != "" && p.DownloadLocation != NoAssertion && p.DownloadLocation != "NONE" {
			c.DownloadLocation = p.DownloadLocation
		}
		for _, r := range p.ExternalRefs {
			if r.Type == "purl" && c.PURL == "" {
				c.PURL = r.Locator
			}
		}
		c.Hashes = spdxHashes(p.Checksums)
		inv.Components = append(inv.Components, c)
	}
	for i, f := range d.Files {
		if f.FileName == "" || f.SPDXID == "" {
			return nil, fmt.Errorf("SPDX document: files[%d]: fields \"fileName\" and \"SPDXID\" are required", i)
		}
		c := Component{Type: TypeFile, Name: strings.TrimPrefix(f.FileName, "./"),
			License: combineLicenses(append([]string{f.LicenseConcluded}, f.LicenseInfoInFiles...)...)}
		c.Hashes = spdxHashes(f.Checksums)
		inv.Components = append(inv.Components, c)
	}
	return inv, nil
}

func spdxHashes(cs []spdxJSONChecksum) map[string]string {
	var h map[string]string
	for _, c := range cs {
		if n, ok := spdxAlgNames[c.Algorithm]; ok {
			if h == nil {
				h = map[string]string{}
			}
			h[n] = strings.ToLower(c.Value)
		}
	}
	return h
}

// combineLicenses joins the distinct meaningful expressions with AND.
func combineLicenses(exprs ...string) string {
	var parts []string
	seen := map[string]bool{}
	for _, e := range exprs {
		e = strings.TrimSpace(e)
		if e == "" || strings.EqualFold(e, NoAssertion) || strings.EqualFold(e, "NONE") || seen[e] {
			continue
		}
		seen[e] = true
		parts = append(parts, e)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	for i, p := range parts {
		parts[i] = "(" + p + ")"
	}
	return strings.Join(parts, " AND ")
}

type cdxJSONDoc struct {
	BOMFormat   string `json:"bomFormat"`
	SpecVersion string `json:"specVersion"`
	Metadata    *struct {
		Component *cdxJSONComponent `json:"component"`
	} `json:"metadata"`
	Components []cdxJSONComponent `json:"components"`
}

type cdxJSONComponent struct {
	Type    string `json:"type"`
	Name    string `json:"name"`
	Group   string `json:"group"`
	Version string `json:"version"`
	PURL    string `json:"purl"`
	Hashes  []struct {
		Alg     string `json:"alg"`
		Content string `json:"content"`
	} `json:"hashes"`
	Licenses []struct {
		License *struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"license"`
		Expression string `json:"expression"`
	} `json:"licenses"`
	Properties []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"properties"`
	Components []cdxJSONComponent `json:"components"`
}

var cdxAlgNames = map[string]string{"SHA-1": SHA1, "SHA-256": SHA256, "SHA-512": SHA512}

// ParseCycloneDXJSON reads a CycloneDX 1.x JSON BOM: metadata.component
// becomes Root and every component, nested ones included, a Component.
func ParseCycloneDXJSON(data []byte) (*Inventory, error) {
	var d cdxJSONDoc
	if err := decodeJSON(data, &d); err != nil {
		return nil, fmt.Errorf("CycloneDX BOM: invalid JSON: %w", err)
	}
	if d.BOMFormat != "CycloneDX" {
		return nil, fmt.Errorf("CycloneDX BOM: field \"bomFormat\": got %q, want CycloneDX", d.BOMFormat)
	}
	if !strings.HasPrefix(d.SpecVersion, "1.") {
		return nil, fmt.Errorf("CycloneDX BOM: field \"specVersion\": got %q, want 1.x", d.SpecVersion)
	}
	inv := &Inventory{}
	if d.Metadata != nil && d.Metadata.Component != nil {
		root, err := cdxToComponent(d.Metadata.Component, "metadata.component")
		if err != nil {
			return nil, err
		}
		inv.Root = &root
		inv.Name = root.Name
		if err := cdxFlatten(d.Metadata.Component.Components, "metadata.component.components", inv); err != nil {
			return nil, err
		}
	}
	if err := cdxFlatten(d.Components, "components", inv); err != nil {
		return nil, err
	}
	return inv, nil
}

func cdxFlatten(cs []cdxJSONComponent, where string, inv *Inventory) error {
	for i := range cs {
		at := fmt.Sprintf("%s[%d]", where, i)
		c, err := cdxToComponent(&cs[i], at)
		if err != nil {
			return err
		}
		inv.Components = append(inv.Components, c)
		if err := cdxFlatten(cs[i].Components, at+".components", inv); err != nil {
			return err
		}
	}
	return nil
}

func cdxToComponent(j *cdxJSONComponent, at string) (Component, error) {
	if j.Name == "" || j.Type == "" {
		return Component{}, fmt.Errorf("CycloneDX BOM: %s: fields \"name\" and \"type\" are required", at)
	}
	name := j.Name
	if j.Group != "" {
		name = j.Group + "/" + j.Name
	}
	c := Component{Type: ComponentType(j.Type), Name: name, Version: j.Version, PURL: j.PURL}
	for _, h := range j.Hashes {
		if n, ok := cdxAlgNames[h.Alg]; ok {
			if c.Hashes == nil {
				c.Hashes = map[string]string{}
			}
			c.Hashes[n] = strings.ToLower(h.Content)
		}
	}
	var lic []string
	for _, l := range j.Licenses {
		switch {
		case l.Expression != "":
			lic = append(lic, l.Expression)
		case l.License != nil && l.License.ID != "":
			lic = append(lic, l.License.ID)
		case l.License != nil && l.License.Name != "":
			lic = append(lic, l.License.Name)
		}
	}
	c.License = combineLicenses(lic...)
	for _, p := range j.Properties {
		if k, ok := strings.CutPrefix(p.Name, cdxPropertyPrefix); ok {
			if c.Properties == nil {
				c.Properties = map[string]string{}
			}
			c.Properties[k] = p.Value
		}
	}
	return c, nil
}

// rejectDuplicateKeys walks the token stream once and fails on the first
// object with a repeated member name.
func rejectDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		keys   map[string]bool // nil for arrays
		expect bool            // object: next string token is a key
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, frame{keys: map[string]bool{}, expect: true})
				continue
			case '[':
				stack = append(stack, frame{})
				continue
			default:
				stack = stack[:len(stack)-1]
			}
		} else if n := len(stack); n > 0 && stack[n-1].keys != nil && stack[n-1].expect {
			k, _ := tok.(string)
			if stack[n-1].keys[k] {
				return fmt.Errorf("duplicate object key %q", k)
			}
			stack[n-1].keys[k] = true
			stack[n-1].expect = false
			continue
		}
		// A value ended: in an object, a key comes next.
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].expect = true
		}
		if len(stack) == 0 {
			return nil
		}
	}
}
