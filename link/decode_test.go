package link

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

var artifactSeeds = []string{
	`{}`, ` { "a" : { "sha256" : "ab" } , "b/c": {"sha256":"cd","sha512":"ef"} } `,
	`{"a":{}}`, `{"a":null}`, `null`, `{"a":{"sha256":null}}`, `{"a":{"sha256":1}}`,
	`{"a":{"sha256":"x"},"a":{"sha512":"y"}}`, `{"a":{"s":"1","s":"2"}}`,
	`{"\u0061":{"sha256":"ab"}}`, `{"é":{"sha256":"ab"}}`, "{\"\xff\":{\"sha256\":\"ab\"}}",
	`{"a":{"sha256":"ab"}} `, `{"a":[]}`, `[]`, `{"a":{"sha256":"ab"},}`,
	`{"":{"sha256":"ab"}}`, `{"a":{"":"ab"}}`, `{"a":{"sha256":""}}`, `{"a":{"sha256":"xy"}}`,
	`{"a":{"sha256":"ab","SHA256":"cd"}}`, `{"a":{"sha256":"AB","sha512":"cd"}}`,
}

// decodeArtifacts decodes exactly what encoding/json decodes, or declines.
func TestDecodeArtifactsAgreesWithEncodingJSON(t *testing.T) {
	// The usual shapes take the fast path: agreement on declined input
	// alone would prove nothing.
	for _, s := range []string{`{}`, ` { "a" : { "sha256" : "ab" } , "b/c": {"sha256":"cd","sha512":"ef"} } `, `{"a":{}}`} {
		if _, ok := decodeArtifacts([]byte(s), nil); !ok {
			t.Errorf("%s: the fast path declined it", s)
		}
		if _, ok := decodeArtifacts([]byte(s), &DigestSets{}); !ok {
			t.Errorf("%s: the fast path with shared sets declined it", s)
		}
	}
	for _, s := range artifactSeeds {
		agreeArtifacts(t, []byte(s), nil)
		agreeArtifacts(t, []byte(s), &DigestSets{})
	}
}

func agreeArtifacts(t *testing.T, raw []byte, shared *DigestSets) {
	t.Helper()
	got, ok := decodeArtifacts(raw, shared)
	if !ok {
		return
	}
	var want Artifacts
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("%q: decoded %v, encoding/json refuses it: %v", raw, got, err)
	}
	// What the fast path returns is not validated again: it must pass.
	if err := validateArtifacts("x", want); err != nil {
		t.Fatalf("%q: decoded, but validation refuses it: %v", raw, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: decoded %v, encoding/json %v", raw, got, want)
	}
}

func FuzzDecodeArtifacts(f *testing.F) {
	for _, s := range artifactSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		// Parse gives decodeArtifacts only members Split validated.
		if !json.Valid(raw) {
			return
		}
		agreeArtifacts(t, raw, nil)
		agreeArtifacts(t, raw, &DigestSets{})
	})
}

// BenchmarkDecodeArtifacts compares the fast path with encoding/json on
// 100,000 artifacts.
func BenchmarkDecodeArtifacts(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("{")
	for i := 0; i < 100000; i++ {
		if i > 0 {
			sb.WriteString(",\n  ")
		}
		fmt.Fprintf(&sb, `"d%03d/f%07d": {"sha256": "%064x"}`, i%500, i, i)
	}
	sb.WriteString("}")
	raw := []byte(sb.String())
	b.Run("toto", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if _, ok := decodeArtifacts(raw, nil); !ok {
				b.Fatal("declined")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			var a Artifacts
			if err := json.Unmarshal(raw, &a); err != nil {
				b.Fatal(err)
			}
			if err := validateArtifacts("materials", a); err != nil {
				b.Fatal(err)
			}
		}
	})
}
