package main

import (
	"strings"
	"testing"
)

// Shell completion offers flag values and, for --step, the steps of the
// layouts in the current folder (what `toto completion bash` scripts ask
// through the hidden __complete command).
func TestCompletion(t *testing.T) {
	dir := t.TempDir()
	mustToto(t, dir, "layout", "create", exampleSource(t), "-o", "root.layout")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "run", "--step", ""}, []string{"checkout", "build", "package"}},
		{[]string{"__complete", "key", "generate", "--type", ""}, []string{"ed25519", "pgp", "x509"}},
		{[]string{"__complete", "run", "--hash", "sha"}, []string{"sha256", "sha512"}},
		{[]string{"__complete", "run", "--symlinks", ""}, []string{"follow", "record"}},
		{[]string{"__complete", "image", "sign", "--format", ""}, []string{"sigstore", "simple-signing", "notation"}},
		{[]string{"__complete", "sbom", "--format", ""}, []string{"spdx-json", "spdx-tv", "cyclonedx-json", "cyclonedx-xml"}},
	} {
		r := mustToto(t, dir, tc.args...)
		got := strings.Fields(r.Stdout)
		for _, w := range tc.want {
			found := false
			for _, g := range got {
				found = found || g == w
			}
			if !found {
				t.Errorf("toto %v offers %v, not %q", tc.args, got, w)
			}
		}
	}
}
