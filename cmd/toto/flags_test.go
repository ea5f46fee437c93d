package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// shortFlagProblems walks the command tree and reports every shorthand
// that shortFlags does not declare, or that a command gives to a long name
// other than the declared ones.
func shortFlagProblems(root *cobra.Command, table map[string]shortFlag) []string {
	var probs []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Shorthand == "" {
				return
			}
			sf, ok := table[f.Shorthand]
			switch {
			case !ok:
				probs = append(probs, c.CommandPath()+": -"+f.Shorthand+" (--"+f.Name+") is not declared in shortFlags")
			case !slices.Contains(sf.longs, f.Name):
				probs = append(probs, c.CommandPath()+": -"+f.Shorthand+" is --"+f.Name+", but -"+f.Shorthand+" means "+sf.meaning+" (--"+strings.Join(sf.longs, ", --")+")")
			}
		})
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	sort.Strings(probs)
	return probs
}

func TestShortFlagsOneMeaning(t *testing.T) {
	for _, p := range shortFlagProblems(rootCmd, shortFlags) {
		t.Error(p)
	}
}

// The walk catches what it is there for: a shorthand given two meanings.
func TestShortFlagProblemsFindsConflicts(t *testing.T) {
	root := &cobra.Command{Use: "x"}
	a := &cobra.Command{Use: "a"}
	a.Flags().StringP("products", "p", "", "")
	b := &cobra.Command{Use: "b"}
	b.Flags().StringP("param", "p", "", "")
	b.Flags().StringP("zebra", "z", "", "")
	root.AddCommand(a, b)
	got := shortFlagProblems(root, map[string]shortFlag{"p": {"products", []string{"products"}}})
	want := []string{
		"x b: -p is --param, but -p means products (--products)",
		"x b: -z (--zebra) is not declared in shortFlags",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// docs/cli.md lists every shorthand with its long names, and nothing more.
func TestShortFlagsDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `-(\\w)` \\| ([^|]+)\\|")
	documented := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		documented[m[1]] = true
		sf, ok := shortFlags[m[1]]
		if !ok {
			t.Errorf("docs/cli.md documents -%s, which no command has", m[1])
			continue
		}
		for _, l := range sf.longs {
			if !strings.Contains(m[2], "`--"+l+"`") {
				t.Errorf("docs/cli.md: row -%s does not name --%s", m[1], l)
			}
		}
	}
	for s := range shortFlags {
		if !documented[s] {
			t.Errorf("docs/cli.md does not document -%s", s)
		}
	}
}

// in-toto's Python CLI command lines work unchanged where toto has the flag.
func TestInTotoFlagNames(t *testing.T) {
	dir, k := runDir(t)
	mustToto(t, dir, "run", "-n", "review", "-k", "k", "-m", "src", "-x", "-q")
	if _, err := os.Stat(filepath.Join(dir, "review."+k.ID()[:8]+".link")); err != nil {
		t.Fatal(err)
	}
	mustToto(t, dir, "run", "--step-name", "build", "-k", "k", "-s", "-p", "src", "-q", "--", "true")
	if _, err := os.Stat(filepath.Join(dir, "build."+k.ID()[:8]+".link")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"run", "-n", "x", "-k", "k", "-x", "--", "true"}, "--no-command (-x) and a command"},
		{[]string{"run", "-n", "x", "-k", "k", "-s", "--no-streams", "--", "true"}, "exclusive"},
		{[]string{"verify", "-p", "A=b"}, "unknown shorthand flag: 'p'"},
	} {
		r := runToto(t, dir, tc.args...)
		if r.Code != 2 || !strings.Contains(r.Stderr, tc.msg) {
			t.Errorf("toto %v: exit %d, stderr %q, want 2 and %q", tc.args, r.Code, r.Stderr, tc.msg)
		}
	}

	work, data := golangDemo(t)
	r := mustToto(t, work, "verify", "-l", filepath.Join(data, "demo.layout"), "--layout-keys", filepath.Join(data, "alice.pub"), "--link-dir", data)
	if !strings.HasPrefix(r.Stdout, "PASS") {
		t.Errorf("verify with in-toto-verify's flags: %s", r.Stdout)
	}
}
