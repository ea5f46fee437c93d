package main

import (
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/internal/boundedio"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/runner"
)

// flagValues are the fixed values shell completion offers for a flag:
// by the flag's name on every command that has it ("" key), or only on
// one command (by its path, e.g. "toto key generate").
var flagValues = map[string]map[string][]string{
	"": {
		"hash":       runner.Algorithms(),
		"symlinks":   {"follow", "record"},
		"sbom":       {"spdx", "cyclonedx"},
		"envelope":   {"jws", "cose"},
		"revocation": {"offline", "online"},
	},
	"toto key generate": {
		"type":   {keys.Ed25519, "ecdsa", "rsa", "pgp", "pgp-rsa", "x509"},
		"format": {"pem", "json", "cosign"},
	},
	"toto image sign": {
		"format": {formatSigstore, formatSimpleSigning, formatNotation},
	},
	"toto image verify": {
		"type": cosignTypeNames,
	},
	"toto attest": {
		"type": cosignTypeNames,
	},
	"toto verify-attestation": {
		"type": cosignTypeNames,
	},
	"toto sbom": {
		"format": {"spdx-json", "spdx-tv", "cyclonedx-json", "cyclonedx-xml"},
	},
}

// cosignTypeNames are cosign's --type names, which the commands taking a
// predicate type resolve with image.PredicateType.
var cosignTypeNames = []string{"spdxjson", "cyclonedx", "slsaprovenance", "slsaprovenance1", "vuln", "openvex", "custom"}

// registerCompletions adds value completion to every flag of the tree that
// flagValues names, and step-name completion to --step: the steps of the
// layouts (*.layout) in the current folder.
func registerCompletions(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := c.CommandPath()
		c.Flags().VisitAll(func(f *pflag.Flag) {
			vals, ok := flagValues[path][f.Name]
			if !ok {
				vals, ok = flagValues[""][f.Name]
			}
			if ok {
				vals := vals
				_ = c.RegisterFlagCompletionFunc(f.Name, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
					return vals, cobra.ShellCompDirectiveNoFileComp
				})
			}
			if f.Name == "step" {
				_ = c.RegisterFlagCompletionFunc("step", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
					return stepsOfLayoutsHere(), cobra.ShellCompDirectiveNoFileComp
				})
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// stepsOfLayoutsHere lists the step names of the signed layouts in the
// current folder, sorted, once each.
func stepsOfLayoutsHere() []string {
	files, _ := filepath.Glob("*.layout")
	var names []string
	for _, f := range files {
		data, err := boundedio.ReadFile(f, maxMetadataSize)
		if err != nil {
			continue
		}
		env, err := envelope.Parse(data)
		if err != nil {
			continue
		}
		l, err := layout.Parse(env.Payload())
		if err != nil {
			continue
		}
		for _, s := range l.Steps {
			names = append(names, s.Name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}
