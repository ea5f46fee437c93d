package sbom

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// cdxPropertyPrefix namespaces toto's properties in CycloneDX, as the
// CycloneDX property taxonomy asks of tools.
const cdxPropertyPrefix = "toto:"

var cdxHashAlg = map[string]cdx.HashAlgorithm{
	SHA1:   cdx.HashAlgoSHA1,
	SHA256: cdx.HashAlgoSHA256,
	SHA512: cdx.HashAlgoSHA512,
}

var cdxType = map[ComponentType]cdx.ComponentType{
	TypeApplication: cdx.ComponentTypeApplication,
	TypeLibrary:     cdx.ComponentTypeLibrary,
	TypeFile:        cdx.ComponentTypeFile,
}

// encodeCycloneDX writes a CycloneDX 1.6 BOM: the root is
// metadata.component, the others are top-level components, and the root
// depends on every library.
func encodeCycloneDX(inv *Inventory, f Format, o EncodeOptions) ([]byte, error) {
	bom := cdx.NewBOM()
	bom.SerialNumber = o.SerialNumber
	bom.Metadata = &cdx.Metadata{
		Timestamp: o.Created.Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication,
			Name: o.Tool,
		}}},
	}
	ids := componentIDs(inv.Components, "")
	// bom-refs must be unique within the BOM; purls are the natural choice
	// and usually unique after Normalize, with the generated id as
	// fallback.
	used := map[string]bool{}
	unique := func(want, fallback string) string {
		if want == "" || used[want] {
			want = fallback
		}
		used[want] = true
		return want
	}
	var rootRef string
	if inv.Root != nil {
		rootRef = unique(inv.Root.PURL, "root:"+sanitizeID(inv.Root.Name))
	}
	refs := make([]string, len(inv.Components))
	comps := make([]cdx.Component, len(inv.Components))
	for i := range inv.Components {
		c := &inv.Components[i]
		if c.Type == TypeFile {
			refs[i] = unique("file:"+ids[i], "file:"+ids[i]+"-"+fmt.Sprint(i))
		} else {
			refs[i] = unique(c.PURL, ids[i])
		}
		comps[i] = cdxComponent(c, refs[i])
	}
	if inv.Root != nil {
		root := cdxComponent(inv.Root, rootRef)
		bom.Metadata.Component = &root
		var deps []string
		for i := range inv.Components {
			if inv.Components[i].Type != TypeFile {
				deps = append(deps, refs[i])
			}
		}
		d := []cdx.Dependency{{Ref: rootRef}}
		if len(deps) > 0 {
			d[0].Dependencies = &deps
		}
		bom.Dependencies = &d
	}
	if len(comps) > 0 {
		bom.Components = &comps
	}

	var buf bytes.Buffer
	ff := cdx.BOMFileFormatJSON
	if f == CycloneDXXML {
		ff = cdx.BOMFileFormatXML
	}
	enc := cdx.NewBOMEncoder(&buf, ff).SetPretty(true).SetEscapeHTML(false)
	if err := enc.EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
		return nil, fmt.Errorf("sbom: write CycloneDX: %w", err)
	}
	return buf.Bytes(), nil
}

func cdxComponent(c *Component, ref string) cdx.Component {
	out := cdx.Component{
		BOMRef:     ref,
		Type:       cdxType[c.Type],
		Name:       c.Name,
		Version:    c.Version,
		PackageURL: c.PURL,
	}
	if out.Type == "" {
		out.Type = cdx.ComponentTypeLibrary
	}
	var hashes []cdx.Hash
	for _, alg := range []string{SHA1, SHA256, SHA512} {
		if v, ok := c.Hashes[alg]; ok {
			hashes = append(hashes, cdx.Hash{Algorithm: cdxHashAlg[alg], Value: v})
		}
	}
	if len(hashes) > 0 {
		out.Hashes = &hashes
	}
	if l := cdxLicenses(c.License); l != nil {
		out.Licenses = l
	}
	if c.DownloadLocation != "" {
		out.ExternalReferences = &[]cdx.ExternalReference{{Type: cdx.ERTypeDistribution, URL: c.DownloadLocation}}
	}
	if len(c.Properties) > 0 {
		props := make([]cdx.Property, 0, len(c.Properties))
		for _, k := range sortedProperties(c.Properties) {
			props = append(props, cdx.Property{Name: cdxPropertyPrefix + k, Value: c.Properties[k]})
		}
		out.Properties = &props
	}
	return out
}

// cdxLicenseIDList is the enum of license ids CycloneDX 1.6 allows in
// license.id, taken from its spdx.schema.json (a test keeps the two equal).
// It lags the SPDX License List, so newer ids go in an expression.
//
//go:embed cyclonedx_license_ids.txt
var cdxLicenseIDList string

var cdxLicenseIDs = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, id := range strings.Fields(cdxLicenseIDList) {
		m[id] = true
	}
	return m
})

// cdxLicenses uses a license id for a single SPDX identifier CycloneDX
// knows, an expression for other SPDX expressions, and a named license
// otherwise.
func cdxLicenses(s string) *cdx.Licenses {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if canon, ok := canonicalLicenseID(s); ok {
		if cdxLicenseIDs()[canon] {
			return &cdx.Licenses{{License: &cdx.License{ID: canon}}}
		}
		return &cdx.Licenses{{Expression: canon}}
	}
	if isSPDXExpression(s) {
		return &cdx.Licenses{{Expression: s}}
	}
	return &cdx.Licenses{{License: &cdx.License{Name: s}}}
}
