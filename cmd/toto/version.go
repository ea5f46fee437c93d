package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// buildVersion is set at link time (-ldflags "-X main.buildVersion=...",
// as make build does from git describe), so that a binary built with
// -buildvcs=false, or outside a checkout, still says what it is.
var buildVersion string

func init() {
	rootCmd.Version = version()
	rootCmd.AddCommand(newVersionCmd())
}

// version reports, in order of preference: the version set at link time,
// the module version (go install ...@v1.2.3), or the VCS revision the
// binary was built from (with "+dirty" for uncommitted changes), from the
// build info Go embeds.
func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := vcsInfo(bi)
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	return "devel-" + rev + dirty + " (" + bi.GoVersion + ")"
}

func vcsInfo(bi *debug.BuildInfo) (rev, dirty string) {
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	return rev, dirty
}

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print toto's version, the revision it was built from, and the Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := map[string]string{"version": version(), "go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH}
			if bi, ok := debug.ReadBuildInfo(); ok {
				info["module"] = bi.Main.Path
				if rev, dirty := vcsInfo(bi); rev != "" {
					info["revision"] = rev + dirty
				}
			}
			if asJSON {
				return writeJSON(cmd, info)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "toto %s\n", info["version"])
			if r := info["revision"]; r != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "revision %s\n", r)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", info["go"], info["platform"])
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the version information as JSON")
	return cmd
}
