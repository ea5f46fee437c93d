// Package imagepolicy is toto's one image policy: which images need which
// signatures, across signing systems, as a tree of requirements combined
// with all / any / at-least-n, each with an action (enforce, warn, audit).
// It parses the policy document and evaluates it for an image into the
// shared decision.Decision, calling the verifier of each system
// (image.Verify for Sigstore bundles and cosign signatures and
// attestations, notation.Verify for Notary Project signatures). The same
// evaluation is meant for toto image verify --policy and for admission.
//
// A policy document (YAML or JSON):
//
//	default: deny            # or allow: what an image no rule matches gets
//	rules:
//	  - images: ["registry.example/app*", "oci-layout:*"]
//	    require:
//	      all:
//	        - name: release signature
//	          sigstore: {keys: [release.pub]}
//	        - name: SBOM
//	          action: warn
//	          sigstore: {keys: [build.pub], predicateTypes: [spdxjson]}
//	        - any:
//	            - notation: {trustPolicy: trustpolicy.json, trustStore: truststore}
//	            - sigstore: {keys: [backup.pub]}
//
// Paths in the document are relative to its folder. In an image pattern,
// "*" stands for any characters, "/" included, and "?" for one, as in
// Portieris's policies; a pattern also matches the image with any tag or
// digest after it. A pattern without wildcards that matches beats every
// wildcard pattern; among those, the most specific (the most characters
// that are not wildcards) applies; of equally specific ones, the first.
//
// Set is a directory of such documents and Portieris ImagePolicy and
// ClusterImagePolicy resources, evaluated per Kubernetes namespace as the
// admission webhook does (docs/policy.md).
package imagepolicy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/internal/yamlpos"
	"github.com/toto-dev/toto/notation"
)

// ErrPolicy is wrapped by every error in a policy document.
var ErrPolicy = errors.New("image policy")

// fieldError is a problem with the member at path of a policy document
// (a field path: "rules[0].require.all[1].sigstore"); parsing places it
// at that member's line and column.
type fieldError struct {
	path string
	err  error
}

func fieldErrorf(path, format string, args ...any) error {
	return &fieldError{path: path, err: fmt.Errorf(format, args...)}
}

func (e *fieldError) Error() string   { return fmt.Sprintf("%v: %s: %v", ErrPolicy, e.path, e.err) }
func (e *fieldError) Unwrap() []error { return []error{ErrPolicy, e.err} }

// placedError is an error at a place in a policy (or, kind ErrSecret,
// secret) file (FILE:LINE:COL: path: what, internal/yamlpos), which leads
// its message.
type placedError struct {
	err  error
	kind error // nil: ErrPolicy
}

func (e *placedError) Error() string { return e.err.Error() }
func (e *placedError) Unwrap() []error {
	if e.kind != nil {
		return []error{e.kind, e.err}
	}
	return []error{ErrPolicy, e.err}
}

// place puts err, when it is a fieldError, at its member in doc (the
// node at path in file).
func place(file string, doc *yaml.Node, path string, err error) error {
	var fe *fieldError
	if !errors.As(err, &fe) {
		return err
	}
	e := (&yamlpos.Doc{File: file, Root: doc}).At(fe.path, fe.err)
	if path != "" {
		e.Path = path + "." + e.Path
	}
	return &placedError{err: e}
}

// Policy is a parsed policy document.
type Policy struct {
	// Default is decision.Enforce-like: "deny" (an image no rule matches
	// is not allowed) or "allow".
	Default string `yaml:"default"`
	Rules   []Rule `yaml:"rules"`
	// Namespace limits the document to one Kubernetes namespace in a Set
	// (absent: cluster-wide). Evaluate alone ignores it.
	Namespace string `yaml:"namespace"`
	// MutateImage asks admission to rewrite a matching image to the
	// digest that was verified (each rule may say otherwise). Absent, it
	// is true, as in Portieris: an image admitted by tag could otherwise
	// be pulled as another digest than the one verified.
	MutateImage *bool `yaml:"mutateImage"`
	// Trust declares where "tuf:" trust material comes from
	// (trustsource.go).
	Trust *Trust `yaml:"trust"`
	dir   string // the document's folder, for relative paths
	// k8s is set for a Portieris document: whose secrets it reads.
	k8s *k8sSource

	// mu guards the trust material read from the document's files, read
	// once and kept: a policy is evaluated for many images.
	mu            sync.Mutex
	trustPolicies map[[2]string]notation.VerifyOptions
	trust         trustFiles
}

// Rule says what the images matching one of its patterns require.
type Rule struct {
	Images  []string    `yaml:"images"`
	Require Requirement `yaml:"require"`
	// MutateImage overrides the document's mutateImage for this rule.
	MutateImage *bool `yaml:"mutateImage"`
}

// Requirement is one node of the requirement tree: a combinator (All, Any
// or AtLeast) or one system's check (Sigstore, Notation).
type Requirement struct {
	Name string `yaml:"name"`
	// Action is enforce (default), warn or audit.
	Action decision.Action `yaml:"action"`

	All     []Requirement `yaml:"all"`
	Any     []Requirement `yaml:"any"`
	AtLeast *AtLeast      `yaml:"atLeast"`

	Sigstore      *Sigstore      `yaml:"sigstore"`
	Notation      *Notation      `yaml:"notation"`
	InToto        *InToto        `yaml:"intoto"`
	Predicate     *Predicate     `yaml:"predicate"`
	SimpleSigning *SimpleSigning `yaml:"simpleSigning"`
	DCT           *DCT           `yaml:"dct"`

	// fixed is a requirement whose outcome needs no signature (a
	// Portieris policy without checks, reject, an unsupported check).
	fixed *fixedOutcome
}

// AtLeast is satisfied when N of Of are.
type AtLeast struct {
	N  int           `yaml:"n"`
	Of []Requirement `yaml:"of"`
}

// Sigstore requires a signature (or, with PredicateTypes, attestations
// of those types) by one of Keys: Sigstore bundles as referrers, cosign v2
// .sig/.att tags (image.Verify).
type Sigstore struct {
	Keys           []string `yaml:"keys"`
	PredicateTypes []string `yaml:"predicateTypes"`
	// Keyless are the keyless, log and timestamp options (keyless.go).
	Keyless `yaml:",inline"`
}

// Notation requires a Notary Project signature valid under a trust policy
// and trust store (notation.Verify).
type Notation struct {
	TrustPolicy string `yaml:"trustPolicy"`
	TrustStore  string `yaml:"trustStore"`
}

// Load reads and checks a policy document.
func Load(file string) (*Policy, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	p, err := parse(file, data)
	if err != nil {
		return nil, err
	}
	p.dir = filepath.Dir(file)
	if err := p.loadFiles(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return p, nil
}

// Parse reads a policy document strictly: unknown members are errors, as
// are rules without images or requirements, and requirements that are
// none or several of the kinds. Errors say where: "line 4:14:
// rules[0].require.sigstore: ..." (Load's name the file).
func Parse(data []byte) (*Policy, error) { return parse("", data) }

func parse(file string, data []byte) (*Policy, error) {
	var p Policy
	doc, err := yamlpos.Decode(file, data, &p)
	if err != nil {
		return nil, &placedError{err: err}
	}
	if err := p.check(); err != nil {
		return nil, place(file, doc.Root, "", err)
	}
	return &p, nil
}

// parseNode is parse for one document of a file with several (path: the
// node's field path in it, "" for a whole document).
func parseNode(file string, n *yaml.Node, path string) (*Policy, error) {
	var p Policy
	if err := yamlpos.DecodeNode(file, n, path, &p); err != nil {
		return nil, &placedError{err: err}
	}
	if err := p.check(); err != nil {
		return nil, place(file, n, path, err)
	}
	return &p, nil
}

// check checks a decoded document and fills in its defaults.
func (p *Policy) check() error {
	switch p.Default {
	case "":
		p.Default = "deny"
	case "deny", "allow":
	default:
		return fieldErrorf("default", "%q: want deny or allow", p.Default)
	}
	if err := p.Trust.check(); err != nil {
		return err
	}
	for i, r := range p.Rules {
		if len(r.Images) == 0 {
			return fieldErrorf(fmt.Sprintf("rules[%d]", i), "no images")
		}
		for j, pat := range r.Images {
			if pat == "" {
				return fieldErrorf(fmt.Sprintf("rules[%d].images[%d]", i, j), "empty image pattern")
			}
		}
		if err := check(&p.Rules[i].Require, fmt.Sprintf("rules[%d].require", i)); err != nil {
			return err
		}
	}
	return nil
}

func check(r *Requirement, at string) error {
	kinds := 0
	for _, set := range []bool{len(r.All) > 0, len(r.Any) > 0, r.AtLeast != nil, r.Sigstore != nil, r.Notation != nil, r.InToto != nil, r.Predicate != nil, r.SimpleSigning != nil, r.DCT != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return fieldErrorf(at, "want exactly one of all, any, atLeast, sigstore, notation, intoto, predicate, simpleSigning, dct")
	}
	switch r.Action {
	case "":
		r.Action = decision.Enforce
	case decision.Enforce, decision.Warn, decision.Audit:
	default:
		return fieldErrorf(at+".action", "%q: want enforce, warn or audit", r.Action)
	}
	// Each child by its field path, so that its errors can be placed.
	children, childAt := r.All, at+".all"
	if len(r.Any) > 0 {
		children, childAt = r.Any, at+".any"
	}
	if r.AtLeast != nil {
		if r.AtLeast.N < 1 || r.AtLeast.N > len(r.AtLeast.Of) {
			return fieldErrorf(at+".atLeast.n", "n %d of %d requirements", r.AtLeast.N, len(r.AtLeast.Of))
		}
		children, childAt = r.AtLeast.Of, at+".atLeast.of"
	}
	for i := range children {
		if err := check(&children[i], fmt.Sprintf("%s[%d]", childAt, i)); err != nil {
			return err
		}
	}
	switch {
	case r.Sigstore != nil:
		return r.Sigstore.Keyless.check(at+".sigstore", len(r.Sigstore.Keys))
	case r.Notation != nil && (r.Notation.TrustPolicy == "" || r.Notation.TrustStore == ""):
		return fieldErrorf(at+".notation", "trustPolicy and trustStore are required")
	case r.InToto != nil:
		return r.InToto.check(at)
	case r.SimpleSigning != nil:
		return r.SimpleSigning.check(at + ".simpleSigning")
	case r.DCT != nil:
		return r.DCT.check(at + ".dct")
	case r.Predicate != nil:
		return r.Predicate.check(at)
	}
	return nil
}

// RuleFor is the rule for an image reference (as the user wrote it, e.g.
// "registry.example/app:1.4" or "oci-layout:./out"), or nil.
func (p *Policy) RuleFor(ref string) *Rule {
	var best *Rule
	var bestScore score
	names := candidates(ref)
	for i, r := range p.Rules {
		for _, pat := range r.Images {
			if s, ok := matchAny(pat, names); ok && s.beats(bestScore, best != nil) {
				best, bestScore = &p.Rules[i], s
			}
		}
	}
	return best
}

// Evaluate decides whether the image opened as t (named ref) is allowed.
// The error is for a policy that cannot be evaluated (a key file that
// does not load); a denied image is a Decision that is not Allowed.
func (p *Policy) Evaluate(ctx context.Context, ref string, t *image.Target) (*decision.Decision, error) {
	r := p.RuleFor(ref)
	if r == nil {
		d := &decision.Decision{Subject: t.String()}
		if p.Default == "allow" {
			d.Requirements = append(d.Requirements, decision.Check("no rule matches; the policy allows by default", decision.Audit))
		} else {
			d.Requirements = append(d.Requirements, decision.Check("a rule for "+ref, decision.Enforce, fmt.Errorf("no rule of the policy matches %s, and it denies by default", ref)))
		}
		return d, nil
	}
	return p.evaluateRule(ctx, r, ref, t)
}

// evaluateRule evaluates one rule for the image opened as t.
func (p *Policy) evaluateRule(ctx context.Context, r *Rule, ref string, t *image.Target) (*decision.Decision, error) {
	subject := ref
	if t != nil {
		subject = t.String()
	}
	d := &decision.Decision{Subject: subject}
	// A rule's top-level "all" lists the decision's requirements one by
	// one, so that each keeps its own action: a warn-only SBOM check next
	// to an enforced signature warns without blocking.
	top := []Requirement{r.Require}
	if len(r.Require.All) > 0 && r.Require.Name == "" && r.Require.Action == decision.Enforce {
		top = r.Require.All
	}
	for i := range top {
		req, err := p.evaluate(ctx, t, &top[i])
		if err != nil {
			return nil, err
		}
		d.Requirements = append(d.Requirements, req)
	}
	return d, nil
}

func (p *Policy) evaluate(ctx context.Context, t *image.Target, r *Requirement) (decision.Requirement, error) {
	children := func(rs []Requirement) ([]decision.Requirement, error) {
		out := make([]decision.Requirement, len(rs))
		for i := range rs {
			c, err := p.evaluate(ctx, t, &rs[i])
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	name := r.Name
	switch {
	case len(r.All) > 0:
		cs, err := children(r.All)
		return decision.All(or(name, "all of"), r.Action, cs...), err
	case len(r.Any) > 0:
		cs, err := children(r.Any)
		return decision.Any(or(name, "any of"), r.Action, cs...), err
	case r.AtLeast != nil:
		cs, err := children(r.AtLeast.Of)
		return decision.AtLeast(r.AtLeast.N, or(name, fmt.Sprintf("at least %d of", r.AtLeast.N)), r.Action, cs...), err
	case r.fixed != nil:
		return decision.Check(or(name, r.fixed.name), r.Action, r.fixed.err), nil
	case r.Sigstore != nil:
		return p.sigstore(ctx, t, or(name, "sigstore signature"), r.Action, r.Sigstore)
	case r.InToto != nil:
		return p.intoto(ctx, t, or(name, "in-toto layout "+r.InToto.Layout), r.Action, r.InToto)
	case r.SimpleSigning != nil:
		return p.simpleSigning(ctx, t, or(name, "simple signing signature"), r.Action, r.SimpleSigning)
	case r.DCT != nil:
		return p.dct(ctx, t, or(name, "Docker Content Trust signature"), r.Action, r.DCT)
	case r.Predicate != nil:
		return p.predicate(ctx, t, or(name, "attestation "+r.Predicate.Type), r.Action, r.Predicate)
	default:
		return p.notation(ctx, t, or(name, "notation signature"), r.Action, r.Notation)
	}
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func (p *Policy) file(name string) string {
	if filepath.IsAbs(name) || p.dir == "" {
		return name
	}
	return filepath.Join(p.dir, name)
}

func (p *Policy) sigstore(ctx context.Context, t *image.Target, name string, action decision.Action, s *Sigstore) (decision.Requirement, error) {
	opts, err := p.verifyOptions(ctx, s.Keys, s.Keyless)
	if err != nil {
		return materialErr(name, action, err)
	}
	for _, pt := range s.PredicateTypes {
		u, _ := image.PredicateType(pt)
		opts.PredicateTypes = append(opts.PredicateTypes, u)
	}
	rep, err := image.Verify(ctx, t, opts)
	if rep == nil {
		return decision.Requirement{}, err
	}
	if rep.OK() {
		return decision.Check(name, action), nil
	}
	if err == nil {
		err = errors.New("no signature by a trusted key verified")
	}
	return decision.Check(name, action, err), nil
}

func (p *Policy) notation(ctx context.Context, t *image.Target, name string, action decision.Action, n *Notation) (decision.Requirement, error) {
	var opts notation.VerifyOptions
	var err error
	if n.fromTUF() {
		opts, err = p.notationTUF(ctx, n)
	} else {
		opts, err = p.loadNotation(n)
	}
	if err != nil {
		return materialErr(name, action, err)
	}
	r, err := notation.Verify(ctx, t, opts)
	if err != nil {
		// No applicable statement and the like: the image is not
		// verified under this requirement.
		return decision.Check(name, action, err), nil
	}
	return decision.Check(name, action, r.Err()), nil
}

// globMatch matches s against pattern, where "*" is any run of characters
// (slashes too) and "?" any one character.
func globMatch(pattern, s string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for len(pattern) > 0 && pattern[0] == '*' {
				pattern = pattern[1:]
			}
			if pattern == "" {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if globMatch(pattern, s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
			_, n := utf8.DecodeRuneInString(s)
			pattern, s = pattern[1:], s[n:]
		default:
			if s == "" || s[0] != pattern[0] {
				return false
			}
			pattern, s = pattern[1:], s[1:]
		}
	}
	return s == ""
}

// loadNotation returns a notation requirement's trust policy and store,
// each pair read once per policy.
func (p *Policy) loadNotation(n *Notation) (notation.VerifyOptions, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := [2]string{n.TrustPolicy, n.TrustStore}
	if o, ok := p.trustPolicies[key]; ok {
		return o, nil
	}
	tp, err := notation.LoadPolicy(p.file(n.TrustPolicy))
	if err != nil {
		return notation.VerifyOptions{}, err
	}
	ts, err := notation.OpenTrustStore(p.file(n.TrustStore))
	if err != nil {
		return notation.VerifyOptions{}, err
	}
	o := notation.VerifyOptions{Policy: tp, TrustStore: ts}
	if p.trustPolicies == nil {
		p.trustPolicies = map[[2]string]notation.VerifyOptions{}
	}
	p.trustPolicies[key] = o
	return o, nil
}
