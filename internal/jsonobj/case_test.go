package jsonobj

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

type caseInner struct {
	C int    `json:"c"`
	D string `json:"d,omitempty"`
}

type caseOuter struct {
	A string               `json:"a"`
	B []caseInner          `json:"b"`
	M map[string]caseInner `json:"m"`
	R json.RawMessage      `json:"r"`
	U any                  `json:"u"`
}

func TestSplitCaseVariants(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a":1,"b":2}`, ""},
		{`{"a":1,"A":2}`, `members "a" and "A" differ only in case`},
		{`{"Name":1,"n\u0061ME":2}`, `members "Name" and "naME" differ only in case`},
		{`{"k":1,"\u212a":2}`, "members \"k\" and \"\u212a\" differ only in case"}, // Kelvin sign folds to k, as in Go's decoder
		{`{"a":{"x":1,"X":2}}`, ""}, // nested objects are Take's business
	} {
		_, err := Split([]byte(tc.in))
		got := ""
		if err != nil {
			got = err.Error()
			if !errors.Is(err, ErrCaseVariant) {
				t.Errorf("%s: %v is not ErrCaseVariant", tc.in, err)
			}
		}
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTakeCase(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a":"x","b":[{"c":1},{"c":2,"d":"y","other":0}],"m":{"K":{"c":1},"k":{"c":2}},"r":{"z":1,"Z":2},"u":{"z":1,"Z":2}}`, ""},
		{`{"A":"x"}`, `field "v": member "A" is not "a": member names are case-sensitive (in /v)`},
		{`{"a":"x","A":"y"}`, `field "v": members "a" and "A" differ only in case (in /v)`},
		{`{"b":[{"c":1},{"C":2}]}`, `field "v": member "C" is not "c": member names are case-sensitive (in /v/b/1)`},
		{`{"m":{"p/q~":{"c":1,"D":""}}}`, `field "v": member "D" is not "d": member names are case-sensitive (in /v/m/p~1q~0)`},
		{`{"b":[{"x":1,"X":2}]}`, `field "v": members "x" and "X" differ only in case (in /v/b/0)`},
	} {
		f := Fields{"v": json.RawMessage(tc.in)}
		var v caseOuter
		err := f.Take("v", &v, true)
		got := ""
		if err != nil {
			got = err.Error()
			var ce *CaseError
			if !errors.As(err, &ce) {
				t.Errorf("%s: %v is not a *CaseError", tc.in, err)
			}
		}
		if got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestNeedsCaseCheck(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want bool
	}{
		{new(string), false},
		{new(map[string]map[string]string), false}, // artifact maps: no walk
		{new([]json.RawMessage), false},
		{new(any), false},
		{new(caseInner), true},
		{new([]caseInner), true},
		{new(map[string]*caseInner), true},
	} {
		if got := needsCaseCheck(reflect.TypeOf(tc.v)); got != tc.want {
			t.Errorf("%T: got %v, want %v", tc.v, got, tc.want)
		}
	}
}

// Whatever Take decodes into a struct is what a case-sensitive reader
// reads: every field equals the member of exactly its name (read through
// untyped maps, which Go decodes case-sensitively).
func FuzzTakeCase(f *testing.F) {
	for _, s := range []string{
		`{"a":"x","b":[{"c":1,"d":"e"}],"m":{"k":{"c":2}}}`,
		`{"A":"x"}`, `{"a":"x","A":"y"}`, `{"b":[{"C":1}]}`, `{"\u0041":"x"}`, `{"m":{"x":{"c":1,"\u212a":0}}}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v caseOuter
		if err := (Fields{"v": data}).Take("v", &v, true); err != nil {
			return
		}
		var m map[string]any
		if json.Unmarshal(data, &m) != nil || m == nil {
			return // null or not an object: nothing was read
		}
		want := caseOuter{}
		if s, ok := m["a"].(string); ok {
			want.A = s
		}
		if v.A != want.A {
			t.Fatalf("a: Take read %q, a case-sensitive reader %q", v.A, want.A)
		}
		inner := func(x any) (caseInner, bool) {
			o, ok := x.(map[string]any)
			if !ok {
				return caseInner{}, false
			}
			var ci caseInner
			if n, ok := o["c"].(float64); ok {
				ci.C = int(n)
			}
			if s, ok := o["d"].(string); ok {
				ci.D = s
			}
			return ci, true
		}
		if list, ok := m["b"].([]any); ok && len(list) == len(v.B) {
			for i, x := range list {
				if ci, ok := inner(x); ok && ci != v.B[i] {
					t.Fatalf("b[%d]: Take read %+v, a case-sensitive reader %+v", i, v.B[i], ci)
				}
			}
		}
		if mm, ok := m["m"].(map[string]any); ok {
			for k, x := range mm {
				if ci, ok := inner(x); ok && ci != v.M[k] {
					t.Fatalf("m[%q]: Take read %+v, a case-sensitive reader %+v", k, v.M[k], ci)
				}
			}
		}
	})
}
