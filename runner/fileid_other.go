//go:build !unix

package runner

import "os"

// fileID is unknown here; os.SameFile is used instead.
type fileID struct{}

func idOf(os.FileInfo) (fileID, bool) { return fileID{}, false }
