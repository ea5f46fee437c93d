package oracle

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var toto struct {
	once sync.Once
	dir  string
	bin  string
	err  error
	out  []byte
}

// Toto returns the path of toto's own command, built from ./cmd/toto once
// per test binary (CGO_ENABLED=0) into a temporary folder; a failed build
// fails every test that asks for it, with go build's output. A package
// that calls Toto removes the folder with RemoveToto at the end of its
// TestMain.
func Toto(t testing.TB) string {
	t.Helper()
	toto.once.Do(func() {
		if toto.dir, toto.err = os.MkdirTemp("", "toto-oracle"); toto.err != nil {
			return
		}
		toto.bin = filepath.Join(toto.dir, "toto")
		build := exec.Command("go", "build", "-o", toto.bin, "github.com/toto-dev/toto/cmd/toto")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		toto.out, toto.err = build.CombinedOutput()
	})
	if toto.err != nil {
		t.Fatalf("building toto (go build ./cmd/toto): %v\n%s", toto.err, toto.out)
	}
	return toto.bin
}

// RemoveToto removes the folder Toto built toto into, if it did.
func RemoveToto() {
	if toto.dir != "" {
		os.RemoveAll(toto.dir)
	}
}
