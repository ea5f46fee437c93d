// Package sbom builds software bills of materials and binds them to
// artifacts as in-toto attestations.
//
// The package has three layers:
//
//   - Collectors (FromDir, FromFiles, FromGoBinary, FromGoModule,
//     FromNPMLock, ForArtifacts) read real inputs and produce a
//     format-neutral Inventory of Components.
//   - Encoders (Inventory.Encode) write an Inventory as SPDX 2.3 (JSON or
//     tag-value, via github.com/spdx/tools-golang) or CycloneDX 1.6 (JSON or
//     XML, via github.com/CycloneDX/cyclonedx-go). Output is deterministic:
//     components are sorted and the creation time, SPDX document namespace
//     and CycloneDX serial number are either injected or derived from the
//     content.
//   - Verification-side checks (ParseStatement, ParsePredicate, Evaluate)
//     are pure functions: given SBOM attestations whose signatures the
//     caller has already verified, the artifact's digests and a Policy,
//     they report every violation with a message naming the attestation,
//     component and rule.
package sbom
