package admissionload

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
)

// TestRunCounts: answers that differ from a case's expectation are
// counted wrong, failed requests as errors, and the rest not at all;
// partitioned workers each send only their own cases.
func TestRunCounts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case bytes.Contains(body, []byte("boom")):
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		case bytes.Contains(body, []byte("slow")):
			time.Sleep(20 * time.Millisecond)
		}
		resp := &admissionv1.AdmissionResponse{Allowed: bytes.Contains(body, []byte("good"))}
		json.NewEncoder(w).Encode(admissionv1.AdmissionReview{Response: resp})
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name               string
		cases              []Case
		partition          bool
		errors, wrong, all bool // whether each count must be non-zero / all requests
	}{
		{"right", []Case{{Body: []byte("good"), Allowed: true}, {Body: []byte("bad")}}, false, false, false, false},
		{"wrong decision", []Case{{Body: []byte("bad"), Allowed: true}}, false, false, true, true},
		{"wrong patch", []Case{{Body: []byte("good"), Allowed: true, Patched: true}}, false, false, true, true},
		{"errors", []Case{{Body: []byte("boom"), Allowed: true}}, false, true, false, true},
		{"partitioned: worker 1 sends only the error", []Case{{Body: []byte("good slow"), Allowed: true}, {Body: []byte("boom")}}, true, true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Run(context.Background(), Options{URL: srv.URL, Client: srv.Client(), Duration: 300 * time.Millisecond, Workers: 2, Cases: tc.cases, Partition: tc.partition})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Requests == 0 || rep.P50 == 0 || rep.P99 < rep.P50 || rep.Max < rep.P99 || rep.RPS() <= 0 {
				t.Fatalf("report %s", rep)
			}
			if (rep.Errors > 0) != tc.errors || (rep.Wrong > 0) != tc.wrong {
				t.Errorf("report %s: want errors %v, wrong %v", rep, tc.errors, tc.wrong)
			}
			if tc.all && rep.Errors+rep.Wrong != rep.Requests {
				t.Errorf("report %s: every request should count", rep)
			}
			if tc.partition && rep.Errors <= rep.Requests/2 {
				t.Errorf("report %s: the fast worker's errors should dominate", rep)
			}
		})
	}
	if _, err := Run(context.Background(), Options{URL: srv.URL, Client: srv.Client(), Duration: time.Second, Workers: 3, Cases: []Case{{}, {}}, Partition: true}); err == nil {
		t.Error("3 workers partitioned over 2 cases: want an error")
	}
}
