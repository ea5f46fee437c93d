package lookaside_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/toto-dev/toto/lookaside"
)

const extDigest = "sha256:0b0769a6d93f0043cfe7291928422477c41585796dda4e64137cd81ed4df0345"

// ReadExtension against servers answering each way: the list (entries
// that are not version 2 "atomic" skipped, both spellings of the
// version), 404 as none, other statuses, too many and oversized entries
// as errors; SupportsExtension reads the /v2/ header on 200 and 401.
func TestReadExtension(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   int
		err    error
	}{
		{"list", 200, `{"signatures":[{"version":2,"type":"atomic","content":"YQ=="},{"schemaVersion":2,"type":"atomic","content":"Yg=="},{"version":1,"type":"atomic","content":"Yw=="},{"version":2,"type":"other","content":"ZA=="}]}`, 2, nil},
		{"none", 404, ``, 0, nil},
		{"forbidden", 403, ``, 0, &lookaside.HTTPError{}},
		{"too many", 200, `{"signatures":[` + strings.TrimSuffix(strings.Repeat(`{"version":2,"type":"atomic","content":"YQ=="},`, lookaside.MaxSignatures+1), ",") + `]}`, 0, lookaside.ErrTooMany},
		{"not JSON", 200, `<html>`, 0, errors.New("")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v2/" {
					w.Header().Set(lookaside.HeaderSupportsSignatures, "1")
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				if r.URL.Path != "/extensions/v2/team/app/signatures/"+extDigest {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			u, _ := url.Parse(srv.URL)
			if ok, err := lookaside.SupportsExtension(context.Background(), nil, u); !ok || err != nil {
				t.Fatalf("supports: %v %v", ok, err)
			}
			sigs, err := lookaside.ReadExtension(context.Background(), nil, u, "team/app", extDigest)
			var he *lookaside.HTTPError
			switch {
			case tc.err == nil && err != nil:
				t.Fatal(err)
			case tc.err != nil && err == nil:
				t.Fatalf("no error, want %v", tc.err)
			case errors.As(tc.err, &he) && !errors.As(err, &he):
				t.Fatalf("%v, want an HTTPError", err)
			case errors.Is(tc.err, lookaside.ErrTooMany) && !errors.Is(err, lookaside.ErrTooMany):
				t.Fatalf("%v, want ErrTooMany", err)
			}
			if len(sigs) != tc.want {
				t.Fatalf("%d signatures, want %d", len(sigs), tc.want)
			}
			if tc.want == 2 && (string(sigs[0]) != "a" || string(sigs[1]) != "b") {
				t.Fatalf("signatures %q", sigs)
			}
		})
	}
	if _, err := lookaside.ExtensionURL(&url.URL{Scheme: "https", Host: "r.example"}, "team/app", "sha256:short"); !errors.Is(err, lookaside.ErrDigest) {
		t.Fatalf("bad digest: %v", err)
	}
}
