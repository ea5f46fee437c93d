// Package report renders a verifier.Result for people and programs: as
// text for a terminal, as JSON, and as a self-contained HTML page that
// draws the supply chain (steps as boxes, artifacts flowing between them,
// pass/fail colouring).
//
// Every renderer works from the same Report model, which is also the JSON
// schema; artifact lists are capped so that a chain of 100,000 artifacts
// still gives a readable report (the counts are always complete).
package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/verifier"
)

// Options tunes the report.
type Options struct {
	// Layout names the layout file in the report.
	Layout string
	// MaxList caps each list of artifacts or failures; 0 means 20.
	MaxList int
	// LayoutDigest is the digest of the layout file as verified
	// ("sha256:HEX"); the HTML page headlines it.
	LayoutDigest string
	// Version is toto's version, shown in the HTML page.
	Version string
	// Names maps keyids to people's names (a layout source's
	// functionaries); the HTML page shows keys by name.
	Names map[string]string
}

func (o Options) max() int {
	if o.MaxList <= 0 {
		return 20
	}
	return o.MaxList
}

// SchemaVersion is the version of the JSON that Report.JSON writes,
// described by docs/schema/verify-report.schema.json. It changes when a
// member is renamed or removed, or changes meaning; new optional members do
// not change it.
const SchemaVersion = "1"

// Report is the rendered model of a verification, and the JSON of
// `toto verify --json` (docs/schema/verify-report.schema.json).
type Report struct {
	// SchemaVersion is SchemaVersion (in sublayouts' reports too).
	SchemaVersion string        `json:"schemaVersion"`
	Passed        bool          `json:"passed"`
	Layout        string        `json:"layout,omitempty"`
	Name          string        `json:"name,omitempty"`
	VerifiedAt    string        `json:"verifiedAt"`
	Expires       string        `json:"expires"`
	Expired       bool          `json:"expired"`
	Signatures    []Signature   `json:"signatures"`
	Steps         []Item        `json:"steps"`
	Inspections   []Item        `json:"inspections"`
	Attestations  []Attestation `json:"attestations,omitempty"`
	// Failures lists every failure (the first MaxList per item in the
	// items; all of them here).
	Failures []Failure `json:"failures"`
	Warnings []Warning `json:"warnings"`

	// html is what only the HTML page shows (not part of the JSON).
	html *htmlInfo
}

// Warning is something that did not fail the verification but should be
// looked at.
type Warning struct {
	// Item is the step or inspection concerned, if any.
	Item    string `json:"item,omitempty"`
	Message string `json:"message"`
}

// String is the warning as one line: "item: message".
func (w Warning) String() string {
	return verifier.Warning{Item: w.Item, Message: w.Message}.String()
}

// Signature is the layout signature check for one layout key.
type Signature struct {
	KeyID string `json:"keyid"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Item is a step or an inspection.
type Item struct {
	Name       string `json:"name"`
	Type       string `json:"type"` // "step" or "inspection"
	Status     string `json:"status"`
	SkipReason string `json:"skipReason,omitempty"`
	// Steps only.
	Threshold  int      `json:"threshold,omitempty"`
	Signers    []string `json:"signers,omitempty"`
	Links      []Link   `json:"links,omitempty"`
	Sublayouts []Report `json:"sublayouts,omitempty"`
	// Inspections only.
	Run      []string `json:"run,omitempty"`
	ExitCode int      `json:"exitCode,omitempty"`
	// Ran says an inspection's command ran (ExitCode is then its status).
	Ran bool `json:"ran,omitempty"`

	Command   []string `json:"command,omitempty"`
	Materials *Rules   `json:"materials,omitempty"`
	Products  *Rules   `json:"products,omitempty"`
	Failures  []string `json:"failures,omitempty"`

	// conclusions lead Failures in the text, as in the HTML page (one
	// per failure, "" past the cap).
	conclusions []string
}

// Link is one piece of evidence found for a step.
type Link struct {
	File      string   `json:"file"`
	Accepted  bool     `json:"accepted"`
	Sublayout bool     `json:"sublayout,omitempty"`
	Signers   []string `json:"signers,omitempty"`
	Reason    string   `json:"reason,omitempty"`
}

// Rules is the outcome of one artifact queue.
type Rules struct {
	Artifacts  int    `json:"artifacts"`
	Unconsumed int    `json:"unconsumed"`
	Rules      []Rule `json:"rules"`
}

// Rule is the outcome of one artifact rule.
type Rule struct {
	Index    int    `json:"index"` // 0-based position in the list
	Rule     string `json:"rule"`
	Type     string `json:"type"`
	From     string `json:"from,omitempty"` // MATCH: the FROM step
	Matched  int    `json:"matched"`
	Consumed int    `json:"consumed"`
	// ConsumedSample holds the first consumed artifacts.
	ConsumedSample []string `json:"consumedSample,omitempty"`
	QueueAfter     int      `json:"queueAfter"`
	DestMissing    bool     `json:"destMissing,omitempty"`
	// Failed counts the artifacts this rule failed (DISALLOW, REQUIRE).
	Failed int `json:"failed"`
	// Missed counts failed artifacts this rule covered but did not
	// consume (near misses): the likely place to look.
	Missed int `json:"missed,omitempty"`
}

// Failure is one failure, typed.
type Failure struct {
	// Type is one of layout-signature, expired, layout, threshold,
	// disagreement, rule, inspection, sublayout, attestation.
	Type     string `json:"type"`
	Item     string `json:"item,omitempty"`
	Kind     string `json:"kind,omitempty"` // materials or products (rule)
	Rule     string `json:"rule,omitempty"`
	Artifact string `json:"artifact,omitempty"`
	Message  string `json:"message"`
	// Conclusion says in plain words what the failure means for the
	// supply chain ("app.tar.gz is not what step package produced: …");
	// Message has the mechanics. The text and HTML reports lead with it.
	Conclusion string `json:"conclusion,omitempty"`
	// Missing says, for a step with no link at all, where toto looked
	// and what else was there (threshold).
	Missing *verifier.MissingLinks `json:"missing,omitempty"`
	// Rule failures: RuleIndex is the failing rule's 0-based position in
	// the item's Kind rules; NearMisses the earlier rules whose pattern
	// covered Artifact but did not consume it. Expected and Actual are the
	// artifact's full digest sets (algorithm → hex) in the FROM step's link
	// (ExpectedFrom, e.g. "products of package") and here, from the
	// closest MATCH rule whose hashes differ.
	RuleIndex    *int              `json:"ruleIndex,omitempty"`
	NearMisses   []NearMiss        `json:"nearMisses,omitempty"`
	Expected     map[string]string `json:"expected,omitempty"`
	Actual       map[string]string `json:"actual,omitempty"`
	ExpectedFrom string            `json:"expectedFrom,omitempty"`
}

// NearMiss is an earlier rule that could have consumed a failed artifact
// but did not, and why.
type NearMiss struct {
	Index  int    `json:"index"`
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
	// Expected and Actual are set for a MATCH rule whose hashes differ.
	Expected map[string]string `json:"expected,omitempty"`
	Actual   map[string]string `json:"actual,omitempty"`
}

// Attestation is the outcome for one attestation.
type Attestation struct {
	Source        string   `json:"source"`
	PredicateType string   `json:"predicateType,omitempty"`
	Signers       []string `json:"signers,omitempty"`
	Subjects      []string `json:"subjects,omitempty"`
	Checked       bool     `json:"checked"`
	Failures      []string `json:"failures,omitempty"`
}

// New builds the report model of a result.
func New(r *verifier.Result, opts Options) *Report {
	max := opts.max()
	rep := &Report{
		SchemaVersion: SchemaVersion,
		Passed:        r.Passed(),
		Layout:        opts.Layout,
		Name:          r.Name,
		VerifiedAt:    r.Now.UTC().Format(time.RFC3339),
		Expired:       r.Expired,
		Failures:      []Failure{},
		Signatures:    []Signature{},
		Warnings:      []Warning{},
	}
	if r.Layout != nil {
		rep.Expires = r.Layout.Expires.UTC().Format(layout.TimeFormat)
	}
	for _, s := range r.Signatures {
		sig := Signature{KeyID: s.KeyID, OK: s.Err == nil}
		if s.Err != nil {
			sig.Error = s.Err.Error()
		}
		rep.Signatures = append(rep.Signatures, sig)
	}
	rep.Steps = make([]Item, 0, len(r.Steps))
	for _, it := range r.Steps {
		rep.Steps = append(rep.Steps, newItem(it, opts, max))
	}
	rep.Inspections = make([]Item, 0, len(r.Inspections))
	for _, it := range r.Inspections {
		rep.Inspections = append(rep.Inspections, newItem(it, opts, max))
	}
	for _, a := range r.Attestations {
		ra := Attestation{Source: a.Source, PredicateType: a.PredicateType, Signers: a.Signers, Subjects: capList(a.Subjects, max), Checked: a.Checked}
		for _, f := range a.Failures {
			ra.Failures = append(ra.Failures, f.Error())
		}
		rep.Attestations = append(rep.Attestations, ra)
	}
	for _, f := range r.Failures {
		nf := newFailure(f)
		if c := conclusion(r, f); c != nf.Message {
			nf.Conclusion = c
		}
		rep.Failures = append(rep.Failures, nf)
	}
	for _, w := range r.Warnings {
		rep.Warnings = append(rep.Warnings, Warning{Item: w.Item, Message: w.Message})
	}
	rep.html = newHTMLInfo(r, opts)
	for _, items := range [][]Item{rep.Steps, rep.Inspections} {
		for i := range items {
			items[i].conclusions = rep.html.ItemConclusions[items[i].Name]
		}
	}
	return rep
}

func newItem(it *verifier.ItemResult, opts Options, max int) Item {
	out := Item{Name: it.Name, Type: "step", Status: string(it.Status), SkipReason: it.SkipReason}
	if it.Inspection {
		out.Type = "inspection"
		out.Run = it.Run
		out.ExitCode, out.Ran = it.ExitCode, it.Ran
	} else {
		out.Threshold = it.Threshold
		out.Signers = it.Signers
		for _, lc := range it.Links {
			out.Links = append(out.Links, Link{File: lc.Source, Accepted: lc.Accepted, Sublayout: lc.Sublayout, Signers: lc.Signers, Reason: lc.Reason})
		}
		for _, sub := range it.Sublayouts {
			out.Sublayouts = append(out.Sublayouts, *New(sub, Options{MaxList: opts.MaxList, Names: opts.Names}))
		}
	}
	if it.Link != nil {
		out.Command = it.Link.Command
	}
	out.Materials = newRules(it.Materials, max)
	out.Products = newRules(it.Products, max)
	for i, f := range it.Failures {
		if i == max {
			out.Failures = append(out.Failures, fmt.Sprintf("… and %d more", len(it.Failures)-max))
			break
		}
		out.Failures = append(out.Failures, f.Error())
	}
	return out
}

func newRules(rs *verifier.RuleSetResult, max int) *Rules {
	if rs == nil {
		return nil
	}
	out := &Rules{Artifacts: rs.Artifacts, Unconsumed: rs.Unconsumed, Rules: []Rule{}}
	missed := map[int]int{}
	for _, rr := range rs.Rules {
		for _, f := range rr.Failures {
			for _, nm := range f.NearMisses {
				missed[nm.RuleIndex]++
			}
		}
	}
	for _, rr := range rs.Rules {
		r := Rule{Index: rr.Index, Rule: rr.Rule.String(), Type: string(rr.Rule.Type), Matched: rr.Matched,
			Consumed: len(rr.Consumed), ConsumedSample: capList(rr.Consumed, max), QueueAfter: rr.QueueAfter,
			DestMissing: rr.DestMissing, Failed: len(rr.Failures), Missed: missed[rr.Index]}
		if rr.Rule.Type == layout.Match {
			r.From = rr.Rule.DestStep
		}
		out.Rules = append(out.Rules, r)
	}
	return out
}

func capList(s []string, max int) []string {
	if len(s) > max {
		return s[:max]
	}
	return s
}

// failureOf returns the first of verifier's failure types that err
// wraps, or nil. The order matters: a SublayoutError unwraps to the
// sublayout's own failures, so it is checked first. newFailure and
// conclusion both switch on its result, so they cannot disagree on what
// a failure is.
func failureOf(err error) error {
	var (
		rf  *verifier.RuleFailure
		se  *verifier.LayoutSignatureError
		ee  *verifier.ExpiredError
		le  *verifier.LayoutError
		te  *verifier.ThresholdError
		de  *verifier.DisagreementError
		ie  *verifier.InspectionError
		sle *verifier.SublayoutError
		ae  *verifier.AttestationError
	)
	switch {
	case errors.As(err, &sle):
		return sle
	case errors.As(err, &rf):
		return rf
	case errors.As(err, &se):
		return se
	case errors.As(err, &ee):
		return ee
	case errors.As(err, &le):
		return le
	case errors.As(err, &te):
		return te
	case errors.As(err, &de):
		return de
	case errors.As(err, &ie):
		return ie
	case errors.As(err, &ae):
		return ae
	}
	return nil
}

func newFailure(err error) Failure {
	f := Failure{Message: err.Error()}
	switch e := failureOf(err).(type) {
	case *verifier.SublayoutError:
		f.Type, f.Item = "sublayout", e.Step
	case *verifier.RuleFailure:
		f.Type, f.Item, f.Kind, f.Rule, f.Artifact = "rule", e.Item, string(e.Kind), e.Rule.String(), e.Artifact
		idx := e.RuleIndex
		f.RuleIndex = &idx
		for _, nm := range e.NearMisses {
			f.NearMisses = append(f.NearMisses, NearMiss{Index: nm.RuleIndex, Rule: nm.Rule.String(), Reason: nm.Reason, Expected: nm.Expected, Actual: nm.Actual})
			if f.Expected == nil && nm.Expected != nil {
				f.Expected, f.Actual = nm.Expected, nm.Actual
				f.ExpectedFrom = strings.ToLower(nm.Rule.DestType) + " of " + nm.Rule.DestStep
			}
		}
	case *verifier.LayoutSignatureError:
		f.Type = "layout-signature"
	case *verifier.ExpiredError:
		f.Type = "expired"
	case *verifier.LayoutError:
		f.Type = "layout"
	case *verifier.ThresholdError:
		f.Type, f.Item, f.Missing = "threshold", e.Step, e.Missing
	case *verifier.DisagreementError:
		f.Type, f.Item = "disagreement", e.Step
	case *verifier.InspectionError:
		f.Type, f.Item = "inspection", e.Inspection
	case *verifier.AttestationError:
		f.Type = "attestation"
	default:
		f.Type = "other"
	}
	return f
}

// JSON writes the report as indented JSON.
func (r *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Text writes the report for a terminal: the verdict first, then the layout
// checks, each step and inspection, every failure (capped, with a count),
// and warnings.
func (r *Report) Text(w io.Writer, opts Options) error {
	var b strings.Builder
	r.text(&b, opts.max(), "")
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) text(b *strings.Builder, max int, indent string) {
	p := func(format string, args ...any) {
		if format == "" {
			b.WriteByte('\n')
			return
		}
		b.WriteString(indent)
		b.WriteString(printable(fmt.Sprintf(format, args...)))
		b.WriteByte('\n')
	}
	what := "supply chain"
	if r.Name != "" {
		what = "sublayout " + r.Name
	}
	if r.Passed {
		p("PASS  %s verified", what)
	} else {
		p("FAIL  %s did not verify: %d failure(s)", what, len(r.Failures))
	}
	p("")
	lay := r.Layout
	switch {
	case r.Name != "":
		lay = "sublayout"
	case lay == "":
		lay = "layout"
	}
	exp := "expires " + r.Expires
	if r.Expired {
		exp = "EXPIRED on " + r.Expires
	}
	p("%s (%s; verified at %s)", lay, exp, r.VerifiedAt)
	for _, s := range r.Signatures {
		if s.OK {
			p("  ok    signed by layout key %s", keys.ShortID(s.KeyID))
		} else {
			p("  FAIL  %s", s.Error)
		}
	}
	if len(r.Steps) > 0 {
		p("")
		p("steps")
	}
	for _, it := range r.Steps {
		it.text(b, max, indent+"  ")
	}
	if len(r.Inspections) > 0 {
		p("")
		p("inspections")
	}
	for _, it := range r.Inspections {
		it.text(b, max, indent+"  ")
	}
	if len(r.Attestations) > 0 {
		p("")
		p("attestations")
		for _, a := range r.Attestations {
			status := "ok  "
			if len(a.Failures) > 0 {
				status = "FAIL"
			}
			p("  %s  %s  %s  signed by %s  about %s", status, a.Source, a.PredicateType, shortList(a.Signers), strings.Join(a.Subjects, ", "))
			for _, f := range a.Failures {
				p("        %s", f)
			}
		}
	}
	// Failures of steps and inspections are shown with them; the rest
	// (layout signature, expiry, attestations) here.
	var other []Failure
	for _, f := range r.Failures {
		if f.Item == "" {
			other = append(other, f)
		}
	}
	if len(other) > 0 {
		p("")
		p("failures")
		for i, f := range other {
			if i == max {
				p("  … and %d more (use --json for all)", len(other)-max)
				break
			}
			if f.Conclusion != "" {
				p("  %s", f.Conclusion)
				p("    %s", f.Message)
			} else {
				p("  %s", f.Message)
			}
		}
	}
	if len(r.Warnings) > 0 {
		p("")
		p("warnings")
		for i, w := range r.Warnings {
			if i == max {
				p("  … and %d more", len(r.Warnings)-max)
				break
			}
			p("  %s", w)
		}
	}
}

func statusWord(s string) string {
	switch s {
	case string(verifier.StatusPassed):
		return "ok  "
	case string(verifier.StatusSkipped):
		return "SKIP"
	}
	return "FAIL"
}

func (it *Item) text(b *strings.Builder, max int, indent string) {
	p := func(format string, args ...any) {
		b.WriteString(indent)
		b.WriteString(printable(fmt.Sprintf(format, args...)))
		b.WriteByte('\n')
	}
	line := fmt.Sprintf("%s  %s", statusWord(it.Status), it.Name)
	if it.Type == "step" {
		line += fmt.Sprintf("  (%d of %d functionaries: %s)", len(it.Signers), it.Threshold, shortList(it.Signers))
	} else if len(it.Run) > 0 && !it.Ran {
		line += fmt.Sprintf("  (runs %q; it did not run)", strings.Join(it.Run, " "))
	} else if len(it.Run) > 0 {
		line += fmt.Sprintf("  (ran %q, exit %d)", strings.Join(it.Run, " "), it.ExitCode)
	}
	p("%s", line)
	if it.SkipReason != "" {
		p("      %s", it.SkipReason)
	}
	for _, q := range []struct {
		name string
		r    *Rules
	}{{"materials", it.Materials}, {"products", it.Products}} {
		if q.r != nil {
			p("      %s: %d artifact(s), %d rule(s), %d left unconsumed", q.name, q.r.Artifacts, len(q.r.Rules), q.r.Unconsumed)
		}
	}
	for _, l := range it.Links {
		if !l.Accepted {
			p("      ignored %s: %s", l.File, l.Reason)
		}
	}
	// Failures with one conclusion (the materials and products failures
	// of one artifact read the same) share its line.
	said := map[string]bool{}
	for i, f := range it.Failures {
		if i < len(it.conclusions) && it.conclusions[i] != "" && it.conclusions[i] != f {
			if c := it.conclusions[i]; !said[c] {
				said[c] = true
				p("      %s", c)
			}
			p("        %s", f)
			continue
		}
		p("      %s", f)
	}
	for i := range it.Sublayouts {
		it.Sublayouts[i].text(b, max, indent+"      ")
	}
}

func shortList(ids []string) string { return namedList(ids, keys.ShortID) }

// namedList names each key id, sorted and comma-separated, or "none":
// the text report by short id, the HTML by functionary name.
func namedList(ids []string, name func(id string) string) string {
	if len(ids) == 0 {
		return "none"
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = name(id)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// printable shows control characters (C0, DEL, C1) and the Unicode line
// separators and bidirectional controls as Go escapes. Names in the report
// come from the evidence, and must not move a terminal's cursor, start a
// line of their own, or reorder what is shown.
func printable(s string) string {
	if !strings.ContainsFunc(s, unprintable) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unprintable(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unprintable(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' ||
		'\u202a' <= r && r <= '\u202e' || '\u2066' <= r && r <= '\u2069'
}
