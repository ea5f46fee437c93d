package main

import (
	"strings"
	"testing"
)

func TestVersionFlag(t *testing.T) {
	r := mustToto(t, t.TempDir(), "--version")
	if !strings.HasPrefix(r.Stdout, "toto version ") || strings.TrimSpace(strings.TrimPrefix(r.Stdout, "toto version ")) == "" {
		t.Errorf("--version printed %q", r.Stdout)
	}
}
