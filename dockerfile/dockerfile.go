// Package dockerfile finds the base images of a Dockerfile: every FROM,
// multi-stage included, with its --platform flag and the ARG values before
// the first FROM substituted, resolved to a manifest digest and checked
// against an image policy (package imagepolicy); and it writes the
// Dockerfile back with each base image pinned by digest.
//
// Parsing is BuildKit's own (github.com/moby/buildkit/frontend/dockerfile
// parser and shell lexer): line continuations, the escape and syntax
// directives, comments, heredocs and quoting are what docker build sees.
// The meaning of FROM follows BuildKit's dockerfile2llb: ARGs before the
// first FROM are the only variables a FROM sees, a --build-arg overrides a
// declared ARG's default, defaults are expanded with the ARGs before them,
// the automatic platform ARGs (BUILDPLATFORM, TARGETPLATFORM, TARGETOS,
// TARGETARCH, TARGETVARIANT, ...) are set, "scratch" is no image, and a
// FROM naming an earlier stage (AS name, compared as BuildKit does: the
// expanded name against the lowercased stage names) is no image either.
package dockerfile

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// ErrSyntax is wrapped by every *Error: the Dockerfile is not one docker
// build would accept, or a FROM cannot be resolved from it.
var ErrSyntax = errors.New("dockerfile")

// Error is a problem in a Dockerfile, at a line (0 when it concerns the
// whole file).
type Error struct {
	File string
	Line int
	Err  error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *Error) Unwrap() []error { return []error{ErrSyntax, e.Err} }

// Kind says what a FROM builds on.
type Kind string

const (
	// KindImage: a registry image, to be resolved and verified.
	KindImage Kind = "image"
	// KindStage: an earlier build stage of the same Dockerfile.
	KindStage Kind = "stage"
	// KindScratch: FROM scratch, the empty image.
	KindScratch Kind = "scratch"
)

// From is one FROM instruction.
type From struct {
	// Line and EndLine are the instruction's first and last lines
	// (1-based; they differ when it is continued over lines).
	Line, EndLine int
	// Original is the base name as written, before substitution
	// ("${BASE}", "alpine:3.20").
	Original string
	// Image is the base name after substitution.
	Image string
	// Platform is the --platform flag after substitution, "" if none.
	Platform string
	// Stage is the name this FROM gives its stage (AS name), lowercased.
	Stage string
	Kind  Kind

	flags []string // as written, for a rewritten line
}

// Options tune Parse.
type Options struct {
	// BuildArgs are --build-arg values; they override the defaults of the
	// ARGs declared before the first FROM (and of the automatic platform
	// ARGs).
	BuildArgs map[string]string
	// Platform is the target platform (TARGETPLATFORM), os/arch[/variant];
	// the default is linux and the machine's architecture, as docker build
	// on Linux uses.
	Platform string
}

// File is a parsed Dockerfile.
type File struct {
	Name  string
	Froms []From
	// Args are the values the FROMs were expanded with (declared ARGs
	// before the first FROM and the automatic platform ARGs).
	Args map[string]string

	data   []byte
	escape rune
}

// MaxSize bounds the Dockerfiles Parse accepts.
const MaxSize = 4 << 20

var validStageName = regexp.MustCompile(`^[a-z][a-z0-9-_.]*$`)

// Parse reads a Dockerfile and resolves its FROM instructions (without
// any network access: images are only named here). name is used in
// errors.
func Parse(name string, data []byte, opts Options) (*File, error) {
	fail := func(line int, format string, a ...any) error {
		return &Error{File: name, Line: line, Err: fmt.Errorf(format, a...)}
	}
	if len(data) > MaxSize {
		return nil, fail(0, "larger than %d bytes", MaxSize)
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		line := 0
		var le *parser.LocationError
		if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
			line = le.Locations[0][0].Start.Line
		}
		return nil, &Error{File: name, Line: line, Err: unwrapLocation(err)}
	}
	args, err := platformArgs(opts)
	if err != nil {
		return nil, fail(0, "%v", err)
	}
	vs := &vars{m: map[string]string{}, long: map[string]bool{}}
	for k, v := range args {
		vs.set(k, v)
	}
	lex := shell.NewLex(res.EscapeToken)
	f := &File{Name: name, data: data, escape: res.EscapeToken}
	stages := map[string]bool{}
	for _, n := range res.AST.Children {
		switch strings.ToLower(n.Value) {
		case "arg":
			if len(f.Froms) > 0 {
				continue // a stage's ARG: FROM lines never see it
			}
			if n.Next == nil {
				return nil, fail(n.StartLine, "ARG requires at least one argument")
			}
			for w := n.Next; w != nil; w = w.Next {
				key, def, hasDef := strings.Cut(w.Value, "=")
				if key == "" {
					return nil, fail(n.StartLine, "ARG names no variable: %q", w.Value)
				}
				if v, ok := opts.BuildArgs[key]; ok {
					vs.set(key, v)
					continue
				}
				if !hasDef {
					continue
				}
				v, err := vs.expand(lex, def)
				var tl *tooLongError
				switch {
				case errors.As(err, &tl):
					// Only an error if a FROM uses it: a long global ARG
					// may be meant for RUN lines.
					vs.long[key] = true
					delete(vs.m, key)
				case err != nil:
					return nil, fail(n.StartLine, "ARG %s: %v", key, err)
				default:
					vs.set(key, v)
				}
			}
		case "from":
			fr, err := parseFrom(n, lex, vs, stages)
			if err != nil {
				return nil, fail(n.StartLine, "%v", err)
			}
			if fr.Stage != "" {
				stages[fr.Stage] = true
			}
			f.Froms = append(f.Froms, fr)
		default:
			if len(f.Froms) == 0 {
				return nil, fail(n.StartLine, "%s before the first FROM (only ARG may come first)", strings.ToUpper(n.Value))
			}
		}
	}
	if len(f.Froms) == 0 {
		return nil, fail(0, "no FROM instruction")
	}
	f.Args = vs.m
	return f, nil
}

func parseFrom(n *parser.Node, lex *shell.Lex, vs *vars, stages map[string]bool) (From, error) {
	fr := From{Line: n.StartLine, EndLine: n.EndLine, flags: n.Flags}
	var words []string
	for w := n.Next; w != nil; w = w.Next {
		words = append(words, w.Value)
	}
	switch {
	case len(words) == 3 && strings.EqualFold(words[1], "as"):
		fr.Stage = strings.ToLower(words[2])
		if !validStageName.MatchString(fr.Stage) {
			return fr, fmt.Errorf("invalid stage name %q (a letter, then letters, digits, '-', '_' or '.')", words[2])
		}
	case len(words) != 1:
		return fr, errors.New("FROM takes an image and optionally AS name")
	}
	fr.Original = words[0]
	for _, fl := range n.Flags {
		v, ok := strings.CutPrefix(fl, "--platform=")
		if !ok {
			return fr, fmt.Errorf("FROM: unknown flag %q (only --platform)", fl)
		}
		p, err := vs.expand(lex, v)
		if err != nil {
			return fr, fmt.Errorf("FROM --platform: %v", err)
		}
		if p == "" {
			return fr, fmt.Errorf("FROM --platform=%s is empty", v)
		}
		if _, err := v1.ParsePlatform(p); err != nil {
			return fr, fmt.Errorf("FROM --platform=%s: %v", p, err)
		}
		fr.Platform = p
	}
	img, err := vs.expand(lex, fr.Original)
	if err != nil {
		return fr, fmt.Errorf("FROM %s: %v", fr.Original, err)
	}
	if img == "" {
		return fr, fmt.Errorf("FROM %s: the base name is empty (an ARG without a value?)", fr.Original)
	}
	fr.Image = img
	switch {
	case img == "scratch":
		fr.Kind = KindScratch
	case stages[img]:
		fr.Kind = KindStage
	default:
		fr.Kind = KindImage
	}
	return fr, nil
}

// platformArgs are the automatic platform ARGs, overridable by build args.
func platformArgs(opts Options) (map[string]string, error) {
	build := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	target := build
	if opts.Platform != "" {
		p, err := v1.ParsePlatform(opts.Platform)
		if err != nil {
			return nil, fmt.Errorf("platform %q: %v", opts.Platform, err)
		}
		target = *p
	}
	args := map[string]string{
		"BUILDPLATFORM":  build.String(),
		"BUILDOS":        build.OS,
		"BUILDARCH":      build.Architecture,
		"BUILDVARIANT":   build.Variant,
		"TARGETPLATFORM": target.String(),
		"TARGETOS":       target.OS,
		"TARGETARCH":     target.Architecture,
		"TARGETVARIANT":  target.Variant,
		"TARGETSTAGE":    "default",
	}
	for k := range args {
		if v, ok := opts.BuildArgs[k]; ok {
			args[k] = v
		}
	}
	return args, nil
}

// TargetPlatform is the platform images are resolved for when a FROM has
// no --platform flag.
func (f *File) TargetPlatform() string { return f.Args["TARGETPLATFORM"] }

// Images returns the FROMs that name registry images.
func (f *File) Images() []From {
	var out []From
	for _, fr := range f.Froms {
		if fr.Kind == KindImage {
			out = append(out, fr)
		}
	}
	return out
}

// MaxWord bounds a word expanded for a FROM (its base name, --platform, the
// defaults of the ARGs before it): the words, and what their variables
// contribute. BuildKit's ${VAR/pattern/replacement} and ARG A=$A$A (each
// doubling) would otherwise let a Dockerfile of a few lines ask for
// gigabytes. Image references are far shorter (a repository name is at
// most 255 bytes).
const MaxWord = 4096

// vars are the variables FROM lines see.
type vars struct {
	m    map[string]string
	long map[string]bool // ARGs over MaxWord: an error if a FROM uses one
}

func (vs *vars) set(k, v string) {
	if len(v) > MaxWord {
		vs.long[k] = true
		delete(vs.m, k)
		return
	}
	delete(vs.long, k)
	vs.m[k] = v
}

// tooLongError is a word, or a variable it uses, over MaxWord.
type tooLongError struct{ what string }

func (e *tooLongError) Error() string {
	return fmt.Sprintf("%s is longer than %d bytes", e.what, MaxWord)
}

// expand substitutes the variables in word, within MaxWord.
func (vs *vars) expand(lex *shell.Lex, word string) (string, error) {
	if len(word) > MaxWord {
		return "", &tooLongError{what: "the word"}
	}
	e := &budgetEnv{vs: vs, left: MaxWord}
	out, _, err := lex.ProcessWord(word, e)
	if e.err != nil {
		return "", e.err
	}
	if err != nil {
		return "", err
	}
	if len(out) > MaxWord {
		return "", &tooLongError{what: "its expansion"}
	}
	return out, nil
}

// budgetEnv hands the lexer variables until they add up to more than its
// budget, then empty strings and an error: what the lexer builds stays
// bounded.
type budgetEnv struct {
	vs   *vars
	left int
	err  error
}

func (e *budgetEnv) Get(k string) (string, bool) {
	if e.err != nil {
		return "", true
	}
	if e.vs.long[k] {
		e.err = &tooLongError{what: "ARG " + k}
		return "", true
	}
	v, ok := e.vs.m[k]
	if e.left -= len(v); e.left < 0 {
		e.err = &tooLongError{what: "what its variables expand to"}
		return "", true
	}
	return v, ok
}

func (e *budgetEnv) Keys() []string {
	ks := make([]string, 0, len(e.vs.m))
	for k := range e.vs.m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// unwrapLocation drops BuildKit's location wrapper, whose line Parse
// reports itself.
func unwrapLocation(err error) error {
	var le *parser.LocationError
	if errors.As(err, &le) && le.Unwrap() != nil {
		return le.Unwrap()
	}
	return err
}
