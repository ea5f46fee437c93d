// Package corpus locates the shared third-party test vectors (layouts,
// links, keys, bundles made by other implementations) for tests. They live
// beside the repository in ../shared/corpus.
package corpus

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir returns the corpus directory, or skips the test with a clear message
// when it is absent.
func Dir(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	// file is <repo>/internal/corpus/corpus.go
	repo := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	d := filepath.Join(repo, "..", "shared", "corpus")
	if st, err := os.Stat(d); err != nil || !st.IsDir() {
		t.Skipf("shared corpus not found at %s (expected beside the repository as ../shared/corpus); skipping", d)
	}
	return d
}

// Path joins elem onto the corpus directory (skipping the test if absent).
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{Dir(t)}, elem...)...)
}
