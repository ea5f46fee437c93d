package verifier_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/statement"
	"github.com/toto-dev/toto/verifier"
	cg "github.com/toto-dev/toto/verifier/internal/chaingen"
)

var none = [][]string(nil)

// twoSteps is build (alice, bob, carol; threshold 2) → package (dave).
func twoSteps() *cg.Builder {
	b := cg.NewBuilder()
	b.Step("build", 2, []string{"alice", "bob", "carol"}, nil,
		cg.Rules([]string{"CREATE", "dist/*"}, []string{"DISALLOW", "*"}))
	b.Step("package", 1, []string{"dave"},
		cg.Rules([]string{"MATCH", "*", "IN", "in", "WITH", "PRODUCTS", "IN", "dist", "FROM", "build"}, []string{"DISALLOW", "*"}),
		cg.Rules([]string{"MATCH", "in/*", "WITH", "MATERIALS", "FROM", "package"}, []string{"CREATE", "foo.tar.gz"}, []string{"DISALLOW", "*"}))
	return b
}

// Digests (sha256-sized hex).
var (
	hFoo  = strings.Repeat("f0", 32)
	hTar  = strings.Repeat("7a", 32)
	hEvil = strings.Repeat("e1", 32)
	hBad  = strings.Repeat("ba", 32)
)

var (
	buildLink   = func() *link.Link { return &link.Link{Products: cg.Artifacts("dist/foo", hFoo), Command: []string{}} }
	packageLink = func() *link.Link {
		return &link.Link{Materials: cg.Artifacts("in/foo", hFoo), Products: cg.Artifacts("in/foo", hFoo, "foo.tar.gz", hTar), Command: []string{}}
	}
)

func verify(t *testing.T, b *cg.Builder, layoutEnv *envelope.Envelope, mod func(*verifier.Options)) *verifier.Result {
	t.Helper()
	opts := verifier.Options{LayoutKeys: []*keys.Key{b.Public("owner")}, Links: b.Source()}
	if mod != nil {
		mod(&opts)
	}
	res, err := verifier.Verify(context.Background(), layoutEnv, opts)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return res
}

func wantFailure[E error](t *testing.T, res *verifier.Result, contains string) E {
	t.Helper()
	var target E
	if !errors.As(res.Err(), &target) {
		t.Fatalf("want a %T, got: %v", target, res.Err())
	}
	if !strings.Contains(target.Error(), contains) {
		t.Errorf("%T %q does not say %q", target, target.Error(), contains)
	}
	return target
}

func TestThresholdCountsDistinctKeys(t *testing.T) {
	t.Run("two functionaries pass", func(t *testing.T) {
		b := twoSteps()
		b.Link("build", "alice", buildLink())
		b.Link("build", "bob", buildLink())
		b.Link("package", "dave", packageLink())
		res := verify(t, b, b.SignedLayout("owner"), nil)
		requirePass(t, res)
		if got := res.Step("build").Signers; len(got) != 2 {
			t.Errorf("signers %v", got)
		}
	})
	t.Run("the same key twice counts once", func(t *testing.T) {
		b := twoSteps()
		b.Link("build", "alice", buildLink())
		// alice's link again, under another name: still one functionary.
		e := b.Link("build", "alice", buildLink())
		b.AddEvidence("build", "build.copy.link", e)
		b.Link("package", "dave", packageLink())
		te := wantFailure[*verifier.ThresholdError](t, verify(t, b, b.SignedLayout("owner"), nil),
			"step build: needs links from 2 distinct authorised functionaries, found 1")
		if te.Threshold != 2 || len(te.Signers) != 1 {
			t.Errorf("%+v", te)
		}
	})
	t.Run("a key listed under both keyid schemes counts once", func(t *testing.T) {
		b := twoSteps()
		s, _ := b.Layout.Step("build")
		// Carol's slot goes to alice's key without keyid_hash_algorithms.
		alice := b.Key("alice").Public()
		bare := *alice
		bare.KeyIDHashAlgorithms = nil
		b.Layout.Keys[bare.ID()] = &bare
		s.PubKeys[2] = bare.ID()
		b.Link("build", "alice", buildLink())
		b.Link("package", "dave", packageLink())
		wantFailure[*verifier.ThresholdError](t, verify(t, b, b.SignedLayout("owner"), nil), "found 1")
	})
	t.Run("unauthorised and broken links are ignored, and say why", func(t *testing.T) {
		b := twoSteps()
		b.Link("build", "alice", buildLink())
		b.Link("build", "dave", buildLink()) // dave may not sign build
		broken := b.Link("build", "bob", buildLink())
		broken.Signatures[0].Sig[0] ^= 1
		b.Link("package", "dave", packageLink())
		te := wantFailure[*verifier.ThresholdError](t, verify(t, b, b.SignedLayout("owner"), nil), "not by a functionary authorised for step build")
		if !strings.Contains(te.Error(), "signature by "+b.Key("bob").ID()[:8]+" does not verify") {
			t.Errorf("no word about bob's broken signature: %v", te)
		}
	})
	t.Run("links that disagree fail", func(t *testing.T) {
		b := twoSteps()
		b.Link("build", "alice", buildLink())
		other := buildLink()
		other.Products["dist/foo"] = link.DigestSet{"sha256": hBad}
		b.Link("build", "bob", other)
		b.Link("package", "dave", packageLink())
		wantFailure[*verifier.DisagreementError](t, verify(t, b, b.SignedLayout("owner"), nil), "products dist/foo: sha256 f0f0f0f0f0f0… in the first, babababababa… in the second")
	})
	t.Run("a link for another step is not evidence", func(t *testing.T) {
		b := twoSteps()
		b.Link("build", "alice", buildLink())
		l := buildLink()
		l.Name = "release"
		b.Link("build", "bob", l)
		b.Link("package", "dave", packageLink())
		wantFailure[*verifier.ThresholdError](t, verify(t, b, b.SignedLayout("owner"), nil), `it records step "release", not "build"`)
	})
}

func TestRuleFailureNamesStepRuleArtifactAndCause(t *testing.T) {
	b := twoSteps()
	b.Link("build", "alice", buildLink())
	b.Link("build", "bob", buildLink())
	pl := packageLink()
	pl.Materials["in/foo"] = link.DigestSet{"sha256": hEvil}
	b.Link("package", "dave", pl)
	res := verify(t, b, b.SignedLayout("owner"), nil)
	rf := wantFailure[*verifier.RuleFailure](t, res, "materials of step package: in/foo was DISALLOWed by rule 2 (DISALLOW *); nothing earlier consumed it; closest rule: MATCH * IN in WITH PRODUCTS IN dist FROM build — hashes differ: sha256 e1e1e1e1e1e1… here, f0f0f0f0f0f0… in the products of build")
	if rf.Item != "package" || rf.Artifact != "in/foo" || rf.Rule.Type != layout.Disallow || len(rf.NearMisses) != 1 {
		t.Errorf("%+v", rf)
	}
	// Every failure is collected: the product rules fail too (the
	// product in/foo is no longer the material in/foo).
	if n := len(res.Step("package").Failures); n != 2 {
		t.Errorf("package has %d failures, want 2: %v", n, res.Step("package").Failures)
	}
}

func TestLayoutSignaturesAndExpiry(t *testing.T) {
	b := twoSteps()
	b.Link("build", "alice", buildLink())
	b.Link("build", "bob", buildLink())
	b.Link("package", "dave", packageLink())
	twoOwners := func(o *verifier.Options) { o.LayoutKeys = append(o.LayoutKeys, b.Public("owner2")) }
	// Every layout key must have signed.
	requirePass(t, verify(t, b, b.SignedLayout("owner", "owner2"), twoOwners))
	se := wantFailure[*verifier.LayoutSignatureError](t, verify(t, b, b.SignedLayout("owner"), twoOwners), "no signature by this key")
	if se.KeyID != b.Key("owner2").ID() {
		t.Errorf("wrong key blamed: %+v", se)
	}
	// Expiry: the references fail when expires < now.
	b.Layout.Expires = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	env := b.SignedLayout("owner")
	requirePass(t, verify(t, b, env, func(o *verifier.Options) { o.Now = b.Layout.Expires }))
	wantFailure[*verifier.ExpiredError](t, verify(t, b, env, func(o *verifier.Options) { o.Now = b.Layout.Expires.Add(time.Second) }), "root layout expired on 2025-06-01T00:00:00Z")
}

func TestCommandMismatchIsAWarning(t *testing.T) {
	b := twoSteps()
	s, _ := b.Layout.Step("package")
	s.ExpectedCommand = []string{"tar", "czf", "foo.tar.gz", "in"}
	b.Link("build", "alice", buildLink())
	b.Link("build", "bob", buildLink())
	pl := packageLink()
	pl.Command = []string{"tar", "czf", "foo.tar.gz", "in", "extra"}
	b.Link("package", "dave", pl)
	res := verify(t, b, b.SignedLayout("owner"), nil)
	requirePass(t, res)
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0].String(), `ran "tar czf foo.tar.gz in extra", expected "tar czf foo.tar.gz in"`) {
		t.Errorf("warnings %v", res.Warnings)
	}
}

func TestParameters(t *testing.T) {
	b := cg.NewBuilder()
	b.Step("build", 1, []string{"alice"}, nil, cg.Rules([]string{"CREATE", "{NAME}-{VERSION}.tar.gz"}, []string{"DISALLOW", "*"}))
	b.Link("build", "alice", &link.Link{Products: cg.Artifacts("foo-1.2.tar.gz", "aa")})
	env := b.SignedLayout("owner")
	requirePass(t, verify(t, b, env, func(o *verifier.Options) { o.Params = map[string]string{"NAME": "foo", "VERSION": "1.2"} }))
	res := verify(t, b, env, func(o *verifier.Options) { o.Params = map[string]string{"NAME": "foo", "VERSION": "1.3"} })
	wantFailure[*verifier.RuleFailure](t, res, "foo-1.2.tar.gz was DISALLOWed")
	_, err := verifier.Verify(context.Background(), env, verifier.Options{LayoutKeys: []*keys.Key{b.Public("owner")}, Links: b.Source()})
	if err == nil || !strings.Contains(err.Error(), "NAME, VERSION") {
		t.Errorf("missing parameters: %v", err)
	}
	// A parameter no placeholder names is a warning, not a failure.
	res = verify(t, b, env, func(o *verifier.Options) {
		o.Params = map[string]string{"NAME": "foo", "VERSION": "1.2", "VERSOIN": "1.2"}
	})
	requirePass(t, res)
	if len(res.Warnings) != 1 || res.Warnings[0].Message != "parameter VERSOIN is not used by the layout (a misspelt name?)" {
		t.Errorf("warnings %v", res.Warnings)
	}
}

func TestInputErrors(t *testing.T) {
	b := twoSteps()
	env := b.SignedLayout("owner")
	ctx := context.Background()
	if _, err := verifier.Verify(ctx, env, verifier.Options{Links: b.Source()}); !errors.Is(err, verifier.ErrNoLayoutKeys) {
		t.Errorf("no keys: %v", err)
	}
	if _, err := verifier.Verify(ctx, env, verifier.Options{LayoutKeys: []*keys.Key{b.Public("owner")}}); !errors.Is(err, verifier.ErrNoLinkSource) {
		t.Errorf("no source: %v", err)
	}
	notLayout := b.Link("build", "alice", buildLink())
	if _, err := verifier.Verify(ctx, notLayout, verifier.Options{LayoutKeys: []*keys.Key{b.Public("owner")}, Links: b.Source()}); !errors.Is(err, verifier.ErrNotALayout) {
		t.Errorf("a link as layout: %v", err)
	}
	b.Step("build", 1, []string{"alice"}, nil, nil)
	var le *verifier.LayoutError
	if _, err := verifier.Verify(ctx, b.SignedLayout("owner"), verifier.Options{LayoutKeys: []*keys.Key{b.Public("owner")}, Links: b.Source()}); !errors.As(err, &le) {
		t.Errorf("duplicate step: %v", err)
	}
}

// fakeRunner records what ran and returns a canned link.
type fakeRunner struct {
	ran  []string
	link *link.Link
	exit int
}

func (f *fakeRunner) Workspace(context.Context) (verifier.InspectionWorkspace, error) { return f, nil }

func (f *fakeRunner) Close() error { return nil }

func (f *fakeRunner) Inspect(ctx context.Context, in layout.Inspection, admit func(link.Artifacts) error) (*verifier.InspectionRun, error) {
	if err := admit(f.link.Materials); err != nil {
		return nil, err
	}
	f.ran = append(f.ran, in.Name)
	return &verifier.InspectionRun{Link: f.link, ExitCode: f.exit}, nil
}

func TestInspections(t *testing.T) {
	chain := func() *cg.Builder {
		b := twoSteps()
		b.Inspection("untar", []string{"tar", "xzf", "foo.tar.gz"},
			cg.Rules([]string{"MATCH", "foo.tar.gz", "WITH", "PRODUCTS", "FROM", "package"}, []string{"DISALLOW", "foo.tar.gz"}),
			cg.Rules([]string{"MATCH", "in/*", "WITH", "MATERIALS", "FROM", "package"}, []string{"ALLOW", "foo.tar.gz"}, []string{"DISALLOW", "*"}))
		b.Link("build", "alice", buildLink())
		b.Link("build", "bob", buildLink())
		return b
	}
	untarred := &link.Link{Name: "untar", Materials: cg.Artifacts("foo.tar.gz", hTar), Products: cg.Artifacts("foo.tar.gz", hTar, "in/foo", hFoo)}

	b := chain()
	b.Link("package", "dave", packageLink())
	r := &fakeRunner{link: untarred}
	res := verify(t, b, b.SignedLayout("owner"), func(o *verifier.Options) { o.Inspections = r })
	requirePass(t, res)
	if len(r.ran) != 1 {
		t.Errorf("ran %v", r.ran)
	}

	// A non-zero exit fails.
	r = &fakeRunner{link: untarred, exit: 2}
	wantFailure[*verifier.InspectionError](t, verify(t, b, b.SignedLayout("owner"), func(o *verifier.Options) { o.Inspections = r }), "command exited with status 2")

	// Without a runner, a layout with inspections cannot pass.
	wantFailure[*verifier.InspectionError](t, verify(t, b, b.SignedLayout("owner"), nil), "no inspection runner")

	// Inspections never run on evidence that failed.
	b = chain()
	pl := packageLink()
	pl.Products["foo.tar.gz"] = link.DigestSet{"sha256": hBad}
	pl.Products[hEvil] = link.DigestSet{"sha256": hEvil}
	b.Link("package", "dave", pl)
	r = &fakeRunner{link: untarred}
	res = verify(t, b, b.SignedLayout("owner"), func(o *verifier.Options) { o.Inspections = r })
	if res.Passed() || len(r.ran) != 0 || res.Step("untar").Status != verifier.StatusSkipped {
		t.Errorf("inspection ran after a failure: ran %v, status %s", r.ran, res.Step("untar").Status)
	}
}

func TestSublayouts(t *testing.T) {
	sub := func() *cg.Builder {
		s := cg.NewBuilder()
		s.Step("compile", 1, []string{"erin"}, nil, cg.Rules([]string{"CREATE", "dist/*"}))
		s.Link("compile", "erin", buildLink())
		return s
	}
	super := func(s *cg.Builder) *cg.Builder {
		b := cg.NewBuilder()
		b.Step("build", 1, []string{"alice"}, nil, cg.Rules([]string{"ALLOW", "dist/*"}, []string{"DISALLOW", "*"}))
		b.Step("package", 1, []string{"dave"},
			cg.Rules([]string{"MATCH", "*", "IN", "in", "WITH", "PRODUCTS", "IN", "dist", "FROM", "build"}, []string{"DISALLOW", "*"}), nil)
		b.Sublayout("build", "alice", s)
		b.Link("package", "dave", packageLink())
		return b
	}
	b := super(sub())
	res := verify(t, b, b.SignedLayout("owner"), nil)
	requirePass(t, res)
	if subs := res.Step("build").Sublayouts; len(subs) != 1 || subs[0].Name != "build" {
		t.Fatalf("sublayouts %+v", subs)
	}

	// A failure inside the sublayout surfaces, typed.
	s := sub()
	s.Step("sign", 1, []string{"frank"}, nil, nil) // no link for it
	b = super(s)
	res = verify(t, b, b.SignedLayout("owner"), nil)
	wantFailure[*verifier.SublayoutError](t, res, "step build: sublayout by")
	wantFailure[*verifier.ThresholdError](t, res, "step sign")

	// A sublayout that contains itself is a loop, not a stack overflow.
	loop := cg.NewBuilder()
	loop.Step("build", 1, []string{"alice"}, nil, nil)
	env := loop.SignedLayout("alice")
	src := &verifier.MemSource{Steps: map[string][]verifier.LinkFile{"build": {{Name: "build.link", Envelope: env}}}}
	src.Sublayouts = map[string]*verifier.MemSource{"build." + loop.Key("alice").ID()[:8]: src}
	res, err := verifier.Verify(context.Background(), env, verifier.Options{LayoutKeys: []*keys.Key{loop.Public("alice")}, Links: src})
	if err != nil {
		t.Fatal(err)
	}
	wantFailure[*verifier.SublayoutError](t, res, "recursion loop")
}

func TestAttestations(t *testing.T) {
	b := twoSteps()
	b.Link("build", "alice", buildLink())
	b.Link("build", "bob", buildLink())
	b.Link("package", "dave", packageLink())
	stmt := func(digest string) []byte {
		st, err := statement.New("https://example.com/test/v1", map[string]any{"ok": true},
			statement.Subject{Name: "foo.tar.gz", Digest: link.DigestSet{"sha256": digest}})
		if err != nil {
			t.Fatal(err)
		}
		p, err := st.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	b.Format = envelope.DSSE
	good := b.Sign(stmt(hTar), "dave")
	other := b.Sign(stmt(hBad), "dave")
	stranger := b.Sign(stmt(hTar), "mallory")
	res := verify(t, b, b.SignedLayout("owner"), func(o *verifier.Options) {
		o.Attestations = []verifier.Attestation{{Source: "good", Envelope: good}}
	})
	requirePass(t, res)
	if a := res.Attestations[0]; len(a.Subjects) != 1 || a.Subjects[0] != "foo.tar.gz" || len(res.Warnings) != 1 {
		t.Errorf("attestation %+v, warnings %v", a, res.Warnings)
	}
	res = verify(t, b, b.SignedLayout("owner"), func(o *verifier.Options) {
		o.Attestations = []verifier.Attestation{{Source: "other", Envelope: other}, {Source: "stranger", Envelope: stranger}}
		o.AttestationChecks = []verifier.AttestationCheck{denyAll{}}
	})
	msg := res.Err().Error()
	for _, want := range []string{"attestation other: no subject has the digest of a final product", "attestation stranger: not signed by any key of the layout", "attestation policy: other: denied"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
}

type denyAll struct{}

func (denyAll) Handles(string) bool { return true }
func (denyAll) Check(ctx context.Context, final link.Artifacts, atts []verifier.VerifiedAttestation) []error {
	var errs []error
	for _, a := range atts {
		errs = append(errs, errors.New(a.Source+": denied"))
	}
	return errs
}
