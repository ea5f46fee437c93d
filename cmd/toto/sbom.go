package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/internal/atomicfile"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/sbom"
)

func init() { rootCmd.AddCommand(newSBOMCmd()) }

// Input kinds for toto sbom --input.
const (
	inputAuto     = "auto"
	inputDir      = "dir"
	inputFiles    = "files"
	inputGoBinary = "go-binary"
	inputGoModule = "go-module"
	inputNPM      = "npm"
)

func newSBOMCmd() *cobra.Command {
	var (
		format     string
		out        string
		inputKind  string
		name       string
		created    string
		modCache   string
		noLicenses bool
		noDev      bool
		attest     bool
		keyPath    string
		subjects   []string
		jsonOut    bool
	)
	cmd := &cobra.Command{
		Use:   "sbom [flags] INPUT...",
		Short: "Generate an SPDX or CycloneDX SBOM, optionally as a signed in-toto attestation",
		Long: `Generate a software bill of materials for INPUT.

INPUT may be a directory or files (each file becomes a component with its
SHA-1/SHA-256/SHA-512), a Go binary (its embedded build information: main
module, linked modules with go.sum hashes, Go standard library), a go.mod
(with the go.sum beside it), or an npm package-lock.json (lockfileVersion 2
or 3). With --input auto (the default) a single INPUT is recognised by its
name and content; several INPUTs, or a directory, are treated as a set of
artifacts in which Go binaries, go.mod and package-lock.json files also add
their packages.

Go module licenses are read from LICENSE/COPYING files in the module cache
(--modcache, default: $GOMODCACHE or $GOPATH/pkg/mod) and classified as MIT,
Apache-2.0, BSD-2-Clause, BSD-3-Clause, ISC or MPL-2.0; otherwise NOASSERTION.

Formats: spdx-json (SPDX 2.3), spdx-tv (SPDX 2.3 tag-value), cyclonedx-json
and cyclonedx-xml (CycloneDX 1.6). Output is deterministic: the creation time
is --created, else $SOURCE_DATE_EPOCH, else now, and the SPDX namespace and
CycloneDX serial number derive from the content.

With --attest the SBOM (spdx-json or cyclonedx-json) becomes the predicate of
an in-toto Statement v1 (predicateType https://spdx.dev/Document or
https://cyclonedx.org/bom) about each --subject (default: the single INPUT
file), signed with --key in a DSSE envelope.`,
		Example: `  toto sbom ./dist -o dist.spdx.json
  toto sbom --format cyclonedx-xml package-lock.json -o bom.xml
  toto sbom --attest --key build.pem --subject bin/app --format cyclonedx-json bin/app -o app.cdx.att.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := sbom.ParseFormat(format)
			if err != nil {
				return err
			}
			createdAt, err := creationTime(created)
			if err != nil {
				return err
			}
			if attest && keyPath == "" {
				return errors.New("--attest needs --key")
			}
			if !attest && (keyPath != "" || len(subjects) > 0) {
				return errors.New("--key and --subject only apply with --attest")
			}
			var opts []sbom.Option
			if modCache != "" {
				opts = append(opts, sbom.WithModCache(modCache))
			}
			if noLicenses {
				opts = append(opts, sbom.WithoutLicenseDetection())
			}
			if noDev {
				opts = append(opts, sbom.WithoutDevDependencies())
			}
			if name != "" {
				opts = append(opts, sbom.WithName(name))
			}
			ctx := cmd.Context()
			inv, err := collect(ctx, inputKind, args, opts)
			if err != nil {
				return err
			}
			eo := sbom.EncodeOptions{Created: createdAt}

			summary := sbomSummary{Format: string(f), Components: len(inv.All()), Output: out}
			var data []byte
			if attest {
				if _, err := f.PredicateType(); err != nil {
					return err
				}
				if len(subjects) == 0 {
					if len(args) != 1 {
						return errors.New("--attest with several inputs needs --subject")
					}
					if st, err := os.Stat(args[0]); err != nil || st.IsDir() {
						return fmt.Errorf("--attest: %s is not a file; name the artifact with --subject", args[0])
					}
					subjects = args
				}
				subs, err := sbom.SubjectsForFiles(ctx, subjects...)
				if err != nil {
					return err
				}
				k, err := loadKey(keyPath)
				if err != nil {
					return err
				}
				env, err := sbom.Attest(ctx, inv, f, subs, k, eo)
				if err != nil {
					return err
				}
				if data, err = env.Encode(); err != nil {
					return err
				}
				summary.PredicateType, _ = f.PredicateType()
				summary.KeyID = k.ID()
				for _, s := range subs {
					summary.Subjects = append(summary.Subjects, s.Name)
				}
			} else if data, err = inv.Encode(f, eo); err != nil {
				return err
			}

			if out == "" {
				if jsonOut {
					return errors.New("--json needs -o: the SBOM itself goes to stdout otherwise")
				}
				_, err := cmd.OutOrStdout().Write(data)
				return err
			}
			if err := atomicfile.Write(out, data, 0o644); err != nil {
				return err
			}
			if jsonOut {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(summary)
			}
			what := "SBOM"
			if attest {
				what = "signed SBOM attestation"
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s (%s, %d components)\n", out, what, f, summary.Components)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&format, "format", "f", string(sbom.SPDXJSON), "output format: spdx-json, spdx-tv, cyclonedx-json, cyclonedx-xml")
	fl.StringVarP(&out, "output", "o", "", "write to this file (atomically) instead of stdout")
	fl.StringVar(&inputKind, "input", inputAuto, "what INPUT is: auto, dir, files, go-binary, go-module, npm")
	fl.StringVar(&name, "name", "", "document name (default: derived from INPUT)")
	fl.StringVar(&created, "created", "", "creation time, RFC 3339 (default: $SOURCE_DATE_EPOCH, else now)")
	fl.StringVar(&modCache, "modcache", "", "Go module cache to read module licenses from")
	fl.BoolVar(&noLicenses, "no-licenses", false, "do not look up Go module licenses")
	fl.BoolVar(&noDev, "no-dev", false, "leave out npm dev dependencies")
	fl.BoolVar(&attest, "attest", false, "wrap the SBOM in a signed in-toto Statement (DSSE)")
	fl.StringVarP(&keyPath, "key", "k", "", "private key to sign the attestation with")
	fl.StringArrayVar(&subjects, "subject", nil, "artifact the attestation is about (repeatable; default: the single INPUT file)")
	fl.BoolVar(&jsonOut, "json", false, "print a JSON summary to stdout (with -o)")

	cmd.AddCommand(newSBOMCheckCmd())
	return cmd
}

type sbomSummary struct {
	Output        string   `json:"output"`
	Format        string   `json:"format"`
	Components    int      `json:"components"`
	PredicateType string   `json:"predicateType,omitempty"`
	Subjects      []string `json:"subjects,omitempty"`
	KeyID         string   `json:"keyid,omitempty"`
}

// creationTime follows the reproducible-builds convention: an explicit
// value, else SOURCE_DATE_EPOCH, else now.
func creationTime(flag string) (time.Time, error) {
	if flag != "" {
		t, err := time.Parse(time.RFC3339, flag)
		if err != nil {
			return time.Time{}, fmt.Errorf("--created: %w", err)
		}
		return t, nil
	}
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: not a number of seconds", s)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Now().UTC(), nil
}

func collect(ctx context.Context, kind string, args []string, opts []sbom.Option) (*sbom.Inventory, error) {
	one := func() (string, error) {
		if len(args) != 1 {
			return "", fmt.Errorf("--input %s takes exactly one INPUT, got %d", kind, len(args))
		}
		return args[0], nil
	}
	switch kind {
	case inputAuto:
		if len(args) == 1 {
			if k, ok := detectInput(args[0]); ok {
				return collect(ctx, k, args, opts)
			}
		}
		return sbom.ForArtifacts(ctx, args, opts...)
	case inputDir:
		p, err := one()
		if err != nil {
			return nil, err
		}
		return sbom.FromDir(ctx, p, opts...)
	case inputFiles:
		return sbom.FromFiles(ctx, args, opts...)
	case inputGoBinary:
		p, err := one()
		if err != nil {
			return nil, err
		}
		return sbom.FromGoBinary(ctx, p, opts...)
	case inputGoModule:
		p, err := one()
		if err != nil {
			return nil, err
		}
		return sbom.FromGoModule(ctx, p, opts...)
	case inputNPM:
		p, err := one()
		if err != nil {
			return nil, err
		}
		return sbom.FromNPMLock(ctx, p, opts...)
	}
	return nil, fmt.Errorf("--input %q: want auto, dir, files, go-binary, go-module or npm", kind)
}

// detectInput recognises a single input that describes packages.
func detectInput(path string) (string, bool) {
	st, err := os.Stat(path)
	if err != nil || st.IsDir() {
		return "", false
	}
	switch filepath.Base(path) {
	case "package-lock.json":
		return inputNPM, true
	case "go.mod":
		return inputGoModule, true
	}
	if sbom.IsGoBinary(path) {
		return inputGoBinary, true
	}
	return "", false
}

func newSBOMCheckCmd() *cobra.Command {
	var (
		artifact   string
		keyPaths   []string
		policyPath string
		jsonOut    bool
	)
	cmd := &cobra.Command{
		Use:   "check --artifact FILE --key PUBKEY [--policy POLICY] ATTESTATION...",
		Short: "Check signed SBOM attestations for an artifact against an SBOM policy",
		Long: `Check SBOM attestations (DSSE envelopes holding an in-toto Statement with an
SPDX or CycloneDX predicate) for ARTIFACT: each must be signed by one of the
--key public keys and have a subject with ARTIFACT's digest, and its SBOM
must parse; then every component is checked against the policy.

The policy file (JSON or YAML) is the "sbom" part of a layout:

  requireSBOM: true
  denyLicenses: [GPL-3.0-only, AGPL-*]
  denyComponents: [github.com/evil/lib, left-pad@1.3.0, pkg:npm/%40bad]

Every violation is listed. Exit codes: 0 all checks pass, 1 a check failed,
2 usage or input error.`,
		Example: "  toto sbom check --artifact bin/app --key build.pub --policy sbom-policy.yaml app.spdx.att.json",
		Args:    cobra.MinimumNArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if artifact == "" || len(keyPaths) == 0 {
				return errors.New("--artifact and at least one --key are required")
			}
			var policy sbom.Policy
			if policyPath != "" {
				p, err := sbom.LoadPolicy(policyPath)
				if err != nil {
					return err
				}
				policy = p
			}
			var trusted []*keys.Key
			for _, kp := range keyPaths {
				k, err := loadKey(kp)
				if err != nil {
					return err
				}
				trusted = append(trusted, k.Public())
			}
			subs, err := sbom.SubjectsForFiles(cmd.Context(), artifact)
			if err != nil {
				return err
			}
			var envs []sbom.SignedAttestation
			for _, a := range args {
				data, err := readBounded(a)
				if err != nil {
					return err
				}
				env, err := envelope.Parse(data)
				if err != nil {
					return fmt.Errorf("%s: %w", a, err)
				}
				envs = append(envs, sbom.SignedAttestation{Source: a, Envelope: env})
			}
			res := sbom.Verify(policy, sbom.Artifact{Name: artifact, Digests: subs[0].Digest}, envs, trusted)
			if jsonOut {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(checkReport(res)); err != nil {
					return err
				}
			} else {
				for _, s := range res.SBOMs {
					fmt.Fprintf(cmd.OutOrStdout(), "ok    %s: %s, %d components\n", s.Source, s.PredicateType, s.Components)
				}
				for _, v := range res.Violations {
					fmt.Fprintf(cmd.OutOrStdout(), "FAIL  [%s] %s\n", v.Rule, v.Message)
				}
			}
			if !res.OK() {
				return failed(fmt.Errorf("%s: %d SBOM check(s) failed", artifact, len(res.Violations)))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&artifact, "artifact", "", "the artifact the SBOMs must be about")
	fl.StringArrayVarP(&keyPaths, "key", "k", nil, "authorised signer's key (repeatable)")
	fl.StringVar(&policyPath, "policy", "", "SBOM policy file, JSON or YAML (default: no rules)")
	fl.BoolVar(&jsonOut, "json", false, "print the result as JSON")
	return cmd
}

type checkJSON struct {
	Artifact   string             `json:"artifact"`
	OK         bool               `json:"ok"`
	SBOMs      []sbom.CheckedSBOM `json:"sboms"`
	Violations []violationJSON    `json:"violations"`
}

type violationJSON struct {
	Rule        string `json:"rule"`
	Attestation string `json:"attestation,omitempty"`
	Component   string `json:"component,omitempty"`
	Message     string `json:"message"`
}

func checkReport(r *sbom.Result) checkJSON {
	out := checkJSON{Artifact: r.Artifact, OK: r.OK(), SBOMs: r.SBOMs, Violations: []violationJSON{}}
	if out.SBOMs == nil {
		out.SBOMs = []sbom.CheckedSBOM{}
	}
	for _, v := range r.Violations {
		out.Violations = append(out.Violations, violationJSON{string(v.Rule), v.Attestation, v.Component, v.Message})
	}
	return out
}
