package statement_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/statement"
)

const sum = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"

func TestRoundTripAndMatch(t *testing.T) {
	s, err := statement.New(link.PredicateType, map[string]any{"name": "build"},
		statement.Subject{Name: "foo", Digest: link.DigestSet{"sha256": sum}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := statement.Parse(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if got.PredicateType != link.PredicateType || string(got.Predicate) != `{"name":"build"}` {
		t.Errorf("round trip changed statement: %s", b)
	}
	if !got.Matches(link.DigestSet{"sha256": sum, "sha512": "00"}) {
		t.Error("did not match its own subject digest")
	}
	if got.Matches(link.DigestSet{"sha256": strings.Repeat("0", 64)}) {
		t.Error("matched a different digest")
	}
	if got.Matches(link.DigestSet{"sha512": strings.Repeat("0", 128)}) {
		t.Error("matched with no algorithm in common")
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{"wrong type", `{"_type":"https://in-toto.io/Statement/v0.2","subject":[],"predicateType":"x"}`, `"_type"`},
		{"v0.1 without subject", `{"_type":"https://in-toto.io/Statement/v0.1","subject":[],"predicateType":"x"}`, "subject"},
		{"no subject", `{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"x","predicate":{}}`, "subject"},
		{"bad digest", `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"zz"}}],"predicateType":"x","predicate":{}}`, "digest"},
		{"no predicateType", `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` + sum + `"}}]}`, "predicateType"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := statement.Parse([]byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error containing %q", err, tc.want)
			}
		})
	}
}

// Statement v0.1 (what cosign attest writes) is read like v1, and an
// absent predicate is an empty one (cosign v2 --new-bundle-format
// signatures have none). The _type read is kept on a round trip.
func TestParseAccepts(t *testing.T) {
	subj := `"subject":[{"name":"a","digest":{"sha256":"` + sum + `"}}]`
	for _, tc := range []struct {
		name, data, typ, pred string
	}{
		{"v1", `{"_type":"https://in-toto.io/Statement/v1",` + subj + `,"predicateType":"x","predicate":{"k":1}}`, statement.Type, `{"k":1}`},
		{"v0.1", `{"_type":"https://in-toto.io/Statement/v0.1",` + subj + `,"predicateType":"https://spdx.dev/Document","predicate":{"k":1}}`, statement.TypeV01, `{"k":1}`},
		{"no predicate", `{"_type":"https://in-toto.io/Statement/v1",` + subj + `,"predicateType":"https://sigstore.dev/cosign/sign/v1"}`, statement.Type, `{}`},
		{"null predicate", `{"_type":"https://in-toto.io/Statement/v0.1",` + subj + `,"predicateType":"x","predicate":null}`, statement.TypeV01, `{}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := statement.Parse([]byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if s.Type != tc.typ || string(s.Predicate) != tc.pred {
				t.Errorf("type %q predicate %s, want %q %s", s.Type, s.Predicate, tc.typ, tc.pred)
			}
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), `"_type":"`+tc.typ+`"`) {
				t.Errorf("re-encoded as %s", b)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"name":"a","digest":{"sha256":"` + sum + `"}}],"predicateType":"x"}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` + sum + `"}}],"predicateType":"x","predicate":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := statement.Parse(data)
		if err != nil {
			return
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := statement.Parse(b); err != nil {
			t.Fatalf("re-encoded statement does not parse: %v", err)
		}
	})
}
