package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	ggcrlayout "github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
)

// The in-toto path end to end through the CLI: toto run records the
// build step that writes an OCI layout, toto image attach-links attaches
// its link to the image, toto image verify --policy with an intoto
// requirement allows it under the layout's owner and denies it under
// another key (exit 1).
func TestImageAttachLinksCLI(t *testing.T) {
	dir := t.TempDir()
	mustToto(t, dir, "key", "generate", "-o", "alice")
	mustToto(t, dir, "key", "generate", "-o", "bob")
	load := func(name string) *keys.Key {
		k, err := keys.Load(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	alice, bob := load("alice.key"), load("bob.pub")
	l, err := layout.NewBuilder(time.Now().AddDate(0, 1, 0)).
		AddFunctionary("bob", bob).
		AddStep("build", layout.Functionaries("bob"),
			layout.MaterialRules(`ALLOW src/*`, `DISALLOW *`),
			layout.ProductRules(`CREATE out/*`, `DISALLOW *`)).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := l.MarshalJSON()
	env, err := envelope.New(envelope.Metablock, "", payload)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Sign(context.Background(), alice); err != nil {
		t.Fatal(err)
	}
	signed, _ := env.Encode()
	writeFile(t, filepath.Join(dir, "root.layout"), string(signed))
	if err := os.MkdirAll(filepath.Join(dir, "src"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "src", "main.go"), "package main\n")
	p, err := ggcrlayout.Write(filepath.Join(dir, "staging"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := random.Image(256, 1)
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}

	mustToto(t, dir, "run", "--step", "build", "--key", "bob.key", "-m", "src", "-p", "out", "--", "cp", "-r", "staging", "out")
	res := mustToto(t, dir, "image", "attach-links", "--links", ".", "--json", "oci-layout:out")
	validateAgainst(t, attachLinksSchema, res.Stdout)
	var got struct {
		Links []linkFileJSON `json:"links"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &got); err != nil || len(got.Links) != 1 || got.Links[0].Step != "build" || !strings.HasPrefix(got.Links[0].Referrer, "sha256:") {
		t.Fatalf("attach-links --json: %v\n%s", err, res.Stdout)
	}

	policy := func(owner string) {
		writeFile(t, filepath.Join(dir, "policy.yaml"), `
rules:
  - images: ["oci-layout:*"]
    require: {name: chain, intoto: {layout: root.layout, ownerKeys: [`+owner+`]}}
`)
	}
	policy("alice.pub")
	mustToto(t, dir, "image", "verify", "--policy", "policy.yaml", "oci-layout:out")
	policy("bob.pub")
	r := runToto(t, dir, "image", "verify", "--policy", "policy.yaml", "oci-layout:out")
	if r.Code != 1 || !strings.Contains(r.Stderr+r.Stdout, "chain") {
		t.Fatalf("owner bob: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}

	// Usage errors: no --links, a folder without links.
	if r := runToto(t, dir, "image", "attach-links", "oci-layout:out"); r.Code != 2 {
		t.Errorf("without --links: exit %d", r.Code)
	}
	if r := runToto(t, dir, "image", "attach-links", "--links", "src", "oci-layout:out"); r.Code != 2 || !strings.Contains(r.Stderr, "no *.link files") {
		t.Errorf("no links: exit %d: %s", r.Code, r.Stderr)
	}
}

// linkFilesIn reads a links folder as toto verify --links does: link
// files, sublayout links in real STEP.KEYID8 folders beside their link
// (recursively), nothing else.
func TestLinkFilesIn(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"build.aaaaaaaa.link", "build.arm.bbbbbbbb.link", "package.cccccccc.link", "package.cccccccc/inner.dddddddd.link",
		"package.cccccccc/deep.eeeeeeee.link", "package.cccccccc/deep.eeeeeeee/x.ffffffff.link", "notes.txt", "orphan.11111111/y.22222222.link"} {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, "{}")
	}
	// A symlinked folder is not followed.
	writeFile(t, filepath.Join(dir, "loop.12345678.link"), "{}")
	if err := os.Symlink(".", filepath.Join(dir, "loop.12345678")); err != nil {
		t.Fatal(err)
	}
	got, err := linkFilesIn(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, f := range got {
		lines = append(lines, f.rel+" "+f.step+" ["+f.sub+"]")
	}
	want := []string{
		"build.aaaaaaaa.link build []",
		"build.arm.bbbbbbbb.link build.arm []",
		"loop.12345678.link loop []",
		"package.cccccccc.link package []",
		"package.cccccccc/deep.eeeeeeee.link deep [package.cccccccc]",
		"package.cccccccc/deep.eeeeeeee/x.ffffffff.link x [package.cccccccc/deep.eeeeeeee]",
		"package.cccccccc/inner.dddddddd.link inner [package.cccccccc]",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}
