package main

import (
	"runtime/debug"
)

func init() { rootCmd.Version = version() }

// version reports the module version, or the VCS revision the binary was
// built from (with "+dirty" for uncommitted changes), from the build info
// Go embeds.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
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
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	return "devel-" + rev + dirty + " (" + bi.GoVersion + ")"
}
