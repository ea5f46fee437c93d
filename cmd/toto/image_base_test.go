package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/toto-dev/toto/internal/oracle"
)

// pushOn pushes to ref an image made of base's layers and one more, as a
// build FROM base would, and returns its digest.
func pushOn(t *testing.T, base v1.Image, ref string) v1.Hash {
	t.Helper()
	l, err := random.Layer(300, "application/vnd.oci.image.layer.v1.tar")
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(base, l)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d
}

// toto image annotate-base writes the base annotations; containers-policy's
// signedBaseLayer accepts an image built on a signed base of the named
// repository, and rejects: an unsigned base, another base repository, an
// image without the annotations, and annotations that claim a base the
// image's layers do not begin with (which annotate-base refuses to write).
func TestSignedBaseLayerCLI(t *testing.T) {
	host := oracle.Registry(t)
	dir := t.TempDir()
	mustToto(t, dir, "key", "generate", "--type", "pgp", "-o", "release", "--uid", "Release <release@example.com>")
	sigs := filepath.Join(dir, "sigstore")

	base, err := random.Image(400, 2)
	if err != nil {
		t.Fatal(err)
	}
	br, _ := name.ParseReference(host + "/base:3")
	if err := remote.Write(br, base); err != nil {
		t.Fatal(err)
	}
	baseDigest, _ := base.Digest()
	mustToto(t, dir, "image", "sign", "--format", "simple-signing", "--gpg-key", "release", "--lookaside", sigs, host+"/base:3")

	app := pushOn(t, base, host+"/app:1")
	r := mustToto(t, dir, "image", "annotate-base", "--base", host+"/base:3", "--tag", "1-annotated", host+"/app@"+app.String())
	annotated := strings.TrimSpace(r.Stdout)
	if !strings.HasPrefix(annotated, host+"/app@sha256:") || strings.HasSuffix(annotated, app.String()) {
		t.Fatalf("annotate-base printed %q", annotated)
	}
	m := manifestOf(t, annotated)
	if m.Annotations["org.opencontainers.image.base.name"] != host+"/base:3" || m.Annotations["org.opencontainers.image.base.digest"] != baseDigest.String() {
		t.Fatalf("annotations %v", m.Annotations)
	}
	// The same again, --json: the same manifest, so the same digest.
	r = mustToto(t, dir, "image", "annotate-base", "--json", "--base", host+"/base:3", host+"/app@"+app.String())
	if out := validateAgainst(t, annotateBaseSchema, r.Stdout); out["image"] != annotated || out["baseDigest"] != baseDigest.String() || out["baseName"] != host+"/base:3" {
		t.Errorf("--json: %s", r.Stdout)
	}
	if tagged := manifestOf(t, host+"/app:1-annotated"); tagged.Annotations["org.opencontainers.image.base.digest"] != baseDigest.String() {
		t.Fatalf("--tag: %v", tagged.Annotations)
	}

	policy := func(file, baseRepo string) string {
		doc := fmt.Sprintf(`{"default":[{"type":"reject"}],"transports":{"docker":{
  %q: [{"type":"signedBy","keyType":"GPGKeys","keyPath":%q}],
  %q: [{"type":"signedBaseLayer","baseLayerIdentity":{"type":"exactRepository","dockerRepository":%q}}]}}}`,
			host+"/base", filepath.Join(dir, "release.pub"), host+"/app", baseRepo)
		if err := os.WriteFile(filepath.Join(dir, file), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return file
	}
	good := policy("good.json", host+"/base")
	verify := func(p, img string) cliResult {
		return runToto(t, dir, "image", "verify", "--containers-policy", p, "--lookaside", sigs, img)
	}
	r = verify(good, annotated)
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "ok   requirement 0 signedBaseLayer") {
		t.Errorf("stdout: %s", r.Stdout)
	}

	for _, c := range []struct {
		name, policy, img, want string
	}{
		{"another base repository required", policy("other.json", host+"/other"), annotated, "signed identity not accepted"},
		{"no annotations", good, host + "/app@" + app.String(), "names no base image"},
	} {
		r := verify(c.policy, c.img)
		if r.Code != 1 || !strings.Contains(r.Stdout, c.want) {
			t.Errorf("%s: exit %d, want 1 and %q\n%s%s", c.name, r.Code, c.want, r.Stdout, r.Stderr)
		}
	}

	// An unsigned base: the app built on it is rejected.
	base2, _ := random.Image(400, 2)
	b2r, _ := name.ParseReference(host + "/base:4")
	if err := remote.Write(b2r, base2); err != nil {
		t.Fatal(err)
	}
	app2 := pushOn(t, base2, host+"/app:2")
	annotated2 := strings.TrimSpace(mustToto(t, dir, "image", "annotate-base", "--base", host+"/base:4", host+"/app@"+app2.String()).Stdout)
	if r := verify(good, annotated2); r.Code != 1 || !strings.Contains(r.Stdout, "is not accepted by the policy") {
		t.Errorf("unsigned base: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}

	// app2 is not built on base:3: annotate-base refuses; annotations
	// written by hand that claim it are caught by the layer check.
	r = runToto(t, dir, "image", "annotate-base", "--base", host+"/base:3", host+"/app@"+app2.String())
	if r.Code != 1 || !strings.Contains(r.Stderr, "not built on that base") {
		t.Fatalf("annotate-base onto a foreign base: exit %d %s", r.Code, r.Stderr)
	}
	r = runToto(t, dir, "image", "annotate-base", "--json", "--base", host+"/base:3", host+"/app@"+app2.String())
	wantCode(t, r, 1)
	if out := validateAgainst(t, annotateBaseSchema, r.Stdout); out["image"] != host+"/app@"+app2.String() || !strings.Contains(out["error"].(string), "not built on that base") {
		t.Errorf("--json onto a foreign base: %s", r.Stdout)
	}
	r = runToto(t, dir, "image", "annotate-base", "--json", "--base", host+"/nope:1", host+"/app@"+app2.String())
	wantCode(t, r, 2)
	validateAgainst(t, errorSchema, r.Stdout)
	img2, err := remote.Image(mustRef(t, host+"/app@"+app2.String()))
	if err != nil {
		t.Fatal(err)
	}
	liar := mutate.Annotations(img2, map[string]string{
		"org.opencontainers.image.base.name":   host + "/base:3",
		"org.opencontainers.image.base.digest": baseDigest.String(),
	}).(v1.Image)
	if err := remote.Write(mustRef(t, host+"/app:liar"), liar); err != nil {
		t.Fatal(err)
	}
	if r := verify(good, host+"/app:liar"); r.Code != 1 || !strings.Contains(r.Stdout, "do not begin with the layers") {
		t.Errorf("false annotations: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func manifestOf(t *testing.T, ref string) *v1.Manifest {
	t.Helper()
	img, err := remote.Image(mustRef(t, ref))
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return m
}
