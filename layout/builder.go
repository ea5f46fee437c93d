package layout

import (
	"errors"
	"fmt"
	"time"

	"github.com/toto-dev/toto/keys"
)

// Builder assembles a Layout in code, with functionaries named instead of
// referenced by keyid and rules written as text. Methods chain; problems are
// collected and reported together by Build.
//
//	l, err := layout.NewBuilder(time.Now().AddDate(0, 3, 0)).
//		AddFunctionary("alice", alice).
//		AddStep("build", layout.Functionaries("alice"),
//			layout.ProductRules(`CREATE app`, `DISALLOW "*"`)).
//		Build()
type Builder struct {
	l     Layout
	keyOf map[string]string
	errs  []error
}

// NewBuilder starts a layout that expires at expires (stored in UTC, whole
// seconds, as the spec's format has no fractions).
func NewBuilder(expires time.Time) *Builder {
	return &Builder{
		l:     Layout{Expires: expires.UTC().Truncate(time.Second), Keys: map[string]*keys.Key{}},
		keyOf: map[string]string{},
	}
}

// Readme sets the layout's free-text readme.
func (b *Builder) Readme(text string) *Builder {
	b.l.Readme = text
	return b
}

// AddFunctionary adds k's public part to the layout's keys under name, for
// steps to refer to.
func (b *Builder) AddFunctionary(name string, k *keys.Key) *Builder {
	switch {
	case name == "":
		b.errs = append(b.errs, errors.New("functionary with an empty name"))
	case k == nil:
		b.errs = append(b.errs, fmt.Errorf("functionary %q: nil key", name))
	case b.keyOf[name] != "":
		b.errs = append(b.errs, fmt.Errorf("functionary %q added twice", name))
	default:
		b.keyOf[name] = b.l.AddKey(k)
	}
	return b
}

// StepOption configures a step added with AddStep.
type StepOption interface{ applyStep(*stepBuild) }

// InspectionOption configures an inspection added with AddInspection.
type InspectionOption interface{ applyInspection(*inspectionBuild) }

type stepBuild struct {
	s             Step
	functionaries []string
	errs          []error
}

type inspectionBuild struct {
	in   Inspection
	errs []error
}

type stepOption func(*stepBuild)

func (f stepOption) applyStep(s *stepBuild) { f(s) }

type inspectionOption func(*inspectionBuild)

func (f inspectionOption) applyInspection(in *inspectionBuild) { f(in) }

// RulesOption sets a rule list; it applies to steps and inspections alike.
type RulesOption struct {
	products bool
	rules    []string
}

func (o RulesOption) parse() ([]Rule, []error) {
	field := "materials"
	if o.products {
		field = "products"
	}
	out := make([]Rule, 0, len(o.rules))
	var errs []error
	for i, text := range o.rules {
		r, err := parseRuleText(text)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s[%d]: %w", field, i, err))
			continue
		}
		out = append(out, r)
	}
	return out, errs
}

func (o RulesOption) applyStep(s *stepBuild) {
	rs, errs := o.parse()
	s.errs = append(s.errs, errs...)
	if o.products {
		s.s.ExpectedProducts = rs
	} else {
		s.s.ExpectedMaterials = rs
	}
}

func (o RulesOption) applyInspection(in *inspectionBuild) {
	rs, errs := o.parse()
	in.errs = append(in.errs, errs...)
	if o.products {
		in.in.ExpectedProducts = rs
	} else {
		in.in.ExpectedMaterials = rs
	}
}

// MaterialRules sets the expected_materials rules, each written as one line
// split like a shell would, e.g. `MATCH "*" WITH PRODUCTS FROM checkout`.
func MaterialRules(rules ...string) RulesOption { return RulesOption{rules: rules} }

// ProductRules sets the expected_products rules, written as for MaterialRules.
func ProductRules(rules ...string) RulesOption { return RulesOption{products: true, rules: rules} }

// Functionaries names who may perform the step (added with
// AddFunctionary).
func Functionaries(names ...string) StepOption {
	return stepOption(func(s *stepBuild) { s.functionaries = append(s.functionaries, names...) })
}

// Threshold sets how many distinct functionaries must sign the step's link
// (default 1).
func Threshold(n int) StepOption {
	return stepOption(func(s *stepBuild) { s.s.Threshold = n })
}

// Command sets the step's expected command; a different command at run
// time is only a warning (spec section 5.2).
func Command(args ...string) StepOption {
	return stepOption(func(s *stepBuild) { s.s.ExpectedCommand = args })
}

// Run sets the command an inspection runs.
func Run(args ...string) InspectionOption {
	return inspectionOption(func(in *inspectionBuild) { in.in.Run = args })
}

// AddStep appends a step. A sublayout is a step too: its functionaries sign
// a layout instead of a link, and it has no command.
func (b *Builder) AddStep(name string, opts ...StepOption) *Builder {
	sb := &stepBuild{s: Step{Name: name, Threshold: 1}}
	for _, o := range opts {
		o.applyStep(sb)
	}
	for _, f := range sb.functionaries {
		id, ok := b.keyOf[f]
		if !ok {
			sb.errs = append(sb.errs, fmt.Errorf("unknown functionary %q (add it with AddFunctionary first)", f))
			continue
		}
		sb.s.PubKeys = append(sb.s.PubKeys, id)
	}
	for _, err := range sb.errs {
		b.errs = append(b.errs, fmt.Errorf("step %q: %w", name, err))
	}
	b.l.Steps = append(b.l.Steps, sb.s)
	return b
}

// AddInspection appends an inspection.
func (b *Builder) AddInspection(name string, opts ...InspectionOption) *Builder {
	ib := &inspectionBuild{in: Inspection{Name: name}}
	for _, o := range opts {
		o.applyInspection(ib)
	}
	for _, err := range ib.errs {
		b.errs = append(b.errs, fmt.Errorf("inspection %q: %w", name, err))
	}
	b.l.Inspections = append(b.l.Inspections, ib.in)
	return b
}

// Build returns the layout, or every problem met while building it. It does
// not lint; run Lint on the result for the semantic checks.
func (b *Builder) Build() (*Layout, error) {
	if len(b.errs) > 0 {
		return nil, errors.Join(b.errs...)
	}
	l := b.l
	l.Keys = make(map[string]*keys.Key, len(b.l.Keys))
	for id, k := range b.l.Keys {
		l.Keys[id] = k
	}
	l.Steps = append([]Step(nil), b.l.Steps...)
	l.Inspections = append([]Inspection(nil), b.l.Inspections...)
	return &l, nil
}
