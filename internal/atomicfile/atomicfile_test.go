package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteReplacesAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.json")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "new" {
		t.Fatalf("content = %q, %v; want new", got, err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("perm = %v, want 0600", st.Mode().Perm())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only the target", len(ents))
	}
}

func TestWriteIntoMissingDirFailsCleanly(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope", "out.json")
	if err := Write(p, []byte("x"), 0o644); err == nil {
		t.Fatal("want error for missing directory")
	}
}

// Writing to a device must not replace the device node (as a rename would).
func TestWriteToDeviceWritesThrough(t *testing.T) {
	before, err := os.Stat(os.DevNull)
	if err != nil {
		t.Skip("no", os.DevNull)
	}
	if err := Write(os.DevNull, []byte("discarded"), 0o644); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(os.DevNull)
	if err != nil || after.Mode() != before.Mode() || after.Mode().IsRegular() {
		t.Fatalf("%s changed from %v to %v (%v)", os.DevNull, before.Mode(), after.Mode(), err)
	}
	if err := Write(t.TempDir(), []byte("x"), 0o644); err == nil {
		t.Error("writing over a directory succeeded")
	}
}
