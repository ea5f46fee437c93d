//go:build interop

package tufinterop

import (
	"os"
	"testing"

	"github.com/toto-dev/toto/internal/oracle"
)

// TestMain removes the toto that oracle.Toto built for the package's tests.
func TestMain(m *testing.M) {
	code := m.Run()
	oracle.RemoveToto()
	os.Exit(code)
}
