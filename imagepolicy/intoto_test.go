package imagepolicy_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/imagepolicy"
	"github.com/toto-dev/toto/keys"
	totolayout "github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/runner"
)

// chain is a real two-step supply chain: "build" (bob) copies a staged
// OCI image layout to out/, "test" (carol) checks it; alice owns the
// layout. Its links are signed files, ready to attach to copies of out.
type chain struct {
	dir   string // the policy's folder: root.layout, *.pub
	out   string // the built OCI layout
	links map[string][]byte
	bob   *keys.Key
	keys  map[string]*keys.Key
}

func newChain(t *testing.T) *chain {
	t.Helper()
	ctx := context.Background()
	c := &chain{dir: t.TempDir(), links: map[string][]byte{}}
	ks := map[string]*keys.Key{}
	for _, name := range []string{"alice", "bob", "carol", "mallory"} {
		k, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ks[name] = k
		pub, err := k.MarshalPEM(false)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(c.dir, name+".pub"), pub, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c.bob, c.keys = ks["bob"], ks

	l, err := totolayout.NewBuilder(time.Now().AddDate(0, 1, 0)).
		AddFunctionary("bob", ks["bob"].Public()).
		AddFunctionary("carol", ks["carol"].Public()).
		AddStep("build", totolayout.Functionaries("bob"),
			totolayout.Command("cp", "-r", "staging", "{OUT}"),
			totolayout.MaterialRules(`ALLOW src/*`, `DISALLOW *`),
			totolayout.ProductRules(`CREATE {OUT}/*`, `DISALLOW *`)).
		AddStep("test", totolayout.Functionaries("carol"),
			totolayout.MaterialRules(`MATCH {OUT}/* WITH PRODUCTS FROM build`, `DISALLOW *`)).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	payload, err := l.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	env, err := envelope.New(envelope.Metablock, "", payload)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Sign(ctx, ks["alice"]); err != nil {
		t.Fatal(err)
	}
	signed, err := env.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, "root.layout"), signed, 0o644); err != nil {
		t.Fatal(err)
	}

	work := t.TempDir()
	t.Chdir(work)
	if err := os.MkdirAll("src", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("src/main.go", []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := layout.Write("staging", empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		step      string
		k         *keys.Key
		materials []string
		products  []string
		command   []string
		format    runner.LinkFormat
	}{
		{"build", ks["bob"], []string{"src"}, []string{"out"}, []string{"cp", "-r", "staging", "out"}, runner.Metablock},
		{"test", ks["carol"], []string{"out"}, nil, []string{"test", "-f", "out/index.json"}, runner.DSSE},
		// A link for "test" by someone the layout does not authorise.
		{"test", ks["mallory"], []string{"out"}, nil, []string{"true"}, runner.DSSE},
	} {
		res, err := runner.Run(ctx, runner.Options{Name: s.step, Materials: s.materials, Products: s.products, Command: s.command})
		if err != nil || res.ExitCode() != 0 {
			t.Fatalf("%s: %v (exit %d)", s.step, err, res.ExitCode())
		}
		e, err := runner.Sign(ctx, res.Link, s.k, s.format)
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.Encode()
		if err != nil {
			t.Fatal(err)
		}
		c.links[link.FileName(s.step, s.k.ID())] = b
	}
	c.out = filepath.Join(work, "out")
	return c
}

// image copies the built image to a fresh layout (or uses a different
// image) and attaches the named links to it.
func (c *chain) image(t *testing.T, other bool, names ...string) (string, *image.Target) {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "img")
	if other {
		p, err := layout.Write(dir, empty.Index)
		if err != nil {
			t.Fatal(err)
		}
		img, _ := random.Image(256, 1)
		if err := p.AppendImage(img); err != nil {
			t.Fatal(err)
		}
	} else if err := os.CopyFS(dir, os.DirFS(c.out)); err != nil {
		t.Fatal(err)
	}
	ref := "oci-layout:" + dir
	tg, err := image.Open(ctx, ref, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		step := strings.SplitN(n, ".", 2)[0]
		if _, err := image.AttachLink(ctx, tg, image.LinkEvidence{Step: step, Name: n, Data: c.links[n]}); err != nil {
			t.Fatal(err)
		}
	}
	tg, err = image.Open(ctx, ref, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ref, tg
}

func (c *chain) policy(t *testing.T, doc string) *imagepolicy.Policy {
	t.Helper()
	file := filepath.Join(c.dir, "policy.yaml")
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := imagepolicy.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEvaluateInToto(t *testing.T) {
	c := newChain(t)
	build := link.FileName("build", c.bob.ID())
	var test, mallory string
	// The links map is keyed by file name; tell carol's from mallory's by
	// which key the layout authorises (carol's keyid is in root.layout).
	root, err := os.ReadFile(filepath.Join(c.dir, "root.layout"))
	if err != nil {
		t.Fatal(err)
	}
	for n := range c.links {
		if strings.HasPrefix(n, "test.") {
			if strings.Contains(string(root), strings.TrimSuffix(strings.TrimPrefix(n, "test."), ".link")) {
				test = n
			} else {
				mallory = n
			}
		}
	}
	const doc = `
rules:
  - images: ["oci-layout:*"]
    require:
      name: chain
      intoto: {layout: root.layout, ownerKeys: [OWNER], params: {OUT: out}}`
	for _, tc := range []struct {
		name   string
		owner  string
		other  bool
		links  []string
		reason string
	}{
		{"every step's link, by its functionary", "alice.pub", false, []string{build, test}, ""},
		{"the test step has no link", "alice.pub", false, []string{build}, "step test violated"},
		{"the test link is by someone else", "alice.pub", false, []string{build, mallory}, "step test violated"},
		{"the layout is not the owner's", "mallory.pub", false, []string{build, test}, "layout signed by every owner key and not expired violated"},
		{"the links copied onto an image the chain did not make", "alice.pub", true, []string{build, test}, "not among the products"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := c.policy(t, strings.Replace(doc, "OWNER", tc.owner, 1))
			ref, tg := c.image(t, tc.other, tc.links...)
			d, err := p.Evaluate(context.Background(), ref, tg)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed() != (tc.reason == "") {
				t.Fatalf("allowed %v: %v", d.Allowed(), d.Err())
			}
			if tc.reason == "" {
				return
			}
			if !strings.Contains(d.Err().Error(), "chain violated") || !strings.Contains(d.Err().Error(), tc.reason) {
				t.Errorf("reason %q lacks %q", d.Err(), tc.reason)
			}
		})
	}

	t.Run("a typed failure behind the denial", func(t *testing.T) {
		p := c.policy(t, strings.Replace(doc, "OWNER", "alice.pub", 1))
		ref, tg := c.image(t, true, build, test)
		d, _ := p.Evaluate(context.Background(), ref, tg)
		if !errors.Is(d.Err(), imagepolicy.ErrNotProduced) {
			t.Errorf("%v does not wrap ErrNotProduced", d.Err())
		}
	})
	t.Run("a parameter without a value is a policy error", func(t *testing.T) {
		p := c.policy(t, `
rules:
  - images: ["oci-layout:*"]
    require: {intoto: {layout: root.layout, ownerKeys: [alice.pub]}}`)
		ref, tg := c.image(t, false, build, test)
		if _, err := p.Evaluate(context.Background(), ref, tg); !errors.Is(err, imagepolicy.ErrPolicy) || !strings.Contains(err.Error(), "OUT") {
			t.Errorf("got %v, want ErrPolicy naming OUT", err)
		}
	})
}

func TestParseRefusesInToto(t *testing.T) {
	for _, doc := range []string{
		`rules: [{images: ["x"], require: {intoto: {ownerKeys: [a.pub]}}}]`,
		`rules: [{images: ["x"], require: {intoto: {layout: root.layout}}}]`,
		`rules: [{images: ["x"], require: {intoto: {layout: root.layout, ownerKeys: [a.pub], params: {"{X}": y}}}}]`,
		`rules: [{images: ["x"], require: {intoto: {layout: root.layout, ownerKeys: [a.pub], links: x}}}]`,
		`rules: [{images: ["x"], require: {intoto: {layout: root.layout, ownerKeys: [a.pub]}, sigstore: {keys: [a.pub]}}}]`,
	} {
		if _, err := imagepolicy.Parse([]byte(doc)); !errors.Is(err, imagepolicy.ErrPolicy) {
			t.Errorf("%s: %v, want ErrPolicy", doc, err)
		}
	}
}

// An intoto requirement with attestations: the image's Sigstore bundles of
// the listed predicate types are verified by the chain as attestations
// about its final product — signed by a functionary, about the image the
// last step produced. The chain here is the build step alone.
func TestEvaluateInTotoAttestations(t *testing.T) {
	ctx := context.Background()
	c := newChain(t)
	l, err := totolayout.NewBuilder(time.Now().AddDate(0, 1, 0)).
		AddFunctionary("bob", c.bob.Public()).
		AddStep("build", totolayout.Functionaries("bob"),
			totolayout.MaterialRules(`ALLOW src/*`, `DISALLOW *`),
			totolayout.ProductRules(`CREATE out/*`, `DISALLOW *`)).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := l.MarshalJSON()
	env, _ := envelope.New(envelope.Metablock, "", payload)
	if err := env.Sign(ctx, c.keys["alice"]); err != nil {
		t.Fatal(err)
	}
	signed, _ := env.Encode()
	if err := os.WriteFile(filepath.Join(c.dir, "build.layout"), signed, 0o644); err != nil {
		t.Fatal(err)
	}
	ref, tg := c.image(t, false, link.FileName("build", c.bob.ID()))
	if _, err := image.Attest(ctx, tg, c.bob, "https://spdx.dev/Document", json.RawMessage(`{"spdxVersion":"SPDX-2.3","name":"app","packages":[]}`), image.SignOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := image.Attest(ctx, tg, c.keys["mallory"], "https://slsa.dev/provenance/v1", json.RawMessage(`{"buildDefinition":{}}`), image.SignOptions{}); err != nil {
		t.Fatal(err)
	}
	if tg, err = image.Open(ctx, ref, image.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ types, reason string }{
		{"[spdxjson]", ""},
		{"[slsaprovenance1]", "attestations about the final product violated"},
		{"[spdxjson, cyclonedx]", "no verified attestation of a required predicate type: https://cyclonedx.org/bom"},
	} {
		p := c.policy(t, `
rules:
  - images: ["oci-layout:*"]
    require: {name: chain, intoto: {layout: build.layout, ownerKeys: [alice.pub], attestations: `+tc.types+`}}`)
		d, err := p.Evaluate(ctx, ref, tg)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed() != (tc.reason == "") || tc.reason != "" && !strings.Contains(d.Err().Error(), tc.reason) {
			t.Errorf("%s: allowed %v: %v", tc.types, d.Allowed(), d.Err())
		}
		if tc.reason != "" {
			t.Log(d.Err())
		}
	}
}
