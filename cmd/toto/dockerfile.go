package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/toto-dev/toto/dockerfile"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/imagepolicy"
	"github.com/toto-dev/toto/internal/atomicfile"
	"github.com/toto-dev/toto/internal/boundedio"
)

func init() {
	cmd := &cobra.Command{
		Use:   "dockerfile",
		Short: "Check a Dockerfile's base images before the build",
	}
	cmd.AddCommand(newDockerfileVerifyCmd())
	rootCmd.AddCommand(cmd)
}

func newDockerfileVerifyCmd() *cobra.Command {
	var (
		policyPath string
		buildArgs  []string
		platform   string
		pin        bool
		out        string
		asJSON     bool
	)
	cmd := &cobra.Command{
		Use:   "verify --policy POLICY DOCKERFILE",
		Short: "Resolve every FROM to a digest and check it against an image policy",
		Long: `Resolve every base image of DOCKERFILE (each FROM, of every stage) to a
manifest digest and evaluate the image policy (the document of
'toto image verify --policy', see docs/images.md) for it, as
'cosign dockerfile verify' does for one key.

The Dockerfile is read as docker build reads it (BuildKit's parser): ARGs
before the first FROM with their defaults, overridden by --build-arg, and the
automatic platform ARGs ($BUILDPLATFORM, $TARGETPLATFORM, ...) are
substituted; "scratch" and FROMs naming an earlier stage are not images. A
tag naming a multi-platform index is checked as the index (its digest covers
every platform's manifest), and the manifest of the FROM's --platform (else
--platform here, else linux and this machine's architecture) must be in it.

--pin writes the Dockerfile with each base image named by digest
(FROM name:tag@sha256:...), every other byte unchanged, to -o FILE (written
atomically) or to stdout with -o -.

Exit codes: 0 every base image allowed, 1 one is denied, 2 the Dockerfile
or policy is bad (the error names FILE:LINE) or an image cannot be resolved.`,
		Example: `  toto dockerfile verify --policy policy.yaml Dockerfile
  toto dockerfile verify --policy policy.yaml --build-arg BASE=registry.example/base:2 Dockerfile
  toto dockerfile verify --policy policy.yaml --pin -o Dockerfile.pinned Dockerfile
  toto dockerfile verify --policy policy.yaml --json Dockerfile`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if policyPath == "" {
				return errors.New("--policy is required")
			}
			if pin != (out != "") {
				return errors.New("--pin and -o go together: --pin -o FILE, or --pin -o - for stdout")
			}
			if pin && out == "-" && asJSON {
				return errors.New("--json and --pin -o - both write to stdout; write the pinned Dockerfile to a file")
			}
			ba, err := parseBuildArgs(buildArgs)
			if err != nil {
				return err
			}
			p, err := imagepolicy.Load(policyPath)
			if err != nil {
				return err
			}
			return dockerfileVerify(cmd, args[0], p, policyPath, dockerfile.Options{BuildArgs: ba, Platform: platform}, out, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&policyPath, "policy", "", "image policy `FILE` (YAML or JSON)")
	f.StringArrayVar(&buildArgs, "build-arg", nil, "`NAME=VALUE` for an ARG, as docker build --build-arg (repeatable)")
	f.StringVar(&platform, "platform", "", "target `PLATFORM` (os/arch[/variant]) for FROMs without --platform")
	f.BoolVar(&pin, "pin", false, "write the Dockerfile with every base image pinned by digest (needs -o)")
	f.StringVarP(&out, "output", "o", "", "where --pin writes: `FILE`, or - for stdout")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per FROM")
	return cmd
}

// parseBuildArgs reads NAME=VALUE pairs; a bare NAME takes the value of the
// environment variable NAME, as docker build does.
func parseBuildArgs(list []string) (map[string]string, error) {
	m := map[string]string{}
	for _, a := range list {
		k, v, ok := strings.Cut(a, "=")
		if k == "" {
			return nil, fmt.Errorf("--build-arg %q: want NAME=VALUE", a)
		}
		if !ok {
			ev, set := os.LookupEnv(k)
			if !set {
				continue
			}
			v = ev
		}
		m[k] = v
	}
	return m, nil
}

// dockerfileFrom is one FROM in --json output.
type dockerfileFrom struct {
	Line     int    `json:"line"`
	Original string `json:"original"`
	Image    string `json:"image"`
	Kind     string `json:"kind"`
	Stage    string `json:"stage,omitempty"`
	Platform string `json:"platform,omitempty"`
	// Resolved names the image by digest; PlatformDigest is the manifest
	// of Platform when Resolved is an index.
	Resolved       string `json:"resolved,omitempty"`
	PlatformDigest string `json:"platformDigest,omitempty"`
	Allowed        *bool  `json:"allowed,omitempty"`
	Decision       any    `json:"decision,omitempty"`
}

func dockerfileVerify(cmd *cobra.Command, file string, p *imagepolicy.Policy, policyPath string, opts dockerfile.Options, out string, asJSON bool) error {
	data, err := boundedio.ReadFile(file, dockerfile.MaxSize)
	if err != nil {
		return err
	}
	df, err := dockerfile.Parse(file, data, opts)
	if err != nil {
		return err
	}
	bases, err := dockerfile.Resolve(cmd.Context(), df, dockerfile.VerifyOptions{Policy: p, Image: image.Options{}})
	if err != nil {
		return err
	}
	byLine := map[int]*dockerfile.Base{}
	for i := range bases {
		byLine[bases[i].From.Line] = &bases[i]
	}
	var denied []string
	pins := map[int]string{}
	var rows []dockerfileFrom
	w := cmd.OutOrStdout()
	if out == "-" {
		w = cmd.ErrOrStderr() // stdout carries the pinned Dockerfile
	}
	for i, fr := range df.Froms {
		row := dockerfileFrom{Line: fr.Line, Original: fr.Original, Image: fr.Image, Kind: string(fr.Kind), Stage: fr.Stage, Platform: fr.Platform}
		b := byLine[fr.Line]
		if b == nil {
			rows = append(rows, row)
			if !asJSON {
				fmt.Fprintf(w, "%s:%d  FROM %s  (%s, not an image)\n", file, fr.Line, visible(fr.Image), fr.Kind)
			}
			continue
		}
		pins[i] = b.Target.Digest()
		row.Resolved = b.Target.String()
		row.Platform, row.PlatformDigest = b.Platform, b.PlatformDigest
		allowed := b.Allowed()
		row.Allowed, row.Decision = &allowed, b.Decision
		rows = append(rows, row)
		if !allowed {
			denied = append(denied, fmt.Sprintf("%s:%d %s", file, fr.Line, b.Target))
		}
		if !asJSON {
			fmt.Fprintf(w, "%s:%d  FROM %s → %s\n", file, fr.Line, visible(fr.Image), b.Target)
			if b.PlatformDigest != "" {
				fmt.Fprintf(w, "  platform %s: %s\n", b.Platform, b.PlatformDigest)
			}
			printDecision(w, b.Decision)
		}
	}
	if asJSON {
		if err := writeJSON(cmd, map[string]any{"dockerfile": file, "allowed": len(denied) == 0, "froms": rows}); err != nil {
			return err
		}
	}
	if len(denied) > 0 {
		// A pinned Dockerfile is only written for base images the policy
		// allows: pinning a denied one would make it look vetted.
		return failed(fmt.Errorf("base image not allowed by %s: %s", policyPath, strings.Join(denied, ", ")))
	}
	if out == "" {
		return nil
	}
	pinned, err := df.Pin(pins)
	if err != nil {
		return err
	}
	if out == "-" {
		_, err := cmd.OutOrStdout().Write(pinned)
		return err
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(file); err == nil {
		mode = st.Mode().Perm()
	}
	return atomicfile.Write(out, pinned, mode)
}
