package examples_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The CI recipes under examples/ci are YAML that their CI systems can load,
// and every toto command in them is a real command with real flags: each is
// checked against `toto <command> --help` of the toto built for this test.
func TestCIRecipes(t *testing.T) {
	for _, tc := range []struct {
		file    string
		scripts func(doc map[string]any) []string
	}{
		{"github-actions.yml", githubRuns},
		{"gitlab-ci.yml", gitlabScripts},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("ci", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := yaml.Unmarshal(data, &doc); err != nil {
				t.Fatalf("not YAML: %v", err)
			}
			var commands int
			for _, script := range tc.scripts(doc) {
				for _, line := range strings.Split(script, "\n") {
					line = strings.TrimSpace(line)
					if strings.HasPrefix(line, "go install ") {
						checkInstall(t, line)
					}
					if !strings.HasPrefix(line, "toto ") {
						continue
					}
					commands++
					checkCommand(t, line)
				}
			}
			if commands < 3 {
				t.Errorf("%d toto commands found; the recipe should run, and verify, a chain", commands)
			}
		})
	}
}

// githubRuns is every steps[].run of every job.
func githubRuns(doc map[string]any) []string {
	var out []string
	jobs, _ := doc["jobs"].(map[string]any)
	for _, j := range jobs {
		steps, _ := j.(map[string]any)["steps"].([]any)
		for _, s := range steps {
			if run, ok := s.(map[string]any)["run"].(string); ok {
				out = append(out, run)
			}
		}
	}
	return out
}

// gitlabScripts is before_script and every job's script.
func gitlabScripts(doc map[string]any) []string {
	var out []string
	add := func(v any) {
		list, _ := v.([]any)
		for _, l := range list {
			if s, ok := l.(string); ok {
				out = append(out, s)
			}
		}
	}
	for name, v := range doc {
		if name == "before_script" {
			add(v)
			continue
		}
		if job, ok := v.(map[string]any); ok {
			add(job["before_script"])
			add(job["script"])
		}
	}
	return out
}

// checkInstall checks that `go install MODULE/cmd/toto@...` names this
// module's command.
func checkInstall(t *testing.T, line string) {
	t.Helper()
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	module := strings.TrimPrefix(strings.SplitN(string(mod), "\n", 2)[0], "module ")
	if f := strings.Fields(line); len(f) != 3 || f[2] != module+"/cmd/toto@latest" {
		t.Errorf("%q does not install %s/cmd/toto", line, module)
	}
}

// checkCommand runs `toto <words> --help` for the command line's leading
// words and checks that every flag it uses is in that help.
func checkCommand(t *testing.T, line string) {
	t.Helper()
	args := words(strings.TrimPrefix(line, "toto "))
	var path []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			break
		}
		path = append(path, a)
	}
	out, err := exec.Command(totoBin, append(path, "--help")...).CombinedOutput()
	if err != nil {
		t.Errorf("%q: toto %s --help: %v\n%s", line, strings.Join(path, " "), err, out)
		return
	}
	help := string(out)
	if !strings.Contains(help, "Usage:\n  toto "+path[0]) {
		t.Errorf("%q: toto %s is not a command:\n%s", line, path[0], help)
		return
	}
	for _, a := range args {
		if a == "--" {
			break // the wrapped command's own arguments
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			continue
		}
		flag := strings.SplitN(a, "=", 2)[0]
		if strings.HasPrefix(flag, "--") && !strings.Contains(help, flag+" ") || !strings.HasPrefix(flag, "--") && !strings.Contains(help, flag+", ") {
			t.Errorf("%q: toto %s has no flag %s", line, strings.Join(path, " "), flag)
		}
	}
}

// words splits a shell command line on spaces, keeping quoted words whole
// and dropping redirections.
func words(s string) []string {
	var out []string
	var cur strings.Builder
	var quote rune
	in := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote == 0 && (r == '"' || r == '\''):
			quote, in = r, true
		case quote == 0 && r == ' ':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	for i, w := range out {
		if w == ">" || w == "|" {
			return out[:i]
		}
	}
	return out
}

// The README's 5-minute tour, pasted into a shell as a reader would: every
// command succeeds, and the last verify, after the attack, fails with exit 1
// naming the swapped file.
func TestREADMETour(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, "## A 5-minute tour")
	if i < 0 {
		t.Fatal("README has no 5-minute tour")
	}
	text = text[i:]
	start := strings.Index(text, "```sh\n")
	end := strings.Index(text[start+6:], "```")
	if start < 0 || end < 0 {
		t.Fatal("the tour has no sh block")
	}
	lines := strings.Split(strings.TrimSpace(text[start+6:start+6+end]), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "toto verify") {
		t.Fatalf("the tour does not end with a verify: %q", last)
	}
	env := append(os.Environ(), "PATH="+filepath.Dir(totoBin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	dir := t.TempDir()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", strings.Join(lines[:len(lines)-1], "\n"))
	cmd.Dir, cmd.Env = dir, env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the tour failed before the attack: %v\n%s", err, out)
	}
	cmd = exec.Command("bash", "-c", last)
	cmd.Dir, cmd.Env = filepath.Join(dir, "toto-tour"), env
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "app.tar.gz was DISALLOWed") {
		t.Fatalf("the verify after the attack: %v, want exit 1 naming app.tar.gz\n%s", err, out)
	}
}
