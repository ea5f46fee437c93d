package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/internal/atomicfile"
	"github.com/toto-dev/toto/internal/boundedio"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/sbom"
)

func init() {
	cmd := &cobra.Command{
		Use:   "layout",
		Short: "Write, check and inspect layouts",
		Long: `Layouts are written as YAML sources (see examples/layout/layout.yaml),
compiled with 'toto layout create', checked with 'toto layout lint', signed by
each owner with 'toto sign', and inspected with 'toto layout show'.`,
	}
	cmd.AddCommand(newLayoutCreateCmd(), newLayoutLintCmd(), newLayoutShowCmd())
	rootCmd.AddCommand(cmd)
}

// expiryWarningFlag registers --expiry-warning (days) on cmd.
func expiryWarningFlag(cmd *cobra.Command, days *int) {
	cmd.Flags().IntVar(days, "expiry-warning", 30, "warn when the layout expires within this many days (0 disables)")
}

func lintOptions(days int, params map[string]string) layout.LintOptions {
	o := layout.LintOptions{ExpiryWarning: time.Duration(days) * 24 * time.Hour, Params: params}
	if days <= 0 {
		o.ExpiryWarning = -1
	}
	return o
}

func newLayoutCreateCmd() *cobra.Command {
	var out string
	var keyPaths []string
	var dsse, force, asJSON bool
	var warnDays int
	cmd := &cobra.Command{
		Use:   "create SOURCE.yaml [-o root.layout]",
		Short: "Compile a YAML layout source into an in-toto layout",
		Long: `Compile a YAML layout source into an in-toto layout: an unsigned Metablock
(or DSSE envelope with --dsse) for the owners to sign with 'toto sign'. Key
file paths in the source are relative to the source file. A relative expiry
such as 90d counts from now.

The layout is linted first; lint errors stop the compilation (exit 2) unless
--force is given, warnings are printed to stderr. With --key the layout is
signed at once by each key given. Without -o it is written to stdout.`,
		Example: `  toto layout create layout.yaml -o root.layout
  toto sign --key owner1 root.layout
  toto sign --key owner2 root.layout`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := layout.LoadSource(args[0], sourceOptions())
			if err != nil {
				return err
			}
			fs := layout.Lint(src.Layout, lintOptions(warnDays, nil))
			for _, f := range fs {
				fmt.Fprintln(cmd.ErrOrStderr(), sourceFinding(src, f))
			}
			if layout.HasErrors(fs) && !force {
				return fmt.Errorf("%s: lint errors above; fix them (or pass --force to write the layout anyway)", args[0])
			}
			payload, err := layout.Payload(src.Layout)
			if err != nil {
				return err
			}
			format := envelope.Metablock
			if dsse {
				format = envelope.DSSE
			}
			env, err := envelope.New(format, envelope.PayloadTypeInToto, payload)
			if err != nil {
				return err
			}
			if err := signWithKeyFiles(cmd.Context(), env, keyPaths); err != nil {
				return err
			}
			b, err := env.Encode()
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				if asJSON {
					return errors.New("--json prints a summary on stdout: give -o FILE for the layout")
				}
				_, err := cmd.OutOrStdout().Write(b)
				return err
			}
			if n := signaturesIn(out); n > 0 && !force {
				return fmt.Errorf("-o %s is a signed layout (%d signature(s)); writing over it drops them: pass --force to replace it, or write elsewhere", out, n)
			}
			if err := atomicfile.Write(out, b, 0o644); err != nil {
				return err
			}
			l := src.Layout
			if asJSON {
				return writeJSON(cmd, map[string]any{"file": out, "steps": len(l.Steps), "inspections": len(l.Inspections), "keys": len(l.Keys),
					"expires": l.Expires.Format(layout.TimeFormat), "signatures": len(env.Signatures), "format": env.Format.String()})
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d step(s), %d inspection(s), %d functionary key(s), expires %s, %d signature(s) (%s)\n",
				out, len(l.Steps), len(l.Inspections), len(l.Keys), l.Expires.Format(layout.TimeFormat), len(env.Signatures), env.Format)
			if len(env.Signatures) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "next: each owner runs  toto sign --key OWNER_KEY %s\n", out)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the layout here (default stdout)")
	cmd.Flags().StringArrayVarP(&keyPaths, "key", "k", nil, "sign with this private key right away (repeatable)")
	cmd.Flags().BoolVar(&dsse, "dsse", false, "write a DSSE envelope instead of a Metablock")
	cmd.Flags().BoolVar(&force, "force", false, "write the layout even if lint finds errors, or over a signed layout at -o")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a summary of the layout written as JSON (needs -o)")
	expiryWarningFlag(cmd, &warnDays)
	return cmd
}

// lintedFile is what lint reports for one file.
type lintedFile struct {
	File     string        `json:"file"`
	Errors   int           `json:"errors"`
	Warnings int           `json:"warnings"`
	Findings []lintFinding `json:"findings"`
}

// lintFinding is a finding with its place in the file, when known.
type lintFinding struct {
	layout.Finding
	Line, Column int
	// Path replaces Location for problems found while compiling a source,
	// which have no place in a layout yet (e.g. `steps[0] "x": products[0]`).
	Path string
}

// MarshalJSON writes the finding as layout.Finding does, plus line and
// column, with Path as the location when set.
func (f lintFinding) MarshalJSON() ([]byte, error) {
	b, err := f.Finding.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if f.Path != "" || f.Code == "source" || f.Code == "parse" {
		m["location"], _ = json.Marshal(f.Path)
		delete(m, "where")
	}
	if f.Line > 0 {
		m["line"], _ = json.Marshal(f.Line)
		m["column"], _ = json.Marshal(f.Column)
	}
	return json.Marshal(m)
}

func (f lintFinding) text(file string) string {
	where := file
	if f.Line > 0 {
		where = fmt.Sprintf("%s:%d:%d", file, f.Line, f.Column)
	}
	loc := f.Location.String()
	if f.Path != "" || f.Code == "source" || f.Code == "parse" {
		loc = f.Path
	}
	if loc != "" {
		loc += ": "
	}
	return fmt.Sprintf("%s: %s: %s%s [%s]", where, f.Severity, loc, f.Message, f.Code)
}

func sourceFinding(src *layout.Source, f layout.Finding) string {
	line, col := src.Position(f.Location)
	return lintFinding{Finding: f, Line: line, Column: col}.text(src.File)
}

func newLayoutLintCmd() *cobra.Command {
	var asJSON, strict bool
	var warnDays int
	var params []string
	cmd := &cobra.Command{
		Use:   "lint FILE...",
		Short: "Check layouts and layout sources for mistakes",
		Long: `Check a YAML layout source or a layout (signed or not, either envelope)
without running anything: unknown steps in MATCH ... FROM, thresholds larger
than the number of functionary keys, unused keys, duplicate names, malformed
rules, rule lists not ending in DISALLOW, patterns that can never match or
that Python and Go in-toto read differently, rules no artifact can reach, and
expired or soon-expiring layouts.

Findings name the file (with line and column for YAML sources), the place in
the layout such as 'steps[1] "package": expected_materials[2]', and a code.

Exit status: 0 when there are no errors (warnings are fine unless --strict),
1 when there are errors, 2 when a file cannot be read.`,
		Example: `  toto layout lint layout.yaml
  toto layout lint --json --strict root.layout`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ps, err := parseLayoutParams(params)
			if err != nil {
				return err
			}
			opts := lintOptions(warnDays, ps)
			var results []lintedFile
			for _, file := range args {
				r, err := lintFile(file, opts)
				if err != nil {
					return err
				}
				results = append(results, r)
			}
			errs, warns := 0, 0
			for _, r := range results {
				errs += r.Errors
				warns += r.Warnings
			}
			if asJSON {
				if err := writeJSON(cmd, results); err != nil {
					return err
				}
			} else {
				w := cmd.OutOrStdout()
				for _, r := range results {
					for _, f := range r.Findings {
						fmt.Fprintln(w, f.text(r.File))
					}
				}
				fmt.Fprintf(w, "%d error(s), %d warning(s) in %d file(s)\n", errs, warns, len(results))
			}
			switch {
			case errs > 0:
				return failed(errors.New(""))
			case strict && warns > 0:
				return failed(errors.New("warnings found (--strict)"))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable output")
	cmd.Flags().BoolVar(&strict, "strict", false, "exit 1 on warnings too")
	cmd.Flags().StringArrayVar(&params, "param", nil, "substitute NAME=VALUE before checking, as the verifier would (repeatable)")
	expiryWarningFlag(cmd, &warnDays)
	return cmd
}

// lintFile lints a YAML source or a layout file. Only an unreadable file is
// an error; a file that does not parse is reported as a finding.
func lintFile(file string, opts layout.LintOptions) (lintedFile, error) {
	r := lintedFile{File: file, Findings: []lintFinding{}}
	data, err := readBounded(file)
	if err != nil {
		return r, err
	}
	add := func(f lintFinding) {
		r.Findings = append(r.Findings, f)
		if f.Severity == layout.Error {
			r.Errors++
		} else {
			r.Warnings++
		}
	}
	if !looksLikeJSON(data) {
		src, err := layout.ParseSource(file, data, layout.SourceOptions{Dir: filepath.Dir(file), CheckSBOMPolicy: checkSBOMPolicy})
		if err != nil {
			for _, e := range splitErrors(err) {
				f := lintFinding{Finding: layout.Finding{Severity: layout.Error, Code: "source", Message: e.Error()}}
				var se *layout.SourceError
				if errors.As(e, &se) {
					f.Line, f.Column, f.Path, f.Message = se.Line, se.Column, se.Path, se.Err.Error()
				}
				add(f)
			}
			return r, nil
		}
		for _, f := range layout.Lint(src.Layout, opts) {
			line, col := src.Position(f.Location)
			add(lintFinding{Finding: f, Line: line, Column: col})
		}
		return r, nil
	}
	l, _, err := parseLayoutFile(data)
	if err != nil {
		add(lintFinding{Finding: layout.Finding{Severity: layout.Error, Code: "parse", Message: err.Error()}})
		return r, nil
	}
	for _, f := range layout.Lint(l, opts) {
		add(lintFinding{Finding: f})
	}
	return r, nil
}

func looksLikeJSON(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n\ufeff")
	return len(t) > 0 && t[0] == '{'
}

// splitErrors undoes errors.Join.
func splitErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// parseLayoutFile reads a layout in either envelope, or a bare payload (a
// layout not yet wrapped); the envelope is nil for a bare payload.
func parseLayoutFile(data []byte) (*layout.Layout, *envelope.Envelope, error) {
	env, envErr := envelope.Parse(data)
	if envErr == nil {
		if err := env.CheckInToto(); err != nil {
			return nil, nil, err
		}
		l, err := layout.Parse(env.Payload())
		return l, env, err
	}
	l, err := layout.Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("neither a layout envelope (%v) nor a bare layout (%w)", envErr, err)
	}
	return l, nil, nil
}

func parseLayoutParams(list []string) (map[string]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, p := range list {
		name, value, ok := strings.Cut(p, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("--param %q: want NAME=VALUE", p)
		}
		out[name] = value
	}
	return out, nil
}

// Output of toto layout show --json.
type (
	shownLayout struct {
		File        string            `json:"file"`
		Envelope    string            `json:"envelope"` // metablock, dsse or none
		Expires     string            `json:"expires"`
		Expired     bool              `json:"expired"`
		Readme      string            `json:"readme"`
		Parameters  []string          `json:"parameters"`
		Keys        []shownKey        `json:"functionaries"`
		Steps       []shownStep       `json:"steps"`
		Inspections []shownInspection `json:"inspections"`
		Signatures  []shownSignature  `json:"signatures"`
	}
	shownKey struct {
		KeyID   string `json:"keyid"`
		Name    string `json:"name,omitempty"`
		KeyType string `json:"keytype"`
		Scheme  string `json:"scheme"`
	}
	shownFunctionary struct {
		KeyID string `json:"keyid"`
		Name  string `json:"name,omitempty"`
	}
	shownStep struct {
		Name          string             `json:"name"`
		Threshold     int                `json:"threshold"`
		Functionaries []shownFunctionary `json:"functionaries"`
		Command       []string           `json:"expected_command"`
		Materials     []string           `json:"expected_materials"`
		Products      []string           `json:"expected_products"`
	}
	shownInspection struct {
		Name      string   `json:"name"`
		Run       []string `json:"run"`
		Materials []string `json:"expected_materials"`
		Products  []string `json:"expected_products"`
	}
	shownSignature struct {
		KeyID string `json:"keyid"`
		Name  string `json:"name,omitempty"`
		// Status is "valid", "invalid" or "missing" for a --layout-key,
		// "unchecked" for other signatures.
		Status string `json:"status"`
		Error  string `json:"error,omitempty"`
	}
)

func newLayoutShowCmd() *cobra.Command {
	var asJSON bool
	var layoutKeys []string
	var source string
	cmd := &cobra.Command{
		Use:   "show LAYOUT",
		Short: "Print a layout's steps, functionaries, thresholds and signatures",
		Long: `Print what a layout requires: its steps with their functionaries and
thresholds, artifact rules and commands, its inspections, its parameters, and
which keys have signed it.

Functionaries are named when --source gives the YAML source the layout was
compiled from, otherwise shown by keyid. Each --layout-key is checked: the
output says whether that owner's signature is valid, invalid or missing,
and the exit status is 1 unless every one of them has validly signed.`,
		Example: `  toto layout show root.layout
  toto layout show root.layout --source layout.yaml --layout-key owner1.pub --layout-key owner2.pub`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readBounded(args[0])
			if err != nil {
				return err
			}
			l, env, err := parseLayoutFile(data)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			names := map[string]string{}
			if source != "" {
				src, err := layout.LoadSource(source, sourceOptions())
				if err != nil {
					return err
				}
				for id := range l.Keys {
					if n, ok := src.FunctionaryName(id); ok {
						names[id] = n
					}
				}
			}
			var owners []*keys.Key
			ownerNames := map[string]string{}
			for _, p := range layoutKeys {
				k, err := loadKey(p)
				if err != nil {
					return err
				}
				owners = append(owners, k.Public())
				ownerNames[k.ID()] = filepath.Base(p)
			}
			if len(owners) > 0 && env == nil {
				return failed(fmt.Errorf("%s: not signed at all (a bare layout payload)", args[0]))
			}
			s := describeLayout(args[0], l, env, names, owners, ownerNames)
			if asJSON {
				if err := writeJSON(cmd, s); err != nil {
					return err
				}
			} else {
				printLayout(cmd.OutOrStdout(), s, time.Now())
			}
			bad := 0
			for _, sig := range s.Signatures {
				if sig.Status == "invalid" || sig.Status == "missing" {
					bad++
				}
			}
			if bad > 0 {
				return failed(fmt.Errorf("%s: %d of %d layout keys have no valid signature", args[0], bad, len(owners)))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable output")
	cmd.Flags().StringArrayVar(&layoutKeys, "layout-key", nil, "an owner's public key whose signature must be valid (repeatable)")
	cmd.Flags().StringVar(&source, "source", "", "YAML source of the layout, to name functionaries")
	return cmd
}

func describeLayout(file string, l *layout.Layout, env *envelope.Envelope, names map[string]string,
	owners []*keys.Key, ownerNames map[string]string) shownLayout {
	s := shownLayout{
		File:        file,
		Envelope:    "none",
		Expires:     l.Expires.UTC().Format(layout.TimeFormat),
		Expired:     l.Expired(time.Now()),
		Readme:      l.Readme,
		Parameters:  layout.Parameters(l),
		Keys:        []shownKey{},
		Steps:       []shownStep{},
		Inspections: []shownInspection{},
		Signatures:  []shownSignature{},
	}
	ids := make([]string, 0, len(l.Keys))
	for id := range l.Keys {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if names[ids[i]] != names[ids[j]] {
			return names[ids[i]] < names[ids[j]]
		}
		return ids[i] < ids[j]
	})
	for _, id := range ids {
		k := l.Keys[id]
		s.Keys = append(s.Keys, shownKey{KeyID: id, Name: names[id], KeyType: k.Type, Scheme: k.Scheme})
	}
	for _, st := range l.Steps {
		sh := shownStep{Name: st.Name, Threshold: st.Threshold, Functionaries: []shownFunctionary{},
			Command: nonNil(st.ExpectedCommand), Materials: ruleTexts(st.ExpectedMaterials), Products: ruleTexts(st.ExpectedProducts)}
		for _, id := range st.PubKeys {
			sh.Functionaries = append(sh.Functionaries, shownFunctionary{KeyID: id, Name: names[id]})
		}
		s.Steps = append(s.Steps, sh)
	}
	for _, in := range l.Inspections {
		s.Inspections = append(s.Inspections, shownInspection{Name: in.Name, Run: nonNil(in.Run),
			Materials: ruleTexts(in.ExpectedMaterials), Products: ruleTexts(in.ExpectedProducts)})
	}
	if env == nil {
		return s
	}
	s.Envelope = env.Format.String()
	// Layout keys first, in the order given, then any other signatures.
	checked := map[string]bool{}
	for _, c := range layout.CheckSignatures(env, owners) {
		sig := shownSignature{KeyID: c.KeyID, Name: ownerNames[c.KeyID], Status: "valid"}
		switch {
		case errors.Is(c.Err, envelope.ErrNoSignature):
			sig.Status, sig.Error = "missing", "has not signed"
		case c.Err != nil:
			sig.Status, sig.Error = "invalid", c.Err.Error()
		}
		s.Signatures = append(s.Signatures, sig)
	}
	for _, o := range owners {
		for _, id := range env.SignerIDs() {
			if o.HasID(id) {
				checked[id] = true
			}
		}
	}
	for _, id := range env.SignerIDs() {
		if checked[id] {
			continue
		}
		name := names[id]
		if name != "" {
			name += " (a functionary)"
		}
		s.Signatures = append(s.Signatures, shownSignature{KeyID: id, Name: name, Status: "unchecked"})
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func ruleTexts(rs []layout.Rule) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, shellQuoteWords(r.List()))
	}
	return out
}

// shellQuoteWords renders words so that a layout source (or a shell) would
// split them back the same way.
func shellQuoteWords(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		if w != "" && !strings.ContainsAny(w, " \t\n\"'\\*?[$`;&|<>()#~") {
			out[i] = w
			continue
		}
		out[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}

func (f shownFunctionary) label() string {
	if f.Name != "" {
		return f.Name
	}
	return keys.ShortID(f.KeyID)
}

func printLayout(w io.Writer, s shownLayout, now time.Time) {
	signed := fmt.Sprintf("%d signature(s)", len(s.Signatures))
	if s.Envelope == "none" {
		signed = "unsigned payload"
	}
	fmt.Fprintf(w, "%s: in-toto layout, %s envelope, %s\n", s.File, s.Envelope, signed)
	exp, _ := time.Parse(layout.TimeFormat, s.Expires)
	if d := exp.Sub(now); d > 0 {
		fmt.Fprintf(w, "expires     %s (in %d days)\n", s.Expires, int(d.Hours()/24))
	} else {
		fmt.Fprintf(w, "expires     %s (EXPIRED %d days ago)\n", s.Expires, int(-d.Hours()/24))
	}
	if s.Readme != "" {
		lines := strings.Split(strings.TrimRight(s.Readme, "\n"), "\n")
		fmt.Fprintf(w, "readme      %s\n", strings.Join(lines, "\n            "))
	}
	if len(s.Parameters) > 0 {
		fmt.Fprintf(w, "parameters  %s (give values with --param NAME=VALUE)\n", strings.Join(s.Parameters, ", "))
	}
	fmt.Fprintf(w, "\nfunctionaries (%d keys)\n", len(s.Keys))
	for _, k := range s.Keys {
		name := k.Name
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(w, "  %-12s %s  %s/%s\n", name, k.KeyID, k.KeyType, k.Scheme)
	}
	rules := func(label string, rs []string) {
		if len(rs) == 0 {
			fmt.Fprintf(w, "     %-10s (none: anything goes)\n", label)
			return
		}
		for i, r := range rs {
			if i == 0 {
				fmt.Fprintf(w, "     %-10s %s\n", label, r)
			} else {
				fmt.Fprintf(w, "     %-10s %s\n", "", r)
			}
		}
	}
	fmt.Fprintf(w, "\nsteps (%d)\n", len(s.Steps))
	for i, st := range s.Steps {
		var who []string
		for _, f := range st.Functionaries {
			who = append(who, f.label())
		}
		fmt.Fprintf(w, "  %d. %s: threshold %d of %d [%s]\n", i+1, st.Name, st.Threshold, len(st.Functionaries), strings.Join(who, ", "))
		if len(st.Command) > 0 {
			fmt.Fprintf(w, "     %-10s %s\n", "command", shellQuoteWords(st.Command))
		}
		rules("materials", st.Materials)
		rules("products", st.Products)
	}
	if len(s.Inspections) > 0 {
		fmt.Fprintf(w, "\ninspections (%d)\n", len(s.Inspections))
		for i, in := range s.Inspections {
			fmt.Fprintf(w, "  %d. %s\n", i+1, in.Name)
			fmt.Fprintf(w, "     %-10s %s\n", "run", shellQuoteWords(in.Run))
			rules("materials", in.Materials)
			rules("products", in.Products)
		}
	}
	if s.Envelope == "none" {
		return
	}
	fmt.Fprintf(w, "\nsignatures\n")
	if len(s.Signatures) == 0 {
		fmt.Fprintln(w, "  (none yet: owners sign with 'toto sign --key KEY FILE')")
	}
	for _, sig := range s.Signatures {
		line := fmt.Sprintf("  %s  %s", sig.KeyID, sig.Status)
		if sig.Name != "" {
			line += "  " + sig.Name
		}
		if sig.Error != "" {
			line += ": " + sig.Error
		}
		fmt.Fprintln(w, line)
	}
}

// sourceOptions compiles layout sources with the SBOM policy checked by
// package sbom, which knows its shape.
func sourceOptions() layout.SourceOptions {
	return layout.SourceOptions{CheckSBOMPolicy: checkSBOMPolicy}
}

func checkSBOMPolicy(policy []byte) error {
	_, err := sbom.ParsePolicy(policy)
	return err
}

// signaturesIn counts the signatures of the envelope in file, 0 if there
// is none or it is not one.
func signaturesIn(file string) int {
	data, err := boundedio.ReadFile(file, maxMetadataSize)
	if err != nil {
		return 0
	}
	env, err := envelope.Parse(data)
	if err != nil {
		return 0
	}
	return len(env.Signatures)
}
