//go:build !(linux || darwin || freebsd)

package verifier

import (
	"errors"
	"os"
)

var errNoMoreData = errors.New("no more data")

var errNoHoles = errors.New("holes are not reported on this system")

func seekData(*os.File, int64) (int64, error) { return 0, errNoHoles }

func seekHole(*os.File, int64) (int64, error) { return 0, errNoHoles }
