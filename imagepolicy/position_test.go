package imagepolicy_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/toto-dev/toto/imagepolicy"
)

// A malformed policy is reported at FILE:LINE:COL of the offending node
// with its field path: through Load (one document) and LoadSet (a
// document among several, an item of a List, a Portieris resource).
func TestErrorPositionsGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  bool // LoadSet rather than Load
		doc  string
		want string
	}{
		{"type error inside a nested requirement", false, `rules:
  - images: ["registry.example/*"]
    require:
      any:
        - sigstore: {keys: [a.pub]}
        - atLeast:
            n: two
            of: [{sigstore: {keys: [b.pub]}}]
`, `P:7:16: rules[0].require.any[1].atLeast.n: want a whole number, got "two"`},
		{"unknown field", false, `default: deny
rules:
  - images: ["*"]
    require:
      all:
        - sigstore: {keys: [a.pub], predicateType: [x]}
`, `P:6:37: rules[0].require.all[0].sigstore.predicateType: unknown field "predicateType"`},
		{"syntax error: the line of the problem", false, `rules:
  - images: ["a", "b"
    require: {sigstore: {keys: [a.pub]}}
`, `P:3: did not find expected ',' or ']'`},
		{"a check after decoding: the requirement's node", false, `rules:
  - images: ["*"]
    require:
      all:
        - sigstore: {keys: [a.pub]}
        - {sigstore: {keys: [b.pub]}, notation: {trustPolicy: p, trustStore: s}}
`, `P:6:11: rules[0].require.all[1]: want exactly one of all, any, atLeast, sigstore, notation, intoto, predicate, simpleSigning, dct`},
		{"a bad action", false, `rules:
  - images: ["*"]
    require: {action: block, sigstore: {keys: [a.pub]}}
`, `P:3:23: rules[0].require.action: "block": want enforce, warn or audit`},
		{"an empty image pattern", false, `rules:
  - images: ["a", ""]
    require: {sigstore: {keys: [a.pub]}}
`, `P:2:19: rules[0].images[1]: empty image pattern`},
		{"the trust section", false, `trust:
  tuf: {root: root.json, url: https://tuf.example, refresh: soon}
rules: []
`, `P:2:61: trust.tuf.refresh: "soon": want a duration such as 5m`},

		{"set: the second document of a file", true, `rules: [{images: ["a"], require: {sigstore: {keys: [a.pub]}}}]
---
namespace: team
rules:
  - images: ["b"]
    require:
      sigstore: {keys: [b.pub]}
      action: [warn]
`, `P:8:15: rules[0].require.action: want a string, got a list`},
		{"set: a check in the second document", true, `rules: []
---
rules:
  - images: ["b"]
    require: {dct: {signers: [alice]}}
`, `P:5:20: rules[0].require.dct: server (or, offline, trustDir) is required`},
		{"set: an item of a List", true, `apiVersion: v1
kind: List
items:
  - rules: []
  - rules:
      - images: ["b"]
        require: {sigstore: {keys: b.pub}}
`, `P:7:36: items[1].rules[0].require.sigstore.keys: want a list, got "b.pub"`},
		{"set: a Portieris resource", true, `apiVersion: portieris.cloud.ibm.com/v1
kind: ImagePolicy
metadata: {name: a}
spec:
  repositories:
    - name: registry.example/*
      policy:
        trust: {enabeld: true}
`, `P:8:17: spec.repositories[0].policy.trust.enabeld: unknown field "enabeld"`},
		{"set: a syntax error in a later document", true, `rules: []
---
rules:
  - images: ["b"]
  require: {}
`, `P:5: did not find expected '-' indicator`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "policy.yaml")
			if err := os.WriteFile(file, []byte(tc.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			var err error
			if tc.set {
				_, err = imagepolicy.LoadSet(file, imagepolicy.SetOptions{})
			} else {
				_, err = imagepolicy.Load(file)
			}
			want := file + tc.want[1:]
			if err == nil || err.Error() != want {
				t.Errorf("got\n%v\nwant\n%s", err, want)
			}
			if !errors.Is(err, imagepolicy.ErrPolicy) {
				t.Errorf("not ErrPolicy: %v", err)
			}
		})
	}
}

// Parse has no file: "line N:C".
func TestParseErrorPosition(t *testing.T) {
	_, err := imagepolicy.Parse([]byte("rules:\n  - images: [a]\n    require: {sigstore: {keys: [k]}, action: sometimes}\n"))
	if want := `line 3:46: rules[0].require.action: "sometimes": want enforce, warn or audit`; err == nil || err.Error() != want || !errors.Is(err, imagepolicy.ErrPolicy) {
		t.Errorf("got %v, want %s", err, want)
	}
}

// A malformed Secret in the secrets directory is placed too; members toto
// does not read (immutable, labels) stay ignored.
func TestSecretErrorPosition(t *testing.T) {
	policies, secrets := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(policies, "p.yaml"), []byte("rules: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(secrets, "s.yaml")
	doc := "apiVersion: v1\nkind: Secret\nimmutable: true\nmetadata: {name: ok, labels: {a: b}}\nstringData: {key: x}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: bad\nstringData:\n  - key\n"
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := imagepolicy.LoadSet(policies, imagepolicy.SetOptions{SecretsDir: secrets})
	want := file + ":12:3: stringData: want a mapping, got a list"
	if err == nil || err.Error() != want || !errors.Is(err, imagepolicy.ErrSecret) {
		t.Errorf("got %v, want %s (ErrSecret)", err, want)
	}
}
