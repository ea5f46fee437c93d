package image

import "strings"

// ArtifactScheme prefixes the name under which an image is recorded as an
// in-toto material or product (toto run --material-image, --product-image,
// a Dockerfile's base images under --verify-materials).
const ArtifactScheme = "oci://"

// ArtifactName is the name an image is recorded under in a link:
// "oci://" and its repository, docker.io's as docker names it
// ("oci://docker.io/library/alpine", "oci://registry.example/app"); an OCI
// layout keeps its reference ("oci-layout:DIR"). The digest is not part
// of the name: it is the artifact's digest set (ArtifactDigest), so that a
// layout can REQUIRE the name and MATCH the digest against the step that
// produced the image, as it does for files.
func (t *Target) ArtifactName() string {
	if strings.HasPrefix(t.Reference, LayoutPrefix) {
		return t.Reference
	}
	repo := t.Reference
	if rest, ok := strings.CutPrefix(repo, "index.docker.io/"); ok {
		repo = "docker.io/" + rest
	}
	return ArtifactScheme + repo
}

// ArtifactDigest is the digest set of the image as an in-toto artifact:
// its manifest (or index) digest, {"sha256": HEX}.
func (t *Target) ArtifactDigest() map[string]string {
	return map[string]string{t.Descriptor.Digest.Algorithm: t.Descriptor.Digest.Hex}
}
