package verifier_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/verifier"
	"github.com/toto-dev/toto/verifier/evidencetest"
)

func TestDirSourceConformance(t *testing.T) {
	evidencetest.Run(t, func(t *testing.T, f evidencetest.Fixture) verifier.LinkSource {
		dir := t.TempDir()
		write := func(dir string, evs []evidencetest.Evidence) {
			for _, e := range evs {
				if err := os.WriteFile(filepath.Join(dir, e.Name()), e.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		write(dir, f.Links)
		for name, evs := range f.Sublayouts {
			sub := filepath.Join(dir, name)
			if err := os.Mkdir(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			write(sub, evs)
		}
		d, err := verifier.OpenDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	})
}

func TestMemSourceConformance(t *testing.T) {
	evidencetest.Run(t, func(t *testing.T, f evidencetest.Fixture) verifier.LinkSource {
		mem := func(evs []evidencetest.Evidence) *verifier.MemSource {
			m := &verifier.MemSource{Steps: map[string][]verifier.LinkFile{}}
			for _, e := range evs {
				lf := verifier.LinkFile{Name: e.Name()}
				lf.Envelope, lf.Err = envelope.Parse(e.Data)
				m.Steps[e.Step] = append(m.Steps[e.Step], lf)
			}
			return m
		}
		m := mem(f.Links)
		m.Sublayouts = map[string]*verifier.MemSource{}
		for name, evs := range f.Sublayouts {
			m.Sublayouts[name] = mem(evs)
		}
		return m
	})
}
