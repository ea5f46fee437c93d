package sbom

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Format is an SBOM serialisation.
type Format string

// The formats Encode writes.
const (
	SPDXJSON      Format = "spdx-json"      // SPDX 2.3 JSON
	SPDXTagValue  Format = "spdx-tv"        // SPDX 2.3 tag-value
	CycloneDXJSON Format = "cyclonedx-json" // CycloneDX 1.6 JSON
	CycloneDXXML  Format = "cyclonedx-xml"  // CycloneDX 1.6 XML
)

// Formats lists every Format, for help texts.
var Formats = []Format{SPDXJSON, SPDXTagValue, CycloneDXJSON, CycloneDXXML}

// Predicate types of the in-toto attestation framework for SBOM
// predicates. Verifiers also accept them with a version suffix such as
// "https://spdx.dev/Document/v2.3".
const (
	PredicateSPDX      = "https://spdx.dev/Document"
	PredicateCycloneDX = "https://cyclonedx.org/bom"
)

// ParseFormat accepts a Format name or a short alias: "spdx" (JSON),
// "spdx-tag-value", "cyclonedx"/"cdx" (JSON), "cdx-json", "cdx-xml".
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "spdx", "spdx-json", "spdx.json":
		return SPDXJSON, nil
	case "spdx-tv", "spdx-tag-value", "spdx-tagvalue", "tv":
		return SPDXTagValue, nil
	case "cyclonedx", "cdx", "cyclonedx-json", "cdx-json":
		return CycloneDXJSON, nil
	case "cyclonedx-xml", "cdx-xml":
		return CycloneDXXML, nil
	}
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown SBOM format %q (want one of %s)", s, strings.Join(names, ", "))
}

// PredicateType is the in-toto predicate type of an attestation carrying a
// document of this format. Only the JSON formats can be predicates, since a
// predicate is a JSON object.
func (f Format) PredicateType() (string, error) {
	switch f {
	case SPDXJSON:
		return PredicateSPDX, nil
	case CycloneDXJSON:
		return PredicateCycloneDX, nil
	}
	return "", fmt.Errorf("format %s cannot be an in-toto predicate: use %s or %s", f, SPDXJSON, CycloneDXJSON)
}

// EncodeOptions fix the parts of a document that are not derived from the
// inventory. Zero values give a deterministic document for a given
// inventory and creation time.
type EncodeOptions struct {
	// Created is the document's creation time; zero means now. Callers
	// wanting reproducible output pass a fixed time (the CLI honours
	// SOURCE_DATE_EPOCH).
	Created time.Time
	// Namespace is the SPDX documentNamespace. Empty derives a unique URI
	// from the document's content and creation time.
	Namespace string
	// SerialNumber is the CycloneDX serialNumber ("urn:uuid:..."). Empty
	// derives a name-based (version 5) UUID from content and time.
	SerialNumber string
	// Tool names the creating tool; default "toto".
	Tool string
}

func (o EncodeOptions) withDefaults(inv *Inventory) EncodeOptions {
	if o.Created.IsZero() {
		o.Created = time.Now()
	}
	o.Created = o.Created.UTC().Truncate(time.Second)
	if o.Tool == "" {
		o.Tool = "toto"
	}
	if o.Namespace == "" || o.SerialNumber == "" {
		fp := fingerprint(inv, o.Created)
		if o.Namespace == "" {
			o.Namespace = "https://toto.dev/spdxdocs/" + sanitizeID(inv.Name) + "-" + uuidV5(fp)
		}
		if o.SerialNumber == "" {
			o.SerialNumber = "urn:uuid:" + uuidV5(fp)
		}
	}
	return o
}

// Encode writes the inventory in format f. The inventory is normalised
// (sorted, duplicates merged) first.
func (inv *Inventory) Encode(f Format, opts EncodeOptions) ([]byte, error) {
	inv.Normalize()
	opts = opts.withDefaults(inv)
	switch f {
	case SPDXJSON, SPDXTagValue:
		return encodeSPDX(inv, f, opts)
	case CycloneDXJSON, CycloneDXXML:
		return encodeCycloneDX(inv, f, opts)
	}
	return nil, fmt.Errorf("sbom: unknown format %q", f)
}

// fingerprint hashes what a document says, so that derived identifiers
// change exactly when the content (or creation time) does.
func fingerprint(inv *Inventory, created time.Time) []byte {
	h := sha256.New()
	// encoding/json sorts map keys, so this is stable.
	b, _ := json.Marshal(struct {
		Name       string
		Root       *Component
		Components []Component
		Created    string
	}{inv.Name, inv.Root, inv.Components, created.Format(time.RFC3339)})
	h.Write(b)
	return h.Sum(nil)
}

// totoUUIDNamespace is the RFC 9562 name-space UUID under which toto derives
// version 5 UUIDs for documents (chosen once, at random).
var totoUUIDNamespace = [16]byte{0x3c, 0x0f, 0x59, 0x8e, 0x1d, 0x4b, 0x4e, 0x57, 0x9a, 0x61, 0x2f, 0x7d, 0x30, 0x88, 0xc4, 0x15}

// uuidV5 returns the RFC 9562 section 5.5 name-based UUID of name.
func uuidV5(name []byte) string {
	h := sha1.New()
	h.Write(totoUUIDNamespace[:])
	h.Write(name)
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC variant
	s := hex.EncodeToString(u)
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// sanitizeID keeps the characters SPDX allows in identifiers
// ([A-Za-z0-9.-]) and replaces the rest with '-'.
func sanitizeID(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			b[i] = '-'
		}
	}
	if len(b) == 0 {
		return "unnamed"
	}
	return string(b)
}

// componentIDs gives every component a unique, stable identifier built from
// its name and a short hash of its identity, so that adding one component
// does not renumber the others.
func componentIDs(comps []Component, prefix string) []string {
	ids := make([]string, len(comps))
	used := map[string]int{}
	for i := range comps {
		sum := sha256.Sum256([]byte(comps[i].key()))
		id := prefix + strings.Trim(sanitizeID(comps[i].Name), "-") + "-" + hex.EncodeToString(sum[:4])
		if n := used[id]; n > 0 {
			used[id] = n + 1
			id = fmt.Sprintf("%s-%d", id, n+1)
		} else {
			used[id] = 1
		}
		ids[i] = id
	}
	return ids
}

// sortedProperties returns the property names in order.
func sortedProperties(p map[string]string) []string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
