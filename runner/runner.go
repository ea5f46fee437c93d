// Package runner wraps a supply-chain step and records what it did as an
// in-toto link (spec v1.0, section 4.3): the artifacts before (materials),
// the command, its output and exit status (byproducts), and the artifacts
// after (products).
//
// Artifacts are hashed streaming and in parallel (RecordArtifacts); the
// command's output is shown live and recorded at once (Exec). Run does a
// whole step; Start and Stop split it for steps that are not one command,
// like in-toto-record. Signing and writing the link are in Write.
//
// Paths, exclusion, line-ending normalisation and byproduct keys follow the
// Python reference (in_toto.runlib), so that links from either are
// interchangeable.
package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
)

// Options describes one step to run.
type Options struct {
	// Name is the step name the link is recorded for.
	Name string
	// Materials and Products are the paths recorded before and after the
	// command; directories are walked.
	Materials, Products []string
	// Command is the command and its arguments; empty records a link with
	// no command and no byproducts (a sign-off step).
	Command []string
	// Hash controls how artifacts are found and hashed.
	Hash HashOptions
	// Exec controls how the command runs and how much output is recorded.
	Exec ExecOptions
	// Environment selects what is recorded about the environment.
	Environment EnvironmentOptions
	// OnPhase, if set, is called as each phase begins, so that a caller
	// showing progress can stop drawing while the command owns the
	// terminal.
	OnPhase func(Phase)
	// BeforeCommand, if set, is called with the recorded materials before
	// the command runs (or, with no command, before the products are
	// recorded). It may add materials that are not files (images checked
	// by digest); an error stops the step: the command does not run and
	// Run returns the error.
	BeforeCommand func(ctx context.Context, materials link.Artifacts) error
}

// Phase is a stage of Run.
type Phase int

const (
	// PhaseMaterials is recording the materials.
	PhaseMaterials Phase = iota
	// PhaseCommand is running the command.
	PhaseCommand
	// PhaseProducts is recording the products.
	PhaseProducts
)

// String returns "materials", "command" or "products".
func (p Phase) String() string {
	switch p {
	case PhaseMaterials:
		return "materials"
	case PhaseCommand:
		return "command"
	case PhaseProducts:
		return "products"
	}
	return fmt.Sprintf("Phase(%d)", int(p))
}

// EnvironmentOptions selects what goes into a link's "environment". Nothing
// is recorded by default: environments are full of secrets.
type EnvironmentOptions struct {
	// Workdir records the working directory under "workdir" (forward
	// slashes), as in_toto_run(record_environment=True) does.
	Workdir bool
	// Variables names environment variables to record under
	// "variables"; unset ones are left out.
	Variables []string
}

// Result is the outcome of Run.
type Result struct {
	// Link is the link to sign.
	Link *link.Link
	// Exec is what the command did; nil when there was no command.
	Exec *ExecResult
	// Materials and Products count what was hashed.
	Materials, Products ProgressStats
}

// ExitCode is the command's exit status (0 when there was no command).
func (r *Result) ExitCode() int {
	if r.Exec == nil {
		return 0
	}
	return r.Exec.ExitCode
}

// Run records materials, runs the command, records products and returns the
// unsigned link. A command that exits non-zero still yields a link (its
// status is in the byproducts); a command that cannot start or times out
// does not.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Name == "" {
		return nil, errors.New("step name is empty")
	}
	if _, err := newWalker(opts.Hash); err != nil {
		return nil, err // fail on bad options before running anything
	}
	env, err := environment(opts.Environment)
	if err != nil {
		return nil, err
	}
	phase := func(p Phase) {
		if opts.OnPhase != nil {
			opts.OnPhase(p)
		}
	}
	res := &Result{}
	phase(PhaseMaterials)
	materials, mstats, err := record(ctx, opts.Materials, opts.Hash)
	if err != nil {
		return nil, fmt.Errorf("record materials: %w", err)
	}
	res.Materials = mstats
	if opts.BeforeCommand != nil {
		if err := opts.BeforeCommand(ctx, materials); err != nil {
			return nil, err
		}
	}

	byproducts := map[string]any{}
	if len(opts.Command) > 0 {
		phase(PhaseCommand)
		x, err := Exec(ctx, opts.Command, opts.Exec)
		if err != nil {
			return nil, err
		}
		res.Exec = x
		byproducts = Byproducts(x)
	}

	phase(PhaseProducts)
	products, pstats, err := record(ctx, opts.Products, opts.Hash)
	if err != nil {
		return nil, fmt.Errorf("record products: %w", err)
	}
	res.Products = pstats
	res.Link = &link.Link{
		Name:        opts.Name,
		Command:     append([]string{}, opts.Command...),
		Materials:   materials,
		Products:    products,
		ByProducts:  byproducts,
		Environment: env,
	}
	return res, nil
}

// Byproducts returns the byproducts in-toto-run records for a command:
// "stdout", "stderr" and "return-value". When a stream was longer than
// what was recorded, "stdout-bytes"/"stderr-bytes" give its full length so
// that nobody mistakes the record for the whole output.
func Byproducts(x *ExecResult) map[string]any {
	b := map[string]any{
		link.ByProductStdout:      string(x.Stdout),
		link.ByProductStderr:      string(x.Stderr),
		link.ByProductReturnValue: x.ExitCode,
	}
	if x.StdoutBytes > int64(len(x.Stdout)) {
		b["stdout-bytes"] = x.StdoutBytes
	}
	if x.StderrBytes > int64(len(x.Stderr)) {
		b["stderr-bytes"] = x.StderrBytes
	}
	return b
}

// Start records the materials of a step that is not a single command and
// returns the preliminary link (in-toto-record start). Sign it, keep it
// (see UnfinishedFileName) and pass it to Stop when the step is done.
func Start(ctx context.Context, name string, materials []string, hash HashOptions, envOpts EnvironmentOptions) (*link.Link, ProgressStats, error) {
	if name == "" {
		return nil, ProgressStats{}, errors.New("step name is empty")
	}
	env, err := environment(envOpts)
	if err != nil {
		return nil, ProgressStats{}, err
	}
	m, stats, err := record(ctx, materials, hash)
	if err != nil {
		return nil, stats, fmt.Errorf("record materials: %w", err)
	}
	return &link.Link{
		Name:        name,
		Command:     []string{},
		Materials:   m,
		Products:    link.Artifacts{},
		ByProducts:  map[string]any{},
		Environment: env,
	}, stats, nil
}

// Stop records the products of a step begun with Start and returns the
// finished link (in-toto-record stop). The preliminary link is not changed.
// Verify its signature before calling Stop: it is evidence too.
func Stop(ctx context.Context, prelim *link.Link, products []string, hash HashOptions) (*link.Link, ProgressStats, error) {
	p, stats, err := record(ctx, products, hash)
	if err != nil {
		return nil, stats, fmt.Errorf("record products: %w", err)
	}
	l := *prelim
	l.Products = p
	return &l, stats, nil
}

// record runs RecordArtifacts with a fresh progress counter, forwarding to
// the caller's as well.
func record(ctx context.Context, paths []string, opts HashOptions) (link.Artifacts, ProgressStats, error) {
	mine := opts.Progress
	if mine == nil {
		mine = &Progress{}
		opts.Progress = mine
	}
	before := mine.Stats()
	a, err := RecordArtifacts(ctx, paths, opts)
	after := mine.Stats()
	return a, ProgressStats{
		Found: after.Found - before.Found,
		Files: after.Files - before.Files,
		Bytes: after.Bytes - before.Bytes,
	}, err
}

func environment(o EnvironmentOptions) (map[string]any, error) {
	env := map[string]any{}
	if o.Workdir {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("record environment: %w", err)
		}
		env["workdir"] = filepath.ToSlash(wd)
	}
	if len(o.Variables) > 0 {
		vars := map[string]any{}
		for _, name := range o.Variables {
			if v, ok := os.LookupEnv(name); ok {
				vars[name] = v
			}
		}
		env["variables"] = vars
	}
	return env, nil
}

// UnfinishedFileName is where in-toto-record keeps a preliminary link
// between start and stop: ".<step>.<keyid[:8]>.link-unfinished".
func UnfinishedFileName(step, keyID string) string {
	return fmt.Sprintf(".%s.%s.link-unfinished", step, keys.ShortID(keyID))
}
