package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/imagepolicy"
)

// imagePolicyVerify is toto image verify --policy: the image policy
// (package imagepolicy) evaluated for IMAGE.
func imagePolicyVerify(cmd *cobra.Command, ref, policyPath string, asJSON bool) error {
	p, err := imagepolicy.Load(policyPath)
	if err != nil {
		return err
	}
	t, err := openImage(cmd, ref)
	if err != nil {
		return err
	}
	d, err := p.Evaluate(cmd.Context(), ref, t)
	if err != nil {
		return err
	}
	if asJSON {
		if err := writeJSON(cmd, map[string]any{"image": t.String(), "allowed": d.Allowed(), "decision": d}); err != nil {
			return err
		}
	} else {
		printDecision(cmd.OutOrStdout(), d)
	}
	if !d.Allowed() {
		if asJSON {
			return failed(errors.New(""))
		}
		return failed(fmt.Errorf("%s is not allowed by %s", t, policyPath))
	}
	return nil
}

// printDecision writes a decision as an indented tree of requirements.
func printDecision(w io.Writer, d *decision.Decision) {
	verdict := "ALLOWED"
	if !d.Allowed() {
		verdict = "DENIED"
	}
	fmt.Fprintf(w, "%s  %s\n", verdict, d.Subject)
	var walk func(r decision.Requirement, depth int)
	walk = func(r decision.Requirement, depth int) {
		line := fmt.Sprintf("%s%-9s %-7s %s", strings.Repeat("  ", depth+1), r.Outcome, r.Action, r.Name)
		if r.Reason != "" && len(r.Children) == 0 {
			line += ": " + r.Reason
		}
		fmt.Fprintln(w, visible(line))
		for _, c := range r.Children {
			walk(c, depth+1)
		}
	}
	for _, r := range d.Requirements {
		walk(r, 0)
	}
}

// visible shows control characters (from names an attacker may choose) as
// escapes, so that they cannot rewrite the terminal.
func visible(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			fmt.Fprintf(&b, "\\x%02x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
