package verifier_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/internal/corpus"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/verifier"
	cg "github.com/toto-dev/toto/verifier/internal/chaingen"
)

// refBug is a minimal chain on which the references disagree with toto
// (or with each other), with every implementation's verdict. They are the
// reproducers of the "Reference bugs" table in docs/verification.md; this
// test keeps the table honest.
type refBug struct {
	id, name               string
	build                  func(t *testing.T) *cg.Builder
	toto, golang, python   bool
	pythonSays, golangSays string
}

var hX = strings.Repeat("ab", 32)

func refBugs() []refBug {
	return []refBug{
		{
			id: "R1", name: "link name not checked: a link for one step replays as another's",
			build: func(t *testing.T) *cg.Builder {
				b := cg.NewBuilder()
				b.Step("build", 1, []string{"alice"}, nil, cg.Rules([]string{"CREATE", "a"}))
				b.Step("release", 1, []string{"alice"}, nil, cg.Rules([]string{"ALLOW", "a"}))
				e := b.Link("build", "alice", &link.Link{Products: cg.Artifacts("a", hX)})
				b.AddEvidence("release", "release."+b.Key("alice").ID()[:8]+".link", e)
				return b
			},
			toto: false, golang: true, python: true,
		},
		{
			id: "R2", name: "one key listed under both keyid schemes counts twice towards a threshold",
			build: func(t *testing.T) *cg.Builder {
				b := cg.NewBuilder()
				s := b.Step("build", 2, []string{"alice"}, nil, cg.Rules([]string{"CREATE", "a"}))
				bare := *b.Key("alice").Public()
				bare.KeyIDHashAlgorithms = nil
				b.Layout.Keys[bare.ID()] = &bare
				s.PubKeys = append(s.PubKeys, bare.ID())
				b.Link("build", "alice", &link.Link{Products: cg.Artifacts("a", hX)})
				p, _ := (&link.Link{Name: "build", Products: cg.Artifacts("a", hX)}).MarshalJSON()
				e := b.Sign(p, "alice")
				e.Signatures[0].KeyID = bare.ID() // the same signature, filed under the other keyid
				b.AddEvidence("build", "build."+bare.ID()[:8]+".link", e)
				return b
			},
			toto: false, golang: false, python: true, golangSays: "failed to verify signature",
		},
		{
			id: "R2-dsse", name: "the same with DSSE links: in-toto-golang counts the key twice too",
			build: func(t *testing.T) *cg.Builder {
				b := cg.NewBuilder()
				b.Format = envelope.DSSE
				s := b.Step("build", 2, []string{"alice"}, nil, cg.Rules([]string{"CREATE", "a"}))
				bare := *b.Key("alice").Public()
				bare.KeyIDHashAlgorithms = nil
				b.Layout.Keys[bare.ID()] = &bare
				s.PubKeys = append(s.PubKeys, bare.ID())
				b.Link("build", "alice", &link.Link{Products: cg.Artifacts("a", hX)})
				p, _ := (&link.Link{Name: "build", Products: cg.Artifacts("a", hX)}).MarshalJSON()
				e := b.Sign(p, "alice")
				e.Signatures[0].KeyID = bare.ID() // the same signature, filed under the other keyid
				b.AddEvidence("build", "build."+bare.ID()[:8]+".link", e)
				return b
			},
			toto: false, golang: true, python: false, pythonSays: "FormatError", // R8
		},
		{
			id: "R3", name: "threshold 1, two authorised links disagree: Python uses the first",
			build: func(t *testing.T) *cg.Builder {
				b := cg.NewBuilder()
				b.Step("build", 1, []string{"alice", "bob"}, nil, cg.Rules([]string{"CREATE", "a"}))
				b.Link("build", "alice", &link.Link{Products: cg.Artifacts("a", hX)})
				b.Link("build", "bob", &link.Link{Products: cg.Artifacts("a", hTar)})
				return b
			},
			toto: false, golang: false, python: true,
		},
		{
			id: "R4", name: "in-toto-golang: MATCH ... IN <prefix> also consumes artifacts outside the prefix",
			build: func(t *testing.T) *cg.Builder {
				b := cg.NewBuilder()
				b.Step("fetch", 1, []string{"alice"}, nil, cg.Rules([]string{"CREATE", "dist/x"}))
				b.Step("build", 1, []string{"bob"}, cg.Rules([]string{"MATCH", "*", "IN", "in", "WITH", "PRODUCTS", "IN", "dist", "FROM", "fetch"}, []string{"DISALLOW", "*"}), nil)
				b.Link("fetch", "alice", &link.Link{Products: cg.Artifacts("dist/x", hX)})
				b.Link("build", "bob", &link.Link{Materials: cg.Artifacts("x", hX)})
				return b
			},
			toto: false, golang: true, python: false, pythonSays: "DISALLOW",
		},
		{
			id: "R5", name: "in-toto-golang: patterns and paths are path.Clean'ed, so ./a matches a",
			build: func(t *testing.T) *cg.Builder {
				b := cg.NewBuilder()
				b.Step("fetch", 1, []string{"alice"}, nil, cg.Rules([]string{"CREATE", "a"}))
				b.Step("build", 1, []string{"bob"}, cg.Rules([]string{"MATCH", "a", "WITH", "PRODUCTS", "FROM", "fetch"}, []string{"DISALLOW", "*"}), nil)
				b.Link("fetch", "alice", &link.Link{Products: cg.Artifacts("a", hX)})
				b.Link("build", "bob", &link.Link{Materials: cg.Artifacts("./a", hX)})
				return b
			},
			toto: false, golang: true, python: false, pythonSays: "DISALLOW",
		},
		{
			id: "R6", name: "Python: a path with \"//\" after a MATCH source prefix raises KeyError",
			build: func(t *testing.T) *cg.Builder {
				b := cg.NewBuilder()
				b.Step("fetch", 1, []string{"alice"}, nil, cg.Rules([]string{"ALLOW", "*"}))
				b.Step("build", 1, []string{"bob"}, cg.Rules([]string{"MATCH", "*", "IN", "in", "WITH", "PRODUCTS", "IN", "dist", "FROM", "fetch"}, []string{"DISALLOW", "*"}), nil)
				b.Link("fetch", "alice", &link.Link{Products: cg.Artifacts("/x", hX, "dist/x", hX)})
				b.Link("build", "bob", &link.Link{Materials: cg.Artifacts("in//x", hX)})
				return b
			},
			toto: false, golang: true, python: false, pythonSays: "KeyError",
		},
		{
			id: "R8", name: "Python in-toto 1.3.1 reads Metablocks only, not DSSE",
			build: func(t *testing.T) *cg.Builder {
				b := cg.NewBuilder()
				b.Format = envelope.DSSE
				b.Step("build", 1, []string{"alice"}, nil, cg.Rules([]string{"CREATE", "a"}))
				b.Link("build", "alice", &link.Link{Products: cg.Artifacts("a", hX)})
				return b
			},
			toto: true, golang: true, python: false, pythonSays: "FormatError",
		},
	}
}

func TestReferenceBugs(t *testing.T) {
	havePython := true
	if _, err := os.Stat(pythonVerify); err != nil {
		havePython = false
	}
	for _, rb := range refBugs() {
		t.Run(rb.id, func(t *testing.T) {
			b := rb.build(t)
			dir := t.TempDir()
			if err := b.WriteDir(dir); err != nil {
				t.Fatal(err)
			}
			check := func(impl string, got, want bool, why, says string) {
				t.Helper()
				if got != want {
					t.Errorf("%s (%s): %s says %v, documented %v: %s", rb.id, rb.name, impl, got, want, why)
				} else if says != "" && !strings.Contains(why, says) {
					t.Errorf("%s: %s fails with %q, documented %q", rb.id, impl, why, says)
				}
			}
			ok, why := runTotoDir(t, dir, nil)
			check("toto", ok, rb.toto, why, "")
			ok, why = runGolangDir(t, dir, "", b.Public("owner"))
			check("in-toto-golang", ok, rb.golang, why, rb.golangSays)
			if havePython {
				ok, why = runPythonCLI(dir)
				check("python in-toto", ok, rb.python, why, rb.pythonSays)
			}
		})
	}
}

// R7: Python in-toto 1.3.1 rejects the signature on in-toto-golang's demo
// layout (it re-serialises the layout without the fields it does not know,
// such as cert_constraints, and verifies that); toto and in-toto-golang
// verify the signed bytes and pass.
func TestReferenceBugR7(t *testing.T) {
	data := corpus.Path(t, "in-toto-golang", "data")
	work := workdirWith(t, filepath.Join(data, "foo.tar.gz"))
	alice := loadKey(t, filepath.Join(data, "alice.pub"))
	res, err := verifier.Verify(context.Background(), loadEnvelope(t, filepath.Join(data, "demo.layout")), verifier.Options{
		LayoutKeys:  []*keys.Key{alice},
		Links:       openDir(t, data),
		Inspections: &verifier.SandboxRunner{Dir: work},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Passed() {
		t.Errorf("toto: %v", res.Err())
	}
	// in-toto-golang runs the inspection in a folder of its own choosing,
	// which must not be empty, and writes its link into the current
	// directory: keep that out of the source tree.
	t.Chdir(t.TempDir())
	if ok, why := runGolangLayout(t, filepath.Join(data, "demo.layout"), data, workdirWith(t, filepath.Join(data, "foo.tar.gz")), alice); !ok {
		t.Errorf("in-toto-golang: %s", why)
	}
	if _, err := os.Stat(pythonVerify); err != nil {
		t.Skipf("%s not found; cannot show the Python side", pythonVerify)
	}
	ok, why := runPythonCLIArgs(workdirWith(t, filepath.Join(data, "foo.tar.gz")), filepath.Join(data, "demo.layout"), filepath.Join(data, "alice.pub"), "rsa", data)
	if ok || !strings.Contains(why, "Invalid signature for keyid '70ca5750") {
		t.Errorf("python in-toto: %v %s (documented: fails with an invalid signature)", ok, why)
	}
}
