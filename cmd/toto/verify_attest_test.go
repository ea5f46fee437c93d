package main

import (
	"os"
	"path/filepath"
	"testing"
)

// Links written with toto run --attest (Statements with the link predicate
// v0.3) verify like classic links, and tampering is still caught.
func TestVerifyAcceptsLinkAttestations(t *testing.T) {
	dir := t.TempDir()
	mustToto(t, dir, "key", "generate", "-o", "owner")
	mustToto(t, dir, "key", "generate", "-o", "builder")
	src := `expires: 30d
functionaries:
  builder: builder.pub
steps:
  - name: build
    functionaries: [builder]
    products: [CREATE app.txt, DISALLOW "*"]
inspections:
  - name: check
    run: [test, -f, app.txt]
    materials: [MATCH app.txt WITH PRODUCTS FROM build, DISALLOW "*"]
`
	os.WriteFile(filepath.Join(dir, "layout.yaml"), []byte(src), 0o644)
	mustToto(t, dir, "layout", "create", "layout.yaml", "-o", "root.layout")
	mustToto(t, dir, "sign", "--key", "owner", "root.layout")
	os.Mkdir(filepath.Join(dir, "links"), 0o755)
	mustToto(t, dir, "run", "-n", "build", "-k", "builder", "-d", "links", "-p", "app.txt", "--attest", "--",
		"sh", "-c", "echo v1 > app.txt")
	// The consumer has only the final product in the working directory.
	os.Mkdir(filepath.Join(dir, "final"), 0o755)
	data, _ := os.ReadFile(filepath.Join(dir, "app.txt"))
	os.WriteFile(filepath.Join(dir, "final", "app.txt"), data, 0o644)
	verify := []string{"verify", "--layout", "root.layout", "--layout-key", "owner.pub", "--links", "links", "--workdir", "final"}
	mustToto(t, dir, verify...)

	os.WriteFile(filepath.Join(dir, "final", "app.txt"), []byte("evil\n"), 0o644)
	r := runToto(t, dir, verify...)
	if r.Code != 1 {
		t.Fatalf("tampered product: exit %d, want 1\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}
