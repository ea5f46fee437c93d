package jsonobj

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestCheckDuplicates(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{}`, ""},
		{`{"a":1,"b":{"a":1},"c":[{"a":1},{"a":2}]}`, ""},
		{`{"a":"a","b":"\"a\",\"a\":"}`, ""}, // names inside string values are not members
		{`[{"x":1},{"x":2,"y":{"z":[]}}]`, ""},
		{"{\"a\":\"line\nbreak\",\"b\":1}", ""}, // raw newline, as OLPC canonical JSON writes
		{`{"a":1,"a":2}`, `field "a" appears more than once`},
		// Past 16 names in order, names are not listed; one out of order
		// makes the check start again with every name listed.
		{`{"m":{` + sortedMembers(20) + `,"k03":0}}`, `field "k03" appears more than once (in /m)`},
		{`{"m":{` + sortedMembers(20) + `,"j":0}}`, ""},
		{`{"m":{` + sortedMembers(20) + `,"k19":0}}`, `field "k19" appears more than once (in /m)`},
		{`{"name":1,"n\u0061me":2}`, `field "name" appears more than once`},
		{`{"m":{"f":{"s":"1","s":"2"}}}`, `field "s" appears more than once (in /m/f)`},
		{`{"products":{"dist/a~b":{"sha256":"1"},"x":{},"dist/a~b":{}}}`, `field "dist/a~b" appears more than once (in /products)`},
		{`{"l":[1,{"k":{"a":0,"a":0}}]}`, `field "a" appears more than once (in /l/1/k)`},
		{`{"a\"b":1,"a\"b":2}`, `field "a\"b" appears more than once`},
	} {
		err := CheckDuplicates([]byte(tc.in))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Past 16 members names go into a map; duplicates must still be found
// wherever they are.
func TestCheckDuplicatesLargeObject(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"materials":{`)
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, `"f%d":{"sha256":"ab"},`, i)
	}
	clean := b.String() + `"last":{}}}`
	if err := CheckDuplicates([]byte(clean)); err != nil {
		t.Fatalf("clean object: %v", err)
	}
	for _, dup := range []int{0, 15, 16, 17, 999} {
		doc := b.String() + fmt.Sprintf(`"f%d":{}}}`, dup)
		want := fmt.Sprintf(`field "f%d" appears more than once (in /materials)`, dup)
		if err := CheckDuplicates([]byte(doc)); err == nil || err.Error() != want {
			t.Errorf("duplicate f%d: got %v, want %s", dup, err, want)
		}
	}
}

// CheckDuplicates agrees with a decoder-based check on whatever the
// decoder calls valid JSON, and never panics on anything else.
func FuzzCheckDuplicates(f *testing.F) {
	for _, s := range []string{`{"a":{"b":[1,{"c":2,"c":3}]}}`, `{"a\u0062":1,"ab":2}`, `[{"":0,"":1}]`, `{"a":"}","a":"{"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := CheckDuplicates(data)
		if !json.Valid(data) {
			return
		}
		if want := hasDuplicate(t, json.RawMessage(data)); want != (err != nil) {
			t.Fatalf("CheckDuplicates says %v, the decoder says duplicate=%v", err, want)
		}
	})
}

// hasDuplicate walks a valid document with split, which rejects duplicate
// names at each level (without Split's case check: names that differ only
// in case are not duplicates to CheckDuplicates).
func hasDuplicate(t *testing.T, raw json.RawMessage) bool {
	raw = json.RawMessage(strings.TrimSpace(string(raw)))
	switch {
	case len(raw) > 0 && raw[0] == '{':
		f, err := split(raw, false, true)
		if err != nil {
			if strings.Contains(err.Error(), "appears more than once") {
				return true
			}
			t.Fatalf("Split on valid JSON: %v", err)
		}
		for _, v := range f {
			if hasDuplicate(t, v) {
				return true
			}
		}
	case len(raw) > 0 && raw[0] == '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			t.Fatal(err)
		}
		for _, v := range items {
			if hasDuplicate(t, v) {
				return true
			}
		}
	}
	return false
}

func BenchmarkCheckDuplicates(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"_type":"link","materials":{`)
	for i := 0; i < 100000; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"src/pkg%d/file%d.go":{"sha256":"%064x"}`, i/100, i, i)
	}
	sb.WriteString(`},"products":{}}`)
	data := []byte(sb.String())
	b.Run("CheckDuplicates", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if err := CheckDuplicates(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Split", func(b *testing.B) { // for scale: the top-level split every parse does
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := Split(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// sortedMembers is n members "k00":0, "k01":0, ... in increasing order.
func sortedMembers(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"k%02d":0`, i)
	}
	return strings.Join(parts, ",")
}
