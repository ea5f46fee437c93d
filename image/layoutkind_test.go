package image

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/toto-dev/toto/keys"
)

// Attaching to a layout marks the subject's index.json entry with cosign
// save's kind annotation (what cosign verify --local-image looks for),
// keeping its other annotations, and leaves the other images' entries and
// an existing kind alone.
func TestLayoutMarksSubjectForCosign(t *testing.T) {
	dir, ds := newLayout(t, 2)
	k := genKey(t, keys.ECDSA)
	entries := func() []struct {
		Digest      string
		Annotations map[string]string
	} {
		raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
		if err != nil {
			t.Fatal(err)
		}
		var idx struct {
			Manifests []struct {
				Digest      string
				Annotations map[string]string
			}
		}
		if err := json.Unmarshal(raw, &idx); err != nil {
			t.Fatal(err)
		}
		return idx.Manifests
	}
	if _, err := Sign(context.Background(), mustOpen(t, LayoutPrefix+dir+"@"+ds[0].String()), k, SignOptions{}); err != nil {
		t.Fatal(err)
	}
	m := entries()
	if len(m) != 3 || m[0].Annotations[AnnotationCosignKind] != CosignKindImage || m[0].Annotations[annotationRefName] != "v1" {
		t.Fatalf("subject entry: %+v", m[0])
	}
	if _, ok := m[1].Annotations[AnnotationCosignKind]; ok {
		t.Errorf("other image marked: %+v", m[1])
	}
	// The image is still found by tag, and an existing kind is kept.
	for _, ref := range []string{LayoutPrefix + dir + ":v1", LayoutPrefix + dir + "@" + ds[0].String()} {
		rep, err := Verify(context.Background(), mustOpen(t, ref), VerifyOptions{Keys: []*keys.Key{k}, RequireAll: true})
		if err != nil || rep.Signatures != 1 {
			t.Fatalf("%s: %v", ref, err)
		}
	}
	if _, err := Attest(context.Background(), mustOpen(t, LayoutPrefix+dir+":v1"), k, sbomType, sbomPredicate, SignOptions{}); err != nil {
		t.Fatal(err)
	}
	if m := entries(); len(m) != 4 || m[0].Annotations[AnnotationCosignKind] != CosignKindImage {
		t.Fatalf("after a second attach: %+v", m)
	}
	for mt, want := range map[string]string{
		"application/vnd.oci.image.manifest.v1+json":                CosignKindImage,
		"application/vnd.docker.distribution.manifest.v2+json":      CosignKindImage,
		"application/vnd.oci.image.index.v1+json":                   CosignKindImageIndex,
		"application/vnd.docker.distribution.manifest.list.v2+json": CosignKindImageIndex,
		"application/vnd.dev.sigstore.bundle.v0.3+json":             "",
	} {
		if got := cosignKindOf(types.MediaType(mt)); got != want {
			t.Errorf("cosignKindOf(%s) = %q, want %q", mt, got, want)
		}
	}
}
