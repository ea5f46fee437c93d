package lookaside

import (
	"testing"
)

// FuzzParseExtensionList: a registry's signature extension answer is a
// list of at most MaxSignatures signatures of at most MaxSignatureSize, or
// an error; never a panic.
func FuzzParseExtensionList(f *testing.F) {
	f.Add([]byte(`{"signatures":[{"schemaVersion":2,"type":"atomic","name":"sha256:00@x","content":"YQ=="}]}`))
	f.Add([]byte(`{"signatures":[{"version":2,"type":"atomic","content":"YQ=="},{"version":1,"type":"atomic"}]}`))
	f.Add([]byte(`{"signatures":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sigs, err := parseExtensionList(data)
		if err != nil {
			if sigs != nil {
				t.Fatal("signatures with an error")
			}
			return
		}
		if len(sigs) > MaxSignatures {
			t.Fatalf("%d signatures", len(sigs))
		}
		for _, s := range sigs {
			if len(s) > MaxSignatureSize {
				t.Fatal("oversized signature")
			}
		}
	})
}
