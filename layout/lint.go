package layout

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/toto-dev/toto/internal/fnmatch"
)

// Severity says how bad a lint finding is.
type Severity int

// Severities, in increasing order.
const (
	// Warning marks a layout that works but probably not as intended.
	Warning Severity = iota + 1
	// Error marks a layout that cannot verify anything, or not what it says.
	Error
)

func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Finding codes, stable for scripts to branch on.
const (
	CodeExpired          = "expired"           // the layout has expired
	CodeExpiresSoon      = "expires-soon"      // it expires within the warning window
	CodeNoSteps          = "no-steps"          // nothing to verify
	CodeEmptyName        = "empty-name"        // a step or inspection without a name
	CodeDuplicateName    = "duplicate-name"    // two steps/inspections share a name
	CodeUnknownKey       = "unknown-key"       // a step names a keyid missing from keys
	CodeKeyIDMismatch    = "keyid-mismatch"    // keys lists a key under another key's id
	CodeDuplicateKey     = "duplicate-key"     // a step lists the same keyid twice
	CodeUnusedKey        = "unused-key"        // a key no step uses
	CodeThreshold        = "threshold"         // threshold below 1 or above the number of keys
	CodeEmptyRun         = "empty-run"         // an inspection with no command
	CodeMalformedRule    = "malformed-rule"    // a rule that does not parse
	CodeUnknownStep      = "unknown-step"      // MATCH FROM a step that does not exist
	CodeMissingDisallow  = "missing-disallow"  // a rule list that does not end in DISALLOW
	CodeBadPattern       = "bad-pattern"       // a pattern the implementations read differently or reject
	CodeEmptyPattern     = "empty-pattern"     // a rule with an empty pattern
	CodeUnreachableRule  = "unreachable-rule"  // a rule no artifact can ever reach
	CodeRequireFails     = "require-fails"     // a REQUIRE that can never pass
	CodeNeverMatches     = "never-matches"     // a rule that can never match any artifact
	CodeMissingParameter = "missing-parameter" // a {NAME} without a value (when values are given)
	CodeTotoOnlyField    = "toto-only-field"   // a member the Python reference drops, breaking its signature check
)

// Location says where in a layout a finding is, in the layout's JSON terms.
type Location struct {
	// Section is "expires", "keys", "steps" or "inspect"; empty for the
	// layout as a whole.
	Section string
	// Index is the position in steps or inspect; -1 for the whole section.
	Index int
	// Name is the step or inspection name, or the keyid under keys.
	Name string
	// Field is the step or inspection field, e.g. "expected_materials",
	// "pubkeys", "threshold"; empty for the whole step or inspection.
	Field string
	// Item is the index within Field (a rule, a pubkey), or -1 for the
	// whole field.
	Item int
}

// String renders the location, e.g. `steps[1] "package": expected_materials[2]`.
func (l Location) String() string {
	switch l.Section {
	case "":
		return "layout"
	case "keys":
		if l.Name == "" {
			return "keys"
		}
		return fmt.Sprintf("keys[%q]", l.Name)
	case "steps", "inspect":
		if l.Index < 0 {
			return l.Section
		}
	default:
		return l.Section
	}
	s := fmt.Sprintf("%s[%d] %q", l.Section, l.Index, l.Name)
	if l.Field != "" {
		s += ": " + l.Field
		if l.Item >= 0 {
			s += fmt.Sprintf("[%d]", l.Item)
		}
	}
	return s
}

// MarshalText writes the location as String does.
func (l Location) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// Finding is one problem Lint found. Its JSON form (see MarshalJSON) gives
// the location both as text and in parts.
type Finding struct {
	Severity Severity
	Code     string
	Location Location
	Message  string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s: %s: %s [%s]", f.Severity, f.Location, f.Message, f.Code)
}

// LintOptions tunes Lint. The zero value is usable.
type LintOptions struct {
	// Now is the time expiry is judged against; default time.Now().
	Now time.Time
	// ExpiryWarning is how close to expiry a layout draws a warning;
	// default 30 days, negative to disable.
	ExpiryWarning time.Duration
	// Params, when not nil, are substituted into the layout first (as the
	// verifier would), and a placeholder without a value is an error.
	Params map[string]string
}

// DefaultExpiryWarning is how close to expiry a layout draws a warning.
const DefaultExpiryWarning = 30 * 24 * time.Hour

// Lint checks a layout statically and returns every finding, in layout
// order. It never changes l.
//
// Beyond structure (names, keys, thresholds, rule syntax, references between
// steps) it checks artifact patterns: glob syntax the references read
// differently (an unclosed "[", which Python's fnmatch takes literally and
// in-toto-golang rejects; "\", "[^", "[]"); rules no artifact can reach
// because an earlier ALLOW or DISALLOW already consumed or rejected
// everything they could match (any rule after ALLOW "*" or DISALLOW "*";
// a literal path matched by an earlier ALLOW/DISALLOW glob); REQUIREs that
// can therefore never pass, or that contain glob characters (REQUIRE takes
// a literal path in both references); and MATCH rules against a step whose
// own rules start with DISALLOW "*" for that artifact kind, which can have
// no such artifacts.
func Lint(l *Layout, opts LintOptions) []Finding {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.ExpiryWarning == 0 {
		opts.ExpiryWarning = DefaultExpiryWarning
	}
	ln := &linter{opts: opts}
	if opts.Params != nil {
		sub, err := l.Substitute(opts.Params)
		if err != nil {
			ln.add(Error, CodeMissingParameter, Location{}, "%v", err)
			// Check the rest with placeholders left in place.
			sub, _ = l.Substitute(allParams(l, opts.Params))
		}
		l = sub
	}
	ln.l = l
	ln.extraFields()
	ln.expiry()
	ln.names()
	ln.keys()
	for i, s := range l.Steps {
		at := Location{Section: "steps", Index: i, Name: s.Name, Item: -1}
		ln.rules(at, "expected_materials", s.ExpectedMaterials, false)
		ln.rules(at, "expected_products", s.ExpectedProducts, false)
	}
	for i, in := range l.Inspections {
		at := Location{Section: "inspect", Index: i, Name: in.Name, Item: -1}
		if len(in.Run) == 0 || strings.TrimSpace(strings.Join(in.Run, "")) == "" {
			ln.add(Error, CodeEmptyRun, at.field("run"), "inspection has no command to run")
		}
		ln.rules(at, "expected_materials", in.ExpectedMaterials, true)
		ln.rules(at, "expected_products", in.ExpectedProducts, true)
	}
	return ln.out
}

// extraFields warns about top-level members outside the in-toto layout
// schema (such as toto's "sbom" policy). toto checks the signature over the
// bytes as signed, but the references re-encode the layout from their own
// models, which drop unknown members, before checking it.
func (ln *linter) extraFields() {
	names := make([]string, 0, len(ln.l.Extra))
	for name := range ln.l.Extra {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ln.add(Warning, CodeTotoOnlyField, Location{Section: name, Index: -1, Item: -1},
			"member %q is not in the in-toto v1.0 layout schema: toto checks signatures over the signed bytes and keeps it, but implementations that re-encode the layout from their own model first (Python in-toto always, in-toto-golang unless it knows the member) drop it and will reject the layout's signature", name)
	}
}

// allParams maps every placeholder in l to itself (keeping known values),
// so a layout with missing parameters can still be linted.
func allParams(l *Layout, params map[string]string) map[string]string {
	out := map[string]string{}
	for _, name := range Parameters(l) {
		out[name] = "{" + name + "}"
	}
	for k, v := range params {
		out[k] = v
	}
	return out
}

// HasErrors reports whether any finding is an error.
func HasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == Error {
			return true
		}
	}
	return false
}

type linter struct {
	l    *Layout
	opts LintOptions
	out  []Finding
}

func (l Location) field(f string) Location { l.Field, l.Item = f, -1; return l }
func (l Location) item(i int) Location     { l.Item = i; return l }

func (ln *linter) add(sev Severity, code string, at Location, format string, args ...any) {
	ln.out = append(ln.out, Finding{Severity: sev, Code: code, Location: at, Message: fmt.Sprintf(format, args...)})
}

func (ln *linter) expiry() {
	at := Location{Section: "expires"}
	exp := ln.l.Expires
	if exp.IsZero() {
		ln.add(Error, CodeExpired, at, "no expiry date")
		return
	}
	left := exp.Sub(ln.opts.Now)
	switch {
	case left < 0:
		ln.add(Error, CodeExpired, at, "layout expired on %s (%s ago); verification will reject it", exp.UTC().Format(TimeFormat), roundDays(-left))
	case ln.opts.ExpiryWarning > 0 && left < ln.opts.ExpiryWarning:
		ln.add(Warning, CodeExpiresSoon, at, "layout expires on %s, in %s", exp.UTC().Format(TimeFormat), roundDays(left))
	}
}

func roundDays(d time.Duration) string {
	if d < 48*time.Hour {
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

func (ln *linter) names() {
	if len(ln.l.Steps) == 0 {
		ln.add(Warning, CodeNoSteps, Location{Section: "steps", Index: -1, Item: -1}, "layout has no steps, so it requires no evidence at all")
	}
	seen := map[string]Location{}
	check := func(at Location, name string) {
		if name == "" {
			ln.add(Error, CodeEmptyName, at.field("name"), "empty name")
			return
		}
		if first, dup := seen[name]; dup {
			ln.add(Error, CodeDuplicateName, at.field("name"), "name %q is already used by %s; step and inspection names must be unique", name, first)
			return
		}
		seen[name] = at
	}
	for i, s := range ln.l.Steps {
		check(Location{Section: "steps", Index: i, Name: s.Name, Item: -1}, s.Name)
	}
	for i, in := range ln.l.Inspections {
		check(Location{Section: "inspect", Index: i, Name: in.Name, Item: -1}, in.Name)
	}
}

func (ln *linter) keys() {
	used := map[string]bool{}
	for i, s := range ln.l.Steps {
		at := Location{Section: "steps", Index: i, Name: s.Name, Item: -1}
		distinct := map[string]bool{}
		for j, id := range s.PubKeys {
			used[id] = true
			if _, ok := ln.l.Keys[id]; !ok {
				ln.add(Error, CodeUnknownKey, at.field("pubkeys").item(j), "keyid %s is not in the layout's keys", id)
			}
			if distinct[id] {
				ln.add(Warning, CodeDuplicateKey, at.field("pubkeys").item(j), "keyid %s is listed twice; it counts once towards the threshold", id)
			}
			distinct[id] = true
		}
		switch {
		case s.Threshold < 1:
			ln.add(Error, CodeThreshold, at.field("threshold"), "threshold %d: must be at least 1", s.Threshold)
		case s.Threshold > len(distinct):
			ln.add(Error, CodeThreshold, at.field("threshold"), "threshold %d is larger than the number of functionary keys (%d); the step can never be satisfied", s.Threshold, len(distinct))
		}
	}
	ids := make([]string, 0, len(ln.l.Keys))
	for id := range ln.l.Keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		at := Location{Section: "keys", Name: id, Item: -1}
		k := ln.l.Keys[id]
		if k == nil {
			ln.add(Error, CodeKeyIDMismatch, at, "no key under keyid %s", id)
			continue
		}
		if !k.HasID(id) {
			ln.add(Error, CodeKeyIDMismatch, at, "key listed under keyid %s has keyid %s", id, k.ID())
		}
		if !used[id] {
			ln.add(Warning, CodeUnusedKey, at, "key %s is not a functionary of any step", id)
		}
	}
}

// rules checks one rule list of a step (inspection is false) or inspection.
func (ln *linter) rules(item Location, field string, rules []Rule, inspection bool) {
	at := item.field(field)
	sh := shadows{literal: make(map[string]blocker, len(rules))}
	for j, r := range rules {
		rat := at.item(j)
		if _, err := ParseRule(r.List()); err != nil || !validRuleShape(r) {
			msg := "rule does not have a valid shape"
			if err != nil {
				msg = err.Error()
			}
			ln.add(Error, CodeMalformedRule, rat, "%s", msg)
			continue
		}
		if r.Pattern == "" {
			ln.add(Warning, CodeEmptyPattern, rat, "%s has an empty pattern, which matches no artifact path", r.Type)
		}
		for _, p := range patternProblems(r.Pattern) {
			ln.add(p.sev, CodeBadPattern, rat, "%s: %s", quoteRule(r.List()), p.msg)
		}
		if r.Type == Require && hasMeta(r.Pattern) {
			ln.add(Warning, CodeNeverMatches, rat, "REQUIRE takes a literal path; the glob characters in %q match only themselves", r.Pattern)
		}
		if r.Type == Match {
			ln.matchTarget(rat, r, inspection)
		}
		if b, ok := sh.covering(r); ok {
			how := "consumes"
			if b.rule.Type == Disallow {
				how = "rejects"
			}
			if r.Type == Require {
				ln.add(Error, CodeRequireFails, rat, "REQUIRE %s can never pass: rule [%d] %s %s it first", r.Pattern, b.idx, b.rule, how)
			} else {
				ln.add(Warning, CodeUnreachableRule, rat, "%s never applies: rule [%d] %s %s every artifact it could match", r, b.idx, b.rule, how)
			}
			continue
		}
		if r.Type == Allow || r.Type == Disallow {
			sh.add(j, r)
		}
	}
	if n := len(rules); n > 0 && rules[n-1].Type != Disallow {
		ln.add(Warning, CodeMissingDisallow, at, "rule list does not end in DISALLOW, so artifacts no rule mentions pass unchecked; end it with DISALLOW \"*\"")
	}
}

// shadows tracks the ALLOW and DISALLOW rules seen so far in a rule list.
// They take artifacts out of the queue (ALLOW) or fail verification if any
// are left (DISALLOW), so later rules never see what they match. Literal
// patterns go in a map and a universal one ends the search, so a list of
// thousands of literal ALLOWs stays linear.
type shadows struct {
	universal *blocker
	literal   map[string]blocker
	globs     []blocker
}

type blocker struct {
	idx  int
	rule Rule
	glob *fnmatch.Pattern // compiled once, for glob patterns only
}

func (s *shadows) add(idx int, r Rule) {
	b := blocker{idx: idx, rule: r}
	switch {
	case isUniversal(r.Pattern):
		if s.universal == nil {
			s.universal = &b
		}
	case !hasMeta(r.Pattern):
		if _, seen := s.literal[r.Pattern]; !seen {
			s.literal[r.Pattern] = b
		}
	default:
		b.glob = fnmatch.Compile(r.Pattern)
		s.globs = append(s.globs, b)
	}
}

// covering returns an earlier rule that takes every artifact r could see:
// a universal pattern, or, for a literal path (REQUIRE always names one),
// a pattern matching that path.
func (s *shadows) covering(r Rule) (blocker, bool) {
	if s.universal != nil {
		return *s.universal, true
	}
	target := effectivePattern(r)
	if r.Type != Require && hasMeta(target) {
		return blocker{}, false
	}
	if b, ok := s.literal[target]; ok {
		return b, true
	}
	for _, b := range s.globs {
		if b.glob.Match(target) {
			return b, true
		}
	}
	return blocker{}, false
}

// matchTarget checks the step a MATCH rule points at.
func (ln *linter) matchTarget(at Location, r Rule, inspection bool) {
	if len(placeholders(r.DestStep)) > 0 {
		return // known only at verification time
	}
	dest, ok := ln.l.Step(r.DestStep)
	if !ok {
		isInspection := false
		for _, in := range ln.l.Inspections {
			isInspection = isInspection || in.Name == r.DestStep
		}
		switch {
		case isInspection && inspection:
			return // inspections' rules see every inspection's link
		case isInspection:
			ln.add(Error, CodeUnknownStep, at, "%s: %q is an inspection; step rules are checked before inspections run, so the rule matches nothing", r, r.DestStep)
		default:
			ln.add(Error, CodeUnknownStep, at, "%s: no step named %q, so the rule matches nothing%s", r, r.DestStep, ln.suggest(r.DestStep))
		}
		return
	}
	rules := dest.ExpectedProducts
	if r.DestType == Materials {
		rules = dest.ExpectedMaterials
	}
	if len(rules) > 0 && rules[0].Type == Disallow && isUniversal(rules[0].Pattern) {
		ln.add(Warning, CodeNeverMatches, at, "%s: step %q allows no %s (its first rule is %s), so nothing can match", r, dest.Name, strings.ToLower(r.DestType), rules[0])
	}
}

// suggest names a step whose name differs only in case, a common slip.
func (ln *linter) suggest(name string) string {
	for _, s := range ln.l.Steps {
		if strings.EqualFold(s.Name, name) {
			return fmt.Sprintf(" (did you mean %q?)", s.Name)
		}
	}
	return ""
}

// validRuleShape catches typed rules built in code with fields the list
// form cannot express (ParseRule of List() catches the rest).
func validRuleShape(r Rule) bool {
	if r.Type == Match {
		return (r.DestType == Materials || r.DestType == Products) && r.DestStep != ""
	}
	return r.SourcePrefix == "" && r.DestType == "" && r.DestPrefix == "" && r.DestStep == ""
}

// effectivePattern is the pattern as applied to full artifact paths: a
// MATCH's source prefix is a literal directory in front of it.
func effectivePattern(r Rule) string {
	if r.Type == Match && r.SourcePrefix != "" {
		return strings.TrimSuffix(r.SourcePrefix, "/") + "/" + r.Pattern
	}
	return r.Pattern
}

func hasMeta(p string) bool { return strings.ContainsAny(p, "*?[") }

// isUniversal reports whether a pattern matches every path: only stars.
func isUniversal(p string) bool {
	return p != "" && strings.Trim(p, "*") == ""
}

type patternProblem struct {
	sev Severity
	msg string
}

// patternProblems reports glob syntax that Python in-toto (fnmatch) and
// in-toto-golang (a path.Match variant) disagree on or reject.
func patternProblems(p string) []patternProblem {
	var out []patternProblem
	if strings.Contains(p, `\`) {
		out = append(out, patternProblem{Warning, `backslash is a literal character in Python in-toto but an escape in in-toto-golang; the pattern matches different paths in each`})
	}
	for i := 0; i < len(p); i++ {
		if p[i] != '[' {
			continue
		}
		j := i + 1
		if j < len(p) && p[j] == '!' {
			j++
		}
		emptyFirst := j < len(p) && p[j] == ']'
		if emptyFirst {
			j++
		}
		k := strings.IndexByte(p[j:], ']')
		if k < 0 {
			out = append(out, patternProblem{Error, fmt.Sprintf(`unclosed "[" at offset %d: Python in-toto matches it as a literal "[", in-toto-golang rejects the pattern; write "[[]" for a literal "["`, i)})
			break
		}
		if emptyFirst {
			out = append(out, patternProblem{Error, fmt.Sprintf(`"]" first in the class at offset %d: Python in-toto reads it as a literal "]", in-toto-golang rejects the pattern`, i)})
		}
		if i+1 < len(p) && p[i+1] == '^' {
			out = append(out, patternProblem{Warning, fmt.Sprintf(`"[^" at offset %d: "^" is a literal in Python in-toto's fnmatch but negates in in-toto-golang; negate with "[!...]"`, i)})
		}
		i = j + k
	}
	return out
}

// Parameters returns the {NAME} placeholders used in l's rules and
// commands, sorted and without repeats: the values a verifier must supply.
func Parameters(l *Layout) []string {
	seen := map[string]bool{}
	addRules := func(rs []Rule) {
		for _, r := range rs {
			for _, s := range []string{r.Pattern, r.SourcePrefix, r.DestPrefix, r.DestStep} {
				for _, p := range placeholders(s) {
					seen[p] = true
				}
			}
		}
	}
	addStrs := func(ss []string) {
		for _, s := range ss {
			for _, p := range placeholders(s) {
				seen[p] = true
			}
		}
	}
	for _, s := range l.Steps {
		addRules(s.ExpectedMaterials)
		addRules(s.ExpectedProducts)
		addStrs(s.ExpectedCommand)
	}
	for _, in := range l.Inspections {
		addRules(in.ExpectedMaterials)
		addRules(in.ExpectedProducts)
		addStrs(in.Run)
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// MarshalJSON writes the finding with its location both as text and as
// parts, for scripts.
func (f Finding) MarshalJSON() ([]byte, error) {
	type loc struct {
		Section string `json:"section,omitempty"`
		Index   *int   `json:"index,omitempty"`
		Name    string `json:"name,omitempty"`
		Field   string `json:"field,omitempty"`
		Item    *int   `json:"item,omitempty"`
	}
	l := loc{Section: f.Location.Section, Name: f.Location.Name, Field: f.Location.Field}
	if (l.Section == "steps" || l.Section == "inspect") && f.Location.Index >= 0 {
		l.Index = &f.Location.Index
		if f.Location.Field != "" && f.Location.Item >= 0 {
			l.Item = &f.Location.Item
		}
	}
	return json.Marshal(struct {
		Severity Severity `json:"severity"`
		Code     string   `json:"code"`
		Location string   `json:"location"`
		Where    loc      `json:"where"`
		Message  string   `json:"message"`
	}{f.Severity, f.Code, f.Location.String(), l, f.Message})
}
