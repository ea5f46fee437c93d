package dockerfile_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/toto-dev/toto/dockerfile"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/imagepolicy"
	"github.com/toto-dev/toto/internal/oracle"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
)

// Resolve and VerifyMaterials against a real registry (distribution 2.8),
// with a base signed through package image: an index resolves to its
// digest and the target platform's manifest, the policy decides, and the
// allowed images become oci:// materials.
func TestResolveAndVerifyMaterials(t *testing.T) {
	ctx := context.Background()
	host := oracle.Registry(t)
	dir := t.TempDir()
	k, err := keys.Generate(keys.ECDSA, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := k.MarshalPEM(false)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "k.pub"), pub, 0o644)
	os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte("rules:\n  - images: [\""+host+"/*\"]\n    require: {sigstore: {keys: [k.pub]}}\n"), 0o644)
	p, err := imagepolicy.Load(filepath.Join(dir, "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	var idx v1.ImageIndex = empty.Index
	var arm v1.Hash
	for _, ps := range []string{"linux/amd64", "linux/arm64"} {
		img, _ := random.Image(128, 1)
		pl, _ := v1.ParsePlatform(ps)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: pl}})
		if ps == "linux/arm64" {
			arm, _ = img.Digest()
		}
	}
	ref, _ := name.ParseReference(host + "/multi:1")
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	idxDigest, _ := idx.Digest()

	src := "FROM " + host + "/multi:1 AS a\nFROM " + host + "/multi:1\nFROM a\n"
	f, err := dockerfile.Parse("Dockerfile", []byte(src), dockerfile.Options{Platform: "linux/arm64"})
	if err != nil {
		t.Fatal(err)
	}
	bases, err := dockerfile.Resolve(ctx, f, dockerfile.VerifyOptions{Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	if len(bases) != 2 || bases[0].From.Line != 1 || bases[1].From.Line != 2 {
		t.Fatalf("bases %+v", bases)
	}
	for _, b := range bases {
		if b.Target.Digest() != idxDigest.String() || b.PlatformDigest != arm.String() || b.Platform != "linux/arm64" || b.Allowed() {
			t.Fatalf("unsigned index: %+v allowed=%v", b, b.Allowed())
		}
	}

	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(src), 0o644)
	m := link.Artifacts{"Dockerfile": {"sha256": sha(src)}}
	_, err = dockerfile.VerifyMaterials(ctx, m, dockerfile.MaterialOptions{Dir: dir, Parse: dockerfile.Options{Platform: "linux/arm64"}, Verify: dockerfile.VerifyOptions{Policy: p}})
	var de *dockerfile.DeniedError
	if !errors.As(err, &de) || !errors.Is(err, dockerfile.ErrDenied) || len(de.Denied) != 2 || len(m) != 1 {
		t.Fatalf("denied: %v, materials %v", err, m)
	}

	tg, err := image.Open(ctx, host+"/multi@"+idxDigest.String(), image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := image.Sign(ctx, tg, k, image.SignOptions{}); err != nil {
		t.Fatal(err)
	}
	bases, err = dockerfile.VerifyMaterials(ctx, m, dockerfile.MaterialOptions{Dir: dir, Parse: dockerfile.Options{Platform: "linux/arm64"}, Verify: dockerfile.VerifyOptions{Policy: p}})
	if err != nil || len(bases) != 2 || !bases[0].Allowed() {
		t.Fatalf("signed: %v %+v", err, bases)
	}
	if got := m["oci://"+host+"/multi"]; len(m) != 2 || got["sha256"] != idxDigest.Hex {
		t.Fatalf("materials %v", m)
	}

	// No manifest for the platform: an error at the FROM's line.
	f, _ = dockerfile.Parse("Dockerfile", []byte("ARG X\nFROM --platform=linux/riscv64 "+host+"/multi:1\n"), dockerfile.Options{})
	if _, err := dockerfile.Resolve(ctx, f, dockerfile.VerifyOptions{Policy: p}); err == nil || !errors.Is(err, dockerfile.ErrSyntax) || err.Error()[:13] != "Dockerfile:2:" {
		t.Fatalf("riscv64: %v", err)
	}
}
