package image

import "strings"

// cosignPredicateTypes are cosign attest's --type names, as the predicate
// types cosign v2.6.5 and v3.1.3 write for them (observed, see the interop
// tests). "link" is left out: it was not observed.
var cosignPredicateTypes = map[string]string{
	"custom":           "https://cosign.sigstore.dev/attestation/v1",
	"slsaprovenance":   "https://slsa.dev/provenance/v0.2",
	"slsaprovenance02": "https://slsa.dev/provenance/v0.2",
	"slsaprovenance1":  "https://slsa.dev/provenance/v1",
	"spdx":             "https://spdx.dev/Document",
	"spdxjson":         "https://spdx.dev/Document",
	"cyclonedx":        "https://cyclonedx.org/bom",
	"vuln":             "https://cosign.sigstore.dev/attestation/vuln/v1",
	"openvex":          "https://openvex.dev/ns",
}

// PredicateType returns the predicate type URI for one of cosign attest's
// --type names (spdxjson, cyclonedx, slsaprovenance, slsaprovenance1, ...),
// so that `toto image verify --type` takes what `cosign attest --type` and
// `cosign verify-attestation --type` take. Anything else is returned
// unchanged (a URI). The second result says whether a name was mapped.
func PredicateType(name string) (string, bool) {
	if u, ok := cosignPredicateTypes[strings.ToLower(name)]; ok {
		return u, true
	}
	return name, false
}
