package statement_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/statement"
)

func TestLinkRoundTrip(t *testing.T) {
	l := &link.Link{
		Name:        "build",
		Command:     []string{"make"},
		Materials:   link.Artifacts{"src/a.c": {"sha256": sum}},
		Products:    link.Artifacts{"app": {"sha256": sum}, "lib.so": {"sha256": sum}},
		ByProducts:  map[string]any{"stdout": "ok"},
		Environment: map[string]any{},
	}
	s, err := statement.FromLink(l)
	if err != nil {
		t.Fatal(err)
	}
	if s.PredicateType != link.PredicateType || len(s.Subject) != 2 || s.Subject[0].Name != "app" {
		t.Fatalf("statement %+v", s)
	}
	back, err := s.Link()
	if err != nil {
		t.Fatal(err)
	}
	if back.Name != l.Name || !reflect.DeepEqual(back.Command, l.Command) ||
		!reflect.DeepEqual(back.Materials, l.Materials) || !reflect.DeepEqual(back.Products, l.Products) {
		t.Errorf("round trip changed the link:\n%+v\n%+v", l, back)
	}
	if _, err := statement.FromLink(&link.Link{Name: "x"}); err != statement.ErrNoProducts {
		t.Errorf("no products: %v", err)
	}
}

func TestLinkRejects(t *testing.T) {
	sub := statement.Subject{Name: "app", Digest: link.DigestSet{"sha256": sum}}
	for _, tc := range []struct {
		name, ptype, pred, want string
	}{
		{"other predicate", "https://slsa.dev/provenance/v1", `{}`, "not the link predicate"},
		{"no name", link.PredicateType, `{"materials":[]}`, `"name": missing`},
		{"material without name", link.PredicateType, `{"name":"b","materials":[{"digest":{"sha256":"` + sum + `"}}]}`, "materials[0] has no name"},
		{"duplicate material", link.PredicateType, `{"name":"b","materials":[{"name":"a","digest":{"sha256":"` + sum + `"}},{"name":"a","digest":{"sha256":"` + sum + `"}}]}`, "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &statement.Statement{Subject: []statement.Subject{sub}, PredicateType: tc.ptype, Predicate: []byte(tc.pred)}
			_, err := s.Link()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
