package sbom

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"
	"github.com/spdx/tools-golang/tagvalue"
)

// The XML output decodes with cyclonedx-go into the same BOM structure the
// JSON output has.
func TestCycloneDXXMLRoundTrip(t *testing.T) {
	inv := sampleInventory()
	doc, err := inv.Encode(CycloneDXXML, EncodeOptions{Created: fixedTime})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, []byte(`xmlns="http://cyclonedx.org/schema/bom/1.6"`)) {
		t.Fatal("XML output does not declare the CycloneDX 1.6 namespace")
	}
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(doc), cdx.BOMFileFormatXML).Decode(&bom); err != nil {
		t.Fatal(err)
	}
	if bom.SerialNumber == "" || bom.Version != 1 || bom.Metadata == nil || bom.Metadata.Component == nil {
		t.Fatalf("decoded BOM lacks serial number, version or metadata.component: %+v", bom)
	}
	if bom.Metadata.Component.Name != inv.Root.Name || bom.Metadata.Timestamp != "2024-05-17T12:30:00Z" {
		t.Errorf("metadata = %+v", bom.Metadata)
	}
	if bom.Components == nil || len(*bom.Components) != len(inv.Components) {
		t.Fatalf("components = %v, want %d", bom.Components, len(inv.Components))
	}
	refs := map[string]bool{}
	for _, c := range *bom.Components {
		if c.BOMRef == "" || refs[c.BOMRef] {
			t.Errorf("component %s: empty or duplicate bom-ref %q", c.Name, c.BOMRef)
		}
		refs[c.BOMRef] = true
		if c.Name == "github.com/BurntSushi/toml" {
			if c.Licenses == nil || (*c.Licenses)[0].Expression != "(MIT OR Apache-2.0) AND BSD-3-Clause" {
				t.Errorf("toml licenses = %+v", c.Licenses)
			}
			if c.PackageURL != "pkg:golang/github.com/BurntSushi/toml@v1.3.2%2Bincompatible" {
				t.Errorf("toml purl = %q", c.PackageURL)
			}
		}
		if c.Type == cdx.ComponentTypeFile && (c.Hashes == nil || len(*c.Hashes) != 3) {
			t.Errorf("file %s hashes = %v", c.Name, c.Hashes)
		}
	}
	if bom.Dependencies == nil || len(*bom.Dependencies) != 1 || len(*(*bom.Dependencies)[0].Dependencies) != 3 {
		t.Errorf("dependencies = %+v, want the root depending on its 3 libraries", bom.Dependencies)
	}
}

// Optional: validate the XML against the official XSD with xmllint
// (Debian package libxml2-utils), when it is installed.
func TestCycloneDXXMLAgainstXSD(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not installed (apt-get install libxml2-utils); XML checked by round trip only")
	}
	doc, err := sampleInventory().Encode(CycloneDXXML, EncodeOptions{Created: fixedTime})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "bom.xml")
	if err := os.WriteFile(p, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	xsd := filepath.Join("testdata", "schema", "bom-1.6.xsd")
	out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", xsd, p).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint rejects the XML: %v\n%s", err, out)
	}
	// And the check has teeth: an invalid component type is rejected.
	bad := bytes.Replace(doc, []byte(`type="library"`), []byte(`type="nonsense"`), 1)
	if err := os.WriteFile(p, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(xmllint, "--noout", "--nonet", "--schema", xsd, p).Run(); err == nil {
		t.Error("xmllint accepted an invalid component type")
	}
}

// The tag-value output reads back with tools-golang's own parser.
func TestSPDXTagValueRoundTrip(t *testing.T) {
	inv := sampleInventory()
	doc, err := inv.Encode(SPDXTagValue, EncodeOptions{Created: fixedTime})
	if err != nil {
		t.Fatal(err)
	}
	var back spdx.Document
	if err := tagvalue.ReadInto(bytes.NewReader(doc), &back); err != nil {
		t.Fatal(err)
	}
	if back.SPDXVersion != "SPDX-2.3" || back.DocumentName != inv.Name || back.CreationInfo.Created != "2024-05-17T12:30:00Z" {
		t.Errorf("document header = %s %s %+v", back.SPDXVersion, back.DocumentName, back.CreationInfo)
	}
	// root + 3 libraries; the file is an unpackaged file.
	if len(back.Packages) != 4 || len(back.Files) != 1 {
		t.Fatalf("%d packages, %d files; want 4 and 1", len(back.Packages), len(back.Files))
	}
	for _, p := range back.Packages {
		if len(p.PackageExternalReferences) != 1 || !strings.HasPrefix(p.PackageExternalReferences[0].Locator, "pkg:") {
			t.Errorf("package %s lost its purl", p.PackageName)
		}
	}
	if len(back.OtherLicenses) != 1 || back.OtherLicenses[0].ExtractedText != "SEE LICENSE IN LICENSE.txt" {
		t.Errorf("other licenses = %+v", back.OtherLicenses)
	}
	if len(back.Relationships) != 5 {
		t.Errorf("%d relationships, want 5", len(back.Relationships))
	}
}

// The same tag-value document in JSON must equal the JSON encoder's output
// in substance: both go through one model.
func TestSPDXJSONReadsBackWithToolsGolang(t *testing.T) {
	doc, err := sampleInventory().Encode(SPDXJSON, EncodeOptions{Created: fixedTime})
	if err != nil {
		t.Fatal(err)
	}
	var back spdx.Document
	if err := back.UnmarshalJSON(doc); err != nil {
		t.Fatal(err)
	}
	if len(back.Packages) != 4 || len(back.Files) != 1 || len(back.Relationships) != 5 {
		t.Errorf("JSON read back: %d packages, %d files, %d relationships", len(back.Packages), len(back.Files), len(back.Relationships))
	}
}

// Line breaks would let a file name or package name forge tag-value
// lines; tag-value refuses them (JSON carries them fine).
func TestSPDXTagValueRefusesForgedLines(t *testing.T) {
	for _, inv := range []*Inventory{
		{Name: "x", Components: []Component{{Type: TypeFile, Name: "evil\nPackageLicenseDeclared: MIT", Hashes: map[string]string{SHA1: "00"}}}},
		{Name: "x", Components: []Component{{Type: TypeLibrary, Name: "p", License: "custom</text>\nPackageName: evil"}}},
		{Name: "doc\nname", Components: nil},
	} {
		if _, err := inv.Encode(SPDXTagValue, EncodeOptions{Created: fixedTime}); err == nil || !strings.Contains(err.Error(), "use spdx-json") {
			t.Errorf("%+v: tag-value error = %v", inv, err)
		}
		doc, err := inv.Encode(SPDXJSON, EncodeOptions{Created: fixedTime})
		if err != nil {
			t.Fatal(err)
		}
		validateJSON(t, SPDXJSON, doc)
	}
	if _, err := ParseNPMLock([]byte(`{"lockfileVersion":3,"packages":{"node_modules/a":{"name":"a\nb","version":"1"}}}`)); err == nil {
		t.Error("npm name with a line break accepted")
	}
}
