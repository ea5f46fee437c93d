package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// totoBin is the toto binary built once for the CLI tests.
var totoBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "toto-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	totoBin = filepath.Join(dir, "toto")
	build := exec.Command("go", "build", "-o", totoBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building toto for CLI tests:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cliResult is what one toto invocation did.
type cliResult struct {
	Stdout, Stderr string
	Code           int
}

// runToto runs the toto binary in dir with args and returns its output and
// exit code. It fails the test only if the binary could not be started.
func runToto(t *testing.T, dir string, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(totoBin, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run toto %v: %v", args, err)
	}
	return cliResult{out.String(), errb.String(), code}
}

// mustToto runs toto and fails the test unless it exits 0.
func mustToto(t *testing.T, dir string, args ...string) cliResult {
	t.Helper()
	r := runToto(t, dir, args...)
	if r.Code != 0 {
		t.Fatalf("toto %v: exit %d\nstdout: %s\nstderr: %s", args, r.Code, r.Stdout, r.Stderr)
	}
	return r
}
