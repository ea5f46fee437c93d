package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/toto-dev/toto/attestation"
	"github.com/toto-dev/toto/dockerfile"
	"github.com/toto-dev/toto/internal/atomicfile"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/provenance"
	"github.com/toto-dev/toto/runner"
	"github.com/toto-dev/toto/sbom"
	"github.com/toto-dev/toto/statement"
)

func init() { rootCmd.AddCommand(newRunCmd()) }

// Exit codes of toto run besides the command's own status, following the
// shell's conventions.
const (
	exitTimeout     = 124 // as timeout(1)
	exitCannotStart = 127 // as sh for "command not found"
	exitInterrupted = 130 // 128 + SIGINT
)

func newRunCmd() *cobra.Command {
	var (
		step       string
		keyPath    string
		materials  []string
		products   []string
		af         artifactFlags
		of         outputFlags
		env        envFlags
		timeout    time.Duration
		noStreams  bool
		recStreams bool
		noCommand  bool
		streamCap  int64
		jsonOut    bool
		quiet      bool
		metadataTo string
		sbomFlag   string
		provFlag   bool
		builderID  string
		invocation string
		mf         materialImageFlags
	)
	cmd := &cobra.Command{
		Use:   "run --step NAME --key KEY [-m PATH]... [-p PATH]... -- COMMAND [ARG]...",
		Short: "Run a step's command and write a signed link recording what it used and made",
		Long: `Run COMMAND and write a signed in-toto link, NAME.KEYID.link, recording:
  - materials: the files under each -m PATH, hashed before the command runs;
  - products:  the files under each -p PATH, hashed after it finished;
  - byproducts: its stdout, stderr and exit status ("return-value");
  - the command line, and optionally the environment (--record-env, --env-var).

The command's output is shown live and recorded at once (up to --stream-limit
bytes per stream). Without a COMMAND the link records only materials and
products, e.g. for a sign-off step.

Paths are recorded as given, relative to --base-path (default: the current
directory), with forward slashes. Directories are walked. Exclude patterns
(-e) use .gitignore syntax and are matched against those paths; an excluded
directory is not read at all. By default .git and link files are excluded
(--no-default-excludes turns that off).

The link is a classic Metablock unless --dsse (DSSE envelope) or --attest (an
in-toto Statement v1 with the link predicate v0.3, in DSSE) is given. It is
written atomically; on any error no link is written.

--provenance also writes NAME.KEYID.provenance.json: a SLSA provenance v1
attestation (in-toto Statement v1 in DSSE, signed with the same key) whose
subjects are the products, with the step and command as external
parameters, the materials as resolved dependencies, --builder-id and the
run's id and times (docs/provenance.md). Only when the command succeeded.

Exit status: the command's own status (a link is written even if it failed),
124 if it timed out, 127 if it could not be started, 130 if interrupted, and
2 for any other error (bad flags, unreadable files, a key that cannot sign).

--verify-materials POLICY checks the images the step builds on before the
command runs: the base images (every FROM) of each Dockerfile among the
materials (Dockerfile, Containerfile, NAME.Dockerfile, Dockerfile.NAME) and
each --material-image, against the image policy of 'toto image verify
--policy'. Each is recorded as a material named oci://REPOSITORY with its
manifest digest, {"sha256": HEX}, so that a layout can REQUIRE it and MATCH
it against the step that produced the image (see docs/build.md). If one is
denied, the command does not run, no link is written, and toto exits 1.
--product-image records images (pushed by the command) as products the same
way, after the command.`,
		Example: `  toto run --step build --key functionary.key -m src -p dist -- make dist
  toto run -n test -k key.pem -m . -e node_modules --timeout 10m -- npm test
  toto run -n package -k key.pem -m dist -p pkg.tar.gz --attest -- tar czf pkg.tar.gz dist
  toto run -n build -k key.pem -m Dockerfile -m src --verify-materials policy.yaml \
      --product-image registry.example/app:1.0 -- docker build --push -t registry.example/app:1.0 .`,
		RunE: func(cmd *cobra.Command, args []string) error {
			command, err := commandAfterDash(cmd, args)
			if err != nil {
				return err
			}
			if step == "" {
				return errors.New("--step NAME is required")
			}
			if noCommand && len(command) > 0 {
				return errors.New("--no-command (-x) and a command after \"--\" are exclusive")
			}
			if recStreams && noStreams {
				return errors.New("--record-streams (-s) and --no-streams are exclusive")
			}
			hash, err := af.options()
			if err != nil {
				return err
			}
			format, err := of.format()
			if err != nil {
				return err
			}
			if format == runner.Attestation && len(products) == 0 {
				return errors.New("--attest needs at least one -p PATH: the products are the attestation's subjects")
			}
			if err := checkDir(metadataTo); err != nil {
				return err
			}
			var sbomFmt sbom.Format
			if sbomFlag != "" {
				if sbomFmt, err = sbom.ParseFormat(sbomFlag); err != nil {
					return fmt.Errorf("--sbom: %w", err)
				}
				if len(products) == 0 {
					return errors.New("--sbom needs at least one -p PATH: the SBOM describes the products")
				}
				if len(hash.LStripPaths) > 0 {
					return errors.New("--sbom cannot be combined with --lstrip-paths: the SBOM reads the products from disk by their recorded paths")
				}
				if len(mf.products) > 0 {
					return errors.New("--sbom cannot be combined with --product-image: the SBOM describes product files; attest the image's SBOM with toto image attest")
				}
			}
			if provFlag && len(products) == 0 {
				return errors.New("--provenance needs at least one -p PATH: the products are the provenance's subjects")
			}
			ctx := cmd.Context()
			beforeCommand, err := mf.verifier(hash)
			if err != nil {
				return err
			}
			key, err := loadSigningKey(ctx, keyPath)
			if err != nil {
				return err
			}

			stdout := io.Writer(os.Stdout)
			if jsonOut {
				// Keep stdout for the summary alone.
				stdout = os.Stderr
			}
			capLimit := streamCap
			if noStreams {
				capLimit = -1
			}
			prog := newProgressView(os.Stderr, !quiet && isTerminal(os.Stderr))
			hash.Progress = prog.progress
			opts := runner.Options{
				Name:        step,
				Materials:   materials,
				Products:    products,
				Command:     command,
				Hash:        hash,
				Exec:        runner.ExecOptions{Stdout: stdout, Stderr: os.Stderr, Stdin: os.Stdin, Timeout: timeout, MaxCapture: capLimit},
				Environment: env.options(),
				OnPhase:     prog.phase,

				BeforeCommand: beforeCommand,
			}
			started := time.Now()
			res, err := runner.Run(ctx, opts)
			finished := time.Now()
			prog.stop()
			if err != nil {
				return runError(err)
			}
			if err := mf.recordProducts(ctx, res.Link); err != nil {
				return fmt.Errorf("%w; no link written", err)
			}
			path, err := runner.Write(ctx, metadataTo, res.Link, key, format)
			if err != nil {
				return err
			}
			code := res.ExitCode()
			var sbomPath string
			if sbomFlag != "" && code == 0 {
				if sbomPath, err = writeProductsSBOM(ctx, metadataTo, hash.BasePath, res.Link, sbomFmt, key); err != nil {
					return fmt.Errorf("link written to %s, but the SBOM attestation failed: %w", path, err)
				}
				if !quiet && !jsonOut {
					fmt.Fprintf(os.Stderr, "toto: wrote %s (SBOM of the products)\n", sbomPath)
				}
			}
			var provPath string
			if provFlag && code == 0 {
				po := provenance.Options{BuilderID: builderID, BuilderVersion: map[string]string{"toto": version()}, InvocationID: invocation, StartedOn: started, FinishedOn: finished}
				if provPath, err = writeProvenance(ctx, path, res.Link, key, po); err != nil {
					return fmt.Errorf("link written to %s, but the provenance failed: %w", path, err)
				}
				if !quiet && !jsonOut {
					fmt.Fprintf(os.Stderr, "toto: wrote %s (SLSA provenance of the products)\n", provPath)
				}
			}
			if jsonOut {
				if err := writeJSON(cmd, summary{
					Step: step, Link: path, Format: format.String(), KeyID: key.ID(),
					ExitCode: &code, Materials: statsOf(res.Materials), Products: statsOf(res.Products),
					CommandSeconds: commandSeconds(res), SBOM: sbomPath, Provenance: provPath,
				}); err != nil {
					return err
				}
			} else if !quiet {
				fmt.Fprintf(os.Stderr, "toto: wrote %s (%d materials, %d products)\n", path, len(res.Link.Materials), len(res.Link.Products))
			}
			if code != 0 {
				status := code
				if status < 0 {
					status = 128 - status // killed by signal -code, as shells report it
				}
				return withCode(status, fmt.Errorf("command exited with status %d (link written to %s)", code, path))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&step, "step", "n", "", "step name, as in the layout (required)")
	f.StringVarP(&keyPath, "key", "k", "", "private key to sign the link with (required)")
	f.StringArrayVarP(&materials, "materials", "m", nil, "file or directory to record before the command (repeatable)")
	f.StringArrayVarP(&products, "products", "p", nil, "file or directory to record after the command (repeatable)")
	af.register(f)
	of.register(f)
	env.register(f)
	f.DurationVar(&timeout, "timeout", 0, "kill the command after this long, e.g. 90s or 10m (default: no limit)")
	f.BoolVar(&noStreams, "no-streams", false, "do not record stdout and stderr (they are still shown)")
	f.BoolVarP(&recStreams, "record-streams", "s", false, "record stdout and stderr (the default; in-toto-run's flag)")
	f.BoolVarP(&noCommand, "no-command", "x", false, "run no command, record materials and products only (as giving no command)")
	f.Int64Var(&streamCap, "stream-limit", runner.DefaultMaxCapture, "record at most this many bytes of stdout and of stderr")
	f.StringVarP(&metadataTo, "metadata-directory", "d", ".", "directory to write the link to")
	f.BoolVar(&jsonOut, "json", false, "print a JSON summary on stdout (the command's stdout then goes to stderr)")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress or summary on stderr")
	f.StringVar(&sbomFlag, "sbom", "", "also write a signed SBOM attestation of the products: spdx or cyclonedx")
	f.BoolVar(&provFlag, "provenance", false, "also write a signed SLSA provenance v1 attestation of the products (NAME.KEYID.provenance.json)")
	f.StringVar(&builderID, "builder-id", provenance.DefaultBuilderID, "--provenance: the builder's id (runDetails.builder.id), e.g. your CI workflow's URI")
	f.StringVar(&invocation, "invocation-id", "", "--provenance: this run's id (runDetails.metadata.invocationId; default a random urn:uuid)")
	mf.register(f)
	f.SetNormalizeFunc(inTotoFlagNames)
	_ = cmd.MarkFlagRequired("key")
	return cmd
}

// writeProductsSBOM writes a DSSE-signed in-toto Statement whose subjects
// are the step's products and whose predicate is an SBOM of them, as
// <step>.<keyid8>.sbom.json beside the link. SOURCE_DATE_EPOCH fixes its
// creation time, for reproducible builds.
func writeProductsSBOM(ctx context.Context, dir, base string, l *link.Link, f sbom.Format, key *keys.Key) (string, error) {
	created, err := creationTime("")
	if err != nil {
		return "", err
	}
	if base == "" {
		base = "."
	}
	env, err := sbom.AttestProducts(ctx, base, l.Products, f, key, sbom.EncodeOptions{Created: created})
	if err != nil {
		return "", err
	}
	b, err := env.Encode()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, fmt.Sprintf("%s.%s.sbom.json", l.Name, keys.ShortID(key.ID())))
	return p, atomicfile.Write(p, b, 0o644)
}

// writeProvenance writes the SLSA provenance v1 of the step, signed in
// DSSE like --attest, as NAME.KEYID.provenance.json beside the link, with
// the link file as a byproduct (it holds what the provenance summarises).
func writeProvenance(ctx context.Context, linkPath string, l *link.Link, key *keys.Key, o provenance.Options) (string, error) {
	ld, err := runner.DigestFile(linkPath, runner.DigestOptions{})
	if err != nil {
		return "", err
	}
	o.Byproducts = []statement.Subject{{Name: filepath.Base(linkPath), Digest: ld}}
	st, err := provenance.ForLink(l, o)
	if err != nil {
		return "", err
	}
	env, err := attestation.Sign(ctx, st, key)
	if err != nil {
		return "", err
	}
	b, err := env.Encode()
	if err != nil {
		return "", err
	}
	p := filepath.Join(filepath.Dir(linkPath), fmt.Sprintf("%s.%s.provenance.json", l.Name, keys.ShortID(key.ID())))
	return p, atomicfile.Write(p, b, 0o644)
}

// commandAfterDash returns the arguments after "--" and refuses stray
// arguments before it (in-toto-run's "-m a b" form).
func commandAfterDash(cmd *cobra.Command, args []string) ([]string, error) {
	dash := cmd.ArgsLenAtDash()
	if dash < 0 {
		if len(args) > 0 {
			return nil, fmt.Errorf("unexpected argument %q: put the command after \"--\", and give each path its own -m/-p flag", args[0])
		}
		return nil, nil
	}
	if dash > 0 {
		return nil, fmt.Errorf("unexpected argument %q before \"--\": give each path its own -m/-p flag (-m a -m b)", args[0])
	}
	return args, nil
}

// runError maps runner errors to exit codes.
func runError(err error) error {
	var se *runner.StartError
	switch {
	case errors.Is(err, runner.ErrTimeout):
		return withCode(exitTimeout, fmt.Errorf("%w; no link written", err))
	case errors.As(err, &se):
		return withCode(exitCannotStart, fmt.Errorf("%w; no link written", err))
	case errors.Is(err, context.Canceled):
		return withCode(exitInterrupted, errors.New("interrupted; no link written"))
	case errors.Is(err, dockerfile.ErrDenied):
		return failed(fmt.Errorf("%w; the command did not run, no link written", err))
	}
	return fmt.Errorf("%w; no link written", err)
}

// artifactFlags are the flags that say how artifacts are recorded.
type artifactFlags struct {
	exclude           []string
	noDefaultExcludes bool
	basePath          string
	lstrip            []string
	symlinks          string
	normalize         bool
	algorithms        []string
	jobs              int
}

func (a *artifactFlags) register(f *pflag.FlagSet) {
	f.StringArrayVarP(&a.exclude, "exclude", "e", nil, "gitignore-style pattern of paths not to record (repeatable)")
	f.BoolVar(&a.noDefaultExcludes, "no-default-excludes", false, "also record "+strings.Join(runner.DefaultExcludes, ", "))
	f.StringVar(&a.basePath, "base-path", "", "resolve and record relative paths from this directory")
	f.StringArrayVar(&a.lstrip, "lstrip-paths", nil, "prefix to strip from recorded paths (repeatable)")
	f.StringVar(&a.symlinks, "symlinks", "follow", "follow: record what links point to, walk linked directories; record: record each link itself (digest of its target path)")
	f.BoolVar(&a.normalize, "normalize-line-endings", false, "hash text as if CRLF and CR were LF (for checkouts on different systems)")
	f.StringSliceVar(&a.algorithms, "hash", []string{runner.DefaultAlgorithm}, "hash algorithm(s): "+strings.Join(runner.Algorithms(), ", "))
	f.IntVarP(&a.jobs, "jobs", "j", 0, "files hashed in parallel (default: number of CPUs)")
}

func (a *artifactFlags) options() (runner.HashOptions, error) {
	pol, err := runner.ParseSymlinkPolicy(a.symlinks)
	if err != nil {
		return runner.HashOptions{}, fmt.Errorf("--symlinks: %w", err)
	}
	if a.basePath != "" {
		if err := checkDir(a.basePath); err != nil {
			return runner.HashOptions{}, fmt.Errorf("--base-path: %w", err)
		}
	}
	return runner.HashOptions{
		Algorithms:           a.algorithms,
		NormalizeLineEndings: a.normalize,
		Exclude:              a.exclude,
		NoDefaultExcludes:    a.noDefaultExcludes,
		BasePath:             a.basePath,
		LStripPaths:          a.lstrip,
		Symlinks:             pol,
		Workers:              a.jobs,
	}, nil
}

// outputFlags choose the link format.
type outputFlags struct{ dsse, attest bool }

func (o *outputFlags) register(f *pflag.FlagSet) {
	f.BoolVar(&o.dsse, "dsse", false, "write the link in a DSSE envelope instead of a Metablock")
	f.BoolVar(&o.attest, "attest", false, "write an in-toto Statement v1 with the link predicate v0.3 (DSSE)")
}

func (o *outputFlags) format() (runner.LinkFormat, error) {
	switch {
	case o.dsse && o.attest:
		return 0, errors.New("--dsse and --attest are exclusive (--attest is already DSSE)")
	case o.dsse:
		return runner.DSSE, nil
	case o.attest:
		return runner.Attestation, nil
	}
	return runner.Metablock, nil
}

// envFlags choose what is recorded about the environment.
type envFlags struct {
	workdir bool
	vars    []string
}

func (e *envFlags) register(f *pflag.FlagSet) {
	f.BoolVar(&e.workdir, "record-env", false, "record the working directory in the link's environment")
	f.StringArrayVar(&e.vars, "env-var", nil, "record this environment variable's value (repeatable; never secrets)")
}

func (e *envFlags) options() runner.EnvironmentOptions {
	return runner.EnvironmentOptions{Workdir: e.workdir, Variables: e.vars}
}

// loadSigningKey loads a private key and proves it can sign before any work
// is done, so that a long build never ends in "cannot sign".
func loadSigningKey(ctx context.Context, path string) (*keys.Key, error) {
	if path == "" {
		return nil, errors.New("--key KEY is required")
	}
	k, err := loadKey(path)
	if err != nil {
		return nil, err
	}
	if !k.IsPrivate() {
		return nil, fmt.Errorf("%s is a public key; signing a link needs the private key", path)
	}
	if _, err := k.Sign(ctx, []byte("toto: can this key sign?")); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

func checkDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}

// summary is the --json output of run and record.
type summary struct {
	Step           string        `json:"step"`
	Link           string        `json:"link"`
	Format         string        `json:"format"`
	KeyID          string        `json:"keyid"`
	ExitCode       *int          `json:"exitCode,omitempty"`
	CommandSeconds float64       `json:"commandSeconds,omitempty"`
	Materials      *artifactStat `json:"materials,omitempty"`
	Products       *artifactStat `json:"products,omitempty"`
	SBOM           string        `json:"sbom,omitempty"`
	Provenance     string        `json:"provenance,omitempty"`
}

type artifactStat struct {
	Files int64 `json:"files"`
	Bytes int64 `json:"bytes"`
}

func statsOf(s runner.ProgressStats) *artifactStat {
	return &artifactStat{Files: s.Files, Bytes: s.Bytes}
}

func commandSeconds(r *runner.Result) float64 {
	if r.Exec == nil {
		return 0
	}
	return r.Exec.Duration.Seconds()
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressView draws "materials: N files, X MiB" on one terminal line while
// hashing, and nothing while the command runs.
type progressView struct {
	progress *runner.Progress
	w        io.Writer
	enabled  bool
	every    time.Duration

	label string
	stopc chan struct{}
	done  chan struct{}
}

func newProgressView(w io.Writer, enabled bool) *progressView {
	return &progressView{progress: &runner.Progress{}, w: w, enabled: enabled, every: 200 * time.Millisecond}
}

func (p *progressView) phase(ph runner.Phase) {
	if !p.enabled {
		return
	}
	p.stop()
	if ph == runner.PhaseCommand {
		return // the command owns the terminal now
	}
	p.label = ph.String()
	p.start()
}

func (p *progressView) start() {
	p.stopc, p.done = make(chan struct{}), make(chan struct{})
	base := p.progress.Stats()
	go func() {
		defer close(p.done)
		t := time.NewTicker(p.every)
		defer t.Stop()
		drawn := false
		for {
			select {
			case <-p.stopc:
				if drawn {
					fmt.Fprint(p.w, "\r\033[K")
				}
				return
			case <-t.C:
				s := p.progress.Stats()
				fmt.Fprintf(p.w, "\r\033[K%s: %d files, %s hashed", p.label, s.Files-base.Files, humanBytes(s.Bytes-base.Bytes))
				drawn = true
			}
		}
	}()
}

func (p *progressView) stop() {
	if p.stopc != nil {
		close(p.stopc)
		<-p.done
		p.stopc = nil
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
