package sbom

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"
	"github.com/spdx/tools-golang/tagvalue"
)

const spdxDocumentID = "DOCUMENT"

var spdxChecksumAlg = map[string]common.ChecksumAlgorithm{
	SHA1:   common.SHA1,
	SHA256: common.SHA256,
	SHA512: common.SHA512,
}

// encodeSPDX writes an SPDX 2.3 document: the document DESCRIBES the root
// package (or, without a root, every component); the root DEPENDS_ON its
// packages and CONTAINS its files. Licenses that are not valid SPDX
// expressions become LicenseRef- identifiers with the declared text as
// extracted licensing info (SPDX 2.3 clause 10).
func encodeSPDX(inv *Inventory, f Format, o EncodeOptions) ([]byte, error) {
	doc := &spdx.Document{
		SPDXVersion:       spdx.Version,
		DataLicense:       spdx.DataLicense,
		SPDXIdentifier:    spdxDocumentID,
		DocumentName:      inv.Name,
		DocumentNamespace: o.Namespace,
		CreationInfo: &spdx.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Tool", Creator: o.Tool}},
			Created:  o.Created.Format(time.RFC3339),
		},
	}
	if doc.DocumentName == "" {
		doc.DocumentName = "sbom"
	}
	lic := &licenseRefs{byText: map[string]string{}, used: map[string]bool{}}
	docRef := common.MakeDocElementID("", spdxDocumentID)

	var rootRef common.DocElementID
	if inv.Root != nil {
		p := spdxPackage(inv.Root, "SPDXRef-Root-"+sanitizeID(inv.Root.Name), lic)
		p.PrimaryPackagePurpose = "APPLICATION"
		doc.Packages = append(doc.Packages, p)
		rootRef = common.MakeDocElementID("", string(p.PackageSPDXIdentifier))
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{
			RefA: docRef, RefB: rootRef, Relationship: common.TypeRelationshipDescribe,
		})
	}
	ids := componentIDs(inv.Components, "SPDXRef-")
	for i := range inv.Components {
		c := &inv.Components[i]
		var el common.ElementID
		rel := common.TypeRelationshipDependsOn
		if c.Type == TypeFile {
			file := spdxFile(c, ids[i], lic)
			doc.Files = append(doc.Files, file)
			el = file.FileSPDXIdentifier
			rel = common.TypeRelationshipContains
		} else {
			p := spdxPackage(c, ids[i], lic)
			doc.Packages = append(doc.Packages, p)
			el = p.PackageSPDXIdentifier
		}
		ref := common.MakeDocElementID("", string(el))
		if inv.Root != nil {
			doc.Relationships = append(doc.Relationships, &spdx.Relationship{RefA: rootRef, RefB: ref, Relationship: rel})
		} else {
			doc.Relationships = append(doc.Relationships, &spdx.Relationship{RefA: docRef, RefB: ref, Relationship: common.TypeRelationshipDescribe})
		}
	}
	doc.OtherLicenses = lic.others

	var buf bytes.Buffer
	var err error
	if f == SPDXTagValue {
		if err := tagValueSafe(doc); err != nil {
			return nil, fmt.Errorf("sbom: cannot write SPDX tag-value (use %s): %w", SPDXJSON, err)
		}
		err = tagvalue.Write(doc, &buf)
	} else {
		err = spdxjson.Write(doc, &buf, spdxjson.Indent("  "), spdxjson.EscapeHTML(false))
	}
	if err != nil {
		return nil, fmt.Errorf("sbom: write SPDX: %w", err)
	}
	return buf.Bytes(), nil
}

func spdxPackage(c *Component, id string, lic *licenseRefs) *spdx.Package {
	p := &spdx.Package{
		PackageName:               c.Name,
		PackageSPDXIdentifier:     common.ElementID(strings.TrimPrefix(id, "SPDXRef-")),
		PackageVersion:            c.Version,
		PackageDownloadLocation:   firstNonEmpty(c.DownloadLocation, NoAssertion),
		FilesAnalyzed:             false,
		IsFilesAnalyzedTagPresent: true,
		PackageChecksums:          spdxChecksums(c.Hashes),
		PackageLicenseConcluded:   NoAssertion,
		PackageLicenseDeclared:    lic.expression(c.License),
		PackageCopyrightText:      NoAssertion,
		PackageComment:            propertiesComment(c.Properties),
	}
	if c.Type == TypeLibrary {
		p.PrimaryPackagePurpose = "LIBRARY"
	}
	if c.PURL != "" {
		p.PackageExternalReferences = []*spdx.PackageExternalReference{{
			Category: common.CategoryPackageManager,
			RefType:  common.TypePackageManagerPURL,
			Locator:  c.PURL,
		}}
	}
	return p
}

func spdxFile(c *Component, id string, lic *licenseRefs) *spdx.File {
	name := c.Name
	if !strings.HasPrefix(name, "/") && !strings.HasPrefix(name, "./") {
		name = "./" + name // SPDX 2.3 clause 8.1: relative paths start with "./"
	}
	f := &spdx.File{
		FileName:           name,
		FileSPDXIdentifier: common.ElementID(strings.TrimPrefix(id, "SPDXRef-")),
		Checksums:          spdxChecksums(c.Hashes),
		LicenseConcluded:   NoAssertion,
		FileCopyrightText:  NoAssertion,
		FileComment:        propertiesComment(c.Properties),
	}
	if c.License != "" {
		f.LicenseInfoInFiles = []string{lic.expression(c.License)}
	}
	return f
}

func spdxChecksums(h map[string]string) []common.Checksum {
	var out []common.Checksum
	for _, alg := range []string{SHA1, SHA256, SHA512} {
		if v, ok := h[alg]; ok {
			out = append(out, common.Checksum{Algorithm: spdxChecksumAlg[alg], Value: v})
		}
	}
	return out
}

// propertiesComment renders properties as "key: value" lines, since SPDX
// 2.3 packages have no property list.
func propertiesComment(p map[string]string) string {
	var b strings.Builder
	for _, k := range sortedProperties(p) {
		fmt.Fprintf(&b, "%s: %s\n", k, p[k])
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// licenseRefs turns declared license strings into SPDX expressions,
// minting LicenseRef- identifiers for texts that are not expressions.
type licenseRefs struct {
	byText map[string]string
	used   map[string]bool
	others []*spdx.OtherLicense
}

func (l *licenseRefs) expression(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return NoAssertion
	}
	if canon, ok := canonicalLicenseID(s); ok {
		return canon
	}
	if isSPDXExpression(s) {
		return s
	}
	if id, ok := l.byText[s]; ok {
		return id
	}
	id := "LicenseRef-" + sanitizeID(s)
	for n := 2; l.used[id]; n++ {
		id = fmt.Sprintf("LicenseRef-%s-%d", sanitizeID(s), n)
	}
	l.used[id] = true
	l.byText[s] = id
	l.others = append(l.others, &spdx.OtherLicense{
		LicenseIdentifier: id,
		ExtractedText:     s,
		LicenseName:       s,
		LicenseComment:    "declared by the package; not an SPDX license expression",
	})
	return id
}

// tagValueSafe refuses values that tag-value cannot carry: tools-golang
// writes single-line fields as they are, so a line break in a file or
// package name would start a new tag (an attacker-chosen one, from a file
// name or lockfile), and "</text>" inside a <text> block would end it early.
func tagValueSafe(doc *spdx.Document) error {
	line := func(what, v string) error {
		if strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("%s %q contains a line break", what, v)
		}
		return nil
	}
	text := func(what, v string) error {
		if strings.Contains(v, "</text>") {
			return fmt.Errorf("%s contains \"</text>\"", what)
		}
		return nil
	}
	errs := []error{line("document name", doc.DocumentName), line("document namespace", doc.DocumentNamespace)}
	for _, p := range doc.Packages {
		errs = append(errs, line("package name", p.PackageName), line("package version", p.PackageVersion),
			line("download location", p.PackageDownloadLocation), line("license", p.PackageLicenseDeclared),
			text("package comment", p.PackageComment))
		for _, r := range p.PackageExternalReferences {
			errs = append(errs, line("purl", r.Locator))
		}
	}
	for _, f := range doc.Files {
		errs = append(errs, line("file name", f.FileName), text("file comment", f.FileComment))
		for _, l := range f.LicenseInfoInFiles {
			errs = append(errs, line("license", l))
		}
	}
	for _, o := range doc.OtherLicenses {
		errs = append(errs, line("license name", o.LicenseName), text("license text", o.ExtractedText))
	}
	return errors.Join(errs...)
}
