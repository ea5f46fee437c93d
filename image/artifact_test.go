package image_test

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/toto-dev/toto/image"
)

func TestArtifactName(t *testing.T) {
	h := v1.Hash{Algorithm: "sha256", Hex: "ab"}
	for ref, want := range map[string]string{
		"index.docker.io/library/alpine": "oci://docker.io/library/alpine",
		"registry.example:5000/a/b":      "oci://registry.example:5000/a/b",
		"oci-layout:/tmp/x":              "oci-layout:/tmp/x",
	} {
		tg := &image.Target{Reference: ref, Descriptor: v1.Descriptor{Digest: h}}
		if got := tg.ArtifactName(); got != want {
			t.Errorf("%s: %s, want %s", ref, got, want)
		}
		if d := tg.ArtifactDigest(); len(d) != 1 || d["sha256"] != "ab" {
			t.Errorf("digest set %v", d)
		}
	}
}

func TestBaseName(t *testing.T) {
	for in, want := range map[string]string{
		"alpine:3":                        "docker.io/library/alpine:3",
		"registry.example:5000/base:3":    "registry.example:5000/base:3",
		"ghcr.io/org/base":                "ghcr.io/org/base",
		"docker.io/library/alpine:latest": "docker.io/library/alpine:latest",
	} {
		if got, err := image.BaseName(in); err != nil || got != want {
			t.Errorf("BaseName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := image.BaseName("Not A Ref"); err == nil {
		t.Error("a bad reference was accepted")
	}
}
