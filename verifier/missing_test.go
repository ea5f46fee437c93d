package verifier_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/verifier"
	cg "github.com/toto-dev/toto/verifier/internal/chaingen"
)

// A step with no link says where toto looked and for which names, and what
// else the folder holds: nothing at all, or a link for a misspelt step.
func TestMissingLinksExplained(t *testing.T) {
	b := cg.NewBuilder()
	b.Step("package", 1, []string{"dave"}, nil, cg.Rules([]string{"CREATE", "a"}))
	e := b.Link("package", "dave", &link.Link{Products: cg.Artifacts("a", hFoo)})
	id8 := b.Key("dave").ID()[:8]
	data, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"control: the link is there", map[string][]byte{"package." + id8 + ".link": data}, ""},
		{"an empty folder", nil, "; looked in DIR for package.ID.link; DIR holds no link files at all: point --links at the folder the links were written to"},
		{"a misspelt step", map[string][]byte{"packge." + id8 + ".link": data, "other.12345678.link": data},
			"; looked in DIR for package.ID.link; did you mean step packge → package? (packge.ID.link is there)"},
		{"links for other steps", map[string][]byte{"release." + id8 + ".link": data},
			"; looked in DIR for package.ID.link; link files there for no step of the layout: release.ID.link"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			res := verify(t, b, b.SignedLayout("owner"), func(o *verifier.Options) { o.Links = openDir(t, dir) })
			if tc.want == "" {
				if !res.Passed() {
					t.Fatalf("control: %v", res.Err())
				}
				return
			}
			var te *verifier.ThresholdError
			if len(res.Failures) != 1 || !errors.As(res.Failures[0], &te) {
				t.Fatalf("want one ThresholdError, got %v", res.Err())
			}
			want := "step package: needs links from 1 distinct authorised functionaries, found 0" +
				strings.NewReplacer("DIR", dir, "ID", id8).Replace(tc.want)
			if te.Error() != want {
				t.Errorf("\n got: %s\nwant: %s", te.Error(), want)
			}
			if te.Missing == nil || te.Missing.Location != dir {
				t.Errorf("Missing = %+v", te.Missing)
			}
		})
	}
}
