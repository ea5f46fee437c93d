// Command toto is the command-line interface to the toto supply-chain
// integrity framework. It parses flags and calls the library packages; no
// logic lives only here.
//
// Exit codes: 0 success, 1 verification failed (or the wrapped command
// failed, for `toto run`), 2 usage or input error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes that scripts can rely on.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsageOrData = 2
)

// exitError carries a specific exit code up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// failed marks err as a verification (or wrapped command) failure: exit 1.
func failed(err error) error { return &exitError{code: exitFailed, err: err} }

// withCode lets a command choose its exit code explicitly, e.g. to propagate
// the wrapped command's status.
func withCode(code int, err error) error { return &exitError{code: code, err: err} }

var rootCmd = &cobra.Command{
	Use:   "toto",
	Short: "Prove and check that every step of a software supply chain ran as agreed",
	Long: `toto creates and verifies in-toto supply-chain metadata.

Build pipelines wrap each step with 'toto run' to produce signed links,
security teams author and sign layouts with 'toto layout', and consumers
check a final artifact with 'toto verify'.

Exit codes: 0 success, 1 verification failed, 2 usage or input error.`,
	SilenceUsage:  true,
	SilenceErrors: true,
}

func init() { rootCmd.AddCommand(newNotationCmd()) }
func init() { rootCmd.AddCommand(newTrustCmd()) }

func main() {
	// SIGTERM too (what kill, timeout(1) and CI runners send): the context
	// is how inspection sandboxes and half-written files get cleaned up.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	registerCompletions(rootCmd)
	cmd, err := rootCmd.ExecuteContextC(ctx)
	stop()
	code := exitCode(err)
	if code == exitUsageOrData && cmd != nil && jsonRequested(cmd) {
		// A script that asked for JSON gets JSON on stdout for input
		// errors too, not only for verdicts.
		writeErrorJSON(os.Stdout, code, err)
	}
	os.Exit(code)
}

// jsonRequested reports whether the command that ran was given --json.
func jsonRequested(cmd *cobra.Command) bool {
	f := cmd.Flags().Lookup("json")
	return f != nil && f.Changed && f.Value.String() == "true"
}

// writeErrorJSON writes {"error": {"code": N, "message": "..."}}.
func writeErrorJSON(w io.Writer, code int, err error) {
	msg := ""
	var ee *exitError
	if errors.As(err, &ee) && ee.err != nil {
		msg = ee.err.Error()
	} else if err != nil {
		msg = err.Error()
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": code, "message": msg}})
	fmt.Fprintln(w, string(b))
}

func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(os.Stderr, "toto:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "toto:", err)
	return exitUsageOrData
}
