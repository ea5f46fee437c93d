package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWriteReplacesAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.json")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "new" {
		t.Fatalf("content = %q, %v; want new", got, err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("perm = %v, want 0600", st.Mode().Perm())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only the target", len(ents))
	}
}

func TestWriteIntoMissingDirFailsCleanly(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope", "out.json")
	if err := Write(p, []byte("x"), 0o644); err == nil {
		t.Fatal("want error for missing directory")
	}
}

// An existing output path that is not a regular file is refused, named,
// and left as it was: a link planted at the output path must not send the
// output to /dev/null or block on a FIFO, and a device node must not be
// renamed over.
func TestWriteRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.json")
	if err := os.WriteFile(real, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := mkfifo(fifo); err != nil {
		t.Skip("no FIFOs:", err)
	}
	link := func(name, target string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, path string
		mode       fs.FileMode // the type bit expected in the error
		want       string
	}{
		{"symlink to /dev/null", link("null.link", os.DevNull), fs.ModeSymlink, "a symbolic link"},
		{"symlink to a FIFO", link("fifo.link", fifo), fs.ModeSymlink, "a symbolic link"},
		{"symlink to a regular file", link("real.link", real), fs.ModeSymlink, "a symbolic link"},
		{"FIFO", fifo, fs.ModeNamedPipe, "a named pipe"},
		{"device", os.DevNull, fs.ModeDevice, "a device"},
		{"directory", t.TempDir(), fs.ModeDir, "a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, err := os.Lstat(tc.path)
			if err != nil {
				t.Skip(err)
			}
			// Before the fix a FIFO blocked the write forever: bound it.
			done := make(chan error, 1)
			go func() { done <- Write(tc.path, []byte("out"), 0o644) }()
			var werr error
			select {
			case werr = <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("Write(%s) blocked", tc.path)
			}
			var ne *NotRegularError
			if !errors.As(werr, &ne) || !errors.Is(werr, ErrNotRegular) {
				t.Fatalf("got %v, want a *NotRegularError", werr)
			}
			if ne.Path != tc.path || ne.Mode&tc.mode == 0 {
				t.Errorf("error names %s (%v), want %s (%v)", ne.Path, ne.Mode, tc.path, tc.mode)
			}
			want := "write " + tc.path + ": refusing to replace " + tc.want + "; remove it or choose another output path"
			if werr.Error() != want {
				t.Errorf("message\n got: %s\nwant: %s", werr, want)
			}
			after, err := os.Lstat(tc.path)
			if err != nil || after.Mode() != before.Mode() {
				t.Errorf("%s changed from %v to %v (%v)", tc.path, before.Mode(), after.Mode(), err)
			}
		})
	}
	if got, _ := os.ReadFile(real); string(got) != "keep" {
		t.Errorf("link target rewritten: %q", got)
	}
}
