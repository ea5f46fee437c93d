package imagepolicy_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/toto-dev/toto/imagepolicy"
)

// seedCorpus adds Portieris's fixtures (when the shared corpus is there)
// and a few hand-written documents.
func seedCorpus(f *testing.F, subs ...string) {
	for _, sub := range subs {
		files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "corpus", "portieris", "test", "e2e", "testdata", sub, "*.yaml"))
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
}

// FuzzParsePortieris: any input is a policy or an ErrPolicy error, never a
// panic; a policy's rules all have one image pattern and evaluate their
// requirement shape without panicking.
func FuzzParsePortieris(f *testing.F) {
	seedCorpus(f, "imagepolicy", "clusterimagepolicy")
	f.Add([]byte("apiVersion: portieris.cloud.ibm.com/v1\nkind: ImagePolicy\nmetadata: {name: x}\nspec: {repositories: [{name: '*', policy: {trust: {enabled: true, signerSecrets: [{name: s}]}, simple: {requirements: [{type: signedBy, keySecret: k, signedIdentity: {type: remapIdentity, prefix: a.example/x, signedPrefix: b.example/y}}]}}}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := imagepolicy.ParsePortieris(data)
		if err != nil {
			if !errors.Is(err, imagepolicy.ErrPolicy) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		for i := range p.Rules {
			if len(p.Rules[i].Images) != 1 || p.Rules[i].Images[0] == "" {
				t.Fatalf("rule %d images %q", i, p.Rules[i].Images)
			}
		}
		_ = p.RuleFor("registry.example/app:1")
	})
}

// FuzzParseSecret: a Secret or an ErrSecret error.
func FuzzParseSecret(f *testing.F) {
	seedCorpus(f, "secret")
	f.Add([]byte("apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: b}\ndata: {k: aGk=}\nstringData: {k: x}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, sec, err := imagepolicy.ParseSecret(data)
		if err != nil {
			if !errors.Is(err, imagepolicy.ErrSecret) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if key == "" || sec == nil {
			t.Fatalf("secret %q %v", key, sec)
		}
	})
}

// FuzzLoadSet: a file of documents of any kind (toto, Portieris, lists,
// several per file) loads or fails with ErrPolicy; a loaded set matches
// and names policies without panicking.
func FuzzLoadSet(f *testing.F) {
	seedCorpus(f, "imagepolicy", "clusterimagepolicy")
	f.Add([]byte("namespace: a\nrules: [{images: ['x/*'], require: {dct: {server: 'https://n.example'}}}]\n---\ndefault: allow\n"))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems: [{apiVersion: portieris.cloud.ibm.com/v1, kind: ClusterImagePolicy, metadata: {name: c}, spec: {repositories: [{name: '*'}]}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join(t.TempDir(), "p.yaml")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := imagepolicy.LoadSet(file, imagepolicy.SetOptions{})
		if err != nil {
			if !errors.Is(err, imagepolicy.ErrPolicy) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		for _, ns := range append(s.Namespaces(), "", "other") {
			_, _ = s.Match(ns, "registry.example/app:1")
		}
	})
}
