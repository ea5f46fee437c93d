// Package layout models the in-toto layout: the supply-chain policy a
// project owner signs. It says which steps must happen, which functionaries
// may sign each (with a threshold), which artifact rules hold between steps,
// and which inspections the verifier runs (in-toto spec v1.0, section 4.3).
//
// A Layout is only the signed payload; signatures live in an envelope (see
// package envelope). Trust roots (the owners' keys) are not part of the
// layout: the verifier is handed them separately.
package layout

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/toto-dev/toto/internal/jsonobj"
	"github.com/toto-dev/toto/keys"
)

// Type is the value of the "_type" field of a layout.
const Type = "layout"

// TimeFormat is the expiry format of the spec: ISO 8601, UTC, seconds.
const TimeFormat = "2006-01-02T15:04:05Z"

// ErrWrongType is returned when "_type" is not "layout".
var ErrWrongType = errors.New("wrong _type")

// Layout is the signed payload of an in-toto layout.
type Layout struct {
	// Expires is when the layout stops being valid.
	Expires time.Time
	// Readme is free text for humans.
	Readme string
	// Keys are the functionaries' public keys, by keyid.
	Keys map[string]*keys.Key
	// Steps are the steps of the supply chain, in order.
	Steps []Step
	// Inspections are commands the verifier runs itself.
	Inspections []Inspection
	// Extra keeps unknown fields for a lossless round trip.
	Extra map[string]json.RawMessage
}

// Step is a step performed by functionaries.
type Step struct {
	Name              string
	ExpectedMaterials []Rule
	ExpectedProducts  []Rule
	// PubKeys are the keyids of the functionaries allowed to sign links.
	PubKeys []string
	// ExpectedCommand is the command the step should run; a mismatch is
	// only a warning (spec section 5.2).
	ExpectedCommand []string
	// Threshold is how many distinct functionaries must have signed
	// matching links.
	Threshold int
	Extra     map[string]json.RawMessage
}

// Inspection is a command the verifier runs after checking the links.
type Inspection struct {
	Name              string
	ExpectedMaterials []Rule
	ExpectedProducts  []Rule
	Run               []string
	Extra             map[string]json.RawMessage
}

// ErrThreshold is matched (errors.Is) by a *ThresholdError.
var ErrThreshold = errors.New("step threshold below 1")

// ThresholdError is a step whose "threshold" member is present but not a
// number of at least 1. It is an input error: a threshold of 0 would need
// no links at all (Python in-toto fails with an IndexError on it, and
// in-toto-golang panics), so it is refused rather than read as 1.
type ThresholdError struct {
	// Step is the step's name.
	Step string
	// Value is the threshold as written: "0", "-1", "null".
	Value string
}

func (e *ThresholdError) Error() string {
	return fmt.Sprintf("step %q: field \"threshold\" is %s: want at least 1 (leave it out for the default, 1)", e.Step, e.Value)
}

// Is makes errors.Is(err, ErrThreshold) hold.
func (e *ThresholdError) Is(target error) bool { return target == ErrThreshold }

// Parse decodes a layout payload. Errors name the field, step or rule at
// fault.
func Parse(data []byte) (*Layout, error) {
	f, err := jsonobj.Split(data)
	if err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	var typ, expires string
	if err := f.Take("_type", &typ, true); err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	if typ != Type {
		return nil, fmt.Errorf("layout: field \"_type\": %w: got %q, want %q", ErrWrongType, typ, Type)
	}
	l := &Layout{}
	var rawSteps, rawInspections []json.RawMessage
	var rawKeys map[string]json.RawMessage
	for _, fld := range []struct {
		name     string
		v        any
		required bool
	}{
		{"expires", &expires, true},
		{"readme", &l.Readme, false},
		{"keys", &rawKeys, true},
		{"steps", &rawSteps, true},
		{"inspect", &rawInspections, true},
	} {
		if err := f.Take(fld.name, fld.v, fld.required); err != nil {
			return nil, fmt.Errorf("layout: %w", err)
		}
	}
	if err := f.CheckLeftover("_type", "expires", "readme", "keys", "steps", "inspect"); err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	if l.Expires, err = ParseTime(expires); err != nil {
		return nil, fmt.Errorf("layout: field \"expires\": %w", err)
	}
	l.Keys = make(map[string]*keys.Key, len(rawKeys))
	for id, raw := range rawKeys {
		k, err := keys.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("layout: field \"keys\": key %s: %w", id, err)
		}
		if !k.HasID(id) {
			return nil, fmt.Errorf("layout: field \"keys\": key listed as %s has keyid %s", id, k.ID())
		}
		l.Keys[id] = k
	}
	for i, raw := range rawSteps {
		s, err := parseStep(raw)
		if err != nil {
			return nil, fmt.Errorf("layout: steps[%d]: %w", i, err)
		}
		l.Steps = append(l.Steps, s)
	}
	for i, raw := range rawInspections {
		in, err := parseInspection(raw)
		if err != nil {
			return nil, fmt.Errorf("layout: inspect[%d]: %w", i, err)
		}
		l.Inspections = append(l.Inspections, in)
	}
	if len(f) > 0 {
		l.Extra = f
	}
	return l, nil
}

// ParseTime parses an expiry time. It accepts the spec's form and any other
// RFC 3339 time.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an ISO 8601 time like 2030-01-01T00:00:00Z", s)
	}
	return t.UTC(), nil
}

func takeRules(f jsonobj.Fields, name string, dst *[]Rule) error {
	var lists [][]string
	if err := f.Take(name, &lists, false); err != nil {
		return err
	}
	rules, err := ParseRules(lists)
	if err != nil {
		return fmt.Errorf("field %q%w", name, err)
	}
	*dst = rules
	return nil
}

func parseStep(raw json.RawMessage) (Step, error) {
	var s Step
	f, err := jsonobj.Split(raw)
	if err != nil {
		return s, err
	}
	var typ string
	if err := f.Take("_type", &typ, false); err != nil {
		return s, err
	}
	if typ != "" && typ != "step" {
		return s, fmt.Errorf("field \"_type\": got %q, want \"step\"", typ)
	}
	if err := f.Take("name", &s.Name, true); err != nil {
		return s, err
	}
	if err := takeRules(f, "expected_materials", &s.ExpectedMaterials); err != nil {
		return s, fmt.Errorf("step %q: %w", s.Name, err)
	}
	if err := takeRules(f, "expected_products", &s.ExpectedProducts); err != nil {
		return s, fmt.Errorf("step %q: %w", s.Name, err)
	}
	// Absent, the threshold is 1 as in both references; present, it must
	// be at least 1. (Checking presence after Take had removed the member
	// used to turn an explicit 0 into 1.)
	var threshold *int
	_, present := f["threshold"]
	for _, fld := range []struct {
		name string
		v    any
	}{{"pubkeys", &s.PubKeys}, {"expected_command", &s.ExpectedCommand}, {"threshold", &threshold}} {
		if err := f.Take(fld.name, fld.v, false); err != nil {
			return s, fmt.Errorf("step %q: %w", s.Name, err)
		}
	}
	if err := f.CheckLeftover("_type", "name", "expected_materials", "expected_products", "pubkeys", "expected_command", "threshold"); err != nil {
		return s, fmt.Errorf("step %q: %w", s.Name, err)
	}
	switch {
	case threshold != nil && *threshold >= 1:
		s.Threshold = *threshold
	case threshold != nil:
		return s, &ThresholdError{Step: s.Name, Value: strconv.Itoa(*threshold)}
	case present:
		return s, &ThresholdError{Step: s.Name, Value: "null"}
	default:
		s.Threshold = 1
	}
	if len(f) > 0 {
		s.Extra = f
	}
	return s, nil
}

func parseInspection(raw json.RawMessage) (Inspection, error) {
	var in Inspection
	f, err := jsonobj.Split(raw)
	if err != nil {
		return in, err
	}
	var typ string
	if err := f.Take("_type", &typ, false); err != nil {
		return in, err
	}
	if typ != "" && typ != "inspection" {
		return in, fmt.Errorf("field \"_type\": got %q, want \"inspection\"", typ)
	}
	if err := f.Take("name", &in.Name, true); err != nil {
		return in, err
	}
	if err := takeRules(f, "expected_materials", &in.ExpectedMaterials); err != nil {
		return in, fmt.Errorf("inspection %q: %w", in.Name, err)
	}
	if err := takeRules(f, "expected_products", &in.ExpectedProducts); err != nil {
		return in, fmt.Errorf("inspection %q: %w", in.Name, err)
	}
	if err := f.Take("run", &in.Run, false); err != nil {
		return in, fmt.Errorf("inspection %q: %w", in.Name, err)
	}
	if err := f.CheckLeftover("_type", "name", "expected_materials", "expected_products", "run"); err != nil {
		return in, fmt.Errorf("inspection %q: %w", in.Name, err)
	}
	if len(f) > 0 {
		in.Extra = f
	}
	return in, nil
}

func rulesOrEmpty(r []Rule) []Rule {
	if r == nil {
		return []Rule{}
	}
	return r
}

func strsOrEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// MarshalJSON encodes the layout with every field the references require.
func (l *Layout) MarshalJSON() ([]byte, error) {
	ks := make(map[string]json.RawMessage, len(l.Keys))
	for id, k := range l.Keys {
		b, err := json.Marshal(k.Public())
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", id, err)
		}
		f, err := jsonobj.Split(b)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", id, err)
		}
		// Steps name the key by the keyid it is listed under, which may be
		// another of its valid keyids than the one ID() prefers.
		f["keyid"], _ = json.Marshal(id)
		if ks[id], err = jsonobj.Join(nil, f); err != nil {
			return nil, err
		}
	}
	steps := make([]json.RawMessage, 0, len(l.Steps))
	for _, s := range l.Steps {
		b, err := jsonobj.Join(map[string]any{
			"_type":              "step",
			"name":               s.Name,
			"expected_materials": rulesOrEmpty(s.ExpectedMaterials),
			"expected_products":  rulesOrEmpty(s.ExpectedProducts),
			"pubkeys":            strsOrEmpty(s.PubKeys),
			"expected_command":   strsOrEmpty(s.ExpectedCommand),
			"threshold":          s.Threshold,
		}, s.Extra)
		if err != nil {
			return nil, err
		}
		steps = append(steps, b)
	}
	insp := make([]json.RawMessage, 0, len(l.Inspections))
	for _, in := range l.Inspections {
		b, err := jsonobj.Join(map[string]any{
			"_type":              "inspection",
			"name":               in.Name,
			"expected_materials": rulesOrEmpty(in.ExpectedMaterials),
			"expected_products":  rulesOrEmpty(in.ExpectedProducts),
			"run":                strsOrEmpty(in.Run),
		}, in.Extra)
		if err != nil {
			return nil, err
		}
		insp = append(insp, b)
	}
	return jsonobj.Join(map[string]any{
		"_type":   Type,
		"expires": l.Expires.UTC().Format(TimeFormat),
		"readme":  l.Readme,
		"keys":    ks,
		"steps":   steps,
		"inspect": insp,
	}, l.Extra)
}

// UnmarshalJSON implements json.Unmarshaler via Parse.
func (l *Layout) UnmarshalJSON(data []byte) error {
	p, err := Parse(data)
	if err != nil {
		return err
	}
	*l = *p
	return nil
}

// Step returns the step with the given name.
func (l *Layout) Step(name string) (*Step, bool) {
	for i := range l.Steps {
		if l.Steps[i].Name == name {
			return &l.Steps[i], true
		}
	}
	return nil, false
}

// Expired reports whether the layout has expired at time now: now is after
// its expiry time. At exactly the expiry time it is still valid, as in both
// reference implementations.
func (l *Layout) Expired(now time.Time) bool { return now.After(l.Expires) }

// AddKey adds a functionary's public key and returns its keyid.
func (l *Layout) AddKey(k *keys.Key) string {
	if l.Keys == nil {
		l.Keys = map[string]*keys.Key{}
	}
	id := k.ID()
	l.Keys[id] = k.Public()
	return id
}

// Substitute returns a copy of the layout with every "{NAME}" in artifact
// rules, expected commands and inspection commands replaced by params[NAME]
// (in-toto spec v1.0, section 5.1 "parameter substitution"). A placeholder
// without a value is an error naming it.
func (l *Layout) Substitute(params map[string]string) (*Layout, error) {
	var missing []string
	c := l.mapStrings(func(s string) string {
		out, miss := substitute(s, params)
		missing = append(missing, miss...)
		return out
	})
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("layout parameters without a value: %s (pass them with --param NAME=VALUE)", strings.Join(dedupe(missing), ", "))
	}
	return c, nil
}

// Params lists, sorted, the names of the "{NAME}" placeholders the layout
// uses: the parameters Substitute needs.
func (l *Layout) Params() []string {
	var names []string
	l.mapStrings(func(s string) string {
		_, used := substitute(s, nil)
		names = append(names, used...)
		return s
	})
	sort.Strings(names)
	return dedupe(names)
}

// mapStrings returns a copy of the layout with f applied to every string
// that may hold placeholders: artifact rules, expected commands and
// inspection commands.
func (l *Layout) mapStrings(f func(string) string) *Layout {
	c := *l
	c.Steps = make([]Step, len(l.Steps))
	c.Inspections = make([]Inspection, len(l.Inspections))
	subRules := func(rs []Rule) []Rule {
		out := make([]Rule, len(rs))
		for i, r := range rs {
			r.Pattern, r.SourcePrefix, r.DestPrefix, r.DestStep = f(r.Pattern), f(r.SourcePrefix), f(r.DestPrefix), f(r.DestStep)
			out[i] = r
		}
		return out
	}
	subStrs := func(ss []string) []string {
		if ss == nil {
			return nil
		}
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = f(s)
		}
		return out
	}
	for i, s := range l.Steps {
		s.ExpectedMaterials, s.ExpectedProducts = subRules(s.ExpectedMaterials), subRules(s.ExpectedProducts)
		s.ExpectedCommand = subStrs(s.ExpectedCommand)
		c.Steps[i] = s
	}
	for i, in := range l.Inspections {
		in.ExpectedMaterials, in.ExpectedProducts = subRules(in.ExpectedMaterials), subRules(in.ExpectedProducts)
		in.Run = subStrs(in.Run)
		c.Inspections[i] = in
	}
	return &c
}

// substitute replaces {NAME} placeholders, where NAME is a letter or
// underscore followed by letters, digits, underscores or dashes. As in
// Python's str.format, which the Python reference uses, "{{" and "}}" stand
// for literal braces. Braces around anything else are left alone.
func substitute(s string, params map[string]string) (string, []string) {
	var b strings.Builder
	var missing []string
	for len(s) > 0 {
		i := strings.IndexAny(s, "{}")
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		if len(s) > 1 && s[1] == s[0] { // "{{" or "}}"
			b.WriteByte(s[0])
			s = s[2:]
			continue
		}
		j := strings.IndexByte(s, '}')
		if s[0] == '}' || j < 0 || !isParamName(s[1:j]) {
			b.WriteByte(s[0])
			s = s[1:]
			continue
		}
		name := s[1:j]
		if v, ok := params[name]; ok {
			b.WriteString(v)
		} else {
			missing = append(missing, name)
			b.WriteString(s[:j+1])
		}
		s = s[j+1:]
	}
	return b.String(), missing
}

func isParamName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		letter := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !(letter || i > 0 && (c >= '0' && c <= '9' || c == '-')) {
			return false
		}
	}
	return true
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
