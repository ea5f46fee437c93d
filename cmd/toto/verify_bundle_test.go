package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// setupBuildStep writes and signs (with owner's key) a layout whose one
// step, build, is the builder's, and runs the step with a DSSE link to
// out/; it returns the link's file name. builderKey are further flags of
// the builder's key generate.
func setupBuildStep(t *testing.T, dir string, builderKey ...string) string {
	t.Helper()
	mustToto(t, dir, "key", "generate", "-o", "owner")
	mustToto(t, dir, append(append([]string{"key", "generate"}, builderKey...), "-o", "builder")...)
	src := `expires: 30d
functionaries:
  builder: builder.pub
steps:
  - name: build
    functionaries: [builder]
    products: [CREATE app.txt, DISALLOW "*"]
`
	if err := os.WriteFile(filepath.Join(dir, "layout.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	mustToto(t, dir, "layout", "create", "layout.yaml", "-o", "root.layout")
	mustToto(t, dir, "sign", "--key", "owner", "root.layout")
	if err := os.Mkdir(filepath.Join(dir, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustToto(t, dir, "run", "-n", "build", "-k", "builder", "-d", "out", "--dsse", "-p", "app.txt", "--",
		"sh", "-c", "echo v1 > app.txt")
	links, _ := filepath.Glob(filepath.Join(dir, "out", "build.*.link"))
	if len(links) != 1 {
		t.Fatalf("links: %v", links)
	}
	return filepath.Base(links[0])
}

// A step's link may come as a keyed Sigstore bundle: the verifier treats it
// as one more envelope, checked with the functionary's key from the layout.
func TestVerifyAcceptsLinksInSigstoreBundles(t *testing.T) {
	dir := t.TempDir()
	name := setupBuildStep(t, dir)
	mustToto(t, dir, "key", "generate", "-o", "mallory")
	verify := []string{"verify", "--layout", "root.layout", "--layout-key", "owner.pub", "--links", "links"}

	for _, tc := range []struct {
		signer   string
		wantCode int
		want     string
	}{
		{"builder", 0, "PASS"},
		{"mallory", 1, "not by a functionary authorised"},
	} {
		t.Run(tc.signer, func(t *testing.T) {
			os.RemoveAll(filepath.Join(dir, "links"))
			os.Mkdir(filepath.Join(dir, "links"), 0o755)
			mustToto(t, dir, "bundle", "create", "--key", tc.signer, "--statement", filepath.Join("out", name),
				"-o", filepath.Join("links", name))
			data, _ := os.ReadFile(filepath.Join(dir, "links", name))
			if !strings.Contains(string(data), "application/vnd.dev.sigstore.bundle") {
				t.Fatalf("not a bundle: %s", data)
			}
			r := runToto(t, dir, verify...)
			if r.Code != tc.wantCode || !strings.Contains(r.Stdout+r.Stderr, tc.want) {
				t.Fatalf("exit %d, want %d mentioning %q\n%s%s", r.Code, tc.wantCode, tc.want, r.Stdout, r.Stderr)
			}
		})
	}
}
