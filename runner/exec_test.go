package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test binary doubles as the command under test: with RUNNER_HELPER
// set, TestMain acts out a scenario instead of running tests. That keeps
// the tests independent of the shell and coreutils.
func TestMain(m *testing.M) {
	if mode := os.Getenv("RUNNER_HELPER"); mode != "" {
		os.Exit(helper(mode))
	}
	code := m.Run()
	if benchTree.dir != "" {
		os.RemoveAll(benchTree.dir) // the benchmarks' generated tree
	}
	os.Exit(code)
}

func helper(mode string) int {
	switch mode {
	case "echo":
		fmt.Fprint(os.Stdout, "to stdout\n")
		fmt.Fprint(os.Stderr, "to stderr\n")
		return 0
	case "exit":
		code, _ := strconv.Atoi(os.Getenv("RUNNER_CODE"))
		return code
	case "flood":
		// Interleave large writes to both streams, stderr first: a runner
		// that reads stdout to the end before stderr deadlocks here.
		n, _ := strconv.Atoi(os.Getenv("RUNNER_SIZE"))
		out := bytes.Repeat([]byte("o"), 64<<10)
		errb := bytes.Repeat([]byte("e"), 64<<10)
		for written := 0; written < n; written += len(out) {
			os.Stderr.Write(errb)
			os.Stdout.Write(out)
		}
		return 0
	case "sleep":
		time.Sleep(time.Minute)
		return 0
	case "stdin":
		b, _ := io.ReadAll(os.Stdin)
		fmt.Print(strings.ToUpper(string(b)))
		return 0
	case "pwd":
		wd, _ := os.Getwd()
		fmt.Print(wd)
		return 0
	case "write":
		// Make a product, say something, and exit with RUNNER_CODE.
		os.WriteFile(os.Getenv("RUNNER_FILE"), []byte("built"), 0o644)
		fmt.Println("building")
		fmt.Fprintln(os.Stderr, "warning: none")
		code, _ := strconv.Atoi(os.Getenv("RUNNER_CODE"))
		return code
	case "env":
		fmt.Print(os.Getenv("RUNNER_X"))
		return 0
	}
	return 99
}

func self(t *testing.T, mode string, env ...string) ([]string, []string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{exe}, append(os.Environ(), append([]string{"RUNNER_HELPER=" + mode}, env...)...)
}

// syncBuffer is a bytes.Buffer safe for the two copying goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestExecTeesAndRecords(t *testing.T) {
	argv, env := self(t, "echo")
	var out, errOut syncBuffer
	res, err := Exec(context.Background(), argv, ExecOptions{Stdout: &out, Stderr: &errOut, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "to stdout\n" || string(res.Stderr) != "to stderr\n" {
		t.Errorf("recorded stdout %q stderr %q", res.Stdout, res.Stderr)
	}
	if out.String() != "to stdout\n" || errOut.String() != "to stderr\n" {
		t.Errorf("live stdout %q stderr %q", out.String(), errOut.String())
	}
	if res.ExitCode != 0 || res.StdoutBytes != 10 || res.StderrBytes != 10 {
		t.Errorf("result %+v", res)
	}
}

func TestExecLargeOutputNoDeadlock(t *testing.T) {
	const size = 3 << 20 // 3 MiB on each stream, far beyond any pipe buffer
	argv, env := self(t, "flood", "RUNNER_SIZE="+strconv.Itoa(size))
	var out, errOut syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Exec(ctx, argv, ExecOptions{Stdout: &out, Stderr: &errOut, Env: env})
	if err != nil {
		t.Fatalf("err = %v (a deadlock shows as a timeout)", err)
	}
	if len(res.Stdout) != size || len(res.Stderr) != size {
		t.Errorf("recorded %d/%d bytes, want %d each", len(res.Stdout), len(res.Stderr), size)
	}
	if len(out.String()) != size || len(errOut.String()) != size {
		t.Errorf("shown %d/%d bytes, want %d each", len(out.String()), len(errOut.String()), size)
	}
	if strings.Trim(string(res.Stderr), "e") != "" || strings.Trim(string(res.Stdout), "o") != "" {
		t.Error("streams mixed up")
	}
}

func TestExecCaptureLimit(t *testing.T) {
	argv, env := self(t, "flood", "RUNNER_SIZE="+strconv.Itoa(1<<20))
	var out syncBuffer
	res, err := Exec(context.Background(), argv, ExecOptions{Stdout: &out, Env: env, MaxCapture: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Stdout) != 1000 || res.StdoutBytes != 1<<20 || len(out.String()) != 1<<20 {
		t.Errorf("recorded %d of %d bytes, shown %d; want 1000 of %d, all shown", len(res.Stdout), res.StdoutBytes, len(out.String()), 1<<20)
	}
	b := Byproducts(res)
	if b["stdout-bytes"] != int64(1<<20) || b["stderr-bytes"] != int64(1<<20) {
		t.Errorf("byproducts do not say the record was cut: %v", b["stdout-bytes"])
	}
	res, err = Exec(context.Background(), argv, ExecOptions{Env: env, MaxCapture: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Stdout) != 0 || len(res.Stderr) != 0 {
		t.Error("MaxCapture < 0 should record nothing")
	}
}

func TestExecExitStatus(t *testing.T) {
	for _, code := range []int{0, 1, 3, 42, 255} {
		argv, env := self(t, "exit", "RUNNER_CODE="+strconv.Itoa(code))
		res, err := Exec(context.Background(), argv, ExecOptions{Env: env})
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != code {
			t.Errorf("exit code %d, want %d", res.ExitCode, code)
		}
		if b := Byproducts(res); b["return-value"] != code {
			t.Errorf("return-value %v, want %d", b["return-value"], code)
		}
	}
}

func TestExecTimeout(t *testing.T) {
	argv, env := self(t, "sleep")
	start := time.Now()
	_, err := Exec(context.Background(), argv, ExecOptions{Env: env, Timeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if !strings.Contains(err.Error(), "200ms") {
		t.Errorf("error %q does not say how long the limit was", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v to give up", d)
	}
}

func TestExecCancelled(t *testing.T) {
	argv, env := self(t, "sleep")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := Exec(ctx, argv, ExecOptions{Env: env})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestExecStartErrors(t *testing.T) {
	var se *StartError
	_, err := Exec(context.Background(), []string{"/no/such/program"}, ExecOptions{})
	if !errors.As(err, &se) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want *StartError wrapping ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), "/no/such/program") {
		t.Errorf("error %q does not name the program", err)
	}
	_, err = Exec(context.Background(), []string{"toto-no-such-command-xyz"}, ExecOptions{})
	if !errors.As(err, &se) {
		t.Errorf("err = %v, want *StartError", err)
	}
	if _, err := Exec(context.Background(), nil, ExecOptions{}); err == nil {
		t.Error("empty command: want error")
	}
}

func TestExecStdinDirEnv(t *testing.T) {
	argv, env := self(t, "stdin")
	res, err := Exec(context.Background(), argv, ExecOptions{Env: env, Stdin: strings.NewReader("shout")})
	if err != nil || string(res.Stdout) != "SHOUT" {
		t.Errorf("stdin: %q, %v", res.Stdout, err)
	}
	dir := t.TempDir()
	argv, env = self(t, "pwd")
	res, err = Exec(context.Background(), argv, ExecOptions{Env: env, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.Stat(string(res.Stdout)); got == nil || !sameDir(t, string(res.Stdout), dir) {
		t.Errorf("dir: ran in %q, want %q", res.Stdout, dir)
	}
	argv, env = self(t, "env", "RUNNER_X=42")
	res, err = Exec(context.Background(), argv, ExecOptions{Env: env})
	if err != nil || string(res.Stdout) != "42" {
		t.Errorf("env: %q, %v", res.Stdout, err)
	}
}

func sameDir(t *testing.T, a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// failingWriter stands for a terminal that went away.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestExecLiveWriterFailureKeepsRecording(t *testing.T) {
	argv, env := self(t, "flood", "RUNNER_SIZE="+strconv.Itoa(256<<10))
	res, err := Exec(context.Background(), argv, ExecOptions{Env: env, Stdout: failingWriter{}, Stderr: failingWriter{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Stdout) != 256<<10 || res.ExitCode != 0 {
		t.Errorf("recorded %d bytes, exit %d", len(res.Stdout), res.ExitCode)
	}
}
