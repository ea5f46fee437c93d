package imagepolicy_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/imagepolicy"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/notation"
	"github.com/toto-dev/toto/notation/notationtest"
)

// fixture is an OCI layout image signed with release (a Sigstore bundle)
// and with a notation signature, the keys as files beside the policy.
type fixture struct {
	dir, ref string
	target   *image.Target
	ntn      *notationtest.Env
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{dir: t.TempDir()}
	for _, name := range []string{"release", "other"} {
		k, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pub, err := k.MarshalPEM(false)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(f.dir, name+".pub"), pub, 0o644); err != nil {
			t.Fatal(err)
		}
		if name == "release" {
			f.ref = "oci-layout:" + notationtest.Layout(t, "app")
			tg, err := image.Open(ctx, f.ref, image.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := image.Sign(ctx, tg, k, image.SignOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.ntn = notationtest.New(t, notationtest.Options{})
	tg, err := image.Open(ctx, f.ref, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.target = tg
	return f
}

func (f *fixture) evaluate(t *testing.T, doc string) *decision.Decision {
	t.Helper()
	file := filepath.Join(f.dir, "policy.yaml")
	doc = strings.ReplaceAll(doc, "NTN", f.ntn.Dir)
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := imagepolicy.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	d, err := p.Evaluate(context.Background(), f.ref, f.target)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestEvaluate(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name, doc string
		allowed   bool
		reason    string
	}{
		{"the release key signed it", `
rules:
  - images: ["oci-layout:*"]
    require: {name: release, sigstore: {keys: [release.pub]}}`, true, ""},
		{"another key did not", `
rules:
  - images: ["oci-layout:*"]
    require: {name: release, sigstore: {keys: [other.pub]}}`, false, "release violated"},
		{"any of: the other key, or the release key", `
rules:
  - images: ["oci-layout:*"]
    require:
      any:
        - sigstore: {keys: [other.pub]}
        - sigstore: {keys: [release.pub]}`, true, ""},
		{"all of: a signature and an SBOM that was never attested", `
rules:
  - images: ["oci-layout:*"]
    require:
      all:
        - sigstore: {keys: [release.pub]}
        - {name: sbom, sigstore: {keys: [release.pub], predicateTypes: [spdxjson]}}`, false, "sbom violated"},
		{"a missing SBOM only warned about", `
rules:
  - images: ["oci-layout:*"]
    require:
      all:
        - sigstore: {keys: [release.pub]}
        - {name: sbom, action: warn, sigstore: {keys: [release.pub], predicateTypes: [spdxjson]}}`, true, ""},
		{"no rule matches: denied by default", `
rules:
  - images: ["registry.example/*"]
    require: {sigstore: {keys: [release.pub]}}`, false, "denies by default"},
		{"no rule matches, default allow", `
default: allow
rules: []`, true, ""},
		{"the most specific rule wins", `
rules:
  - images: ["*"]
    require: {name: wide, sigstore: {keys: [other.pub]}}
  - images: ["oci-layout:*"]
    require: {name: narrow, sigstore: {keys: [release.pub]}}`, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := f.evaluate(t, tc.doc)
			if tc.name == "a missing SBOM only warned about" && len(d.Warnings()) != 1 {
				t.Errorf("warnings %v, want the SBOM one", d.Warnings())
			}
			if d.Allowed() != tc.allowed {
				t.Fatalf("allowed %v, want %v: %v", d.Allowed(), tc.allowed, d.Err())
			}
			if tc.reason != "" && !strings.Contains(d.Err().Error(), tc.reason) {
				t.Errorf("reason %q lacks %q", d.Err(), tc.reason)
			}
		})
	}
}

// A notation signature under a trust policy, next to a Sigstore one: the
// policy can require either, or both.
func TestEvaluateNotation(t *testing.T) {
	f := newFixture(t)
	doc := `
rules:
  - images: ["oci-layout:*"]
    require:
      all:
        - {name: release, sigstore: {keys: [release.pub]}}
        - {name: notary, notation: {trustPolicy: NTN/trustpolicy.json, trustStore: NTN/truststore}}`
	if d := f.evaluate(t, doc); d.Allowed() || !strings.Contains(d.Err().Error(), "notary violated") {
		t.Fatalf("before the notation signature: %v", d.Err())
	}
	if _, err := notation.Sign(context.Background(), f.target, f.ntn.Certs.Key, f.ntn.Certs.Chain(), notation.SignOptions{}); err != nil {
		t.Fatal(err)
	}
	tg, err := image.Open(context.Background(), f.ref, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.target = tg
	if d := f.evaluate(t, doc); !d.Allowed() {
		t.Fatalf("with both signatures: %v", d.Err())
	}
}

func TestParseRefuses(t *testing.T) {
	for _, doc := range []string{
		`default: maybe`,
		`rules: [{images: [], require: {sigstore: {keys: [a.pub]}}}]`,
		`rules: [{images: ["x"], require: {}}]`,
		`rules: [{images: ["x"], require: {sigstore: {keys: [a.pub]}, notation: {trustPolicy: p, trustStore: s}}}]`,
		`rules: [{images: ["x"], require: {sigstore: {keys: []}}}]`,
		`rules: [{images: ["x"], require: {action: block, sigstore: {keys: [a.pub]}}}]`,
		`rules: [{images: ["x"], require: {atLeast: {n: 3, of: [{sigstore: {keys: [a.pub]}}]}}}]`,
		`rules: [{images: [""], require: {sigstore: {keys: [a.pub]}}}]`,
		`rules: [{images: ["x"], require: {sigstore: {keys: [a.pub]}}, extra: 1}]`,
	} {
		if _, err := imagepolicy.Parse([]byte(doc)); !errors.Is(err, imagepolicy.ErrPolicy) {
			t.Errorf("%s: %v, want ErrPolicy", doc, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("rules:\n  - images: [\"*\"]\n    require: {any: [{sigstore: {keys: [a.pub]}}]}\n"))
	f.Add([]byte("default: allow\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := imagepolicy.Parse(data)
		if err != nil {
			if !errors.Is(err, imagepolicy.ErrPolicy) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		_ = p.RuleFor("registry.example/app:1")
	})
}
