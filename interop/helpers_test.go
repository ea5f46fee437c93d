package interop

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
)

// The Python reference is Debian's in-toto package. Its module is importable
// only by the system interpreter, not by a python3 earlier on PATH.
const (
	pythonBin    = "/usr/bin/python3"
	inTotoRun    = "/usr/bin/in-toto-run"
	inTotoSign   = "/usr/bin/in-toto-sign"
	inTotoVerify = "/usr/bin/in-toto-verify"
	inTotoKeygen = "/usr/bin/in-toto-keygen"
)

// subprocessTimeout bounds every reference-implementation subprocess, so a
// hung interpreter fails the test instead of the whole suite's deadline.
const subprocessTimeout = 60 * time.Second

// requirePython skips t when Debian's in-toto is not installed.
func requirePython(t testing.TB) {
	t.Helper()
	for _, p := range []string{inTotoRun, inTotoSign, inTotoVerify, inTotoKeygen, pythonBin} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("Python in-toto reference not installed (%s missing; `apt-get install in-toto` provides it); skipping Python interop", p)
		}
	}
}

// execResult is what a finished subprocess reported.
type execResult struct {
	Code   int
	Stdout string
	Stderr string
}

func (r execResult) output() string {
	return strings.TrimSpace(r.Stdout + "\n" + r.Stderr)
}

// execIn runs name with args in dir and returns its exit code and output.
// Only a failure to start (or a timeout) is an error: a non-zero exit is a
// result the caller judges.
func execIn(dir, name string, args ...string) (execResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), subprocessTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = referenceEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := execResult{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return res, &execError{name, args, ctx.Err(), res}
	case errors.As(err, &ee):
		res.Code = ee.ExitCode()
		return res, nil
	case err != nil:
		return res, &execError{name, args, err, res}
	}
	return res, nil
}

// execOK runs a command that must exit 0 and returns its stdout.
func execOK(dir, name string, args ...string) (string, error) {
	res, err := execIn(dir, name, args...)
	if err != nil {
		return "", err
	}
	if res.Code != 0 {
		return "", &execError{name, args, fmt.Errorf("exit status %d", res.Code), res}
	}
	return res.Stdout, nil
}

type execError struct {
	name string
	args []string
	err  error
	res  execResult
}

func (e *execError) Error() string {
	return filepath.Base(e.name) + " " + strings.Join(e.args, " ") + ": " + e.err.Error() + "\n" + e.res.output()
}

// referenceEnv is the environment for reference subprocesses: the caller's,
// minus in-toto's own settings variables (IN_TOTO_*), which would change
// what the CLIs record, and without bytecode files in the system tree.
func referenceEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "IN_TOTO_") || strings.HasPrefix(kv, "PYTHON") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PYTHONDONTWRITEBYTECODE=1", "LC_ALL=C.UTF-8")
}

// parallel runs fns concurrently and reports every error on t. Subprocesses
// dominate these tests' time, and t.Fatal must not be called off the test
// goroutine, hence errors rather than t inside fns.
func parallel(t testing.TB, fns ...func() error) {
	t.Helper()
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn()
		}()
	}
	wg.Wait()
	failed := false
	for _, err := range errs {
		if err != nil {
			t.Error(err)
			failed = true
		}
	}
	if failed {
		t.FailNow()
	}
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func loadKey(t testing.TB, path string) *keys.Key {
	t.Helper()
	k, err := keys.Load(path)
	if err != nil {
		t.Fatalf("toto cannot load %s: %v", path, err)
	}
	return k
}

func parseEnvelopeFile(t testing.TB, path string) *envelope.Envelope {
	t.Helper()
	e, err := envelope.Parse(readFile(t, path))
	if err != nil {
		t.Fatalf("toto cannot parse %s: %v", path, err)
	}
	return e
}

// testKey is a toto-generated key of one scheme.
type testKey struct {
	name   string // short name used in file names
	scheme string
	key    *keys.Key
}

// keySpecs are the key kinds toto generates, with generation options that
// keep tests fast (RSA 2048 rather than the 3072 default).
var keySpecs = []struct {
	name   string
	typ    string
	opts   keys.GenerateOptions
	scheme string
}{
	{"ed25519", keys.Ed25519, keys.GenerateOptions{}, keys.SchemeEd25519},
	{"p256", keys.ECDSA, keys.GenerateOptions{Curve: elliptic.P256()}, keys.SchemeECDSAP256},
	{"p384", keys.ECDSA, keys.GenerateOptions{Curve: elliptic.P384()}, keys.SchemeECDSAP384},
	{"rsa", keys.RSA, keys.GenerateOptions{RSABits: 2048}, keys.SchemeRSAPSS},
}

// generateKeys makes one toto key of every kind in keySpecs.
func generateKeys(t testing.TB) []testKey {
	t.Helper()
	out := make([]testKey, len(keySpecs))
	for i, s := range keySpecs {
		k, err := keys.Generate(s.typ, s.opts)
		if err != nil {
			t.Fatal(err)
		}
		if k.Scheme != s.scheme {
			t.Fatalf("generated %s key has scheme %s, want %s", s.name, k.Scheme, s.scheme)
		}
		out[i] = testKey{s.name, s.scheme, k}
	}
	return out
}

// resign returns a copy of e whose payload is replaced by payload but which
// keeps e's signatures: a forgery that must not verify.
func resign(t testing.TB, e *envelope.Envelope, payload []byte) *envelope.Envelope {
	t.Helper()
	f, err := envelope.New(e.Format, e.PayloadType, payload)
	if err != nil {
		t.Fatal(err)
	}
	f.Signatures = e.Signatures
	return f
}

// tamperPayload changes one string value in a JSON payload without breaking
// its structure.
func tamperPayload(t testing.TB, payload []byte, old, new string) []byte {
	t.Helper()
	out := bytes.Replace(payload, []byte(old), []byte(new), 1)
	if bytes.Equal(out, payload) {
		t.Fatalf("tamper: %q not found in payload", old)
	}
	return out
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
