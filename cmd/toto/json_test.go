package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Commands that write files print, with --json, a JSON summary on stdout
// and nothing else there.
func TestJSONOnWritingCommands(t *testing.T) {
	dir := t.TempDir()
	src := exampleSource(t)
	stmt := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` + strings.Repeat("a", 64) + `"}}],"predicateType":"https://example.com/p","predicate":{}}`
	if err := os.WriteFile(filepath.Join(dir, "st.json"), []byte(stmt), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		keys []string
	}{
		{[]string{"key", "generate", "-o", "owner", "--json"}, []string{"private", "public", "keyid", "keytype", "scheme"}},
		{[]string{"layout", "create", src, "-o", "root.layout", "--json"}, []string{"file", "steps", "inspections", "keys", "expires", "signatures", "format"}},
		{[]string{"sign", "--key", "owner", "root.layout", "--json"}, []string{"file", "format", "signatures", "keyids"}},
		{[]string{"bundle", "create", "--key", "owner", "--statement", "st.json", "-o", "st.sigstore.json", "--json"}, []string{"file", "keyid", "keyHint", "tlog", "timestamped"}},
	} {
		r := mustToto(t, dir, tc.args...)
		if tc.args[0] == "bundle" {
			validateAgainst(t, bundleCreateSchema, r.Stdout)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil {
			t.Fatalf("toto %v: stdout is not one JSON object: %v\n%s", tc.args, err, r.Stdout)
		}
		for _, k := range tc.keys {
			if _, ok := got[k]; !ok {
				t.Errorf("toto %v: no %q in %v", tc.args, k, got)
			}
		}
	}
	// A layout or bundle written to stdout leaves no room for a summary.
	for _, args := range [][]string{
		{"layout", "create", src, "--json"},
		{"bundle", "create", "--key", "owner", "--statement", "st.json", "--json"},
	} {
		if r := runToto(t, dir, args...); r.Code != 2 || !strings.Contains(r.Stderr, "give -o FILE") {
			t.Errorf("toto %v: exit %d, stderr %q", args, r.Code, r.Stderr)
		}
	}
}
