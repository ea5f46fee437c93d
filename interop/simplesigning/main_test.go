//go:build interop

package simplesigning

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// totoBin is toto built once for the package, in TestMain.
var totoBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "toto-interop-simplesigning")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	totoBin = filepath.Join(dir, "toto")
	build := exec.Command("go", "build", "-o", totoBin, "github.com/toto-dev/toto/cmd/toto")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build toto:", err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
