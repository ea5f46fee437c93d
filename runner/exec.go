package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// DefaultMaxCapture is how much of each output stream is recorded by
// default. The stream is still shown whole; only the record is cut.
const DefaultMaxCapture = 16 << 20

// pipeGrace is how long output is still collected after the command exited
// (or was killed) while something it started keeps the pipes open.
const pipeGrace = 2 * time.Second

// ErrTimeout is returned when the command ran longer than its timeout and
// was killed.
var ErrTimeout = errors.New("command timed out")

// StartError is returned when the command could not be started at all
// (not found, not executable).
type StartError struct {
	Command string
	Err     error
}

func (e *StartError) Error() string {
	return fmt.Sprintf("cannot run %q: %v", e.Command, e.Err)
}

func (e *StartError) Unwrap() error { return e.Err }

// ExecOptions controls how a command is run.
type ExecOptions struct {
	// Stdout and Stderr receive the command's output live, as it is
	// produced (typically os.Stdout and os.Stderr). Nil discards. A
	// failing writer does not stop the command or the recording.
	Stdout, Stderr io.Writer
	// Stdin is the command's input; nil means none (/dev/null).
	Stdin io.Reader
	// Dir is the working directory; empty means the current one.
	Dir string
	// Env is the environment; nil means the current process's.
	Env []string
	// Timeout kills the command after this long; 0 means no limit.
	Timeout time.Duration
	// MaxCapture caps how many bytes of each stream are recorded: 0 means
	// DefaultMaxCapture, a negative value records nothing.
	MaxCapture int64
}

// ExecResult is what a finished command left behind.
type ExecResult struct {
	// Stdout and Stderr are the recorded output, at most MaxCapture bytes
	// each (the beginning of the stream).
	Stdout, Stderr []byte
	// StdoutBytes and StderrBytes are the full stream lengths; larger than
	// len(Stdout) and len(Stderr) when the record was cut.
	StdoutBytes, StderrBytes int64
	// ExitCode is the exit status, or minus the signal number if the
	// command was killed by a signal (as Python's subprocess reports it).
	ExitCode int
	// Duration is the wall-clock time the command ran.
	Duration time.Duration
}

// Exec runs argv, copying its output live to opts.Stdout and opts.Stderr
// while recording it. Both streams are drained concurrently, so a command
// writing a lot to one while the other is idle never blocks. A non-zero
// exit status is not an error: it is in ExecResult.ExitCode. Errors are
// *StartError, ErrTimeout (wrapped) or the context's error.
func Exec(ctx context.Context, argv []string, opts ExecOptions) (*ExecResult, error) {
	if len(argv) == 0 {
		return nil, errors.New("no command to run")
	}
	runCtx := ctx
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	max := opts.MaxCapture
	if max == 0 {
		max = DefaultMaxCapture
	}
	stdout := &capture{live: opts.Stdout, max: max}
	stderr := &capture{live: opts.Stderr, max: max}

	cmd := exec.CommandContext(runCtx, argv[0], argv[1:]...)
	cmd.Dir = opts.Dir
	cmd.Env = opts.Env
	cmd.Stdin = opts.Stdin
	// exec.Cmd copies each non-*os.File writer in its own goroutine, which
	// is what keeps a full stderr pipe from blocking while we wait on
	// stdout (the in-toto-golang deadlock).
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	// On timeout ask politely first; WaitDelay later escalates to SIGKILL.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = pipeGrace

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, &StartError{Command: argv[0], Err: err}
	}
	err := cmd.Wait()
	res := &ExecResult{
		Stdout:      stdout.buf.Bytes(),
		Stderr:      stderr.buf.Bytes(),
		StdoutBytes: stdout.total,
		StderrBytes: stderr.total,
		Duration:    time.Since(start),
	}
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	if runCtx.Err() != nil {
		return nil, fmt.Errorf("%w after %v: %s", ErrTimeout, opts.Timeout, argv[0])
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil, errors.Is(err, exec.ErrWaitDelay):
		// ErrWaitDelay: the command succeeded but left something holding
		// its output open; what was written until then is recorded.
	case errors.As(err, &exitErr):
	default:
		return nil, fmt.Errorf("run %s: %w", argv[0], err)
	}
	res.ExitCode = exitCode(cmd)
	return res, nil
}

func exitCode(cmd *exec.Cmd) int {
	ps := cmd.ProcessState
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -int(ws.Signal())
	}
	return ps.ExitCode()
}

// capture tees one output stream to a live writer and a bounded buffer.
type capture struct {
	mu      sync.Mutex
	live    io.Writer
	liveErr error
	buf     bytes.Buffer
	max     int64
	total   int64
}

// Write never fails: the command must not die of SIGPIPE because the
// user's terminal went away, and the record must stay complete.
func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live != nil && c.liveErr == nil {
		_, c.liveErr = c.live.Write(p)
	}
	if room := c.max - int64(c.buf.Len()); room > 0 {
		if int64(len(p)) <= room {
			c.buf.Write(p)
		} else {
			c.buf.Write(p[:room])
		}
	}
	c.total += int64(len(p))
	return len(p), nil
}
