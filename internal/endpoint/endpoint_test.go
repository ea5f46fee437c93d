package endpoint

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		in, err string
	}{
		{"https://tsa.example/api", ""},
		{"http://127.0.0.1:3000", ""},
		{"", "no URL"},
		{"ftp://log.example", "is not an http(s) URL"},
		{"https://", "is not an http(s) URL"},
		{"log.example/api", "is not an http(s) URL"},
		{"http://[::1", "missing ']'"},
	}
	for _, tt := range tests {
		err := Check(tt.in)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("Check(%q) = %v", tt.in, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("Check(%q) = %v, want %q", tt.in, err, tt.err)
		}
	}
}
