//go:build unix

package runner

import (
	"errors"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// TestSpecialFiles: a FIFO inside a directory is skipped (reading it would
// block forever, and in-toto-run skips it too); named explicitly it is an
// error.
func TestSpecialFiles(t *testing.T) {
	root := tree(t, map[string]string{"f": "f"})
	if err := syscall.Mkfifo(filepath.Join(root, "pipe"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	got := mustRecord(t, root, []string{"."}, HashOptions{})
	assertArtifacts(t, got, want(map[string]string{"f": "f"}))
	_, err := recordIn(t, root, []string{"pipe"}, HashOptions{})
	if !errors.Is(err, ErrNotRegular) {
		t.Errorf("explicit FIFO: err = %v, want ErrNotRegular", err)
	}
}

// TestUnreadableFileEvenAsRoot links to /proc/self/mem, which fails to read
// at offset 0 with EIO whoever reads it.
func TestUnreadableFileEvenAsRoot(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc/self/mem")
	}
	root := tree(t, map[string]string{"ok": "ok"})
	symlink(t, "/proc/self/mem", filepath.Join(root, "mem"))
	_, err := recordIn(t, root, []string{"."}, HashOptions{})
	if err == nil || !strings.Contains(err.Error(), `"mem"`) {
		t.Fatalf("err = %v, want an error naming mem", err)
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) && !errors.Is(err, syscall.EIO) {
		t.Errorf("err = %v: cause lost", err)
	}
}
