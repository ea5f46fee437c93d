package main

import (
	"os"
	"path/filepath"
	"testing"
)

// An RSA functionary's link delivered as a Sigstore bundle still verifies
// in a layout: bundle create keeps RSA-PSS, the in-toto scheme the layout
// checks links with, for links and layouts (statements get PKCS#1 v1.5,
// as cosign verifies them).
func TestVerifyRSALinkInSigstoreBundle(t *testing.T) {
	dir := t.TempDir()
	mustToto(t, dir, "key", "generate", "-o", "owner")
	mustToto(t, dir, "key", "generate", "-t", "rsa", "--bits", "2048", "-o", "builder")
	src := `expires: 30d
functionaries:
  builder: builder.pub
steps:
  - name: build
    functionaries: [builder]
    products: [CREATE app.txt, DISALLOW "*"]
`
	os.WriteFile(filepath.Join(dir, "layout.yaml"), []byte(src), 0o644)
	mustToto(t, dir, "layout", "create", "layout.yaml", "-o", "root.layout")
	mustToto(t, dir, "sign", "--key", "owner", "root.layout")
	os.Mkdir(filepath.Join(dir, "out"), 0o755)
	os.Mkdir(filepath.Join(dir, "links"), 0o755)
	mustToto(t, dir, "run", "-n", "build", "-k", "builder", "-d", "out", "--dsse", "-p", "app.txt", "--",
		"sh", "-c", "echo v1 > app.txt")
	links, _ := filepath.Glob(filepath.Join(dir, "out", "build.*.link"))
	if len(links) != 1 {
		t.Fatalf("links: %v", links)
	}
	name := filepath.Base(links[0])
	mustToto(t, dir, "bundle", "create", "--key", "builder", "--statement", filepath.Join("out", name), "-o", filepath.Join("links", name))
	mustToto(t, dir, "verify", "--layout", "root.layout", "--layout-key", "owner.pub", "--links", "links")
}
