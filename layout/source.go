package layout

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/toto-dev/toto/internal/boundedio"
	"github.com/toto-dev/toto/internal/yamlpos"
	"github.com/toto-dev/toto/keys"
)

// A layout source is the YAML form security teams write instead of layout
// JSON. Its shape (see examples/layout/layout.yaml):
//
//	expires: 90d                 # or 2027-01-01, or 2027-01-01T00:00:00Z
//	readme: text
//	parameters: [VERSION]        # optional: the {NAME} placeholders used
//	functionaries:
//	  alice: keys/alice.pub      # or {key: keys/alice.pub}
//	steps:
//	  - name: build
//	    functionaries: [alice]
//	    threshold: 1             # default 1
//	    command: go build ./...  # or a list
//	    materials: [...]         # rules: `MATCH "*" WITH PRODUCTS FROM x` or [MATCH, "*", ...]
//	    products: [...]
//	inspections:
//	  - name: untar
//	    run: [tar, xzf, app.tar.gz]
//	    materials: [...]
//	    products: [...]
//	sublayouts:                  # steps whose functionaries sign a layout
//	  - name: vendor
//	    functionaries: [carol]
//	sbom:                        # optional SBOM policy (see package sbom)
//	  denyLicenses: [GPL-3.0-only]
//	  requireSBOM: true
//
// The sbom policy compiles to the layout's "sbom" member, which only toto
// reads (see CodeTotoOnlyField).
//
// Sublayouts are compiled to steps after the ones under "steps".

// maxSourceSize bounds a layout source; real ones are a few kilobytes.
const maxSourceSize = 4 << 20

// maxSourceErrors bounds how many problems one compilation reports.
const maxSourceErrors = 50

// maxSourceNodes bounds how many YAML nodes a source may expand to, so a few
// nested aliases ("billion laughs") cannot make compilation explode.
const maxSourceNodes = 1 << 17

// SourceOptions tunes how a layout source is compiled. The zero value is
// usable.
type SourceOptions struct {
	// Now is the base for a relative expiry such as "90d"; default
	// time.Now().
	Now time.Time
	// Dir is the directory relative key paths are resolved against. LoadSource
	// sets it to the source file's directory; ParseSource defaults to ".".
	Dir string
	// ReadFile reads a key file named in the source (already joined with
	// Dir when relative). Default os.ReadFile; tests and fuzzing replace it.
	ReadFile func(path string) ([]byte, error)
	// CheckSBOMPolicy, when set, validates the "sbom" section (as JSON);
	// its error is reported at the section's line. The layout package does
	// not know the policy's shape: package sbom does (sbom.ParsePolicy).
	CheckSBOMPolicy func(policy []byte) error
}

// Source is a compiled layout source: the Layout plus where each part came
// from, so messages about the layout can point at lines of the YAML file.
type Source struct {
	// File is the source's name as used in messages.
	File string
	// Layout is the compiled, unsigned layout.
	Layout *Layout
	// Parameters are the {NAME} placeholders the source declares under
	// "parameters", in order; empty when it declares none.
	Parameters []string

	pos      map[posKey]position
	keyNames map[string]string // keyid -> functionary name
}

type position struct{ line, col int }

type posKey struct {
	section string
	index   int
	field   string
	item    int
}

// SourceError is a problem at one place in a layout source.
type SourceError struct {
	File         string
	Line, Column int
	// Path names the element in source terms, e.g. `steps[0] "build": materials[1]`.
	Path string
	Err  error
}

func (e *SourceError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	switch {
	case e.Line > 0 && e.Column > 0:
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	case e.Line > 0:
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *SourceError) Unwrap() error { return e.Err }

// LoadSource reads and compiles the layout source at path. Relative key
// paths in it are resolved against the file's directory.
func LoadSource(path string, opts SourceOptions) (*Source, error) {
	data, err := boundedio.ReadFile(path, maxSourceSize)
	if err != nil {
		return nil, err
	}
	if opts.Dir == "" {
		opts.Dir = filepath.Dir(path)
	}
	return ParseSource(path, data, opts)
}

// ParseSource compiles a YAML layout source; file names it in errors. Every
// problem found is reported (joined), each a *SourceError with the line,
// column and field at fault.
func ParseSource(file string, data []byte, opts SourceOptions) (*Source, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.Dir == "" {
		opts.Dir = "."
	}
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	p := &srcParser{
		file:   file,
		opts:   opts,
		budget: maxSourceNodes,
		src: &Source{
			File:     file,
			Layout:   &Layout{},
			pos:      map[posKey]position{},
			keyNames: map[string]string{},
		},
		keyOf: map[string]string{},
	}
	root, err := decodeSingleDocument(file, data)
	if err != nil {
		return nil, err
	}
	p.top(root)
	if n := len(p.errs); n > maxSourceErrors {
		p.errs = append(p.errs[:maxSourceErrors], &SourceError{File: file, Err: fmt.Errorf("... and %d more problems", n-maxSourceErrors)})
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return p.src, nil
}

// decodeSingleDocument parses the source's one YAML document, with syntax
// errors at the line of the problem (internal/yamlpos).
func decodeSingleDocument(file string, data []byte) (*yaml.Node, error) {
	doc, err := yamlpos.Parse(file, data)
	if err != nil {
		var pe *yamlpos.Error
		if !errors.As(err, &pe) {
			return nil, err
		}
		msg := pe.Err
		switch {
		case errors.Is(msg, yamlpos.ErrEmpty):
			msg = errors.New("empty layout source")
		case errors.Is(msg, yamlpos.ErrSecondDocument):
			msg = errors.New("more than one YAML document; a layout source is one document")
		}
		return nil, &SourceError{File: file, Line: pe.Line, Err: msg}
	}
	if len(doc.Content) == 1 {
		return doc.Content[0], nil
	}
	return doc, nil
}

// Position returns the line and column in the source of the element loc
// points at, or of its nearest enclosing element; 0, 0 if unknown.
func (s *Source) Position(loc Location) (line, col int) {
	section, index := loc.Section, loc.Index
	if section == "keys" {
		// Keys are written as functionaries; remember which by keyid.
		index = -1
		if name, ok := s.keyNames[loc.Name]; ok {
			if n, ok := s.pos[posKey{section: "functionary:" + name}]; ok {
				return n.line, n.col
			}
		}
	}
	for _, k := range []posKey{
		{section, index, loc.Field, loc.Item},
		{section, index, loc.Field, -1},
		{section, index, "", -1},
		{section, -1, "", -1},
	} {
		if k.field == "" && k.item != -1 {
			continue
		}
		if n, ok := s.pos[k]; ok {
			return n.line, n.col
		}
	}
	return 0, 0
}

// FunctionaryName returns the name the source gives the key with this keyid.
func (s *Source) FunctionaryName(keyid string) (string, bool) {
	n, ok := s.keyNames[keyid]
	return n, ok
}

type srcParser struct {
	file   string
	opts   SourceOptions
	src    *Source
	errs   []error
	budget int
	// keyOf maps functionary names to keyids.
	keyOf map[string]string
	// declared holds the parameters section, when present.
	declared map[string]bool
}

func (p *srcParser) fail(n *yaml.Node, path string, format string, args ...any) {
	e := &SourceError{File: p.file, Path: path, Err: fmt.Errorf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	p.errs = append(p.errs, e)
}

func (p *srcParser) failErr(n *yaml.Node, path string, err error) {
	e := &SourceError{File: p.file, Path: path, Err: err}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	p.errs = append(p.errs, e)
}

func (p *srcParser) mark(k posKey, n *yaml.Node) {
	if n != nil {
		p.src.pos[k] = position{n.Line, n.Column}
	}
}

// deref follows aliases and charges the node budget. Once the budget is
// spent every node reads as null, so the walk ends quickly and top reports
// the overrun.
func (p *srcParser) deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	p.budget--
	if p.budget < 0 || n == nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing (null)"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// fields checks that n is a mapping with only the allowed keys, each once,
// and returns the values by key. ok is false (and an error recorded) when n
// is not a mapping.
func (p *srcParser) fields(n *yaml.Node, path string, allowed ...string) (map[string]*yaml.Node, bool) {
	if n.Kind != yaml.MappingNode {
		p.fail(n, path, "want a mapping, got %s", kindName(n))
		return nil, false
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := p.deref(n.Content[i]), p.deref(n.Content[i+1])
		name := k.Value
		where := joinPath(path, name)
		if k.Kind != yaml.ScalarNode {
			p.fail(k, path, "field names must be plain strings")
			continue
		}
		if _, dup := out[name]; dup {
			p.fail(k, where, "field appears more than once")
			continue
		}
		if !slices.Contains(allowed, name) {
			p.fail(k, where, "unknown field (want one of: %s)", strings.Join(allowed, ", "))
			continue
		}
		out[name] = v
	}
	return out, true
}

func joinPath(path, field string) string {
	if path == "" {
		return field
	}
	return path + ": " + field
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// str reads a scalar as a string. Numbers and booleans are taken as written
// (a command may well be [sleep, 5]); null is not a string.
func (p *srcParser) str(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.fail(n, path, "want a string, got %s", kindName(n))
		return "", false
	}
	return n.Value, true
}

// seq reads a list; a null value is an empty list.
func (p *srcParser) seq(n *yaml.Node, path string) ([]*yaml.Node, bool) {
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		p.fail(n, path, "want a list, got %s", kindName(n))
		return nil, false
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	for _, c := range n.Content {
		out = append(out, p.deref(c))
	}
	return out, true
}

// words reads a command: a string split like a shell would, or a list.
func (p *srcParser) words(n *yaml.Node, path string) []string {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		w, err := splitWords(n.Value)
		if err != nil {
			p.failErr(n, path, err)
		}
		p.checkParams(n, path, w...)
		return w
	}
	items, ok := p.seq(n, path)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		if s, ok := p.str(it, fmt.Sprintf("%s[%d]", path, i)); ok {
			out = append(out, s)
		}
	}
	p.checkParams(n, path, out...)
	return out
}

func (p *srcParser) top(root *yaml.Node) {
	root = p.deref(root)
	f, ok := p.fields(root, "", "expires", "readme", "parameters", "functionaries", "steps", "inspections", "sublayouts", "sbom")
	if !ok {
		return
	}
	l := p.src.Layout
	if n, ok := f["parameters"]; ok {
		p.parameters(n)
	}
	if n, ok := f["expires"]; ok {
		p.mark(posKey{"expires", -1, "", -1}, n)
		if s, ok := p.str(n, "expires"); ok {
			t, err := parseExpiry(s, p.opts.Now)
			if err != nil {
				p.failErr(n, "expires", err)
			}
			l.Expires = t
		}
	} else {
		p.fail(root, "expires", "missing; write a duration such as 90d or a date such as 2027-01-01")
	}
	if n, ok := f["readme"]; ok && !isNull(n) {
		p.mark(posKey{"readme", -1, "", -1}, n)
		l.Readme, _ = p.str(n, "readme")
	}
	if n, ok := f["functionaries"]; ok {
		p.mark(posKey{"keys", -1, "", -1}, n)
		p.functionaries(n)
	}
	if n, ok := f["steps"]; ok {
		p.steps(n, "steps", false)
	}
	if n, ok := f["sublayouts"]; ok {
		p.steps(n, "sublayouts", true)
	}
	if n, ok := f["inspections"]; ok {
		p.inspections(n)
	}
	if n, ok := f["sbom"]; ok && !isNull(n) {
		p.sbomPolicy(n)
	}
	if p.budget < 0 {
		p.errs = []error{&SourceError{File: p.file, Err: fmt.Errorf("source expands to more than %d YAML nodes (nested aliases?)", maxSourceNodes)}}
	}
}

// sbomPolicy stores the "sbom" section as the layout's "sbom" member.
func (p *srcParser) sbomPolicy(n *yaml.Node) {
	p.mark(posKey{"sbom", -1, "", -1}, n)
	if n.Kind != yaml.MappingNode {
		p.fail(n, "sbom", "want a mapping (denyLicenses, denyComponents, requireSBOM), got %s", kindName(n))
		return
	}
	var v any
	if err := n.Decode(&v); err != nil {
		p.failErr(n, "sbom", err)
		return
	}
	raw, err := json.Marshal(v)
	if err != nil {
		p.failErr(n, "sbom", err)
		return
	}
	if p.opts.CheckSBOMPolicy != nil {
		if err := p.opts.CheckSBOMPolicy(raw); err != nil {
			p.failErr(n, "sbom", err)
			return
		}
	}
	l := p.src.Layout
	if l.Extra == nil {
		l.Extra = map[string]json.RawMessage{}
	}
	l.Extra["sbom"] = raw
}

func (p *srcParser) parameters(n *yaml.Node) {
	items, ok := p.seq(n, "parameters")
	if !ok {
		return
	}
	p.declared = map[string]bool{}
	for i, it := range items {
		path := fmt.Sprintf("parameters[%d]", i)
		s, ok := p.str(it, path)
		if !ok {
			continue
		}
		if !isParamName(s) {
			p.fail(it, path, "%q is not a parameter name (a letter or _ then letters, digits, _ or -)", s)
			continue
		}
		if p.declared[s] {
			p.fail(it, path, "parameter %s declared twice", s)
			continue
		}
		p.declared[s] = true
		p.src.Parameters = append(p.src.Parameters, s)
	}
}

// checkParams enforces, when the source declares its parameters, that every
// {NAME} placeholder used is declared: a typo in a placeholder would
// otherwise only surface at verification time.
func (p *srcParser) checkParams(n *yaml.Node, path string, ss ...string) {
	if p.declared == nil {
		return
	}
	for _, s := range ss {
		for _, name := range placeholders(s) {
			if !p.declared[name] {
				p.fail(n, path, "placeholder {%s} is not declared under parameters", name)
			}
		}
	}
}

func (p *srcParser) functionaries(n *yaml.Node) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.fail(n, "functionaries", "want a mapping of names to key files, got %s", kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, v := p.deref(n.Content[i]), p.deref(n.Content[i+1])
		name := kn.Value
		path := fmt.Sprintf("functionaries %q", name)
		if kn.Kind != yaml.ScalarNode || name == "" {
			p.fail(kn, "functionaries", "functionary names must be non-empty strings")
			continue
		}
		if seen[name] {
			p.fail(kn, path, "functionary defined more than once")
			continue
		}
		seen[name] = true
		p.mark(posKey{section: "functionary:" + name}, kn)
		keyNode := v
		if v.Kind == yaml.MappingNode {
			f, _ := p.fields(v, path, "key")
			if keyNode = f["key"]; keyNode == nil {
				p.fail(v, path, "missing field \"key\" (a public key file)")
				continue
			}
		}
		kp, ok := p.str(keyNode, joinPath(path, "key"))
		if !ok {
			continue
		}
		k, err := p.loadKey(kp)
		if err != nil {
			p.failErr(keyNode, joinPath(path, "key"), err)
			continue
		}
		id := k.ID()
		if other, dup := p.src.keyNames[id]; dup {
			p.fail(keyNode, joinPath(path, "key"), "same key as functionary %q (keyid %s)", other, id)
			continue
		}
		p.src.Layout.AddKey(k)
		p.src.keyNames[id] = name
		p.keyOf[name] = id
	}
}

func (p *srcParser) loadKey(path string) (*keys.Key, error) {
	full := path
	if !filepath.IsAbs(full) {
		full = filepath.Join(p.opts.Dir, path)
	}
	data, err := p.opts.ReadFile(full)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if len(data) > 1<<20 {
		return nil, fmt.Errorf("key file %s: larger than 1 MiB", full)
	}
	k, err := keys.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", full, err)
	}
	return k, nil
}

func itemPath(section string, i int, name string) string {
	if name == "" {
		return fmt.Sprintf("%s[%d]", section, i)
	}
	return fmt.Sprintf("%s[%d] %q", section, i, name)
}

// peekName returns the "name" of a step or inspection mapping, if it has a
// plain one, so that messages about its other fields can name it.
func peekName(n *yaml.Node) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := n.Content[i], n.Content[i+1]; k.Value == "name" && v.Kind == yaml.ScalarNode && !isNull(v) {
			return v.Value
		}
	}
	return ""
}

// name reads the required "name" field of a step or inspection.
func (p *srcParser) name(f map[string]*yaml.Node, n *yaml.Node, path string) string {
	v, ok := f["name"]
	if !ok {
		p.fail(n, path, "missing field \"name\"")
		return ""
	}
	s, _ := p.str(v, joinPath(path, "name"))
	return s
}

func (p *srcParser) steps(n *yaml.Node, section string, sublayout bool) {
	items, ok := p.seq(n, section)
	if !ok {
		return
	}
	allowed := []string{"name", "functionaries", "threshold", "command", "materials", "products"}
	if sublayout {
		// A sublayout's "link" is a layout; it runs no command.
		allowed = slices.Delete(allowed, 3, 4)
	}
	for i, it := range items {
		path := itemPath(section, i, peekName(it))
		f, ok := p.fields(it, path, allowed...)
		if !ok {
			continue
		}
		s := Step{Threshold: 1}
		s.Name = p.name(f, it, path)
		path = itemPath(section, i, s.Name)
		idx := len(p.src.Layout.Steps)
		p.mark(posKey{"steps", idx, "", -1}, it)
		p.mark(posKey{"steps", idx, "name", -1}, f["name"])
		if v, ok := f["functionaries"]; ok {
			p.mark(posKey{"steps", idx, "pubkeys", -1}, v)
			fs, _ := p.seq(v, joinPath(path, "functionaries"))
			for j, fn := range fs {
				fpath := fmt.Sprintf("%s[%d]", joinPath(path, "functionaries"), j)
				name, ok := p.str(fn, fpath)
				if !ok {
					continue
				}
				id, known := p.keyOf[name]
				if !known {
					p.fail(fn, fpath, "unknown functionary %q (define it under functionaries)", name)
					continue
				}
				p.mark(posKey{"steps", idx, "pubkeys", len(s.PubKeys)}, fn)
				s.PubKeys = append(s.PubKeys, id)
			}
		}
		if v, ok := f["threshold"]; ok {
			p.mark(posKey{"steps", idx, "threshold", -1}, v)
			if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" {
				p.fail(v, joinPath(path, "threshold"), "want an integer, got %s", kindName(v))
			} else if t, err := strconv.Atoi(v.Value); err != nil {
				p.fail(v, joinPath(path, "threshold"), "want an integer, got %s", v.Value)
			} else {
				s.Threshold = t
			}
		}
		if v, ok := f["command"]; ok {
			p.mark(posKey{"steps", idx, "expected_command", -1}, v)
			s.ExpectedCommand = p.words(v, joinPath(path, "command"))
		}
		s.ExpectedMaterials = p.rules(f["materials"], path, "materials", posKey{"steps", idx, "expected_materials", -1})
		s.ExpectedProducts = p.rules(f["products"], path, "products", posKey{"steps", idx, "expected_products", -1})
		p.src.Layout.Steps = append(p.src.Layout.Steps, s)
	}
}

func (p *srcParser) inspections(n *yaml.Node) {
	items, ok := p.seq(n, "inspections")
	if !ok {
		return
	}
	for i, it := range items {
		path := itemPath("inspections", i, peekName(it))
		f, ok := p.fields(it, path, "name", "run", "materials", "products")
		if !ok {
			continue
		}
		var in Inspection
		in.Name = p.name(f, it, path)
		path = itemPath("inspections", i, in.Name)
		p.mark(posKey{"inspect", i, "", -1}, it)
		p.mark(posKey{"inspect", i, "name", -1}, f["name"])
		if v, ok := f["run"]; ok {
			p.mark(posKey{"inspect", i, "run", -1}, v)
			in.Run = p.words(v, joinPath(path, "run"))
		}
		in.ExpectedMaterials = p.rules(f["materials"], path, "materials", posKey{"inspect", i, "expected_materials", -1})
		in.ExpectedProducts = p.rules(f["products"], path, "products", posKey{"inspect", i, "expected_products", -1})
		p.src.Layout.Inspections = append(p.src.Layout.Inspections, in)
	}
}

// rules reads a rule list; each rule is one string (split like a shell
// would) or a list of words.
func (p *srcParser) rules(n *yaml.Node, itemPath, field string, at posKey) []Rule {
	if n == nil {
		return nil
	}
	p.mark(at, n)
	path := joinPath(itemPath, field)
	items, ok := p.seq(n, path)
	if !ok {
		return nil
	}
	out := make([]Rule, 0, len(items))
	for j, it := range items {
		rpath := fmt.Sprintf("%s[%d]", path, j)
		var words []string
		switch {
		case it.Kind == yaml.ScalarNode && !isNull(it):
			w, err := splitWords(it.Value)
			if err != nil {
				p.fail(it, rpath, "rule %q: %v", it.Value, err)
				continue
			}
			words = w
		case it.Kind == yaml.SequenceNode:
			parts, _ := p.seq(it, rpath)
			good := true
			for k, part := range parts {
				s, ok := p.str(part, fmt.Sprintf("%s[%d]", rpath, k))
				good = good && ok
				words = append(words, s)
			}
			if !good {
				continue
			}
		default:
			p.fail(it, rpath, "want a rule such as `DISALLOW \"*\"` or [DISALLOW, \"*\"], got %s", kindName(it))
			continue
		}
		r, err := ParseRule(words)
		if err != nil {
			p.failErr(it, rpath, err)
			continue
		}
		p.checkParams(it, rpath, words...)
		at.item = len(out)
		p.mark(at, it)
		out = append(out, r)
	}
	return out
}

// parseExpiry reads an absolute time (RFC 3339, or a date meaning midnight
// UTC) or a duration from now: a sequence of <number><unit> with units
// y (365 days... as calendar years), w, d, h, m, s, e.g. "90d", "1y",
// "12h", "1y6w". The result is in UTC and whole seconds, as the spec's
// expiry format has no fractions.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC().Truncate(time.Second), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	t, err := addDuration(now, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a duration like 90d, 12h, 1y nor a date like 2027-01-01 or 2027-01-01T00:00:00Z", s)
	}
	return t.UTC().Truncate(time.Second), nil
}

// addDuration adds a duration such as "1y6w" to t; years and days are
// calendar units.
func addDuration(t time.Time, s string) (time.Time, error) {
	if s == "" {
		return t, errors.New("empty duration")
	}
	total := false
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) || i > 6 {
			return t, errors.New("bad duration")
		}
		n, _ := strconv.Atoi(s[:i])
		switch s[i] {
		case 'y':
			t = t.AddDate(n, 0, 0)
		case 'w':
			t = t.AddDate(0, 0, 7*n)
		case 'd':
			t = t.AddDate(0, 0, n)
		case 'h':
			t = t.Add(time.Duration(n) * time.Hour)
		case 'm':
			t = t.Add(time.Duration(n) * time.Minute)
		case 's':
			t = t.Add(time.Duration(n) * time.Second)
		default:
			return t, errors.New("bad unit")
		}
		total = total || n > 0
		s = s[i+1:]
	}
	if !total {
		return t, errors.New("zero duration")
	}
	return t, nil
}

// placeholders returns the {NAME} parameter names used in s, found by the
// scanner Substitute uses, so that "{{NAME}}" (an escaped brace) is not a
// parameter here either.
func placeholders(s string) []string {
	_, names := substitute(s, nil)
	return names
}
