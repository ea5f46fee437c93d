package layout_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/internal/corpus"
	"github.com/toto-dev/toto/layout"
)

func TestParseCorpusLayouts(t *testing.T) {
	for _, tc := range []struct {
		file        []string
		steps       []string
		inspections int
	}{
		{[]string{"in-toto-golang", "data", "demo.layout"}, []string{"write-code", "package"}, 1},
		{[]string{"in-toto-golang", "data", "demo.dsse.layout"}, []string{"write-code", "package"}, 1},
		{[]string{"in-toto-golang", "data", "super.layout"}, []string{"sub_layout"}, 0},
	} {
		data, err := os.ReadFile(corpus.Path(t, tc.file...))
		if err != nil {
			t.Fatal(err)
		}
		e, err := envelope.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		l, err := layout.Parse(e.Payload())
		if err != nil {
			t.Fatalf("%v: %v", tc.file, err)
		}
		var names []string
		for _, s := range l.Steps {
			names = append(names, s.Name)
			for _, id := range s.PubKeys {
				if _, ok := l.Keys[id]; !ok {
					t.Errorf("step %s: pubkey %s not in keys", s.Name, id)
				}
			}
		}
		if strings.Join(names, ",") != strings.Join(tc.steps, ",") || len(l.Inspections) != tc.inspections {
			t.Errorf("%v: steps %v / %d inspections, want %v / %d", tc.file, names, len(l.Inspections), tc.steps, tc.inspections)
		}
		// Unknown fields (cert_constraints) survive a round trip.
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(e.Payload()), "cert_constraints") && !strings.Contains(string(b), "cert_constraints") {
			t.Errorf("%v: cert_constraints lost on round trip", tc.file)
		}
		l2, err := layout.Parse(b)
		if err != nil {
			t.Fatalf("reparse: %v", err)
		}
		b2, _ := json.Marshal(l2)
		if string(b) != string(b2) {
			t.Errorf("round trip not stable:\n%s\n%s", b, b2)
		}
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	base := `{"_type":"layout","expires":"2030-01-01T00:00:00Z","keys":{},"steps":%s,"inspect":[]}`
	for _, tc := range []struct{ name, data, want string }{
		{"wrong type", `{"_type":"link"}`, `"_type"`},
		{"no expires", `{"_type":"layout","keys":{},"steps":[],"inspect":[]}`, `"expires": missing`},
		{"bad expires", `{"_type":"layout","expires":"soon","keys":{},"steps":[],"inspect":[]}`, `"expires"`},
		{"bad rule", strings.Replace(base, "%s", `[{"name":"build","expected_products":[["MATCH","x"]]}]`, 1), `steps[0]: step "build": field "expected_products"[0]: rule ["MATCH","x"]`},
		{"threshold string", strings.Replace(base, "%s", `[{"name":"b","threshold":"2"}]`, 1), `"threshold"`},
		{"bad key", `{"_type":"layout","expires":"2030-01-01T00:00:00Z","keys":{"ab":{"keytype":"rsa"}},"steps":[],"inspect":[]}`, `key ab`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := layout.Parse([]byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func TestExpired(t *testing.T) {
	l := &layout.Layout{Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	if l.Expired(time.Date(2029, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Error("expired before its time")
	}
	if l.Expired(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("expired at exactly its time; the references still accept it")
	}
	if !l.Expired(time.Date(2030, 1, 1, 0, 0, 1, 0, time.UTC)) {
		t.Error("not expired a second after its time")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"_type":"layout","expires":"2030-01-01T00:00:00Z","keys":{},"steps":[{"name":"a","expected_products":[["CREATE","x"]],"pubkeys":[],"threshold":1}],"inspect":[{"name":"i","run":["true"]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := layout.Parse(data)
		if err != nil {
			return
		}
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := layout.Parse(b); err != nil {
			t.Fatalf("re-encoded layout does not parse: %v\n%s", err, b)
		}
	})
}
