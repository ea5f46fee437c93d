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
	name := setupBuildStep(t, dir, "-t", "rsa", "--bits", "2048")
	if err := os.Mkdir(filepath.Join(dir, "links"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustToto(t, dir, "bundle", "create", "--key", "builder", "--statement", filepath.Join("out", name), "-o", filepath.Join("links", name))
	mustToto(t, dir, "verify", "--layout", "root.layout", "--layout-key", "owner.pub", "--links", "links")
}
