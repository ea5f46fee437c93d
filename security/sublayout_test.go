package security

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/verifier"
)

// delegating is a layout whose one step "sub" is delegated to k: k's
// evidence for it is a sublayout. readme tells otherwise equal layouts
// apart.
func delegating(t *testing.T, k *keys.Key, readme string) *layout.Layout {
	t.Helper()
	l, err := layout.NewBuilder(now.AddDate(1, 0, 0)).Readme(readme).
		AddFunctionary("delegate", k).
		AddStep("sub", layout.Functionaries("delegate")).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// subDir is where the links of the sublayout k provides for step "sub"
// live, inside dir.
func subDir(dir string, k *keys.Key) string {
	return filepath.Join(dir, "sub."+short(k))
}

// nest writes a chain of depth sublayouts, all by alice, under links: each
// delegates "sub" to alice again, and the innermost is the build layout
// with bob's link. It returns the root layout envelope, signed by owner.
func nest(t *testing.T, links string, depth int, owner, alice, bob *keys.Key) *envelope.Envelope {
	t.Helper()
	dir := links
	for i := 1; i <= depth; i++ {
		var l *layout.Layout
		if i < depth {
			l = delegating(t, alice, fmt.Sprintf("level %d", i))
		} else {
			l = buildLayout(t, 1, bob)
		}
		writeLink(t, dir, "sub", alice, signLayout(t, l, envelope.Metablock, alice))
		dir = subDir(dir, alice)
	}
	writeLink(t, dir, "build", bob, signLink(t, buildLink(), envelope.Metablock, bob))
	return signLayout(t, delegating(t, alice, "root"), envelope.Metablock, owner)
}

// innermost follows a chain of failed sublayouts to the first failure
// that is not a failed sublayout, and counts the levels.
func innermost(t *testing.T, res *verifier.Result) (error, int) {
	t.Helper()
	depth := 0
	for {
		if len(res.Failures) != 1 {
			t.Fatalf("level %d: want one failure, got %v", depth, res.Err())
		}
		var se *verifier.SublayoutError
		if !errors.As(res.Failures[0], &se) || se.Result == nil {
			return res.Failures[0], depth
		}
		want := fmt.Sprintf("step sub: sublayout by %s failed verification (1 failure(s))", short8(se.KeyID))
		if se.Error() != want {
			t.Errorf("level %d: %q, want %q", depth, se.Error(), want)
		}
		res = se.Result
		depth++
	}
}

func short8(id string) string { return id[:8] }

func TestSublayoutRecursion(t *testing.T) {
	owner, alice, bob := newKey(t), newKey(t), newKey(t)
	loop := func(k *keys.Key) string {
		return fmt.Sprintf("step sub: sublayout by %s: recursion loop: the sublayout is one of the layouts that contain it", short(k))
	}

	t.Run("control: three levels", func(t *testing.T) {
		links := t.TempDir()
		requirePass(t, verifyDir(t, nest(t, links, 3, owner, alice, bob), links, owner))
	})

	t.Run("root layout is its own sublayout", func(t *testing.T) {
		// The attacker copies root.layout into the links folder as the
		// owner's evidence for "sub"; the verifier read the same file.
		file := encode(t, signLayout(t, delegating(t, owner, "root"), envelope.Metablock, owner))
		le, err := envelope.Parse(file)
		if err != nil {
			t.Fatal(err)
		}
		links := t.TempDir()
		name := "sub." + short(owner) + ".link"
		writeFile(t, filepath.Join(links, name), file)
		res := verifyDir(t, le, links, owner)
		se := onlyFailure[*verifier.SublayoutError](t, res, loop(owner))
		if se.Err == nil || se.Step != "sub" || se.KeyID != owner.ID() {
			t.Errorf("got %+v", se)
		}
		rejected(t, res, "sub", name, "recursion loop: the sublayout is one of the layouts that contain it")
	})

	t.Run("re-encoded copy of the root", func(t *testing.T) {
		// Loops are recognised by the payload's bytes, so a copy with
		// other white space is one more level before the loop closes.
		le := signLayout(t, delegating(t, owner, "root"), envelope.Metablock, owner)
		links := t.TempDir()
		writeLink(t, links, "sub", owner, le) // indented, unlike le's payload
		writeLink(t, subDir(links, owner), "sub", owner, le)
		err, depth := innermost(t, verifyDir(t, le, links, owner))
		if err.Error() != loop(owner) || depth != 1 {
			t.Errorf("at depth %d: %v; want at depth 1: %s", depth, err, loop(owner))
		}
	})

	t.Run("sublayout contains itself", func(t *testing.T) {
		self := signLayout(t, delegating(t, alice, "me again"), envelope.Metablock, alice)
		links := t.TempDir()
		writeLink(t, links, "sub", alice, self)
		writeLink(t, subDir(links, alice), "sub", alice, self)
		res := verifyDir(t, signLayout(t, delegating(t, alice, "root"), envelope.Metablock, owner), links, owner)
		err, depth := innermost(t, res)
		if err.Error() != loop(alice) || depth != 1 {
			t.Errorf("at depth %d: %v; want at depth 1: %s", depth, err, loop(alice))
		}
	})

	t.Run("sublayout folder is a symlink to itself", func(t *testing.T) {
		self := signLayout(t, delegating(t, alice, "me again"), envelope.Metablock, alice)
		links := t.TempDir()
		writeLink(t, links, "sub", alice, self)
		writeLink(t, subDir(links, alice), "sub", alice, self)
		// sub.<alice>/sub.<alice> -> . : folders nest without end.
		if err := os.Symlink(".", subDir(subDir(links, alice), alice)); err != nil {
			t.Fatal(err)
		}
		res := verifyDir(t, signLayout(t, delegating(t, alice, "root"), envelope.Metablock, owner), links, owner)
		err, depth := innermost(t, res)
		if err.Error() != loop(alice) || depth != 1 {
			t.Errorf("at depth %d: %v; want at depth 1: %s", depth, err, loop(alice))
		}
	})

	t.Run("two sublayouts contain each other", func(t *testing.T) {
		a := signLayout(t, delegating(t, alice, "A"), envelope.Metablock, alice)
		b := signLayout(t, delegating(t, alice, "B"), envelope.Metablock, alice)
		links := t.TempDir()
		dir := links
		for _, e := range []*envelope.Envelope{a, b, a, b} {
			writeLink(t, dir, "sub", alice, e)
			dir = subDir(dir, alice)
		}
		res := verifyDir(t, signLayout(t, delegating(t, alice, "root"), envelope.Metablock, owner), links, owner)
		err, depth := innermost(t, res)
		if err.Error() != loop(alice) || depth != 2 {
			t.Errorf("at depth %d: %v; want at depth 2: %s", depth, err, loop(alice))
		}
	})

	t.Run("sublayout links folder outside the links folder", func(t *testing.T) {
		root := t.TempDir()
		links := filepath.Join(root, "links")
		writeLink(t, links, "sub", alice, signLayout(t, buildLayout(t, 1, bob), envelope.Metablock, alice))
		elsewhere := filepath.Join(root, "elsewhere")
		writeLink(t, elsewhere, "build", bob, signLink(t, buildLink(), envelope.Metablock, bob))
		if err := os.Symlink(filepath.Join("..", "elsewhere"), subDir(links, alice)); err != nil {
			t.Fatal(err)
		}
		res := verifyDir(t, signLayout(t, delegating(t, alice, "root"), envelope.Metablock, owner), links, owner)
		// Refused as a symlink before the folder is opened (issue 13.9);
		// os.Root would refuse it as leaving the links folder anyway.
		err := onlyFailure[*verifier.SublayoutError](t, res, fmt.Sprintf(
			"step sub: sublayout by %s: its links: sublayout links folder %s: is a symlink, not a folder", short(alice), subDir(links, alice)))
		if !errors.Is(err, verifier.ErrSymlinkedSublayoutFolder) {
			t.Errorf("%v does not match ErrSymlinkedSublayoutFolder", err)
		}
	})
}

func TestSublayoutDepth(t *testing.T) {
	owner, alice, bob := newKey(t), newKey(t), newKey(t)
	deep := func(max int) string {
		return fmt.Sprintf("step sub: sublayout by %s: sublayouts nest deeper than %d levels", short(alice), max)
	}

	t.Run("control: as deep as allowed", func(t *testing.T) {
		links := t.TempDir()
		le := nest(t, links, verifier.DefaultMaxSublayoutDepth, owner, alice, bob)
		requirePass(t, verifyDir(t, le, links, owner))
	})

	t.Run("one level deeper", func(t *testing.T) {
		links := t.TempDir()
		le := nest(t, links, verifier.DefaultMaxSublayoutDepth+1, owner, alice, bob)
		err, depth := innermost(t, verifyDir(t, le, links, owner))
		if err.Error() != deep(verifier.DefaultMaxSublayoutDepth) || depth != verifier.DefaultMaxSublayoutDepth {
			t.Errorf("at depth %d: %v; want at depth %d: %s", depth, err, verifier.DefaultMaxSublayoutDepth, deep(verifier.DefaultMaxSublayoutDepth))
		}
	})

	t.Run("a hundred levels, with a lower limit", func(t *testing.T) {
		links := t.TempDir()
		le := nest(t, links, 100, owner, alice, bob)
		d, err := verifier.OpenDir(links)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		res := verifyWith(t, le, verifier.Options{Links: d, MaxSublayoutDepth: 3}, owner)
		ierr, depth := innermost(t, res)
		if ierr.Error() != deep(3) || depth != 3 {
			t.Errorf("at depth %d: %v; want at depth 3: %s", depth, ierr, deep(3))
		}
		if strings.Count(fmt.Sprint(res.Err()), "sublayout") > 10 {
			t.Errorf("report grew with the nesting: %v", res.Err())
		}
	})
}
