package security

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/sbom"
	"github.com/toto-dev/toto/verifier"
)

// fixedKey derives an ed25519 key from name, so that fuzz seeds holding
// keys and keyids stay valid from run to run.
func fixedKey(t testing.TB, name string) *keys.Key {
	t.Helper()
	seed := sha256.Sum256([]byte("toto fuzz key " + name))
	priv := ed25519.NewKeyFromSeed(seed[:])
	k, err := keys.Parse([]byte(fmt.Sprintf(`{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":%q,"private":%q}}`,
		hex.EncodeToString(priv.Public().(ed25519.PublicKey)), hex.EncodeToString(seed[:]))))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signAndReparse signs payload as k would and parses the envelope back from
// its bytes, the way the verifier receives it. It returns nil when payload
// cannot be signed in that format (a Metablock needs a canonicalisable
// JSON object) or does not parse back.
func signAndReparse(t *testing.T, f envelope.Format, payload []byte, k *keys.Key) *envelope.Envelope {
	e, err := envelope.New(f, envelope.PayloadTypeInToto, payload)
	if err != nil {
		return nil
	}
	if err := e.Sign(context.Background(), k); err != nil {
		return nil
	}
	data, err := e.Encode()
	if err != nil {
		t.Fatalf("signed envelope does not encode: %v", err)
	}
	back, err := envelope.Parse(data)
	if err != nil {
		return nil
	}
	return back
}

// fuzzLayout is the policy links are fuzzed against: step build (alice)
// uses no materials and creates only files under out/.
func fuzzLayout(t testing.TB, alice *keys.Key) *layout.Layout {
	t.Helper()
	l, err := layout.NewBuilder(now.AddDate(1, 0, 0)).
		AddFunctionary("alice", alice).
		AddStep("build", layout.Functionaries("alice"),
			layout.MaterialRules(`DISALLOW "*"`),
			layout.ProductRules(`CREATE "out/*"`, `DISALLOW "*"`)).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// FuzzVerifyLink hands the verifier any link payload an authorised
// functionary might sign. Verification must never panic, and must pass
// only a link its rules allow: step build, no materials, products only
// under out/.
func FuzzVerifyLink(f *testing.F) {
	owner, alice := fixedKey(f, "owner"), fixedKey(f, "alice")
	honest, err := (&link.Link{Name: "build", Materials: link.Artifacts{}, Products: link.Artifacts{"out/app": digest("app")}}).MarshalJSON()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(honest, false)
	f.Add(honest, true)
	le := signLayout(f, fuzzLayout(f, alice), envelope.Metablock, owner)
	opts := verifier.Options{LayoutKeys: []*keys.Key{owner.Public()}, Now: now}

	f.Fuzz(func(t *testing.T, payload []byte, dsse bool) {
		format := envelope.Metablock
		if dsse {
			format = envelope.DSSE
		}
		e := signAndReparse(t, format, payload, alice)
		if e == nil {
			return
		}
		o := opts
		o.Links = &verifier.MemSource{Steps: map[string][]verifier.LinkFile{"build": {{Name: "build.link", Envelope: e}}}}
		res, err := verifier.Verify(context.Background(), le, o)
		if err != nil {
			t.Fatalf("Verify failed as a whole on a bad link: %v", err)
		}
		if !res.Passed() {
			return
		}
		l, err := link.Parse(payload)
		if err != nil {
			t.Fatalf("passed a payload that is not a link: %v", err)
		}
		if l.Name != "build" {
			t.Fatalf("passed a link for step %q", l.Name)
		}
		if len(l.Materials) != 0 {
			t.Fatalf("passed materials %v against DISALLOW *", l.Materials.Paths())
		}
		for _, p := range l.Products.Paths() {
			if !strings.HasPrefix(p, "out/") {
				t.Fatalf("passed product %q against CREATE out/*, DISALLOW *", p)
			}
		}
	})
}

// recordingRunner stands in for inspections: it runs nothing and reports
// an empty, successful run.
type recordingRunner struct{ runs int }

func (r *recordingRunner) Workspace(context.Context) (verifier.InspectionWorkspace, error) {
	return r, nil
}

func (r *recordingRunner) Close() error { return nil }

func (r *recordingRunner) Inspect(ctx context.Context, in layout.Inspection, admit func(link.Artifacts) error) (*verifier.InspectionRun, error) {
	if err := admit(link.Artifacts{}); err != nil {
		return nil, err
	}
	r.runs++
	return &verifier.InspectionRun{Link: &link.Link{Name: in.Name, Materials: link.Artifacts{}, Products: link.Artifacts{}}}, nil
}

// FuzzVerifyLayout hands the verifier any layout payload the owner's key
// might sign, with one honest link by alice for step build. Verification
// must never panic, and must pass only a well-formed, unexpired layout
// whose every step is build, with alice among its functionaries.
func FuzzVerifyLayout(f *testing.F) {
	owner, alice := fixedKey(f, "owner"), fixedKey(f, "alice")
	good, err := layout.Payload(fuzzLayout(f, alice))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, false)
	f.Add(good, true)
	buildEnv := signLink(f, &link.Link{Name: "build", Materials: link.Artifacts{}, Products: link.Artifacts{"out/app": digest("app")}}, envelope.Metablock, alice)
	src := &verifier.MemSource{Steps: map[string][]verifier.LinkFile{"build": {{Name: "build." + short(alice) + ".link", Envelope: buildEnv}}}}

	f.Fuzz(func(t *testing.T, payload []byte, dsse bool) {
		format := envelope.Metablock
		if dsse {
			format = envelope.DSSE
		}
		le := signAndReparse(t, format, payload, owner)
		if le == nil {
			return
		}
		runs := &recordingRunner{}
		res, err := verifier.Verify(context.Background(), le, verifier.Options{
			LayoutKeys: []*keys.Key{owner.Public()}, Links: src, Inspections: runs, Now: now,
			Params: map[string]string{"X": "x"},
		})
		if err != nil || !res.Passed() {
			if err == nil && runs.runs > 0 && res.Expired {
				t.Fatal("inspections ran for an expired layout")
			}
			return
		}
		l, err := layout.Parse(payload)
		if err != nil {
			t.Fatalf("passed a payload that is not a layout: %v", err)
		}
		if l.Expired(now) && !l.Expires.Equal(now) {
			t.Fatalf("passed a layout that expired on %v", l.Expires)
		}
		for _, s := range l.Steps {
			if s.Name != "build" {
				t.Fatalf("passed with step %q, which has no evidence", s.Name)
			}
			if !authorises(l, s, alice) {
				t.Fatalf("passed step build, whose functionaries %v do not include alice", s.PubKeys)
			}
		}
	})
}

// authorises reports whether step s lists a key of l that is k.
func authorises(l *layout.Layout, s layout.Step, k *keys.Key) bool {
	for _, id := range s.PubKeys {
		for lid, lk := range l.Keys {
			if (lid == id || lk.HasID(id)) && lk.PublicValue == k.PublicValue {
				return true
			}
		}
	}
	return false
}

// The fuzz targets' honest seeds pass, so their oracles are not vacuous.
func TestFuzzSeedsPass(t *testing.T) {
	owner, alice := fixedKey(t, "owner"), fixedKey(t, "alice")
	for _, dsse := range []bool{false, true} {
		format := envelope.Metablock
		if dsse {
			format = envelope.DSSE
		}
		l := &link.Link{Name: "build", Materials: link.Artifacts{}, Products: link.Artifacts{"out/app": digest("app")}}
		p, _ := l.MarshalJSON()
		e := signAndReparse(t, format, p, alice)
		lp, _ := layout.Payload(fuzzLayout(t, alice))
		le := signAndReparse(t, format, lp, owner)
		if e == nil || le == nil {
			t.Fatal("seed does not sign")
		}
		src := &verifier.MemSource{Steps: map[string][]verifier.LinkFile{"build": {{Name: "build.link", Envelope: e}}}}
		requirePass(t, verifyWith(t, le, verifier.Options{Links: src}, owner))

		l.Materials["src/a.c"] = digest("a")
		p, _ = l.MarshalJSON()
		src.Steps["build"][0].Envelope = signAndReparse(t, format, p, alice)
		if verifyWith(t, le, verifier.Options{Links: src}, owner).Passed() {
			t.Error("a link with materials passed DISALLOW *")
		}
	}
}

// FuzzSBOMPolicy feeds SBOM policies (the "sbom" member of a signed layout,
// or --sbom-policy) to the parser. What it accepts is valid and judges a
// product with no SBOM by RequireSBOM alone.
func FuzzSBOMPolicy(f *testing.F) {
	for _, s := range []string{
		`{"requireSBOM":true,"denyLicenses":["GPL-3.0-only","AGPL-*"],"denyComponents":["github.com/evil/lib","left-pad@1.3.0","pkg:npm/%40bad"]}`,
		`{}`, `{"denyLicenses":["*"]}`, `{"denyComponents":["pkg:"]}`, `{"requireSBOM":1}`, `{"x":1}`, `{} {}`,
	} {
		f.Add([]byte(s))
	}
	final := link.Artifacts{"app": digest("app")}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := sbom.ParsePolicy(data)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("accepted policy does not validate: %v", err)
		}
		r := sbom.CheckProducts(p, final, nil)
		want := 0
		if p.RequireSBOM {
			want = 1
		}
		if len(r.Violations) != want {
			t.Fatalf("policy %+v on a product without SBOM: %d violations, want %d", p, len(r.Violations), want)
		}
	})
}
