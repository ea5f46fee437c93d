//go:build !unix && !windows

package image

import (
	"errors"
	"os"
)

// tryLock: this platform has no file locks toto uses; attaching to an OCI
// layout fails rather than risk losing a concurrent writer's entry.
func tryLock(*os.File) (bool, error) {
	return false, errors.New("file locking is not supported on this platform")
}

func unlock(*os.File) error { return nil }
