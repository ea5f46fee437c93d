//go:build interop

package cosign

import (
	"testing"

	"github.com/toto-dev/toto/internal/oracle"
)

// The harness itself: a registry starts and crane can copy an image into
// it, and both cosign versions run.
func TestHarness(t *testing.T) {
	host := oracle.Registry(t)
	crane := oracle.Tool(t, "crane")
	oracle.MustRun(t, "", nil, crane, "append", "--new_layer", "/dev/null", "-t", host+"/app:1", "--insecure")
	d := oracle.MustRun(t, "", nil, crane, "digest", "--insecure", host+"/app:1")
	if len(d.Stdout) < 71 {
		t.Fatalf("crane digest: %q", d.Stdout)
	}
	for _, c := range []string{oracle.CosignV3, oracle.CosignV2} {
		oracle.MustRun(t, "", nil, oracle.Tool(t, c), "version")
	}
}
