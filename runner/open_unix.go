//go:build unix

package runner

import (
	"io"
	"io/fs"
	"syscall"
)

// openForHash opens a file for one sequential read. os.Open would also set
// the descriptor non-blocking and try to register it with the network
// poller: two extra system calls per file that, on trees of small files,
// cost as much as reading them. O_NONBLOCK (no effect on a regular file)
// keeps a file swapped for a FIFO after the walk saw it from blocking the
// open forever.
func openForHash(path string) (io.ReadCloser, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return &rawFile{fd: fd, path: path}, nil
	}
}

type rawFile struct {
	fd   int
	path string
}

func (f *rawFile) Read(p []byte) (int, error) {
	for {
		n, err := syscall.Read(f.fd, p)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, &fs.PathError{Op: "read", Path: f.path, Err: err}
		}
		if n == 0 && len(p) > 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *rawFile) Close() error {
	if err := syscall.Close(f.fd); err != nil {
		return &fs.PathError{Op: "close", Path: f.path, Err: err}
	}
	return nil
}

func (f *rawFile) state() (fileState, error) {
	var st syscall.Stat_t
	for {
		err := syscall.Fstat(f.fd, &st)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fileState{}, &fs.PathError{Op: "fstat", Path: f.path, Err: err}
		}
		return fileState{size: st.Size, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}, nil
	}
}
