package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/statement"
)

// toto run --sbom writes a signed SBOM attestation whose subjects are
// exactly the link's products.
func TestRunSBOMAttestsTheProducts(t *testing.T) {
	dir := t.TempDir()
	mustToto(t, dir, "key", "generate", "-o", "k")
	os.MkdirAll(filepath.Join(dir, "out"), 0o755)
	mustToto(t, dir, "run", "-n", "build", "-k", "k", "-p", "out", "--sbom", "spdx", "--",
		"sh", "-c", "echo hello > out/a.txt && echo world > out/b.txt")
	matches, _ := filepath.Glob(filepath.Join(dir, "build.*.sbom.json"))
	links, _ := filepath.Glob(filepath.Join(dir, "build.*.link"))
	if len(matches) != 1 || len(links) != 1 {
		t.Fatalf("sbom files %v, links %v", matches, links)
	}
	pub, err := keys.Load(filepath.Join(dir, "k.pub"))
	if err != nil {
		t.Fatal(err)
	}
	read := func(p string) *envelope.Envelope {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		env, err := envelope.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Verify(pub); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return env
	}
	st, err := statement.Parse(read(matches[0]).Payload())
	if err != nil {
		t.Fatal(err)
	}
	lnk, err := link.Parse(read(links[0]).Payload())
	if err != nil {
		t.Fatal(err)
	}
	if st.PredicateType != "https://spdx.dev/Document" {
		t.Errorf("predicateType %q", st.PredicateType)
	}
	if len(st.Subject) != len(lnk.Products) || len(st.Subject) != 2 {
		t.Fatalf("%d subjects for %d products", len(st.Subject), len(lnk.Products))
	}
	for _, s := range st.Subject {
		if !lnk.Products[s.Name].Equal(s.Digest) {
			t.Errorf("subject %s digest %v != product digest %v", s.Name, s.Digest, lnk.Products[s.Name])
		}
	}
	if !strings.Contains(string(st.Predicate), "a.txt") {
		t.Error("SBOM does not list the product files")
	}

	r := runToto(t, dir, "run", "-n", "x", "-k", "k", "--sbom", "spdx", "--", "true")
	if r.Code != 2 || !strings.Contains(r.Stderr, "--sbom needs at least one -p") {
		t.Errorf("no products: exit %d, %q", r.Code, r.Stderr)
	}
	r = runToto(t, dir, "run", "-n", "x", "-k", "k", "-p", "out", "--sbom", "swid", "--", "true")
	if r.Code != 2 || !strings.Contains(r.Stderr, "--sbom") {
		t.Errorf("bad format: exit %d, %q", r.Code, r.Stderr)
	}
}
