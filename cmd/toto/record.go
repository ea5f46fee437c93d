package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/provenance"
	"github.com/toto-dev/toto/runner"
)

func init() {
	recordCmd := &cobra.Command{
		Use:   "record",
		Short: "Record a step that is not a single command: start before it, stop after it",
		Long: `For steps that are not one command (editing by hand, several commands, a
review), 'toto record start' records the materials in a signed preliminary
link, .NAME.KEYID.link-unfinished in the current directory, and 'toto record
stop' checks that link's signature, records the products and writes the
final NAME.KEYID.link. Preliminary links of Python's in-toto-record are
accepted by 'toto record stop', and the other way round.`,
		Example: `  toto record start --step edit --key alice.key -m src
  vi src/main.c
  toto record stop --step edit --key alice.key -p src`,
	}
	recordCmd.AddCommand(newRecordStartCmd(), newRecordStopCmd())
	rootCmd.AddCommand(recordCmd)
}

func newRecordStartCmd() *cobra.Command {
	var (
		step, keyPath string
		materials     []string
		af            artifactFlags
		of            outputFlags
		env           envFlags
		jsonOut       bool
		quiet         bool
	)
	cmd := &cobra.Command{
		Use:   "start --step NAME --key KEY [-m PATH]...",
		Short: "Record the materials of a step and sign a preliminary link",
		Long: `Record the files under each -m PATH as the step's materials and write them,
signed, to .NAME.KEYID.link-unfinished in the current directory. Run
'toto record stop' with the same step name and key when the step is done.

Path, exclude, symlink and hashing flags work as in 'toto run'; pass the same
ones to stop. With --dsse or --attest the preliminary link is DSSE.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := recordOptions(cmd, step, keyPath, materials, &af, &of)
			if err != nil {
				return err
			}
			o.Environment = env.options()
			prog := newProgressView(os.Stderr, !quiet && isTerminal(os.Stderr))
			o.Hash.Progress = prog.progress
			prog.phase(runner.PhaseMaterials)
			path, stats, err := runner.RecordStart(cmd.Context(), o)
			prog.stop()
			if err != nil {
				return recordError(err)
			}
			return recordDone(cmd, jsonOut, quiet, summary{Step: step, Link: path, Format: startFormat(o.Format), KeyID: o.Key.ID(), Materials: statsOf(stats)})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&step, "step", "n", "", "step name, as in the layout (required)")
	f.StringVarP(&keyPath, "key", "k", "", "private key to sign with (required)")
	f.StringArrayVarP(&materials, "materials", "m", nil, "file or directory to record (repeatable)")
	af.register(f)
	of.register(f)
	env.register(f)
	f.BoolVar(&jsonOut, "json", false, "print a JSON summary on stdout")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress or summary on stderr")
	f.SetNormalizeFunc(inTotoFlagNames)
	return cmd
}

func newRecordStopCmd() *cobra.Command {
	var (
		step, keyPath string
		products      []string
		af            artifactFlags
		of            outputFlags
		metadataTo    string
		jsonOut       bool
		quiet         bool
		provFlag      bool
		builderID     string
		invocation    string
	)
	cmd := &cobra.Command{
		Use:   "stop --step NAME --key KEY [-p PATH]...",
		Short: "Record the products of a step and write its signed link",
		Long: `Find the preliminary link 'toto record start' (or in-toto-record start) left
for this step and key, check its signature, record the files under each
-p PATH as products, and write the signed link NAME.KEYID.link. The
preliminary link is removed; on any error nothing is written or removed.

The link is a Metablock unless --dsse or --attest is given.

--provenance also writes NAME.KEYID.provenance.json beside the link, as
'toto run --provenance' does: a SLSA provenance v1 attestation of the
products, signed with the same key (docs/provenance.md). It has no command
and no start time: the step was not one command that toto ran.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := recordOptions(cmd, step, keyPath, products, &af, &of)
			if err != nil {
				return err
			}
			if o.Format == runner.Attestation && len(products) == 0 {
				return errors.New("--attest needs at least one -p PATH: the products are the attestation's subjects")
			}
			if provFlag && len(products) == 0 {
				return errors.New("--provenance needs at least one -p PATH: the products are the provenance's subjects")
			}
			if err := checkDir(metadataTo); err != nil {
				return err
			}
			o.OutDir = metadataTo
			prog := newProgressView(os.Stderr, !quiet && isTerminal(os.Stderr))
			o.Hash.Progress = prog.progress
			prog.phase(runner.PhaseProducts)
			path, l, stats, err := runner.RecordStop(cmd.Context(), o)
			finished := time.Now()
			prog.stop()
			if err != nil {
				return recordError(err)
			}
			var provPath string
			if provFlag {
				po := provenance.Options{BuilderID: builderID, BuilderVersion: map[string]string{"toto": version()}, InvocationID: invocation, FinishedOn: finished}
				if provPath, err = writeProvenance(cmd.Context(), path, l, o.Key, po); err != nil {
					return fmt.Errorf("link written to %s, but the provenance failed: %w", path, err)
				}
				if !quiet && !jsonOut {
					fmt.Fprintf(os.Stderr, "toto: wrote %s (SLSA provenance of the products)\n", provPath)
				}
			}
			return recordDone(cmd, jsonOut, quiet, summary{Step: step, Link: path, Format: o.Format.String(), KeyID: o.Key.ID(), Products: statsOf(stats), Provenance: provPath})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&step, "step", "n", "", "step name, as in the layout (required)")
	f.StringVarP(&keyPath, "key", "k", "", "private key to sign with, the one used at start (required)")
	f.StringArrayVarP(&products, "products", "p", nil, "file or directory to record (repeatable)")
	af.register(f)
	of.register(f)
	f.StringVarP(&metadataTo, "metadata-directory", "d", ".", "directory to write the link to")
	f.BoolVar(&jsonOut, "json", false, "print a JSON summary on stdout")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress or summary on stderr")
	f.BoolVar(&provFlag, "provenance", false, "also write a signed SLSA provenance v1 attestation of the products (NAME.KEYID.provenance.json)")
	f.StringVar(&builderID, "builder-id", provenance.DefaultBuilderID, "--provenance: the builder's id (runDetails.builder.id), e.g. your CI workflow's URI")
	f.StringVar(&invocation, "invocation-id", "", "--provenance: this run's id (runDetails.metadata.invocationId; default a random urn:uuid)")
	f.SetNormalizeFunc(inTotoFlagNames)
	return cmd
}

// recordOptions checks the flags common to start and stop.
func recordOptions(cmd *cobra.Command, step, keyPath string, paths []string, af *artifactFlags, of *outputFlags) (runner.RecordOptions, error) {
	if step == "" {
		return runner.RecordOptions{}, errors.New("--step NAME is required")
	}
	hash, err := af.options()
	if err != nil {
		return runner.RecordOptions{}, err
	}
	format, err := of.format()
	if err != nil {
		return runner.RecordOptions{}, err
	}
	key, err := loadSigningKey(cmd.Context(), keyPath)
	if err != nil {
		return runner.RecordOptions{}, err
	}
	return runner.RecordOptions{Name: step, Paths: paths, Hash: hash, Key: key, Format: format}, nil
}

func startFormat(f runner.LinkFormat) string {
	if f == runner.Metablock {
		return f.String()
	}
	return runner.DSSE.String()
}

func recordError(err error) error {
	if errors.Is(err, runner.ErrNoUnfinished) {
		return err
	}
	return runError(err)
}

func recordDone(cmd *cobra.Command, jsonOut, quiet bool, s summary) error {
	if jsonOut {
		return writeJSON(cmd, s)
	}
	if !quiet {
		fmt.Fprintf(os.Stderr, "toto: wrote %s\n", s.Link)
	}
	return nil
}
