package imagepolicy_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/imagepolicy"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/notation"
	"github.com/toto-dev/toto/trust"
	"github.com/toto-dev/toto/trust/repository"
)

// tufRepo is a TUF repository made with package trust/repository and
// served over HTTP on 127.0.0.1.
type tufRepo struct {
	t                         *testing.T
	repo                      *repository.Repository
	srv                       *httptest.Server
	root, targets, snap, stmp *keys.Key
}

func newTUFRepo(t *testing.T, files map[string][]byte) *tufRepo {
	t.Helper()
	gen := func() *keys.Key {
		k, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	r := &tufRepo{t: t, repo: &repository.Repository{Dir: t.TempDir()}, root: gen(), targets: gen(), snap: gen(), stmp: gen()}
	err := r.repo.Init(repository.InitOptions{
		Root:     repository.RoleKeys{Keys: []*keys.Key{r.root.Public()}},
		Targets:  repository.RoleKeys{Keys: []*keys.Key{r.targets.Public()}},
		Snapshot: r.snap.Public(), Timestamp: r.stmp.Public(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.repo.Sign(context.Background(), "root", r.root); err != nil {
		t.Fatal(err)
	}
	r.release(files, nil)
	r.srv = httptest.NewServer(http.FileServer(http.Dir(filepath.Join(r.repo.Dir, repository.PublicDir))))
	t.Cleanup(r.srv.Close)
	return r
}

// release adds (or replaces) and removes targets, signs and publishes a
// new targets version.
func (r *tufRepo) release(add map[string][]byte, remove []string) {
	r.t.Helper()
	for name, data := range add {
		if err := r.repo.AddTarget(name, data, nil); err != nil {
			r.t.Fatal(err)
		}
	}
	for _, name := range remove {
		if err := r.repo.RemoveTarget(name); err != nil {
			r.t.Fatal(err)
		}
	}
	if err := r.repo.Sign(context.Background(), "targets", r.targets); err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.repo.Publish(context.Background(), repository.PublishOptions{Snapshot: r.snap, Timestamp: r.stmp}); err != nil {
		r.t.Fatal(err)
	}
}

// pin writes root.json version 1 into dir, as a consumer pins it.
func (r *tufRepo) pin(dir string) {
	r.t.Helper()
	b, err := os.ReadFile(filepath.Join(r.repo.Dir, repository.PublicDir, "1.root.json"))
	if err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "root.json"), b, 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The release key comes from TUF: rotated to another key in a new
// targets version, or removed, the same loaded policy denies once its
// refresh period has passed (0s: at once); with a longer refresh, the
// key fetched stays in use until then.
func TestEvaluateTUFKeyRotation(t *testing.T) {
	f := newFixture(t)
	release, other := readFile(t, filepath.Join(f.dir, "release.pub")), readFile(t, filepath.Join(f.dir, "other.pub"))
	r := newTUFRepo(t, map[string][]byte{"toto/keys/release.pub": release})
	r.pin(f.dir)
	doc := func(refresh string) string {
		return `
trust:
  tuf: {root: root.json, url: "` + r.srv.URL + `", cache: ` + t.TempDir() + `, refresh: ` + refresh + `}
rules:
  - images: ["oci-layout:*"]
    require: {name: release, sigstore: {keys: ["tuf:toto/keys/release.pub"]}}`
	}
	load := func(doc string) *imagepolicy.Policy {
		file := filepath.Join(f.dir, "policy.yaml")
		if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := imagepolicy.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	eval := func(p *imagepolicy.Policy) error {
		d, err := p.Evaluate(context.Background(), f.ref, f.target)
		if err != nil {
			t.Fatal(err)
		}
		return d.Err()
	}
	now, later := load(doc("0s")), load(doc("1h"))
	for _, p := range []*imagepolicy.Policy{now, later} {
		if err := eval(p); err != nil {
			t.Fatalf("with the release key in TUF: %v", err)
		}
	}

	r.release(map[string][]byte{"toto/keys/release.pub": other}, nil)
	if err := eval(now); err == nil || !strings.Contains(err.Error(), "release violated") {
		t.Errorf("the key rotated away: %v", err)
	}
	if err := eval(later); err != nil {
		t.Errorf("within the refresh period the fetched key stays: %v", err)
	}

	r.release(nil, []string{"toto/keys/release.pub"})
	err := eval(now)
	if err == nil || !errors.Is(err, trust.ErrNoTarget) {
		t.Errorf("the key revoked: %v, want a denial wrapping trust.ErrNoTarget", err)
	}
	t.Log(err)

	// Served back: allowed again, the same policy.
	r.release(map[string][]byte{"toto/keys/release.pub": release}, nil)
	if err := eval(now); err != nil {
		t.Errorf("the key back: %v", err)
	}
}

// A target whose content is not what the signed targets metadata says is
// an error, not a denial or an allow.
func TestEvaluateTUFTargetMismatch(t *testing.T) {
	f := newFixture(t)
	r := newTUFRepo(t, map[string][]byte{"toto/keys/release.pub": readFile(t, filepath.Join(f.dir, "release.pub"))})
	r.pin(f.dir)
	matches, _ := filepath.Glob(filepath.Join(r.repo.Dir, repository.PublicDir, "targets", "toto", "keys", "*.release.pub"))
	if len(matches) == 0 {
		t.Fatal("no published target file")
	}
	for _, m := range matches {
		if err := os.WriteFile(m, readFile(t, filepath.Join(f.dir, "other.pub")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := f.evaluateErr(t, `
trust:
  tuf: {root: root.json, url: "`+r.srv.URL+`", cache: `+t.TempDir()+`}
rules:
  - images: ["oci-layout:*"]
    require: {sigstore: {keys: ["tuf:toto/keys/release.pub"]}}`)
	if !errors.Is(err, trust.ErrTargetMismatch) || !errors.Is(err, imagepolicy.ErrPolicy) {
		t.Fatalf("got %v, %v; want an error wrapping trust.ErrTargetMismatch", d, err)
	}
	t.Log(err)
}

// The layout and its owner's key of an in-toto requirement from TUF.
func TestEvaluateTUFInToto(t *testing.T) {
	c := newChain(t)
	r := newTUFRepo(t, map[string][]byte{
		"toto/root.layout":      readFile(t, filepath.Join(c.dir, "root.layout")),
		"toto/owners/alice.pub": readFile(t, filepath.Join(c.dir, "alice.pub")),
		"toto/owners/carol.pub": readFile(t, filepath.Join(c.dir, "carol.pub")),
	})
	r.pin(c.dir)
	var links []string
	for n := range c.links {
		if strings.HasPrefix(n, "build.") || strings.Contains(string(readFile(t, filepath.Join(c.dir, "root.layout"))), strings.TrimSuffix(strings.TrimPrefix(n, "test."), ".link")) {
			links = append(links, n)
		}
	}
	ref, tg := c.image(t, false, links...)
	doc := func(owner string) string {
		return `
trust:
  tuf: {root: root.json, url: "` + r.srv.URL + `", cache: ` + t.TempDir() + `, refresh: 0s}
rules:
  - images: ["oci-layout:*"]
    require: {name: chain, intoto: {layout: "tuf:toto/root.layout", ownerKeys: ["tuf:toto/owners/` + owner + `.pub"], params: {OUT: out}}}`
	}
	for owner, allowed := range map[string]bool{"alice": true, "carol": false} {
		d, err := c.policy(t, doc(owner)).Evaluate(context.Background(), ref, tg)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed() != allowed {
			t.Errorf("owner %s: allowed %v: %v", owner, d.Allowed(), d.Err())
		}
	}
}

func TestTUFRefuses(t *testing.T) {
	for _, doc := range []string{
		`trust: {tuf: {url: http://127.0.0.1:1/}}`,
		`trust: {tuf: {root: root.json}}`,
		`trust: {tuf: {root: root.json, url: http://127.0.0.1:1/, refresh: soon}}`,
		`trust: {tuf: {root: root.json, url: http://127.0.0.1:1/, mirror: x}}`,
	} {
		if _, err := imagepolicy.Parse([]byte(doc)); !errors.Is(err, imagepolicy.ErrPolicy) {
			t.Errorf("%s: %v, want ErrPolicy", doc, err)
		}
	}
	// A tuf: name in a document without a repository.
	f := newFixture(t)
	if _, err := f.evaluateErr(t, `
rules:
  - images: ["oci-layout:*"]
    require: {sigstore: {keys: ["tuf:toto/keys/release.pub"]}}`); !errors.Is(err, imagepolicy.ErrPolicy) || !strings.Contains(err.Error(), "declares no trust.tuf") {
		t.Errorf("got %v", err)
	}
}

// evaluateErr is evaluate returning Evaluate's error.
func (f *fixture) evaluateErr(t *testing.T, doc string) (*decision.Decision, error) {
	t.Helper()
	file := filepath.Join(f.dir, "policy.yaml")
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := imagepolicy.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return p.Evaluate(context.Background(), f.ref, f.target)
}

// A notation requirement's trust policy and trust store as a notation set
// of the TUF repository (targets under toto/notation/prod/); the CA
// removed from the set in a new targets version, the same policy denies.
func TestEvaluateTUFNotation(t *testing.T) {
	f := newFixture(t)
	if _, err := notation.Sign(context.Background(), f.target, f.ntn.Certs.Key, f.ntn.Certs.Chain(), notation.SignOptions{}); err != nil {
		t.Fatal(err)
	}
	ref, tg := f.ref, f.target
	var err error
	if tg, err = image.Open(context.Background(), ref, image.Options{}); err != nil {
		t.Fatal(err)
	}
	set := map[string][]byte{}
	var certs []string
	err = filepath.WalkDir(f.ntn.Dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(f.ntn.Dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "trustpolicy.json" || strings.HasPrefix(rel, "truststore/") {
			set["toto/notation/prod/"+rel] = readFile(t, p)
			if rel != "trustpolicy.json" {
				certs = append(certs, "toto/notation/prod/"+rel)
			}
		}
		return nil
	})
	if err != nil || len(certs) == 0 {
		t.Fatalf("notation fixture: %v, %d certificates", err, len(certs))
	}
	r := newTUFRepo(t, set)
	r.pin(f.dir)
	file := filepath.Join(f.dir, "policy.yaml")
	if err := os.WriteFile(file, []byte(`
trust:
  tuf: {root: root.json, url: "`+r.srv.URL+`", cache: `+t.TempDir()+`, refresh: 0s}
rules:
  - images: ["oci-layout:*"]
    require: {name: notary, notation: {trustPolicy: "tuf:prod", trustStore: "tuf:prod"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := imagepolicy.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	d, err := p.Evaluate(context.Background(), ref, tg)
	if err != nil || !d.Allowed() {
		t.Fatalf("with the set in TUF: %v, %v", err, d.Err())
	}
	r.release(nil, certs)
	d, err = p.Evaluate(context.Background(), ref, tg)
	if err != nil {
		t.Fatal(err)
	}
	if d.Allowed() || !errors.Is(d.Err(), trust.ErrNoTarget) || !strings.Contains(d.Err().Error(), "no certificates") {
		t.Fatalf("without the CA: %v", d.Err())
	}
	t.Log(d.Err())
}

// Admission evaluates one policy for many images at once: a predicate
// requirement (one prepared Rego query) beside a key fetched from TUF on
// every evaluation, from 8 goroutines (run under -race).
func TestEvaluateConcurrent(t *testing.T) {
	dir, ref, tg := attested(t)
	r := newTUFRepo(t, map[string][]byte{"toto/keys/build.pub": readFile(t, filepath.Join(dir, "build.pub"))})
	r.pin(dir)
	p, err := load(t, dir, `
trust:
  tuf: {root: root.json, url: "`+r.srv.URL+`", cache: `+t.TempDir()+`, refresh: 0s}
rules:
  - images: ["oci-layout:*"]
    require:
      all:
        - predicate: {keys: ["tuf:toto/keys/build.pub"], type: slsaprovenance1, rego: "package toto\nallow if input.predicate.runDetails.builder.id == \"https://ci.example/builder\"\n"}
        - predicate: {keys: [build.pub], type: spdxjson, regoFile: license.rego}
`, map[string]string{"license.rego": licenseRego})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			d, err := p.Evaluate(context.Background(), ref, tg)
			if err == nil && len(d.Requirements) == 2 && d.Requirements[0].Outcome == "satisfied" && d.Requirements[1].Outcome == "violated" {
				errs <- nil
				return
			}
			errs <- fmt.Errorf("%v: %+v", err, d)
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
