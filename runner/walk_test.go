package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/toto-dev/toto/link"
)

// tree creates files (path -> content) under a new temp dir and returns it.
// Paths use forward slashes; parent directories are created.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func symlink(t *testing.T, target, name string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, name); err != nil {
		t.Skipf("cannot create symlinks here: %v", err)
	}
}

// want builds the expected artifacts from path -> content with sha256.
func want(files map[string]string) link.Artifacts {
	a := link.Artifacts{}
	for p, c := range files {
		a[p] = link.DigestSet{"sha256": sha256hex([]byte(c))}
	}
	return a
}

func recordIn(t *testing.T, root string, paths []string, opts HashOptions) (link.Artifacts, error) {
	t.Helper()
	opts.BasePath = root
	return RecordArtifacts(context.Background(), paths, opts)
}

func mustRecord(t *testing.T, root string, paths []string, opts HashOptions) link.Artifacts {
	t.Helper()
	a, err := recordIn(t, root, paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func assertArtifacts(t *testing.T, got, want link.Artifacts) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("artifacts differ\n got: %v\nwant: %v", pathsOf(got), pathsOf(want))
		for p, w := range want {
			if !got[p].Equal(w) {
				t.Errorf("  %s: got %v, want %v", p, got[p], w)
			}
		}
	}
}

func pathsOf(a link.Artifacts) []string { return a.Paths() }

var basicTree = map[string]string{
	"README":          "hello\n",
	"src/main.go":     "package main\n",
	"src/lib/util.go": "package lib\n",
	"docs/a b.txt":    "spaces in names\n",
}

func TestRecordPaths(t *testing.T) {
	root := tree(t, basicTree)
	sub := map[string]string{}
	for p, c := range basicTree {
		if strings.HasPrefix(p, "src/") {
			sub[p] = c
		}
	}
	tests := []struct {
		name  string
		paths []string
		want  link.Artifacts
	}{
		{"dot records relative paths without ./", []string{"."}, want(basicTree)},
		{"directory keeps its prefix", []string{"src"}, want(sub)},
		{"./dir/ is cleaned", []string{"./src/"}, want(sub)},
		{"a single file", []string{"src/main.go"}, want(map[string]string{"src/main.go": "package main\n"})},
		{"the same file twice", []string{".", "src"}, want(basicTree)},
		{"no paths", nil, link.Artifacts{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertArtifacts(t, mustRecord(t, root, tt.paths, HashOptions{}), tt.want)
		})
	}
}

func TestRecordAbsolutePath(t *testing.T) {
	root := tree(t, map[string]string{"f": "x"})
	got, err := RecordArtifacts(context.Background(), []string{root}, HashOptions{})
	if err != nil {
		t.Fatal(err)
	}
	assertArtifacts(t, got, want(map[string]string{filepath.ToSlash(root) + "/f": "x"}))
}

func TestRecordBasePathIndependentOfCwd(t *testing.T) {
	root := tree(t, basicTree)
	t.Chdir(t.TempDir()) // somewhere with nothing in it
	assertArtifacts(t, mustRecord(t, root, []string{"."}, HashOptions{}), want(basicTree))
}

func TestRecordManyFilesInParallel(t *testing.T) {
	files := map[string]string{}
	for i := 0; i < 300; i++ {
		files[fmt.Sprintf("d%d/f%03d", i%7, i)] = strings.Repeat(fmt.Sprint(i), i)
	}
	root := tree(t, files)
	for _, workers := range []int{1, 3, 16} {
		p := &Progress{}
		got := mustRecord(t, root, []string{"."}, HashOptions{Workers: workers, Progress: p})
		assertArtifacts(t, got, want(files))
		var size int64
		for _, c := range files {
			size += int64(len(c))
		}
		if s := p.Stats(); s.Files != 300 || s.Found != 300 || s.Bytes != size {
			t.Errorf("workers=%d: progress %+v, want 300 files, %d bytes", workers, s, size)
		}
	}
}

func TestRecordAlgorithmsAndNormalization(t *testing.T) {
	root := tree(t, map[string]string{"win.txt": "a\r\nb\r\n"})
	got := mustRecord(t, root, []string{"."}, HashOptions{Algorithms: []string{"sha256", "sha512"}, NormalizeLineEndings: true})
	w := link.DigestSet{"sha256": sha256hex([]byte("a\nb\n")), "sha512": sha512hex([]byte("a\nb\n"))}
	if !got["win.txt"].Equal(w) {
		t.Errorf("got %v, want %v", got["win.txt"], w)
	}
	if _, err := recordIn(t, root, []string{"."}, HashOptions{Algorithms: []string{"md5"}}); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("md5: err = %v", err)
	}
}

func TestExcludes(t *testing.T) {
	files := map[string]string{
		"main.go":                        "m",
		"main_test.go":                   "t",
		"build/out.o":                    "o",
		"lib/build":                      "a file named build",
		"node_modules/x/index.js":        "js",
		"web/node_modules/y.js":          "js",
		"keep/keep.log":                  "keep",
		"debug.log":                      "log",
		"step.abcdef12.link":             "{}",
		".step.abcdef12.link-unfinished": "{}",
		".git/HEAD":                      "ref",
		"sub/.git/config":                "cfg",
	}
	root := tree(t, files)
	pick := func(names ...string) link.Artifacts {
		m := map[string]string{}
		for _, n := range names {
			m[n] = files[n]
		}
		return want(m)
	}
	tests := []struct {
		name string
		opts HashOptions
		want link.Artifacts
	}{
		{"defaults drop .git and links", HashOptions{},
			pick("main.go", "main_test.go", "build/out.o", "lib/build", "node_modules/x/index.js", "web/node_modules/y.js", "keep/keep.log", "debug.log")},
		{"defaults off", HashOptions{NoDefaultExcludes: true}, want(files)},
		{"directory name at any depth", HashOptions{Exclude: []string{"node_modules"}},
			pick("main.go", "main_test.go", "build/out.o", "lib/build", "keep/keep.log", "debug.log")},
		{"trailing slash only matches directories", HashOptions{Exclude: []string{"build/"}},
			pick("main.go", "main_test.go", "lib/build", "node_modules/x/index.js", "web/node_modules/y.js", "keep/keep.log", "debug.log")},
		{"anchored", HashOptions{Exclude: []string{"/node_modules", "*_test.go"}},
			pick("main.go", "build/out.o", "lib/build", "web/node_modules/y.js", "keep/keep.log", "debug.log")},
		{"negation", HashOptions{Exclude: []string{"*.log", "!keep.log", "*/", "!keep/"}},
			pick("main.go", "main_test.go", "keep/keep.log")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertArtifacts(t, mustRecord(t, root, []string{"."}, tt.opts), tt.want)
		})
	}
}

func TestExcludedExplicitPath(t *testing.T) {
	root := tree(t, map[string]string{"node_modules/a/b.js": "x", "f.link": "{}", "g": "g"})
	got := mustRecord(t, root, []string{"node_modules/a/b.js", "f.link", "g"}, HashOptions{Exclude: []string{"node_modules"}})
	assertArtifacts(t, got, want(map[string]string{"g": "g"}))
}

// TestExcludedDirectoryIsNotWalked puts things in an excluded directory that
// would make recording fail if it were read: a dangling symlink, a symlink
// loop and (when not root) an unreadable directory.
func TestExcludedDirectoryIsNotWalked(t *testing.T) {
	root := tree(t, map[string]string{"src/a.c": "a", "node_modules/pkg/index.js": "x"})
	nm := filepath.Join(root, "node_modules")
	symlink(t, "does-not-exist", filepath.Join(nm, "pkg", "dangling"))
	symlink(t, "..", filepath.Join(nm, "pkg", "loop"))
	locked := filepath.Join(nm, "locked")
	if err := os.Mkdir(locked, 0o000); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(locked, 0o755) })

	// Without the exclude the walk fails: the trap works.
	if _, err := recordIn(t, root, []string{"."}, HashOptions{}); err == nil {
		t.Fatal("walking node_modules should have failed; the test proves nothing")
	}
	var opened []string
	opts := HashOptions{Exclude: []string{"node_modules"}, Workers: 1, open: func(p string) (io.ReadCloser, error) {
		opened = append(opened, p)
		return os.Open(p)
	}}
	got := mustRecord(t, root, []string{"."}, opts)
	assertArtifacts(t, got, want(map[string]string{"src/a.c": "a"}))
	if len(opened) != 1 {
		t.Errorf("opened %v, want only src/a.c", opened)
	}
}

func TestSymlinkFollow(t *testing.T) {
	root := tree(t, map[string]string{"real/f.txt": "content", "file": "data"})
	symlink(t, "file", filepath.Join(root, "link-to-file"))
	symlink(t, "real", filepath.Join(root, "link-to-dir"))
	got := mustRecord(t, root, []string{"."}, HashOptions{})
	assertArtifacts(t, got, want(map[string]string{
		"real/f.txt":        "content",
		"file":              "data",
		"link-to-file":      "data",
		"link-to-dir/f.txt": "content",
	}))
	// A symlinked directory named explicitly is walked too.
	got = mustRecord(t, root, []string{"link-to-dir"}, HashOptions{})
	assertArtifacts(t, got, want(map[string]string{"link-to-dir/f.txt": "content"}))
}

func TestSymlinkRecord(t *testing.T) {
	root := tree(t, map[string]string{"real/f.txt": "content", "file": "data"})
	symlink(t, "file", filepath.Join(root, "link-to-file"))
	symlink(t, "real", filepath.Join(root, "link-to-dir"))
	symlink(t, "nowhere", filepath.Join(root, "dangling"))
	symlink(t, ".", filepath.Join(root, "real", "self"))
	got := mustRecord(t, root, []string{"."}, HashOptions{Symlinks: RecordSymlinks})
	assertArtifacts(t, got, want(map[string]string{
		"real/f.txt":   "content",
		"file":         "data",
		"link-to-file": "file",    // digest of the target path
		"link-to-dir":  "real",    // not walked
		"dangling":     "nowhere", // not an error: the link itself is recorded
		"real/self":    ".",
	}))
}

func TestSymlinkLoops(t *testing.T) {
	tests := []struct {
		name   string
		link   string // relative to root
		target string
	}{
		{"to parent", "a/b/up", ".."},
		{"to itself as directory", "a/b/self", "."},
		{"to root", "a/b/root", "../.."},
		{"to itself", "a/me", "me"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tree(t, map[string]string{"a/b/f": "f"})
			symlink(t, tt.target, filepath.Join(root, filepath.FromSlash(tt.link)))
			_, err := recordIn(t, root, []string{"."}, HashOptions{})
			if !errors.Is(err, ErrSymlinkLoop) {
				t.Fatalf("err = %v, want ErrSymlinkLoop", err)
			}
			if !strings.Contains(err.Error(), tt.link) {
				t.Errorf("error %q does not name the link %s", err, tt.link)
			}
		})
	}
}

// A link to a sibling is not a loop; it is walked (as in-toto-run does),
// but a directory already walked through one symlink is not walked again
// through a second: otherwise a tree of links multiplies the walk.
func TestSymlinkToSiblingIsNotALoop(t *testing.T) {
	root := tree(t, map[string]string{"v1/f": "f"})
	symlink(t, "v1", filepath.Join(root, "latest"))
	symlink(t, "../v1", filepath.Join(root, "other", "v1"))
	got := mustRecord(t, root, []string{"."}, HashOptions{})
	assertArtifacts(t, got, want(map[string]string{"v1/f": "f", "latest/f": "f"}))
}

// Issue 13.8: a DAG of directory symlinks (each level links twice to the
// next) made the walk exponential: 2^depth paths from a tiny tree. Each
// directory is now walked once through symlinks, so the count is linear.
func TestSymlinkDAGIsWalkedLinearly(t *testing.T) {
	const depth = 18
	files := map[string]string{}
	for i := 0; i <= depth; i++ {
		files[fmt.Sprintf("d%d/f", i)] = "f"
	}
	root := tree(t, files)
	for i := 0; i < depth; i++ {
		for _, name := range []string{"a", "b"} {
			symlink(t, fmt.Sprintf("../d%d", i+1), filepath.Join(root, fmt.Sprintf("d%d", i), name))
		}
	}
	got := mustRecord(t, root, []string{"."}, HashOptions{})
	if len(got) > 3*(depth+1) {
		t.Fatalf("%d artifacts from %d directories: the walk multiplies through symlinks", len(got), depth+1)
	}
	if _, ok := got["d0/a/f"]; !ok {
		t.Errorf("d0/a/f (the first way to d1) not recorded: %v", got.Paths())
	}
}

// The artifact count is bounded, with a typed error.
func TestMaxArtifacts(t *testing.T) {
	root := tree(t, map[string]string{"a": "1", "b": "2", "c": "3"})
	if _, err := RecordArtifacts(context.Background(), []string{"."}, HashOptions{BasePath: root, MaxArtifacts: 3}); err != nil {
		t.Fatalf("3 artifacts under a bound of 3: %v", err)
	}
	_, err := RecordArtifacts(context.Background(), []string{"."}, HashOptions{BasePath: root, MaxArtifacts: 2})
	if !errors.Is(err, ErrTooManyArtifacts) {
		t.Fatalf("3 artifacts under a bound of 2: %v, want ErrTooManyArtifacts", err)
	}
}

// Under Confine a symlink out of the base path is refused, one inside it
// is followed.
func TestConfineRefusesSymlinksOut(t *testing.T) {
	outside := tree(t, map[string]string{"secret": "s"})
	root := tree(t, map[string]string{"in/f": "f"})
	symlink(t, "in", filepath.Join(root, "inner"))
	if _, err := RecordArtifacts(context.Background(), []string{"."}, HashOptions{BasePath: root, Confine: true}); err != nil {
		t.Fatalf("a link inside the base: %v", err)
	}
	symlink(t, outside, filepath.Join(root, "out"))
	_, err := RecordArtifacts(context.Background(), []string{"."}, HashOptions{BasePath: root, Confine: true})
	if !errors.Is(err, ErrSymlinkEscapes) || !strings.Contains(err.Error(), `"out"`) {
		t.Fatalf("a link out of the base: %v, want ErrSymlinkEscapes naming \"out\"", err)
	}
	if _, err := RecordArtifacts(context.Background(), []string{"."}, HashOptions{BasePath: root}); err != nil {
		t.Fatalf("without Confine the link is followed: %v", err)
	}
}

func TestRecordErrors(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, root string)
		paths   []string
		opts    HashOptions
		is      error
		mention string
	}{
		{"missing path", nil, []string{"nope/file"}, HashOptions{}, fs.ErrNotExist, `"nope/file"`},
		{"dangling symlink", func(t *testing.T, root string) {
			symlink(t, "gone", filepath.Join(root, "d", "dead"))
		}, []string{"."}, HashOptions{}, ErrDanglingSymlink, `"d/dead"`},
		{"dangling symlink named explicitly", func(t *testing.T, root string) {
			symlink(t, "gone", filepath.Join(root, "dead"))
		}, []string{"dead"}, HashOptions{}, ErrDanglingSymlink, `"gone"`},
		{"unreadable file", nil, []string{"."}, HashOptions{open: func(p string) (io.ReadCloser, error) {
			if strings.HasSuffix(filepath.ToSlash(p), "d/b") {
				return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission}
			}
			return os.Open(p)
		}}, fs.ErrPermission, `"d/b"`},
		{"read error mid-file", nil, []string{"."}, HashOptions{open: func(p string) (io.ReadCloser, error) {
			return io.NopCloser(io.MultiReader(strings.NewReader("x"), errReader{})), nil
		}}, errBadSector, "bad sector"},
		{"lstrip collision", nil, []string{"."}, HashOptions{LStripPaths: []string{"d/", "e/"}}, ErrPathCollision, `"b"`},
		{"lstrip prefixes overlap", nil, []string{"."}, HashOptions{LStripPaths: []string{"d", "d/"}}, nil, "overlap"},
		{"lstrip leaves nothing", nil, []string{"."}, HashOptions{LStripPaths: []string{"d/b"}}, nil, "empty path"},
		{"bad pattern", nil, []string{"."}, HashOptions{Exclude: []string{"[oops"}}, nil, `"[oops"`},
		{"bad symlink policy", nil, []string{"."}, HashOptions{Symlinks: 7}, nil, "policy"},
		{"empty path", nil, []string{""}, HashOptions{}, nil, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tree(t, map[string]string{"d/b": "1", "e/b": "2"})
			if tt.setup != nil {
				tt.setup(t, root)
			}
			got, err := recordIn(t, root, tt.paths, tt.opts)
			if err == nil {
				t.Fatalf("no error; recorded %v", pathsOf(got))
			}
			if got != nil {
				t.Errorf("artifacts returned along with error: %v", pathsOf(got))
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("err = %q, want it to mention %s", err, tt.mention)
			}
		})
	}
}

var errBadSector = errors.New("bad sector")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBadSector }

func TestUnreadableFilePermission(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: file permissions do not stop reads (the /proc/self/mem and injected-error tests cover unreadable files)")
	}
	root := tree(t, map[string]string{"secret": "s"})
	if err := os.Chmod(filepath.Join(root, "secret"), 0); err != nil {
		t.Fatal(err)
	}
	_, err := recordIn(t, root, []string{"."}, HashOptions{})
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), `"secret"`) {
		t.Errorf("err = %v, want permission error naming secret", err)
	}
}

func TestLStrip(t *testing.T) {
	root := tree(t, map[string]string{"dist/app": "a", "dist/lib/x.so": "x", "src/app.c": "c"})
	got := mustRecord(t, root, []string{"."}, HashOptions{LStripPaths: []string{"dist/"}})
	assertArtifacts(t, got, want(map[string]string{"app": "a", "lib/x.so": "x", "src/app.c": "c"}))
	// Excludes see the path before stripping.
	got = mustRecord(t, root, []string{"."}, HashOptions{LStripPaths: []string{"dist/"}, Exclude: []string{"/dist/lib"}})
	assertArtifacts(t, got, want(map[string]string{"app": "a", "src/app.c": "c"}))
}

func TestRecordCancelled(t *testing.T) {
	root := tree(t, basicTree)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := RecordArtifacts(ctx, []string{root}, HashOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestParseSymlinkPolicy(t *testing.T) {
	for _, p := range []SymlinkPolicy{FollowSymlinks, RecordSymlinks} {
		got, err := ParseSymlinkPolicy(p.String())
		if err != nil || got != p {
			t.Errorf("round trip of %v: %v, %v", p, got, err)
		}
	}
	if _, err := ParseSymlinkPolicy("maybe"); err == nil {
		t.Error("want error for unknown policy")
	}
}

func TestArtifactPathsSorted(t *testing.T) {
	a := mustRecord(t, tree(t, basicTree), []string{"."}, HashOptions{})
	p := a.Paths()
	if !sort.StringsAreSorted(p) || len(p) != len(basicTree) {
		t.Errorf("Paths() = %v", p)
	}
}
