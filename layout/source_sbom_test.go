package layout_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
)

const sbomSource = `expires: 2030-01-01
functionaries:
  alice: alice.pub
steps:
  - name: build
    functionaries: [alice]
    products: [CREATE app, DISALLOW "*"]
sbom:
  denyLicenses: [GPL-3.0-only]
  requireSBOM: true
`

func TestSourceSBOMPolicy(t *testing.T) {
	key, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := key.MarshalPEM(false)
	read := func(string) ([]byte, error) { return pem, nil }
	var checked []byte
	src, err := layout.ParseSource("l.yaml", []byte(sbomSource), layout.SourceOptions{
		ReadFile:        read,
		CheckSBOMPolicy: func(p []byte) error { checked = p; return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(src.Layout.Extra["sbom"], &got); err != nil {
		t.Fatalf("sbom member: %v", err)
	}
	if got["requireSBOM"] != true || string(checked) != string(src.Layout.Extra["sbom"]) {
		t.Errorf("sbom member %s, checked %s", src.Layout.Extra["sbom"], checked)
	}
	// It survives encoding, and lint warns that Python cannot verify it.
	b, _ := json.Marshal(src.Layout)
	if !strings.Contains(string(b), `"sbom":{`) {
		t.Errorf("sbom member missing from %s", b)
	}
	found := false
	for _, f := range layout.Lint(src.Layout, layout.LintOptions{Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}) {
		if f.Code == layout.CodeTotoOnlyField && f.Location.String() == "sbom" {
			found = true
		}
	}
	if !found {
		t.Error("no toto-only-field warning for the sbom member")
	}

	// A policy the checker rejects is reported at the section's line.
	_, err = layout.ParseSource("l.yaml", []byte(sbomSource), layout.SourceOptions{
		ReadFile:        read,
		CheckSBOMPolicy: func([]byte) error { return errors.New("bad policy") },
	})
	if err == nil || !strings.Contains(err.Error(), "l.yaml:9:") || !strings.Contains(err.Error(), "bad policy") {
		t.Errorf("got %v, want error at l.yaml:9 naming the policy problem", err)
	}
	_, err = layout.ParseSource("l.yaml", []byte(strings.Replace(sbomSource, "  denyLicenses: [GPL-3.0-only]\n  requireSBOM: true\n", "  - x\n", 1)), layout.SourceOptions{ReadFile: read})
	if err == nil || !strings.Contains(err.Error(), "sbom: want a mapping") {
		t.Errorf("got %v, want a mapping error", err)
	}
}
