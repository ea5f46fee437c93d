package jsonobj

import (
	"bytes"
	"fmt"
	"testing"
)

var scanSeeds = []string{
	`{}`, ` { "a" : 1 , "b" : [true,false,null,"x",{"c":-0.5e+3}] } `,
	`{"a":"\u00e9\n\"\\\/"}`, `{"\u0061":1}`, `{"a":1,"a":2}`, `{"a":1,"A":2}`,
	"{\"a\":\"x\x01y\"}", "{\"a\":\"\xff\"}", `{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":1e}`,
	`{"a":"\x"}`, `{"a":"\u12g4"}`, `{"a":[1,]}`, `{"a":1,}`, `{"a" 1}`, `{"a":1} x`, `[1]`, `"s"`,
	`{"a":{"b":{"c":[[[]]]}}}`, `{"a":tru}`, `{"a":nulll}`,
}

// splitFast accepts only what the Decoder accepts, and finds the same
// members.
func TestSplitFastAgreesWithDecoder(t *testing.T) {
	// Valid documents take the fast path: agreement on declined input
	// alone would prove nothing.
	for _, s := range []string{`{}`, ` { "a" : 1 , "b" : [true,false,null,"x",{"c":-0.5e+3}] } `, `{"a":"\u00e9\n\"\\\/"}`, `{"a":{"b":{"c":[[[]]]}}}`} {
		if _, ok := splitFast([]byte(s), true, true); !ok {
			t.Errorf("%s: the fast path declined it", s)
		}
	}
	for _, s := range scanSeeds {
		agree(t, []byte(s))
	}
}

func agree(t *testing.T, data []byte) {
	t.Helper()
	for _, fold := range []bool{true, false} {
		fast, ok := splitFast(data, fold, fold)
		slow, err := splitDecoder(data, fold)
		if !ok {
			continue // the Decoder decides, and reports
		}
		if err != nil {
			t.Fatalf("%q: splitFast accepted what the Decoder refuses: %v", data, err)
		}
		if len(fast) != len(slow) {
			t.Fatalf("%q: %d members, Decoder %d", data, len(fast), len(slow))
		}
		for k, v := range slow {
			if !bytes.Equal(fast[k], v) {
				t.Fatalf("%q: member %q is %q, Decoder %q", data, k, fast[k], v)
			}
		}
	}
}

func FuzzSplitFast(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Count(data, []byte("[")) > 1000 {
			return
		}
		agree(t, data)
	})
}

// BenchmarkSplit compares the fast path with encoding/json's Decoder on a
// link-shaped document of 100,000 artifacts.
func BenchmarkSplit(b *testing.B) {
	var sb bytes.Buffer
	sb.WriteString(`{"_type":"link","name":"x","materials":{`)
	for i := 0; i < 100000; i++ {
		if i > 0 {
			sb.WriteString(",\n  ")
		}
		fmt.Fprintf(&sb, `"d%03d/f%07d": {"sha256": "%064x"}`, i%500, i, i)
	}
	sb.WriteString(`},"products":{}}`)
	data := sb.Bytes()
	b.Run("toto", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := SplitShared(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := splitDecoder(data, true); err != nil {
				b.Fatal(err)
			}
		}
	})
}
