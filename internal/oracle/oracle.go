// Package oracle finds and starts the real other implementations that the
// interop tests compare toto with: cosign v2 and v3, crane, oras, skopeo,
// and a distribution 2.8 registry. `make interop` installs them (see
// .ci/interop-deps.sh) into a cache folder outside the repo and names it in
// TOTO_INTEROP_BIN; Debian's packages are on PATH.
//
// Every server started here listens on 127.0.0.1 on a free port and is
// stopped when the test ends.
package oracle

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Cosign versions the interop tests run against.
const (
	CosignV3 = "cosign-v3.1.3"
	CosignV2 = "cosign-v2.6.5"
)

// Tool returns the path of a tool installed by `make interop`: first in
// TOTO_INTEROP_BIN, then on PATH. A missing tool fails the test: the
// interop suite runs only where the Makefile installed its oracles.
func Tool(t testing.TB, name string) string {
	t.Helper()
	if dir := os.Getenv("TOTO_INTEROP_BIN"); dir != "" {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found in TOTO_INTEROP_BIN (%q) or PATH: run `make interop`, which installs it", name, os.Getenv("TOTO_INTEROP_BIN"))
	}
	return p
}

// Result is what one run of a tool did.
type Result struct {
	Stdout, Stderr string
	Err            error
}

// Run runs a tool with args in dir (or the test's temporary folder when
// dir is ""), with env added to the environment, and gives up after two
// minutes.
func Run(t testing.TB, dir string, env []string, tool string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, args...)
	if dir == "" {
		dir = t.TempDir()
	}
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s %v: timed out: %w", filepath.Base(tool), args, ctx.Err())
	}
	return Result{Stdout: out.String(), Stderr: errb.String(), Err: err}
}

// MustRun is Run that fails the test when the tool fails.
func MustRun(t testing.TB, dir string, env []string, tool string, args ...string) Result {
	t.Helper()
	r := Run(t, dir, env, tool, args...)
	if r.Err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", filepath.Base(tool), strings.Join(args, " "), r.Err, r.Stdout, r.Stderr)
	}
	return r
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Registry starts Debian's docker-registry (distribution 2.8) on a free
// loopback port with storage in a temporary folder, and returns its host
// ("127.0.0.1:PORT"). It is stopped when the test ends.
func Registry(t testing.TB) string {
	t.Helper()
	bin := Tool(t, "docker-registry")
	dir := t.TempDir()
	host := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "data"), host)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// start and waitHTTP (transparency.go): the logs are written while
	// the test may read them.
	start(t, dir, bin, "serve", cfgPath).waitHTTP(t, "docker-registry", "http://"+host+"/v2/")
	return host
}
