//go:build linux || darwin || freebsd

package verifier

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// errNoMoreData: nothing but a hole from the offset to the end.
var errNoMoreData = errors.New("no more data")

// seekData returns the offset of the first data byte at or after off.
func seekData(f *os.File, off int64) (int64, error) {
	n, err := unix.Seek(int(f.Fd()), off, unix.SEEK_DATA)
	if errors.Is(err, syscall.ENXIO) {
		return 0, errNoMoreData
	}
	return n, err
}

// seekHole returns the offset of the first hole at or after off (the end
// of the file counts as one).
func seekHole(f *os.File, off int64) (int64, error) {
	return unix.Seek(int(f.Fd()), off, unix.SEEK_HOLE)
}
