//go:build !unix

package runner

import (
	"io"
	"os"
)

func openForHash(path string) (io.ReadCloser, error) { return os.Open(path) }
