package canonical_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"

	"github.com/toto-dev/toto/internal/canonical"
)

// reference is what go-securesystemslib gives for the same text: the
// definition Encode must meet.
func reference(data []byte) ([]byte, error) {
	return cjson.EncodeCanonical(json.RawMessage(data))
}

var cases = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `123`, `-9223372036854775808`, `true`, `false`, `null`,
	` { "b" : 1 , "a" : [ 1 , 2 , { } ] } `,
	`{"a":1,"b":{"d":"x","c":"y"}}`,
	`{"a\"b":"c\\d","a":"\u0041\n\t\u00e9\ud83d\ude00"}`,
	`{"k":"<&>"}`,
	`{"x":1,"x":2}`, `{"b":1,"a":2,"b":3}`,
	`{"é":1,"e":2,"z":3,"Z":4,"\u0000":5}`,
	"{\"bad\":\"\xff\xfe\"}",
	`{"lone":"\ud800x"}`,
	`1.5`, `1e3`, `1E+3`, `-0.0`, `9223372036854775808`,
	`01`, `-`, `[1,]`, `{"a"}`, `{"a":}`, `{,}`, `"\x"`, `"\u12"`, `tru`, `nul`, `{"a":1}x`, ``, `   `,
	"\"a\x01b\"", `"abc\"`, `[`, `{"a":[1,2}`,
}

func TestMatchesSecuresystemslib(t *testing.T) {
	for _, c := range cases {
		check(t, []byte(c))
	}
	// A real link, pretty-printed as the Python reference writes it.
	matches, _ := filepath.Glob("../../../shared/corpus/python-in-toto/*/*.link")
	for _, m := range matches {
		data, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		check(t, doc["signed"])
	}
}

func check(t *testing.T, data []byte) {
	t.Helper()
	if len(bytes.TrimSpace(data)) == 0 {
		// cjson encodes an empty RawMessage as null; Encode refuses text
		// that holds no value (a signed payload is never empty).
		if _, err := canonical.Encode(data); err == nil {
			t.Fatalf("%q: no error", data)
		}
		return
	}
	want, werr := reference(data)
	got, gerr := canonical.Encode(data)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%q: error %v, securesystemslib: %v", data, gerr, werr)
	}
	if werr == nil && !bytes.Equal(got, want) {
		t.Fatalf("%q:\n got %q\nwant %q", data, got, want)
	}
}

func FuzzEncode(f *testing.F) {
	for _, c := range cases {
		f.Add([]byte(c))
	}
	f.Add([]byte(`{"signed":{"_type":"link","materials":{"b":{"sha256":"ab"},"a":{"sha256":"cd"}},"byproducts":{"return-value":0,"stdout":"x\\ny"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if strings.Count(string(data), "[")+strings.Count(string(data), "{") > 5000 {
			return
		}
		check(t, data)
	})
}

func BenchmarkEncode(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"_type":"link","materials":{`)
	for i := 0; i < 100000; i++ {
		if i > 0 {
			sb.WriteString(",\n  ")
		}
		sb.WriteString(`"./d` + strings.Repeat("x", 3) + `/f` + strconv.Itoa(i) + `": {"sha256": "` + strings.Repeat("ab", 32) + `"}`)
	}
	sb.WriteString(`},"name":"x"}`)
	data := []byte(sb.String())
	b.Run("toto", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := canonical.Encode(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("securesystemslib", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := reference(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
