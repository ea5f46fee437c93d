package toto_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/toto-dev/toto"
	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/internal/corpus"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/verifier"
)

// demoChain lays out Python in-toto's demo supply chain in a temporary
// folder: the template signed by alice, the two links its functionaries
// recorded, and the final product the inspection unpacks.
func demoChain(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"alice.pub", "write-code.776a00e2.link", "package.2f89b927.link", "foo.tar.gz"} {
		b, err := os.ReadFile(corpus.Path(t, "python-in-toto", "demo_files", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tmpl, err := os.ReadFile(corpus.Path(t, "python-in-toto", "demo_files", "demo.layout.template"))
	if err != nil {
		t.Fatal(err)
	}
	tenv, err := envelope.Parse(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	alice, err := keys.Load(corpus.Path(t, "python-in-toto", "demo_files", "alice"))
	if err != nil {
		t.Fatal(err)
	}
	// The Python test suite sets the expiry when it signs the template.
	var payload map[string]any
	if err := json.Unmarshal(tenv.Payload(), &payload); err != nil {
		t.Fatal(err)
	}
	payload["expires"] = "2099-01-01T00:00:00Z"
	// The template runs the suite's own scripts/tar wrapper; plain tar
	// does the same.
	payload["inspect"].([]any)[0].(map[string]any)["run"] = []string{"tar", "xfz", "foo.tar.gz"}
	p, _ := json.Marshal(payload)
	env, _ := envelope.New(envelope.Metablock, "", p)
	if err := env.Sign(context.Background(), alice); err != nil {
		t.Fatal(err)
	}
	b, _ := env.Encode()
	if err := os.WriteFile(filepath.Join(dir, "root.layout"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// VerifyChain does from files what toto verify does: the chain passes, and
// a tampered final product fails in the inspection's rules.
func TestVerifyChain(t *testing.T) {
	dir := demoChain(t)
	opts := toto.ChainOptions{
		Layout:     filepath.Join(dir, "root.layout"),
		LayoutKeys: []string{filepath.Join(dir, "alice.pub")},
		Links:      dir,
		Workdir:    dir,
	}
	res, err := toto.VerifyChain(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Passed() {
		t.Fatalf("demo chain failed: %v", res.Err())
	}
	if err := os.WriteFile(filepath.Join(dir, "foo.tar.gz"), []byte("not the product"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = toto.VerifyChain(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed() {
		t.Fatal("a tampered product passed")
	}

	for _, bad := range []toto.ChainOptions{
		{Layout: opts.Layout, Links: dir},
		{Layout: filepath.Join(dir, "missing.layout"), LayoutKeys: opts.LayoutKeys, Links: dir},
		{Layout: opts.Layout, LayoutKeys: []string{filepath.Join(dir, "missing.pub")}, Links: dir},
	} {
		if _, err := toto.VerifyChain(context.Background(), bad); err == nil {
			t.Errorf("%+v: no input error", bad)
		}
	}
	if _, err := toto.VerifyChain(context.Background(), toto.ChainOptions{Layout: opts.Layout, Links: dir}); err != verifier.ErrNoLayoutKeys {
		t.Errorf("no keys: %v", err)
	}
}
