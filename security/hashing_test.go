package security

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/runner"
)

func symlink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

// record runs a step with no command over dir, as `toto run` would.
func record(t *testing.T, dir string, policy runner.SymlinkPolicy) (*runner.Result, error) {
	t.Helper()
	return runner.Run(context.Background(), runner.Options{
		Name:      "build",
		Materials: []string{"."},
		Products:  []string{"."},
		Hash:      runner.HashOptions{BasePath: dir, Symlinks: policy},
	})
}

// A symlink loop in a tree being recorded is an error naming the link, not
// an endless walk; recording links as links sidesteps it.
func TestSymlinkLoopsWhileHashing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		links map[string]string // path -> target
		want  string
	}{
		{"two links pointing at each other", map[string]string{"a": "b", "b": "a"},
			`record materials: artifact "a": symlink loop: "b" resolves back to itself`},
		{"a link to itself", map[string]string{"self": "self"},
			`record materials: artifact "self": symlink loop: "self" resolves back to itself`},
		{"a link to a parent folder", map[string]string{"src/up": ".."},
			`record materials: artifact "src/up": symlink loop: ".." points back to a directory being walked`},
		{"a link to the root by absolute path", map[string]string{"src/deep/root": ""},
			`record materials: artifact "src/deep/root": symlink loop: "ROOT" points back to a directory being walked`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "src", "main.c"), []byte("int main(){}"))
			want := tc.want
			for p, target := range tc.links {
				if target == "" {
					target = dir
					want = replaceRoot(want, dir)
				}
				symlink(t, target, filepath.Join(dir, p))
			}
			_, err := record(t, dir, runner.FollowSymlinks)
			if !errors.Is(err, runner.ErrSymlinkLoop) {
				t.Fatalf("got %v, want runner.ErrSymlinkLoop", err)
			}
			if err.Error() != want {
				t.Errorf("got  %s\nwant %s", err, want)
			}

			// Recorded as links, the loop is just two small artifacts.
			res, err := record(t, dir, runner.RecordSymlinks)
			if err != nil {
				t.Fatalf("recording symlinks as links: %v", err)
			}
			for p, target := range tc.links {
				if target == "" {
					target = dir
				}
				if got := res.Link.Materials[p]; !got.Equal(digest(target)) {
					t.Errorf("%s recorded as %v, want the digest of its target path %q", p, got, target)
				}
			}
		})
	}

	t.Run("control: a link to a sibling", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "src", "main.c"), []byte("int main(){}"))
		symlink(t, "main.c", filepath.Join(dir, "src", "alias.c"))
		res, err := record(t, dir, runner.FollowSymlinks)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Link.Materials["src/alias.c"]; !got.Equal(digest("int main(){}")) {
			t.Errorf("alias recorded as %v", got)
		}
	})
}

func replaceRoot(s, root string) string { return strings.ReplaceAll(s, "ROOT", root) }

// A file that changes while it is hashed must not be recorded with a
// digest of neither version: the runner should notice (size or mtime
// before and after the read) and fail naming the file.
func TestFileChangingWhileHashed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.bin")
	const size = 256 << 20
	sparse(t, path, size) // zeros, read from no disk
	before := fileDigest(t, path)

	var progress runner.Progress
	type outcome struct {
		arts link.Artifacts
		err  error
	}
	done := make(chan outcome, 1)
	go func() {
		arts, err := runner.RecordArtifacts(context.Background(), []string{"big.bin"},
			runner.HashOptions{BasePath: dir, Progress: &progress, Workers: 1})
		done <- outcome{arts, err}
	}()
	// Once hashing is under way, change the start (already read) and the
	// end (not yet read).
	deadline := time.Now().Add(10 * time.Second)
	for progress.Stats().Bytes == 0 {
		if time.Now().After(deadline) {
			t.Fatal("hashing did not start")
		}
		time.Sleep(100 * time.Microsecond)
	}
	changedMidway := progress.Stats().Files == 0 && progress.Stats().Bytes < size/2
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, size - 4096} {
		if _, err := f.WriteAt([]byte("tampered"), off); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got := <-done
	if !changedMidway || progress.Stats().Bytes < size {
		t.Skip("could not change the file while it was being read; nothing to check")
	}
	after := fileDigest(t, path)
	if got.err == nil {
		rec := got.arts["big.bin"]["sha256"]
		t.Fatalf("no error although the file changed while it was hashed (recorded %s…; before %s…, after %s…)", rec[:12], before[:12], after[:12])
	}
	if want := `artifact "big.bin"`; !strings.Contains(got.err.Error(), want) || !strings.Contains(got.err.Error(), "changed") {
		t.Errorf("error %q should name %s and say it changed", got.err, want)
	}
}

func fileDigest(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
