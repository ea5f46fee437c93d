package main

import "github.com/spf13/pflag"

// shortFlag is the one meaning of a one-letter flag across every toto
// command, and the long names that carry it.
type shortFlag struct {
	meaning string
	longs   []string
}

// shortFlags is the contract TestShortFlagsOneMeaning holds the command
// tree to, and docs/cli.md lists: a shorthand means the same thing on every
// command that has it. Where in-toto's Python CLI defines a letter
// (in-toto-run -n -m -p -k -d -s -x -t, in-toto-verify -l -k) toto uses it
// for the same concept, so its command lines carry over. -k follows
// in-toto too: it is the key of the command, private where the command signs
// (run, sign) and public where it verifies (verify's --layout-key).
var shortFlags = map[string]shortFlag{
	"b": {"Sigstore bundle file", []string{"bundle"}},
	"d": {"folder of link metadata (written by run/record, read by verify)", []string{"metadata-directory", "link-dir"}},
	"e": {"pattern of paths not to record", []string{"exclude"}},
	"f": {"output format", []string{"format"}},
	"j": {"files hashed in parallel", []string{"jobs"}},
	"k": {"the command's key: private to sign, public to verify", []string{"key", "layout-key"}},
	"l": {"layout file", []string{"layout"}},
	"m": {"materials to record", []string{"materials"}},
	"n": {"step name", []string{"step"}},
	"o": {"output file", []string{"output"}},
	"p": {"products to record", []string{"products"}},
	"q": {"no progress or summary", []string{"quiet"}},
	"s": {"record the command's stdout and stderr", []string{"record-streams"}},
	"t": {"key type", []string{"type"}},
	"x": {"no command: record materials and products only", []string{"no-command"}},
}

// inTotoFlagNames accepts the long flag names of in-toto's Python CLI
// (in-toto-run, in-toto-record, in-toto-verify) for the same flags.
func inTotoFlagNames(_ *pflag.FlagSet, name string) pflag.NormalizedName {
	switch name {
	case "step-name":
		name = "step"
	case "signing-key":
		name = "key"
	case "layout-keys":
		name = "layout-key"
	}
	return pflag.NormalizedName(name)
}
