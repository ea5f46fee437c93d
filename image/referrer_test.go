package image

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestAttachReferrer: Attach pushes a caller-built referrer to a layout
// and to both registries, Referrers lists it with its artifact type, and
// malformed referrers are refused before anything is written.
func TestAttachReferrer(t *testing.T) {
	dir, _ := newLayout(t, 1)
	targets := map[string]string{"layout": LayoutPrefix + dir + ":v1"}
	for name, host := range registries(t) {
		d := pushRandom(t, host+"/app:1")
		targets[name] = host + "/app@" + d.String()
	}
	for name, ref := range targets {
		t.Run(name, func(t *testing.T) {
			tg := mustOpen(t, ref)
			blob := []byte(`{"sig":1}`)
			bh, bsize, _ := v1.SHA256(strings.NewReader(string(blob)))
			eh, esize, _ := v1.SHA256(strings.NewReader("{}"))
			m := v1.Manifest{
				SchemaVersion: 2,
				MediaType:     types.OCIManifestSchema1,
				Config:        v1.Descriptor{MediaType: "application/vnd.example.sig", Digest: eh, Size: esize},
				Layers:        []v1.Descriptor{{MediaType: "application/vnd.example.env", Digest: bh, Size: bsize}},
				Subject:       &v1.Descriptor{MediaType: tg.Descriptor.MediaType, Digest: tg.Descriptor.Digest, Size: tg.Descriptor.Size},
			}
			raw, _ := json.Marshal(m)
			d, err := tg.Attach(context.Background(), Referrer{Manifest: raw, Blobs: [][]byte{[]byte("{}"), blob}})
			if err != nil {
				t.Fatal(err)
			}
			if d.ArtifactType != "application/vnd.example.sig" {
				t.Errorf("artifact type %q", d.ArtifactType)
			}
			refs, err := mustOpen(t, ref).Referrers(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, r := range refs {
				found = found || r.Digest == d.Digest && r.ArtifactType == "application/vnd.example.sig"
			}
			if !found {
				t.Fatalf("not listed: %+v", refs)
			}
			got, err := tg.Blob(context.Background(), bh, 1<<10)
			if err != nil || string(got) != string(blob) {
				t.Fatalf("blob: %q %v", got, err)
			}

			other := m
			other.Subject = &v1.Descriptor{Digest: eh}
			wrongSubject, _ := json.Marshal(other)
			for _, tc := range []struct {
				name string
				r    Referrer
				want string
			}{
				{"other subject", Referrer{Manifest: wrongSubject, Blobs: [][]byte{[]byte("{}"), blob}}, "subject is not the image"},
				{"missing blob", Referrer{Manifest: raw, Blobs: [][]byte{[]byte("{}")}}, "no content given"},
				{"not a manifest", Referrer{Manifest: []byte(`{"mediaType":"application/vnd.oci.image.index.v1+json","schemaVersion":2}`)}, "not an OCI image manifest"},
			} {
				if _, err := tg.Attach(context.Background(), tc.r); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: %v", tc.name, err)
				}
			}
		})
	}
}
