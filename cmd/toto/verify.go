package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/toto-dev/toto"

	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/internal/atomicfile"
	"github.com/toto-dev/toto/internal/boundedio"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/trust"
	"github.com/toto-dev/toto/verifier"
	"github.com/toto-dev/toto/verifier/report"
)

func init() { rootCmd.AddCommand(newVerifyCmd()) }

type verifyFlags struct {
	layout         string
	layoutKeys     []string
	links          string
	params         []string
	workdir        string
	timeout        time.Duration
	subInspections bool
	attestations   []string
	sbomPolicy     string
	asJSON         bool
	reportPath     string
	maxList        int
	inspLinks      string
	tuf            tufFlags
	layoutTarget   string
	names          string
}

func newVerifyCmd() *cobra.Command {
	var f verifyFlags
	cmd := &cobra.Command{
		Use:   "verify (--layout LAYOUT --layout-key KEY... | --tuf-root ROOT --tuf-url URL) --links DIR",
		Short: "Verify a supply chain against its signed layout (in-toto v1.0)",
		Long: `Verify the supply chain described by a signed layout, with the evidence in a
links folder, as in-toto verification (spec v1.0, section 5) does:

  - every --layout-key signed the layout, and it has not expired;
  - --param values are substituted for {NAME} in rules and commands;
  - each step has links ("<step>.<keyid prefix>.link": Metablock, DSSE,
    a link attestation from toto run --attest, or a keyed Sigstore bundle)
    signed by at least threshold distinct authorised functionaries, all
    reporting the same artifacts; a link holding a layout is a sublayout,
    verified recursively with its links in the folder "<step>.<keyid prefix>";
  - a step run with another command than expected is a warning;
  - every step's artifact rules hold (MATCH, CREATE, DELETE, MODIFY, ALLOW,
    DISALLOW, REQUIRE, with the Python reference's semantics);
  - then inspections run, each in a fresh copy of --workdir (your files are
    never changed), and their rules hold;
  - optionally, --attestation files (signed in-toto Statements) are about a
    final product (a product of the last step) and signed by a key of the
    layout; SBOM attestations must satisfy the layout's "sbom" policy and
    any --sbom-policy.

The report says which step, which rule, which artifact failed and why. It is
text on stdout, or JSON with --json; --report also writes a self-contained
HTML page drawing the chain.

With --tuf-root and --tuf-url the layout and its owners' keys come from a
TUF repository instead of files (docs/trust.md): the metadata is refreshed
from the pinned root.json (following key rotations), and the layout is the
verified target --layout-target (default toto/root.layout), signed by every
toto/owners/*.pub target (or by the owners its custom field lists).
Metadata is cached in --tuf-cache; --tuf-offline uses the cache alone,
until it expires. Expired, rolled-back or mixed metadata, or a target whose
hash differs, is an input error (exit 2). --layout with --tuf-root takes
the layout from the file and only the owners from TUF.

Exit codes: 0 verified, 1 verification failed, 2 usage or input error.`,
		Example: `  toto verify --layout root.layout --layout-key owner.pub --links links/
  toto verify --tuf-root root.json --tuf-url https://trust.example.com/ --links links/
  toto verify --layout root.layout --layout-key alice.pub --layout-key bob.pub \
      --links links/ --param VERSION=1.2.0 --report report.html
  toto verify --layout root.layout --layout-key owner.pub --links links/ --json | jq .failures`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.layout, "layout", "l", "", "signed layout file (required)")
	fl.StringArrayVarP(&f.layoutKeys, "layout-key", "k", nil, "public key that must have signed the layout (repeatable; at least one)")
	fl.StringVar(&f.links, "links", ".", "folder holding the link files")
	// in-toto-verify's name for it, so that its command lines work.
	fl.StringVarP(&f.links, "link-dir", "d", ".", "alias of --links (in-toto-verify's name)")
	fl.StringArrayVar(&f.params, "param", nil, "layout parameter NAME=VALUE (repeatable)")
	fl.StringVar(&f.workdir, "workdir", ".", "folder inspections see (a temporary copy of it)")
	fl.DurationVar(&f.timeout, "inspection-timeout", verifier.DefaultInspectionTimeout, "bound each inspection (recording, command, recording) and the copy of --workdir to this long")
	fl.BoolVar(&f.subInspections, "run-sublayout-inspections", false, "also run inspections of sublayouts signed by a functionary rather than a layout owner (their commands run with your rights)")
	fl.StringArrayVar(&f.attestations, "attestation", nil, "signed in-toto Statement about the final product (repeatable)")
	fl.StringVar(&f.sbomPolicy, "sbom-policy", "", "SBOM policy file (YAML or JSON: denyLicenses, denyComponents, requireSBOM)")
	fl.BoolVar(&f.asJSON, "json", false, "print the report as JSON")
	fl.StringVar(&f.reportPath, "report", "", "also write the report as a self-contained HTML page to this file")
	fl.StringVar(&f.names, "names", "", "layout source (YAML) whose functionaries name the keys in the HTML report")
	fl.IntVar(&f.maxList, "max-list", 20, "show at most this many artifacts or failures per list in text and HTML")
	fl.StringVar(&f.inspLinks, "inspection-links", "", "write the (unsigned) links inspections recorded to this folder, as <name>.link")
	fl.SetNormalizeFunc(inTotoFlagNames)
	f.tuf.register(cmd, "take the layout and its owners' keys from that TUF repository")
	fl.StringVar(&f.layoutTarget, "layout-target", trust.TargetLayout, "TUF target holding the root layout")
	return cmd
}

func runVerify(ctx context.Context, stdout, stderr io.Writer, f verifyFlags) error {
	src, err := tufSource(f)
	if err != nil {
		return err
	}
	// Warnings about the flags go into the report with the
	// verification's own, in the one warning shape of text, JSON and HTML.
	var keyWarnings []report.Warning
	if src == nil {
		if f.layout == "" {
			return fmt.Errorf("--layout is required (or --tuf-root and --tuf-url)")
		}
		if len(f.layoutKeys) == 0 {
			return fmt.Errorf("at least one --layout-key is required: verification must be anchored in the layout owners' keys")
		}
		if keyWarnings, err = checkLayoutKeys(f.layoutKeys); err != nil {
			return err
		}
	}
	params, err := parseLayoutParams(f.params)
	if err != nil {
		return err
	}
	if st, err := os.Stat(f.workdir); err != nil || !st.IsDir() {
		return fmt.Errorf("--workdir %s is not a folder", f.workdir)
	}
	opts := toto.ChainOptions{
		Layout:                  f.layout,
		LayoutKeys:              f.layoutKeys,
		Links:                   f.links,
		Params:                  params,
		Workdir:                 f.workdir,
		InspectionTimeout:       f.timeout,
		RunSublayoutInspections: f.subInspections,
		Attestations:            f.attestations,
		SBOMPolicy:              f.sbomPolicy,
	}
	if src != nil {
		opts.Trust = src
	}
	if isTerminal(os.Stderr) {
		// Inspection output is recorded either way; show it live only to
		// a person.
		opts.InspectionOutput = os.Stderr
	}
	res, err := toto.VerifyChain(ctx, opts)
	if err != nil {
		for _, w := range keyWarnings {
			fmt.Fprintf(stderr, "toto: warning: %s\n", w.Message)
		}
		return err
	}
	if f.inspLinks != "" {
		if err := writeInspectionLinks(f.inspLinks, res); err != nil {
			return err
		}
	}
	ropts := report.Options{Layout: f.layout, MaxList: f.maxList}
	if src != nil && f.layout == "" {
		ropts.Layout = "TUF " + f.tuf.url + " " + src.LayoutTarget
	}
	if f.reportPath != "" {
		if err := htmlReportOptions(&ropts, f, res); err != nil {
			return err
		}
	}
	rep := report.New(res, ropts)
	if len(keyWarnings) > 0 {
		rep.Warnings = append(keyWarnings, rep.Warnings...)
	}
	if f.reportPath != "" {
		var page bytes.Buffer
		if err := rep.HTML(&page); err != nil {
			return err
		}
		if err := atomicfile.Write(f.reportPath, page.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if f.asJSON {
		err = rep.JSON(stdout)
	} else {
		err = rep.Text(stdout, ropts)
	}
	if err != nil {
		return err
	}
	if !res.Passed() {
		if !f.asJSON {
			// The text's first line said it; exit 1 says it to scripts.
			return failed(errors.New(""))
		}
		return failed(fmt.Errorf("verification failed: %d failure(s)", len(res.Failures)))
	}
	return nil
}

// tufFlags name a TUF repository of trust material (toto verify, toto
// image verify).
type tufFlags struct {
	root, url, cache string
	offline          bool
}

func (t *tufFlags) register(cmd *cobra.Command, what string) {
	fl := cmd.Flags()
	fl.StringVar(&t.root, "tuf-root", "", "pinned TUF root.json: "+what)
	fl.StringVar(&t.url, "tuf-url", "", "TUF metadata URL (targets under URL/targets), or oci://REGISTRY/REPO[:TAG] for a repository pushed with toto trust publish --oci")
	fl.StringVar(&t.cache, "tuf-cache", "", "TUF metadata cache folder (default: per URL under the user cache folder)")
	fl.BoolVar(&t.offline, "tuf-offline", false, "use the cached TUF metadata only (until it expires)")
}

// source is the TUF repository the flags name, or nil when they name none.
func (t *tufFlags) source(layoutTarget string, noLayout bool) (*trust.TUF, error) {
	if t.root == "" {
		if t.url != "" || t.offline || t.cache != "" {
			return nil, fmt.Errorf("--tuf-url, --tuf-cache and --tuf-offline need --tuf-root")
		}
		return nil, nil
	}
	if t.url == "" {
		return nil, fmt.Errorf("--tuf-url is required with --tuf-root (it also names the cache, offline)")
	}
	root, err := readBounded(t.root)
	if err != nil {
		return nil, fmt.Errorf("--tuf-root: %w", err)
	}
	cache := t.cache
	if cache == "" {
		if cache, err = trust.DefaultTUFCacheDir(t.url); err != nil {
			return nil, err
		}
	}
	return &trust.TUF{
		TrustedRoot:  root,
		MetadataURL:  t.url,
		CacheDir:     cache,
		Offline:      t.offline,
		LayoutTarget: layoutTarget,
		NoLayout:     noLayout,
	}, nil
}

// tufSource is the TUF repository toto verify's flags name, or nil.
func tufSource(f verifyFlags) (*trust.TUF, error) {
	if f.tuf.root != "" && len(f.layoutKeys) > 0 {
		return nil, fmt.Errorf("--layout-key and --tuf-root both name the layout owners: give one")
	}
	return f.tuf.source(f.layoutTarget, f.layout != "")
}

// writeInspectionLinks saves what each inspection recorded, unsigned, as
// the Python reference does in its working directory.
func writeInspectionLinks(dir string, res *verifier.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, it := range res.Inspections {
		if it.Link == nil {
			continue
		}
		payload, err := it.Link.MarshalJSON()
		if err != nil {
			return err
		}
		env, err := envelope.New(envelope.Metablock, "", payload)
		if err != nil {
			return err
		}
		b, err := env.Encode()
		if err != nil {
			return err
		}
		name := filepath.Base(it.Name) + ".link"
		if it.Name != filepath.Base(it.Name) || it.Name == "." || it.Name == ".." {
			return fmt.Errorf("inspection name %q cannot be a file name", it.Name)
		}
		if err := atomicfile.Write(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// checkLayoutKeys reads each --layout-key once more for what a person
// needs to hear: a missing file named with its flag, and a private key
// given where the owner's public key belongs (it works, its public half is
// used, but a private key does not belong on a verifying machine).
func checkLayoutKeys(paths []string) ([]report.Warning, error) {
	var warnings []report.Warning
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("--layout-key %s: no such file", p)
			}
			return nil, fmt.Errorf("--layout-key %s: %w", p, err)
		}
		k, err := keys.Load(p)
		switch {
		case errors.Is(err, keys.ErrPasswordRequired):
			return nil, fmt.Errorf("--layout-key %s is an encrypted private key: give the layout owner's public key (%s)", p, pubName(p))
		case err != nil:
			return nil, fmt.Errorf("--layout-key: %w", err)
		case k.IsPrivate():
			warnings = append(warnings, report.Warning{Message: fmt.Sprintf("--layout-key %s is a private key; only its public half is used. Give the owner's public key (%s) and keep private keys off the machines that verify.", p, pubName(p))})
		}
	}
	return warnings, nil
}

// pubName is the public key file that usually sits beside a private key.
func pubName(p string) string {
	return strings.TrimSuffix(p, filepath.Ext(p)) + ".pub"
}

// htmlReportOptions adds what the HTML report headlines: toto's version,
// the layout file's digest, and names for the keys (--names).
func htmlReportOptions(ropts *report.Options, f verifyFlags, res *verifier.Result) error {
	ropts.Version = version()
	if f.layout != "" {
		data, err := boundedio.ReadFile(f.layout, toto.MaxMetadataSize)
		if err != nil {
			return fmt.Errorf("--layout %s: %w", f.layout, err)
		}
		ropts.LayoutDigest = fmt.Sprintf("sha256:%x", sha256.Sum256(data))
	}
	if f.names == "" {
		return nil
	}
	src, err := layout.LoadSource(f.names, layout.SourceOptions{})
	if err != nil {
		return fmt.Errorf("--names %s: %w", f.names, err)
	}
	ropts.Names = map[string]string{}
	var ids []string
	for _, s := range res.Signatures {
		ids = append(ids, s.KeyID)
	}
	var walk func(r *verifier.Result)
	walk = func(r *verifier.Result) {
		if r.Layout != nil {
			for id := range r.Layout.Keys {
				ids = append(ids, id)
			}
		}
		for _, it := range r.Steps {
			ids = append(ids, it.Signers...)
			for _, sub := range it.Sublayouts {
				walk(sub)
			}
		}
	}
	walk(res)
	for _, id := range ids {
		if n, ok := src.FunctionaryName(id); ok {
			ropts.Names[id] = n
		}
	}
	return nil
}
