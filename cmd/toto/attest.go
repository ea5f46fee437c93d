package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/attestation"
	"github.com/toto-dev/toto/bundle"
	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/internal/atomicfile"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/runner"
	"github.com/toto-dev/toto/sbom"
	"github.com/toto-dev/toto/statement"
	"github.com/toto-dev/toto/trust"
)

func init() { rootCmd.AddCommand(newAttestCmd(), newVerifyAttestationCmd()) }

// attestationSchemaVersion is the schemaVersion of attest's and
// verify-attestation's --json (docs/schema/attest.schema.json,
// docs/schema/attestation-report.schema.json).
const attestationSchemaVersion = "1"

// fileSubjects hashes files into statement subjects named by their paths
// (cleaned, forward slashes), with SHA-256 and the extra algorithms.
func fileSubjects(paths []string, extra ...string) ([]statement.Subject, error) {
	algs := append([]string{"sha256"}, extra...)
	out := make([]statement.Subject, len(paths))
	for i, p := range paths {
		d, err := runner.DigestFile(p, runner.DigestOptions{Algorithms: algs})
		if err != nil {
			return nil, fmt.Errorf("--subject %s: %w", p, err)
		}
		out[i] = statement.Subject{Name: strings.TrimPrefix(filepath.ToSlash(filepath.Clean(p)), "./"), Digest: d}
	}
	return out, nil
}

type attestJSON struct {
	SchemaVersion string              `json:"schemaVersion"`
	Output        string              `json:"output"`
	Format        string              `json:"format"`
	PredicateType string              `json:"predicateType"`
	KeyID         string              `json:"keyid"`
	Subjects      []statement.Subject `json:"subjects"`
}

func newAttestCmd() *cobra.Command {
	var (
		keyPath, predPath, predType, out string
		subjects                         []string
		sha512, dsse, asJSON             bool
		lf                               logFlags
	)
	cmd := &cobra.Command{
		Use:   "attest --key KEY --predicate FILE --type URI --subject FILE... [-o OUT]",
		Short: "Sign an in-toto attestation about files (SBOM, provenance, test results, ...)",
		Long: `Wrap the JSON object in --predicate FILE as the predicate of an in-toto
Statement v1 whose subjects are the --subject files (by SHA-256, and SHA-512
with --sha512), sign it with KEY and write it to -o (default stdout).

The output is a keyed Sigstore bundle, as toto image attest attaches to
images and cosign attest-blob --bundle writes; --dsse writes a bare DSSE
envelope instead (as toto run --attest). --rekor-url and --tsa-url log and
timestamp the bundle. --type takes a URI or one of cosign's names (spdxjson,
cyclonedx, slsaprovenance1, ...). Check it with toto verify-attestation or
cosign verify-blob-attestation.`,
		Example: `  toto attest --key build.key --type https://spdx.dev/Document \
      --predicate sbom.spdx.json --subject dist/app.tar.gz -o app.att.json
  toto attest --key build.key --type slsaprovenance1 --predicate prov.json \
      --subject dist/app --subject dist/app.sig --sha512 --dsse -o app.intoto.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case predPath == "":
				return errors.New("--predicate FILE is required")
			case predType == "":
				return errors.New("--type URI is required")
			case len(subjects) == 0:
				return errors.New("--subject FILE is required (repeatable): the files the attestation is about")
			case dsse && (lf.rekorURL != "" || lf.tsaURL != ""):
				return errors.New("--rekor-url and --tsa-url need a Sigstore bundle: drop --dsse")
			}
			bo, err := lf.options()
			if err != nil {
				return err
			}
			k, err := loadSigningKey(cmd.Context(), keyPath)
			if err != nil {
				return err
			}
			pred, err := readBounded(predPath)
			if err != nil {
				return fmt.Errorf("--predicate %s: %w", predPath, err)
			}
			var extra []string
			if sha512 {
				extra = append(extra, "sha512")
			}
			subs, err := fileSubjects(subjects, extra...)
			if err != nil {
				return err
			}
			uri, _ := image.PredicateType(predType)
			st, err := statement.NewRaw(uri, pred, subs...)
			if err != nil {
				return fmt.Errorf("--predicate %s: %w", predPath, err)
			}
			var b []byte
			format := "sigstore-bundle"
			if dsse {
				format = "dsse"
				env, err := attestation.Sign(cmd.Context(), st, k)
				if err != nil {
					return err
				}
				if b, err = env.Encode(); err != nil {
					return err
				}
			} else {
				payload, err := st.MarshalJSON()
				if err != nil {
					return err
				}
				if b, err = bundle.CreateWith(cmd.Context(), k, "", payload, bo); err != nil {
					return err
				}
			}
			if out == "" {
				if asJSON {
					return errors.New("--json needs -o FILE: stdout holds the summary")
				}
				_, err := cmd.OutOrStdout().Write(append(b, '\n'))
				return err
			}
			if err := atomicfile.Write(out, b, 0o644); err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd, attestJSON{SchemaVersion: attestationSchemaVersion, Output: out, Format: format, PredicateType: uri, KeyID: k.ID(), Subjects: subs})
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "toto: wrote %s (%s about %d subject(s), key %s)\n", out, uri, len(subs), keys.ShortID(k.ID()))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&keyPath, "key", "k", "", "private key to sign with (required)")
	f.StringVar(&predPath, "predicate", "", "predicate: a JSON object in a file (required)")
	f.StringVar(&predType, "type", "", "predicate type: a URI, or a cosign name (spdxjson, cyclonedx, slsaprovenance1, ...) (required)")
	f.StringArrayVar(&subjects, "subject", nil, "file the attestation is about (repeatable; required)")
	f.BoolVar(&sha512, "sha512", false, "also give the subjects' SHA-512 digests")
	f.BoolVar(&dsse, "dsse", false, "write a bare DSSE envelope instead of a Sigstore bundle")
	f.StringVarP(&out, "output", "o", "", "write here (atomically) instead of stdout")
	lf.register(cmd)
	f.BoolVar(&asJSON, "json", false, "print a JSON summary on stdout (needs -o)")
	return cmd
}

// attestationReport is verify-attestation's result, and its --json.
type attestationReport struct {
	SchemaVersion string               `json:"schemaVersion"`
	Attestation   string               `json:"attestation"`
	Verified      bool                 `json:"verified"`
	PredicateType string               `json:"predicateType,omitempty"`
	RequiredType  string               `json:"requiredPredicateType,omitempty"`
	Signers       []string             `json:"signers,omitempty"`
	Identity      string               `json:"identity,omitempty"`
	Issuer        string               `json:"issuer,omitempty"`
	Subjects      []subjectCheck       `json:"subjects"`
	Failures      []attestationFailure `json:"failures"`
}

type subjectCheck struct {
	File    string         `json:"file"`
	Digest  link.DigestSet `json:"digest"`
	Matched bool           `json:"matched"`
}

// attestationFailure has the shape of toto verify's failures.
type attestationFailure struct {
	Type     string         `json:"type"`
	Artifact string         `json:"artifact,omitempty"`
	Actual   link.DigestSet `json:"actual,omitempty"`
	Message  string         `json:"message"`
}

func newVerifyAttestationCmd() *cobra.Command {
	var (
		keyPaths, subjects []string
		predType           string
		sbomPolicy         string
		asJSON             bool
		tf                 trustFlags
		rf                 requireFlags
	)
	cmd := &cobra.Command{
		Use:   "verify-attestation --key PUB... [--type URI] --subject FILE... ATTESTATION",
		Short: "Check a signed in-toto attestation about files: signature, predicate type, subject digests",
		Long: `Verify ATTESTATION (a Sigstore bundle, a DSSE envelope) as toto image
verify verifies an image's attestations: a signature by a trusted --key (or,
with --trusted-root and --identity/--issuer, a keyless bundle), an in-toto
Statement, of predicate type --type if given (a URI or a cosign name), whose
subjects include every --subject FILE by digest (SHA-256 and SHA-512, as far
as the statement gives them). --sbom-policy applies an SBOM policy (as
toto sbom check) to an SBOM attestation's components.

Reads what toto attest, toto run --attest/--provenance/--sbom and cosign
attest-blob write.

Exit codes: 0 verified, 1 verification failed, 2 usage or input error.`,
		Example: `  toto verify-attestation --key build.pub --type https://spdx.dev/Document \
      --subject dist/app.tar.gz app.att.json
  toto verify-attestation --key builder.pub --type slsaprovenance1 \
      --subject dist/app build.1a2b3c4d.provenance.json --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(subjects) == 0 {
				return errors.New("--subject FILE is required (repeatable): the files the attestation must be about")
			}
			root, err := trust.Files{Keys: keyPaths}.Root(cmd.Context())
			if err != nil {
				return err
			}
			opts := attestation.Options{Keys: attestation.Keys(root.Keys...), RequireTlog: rf.tlog, RequireTimestamp: rf.timestamp}
			if err := tf.apply(&opts.SigstoreTrustedRoot, &opts.Identity, &opts.IdentityRegexp, &opts.Issuer, &opts.IssuerRegexp); err != nil {
				return err
			}
			if err := opts.Check(); err != nil {
				return fmt.Errorf("--require-tlog/--require-timestamp need --trusted-root: %w", err)
			}
			if len(opts.Keys) == 0 && opts.SigstoreTrustedRoot == nil {
				return errors.New("give trusted keys with --key, or --trusted-root with --identity and --issuer")
			}
			data, err := readBounded(args[0])
			if err != nil {
				return err
			}
			env, err := envelope.Parse(data)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			subs, err := fileSubjects(subjects, "sha512")
			if err != nil {
				return err
			}
			want := ""
			if predType != "" {
				want, _ = image.PredicateType(predType)
			}
			var policy *sbom.Policy
			if sbomPolicy != "" {
				p, err := sbom.LoadPolicy(sbomPolicy)
				if err != nil {
					return err
				}
				policy = &p
			}
			rep, err := verifyFileAttestation(cmd, env, opts, args[0], want, subs, policy)
			if err != nil {
				return err
			}
			if asJSON {
				if err := writeJSON(cmd, rep); err != nil {
					return err
				}
			} else {
				printAttestationReport(cmd.OutOrStdout(), rep)
			}
			if !rep.Verified {
				if !asJSON {
					return failed(errors.New("")) // the FAIL line said it
				}
				return failed(errors.New("attestation verification failed"))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&keyPaths, "key", "k", nil, "trusted public key (repeatable)")
	f.StringVar(&predType, "type", "", "required predicate type: a URI or a cosign name (spdxjson, cyclonedx, slsaprovenance1, ...)")
	f.StringArrayVar(&subjects, "subject", nil, "file the attestation must be about (repeatable; required)")
	f.StringVar(&sbomPolicy, "sbom-policy", "", "SBOM policy file (YAML or JSON, as toto sbom check): an SBOM attestation's components must pass it")
	tf.register(cmd)
	rf.register(cmd)
	f.BoolVar(&asJSON, "json", false, "print the result as JSON (docs/schema/attestation-report.schema.json)")
	return cmd
}

// verifyFileAttestation runs the one attestation verifier and words its
// result per subject file.
// Errors that are not a failed check (an interrupt) are returned.
func verifyFileAttestation(cmd *cobra.Command, env *envelope.Envelope, opts attestation.Options, path, wantType string, subs []statement.Subject, policy *sbom.Policy) (*attestationReport, error) {
	rep := &attestationReport{SchemaVersion: attestationSchemaVersion, Attestation: path, RequiredType: wantType, Subjects: make([]subjectCheck, len(subs)), Failures: []attestationFailure{}}
	digests := make([]link.DigestSet, len(subs))
	for i, s := range subs {
		digests[i] = s.Digest
		rep.Subjects[i] = subjectCheck{File: s.Name, Digest: s.Digest}
	}
	v, err := attestation.NewVerifier(opts).Verify(cmd.Context(), env, digests...)
	if v != nil {
		rep.PredicateType = v.Statement.PredicateType
		rep.Signers, rep.Identity, rep.Issuer = v.Signers, v.Identity, v.Issuer
		for _, i := range v.Subjects {
			rep.Subjects[i].Matched = true
		}
	}
	var ae *attestation.Error
	switch {
	case err == nil || (errors.As(err, &ae) && ae.Stage == attestation.StageSubject):
		// Subjects are judged per file below.
	case errors.As(err, &ae):
		rep.Failures = append(rep.Failures, attestationFailure{Type: string(ae.Stage), Message: ae.Err.Error()})
		return rep, nil
	default:
		return nil, err
	}
	if wantType != "" && rep.PredicateType != wantType {
		rep.Failures = append(rep.Failures, attestationFailure{Type: "predicateType",
			Message: fmt.Sprintf("predicate type is %s, want %s", rep.PredicateType, wantType)})
	}
	for _, s := range rep.Subjects {
		if !s.Matched {
			rep.Failures = append(rep.Failures, attestationFailure{Type: "subject", Artifact: s.File, Actual: s.Digest,
				Message: fmt.Sprintf("%s (sha256 %s) is not a subject of the attestation", s.File, s.Digest["sha256"])})
		}
	}
	if policy != nil {
		// The one SBOM policy evaluation (as image verify and toto
		// verify apply it), for each file the SBOM is about.
		if !sbom.IsSBOMPredicateType(rep.PredicateType) {
			rep.Failures = append(rep.Failures, attestationFailure{Type: "sbomPolicy",
				Message: fmt.Sprintf("--sbom-policy: predicate type %s is not an SBOM", rep.PredicateType)})
		}
		for _, s := range rep.Subjects {
			if !s.Matched {
				continue
			}
			res := sbom.Evaluate(*policy, sbom.Artifact{Name: s.File, Digests: s.Digest}, []sbom.Attestation{{Source: path, Statement: v.Statement}})
			for _, viol := range res.Violations {
				rep.Failures = append(rep.Failures, attestationFailure{Type: "sbomPolicy", Artifact: s.File, Message: viol.Message})
			}
		}
	}
	rep.Verified = len(rep.Failures) == 0
	return rep, nil
}

func printAttestationReport(w io.Writer, rep *attestationReport) {
	if rep.Verified {
		who := rep.Identity
		if len(rep.Signers) > 0 {
			short := make([]string, len(rep.Signers))
			for i, s := range rep.Signers {
				short[i] = keys.ShortID(s)
			}
			who = "key " + strings.Join(short, ", ")
		}
		fmt.Fprintf(w, "PASS  %s: %s, signed by %s\n", rep.Attestation, rep.PredicateType, who)
	} else {
		fmt.Fprintf(w, "FAIL  %s\n", rep.Attestation)
	}
	for _, f := range rep.Failures {
		if f.Type != "subject" && f.Type != "predicateType" && f.Type != "sbomPolicy" {
			// Nothing after the signature was checked.
			fmt.Fprintf(w, "  FAIL %s: %s\n", f.Type, f.Message)
			return
		}
	}
	for _, s := range rep.Subjects {
		mark := "ok  "
		if !s.Matched {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s subject %s sha256:%s\n", mark, s.File, s.Digest["sha256"])
	}
	for _, f := range rep.Failures {
		if f.Type == "predicateType" || f.Type == "sbomPolicy" {
			fmt.Fprintf(w, "  FAIL %s: %s\n", f.Type, f.Message)
		}
	}
}
