//go:build unix

package runner

import (
	"context"
	"testing"
)

func TestExecKilledBySignal(t *testing.T) {
	// Python's subprocess reports death by signal N as -N; so do we.
	res, err := Exec(context.Background(), []string{"/bin/sh", "-c", "kill -TERM $$"}, ExecOptions{})
	if err != nil {
		t.Skipf("no /bin/sh: %v", err)
	}
	if res.ExitCode != -15 {
		t.Errorf("exit code %d, want -15", res.ExitCode)
	}
}
