package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/toto-dev/toto/verifier"
	"github.com/toto-dev/toto/verifier/evidencetest"
)

// attachAll attaches a fixture's evidence to a fresh image at ref.
func attachAll(t *testing.T, ref string, f evidencetest.Fixture) verifier.LinkSource {
	t.Helper()
	ctx := context.Background()
	tg := mustOpen(t, ref)
	attach := func(sub string, es []evidencetest.Evidence) {
		for _, e := range es {
			if _, err := AttachLink(ctx, tg, LinkEvidence{Step: e.Step, Sublayout: sub, Name: e.Name(), Data: e.Data}); err != nil {
				t.Fatal(err)
			}
		}
	}
	attach("", f.Links)
	for sub, es := range f.Sublayouts {
		attach(sub, es)
	}
	// A signature beside the links is not evidence.
	if _, err := Sign(ctx, tg, genKey(t, "ed25519"), SignOptions{}); err != nil {
		t.Fatal(err)
	}
	src, err := LinkSource(ctx, mustOpen(t, ref))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestLinkSourceConformance(t *testing.T) {
	t.Run("oci layout", func(t *testing.T) {
		evidencetest.Run(t, func(t *testing.T, f evidencetest.Fixture) verifier.LinkSource {
			dir, _ := newLayout(t, 1)
			return attachAll(t, "oci-layout:"+dir+":v1", f)
		})
	})
	for name, host := range registries(t) {
		t.Run(name, func(t *testing.T) {
			evidencetest.Run(t, func(t *testing.T, f evidencetest.Fixture) verifier.LinkSource {
				ref := host + "/links/app:1"
				pushRandom(t, ref)
				return attachAll(t, ref, f)
			})
		})
	}
}

func TestAttachLinkRefuses(t *testing.T) {
	dir, _ := newLayout(t, 1)
	tg := mustOpen(t, "oci-layout:"+dir+":v1")
	for _, e := range []LinkEvidence{
		{Name: "a.link", Data: []byte("{}")},
		{Step: "a", Data: []byte("{}")},
		{Step: "a", Name: "a.link", Sublayout: "x/../y", Data: []byte("{}")},
		{Step: "a", Name: "a.link", Sublayout: "/x", Data: []byte("{}")},
	} {
		if _, err := AttachLink(context.Background(), tg, e); err == nil {
			t.Errorf("%+v attached", e)
		}
	}
}

// A link referrer whose manifest has no link layer is reported under its
// step, not dropped.
func TestLinkSourceBadLayer(t *testing.T) {
	ctx := context.Background()
	dir, _ := newLayout(t, 1)
	tg := mustOpen(t, "oci-layout:"+dir+":v1")
	m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":%q,`+
		`"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},`+
		`"layers":[],"annotations":{%q:"build"},"subject":{"mediaType":%q,"digest":%q,"size":%d}}`,
		ArtifactTypeLink, AnnotationLinkStep, tg.Descriptor.MediaType, tg.Descriptor.Digest, tg.Descriptor.Size)
	if _, err := tg.Attach(ctx, Referrer{Manifest: []byte(m), Blobs: [][]byte{emptyJSON}}); err != nil {
		t.Fatal(err)
	}
	src, err := LinkSource(ctx, mustOpen(t, "oci-layout:"+dir+":v1"))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := src.Links(ctx, "build")
	if len(files) != 1 || files[0].Err == nil || !strings.Contains(files[0].Err.Error(), "exactly one") {
		t.Fatalf("got %+v", files)
	}
}

// FuzzLinkSource attaches a link referrer with fuzzed annotations, file
// name and content (as anyone with write access to the repository could)
// and reads the image's evidence back: no panic, no error for the whole
// source, and every file read has an envelope or says why not.
func FuzzLinkSource(f *testing.F) {
	f.Add("build", "", "build.12345678.link", []byte(`{"signed":{"_type":"link","name":"build"},"signatures":[]}`))
	f.Add("inner", "package.12345678", "inner.12345678.link", []byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}`))
	f.Add("x", "a/../b", "", []byte("not an envelope"))
	f.Add("", "//", "../../etc/passwd", []byte{})
	dir, _ := newLayout(f, 1)
	index, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, step, sub, name string, data []byte) {
		// Each input starts from the image alone.
		if err := os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		tg := mustOpen(t, "oci-layout:"+dir+":v1")
		lh, lsize, _ := v1.SHA256(bytes.NewReader(data))
		eh, esize, _ := v1.SHA256(bytes.NewReader(emptyJSON))
		m := v1.Manifest{
			SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: ArtifactTypeLink,
			Config:      v1.Descriptor{MediaType: MediaTypeEmpty, Digest: eh, Size: esize},
			Layers:      []v1.Descriptor{{MediaType: ArtifactTypeLink, Digest: lh, Size: lsize, Annotations: map[string]string{AnnotationTitle: name}}},
			Annotations: map[string]string{AnnotationLinkStep: step, AnnotationLinkSublayout: sub},
			Subject:     &v1.Descriptor{MediaType: tg.Descriptor.MediaType, Digest: tg.Descriptor.Digest, Size: tg.Descriptor.Size},
		}
		raw, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tg.Attach(ctx, Referrer{Manifest: raw, Blobs: [][]byte{emptyJSON, data}}); err != nil {
			t.Fatal(err)
		}
		src, err := LinkSource(ctx, mustOpen(t, "oci-layout:"+dir+":v1"))
		if err != nil {
			t.Fatalf("LinkSource: %v", err)
		}
		var walk func(s *verifier.MemSource, depth int)
		walk = func(s *verifier.MemSource, depth int) {
			if depth > 64 {
				t.Fatal("sublayouts nest deeper than the path allows")
			}
			for st, files := range s.Steps {
				got, err := s.Links(ctx, st)
				if err != nil || len(got) != len(files) {
					t.Fatalf("Links(%q): %d files, %v", st, len(got), err)
				}
				for _, lf := range files {
					if (lf.Envelope == nil) == (lf.Err == nil) {
						t.Fatalf("%s: envelope %v and error %v", lf.Name, lf.Envelope != nil, lf.Err)
					}
				}
			}
			for _, c := range s.Sublayouts {
				walk(c, depth+1)
			}
		}
		walk(src, 0)
	})
}
