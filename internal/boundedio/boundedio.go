// Package boundedio reads files that may be hostile or huge — metadata,
// keys, layout sources — up to a limit, whatever kind of file they are. A
// size from stat cannot be trusted for that (a FIFO or a device reports
// none), so the bound is on the bytes actually read.
package boundedio

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrTooLarge is wrapped by the error for a file over the limit.
var ErrTooLarge = errors.New("larger than the limit")

// ReadFile reads path, failing with an error that names the file and the
// limit if it holds more than max bytes. A regular file over the limit is
// refused by its size before anything is read.
func ReadFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > max {
		return nil, tooLarge(path, max)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, tooLarge(path, max)
	}
	return data, nil
}

// TooLargeError names the file and the limit it exceeds.
type TooLargeError struct {
	Path string
	Max  int64
}

func (e *TooLargeError) Error() string { return fmt.Sprintf("%s: larger than %d bytes", e.Path, e.Max) }

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

func tooLarge(path string, max int64) error { return &TooLargeError{Path: path, Max: max} }
