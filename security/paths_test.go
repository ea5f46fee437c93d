package security

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/verifier"
)

// A step name is part of a link file name, but the links folder is only
// ever listed, never joined with a name: a step called "../outside" or
// "nested/build" finds no link, even one waiting at the path its name
// points to.
func TestStepNameCannotLeaveLinksFolder(t *testing.T) {
	for _, step := range []string{"../outside", "nested/build", "/abs"} {
		t.Run(step, func(t *testing.T) {
			owner, alice := newKey(t), newKey(t)
			b := layout.NewBuilder(now.AddDate(1, 0, 0)).AddFunctionary("alice", alice).
				AddStep(step, layout.Functionaries("alice"))
			l, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			le := signLayout(t, l, envelope.Metablock, owner)
			ll := &link.Link{Name: step, Materials: link.Artifacts{}, Products: link.Artifacts{}}
			e := signLink(t, ll, envelope.Metablock, alice)

			t.Run("control: the link itself is good", func(t *testing.T) {
				fname := fmt.Sprintf("%s.%s.link", step, short(alice))
				src := &verifier.MemSource{Steps: map[string][]verifier.LinkFile{step: {{Name: fname, Envelope: e}}}}
				requirePass(t, verifyWith(t, le, verifier.Options{Links: src}, owner))
			})

			root := t.TempDir()
			links := filepath.Join(root, "links")
			if err := os.MkdirAll(links, 0o755); err != nil {
				t.Fatal(err)
			}
			// Where filepath.Join(links, "<step>.<id>.link") leads.
			target := filepath.Join(links, step+"."+short(alice)+".link")
			if step == "/abs" {
				target = filepath.Join(root, "abs."+short(alice)+".link")
			}
			writeFile(t, target, encode(t, e))
			res := verifyDir(t, le, links, owner)
			// The file name is only ever looked for in the folder, and
			// the failure says so.
			te := onlyFailure[*verifier.ThresholdError](t, res, fmt.Sprintf(
				"step %s: needs links from 1 distinct authorised functionaries, found 0; looked in %s for %s.%s.link; "+
					"%s holds no link files at all: point --links at the folder the links were written to", step, links, step, short(alice), links))
			if len(te.Rejected) != 0 {
				t.Errorf("the verifier looked at %v", te.Rejected)
			}
		})
	}

	t.Run("sublayout folder", func(t *testing.T) {
		d, err := verifier.OpenDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		_, err = d.Sublayout("../x", strings.Repeat("ab", 32))
		want := fmt.Sprintf(`sublayout links folder "../x.abababab" would not be inside %s`, d.Path())
		if err == nil || err.Error() != want {
			t.Errorf("got %v, want %s", err, want)
		}
	})
}

// A link file that is a symlink is followed only inside the links folder.
func TestLinkSymlinkCannotLeaveLinksFolder(t *testing.T) {
	owner, alice := newKey(t), newKey(t)
	le := signLayout(t, buildLayout(t, 1, alice), envelope.Metablock, owner)
	data := encode(t, signLink(t, buildLink(), envelope.Metablock, alice))
	name := "build." + short(alice) + ".link"

	t.Run("control: symlink inside the folder", func(t *testing.T) {
		links := t.TempDir()
		writeFile(t, filepath.Join(links, "store", "build.link"), data)
		if err := os.Symlink(filepath.Join("store", "build.link"), filepath.Join(links, name)); err != nil {
			t.Fatal(err)
		}
		requirePass(t, verifyDir(t, le, links, owner))
	})

	for _, tc := range []struct{ name, target string }{
		{"relative, up", filepath.Join("..", "elsewhere", "build.link")},
		{"absolute", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			outside := filepath.Join(root, "elsewhere", "build.link")
			writeFile(t, outside, data)
			links := filepath.Join(root, "links")
			if err := os.MkdirAll(links, 0o755); err != nil {
				t.Fatal(err)
			}
			target := tc.target
			if target == "" {
				target = outside
			}
			if err := os.Symlink(target, filepath.Join(links, name)); err != nil {
				t.Fatal(err)
			}
			res := verifyDir(t, le, links, owner)
			reason := fmt.Sprintf("unreadable: statat %s: path escapes from parent", name)
			rejected(t, res, "build", name, reason)
			onlyFailure[*verifier.ThresholdError](t, res, fmt.Sprintf(
				"step build: needs links from 1 distinct authorised functionaries, found 0; %s rejected: %s", name, reason))
		})
	}
}

// Artifact names in links are names, not paths toto opens: in-toto (like
// the Python reference) accepts any string, including "../x" and absolute
// paths that in-toto-run records for files outside the working directory.
// The verifier compares them by name and digest only, and inspections hash
// their own sandbox. To prove nothing opens them, each name points at a
// FIFO: opening it to read or write would block verification.
func TestArtifactNamesAreNeverOpened(t *testing.T) {
	root := t.TempDir()
	canary := filepath.Join(root, "canary")
	if err := syscall.Mkfifo(canary, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	work := filepath.Join(root, "work")
	writeFile(t, filepath.Join(work, "app"), []byte("\x7fELF"))
	t.Chdir(work) // so that relative names resolve next to the canary

	owner, alice := newKey(t), newKey(t)
	names := []string{"../canary", canary, "./../canary", "work/../../canary"}
	var mats []string
	for _, n := range names {
		mats = append(mats, fmt.Sprintf("ALLOW %q", n))
	}
	mats = append(mats, `DISALLOW "*"`)
	l, err := layout.NewBuilder(now.AddDate(1, 0, 0)).
		AddFunctionary("alice", alice).
		AddStep("build", layout.Functionaries("alice"),
			layout.MaterialRules(mats...),
			layout.ProductRules(`CREATE app`, `DISALLOW "*"`)).
		AddInspection("check", layout.Run("true"),
			layout.MaterialRules(`MATCH app WITH PRODUCTS FROM build`, `DISALLOW "*"`)).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	le := signLayout(t, l, envelope.Metablock, owner)

	verify := func(t *testing.T, products link.Artifacts) *verifier.Result {
		t.Helper()
		bl := buildLink()
		bl.Materials = link.Artifacts{}
		for _, n := range names {
			bl.Materials[n] = digest("whatever the canary holds")
		}
		for n, d := range products {
			bl.Products[n] = d
		}
		links := filepath.Join(root, "links")
		writeLink(t, links, "build", alice, signLink(t, bl, envelope.Metablock, alice))
		done := make(chan *verifier.Result, 1)
		go func() {
			d, err := verifier.OpenDir(links)
			if err != nil {
				t.Error(err)
				done <- nil
				return
			}
			defer d.Close()
			res, err := verifier.Verify(context.Background(), le, verifier.Options{
				LayoutKeys:  []*keys.Key{owner.Public()},
				Links:       d,
				Inspections: &verifier.SandboxRunner{Dir: work, Timeout: 20 * time.Second},
				Now:         now,
			})
			if err != nil {
				t.Error(err)
			}
			done <- res
		}()
		select {
		case res := <-done:
			if res == nil {
				t.FailNow()
			}
			return res
		case <-time.After(30 * time.Second):
			t.Fatalf("verification blocked: something opened the FIFO an artifact name points to (%s)", canary)
			return nil
		}
	}

	t.Run("names pass as names", func(t *testing.T) {
		res := verify(t, nil)
		requirePass(t, res)
		if it := res.Step("check"); it == nil || it.Status != verifier.StatusPassed {
			t.Errorf("inspection did not run and pass: %+v", it)
		}
	})

	t.Run("and fail rules as names", func(t *testing.T) {
		res := verify(t, link.Artifacts{"../canary": digest("x")})
		rf := onlyFailure[*verifier.RuleFailure](t, res,
			"products of step build: ../canary was DISALLOWed by rule 2 (DISALLOW *); nothing earlier consumed it; no earlier rule covers it (if it is expected, add a rule before the DISALLOW that consumes it)")
		if rf.Artifact != "../canary" || rf.Item != "build" || rf.RuleIndex != 1 {
			t.Errorf("failure names %s/%s rule %d", rf.Item, rf.Artifact, rf.RuleIndex)
		}
	})
}
