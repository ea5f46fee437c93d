package interop

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	ggcrlayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	intoto "github.com/in-toto/in-toto-golang/in_toto"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/imagepolicy"
	"github.com/toto-dev/toto/keys"
)

// TestGolangChainAdmitsImage: a supply chain made entirely by the
// reference implementation in-toto-golang — its layout (Metablock, signed
// by the owner), its link recorded by in_toto.InTotoRun running the real
// command that writes an OCI image layout (Metablock and DSSE) — attached
// to the image with image.AttachLink and evaluated by an image policy's
// intoto requirement: allowed; a link by a key the layout does not name,
// or another owner key, denied.
func TestGolangChainAdmitsImage(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	ctx := context.Background()
	gen := func(name string) (*keys.Key, intoto.Key) {
		k, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		priv, err := k.MarshalPEM(true)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := k.MarshalPEM(false)
		if err := os.WriteFile(name+".key", priv, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name+".pub", pub, 0o644); err != nil {
			t.Fatal(err)
		}
		return k, goKey(t, name+".key", k)
	}
	_, alice := gen("alice")
	_, bob := gen("bob")
	_, mallory := gen("mallory")

	l := intoto.Layout{
		Type:    "layout",
		Expires: time.Now().UTC().Add(30 * 24 * time.Hour).Format("2006-01-02T15:04:05Z"),
		Keys:    map[string]intoto.Key{bob.KeyID: goPublic(bob)},
		Steps: []intoto.Step{{
			Type: "step", PubKeys: []string{bob.KeyID}, Threshold: 1,
			ExpectedCommand: []string{"cp", "-r", "staging", "out"},
			SupplyChainItem: intoto.SupplyChainItem{
				Name:              "build",
				ExpectedMaterials: [][]string{{"ALLOW", "src/*"}, {"DISALLOW", "*"}},
				ExpectedProducts:  [][]string{{"CREATE", "out/*"}, {"DISALLOW", "*"}},
			},
		}},
		Inspect: []intoto.Inspection{},
	}
	goSign(t, "root.layout", envelope.Metablock, l, alice)

	if err := os.MkdirAll("src", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("src/main.go", []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := ggcrlayout.Write("staging", empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := random.Image(256, 1)
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}

	// The reference runs the step and signs its link; then the built
	// image is copied once per case, each getting its own referrers.
	links := map[string][]byte{}
	for _, tc := range []struct {
		name string
		key  intoto.Key
		dsse bool
	}{{"metablock", bob, false}, {"dsse", bob, true}, {"mallory", mallory, false}} {
		os.RemoveAll("out")
		md, err := intoto.InTotoRun("build", ".", []string{"src"}, []string{"out"}, []string{"cp", "-r", "staging", "out"}, tc.key, []string{"sha256"}, nil, nil, false, false, tc.dsse)
		if err != nil {
			t.Fatalf("in-toto-golang run: %v", err)
		}
		file := tc.name + ".link"
		if err := md.Dump(file); err != nil {
			t.Fatal(err)
		}
		links[tc.name] = mustRead(t, file)
	}

	for _, tc := range []struct {
		name, link, owner string
		allowed           bool
	}{
		{"Metablock link", "metablock", "alice.pub", true},
		{"DSSE link", "dsse", "alice.pub", true},
		{"a link by a key the layout does not name", "mallory", "alice.pub", false},
		{"another owner", "metablock", "bob.pub", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			imgDir := filepath.Join(t.TempDir(), "img")
			if err := os.CopyFS(imgDir, os.DirFS("out")); err != nil {
				t.Fatal(err)
			}
			ref := "oci-layout:" + imgDir
			tg, err := image.Open(ctx, ref, image.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := image.AttachLink(ctx, tg, image.LinkEvidence{Step: "build", Name: "build." + tc.link + ".link", Data: links[tc.link]}); err != nil {
				t.Fatal(err)
			}
			if tg, err = image.Open(ctx, ref, image.Options{}); err != nil {
				t.Fatal(err)
			}
			policy := filepath.Join(dir, "policy-"+strings.ReplaceAll(tc.link+tc.owner, ".", "-")+".yaml")
			doc := "rules:\n  - images: [\"oci-layout:*\"]\n    require: {name: chain, intoto: {layout: root.layout, ownerKeys: [" + tc.owner + "]}}\n"
			if err := os.WriteFile(policy, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			pol, err := imagepolicy.Load(policy)
			if err != nil {
				t.Fatal(err)
			}
			d, err := pol.Evaluate(ctx, ref, tg)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed() != tc.allowed {
				t.Fatalf("allowed %v: %v", d.Allowed(), d.Err())
			}
			if !tc.allowed {
				t.Log(d.Err())
			}
		})
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
