package security

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binDir   string
	buildBin sync.Once
	totoBin  string
	buildErr error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// toto returns the toto binary, built once per test run (from the build
// cache, usually in a second or two).
func toto(t *testing.T) string {
	t.Helper()
	buildBin.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "toto-security-test"); buildErr != nil {
			return
		}
		totoBin = filepath.Join(binDir, "toto")
		out, err := exec.Command("go", "build", "-o", totoBin, "../cmd/toto").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ../cmd/toto: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return totoBin
}

// cliResult is what one toto run did.
type cliResult struct {
	Stdout, Stderr string
	Code           int
	// MaxRSS is the peak resident memory of the process, in bytes.
	MaxRSS int64
}

// runToto runs toto in dir, killing it after timeout.
func runToto(t *testing.T, dir string, timeout time.Duration, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, toto(t), args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("toto %v did not finish within %v\nstdout: %s\nstderr: %s", args, timeout, out.String(), errb.String())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run toto %v: %v", args, err)
	}
	r := cliResult{Stdout: out.String(), Stderr: errb.String(), Code: code}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.MaxRSS = ru.Maxrss * 1024 // kilobytes on Linux
	}
	return r
}

func wantCode(t *testing.T, r cliResult, code int) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.Code, code, r.Stdout, r.Stderr)
	}
}
