package security

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/runner"
	"github.com/toto-dev/toto/verifier"
)

// uncovered ends the reason of a DISALLOW that no earlier rule came close
// to.
const uncovered = "no earlier rule covers it (if it is expected, add a rule before the DISALLOW that consumes it)"

// marker is a file outside every sandbox that a probe command appends a
// line to each time it runs: how a test sees whether a command ran.
type marker string

func newMarker(t *testing.T) marker { return marker(filepath.Join(t.TempDir(), "ran")) }

// probe is a command that records that it ran.
func (m marker) probe() []string { return []string{"sh", "-c", "echo ran >> " + string(m)} }

// runs counts how often the probe ran.
func (m marker) runs(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(string(m))
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "ran\n")
}

// workdir is a folder holding the build's honest product, app, and the
// extra files given.
func workdir(t *testing.T, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "app"), []byte("\x7fELF"))
	for name, content := range extra {
		writeFile(t, filepath.Join(dir, name), []byte(content))
	}
	return dir
}

// inspected is a layout with the build step of buildLayout (alice signs
// it) and the given inspections.
func inspected(t *testing.T, alice *keys.Key, inspections ...layout.Inspection) *layout.Layout {
	t.Helper()
	l := buildLayout(t, 1, alice)
	l.Inspections = inspections
	return l
}

func inspection(name string, run []string, materials ...string) layout.Inspection {
	in := layout.Inspection{Name: name, Run: run}
	for _, r := range materials {
		rule, err := layout.ParseRule(strings.Fields(r))
		if err != nil {
			panic(err)
		}
		in.ExpectedMaterials = append(in.ExpectedMaterials, rule)
	}
	return in
}

// verifyInspected verifies l (signed by owner) with alice's honest build
// link, running inspections in a copy of work.
func verifyInspected(t *testing.T, l *layout.Layout, owner, alice *keys.Key, work string) *verifier.Result {
	t.Helper()
	links := t.TempDir()
	writeLink(t, links, "build", alice, signLink(t, buildLink(), envelope.Metablock, alice))
	d, err := verifier.OpenDir(links)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	return verifyWith(t, signLayout(t, l, envelope.Metablock, owner), verifier.Options{
		Links:       d,
		Inspections: &verifier.SandboxRunner{Dir: work, Timeout: time.Minute},
	}, owner)
}

// Issue 13.2 [high]: a sublayout signed by a functionary chooses commands
// that run with the verifier's rights. They run only when the verifier
// opts in, and never before the whole tree (the sublayout's own steps and
// the superlayout's rules) has verified.
func TestSublayoutInspections(t *testing.T) {
	owner, alice, bob := newKey(t), newKey(t), newKey(t)
	// sublayout: alice's layout for step "sub", bob builds, and an
	// inspection of alice's choosing.
	setup := func(t *testing.T, signer *keys.Key, m marker, rootRules ...string) (*envelope.Envelope, string) {
		t.Helper()
		sub := inspected(t, bob, inspection("probe", m.probe()))
		b := layout.NewBuilder(now.AddDate(1, 0, 0)).AddFunctionary("delegate", signer)
		if len(rootRules) > 0 {
			b.AddStep("sub", layout.Functionaries("delegate"), layout.ProductRules(rootRules...))
		} else {
			b.AddStep("sub", layout.Functionaries("delegate"))
		}
		root, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		links := t.TempDir()
		writeLink(t, links, "sub", signer, signLayout(t, sub, envelope.Metablock, signer))
		return signLayout(t, root, envelope.Metablock, owner), links
	}
	verify := func(t *testing.T, le *envelope.Envelope, links string, optIn bool, buildLink *link.Link, signer *keys.Key) *verifier.Result {
		t.Helper()
		writeLink(t, filepath.Join(links, "sub."+short(signer)), "build", bob, signLink(t, buildLink, envelope.Metablock, bob))
		d, err := verifier.OpenDir(links)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		return verifyWith(t, le, verifier.Options{
			Links:                   d,
			Inspections:             &verifier.SandboxRunner{Dir: workdir(t, nil), Timeout: time.Minute},
			RunSublayoutInspections: optIn,
		}, owner)
	}

	t.Run("control: the verifier opted in", func(t *testing.T) {
		m := newMarker(t)
		le, links := setup(t, alice, m)
		requirePass(t, verify(t, le, links, true, buildLink(), alice))
		if m.runs(t) != 1 {
			t.Errorf("the sublayout's inspection ran %d times, want once", m.runs(t))
		}
	})
	t.Run("control: a sublayout signed by a root owner needs no opt-in", func(t *testing.T) {
		m := newMarker(t)
		le, links := setup(t, owner, m)
		requirePass(t, verify(t, le, links, false, buildLink(), owner))
		if m.runs(t) != 1 {
			t.Errorf("the sublayout's inspection ran %d times, want once", m.runs(t))
		}
	})
	t.Run("functionary's sublayout without the opt-in", func(t *testing.T) {
		m := newMarker(t)
		le, links := setup(t, alice, m)
		res := verify(t, le, links, false, buildLink(), alice)
		err := onlyFailure[*verifier.SublayoutError](t, res, fmt.Sprintf("step sub: sublayout by %s failed verification (1 failure(s))", short(alice)))
		var sie *verifier.SublayoutInspectionError
		if !errors.As(err, &sie) {
			t.Fatalf("%v holds no SublayoutInspectionError", res.Err())
		}
		want := fmt.Sprintf("sublayout of step sub, signed by functionary %s (not a root layout owner), asks to run inspection probe: %q; "+
			"it did not run: allow commands from sublayouts with toto verify --run-sublayout-inspections (Options.RunSublayoutInspections)",
			short(alice), strings.Join(m.probe(), " "))
		if sie.Error() != want {
			t.Errorf("\n got: %s\nwant: %s", sie.Error(), want)
		}
		if m.runs(t) != 0 {
			t.Error("the functionary's command ran without the verifier's opt-in")
		}
	})
	t.Run("the sublayout's own step rules fail", func(t *testing.T) {
		m := newMarker(t)
		le, links := setup(t, alice, m)
		bl := buildLink()
		bl.Products["backdoor"] = digest("x")
		res := verify(t, le, links, true, bl, alice)
		var rf *verifier.RuleFailure
		if !errors.As(res.Err(), &rf) || rf.Item != "build" || rf.Artifact != "backdoor" {
			t.Fatalf("want the sublayout's DISALLOW of backdoor, got %v", res.Err())
		}
		if m.runs(t) != 0 {
			t.Error("the sublayout's inspection ran although its own steps failed")
		}
	})
	t.Run("the superlayout's rules fail", func(t *testing.T) {
		m := newMarker(t)
		le, links := setup(t, alice, m, `DISALLOW app`)
		res := verify(t, le, links, true, buildLink(), alice)
		rf := onlyFailure[*verifier.RuleFailure](t, res, "products of step sub: app was DISALLOWed by rule 1 (DISALLOW app); nothing earlier consumed it; "+uncovered)
		if rf.Item != "sub" {
			t.Errorf("failure in %s, want in the root's step sub", rf.Item)
		}
		if m.runs(t) != 0 {
			t.Error("the sublayout's inspection ran although the superlayout's rules failed")
		}
	})
}

// Issue 13.3: a layout's inspections run one after another in ONE shared
// copy, as in both references: a later inspection sees what an earlier one
// extracted or left behind. (verifier's TestDifferentialChainedInspections
// runs the same cases through both references.)
func TestInspectionsShareOneSandbox(t *testing.T) {
	owner, alice := newKey(t), newKey(t)
	work := workdir(t, nil)
	t.Run("a later inspection uses what an earlier one extracted", func(t *testing.T) {
		requirePass(t, verifyInspected(t, inspected(t, alice,
			inspection("unpack", []string{"sh", "-c", "echo data > extracted"}),
			inspection("use", []string{"test", "-f", "extracted"}),
		), owner, alice, work))
	})
	t.Run("control: nothing left behind", func(t *testing.T) {
		requirePass(t, verifyInspected(t, inspected(t, alice,
			inspection("first", []string{"true"}),
			inspection("second", []string{"true"}, `DISALLOW leftover`),
		), owner, alice, work))
	})
	t.Run("a file left behind meets a later DISALLOW", func(t *testing.T) {
		res := verifyInspected(t, inspected(t, alice,
			inspection("first", []string{"touch", "leftover"}),
			inspection("second", []string{"true"}, `DISALLOW leftover`),
		), owner, alice, work)
		onlyFailure[*verifier.RuleFailure](t, res, "materials of inspection second: leftover was DISALLOWed by rule 1 (DISALLOW leftover); nothing earlier consumed it; "+uncovered)
	})
	if _, err := os.Stat(filepath.Join(work, "extracted")); err == nil {
		t.Error("an inspection wrote into the user's folder")
	}
}

// Issue 13.4: an inspection's material rules are applied before its
// command runs: a swapped tarball is rejected before anything unpacks it.
func TestInspectionMaterialRulesGateTheCommand(t *testing.T) {
	owner, alice := newKey(t), newKey(t)
	for _, tc := range []struct {
		name string
		app  string
		runs int
	}{
		{"control: the product the build made", "\x7fELF", 1},
		{"a swapped product", "#!/bin/sh\nrm -rf ~\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMarker(t)
			work := workdir(t, nil)
			writeFile(t, filepath.Join(work, "app"), []byte(tc.app))
			res := verifyInspected(t, inspected(t, alice,
				inspection("unpack", m.probe(), `MATCH app WITH PRODUCTS FROM build`, `DISALLOW *`),
			), owner, alice, work)
			if got := m.runs(t); got != tc.runs {
				t.Errorf("the inspection's command ran %d times, want %d", got, tc.runs)
			}
			if tc.runs == 1 {
				requirePass(t, res)
				if !res.Inspections[0].Ran {
					t.Error("the inspection ran, but its result says it did not")
				}
				return
			}
			onlyFailure[*verifier.RuleFailure](t, res, "materials of inspection unpack: app was DISALLOWed by rule 2 (DISALLOW *); nothing earlier consumed it; "+
				"closest rule: MATCH app WITH PRODUCTS FROM build — hashes differ: sha256 d321df40e26b… here, 3bdbb4fe8397… in the products of build")
			in := res.Inspections[0]
			if in.Status != verifier.StatusFailed || in.SkipReason != "its command did not run: its materials failed their rules" || in.Ran {
				t.Errorf("inspection %s: status %s, %q, ran %v", in.Name, in.Status, in.SkipReason, in.Ran)
			}
		})
	}
}

// Issue 13.5: the default excludes of toto run (.git, *.link) do not apply
// to what an inspection records: a package cannot hide files from
// DISALLOW rules under those names.
func TestInspectionsRecordEverything(t *testing.T) {
	owner, alice := newKey(t), newKey(t)
	rules := []string{`MATCH app WITH PRODUCTS FROM build`, `DISALLOW *`}
	t.Run("control: only the product", func(t *testing.T) {
		requirePass(t, verifyInspected(t, inspected(t, alice, inspection("check", []string{"true"}, rules...)), owner, alice, workdir(t, nil)))
	})
	for _, smuggled := range []string{".git/config", "payload.link", "x.link-unfinished"} {
		t.Run(smuggled, func(t *testing.T) {
			res := verifyInspected(t, inspected(t, alice, inspection("check", []string{"true"}, rules...)), owner, alice,
				workdir(t, map[string]string{smuggled: "[core]\n\tfsmonitor = evil\n"}))
			rf := onlyFailure[*verifier.RuleFailure](t, res, fmt.Sprintf("materials of inspection check: %s was DISALLOWed by rule 2 (DISALLOW *); nothing earlier consumed it; "+uncovered, smuggled))
			if rf.Artifact != smuggled {
				t.Errorf("artifact %q, want %q", rf.Artifact, smuggled)
			}
		})
	}
}

// Issue 13.6: the sandbox's edges. A sparse file stays sparse in the copy;
// a symlink leading out of the sandbox is not followed out of it; copying
// honours the inspection timeout.
func TestInspectionSandboxEdges(t *testing.T) {
	owner, alice := newKey(t), newKey(t)
	t.Run("a sparse file stays sparse", func(t *testing.T) {
		work := workdir(t, nil)
		f, err := os.Create(filepath.Join(work, "disk.img"))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(256 << 20); err != nil {
			t.Fatal(err)
		}
		f.Close()
		// du counts allocated blocks: the copy of 256 MiB of holes must
		// take (almost) none.
		res := verifyInspected(t, inspected(t, alice,
			inspection("size", []string{"sh", "-c", `test "$(du -k disk.img | cut -f1)" -lt 1024`}),
		), owner, alice, work)
		requirePass(t, res)
	})
	for _, tc := range []struct {
		name, target string
		escapes      bool
	}{
		{"control: a product symlink inside the sandbox", "app", false},
		{"a product symlink out of the sandbox", "/etc/passwd", true},
		{"a product symlink climbing out", "../../../../../../../../etc/passwd", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := verifyInspected(t, inspected(t, alice,
				inspection("link", []string{"ln", "-s", tc.target, "leak"}),
			), owner, alice, workdir(t, nil))
			if !tc.escapes {
				requirePass(t, res)
				return
			}
			ie := onlyFailure[*verifier.InspectionError](t, res, fmt.Sprintf(
				"inspection link: record products: artifact %q: symlink leads out of the recorded folder: %q resolves to /etc/passwd", "leak", tc.target))
			if !errors.Is(ie, runner.ErrSymlinkEscapes) {
				t.Errorf("%v is not ErrSymlinkEscapes", ie)
			}
		})
	}
	t.Run("copying honours the timeout", func(t *testing.T) {
		work := workdir(t, map[string]string{"big": strings.Repeat("x", 8<<20)})
		_, err := (&verifier.SandboxRunner{Dir: work, Timeout: time.Nanosecond}).Workspace(t.Context())
		if !errors.Is(err, runner.ErrTimeout) || !strings.Contains(err.Error(), "into the sandbox took longer than 1ns") {
			t.Fatalf("got %v, want a timeout while copying into the sandbox", err)
		}
	})
}
