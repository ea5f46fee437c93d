package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toto-dev/toto/runner"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestProgressView(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), bytes.Repeat([]byte("x"), 3000), 0o644)
	os.WriteFile(filepath.Join(dir, "b"), []byte("y"), 0o644)

	var out lockedBuffer
	p := newProgressView(&out, true)
	p.every = 5 * time.Millisecond
	p.phase(runner.PhaseMaterials)
	if _, err := runner.RecordArtifacts(context.Background(), []string{dir}, runner.HashOptions{Progress: p.progress}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	p.phase(runner.PhaseCommand)
	during := out.String()
	if !strings.Contains(during, "materials: 2 files, 2.9 KiB hashed") {
		t.Errorf("progress line missing: %q", during)
	}
	if !strings.HasSuffix(during, "\r\033[K") {
		t.Errorf("line not cleared before the command runs: %q", during)
	}
	time.Sleep(30 * time.Millisecond)
	if out.String() != during {
		t.Errorf("progress drawn while the command owns the terminal: %q", strings.TrimPrefix(out.String(), during))
	}
	p.stop()

	var quiet lockedBuffer
	q := newProgressView(&quiet, false)
	q.every = time.Millisecond
	q.phase(runner.PhaseMaterials)
	time.Sleep(10 * time.Millisecond)
	q.stop()
	if quiet.String() != "" {
		t.Errorf("disabled progress wrote %q", quiet.String())
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 1 << 30: "1.0 GiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
