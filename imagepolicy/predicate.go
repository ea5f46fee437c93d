package imagepolicy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/internal/boundedio"
	"github.com/toto-dev/toto/sbom"
	"github.com/toto-dev/toto/statement"
)

// Predicate requires verified attestations of one predicate type about
// the image whose content passes a policy: an SBOM policy (package sbom,
// as `toto image verify --sbom-policy`) and/or a Rego module. The
// attestations are found and verified by image.Verify with Keys and the
// Keyless options, as the sigstore kind's; every verified attestation of
// Type must pass (as cosign verify-attestation --policy), and at least one
// must exist.
//
// The Rego module (Rego, inline, or RegoFile) is package toto. Its input
// is {predicateType, predicate, subject, image: {reference, digest}} for
// one attestation; data.toto.allow must be true, and data.toto.deny, a set
// of strings, if defined, must be empty: its strings are the reasons given
// (a deny of any other shape that is not empty or false denies as well).
// It runs without network or environment builtins (http.send,
// net.lookup_ip_addr, opa.runtime, and the JSON schema builtins, whose
// schemas may reference remote documents), and within RegoTimeout.
type Predicate struct {
	Keys    []string `yaml:"keys"`
	Keyless `yaml:",inline"`
	// Type is a predicate type URI or one of cosign's --type names
	// (spdxjson, cyclonedx, slsaprovenance1, ...).
	Type       string `yaml:"type"`
	SBOMPolicy string `yaml:"sbomPolicy"`
	Rego       string `yaml:"rego"`
	RegoFile   string `yaml:"regoFile"`
	// RegoTimeout bounds one evaluation ("500ms", "2s"); default 1s.
	RegoTimeout string `yaml:"regoTimeout"`

	at      string // where in the document, for the inline module's name
	timeout time.Duration

	mu     sync.Mutex
	loaded bool
	sbom   *sbom.Policy
	query  *rego.PreparedEvalQuery
}

// DefaultRegoTimeout bounds one Rego evaluation when the requirement does
// not say.
const DefaultRegoTimeout = time.Second

// maxRegoModule bounds a Rego module file.
const maxRegoModule = 1 << 20

// regoQuery is the query: the whole package, so that allow and deny are
// read in one evaluation and either may be undefined.
const regoQuery = "data.toto"

// ErrRegoDenied is wrapped by the violation of an attestation the Rego
// module did not allow.
var ErrRegoDenied = errors.New("rego policy denied the attestation")

// deniedBuiltins are the builtins a policy module may not call: they reach
// the network or the environment of the process evaluating it.
var deniedBuiltins = []string{"http.send", "net.lookup_ip_addr", "opa.runtime", "json.verify_schema", "json.match_schema"}

func (r *Predicate) check(at string) error {
	r.at = at + ".predicate"
	if r.Type == "" {
		return fieldErrorf(r.at, "no type")
	}
	if r.Rego != "" && r.RegoFile != "" {
		return fieldErrorf(r.at, "give rego or regoFile, not both")
	}
	if r.SBOMPolicy == "" && r.Rego == "" && r.RegoFile == "" {
		return fieldErrorf(r.at, "no sbomPolicy, rego or regoFile (to require only that an attestation exists, use sigstore's predicateTypes)")
	}
	r.timeout = DefaultRegoTimeout
	if r.RegoTimeout != "" {
		d, err := time.ParseDuration(r.RegoTimeout)
		if err != nil || d <= 0 {
			return fieldErrorf(r.at+".regoTimeout", "%q: want a positive duration such as 500ms", r.RegoTimeout)
		}
		r.timeout = d
	}
	if err := r.Keyless.check(r.at, len(r.Keys)); err != nil {
		return err
	}
	// An inline module is compiled now, so that a document with bad
	// Rego does not parse; files are read by load, which Load calls.
	if r.Rego != "" {
		q, err := compileRego(r.at+".rego", r.Rego)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrPolicy, err)
		}
		r.query = q
	}
	return nil
}

// load reads and compiles the requirement's files (SBOM policy, Rego
// module file) once.
func (r *Predicate) load(p *Policy) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.loaded {
		return nil
	}
	if r.SBOMPolicy != "" {
		sp, err := sbom.LoadPolicy(p.file(r.SBOMPolicy))
		if err != nil {
			return fmt.Errorf("%w: %s.sbomPolicy: %v", ErrPolicy, r.at, err)
		}
		r.sbom = &sp
	}
	if r.RegoFile != "" {
		name := p.file(r.RegoFile)
		b, err := boundedio.ReadFile(name, maxRegoModule)
		if err != nil {
			return fmt.Errorf("%w: %s.regoFile: %v", ErrPolicy, r.at, err)
		}
		q, err := compileRego(name, string(b))
		if err != nil {
			return fmt.Errorf("%w: %v", ErrPolicy, err)
		}
		r.query = q
	}
	r.loaded = true
	return nil
}

// loadFiles reads the files of every predicate requirement, so that Load
// reports a bad SBOM policy or Rego file at once.
func (p *Policy) loadFiles() error {
	var walk func(rs []Requirement) error
	walk = func(rs []Requirement) error {
		for i := range rs {
			r := &rs[i]
			if r.Predicate != nil {
				if err := r.Predicate.load(p); err != nil {
					return err
				}
			}
			kids := append(append([]Requirement(nil), r.All...), r.Any...)
			if r.AtLeast != nil {
				kids = append(kids, r.AtLeast.Of...)
			}
			if err := walk(kids); err != nil {
				return err
			}
		}
		return nil
	}
	for i := range p.Rules {
		if err := walk([]Requirement{p.Rules[i].Require}); err != nil {
			return err
		}
	}
	return nil
}

// compileRego compiles a module of package toto for the query, with the
// builtins that reach outside the process removed.
func compileRego(name, src string) (*rego.PreparedEvalQuery, error) {
	mod, err := ast.ParseModuleWithOpts(name, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return nil, regoErr(err)
	}
	if got := mod.Package.Path.String(); got != "data.toto" {
		return nil, fmt.Errorf("%s: package %s: the module must be package toto (the query is %s)", name, strings.TrimPrefix(got, "data."), regoQuery)
	}
	caps := ast.CapabilitiesForThisVersion()
	caps.Builtins = slices.DeleteFunc(caps.Builtins, func(b *ast.Builtin) bool { return slices.Contains(deniedBuiltins, b.Name) })
	caps.AllowNet = []string{} // and should one remain, no host
	q, err := rego.New(
		rego.Query(regoQuery),
		rego.ParsedModule(mod),
		rego.Capabilities(caps),
		rego.StrictBuiltinErrors(true),
	).PrepareForEval(context.Background())
	if err != nil {
		return nil, regoErr(err)
	}
	return &q, nil
}

// regoErr keeps OPA's compile errors (FILE:LINE: kind: message) without
// the wrapping of its bundle machinery, which a policy author never sees.
func regoErr(err error) error {
	var errs ast.Errors
	if !errors.As(err, &errs) || len(errs) == 0 {
		return err
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "; "))
}

// regoInput is what a module sees of one attestation.
type regoInput struct {
	PredicateType string              `json:"predicateType"`
	Predicate     json.RawMessage     `json:"predicate"`
	Subject       []statement.Subject `json:"subject"`
	Image         struct {
		Reference string `json:"reference"`
		Digest    string `json:"digest"`
	} `json:"image"`
}

// evalRego decides one statement: nil when allowed, an error wrapping
// ErrRegoDenied with the module's reasons when not, another error when the
// evaluation failed (deadline, a builtin error): no decision is a denial.
func (r *Predicate) evalRego(ctx context.Context, t *image.Target, st *statement.Statement) error {
	in := regoInput{PredicateType: st.PredicateType, Predicate: st.Predicate, Subject: st.Subject}
	in.Image.Reference, in.Image.Digest = t.Reference, t.Digest()
	raw, err := json.Marshal(in)
	if err != nil {
		return err
	}
	input, err := ast.ValueFromReader(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("rego input: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	rs, err := r.query.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("rego policy: evaluation stopped after %s: %w", r.timeout, ctx.Err())
		}
		return fmt.Errorf("rego policy: %w", err)
	}
	var allow bool
	var deny []string
	if len(rs) == 1 && len(rs[0].Expressions) == 1 {
		pkg, _ := rs[0].Expressions[0].Value.(map[string]any)
		allow, _ = pkg["allow"].(bool)
		deny = denyReasons(pkg["deny"])
	}
	sort.Strings(deny)
	switch {
	case len(deny) > 0:
		return fmt.Errorf("%w: %s", ErrRegoDenied, strings.Join(deny, "; "))
	case !allow:
		return fmt.Errorf("%w: data.toto.allow is not true", ErrRegoDenied)
	}
	return nil
}

// denyReasons reads data.toto.deny whatever its shape: a set or array of
// reasons, an object (deny[msg] := true: its keys, unless false), a
// string, or true. Any other value that is not false or empty denies too:
// a deny the module defined is never ignored for its shape.
func denyReasons(v any) []string {
	switch d := v.(type) {
	case nil:
		return nil
	case bool:
		if d {
			return []string{"true"}
		}
		return nil
	case string:
		return []string{d}
	case []any:
		out := make([]string, 0, len(d))
		for _, e := range d {
			if s, ok := e.(string); ok {
				out = append(out, s)
			} else {
				out = append(out, fmt.Sprint(e))
			}
		}
		return out
	case map[string]any:
		var out []string
		for k, e := range d {
			switch e {
			case false:
			case true:
				out = append(out, k)
			default:
				out = append(out, fmt.Sprintf("%s: %v", k, e))
			}
		}
		return out
	}
	return []string{fmt.Sprint(v)}
}

func (p *Policy) predicate(ctx context.Context, t *image.Target, name string, action decision.Action, r *Predicate) (decision.Requirement, error) {
	if err := r.load(p); err != nil {
		return decision.Requirement{}, err
	}
	opts, err := p.verifyOptions(ctx, r.Keys, r.Keyless)
	if err != nil {
		return materialErr(name, action, err)
	}
	uri, _ := image.PredicateType(r.Type)
	opts.SBOMPolicy = r.sbom
	rep, err := image.Verify(ctx, t, opts)
	if rep == nil || ctx.Err() != nil {
		return decision.Requirement{}, err
	}
	var errs []error
	found := 0
	for i := range rep.Findings {
		f := &rep.Findings[i]
		st := f.Statement()
		if st == nil || st.PredicateType != uri {
			continue
		}
		found++
		if r.query == nil {
			continue
		}
		if err := r.evalRego(ctx, t, st); err != nil {
			if ctx.Err() != nil {
				return decision.Requirement{}, ctx.Err()
			}
			errs = append(errs, fmt.Errorf("attestation %s: %w", f.Referrer, err))
		}
	}
	if found == 0 {
		err := fmt.Errorf("%w: %s", image.ErrMissingPredicateType, uri)
		if rep.Failures > 0 {
			err = fmt.Errorf("%w (%d attached entries did not verify)", err, rep.Failures)
		}
		return decision.Check(name, action, err), nil
	}
	if rep.SBOM != nil && !rep.SBOM.OK() {
		errs = append(errs, rep.SBOM.Err())
	}
	return decision.Check(name, action, errs...), nil
}
