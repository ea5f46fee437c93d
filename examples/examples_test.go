// Package examples_test runs the examples under examples/ as a user would:
// each example's run.sh, in a temporary copy of its directory, with a toto
// binary built once for the whole test. It then checks the verdicts again
// with toto verify on the directories the script left behind: the honest
// supply chain passes (exit 0), the tampered one fails (exit 1) with a
// message naming the tampered artifact.
package examples_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// totoBin is the toto binary built by TestMain.
var totoBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "toto-examples-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer os.RemoveAll(dir)
	totoBin = filepath.Join(dir, "toto")
	build := exec.Command("go", "build", "-o", totoBin, "../cmd/toto")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "examples: building toto:", err)
		return 2
	}
	return m.Run()
}

// example describes one example and how its verdicts are checked again.
type example struct {
	name string
	// needs are the commands the example runs besides toto, bash and tar.
	needs []string
	// honest and tampered are the directories run.sh verifies in, relative
	// to its work directory; verify is the toto verify command line it uses.
	honest, tampered string
	verify           []string
	// caught are words the failure must name: the tampered artifact(s).
	caught []string
}

var examples = []example{
	{
		name:     "basic",
		honest:   "consumer",
		tampered: "tampered",
		verify:   []string{"--layout", "root.layout", "--layout-key", "keys/alice.pub", "--links", "links"},
		caught:   []string{"demo-project.tar.gz"},
	},
	{
		name:     "go-release",
		needs:    []string{"git", "go"},
		honest:   "consumer",
		tampered: "tampered",
		verify: []string{"--layout", "root.layout", "--layout-key", "keys/ana.pub", "--layout-key", "keys/omar.pub",
			"--links", "links", "--param", "VERSION=1.0.0",
			"--attestation", "hello-1.0.0.sbom.att.json", "--sbom-policy", "../sbom-policy.yaml"},
		caught: []string{"src/backdoor.go"},
	},
	{
		name:     "config-gitops",
		honest:   "deploy",
		tampered: "tampered",
		verify:   []string{"--layout", "root.layout", "--layout-key", "keys/olivia.pub", "--links", "links"},
		caught:   []string{"config/app.yaml"},
	},
	{
		name:     "package",
		honest:   "customer",
		tampered: "tampered",
		verify:   []string{"--layout", "root.layout", "--layout-key", "keys/sam.pub", "--links", "links", "--param", "VERSION=1.2.0"},
		caught:   []string{"app-1.2.0.tar.gz"},
	},
}

func TestExamples(t *testing.T) {
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range append([]string{"bash", "tar"}, ex.needs...) {
				if _, err := exec.LookPath(c); err != nil {
					t.Skipf("%s is not installed; the %s example needs it", c, ex.name)
				}
			}
			for _, f := range []string{"README.md", "layout.yaml", "run.sh"} {
				if _, err := os.Stat(filepath.Join(ex.name, f)); err != nil {
					t.Errorf("example %s has no %s: %v", ex.name, f, err)
				}
			}

			tmp := t.TempDir()
			dir := filepath.Join(tmp, ex.name)
			copyExample(t, ex.name, dir)
			before := listTree(t, dir)
			work := filepath.Join(tmp, "work")

			out, code := runScript(t, filepath.Join(dir, "run.sh"), totoBin, work)
			if code != 0 {
				t.Fatalf("run.sh exited %d, want 0; output:\n%s", code, out)
			}
			for _, want := range append([]string{"PASSED verification", "REJECTED (exit 1)"}, ex.caught...) {
				if !strings.Contains(out, want) {
					t.Errorf("run.sh output does not mention %q; output:\n%s", want, out)
				}
			}
			if after := listTree(t, dir); !slices.Equal(before, after) {
				t.Errorf("run.sh changed its own directory: files before %v, after %v", before, after)
			}

			// The verdicts again, from the directories the script verified.
			res := verify(t, filepath.Join(work, ex.honest), ex.verify)
			if res.code != 0 {
				t.Errorf("toto verify in %s: exit %d, want 0 (pass); output:\n%s", ex.honest, res.code, res.out)
			}
			res = verify(t, filepath.Join(work, ex.tampered), ex.verify)
			if res.code != 1 {
				t.Errorf("toto verify in %s: exit %d, want 1 (verification failed); output:\n%s", ex.tampered, res.code, res.out)
			}
			for _, a := range ex.caught {
				if !strings.Contains(res.out, a) {
					t.Errorf("toto verify in %s does not name the tampered artifact %s; output:\n%s", ex.tampered, a, res.out)
				}
			}
		})
	}
}

// TestRunVerdicts checks that a run.sh fails unless the honest chain passes
// and the tampered one fails with exit 1: it runs the basic example with a
// toto whose verify lies in one way or another.
func TestRunVerdicts(t *testing.T) {
	for _, tc := range []struct {
		mode string
		want string
	}{
		{"honest-fails", "the honest supply chain FAILED verification"},
		{"tampered-passes", "the attack was NOT caught"},
		{"tampered-usage-error", "toto verify exited 2"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			fake := fakeToto(t, tmp, tc.mode)
			dir := filepath.Join(tmp, "basic")
			copyExample(t, "basic", dir)
			out, code := runScript(t, filepath.Join(dir, "run.sh"), fake, filepath.Join(tmp, "work"))
			if code == 0 {
				t.Fatalf("run.sh exited 0 although toto verify was made to %s; output:\n%s", tc.mode, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("run.sh output does not say %q; output:\n%s", tc.want, out)
			}
		})
	}
}

// TestDemo runs examples/demo.sh, what `make demo` runs, from a copy of the
// examples tree.
func TestDemo(t *testing.T) {
	tmp := t.TempDir()
	root := filepath.Join(tmp, "repo")
	copyExample(t, "basic", filepath.Join(root, "examples", "basic"))
	data, err := os.ReadFile("demo.sh")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "examples", "demo.sh"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, code := runScript(t, filepath.Join(root, "examples", "demo.sh"), totoBin, "")
	if code != 0 {
		t.Fatalf("demo.sh exited %d, want 0; output:\n%s", code, out)
	}
	for _, want := range []string{"== carl: package", "PASSED verification", "REJECTED (exit 1)", "demo-project.tar.gz", "demo: done in"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output does not mention %q; output:\n%s", want, out)
		}
	}

	// Without a toto binary it says what to do.
	out, code = runScript(t, filepath.Join(root, "examples", "demo.sh"), filepath.Join(tmp, "no-such-toto"), "")
	if code != 2 || !strings.Contains(out, "make build") {
		t.Errorf("demo.sh without toto: exit %d, want 2 and a hint to run make build; output:\n%s", code, out)
	}
}

// fakeToto writes a toto wrapper into dir that runs the real toto for every
// command except verify, which it answers according to mode, depending on
// the directory it is run in.
func fakeToto(t *testing.T, dir, mode string) string {
	t.Helper()
	script := fmt.Sprintf(`#!/bin/sh
if [ "$1" = verify ]; then
	case "$(basename "$PWD"):%s" in
	consumer:honest-fails) echo "fake toto: verification failed" >&2; exit 1 ;;
	tampered:tampered-passes) echo "fake toto: verification passed" >&2; exit 0 ;;
	tampered:tampered-usage-error) echo "fake toto: bad flag" >&2; exit 2 ;;
	esac
fi
exec %q "$@"
`, mode, totoBin)
	bin := filepath.Join(dir, "fakebin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(bin, "toto")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// runScript runs a script with bash, with TOTO and (unless empty) WORK set,
// and returns its combined output and exit status.
func runScript(t *testing.T, script, toto, work string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Dir = t.TempDir() // a run.sh must not depend on where it is started
	cmd.Env = append(withoutEnv(os.Environ(), "TOTO", "WORK", "KEEP"), "TOTO="+toto)
	if work != "" {
		cmd.Env = append(cmd.Env, "WORK="+work)
	}
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s timed out; output so far:\n%s", script, buf.String())
	}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return buf.String(), ee.ExitCode()
		}
		t.Fatalf("run %s: %v", script, err)
	}
	return buf.String(), 0
}

type result struct {
	out  string
	code int
}

// verify runs toto verify in dir.
func verify(t *testing.T, dir string, args []string) result {
	t.Helper()
	cmd := exec.Command(totoBin, append([]string{"verify"}, args...)...)
	cmd.Dir = dir
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return result{buf.String(), ee.ExitCode()}
		}
		t.Fatalf("toto verify in %s: %v", dir, err)
	}
	return result{buf.String(), 0}
}

func withoutEnv(env []string, names ...string) []string {
	var out []string
next:
	for _, kv := range env {
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// copyExample copies example src to dst, and the scripts' shared lib.sh
// beside it, as they are laid out in the repository.
func copyExample(t *testing.T, src, dst string) {
	t.Helper()
	copyTree(t, src, dst)
	data, err := os.ReadFile("lib.sh")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(dst), "lib.sh"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies the regular files and directories under src to dst,
// keeping permission bits.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case info.Mode().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, info.Mode().Perm())
		default:
			return fmt.Errorf("%s: not a regular file or directory", path)
		}
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}

// listTree lists the files under dir with their sizes.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out = append(out, fmt.Sprintf("%s:%d", rel, info.Size()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}
