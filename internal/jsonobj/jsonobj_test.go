package jsonobj

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSplitAcceptsRawControlsInStrings(t *testing.T) {
	// OLPC canonical JSON leaves newlines raw inside strings.
	f, err := Split([]byte("{\"stdout\":\"line1\nline2\\\"q\\\\\",\"n\":1}"))
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := f.Take("stdout", &s, true); err != nil {
		t.Fatal(err)
	}
	if s != "line1\nline2\"q\\" {
		t.Errorf("got %q", s)
	}
	// Control bytes outside strings stay invalid.
	if _, err := Split([]byte("{\"a\":\x01}")); err == nil {
		t.Error("control byte outside a string accepted")
	}
}

func TestSplitRejects(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a":1,"a":2}`, `"a" appears more than once`},
		{`[1]`, "expected a JSON object"},
		{`{"a":1} {}`, "trailing data"},
		{`{"a":`, "invalid JSON"},
	} {
		if _, err := Split([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestJoinKeepsExtrasSorted(t *testing.T) {
	b, err := Join(map[string]any{"b": 1, "a": "x"}, Fields{"c": json.RawMessage(`[true]`), "a": json.RawMessage(`"ignored"`)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":"x","b":1,"c":[true]}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}
