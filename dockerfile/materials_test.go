package dockerfile_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/dockerfile"
	"github.com/toto-dev/toto/link"
)

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// VerifyMaterials reads a Dockerfile back and checks it is the one recorded
// (as the runner hashed it) before trusting its FROMs.
func TestVerifyMaterialsChecksTheRecordedBytes(t *testing.T) {
	dir := t.TempDir()
	const crlf = "FROM scratch\r\nCOPY a /a\r\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(crlf), 0o644); err != nil {
		t.Fatal(err)
	}
	normalized := func(data []byte) (link.DigestSet, error) {
		s := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
		return link.DigestSet{"sha256": sha(s)}, nil
	}
	for _, tc := range []struct {
		name     string
		recorded link.DigestSet
		digest   func([]byte) (link.DigestSet, error)
		want     string // "" for no error
	}{
		{"as recorded", link.DigestSet{"sha256": sha(crlf)}, nil, ""},
		{"recorded with normalised line endings", link.DigestSet{"sha256": sha("FROM scratch\nCOPY a /a\n")}, normalized, ""},
		{"normalised recording, plain check", link.DigestSet{"sha256": sha("FROM scratch\nCOPY a /a\n")}, nil, "changed since it was recorded"},
		{"changed", link.DigestSet{"sha256": sha("FROM other\n")}, nil, "changed since it was recorded"},
		{"no shared algorithm", link.DigestSet{"sha512": "00"}, nil, "no algorithm in common"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := link.Artifacts{"Dockerfile": tc.recorded, "src/a": {"sha256": "11"}}
			bases, err := dockerfile.VerifyMaterials(context.Background(), m, dockerfile.MaterialOptions{Dir: dir, Digest: tc.digest})
			if tc.want == "" {
				if err != nil || len(bases) != 0 || len(m) != 2 {
					t.Fatalf("bases %v, materials %v, err %v", bases, m, err)
				}
				return
			}
			if err == nil || !errors.Is(err, dockerfile.ErrSyntax) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "Dockerfile: ") {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}
