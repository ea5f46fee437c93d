package imagepolicy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"gopkg.in/yaml.v3"

	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/internal/yamlpos"
)

// MaxDocumentSize bounds one policy or secret file.
const MaxDocumentSize = 4 << 20

// SetOptions tune LoadSet.
type SetOptions struct {
	// SecretsDir holds the Kubernetes Secrets that Portieris policies
	// name (keySecret, signerSecrets, storeSecret): YAML or JSON files of
	// kind Secret, found by metadata.namespace (default "default") and
	// metadata.name.
	SecretsDir string
	// Remote options for registry references, passed to image.Open.
	Remote []remote.Option
}

// Set is every policy of a directory (or one file), as admission applies
// them: toto policy documents and Portieris ImagePolicy and
// ClusterImagePolicy resources. A namespace's own policies (ImagePolicy
// resources in it, toto documents with namespace: NAME) are used
// exclusively when it has any; otherwise the cluster-wide ones (toto
// documents without a namespace, ClusterImagePolicy resources). Within
// them, the most specific image pattern decides. A Set is safe for
// concurrent use.
type Set struct {
	cluster    *scope
	namespaces map[string]*scope
	secrets    secrets
	remote     []remote.Option
}

// scope is the policies of one namespace, or the cluster-wide ones.
type scope struct {
	name    string // "namespace NAME" or "cluster"
	entries []entry
	// allows names the documents whose default is allow.
	allows []string
}

// entry is one image pattern of one rule.
type entry struct {
	pattern string
	policy  *Policy
	rule    *Rule
	where   string // "policy.yaml rules[0]", "ClusterImagePolicy x (repositories[2] docker.io/*)"
	mutate  bool
}

// Result is a Set's verdict on one image.
type Result struct {
	Decision *decision.Decision `json:"decision"`
	// Image is the reference as given.
	Image string `json:"image"`
	// Digest is the manifest digest that was verified ("sha256:..."):
	// the tag is resolved once and only this digest is checked. Empty
	// when no signature had to be checked for an image named by tag.
	Digest string `json:"digest,omitempty"`
	// Pinned is the image by digest, repository@sha256:... (no tag).
	Pinned string `json:"pinned,omitempty"`
	// Mutate: the matching policy asks for the image to be rewritten to
	// Pinned (mutateImage of Portieris policies and of toto documents,
	// true unless a policy turns it off).
	Mutate bool `json:"mutate"`
	// Policy names what decided: "policy.yaml rules[0]",
	// "ClusterImagePolicy default (repositories[2] docker.io/*)".
	Policy string `json:"policy"`
}

// Err is nil when the image is allowed, else an error naming the image,
// the policy and each failed requirement.
func (r *Result) Err() error {
	if r.Decision != nil && r.Decision.Allowed() {
		return nil
	}
	var err error
	if r.Decision != nil {
		err = r.Decision.Err()
	}
	if err == nil {
		err = errors.New("no requirement allows it")
	}
	policy := r.Policy
	if policy == "" {
		policy = "no policy"
	}
	// A combined requirement's reason only counts its parts: name the
	// parts that failed.
	var parts []string
	if r.Decision != nil {
		for _, d := range r.Decision.Denials() {
			parts = append(parts, failedLeaves(d)...)
		}
	}
	if len(parts) > 0 {
		return fmt.Errorf("%s denied by %s: %w (failed: %s)", r.Image, policy, err, strings.Join(parts, "; "))
	}
	return fmt.Errorf("%s denied by %s: %w", r.Image, policy, err)
}

// failedLeaves are "name: reason" of the unsatisfied requirements under a
// combined one (none for a single check, whose reason is its own).
func failedLeaves(r decision.Requirement) []string {
	var out []string
	for _, c := range r.Children {
		if c.Outcome == decision.Satisfied {
			continue
		}
		if len(c.Children) > 0 {
			out = append(out, failedLeaves(c)...)
			continue
		}
		out = append(out, c.Name+": "+c.Reason)
	}
	return out
}

// LoadSet reads the policies of path: one file, or every *.yaml, *.yml
// and *.json file of a directory (not its subdirectories), each holding
// one or more YAML documents. Errors name the file and document.
func LoadSet(path string, opts SetOptions) (*Set, error) {
	files, err := documentFiles(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	s := &Set{cluster: &scope{name: "cluster"}, namespaces: map[string]*scope{}, remote: opts.Remote}
	if opts.SecretsDir != "" {
		if s.secrets, err = loadSecrets(opts.SecretsDir); err != nil {
			return nil, err
		}
	}
	seen := map[string]string{} // resource key -> file
	for _, f := range files {
		docs, err := readDocuments(f)
		if err != nil {
			return nil, err
		}
		for i, doc := range docs {
			where := f
			if len(docs) > 1 {
				where = fmt.Sprintf("%s (document %d)", f, i+1)
			}
			if err := s.add(doc, f, where, "", seen); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// documentFiles lists path, or a directory's policy files, sorted.
func documentFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".yaml", ".yml", ".json":
		default:
			continue
		}
		if e.Type().IsRegular() || e.Type()&os.ModeSymlink != 0 {
			out = append(out, filepath.Join(path, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// readDocuments reads the YAML documents of a file (JSON is YAML), each
// as a node; empty documents are skipped.
func readDocuments(file string) ([]*yaml.Node, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxDocumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrPolicy, file, err)
	}
	if len(data) > MaxDocumentSize {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrPolicy, file, MaxDocumentSize)
	}
	return splitDocuments(file, data)
}

// splitDocuments parses a file's documents; syntax errors say
// FILE:LINE (file "" for bytes: "line N").
func splitDocuments(file string, data []byte) ([]*yaml.Node, error) {
	docs, err := yamlpos.ParseAll(file, data)
	if err != nil {
		return nil, &placedError{err: err}
	}
	return docs, nil
}

// header is what tells documents apart.
type header struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
}

// add adds one document (or, path "items[N]", an item of a List) of file.
func (s *Set) add(doc *yaml.Node, file, where, path string, seen map[string]string) error {
	var h header
	if err := doc.Decode(&h); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrPolicy, where, err)
	}
	if h.APIVersion == "" && h.Kind == "" {
		p, err := parseNode(file, doc, path)
		if err != nil {
			return err // placed: FILE:LINE:COL
		}
		p.dir = filepath.Dir(file)
		if err := p.loadFiles(); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		label := filepath.Base(file)
		if i := strings.Index(where, " (document "); i >= 0 {
			label += where[i:]
		}
		s.addPolicy(p, label)
		return nil
	}
	if h.Kind == "List" || strings.HasSuffix(h.Kind, "List") {
		var list struct {
			Items []yaml.Node `yaml:"items"`
		}
		if err := doc.Decode(&list); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrPolicy, where, err)
		}
		for i := range list.Items {
			item := fmt.Sprintf("items[%d]", i)
			if path != "" {
				item = path + "." + item
			}
			if err := s.add(&list.Items[i], file, fmt.Sprintf("%s items[%d]", where, i), item, seen); err != nil {
				return err
			}
		}
		return nil
	}
	pd, err := parsePortieris(file, doc, path, h)
	var placed *placedError
	if errors.As(err, &placed) {
		return err // it names the file, line and column
	} else if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	key := pd.kind + " " + pd.namespace + "/" + pd.name
	if prev, ok := seen[key]; ok {
		return fmt.Errorf("%w: %s: %s %s is also defined in %s", ErrPolicy, where, pd.kind, pd.displayName(), prev)
	}
	seen[key] = where
	// Registered even without repositories: an ImagePolicy with an empty
	// list still makes its namespace's policies exclusive, denying every
	// image there (POLICIES.md).
	sc := s.scopeOf(pd.namespace, pd.kind == kindImagePolicy)
	for i := range pd.policy.Rules {
		r := &pd.policy.Rules[i]
		sc.entries = append(sc.entries, entry{
			pattern: r.Images[0],
			policy:  pd.policy,
			rule:    r,
			where:   fmt.Sprintf("%s %s (repositories[%d] %s)", pd.kind, pd.displayName(), i, r.Images[0]),
			mutate:  r.MutateImage == nil || *r.MutateImage,
		})
	}
	return nil
}

func (s *Set) addPolicy(p *Policy, name string) {
	sc := s.scopeOf(p.Namespace, p.Namespace != "")
	for i := range p.Rules {
		r := &p.Rules[i]
		mutate := p.MutateImage == nil || *p.MutateImage
		if r.MutateImage != nil {
			mutate = *r.MutateImage
		}
		for _, pat := range r.Images {
			sc.entries = append(sc.entries, entry{pattern: pat, policy: p, rule: r, where: fmt.Sprintf("%s rules[%d]", name, i), mutate: mutate})
		}
	}
	if p.Default == "allow" {
		sc.allows = append(sc.allows, name)
	}
	// A namespace document without rules still makes the namespace's
	// policies exclusive: scopeOf has registered it.
}

// scopeOf is the scope of a namespace (namespaced) or the cluster's.
func (s *Set) scopeOf(ns string, namespaced bool) *scope {
	if !namespaced {
		return s.cluster
	}
	sc, ok := s.namespaces[ns]
	if !ok {
		sc = &scope{name: "namespace " + ns}
		s.namespaces[ns] = sc
	}
	return sc
}

// Namespaces lists the namespaces that have policies of their own.
func (s *Set) Namespaces() []string {
	var out []string
	for ns := range s.namespaces {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}

// best is the entry whose pattern ranks highest for ref, or nil.
func (sc *scope) best(ref string) *entry {
	names := candidates(ref)
	var best *entry
	var bestScore score
	for i := range sc.entries {
		e := &sc.entries[i]
		if s, ok := matchAny(e.pattern, names); ok && s.beats(bestScore, best != nil) {
			best, bestScore = e, s
		}
	}
	return best
}

// Match names the policy that decides for ref in namespace, as
// Result.Policy does, without reading the image; false when none matches
// (the image is then denied unless a document's default allows it).
func (s *Set) Match(namespace, ref string) (string, bool) {
	sc := s.scopeFor(namespace)
	if e := sc.best(ref); e != nil {
		return e.where, true
	}
	return "", false
}

// scopeFor is the namespace's own policies when it has any, else the
// cluster's.
func (s *Set) scopeFor(namespace string) *scope {
	if ns, ok := s.namespaces[namespace]; ok && namespace != "" {
		return ns
	}
	return s.cluster
}

// Evaluate decides whether ref may run in namespace. The image's tag is
// resolved once, and that digest is what every requirement checks and
// what Result.Digest and Result.Pinned name. The error is for what is not
// a verdict: a policy that cannot be evaluated (a key file that does not
// load) or ctx ending; an image that fails its requirements, cannot be
// read, or matches no policy is a Result whose Decision denies it.
func (s *Set) Evaluate(ctx context.Context, namespace, ref string) (*Result, error) {
	res := &Result{Image: ref}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sc := s.scopeFor(namespace)
	e := sc.best(ref)
	if e == nil {
		d := &decision.Decision{Subject: ref}
		res.Decision = d
		if len(sc.allows) > 0 {
			res.Policy = sc.allows[0]
			d.Requirements = append(d.Requirements, decision.Check("no rule matches; "+sc.allows[0]+" allows by default", decision.Audit))
			return res, nil
		}
		res.Policy = "the " + sc.name + " policies"
		d.Requirements = append(d.Requirements, decision.Check("a matching policy", decision.Enforce,
			fmt.Errorf("%w in the %s", ErrNoMatch, sc.name)))
		return res, nil
	}
	res.Policy = e.where
	var t *image.Target
	if needsImage(&e.rule.Require) {
		var err error
		t, err = image.Open(ctx, ref, image.Options{Remote: s.remote})
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s: %w", ref, ctx.Err())
			}
			res.Decision = &decision.Decision{Subject: ref, Requirements: []decision.Requirement{
				decision.Check("resolve "+ref, decision.Enforce, err)}}
			return res, nil
		}
		res.Digest = t.Digest()
		res.Pinned = pinned(ref, t)
	} else if n, err := reference.ParseNormalizedNamed(ref); err == nil {
		if c, ok := n.(reference.Canonical); ok {
			res.Digest = c.Digest().String()
			res.Pinned = reference.TrimNamed(n).String() + "@" + res.Digest
		}
	}
	ectx := context.WithValue(ctx, evalKey{}, &evalScope{namespace: namespace, secrets: s.secrets})
	d, err := e.policy.evaluateRule(ectx, e.rule, ref, t)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.where, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	if res.Pinned != "" {
		d.Subject = res.Pinned
	}
	res.Decision = d
	res.Mutate = e.mutate && res.Pinned != ""
	return res, nil
}

// ErrNoMatch is wrapped by the reason of an image no policy matches.
var ErrNoMatch = errors.New("no policy matches the image")

// pinned names t by digest: the repository as Kubernetes writes it
// (docker.io/library/nginx@sha256:...), or t itself for an OCI layout.
func pinned(ref string, t *image.Target) string {
	if strings.HasPrefix(ref, image.LayoutPrefix) {
		return t.String()
	}
	if n, err := reference.ParseNormalizedNamed(ref); err == nil {
		return reference.TrimNamed(n).String() + "@" + t.Digest()
	}
	return t.String()
}

// needsImage reports whether evaluating r reads the image: whether any
// of its leaves checks a signature.
func needsImage(r *Requirement) bool {
	switch {
	case r.fixed != nil:
		return false
	case len(r.All) > 0 || len(r.Any) > 0 || r.AtLeast != nil:
		kids := append(append([]Requirement{}, r.All...), r.Any...)
		if r.AtLeast != nil {
			kids = append(kids, r.AtLeast.Of...)
		}
		for i := range kids {
			if needsImage(&kids[i]) {
				return true
			}
		}
		return false
	}
	return true
}

// evalKey carries an evaluation's namespace and secrets to the
// requirements that read Kubernetes secrets.
type evalKey struct{}

type evalScope struct {
	namespace string
	secrets   secrets
}

func scopeFrom(ctx context.Context) *evalScope {
	if s, ok := ctx.Value(evalKey{}).(*evalScope); ok {
		return s
	}
	return &evalScope{}
}

// fixedOutcome is a requirement decided without reading the image: err
// nil is satisfied.
type fixedOutcome struct {
	name string
	err  error
}
