package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/decision"
	"github.com/toto-dev/toto/imagepolicy"
)

// setFlags are image verify --policy's flags for a policy set.
type setFlags struct {
	namespace, secretsDir string
}

// setFlagNames are the flags only a policy set takes.
var setFlagNames = []string{"namespace", "secrets-dir"}

func (f *setFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.namespace, "namespace", "", "with --policy: evaluate the policy set as admission does for a pod in this Kubernetes namespace (its ImagePolicies and namespace: documents, else the cluster-wide ones)")
	cmd.Flags().StringVar(&f.secretsDir, "secrets-dir", "", "with --policy: directory of Kubernetes Secrets (YAML/JSON) that Portieris policies name (keySecret, signerSecrets, storeSecret)")
}

// imagePolicyVerify is toto image verify --policy: the image policy
// (package imagepolicy) evaluated for IMAGE. A single toto document is
// evaluated on its own; a directory, a file of Portieris resources or of
// several documents, or any --namespace or --secrets-dir makes it a
// policy set (imagepolicy.Set) evaluated as the admission webhook does.
func imagePolicyVerify(cmd *cobra.Command, ref, policyPath string, sf *setFlags, asJSON bool) error {
	st, err := os.Stat(policyPath)
	if err != nil {
		return err
	}
	if st.IsDir() || cmd.Flags().Changed("namespace") || sf.secretsDir != "" {
		return imageSetVerify(cmd, ref, policyPath, sf, asJSON)
	}
	p, err := imagepolicy.Load(policyPath)
	if err != nil {
		// Not one toto document: Portieris resources, several
		// documents — a set of one file.
		if _, serr := imagepolicy.LoadSet(policyPath, imagepolicy.SetOptions{}); serr == nil {
			return imageSetVerify(cmd, ref, policyPath, sf, asJSON)
		}
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
		if err := writeJSON(cmd, map[string]any{"image": t.String(), "digest": t.Digest(), "policy": policyPath, "allowed": d.Allowed(), "decision": d}); err != nil {
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

// setReport is the --json output of a policy set's verdict.
type setReport struct {
	Image     string             `json:"image"`
	Namespace string             `json:"namespace"`
	Allowed   bool               `json:"allowed"`
	Digest    string             `json:"digest,omitempty"`
	Pinned    string             `json:"pinned,omitempty"`
	Mutate    bool               `json:"mutate"`
	Policy    string             `json:"policy"`
	Error     string             `json:"error,omitempty"`
	Decision  *decision.Decision `json:"decision"`
}

func imageSetVerify(cmd *cobra.Command, ref, policyPath string, sf *setFlags, asJSON bool) error {
	s, err := imagepolicy.LoadSet(policyPath, imagepolicy.SetOptions{SecretsDir: sf.secretsDir})
	if err != nil {
		return err
	}
	res, err := s.Evaluate(cmd.Context(), sf.namespace, ref)
	if err != nil {
		return err
	}
	if res.Digest != "" && !strings.Contains(ref, "@") {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s → %s\n", ref, res.Digest)
	}
	denied := res.Err()
	if asJSON {
		rep := setReport{Image: res.Image, Namespace: sf.namespace, Allowed: denied == nil, Digest: res.Digest, Pinned: res.Pinned,
			Mutate: res.Mutate, Policy: res.Policy, Decision: res.Decision}
		if denied != nil {
			rep.Error = denied.Error()
		}
		if err := writeJSON(cmd, rep); err != nil {
			return err
		}
	} else {
		w := cmd.OutOrStdout()
		printDecision(w, res.Decision)
		fmt.Fprintf(w, "  policy: %s\n", visible(res.Policy))
		if res.Mutate {
			fmt.Fprintf(w, "  admission would rewrite the image to %s\n", res.Pinned)
		}
	}
	if denied != nil {
		if asJSON {
			return failed(errors.New(""))
		}
		return failed(denied)
	}
	return nil
}

// printDecision writes a decision as an indented tree of requirements.
func printDecision(w io.Writer, d *decision.Decision) {
	verdict := "ALLOWED"
	if !d.Allowed() {
		verdict = "DENIED"
	}
	fmt.Fprintf(w, "%s  %s\n", verdict, visible(d.Subject))
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
