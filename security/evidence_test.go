package security

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/verifier"
)

// verifyBounded is verifyDir with a guard: a verification that blocks is
// reported as such instead of hanging the test run.
func verifyBounded(t *testing.T, le *envelope.Envelope, links string, opts verifier.Options, owner *keys.Key) *verifier.Result {
	t.Helper()
	d, err := verifier.OpenDir(links)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	opts.Links, opts.Now = d, now
	opts.LayoutKeys = []*keys.Key{owner.Public()}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan *verifier.Result, 1)
	go func() {
		res, err := verifier.Verify(ctx, le, opts)
		if err != nil {
			t.Errorf("Verify: %v", err)
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
		t.Fatal("verification blocked")
		return nil
	}
}

// Issue 13.7: a FIFO in the links folder (under a link's name, or any
// name) must not block the verifier: its type is checked before it is
// opened, and it is reported as unreadable evidence.
func TestFIFOInLinksFolder(t *testing.T) {
	owner, alice := newKey(t), newKey(t)
	le := signLayout(t, buildLayout(t, 1, alice), envelope.Metablock, owner)
	t.Run("control: the link itself", func(t *testing.T) {
		links := t.TempDir()
		writeLink(t, links, "build", alice, signLink(t, buildLink(), envelope.Metablock, alice))
		requirePass(t, verifyBounded(t, le, links, verifier.Options{}, owner))
	})
	t.Run("a FIFO under the link's name", func(t *testing.T) {
		links := t.TempDir()
		name := filepath.Join(links, "build."+short(alice)+".link")
		if err := syscall.Mkfifo(name, 0o600); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		res := verifyBounded(t, le, links, verifier.Options{}, owner)
		rejected(t, res, "build", filepath.Base(name), fmt.Sprintf("unreadable: %s is not a regular file (p---------)", filepath.Base(name)))
		onlyFailure[*verifier.ThresholdError](t, res, fmt.Sprintf(
			"step build: needs links from 1 distinct authorised functionaries, found 0; %s rejected: unreadable: %s is not a regular file (p---------)",
			filepath.Base(name), filepath.Base(name)))
	})
	t.Run("a FIFO beside the link", func(t *testing.T) {
		links := t.TempDir()
		writeLink(t, links, "build", alice, signLink(t, buildLink(), envelope.Metablock, alice))
		if err := syscall.Mkfifo(filepath.Join(links, "build.00000000.link"), 0o600); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		res := verifyBounded(t, le, links, verifier.Options{}, owner)
		requirePass(t, res)
	})
}

// twoSublayoutSteps is a root layout whose steps "sub" and "sub2" are both
// delegated to alice.
func twoSublayoutSteps(t *testing.T, alice *keys.Key) *layout.Layout {
	t.Helper()
	l, err := layout.NewBuilder(now.AddDate(1, 0, 0)).
		AddFunctionary("delegate", alice).
		AddStep("sub", layout.Functionaries("delegate")).
		AddStep("sub2", layout.Functionaries("delegate")).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Issue 13.10: a sublayout names no step, so the sublayout (and links)
// evidencing one step, copied under a second step's name, passed for a
// step that never ran. A sublayout is now evidence for one step only.
func TestSublayoutBoundToItsStep(t *testing.T) {
	owner, alice, bob := newKey(t), newKey(t), newKey(t)
	le := signLayout(t, twoSublayoutSteps(t, alice), envelope.Metablock, owner)
	write := func(t *testing.T, links, step string, sub *layout.Layout) {
		writeLink(t, links, step, alice, signLayout(t, sub, envelope.Metablock, alice))
		writeLink(t, filepath.Join(links, step+"."+short(alice)), "build", bob, signLink(t, buildLink(), envelope.Metablock, bob))
	}
	t.Run("control: a sublayout of its own for each step", func(t *testing.T) {
		links := t.TempDir()
		sub := buildLayout(t, 1, bob)
		write(t, links, "sub", sub)
		sub2 := buildLayout(t, 1, bob)
		sub2.Readme = "the second one"
		write(t, links, "sub2", sub2)
		requirePass(t, verifyDir(t, le, links, owner))
	})
	t.Run("one step's sublayout replayed for another", func(t *testing.T) {
		links := t.TempDir()
		sub := buildLayout(t, 1, bob)
		write(t, links, "sub", sub)
		write(t, links, "sub2", sub)
		name := "sub2." + short(alice) + ".link"
		rse := onlyFailure[*verifier.ReplayedSublayoutError](t, verifyDir(t, le, links, owner), fmt.Sprintf(
			"step sub2: %s is the sublayout already given for step sub; one sublayout is evidence for one step only", name))
		if rse.Step != "sub2" || rse.Other != "sub" {
			t.Errorf("%+v", rse)
		}
	})
}

// Issue 13.9: the number of sublayouts one verification verifies is
// bounded, however they nest.
func TestTooManySublayouts(t *testing.T) {
	owner, alice, bob := newKey(t), newKey(t), newKey(t)
	links := t.TempDir()
	le := nest(t, links, 3, owner, alice, bob)
	t.Run("control: as many as allowed", func(t *testing.T) {
		requirePass(t, verifyBounded(t, le, links, verifier.Options{MaxSublayouts: 3}, owner))
	})
	t.Run("one more than allowed", func(t *testing.T) {
		err, depth := innermost(t, verifyBounded(t, le, links, verifier.Options{MaxSublayouts: 2}, owner))
		want := fmt.Sprintf("step sub: sublayout by %s: too many sublayouts: the supply chain has more than 2 sublayouts", short(alice))
		if !errors.Is(err, verifier.ErrTooManySublayouts) {
			t.Errorf("%v is not ErrTooManySublayouts", err)
		}
		if err.Error() != want || depth != 2 {
			t.Errorf("at depth %d: %v\nwant at depth 2: %s", depth, err, want)
		}
	})
}
