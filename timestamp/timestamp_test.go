package timestamp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A certificate chain longer than maxResponse is refused, not cut short:
// cut, it would lose its last certificates (the root) and still parse.
func TestFetchCertChainTooLarge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(strings.Repeat("x", maxResponse+1)))
	}))
	defer srv.Close()
	_, err := FetchCertChain(context.Background(), srv.Client(), srv.URL)
	if !errors.Is(err, ErrAuthority) || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v, want ErrAuthority: response larger than ...", err)
	}
}
