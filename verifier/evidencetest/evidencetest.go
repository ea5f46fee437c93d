// Package evidencetest is the conformance test every verifier.LinkSource
// implementation runs: a folder (verifier.DirSource), memory
// (verifier.MemSource), and the OCI-referrer and TUF-backed sources to
// come. An implementation's test calls Run with a function that builds its
// source from a Fixture.
package evidencetest

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/verifier"
)

// Evidence is one document filed for a step by a functionary.
type Evidence struct {
	Step  string
	KeyID string
	// Data is the document as stored; it need not parse.
	Data []byte
}

// Name is the file name the references give it, "<step>.<keyid8>.link".
func (e Evidence) Name() string { return link.FileName(e.Step, e.KeyID) }

// Fixture is what a source under test must hold.
type Fixture struct {
	Links []Evidence
	// Sublayouts maps "<step>.<keyid8>" to the links of the sublayout
	// that functionary provided for the step.
	Sublayouts map[string][]Evidence
}

// NewSource builds the source under test holding f.
type NewSource func(t *testing.T, f Fixture) verifier.LinkSource

// Run checks that sources built by newSource behave as the verifier
// expects: every document for a step and only those, unparseable ones
// reported with Err rather than dropped, sublayout sources, and safe
// concurrent use.
func Run(t *testing.T, newSource NewSource) {
	ctx := context.Background()
	k, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	signed := func(step string) []byte {
		l := &link.Link{Name: step, Materials: link.Artifacts{}, Products: link.Artifacts{}}
		p, err := l.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		e, err := envelope.New(envelope.DSSE, "", p)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Sign(ctx, k); err != nil {
			t.Fatal(err)
		}
		b, err := e.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	f := Fixture{
		Links: []Evidence{
			{Step: "build", KeyID: k.ID(), Data: signed("build")},
			{Step: "build", KeyID: other.ID(), Data: signed("build")},
			{Step: "build.arm", KeyID: k.ID(), Data: signed("build.arm")},
			{Step: "package", KeyID: k.ID(), Data: []byte("not an envelope")},
		},
		Sublayouts: map[string][]Evidence{
			"package." + keys.ShortID(k.ID()): {{Step: "inner", KeyID: k.ID(), Data: signed("inner")}},
		},
	}
	src := newSource(t, f)

	names := func(t *testing.T, s verifier.LinkSource, step string) []string {
		t.Helper()
		files, err := s.Links(ctx, step)
		if err != nil {
			t.Fatalf("Links(%q): %v", step, err)
		}
		var out []string
		for _, lf := range files {
			switch {
			case lf.Err == nil && lf.Envelope == nil:
				t.Errorf("Links(%q): %s has neither an envelope nor an error", step, lf.Name)
			case lf.Err != nil:
				out = append(out, lf.Name+" (error)")
			default:
				out = append(out, lf.Name)
			}
		}
		sort.Strings(out)
		return out
	}
	want := func(t *testing.T, got []string, want ...string) {
		t.Helper()
		sort.Strings(want)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("got %q, want %q", got, want)
		}
	}

	t.Run("every document for the step, and only those", func(t *testing.T) {
		want(t, names(t, src, "build"), f.Links[0].Name(), f.Links[1].Name())
		want(t, names(t, src, "build.arm"), f.Links[2].Name())
	})
	t.Run("an unparseable document is reported, not dropped", func(t *testing.T) {
		want(t, names(t, src, "package"), f.Links[3].Name()+" (error)")
	})
	t.Run("a step without evidence has none, and no error", func(t *testing.T) {
		want(t, names(t, src, "test"))
	})
	t.Run("sublayout links", func(t *testing.T) {
		sub, err := src.Sublayout("package", k.ID())
		if err != nil {
			t.Fatal(err)
		}
		want(t, names(t, sub, "inner"), link.FileName("inner", k.ID()))
		want(t, names(t, sub, "build"))
		if _, err := src.Sublayout("build", other.ID()); err == nil {
			t.Error("a sublayout nobody provided has a source")
		}
	})
	t.Run("concurrent use", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if files, err := src.Links(ctx, "build"); err != nil || len(files) != 2 {
					t.Errorf("concurrent Links: %d files, %v", len(files), err)
				}
			}()
		}
		wg.Wait()
	})
}
