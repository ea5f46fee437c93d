package imagepolicy_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	notaryutils "github.com/theupdateframework/notary/tuf/utils"

	"github.com/toto-dev/toto/imagepolicy"
	"github.com/toto-dev/toto/internal/corpus"
	"github.com/toto-dev/toto/simplesigning"
)

// portierisDir is Portieris's own e2e fixtures (IBM/portieris v0.14.2).
func portierisDir(t testing.TB, sub string) string {
	return corpus.Path(t, "portieris", "test", "e2e", "testdata", sub)
}

// Every ImagePolicy and ClusterImagePolicy of the corpus loads, with the
// requirements it states; the one document whose apiVersion is misspelt
// ("sportieris...") is refused by name, as Kubernetes would refuse it.
func TestLoadCorpusPolicies(t *testing.T) {
	type want struct {
		rules  int
		simple int  // simpleSigning requirements
		dct    bool // a trust requirement
		mutate bool
		checks bool // any requirement that reads the image
	}
	wants := map[string]want{
		"allow-all.yaml":                                     {1, 0, false, true, false},
		"allow-signed-dockerhub.yaml":                        {1, 0, true, true, true},
		"allow-signed.yaml":                                  {1, 1, false, true, true},
		"simple-accept-anything.yaml":                        {1, 0, false, true, false},
		"simple-remap.yaml":                                  {1, 1, false, true, true},
		"simple-signedby1-keysecret-namespace-override.yaml": {1, 1, false, true, true},
		"simple-signedby1.yaml":                              {1, 1, false, true, true},
		"simple-signedby2-mutate.yaml":                       {1, 2, false, true, true},
		"simple-signedby2-nomutate.yaml":                     {1, 2, false, false, true},
		"simple-signedby2.yaml":                              {1, 2, false, true, true},
		"allow-signed-custom.yaml":                           {1, 0, true, true, true},
		"allow-unsigned-embedded-trailing-wildcard.yaml":     {1, 0, false, true, false},
		"allow-unsigned-embedded-wildcard.yaml":              {1, 0, false, true, false},
		"pinned-multi.yaml":                                  {1, 0, true, true, true},
		"pinned-signer1.yaml":                                {1, 0, true, true, true},
		"pinned-signer2.yaml":                                {1, 0, true, true, true},
		"vulnerability-enabled-with-simple.yaml":             {1, 1, false, true, true},
		"vulnerability-enabled.yaml":                         {1, 0, false, true, false},
		"vulnerability-with-account.yaml":                    {1, 0, false, true, false},
	}
	n := 0
	for _, sub := range []string{"clusterimagepolicy", "imagepolicy"} {
		files, err := filepath.Glob(filepath.Join(portierisDir(t, sub), "*.yaml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: %v %v", sub, files, err)
		}
		for _, f := range files {
			n++
			base := filepath.Base(f)
			t.Run(sub+"/"+base, func(t *testing.T) {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				p, err := imagepolicy.ParsePortieris(data)
				if base == "allow-unsigned-trailing-wildcard.yaml" {
					if !errors.Is(err, imagepolicy.ErrPolicy) || !strings.Contains(err.Error(), `apiVersion "sportieris.cloud.ibm.com/v1"`) {
						t.Fatalf("misspelt apiVersion: %v", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				w, ok := wants[base]
				if !ok {
					t.Fatalf("no expectation for %s", base)
				}
				if len(p.Rules) != w.rules {
					t.Fatalf("%d rules, want %d", len(p.Rules), w.rules)
				}
				got := imagepolicy.Describe(&p.Rules[0])
				if got.Simple != w.simple || got.DCT != w.dct || got.Checks != w.checks {
					t.Errorf("rule %+v, want simple %d dct %v checks %v", got, w.simple, w.dct, w.checks)
				}
				if m := p.Rules[0].MutateImage == nil || *p.Rules[0].MutateImage; m != w.mutate {
					t.Errorf("mutate %v, want %v", m, w.mutate)
				}
				// The same document in a set: it loads there too.
				if _, err := imagepolicy.LoadSet(f, imagepolicy.SetOptions{}); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
	if n != 30 {
		t.Errorf("%d corpus policies, want 30", n)
	}
}

// Every Secret of the corpus reads: the signer secrets hold a name and a
// public key notary parses, the simple signing ones an OpenPGP keyring.
func TestLoadCorpusSecrets(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(portierisDir(t, "secret"), "*.yaml"))
	if len(files) != 5 {
		t.Fatalf("%d secrets, want 5", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		key, sec, err := imagepolicy.ParseSecret(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !strings.HasPrefix(key, "default/") {
			t.Errorf("%s: key %s", f, key)
		}
		if pub, ok := sec["publicKey"]; ok {
			if _, err := notaryutils.ParsePEMPublicKey(pub); err != nil {
				t.Errorf("%s: publicKey: %v", f, err)
			}
			if n := string(sec["name"]); n != "signer1" && n != "signer2" {
				t.Errorf("%s: name %q", f, n)
			}
			continue
		}
		ring, err := simplesigning.ReadKeyring(sec["key"])
		if err != nil || len(ring) == 0 {
			t.Errorf("%s: key: %v", f, err)
		}
	}
	// Two of them are the same Secret (simple1pubkey): a directory with
	// both is refused, naming both files.
	_, err := imagepolicy.LoadSet(filepath.Join(portierisDir(t, "imagepolicy"), "allow-all.yaml"),
		imagepolicy.SetOptions{SecretsDir: portierisDir(t, "secret")})
	if !errors.Is(err, imagepolicy.ErrSecret) || !strings.Contains(err.Error(), "sh.pubkey.yaml") || !strings.Contains(err.Error(), "simple1pubkey.yaml") {
		t.Fatalf("duplicate secret: %v", err)
	}
}

// A directory holding two resources of one kind and name is refused (the
// API server would keep one of them): the corpus's imagepolicy folder has
// two ImagePolicy allow-signed.
func TestDuplicateResource(t *testing.T) {
	_, err := imagepolicy.LoadSet(portierisDir(t, "clusterimagepolicy"), imagepolicy.SetOptions{})
	if !errors.Is(err, imagepolicy.ErrPolicy) || !strings.Contains(err.Error(), "is also defined in") {
		t.Fatalf("duplicates: %v", err)
	}
}

// copyCorpus copies corpus policies into a new directory, as one Set.
func copyCorpus(t testing.TB, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		sub, name, _ := strings.Cut(f, "/")
		data, err := os.ReadFile(filepath.Join(portierisDir(t, sub), name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, sub+"-"+name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func write(t testing.TB, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Precedence, with the corpus documents: a namespace's ImagePolicies
// override every ClusterImagePolicy, an exact repository name beats
// wildcards, the longest wildcard beats shorter ones, and an image no
// policy matches is denied.
func TestPrecedence(t *testing.T) {
	dir := copyCorpus(t,
		"clusterimagepolicy/allow-all.yaml",                          // "*"
		"clusterimagepolicy/allow-signed-dockerhub.yaml",             // docker.io/nginx (trust)
		"clusterimagepolicy/simple-signedby2.yaml",                   // icr.io/cise/*
		"imagepolicy/allow-signed.yaml",                              // icr.io/portieris-authn/nginx, namespace default
		"imagepolicy/allow-unsigned-embedded-trailing-wildcard.yaml", // icr.io/*/*
		"imagepolicy/allow-unsigned-embedded-wildcard.yaml",          // icr.io/*/nginx
	)
	// A toto document for namespace "team", and one with rules for no
	// namespace next to the cluster's.
	write(t, filepath.Join(dir, "team.yaml"), `
namespace: team
rules:
  - images: ["registry.example/team/*"]
    require: {sigstore: {keys: [k.pub]}}
`)
	s, err := imagepolicy.LoadSet(dir, imagepolicy.SetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ns, ref, policy string // policy "" = no match
	}{
		// Cluster policies, for a namespace without its own.
		{"prod", "nginx:1.26.0", "ClusterImagePolicy allow-signed (repositories[0] docker.io/nginx)"},
		{"prod", "docker.io/library/nginx@sha256:" + strings.Repeat("a", 64), "ClusterImagePolicy allow-signed (repositories[0] docker.io/nginx)"},
		{"prod", "docker.io/library/nginxx:1", "ClusterImagePolicy allow-all (repositories[0] *)"},
		{"prod", "icr.io/cise/nginx:signed", "ClusterImagePolicy simple-signedby2 (repositories[0] icr.io/cise/*)"},
		{"prod", "quay.io/x/y:1", "ClusterImagePolicy allow-all (repositories[0] *)"},
		// Namespace default has ImagePolicies: only they count.
		{"default", "icr.io/portieris-authn/nginx:signed", "ImagePolicy default/allow-signed (repositories[0] icr.io/portieris-authn/nginx)"},
		{"default", "icr.io/cise/nginx:signed", "ImagePolicy default/allow-unsigned-embedded-wildcard (repositories[0] icr.io/*/nginx)"},
		{"default", "icr.io/cise/httpd:2", "ImagePolicy default/allow-unsigned-embedded-trailing-wildcard (repositories[0] icr.io/*/*)"},
		{"default", "nginx:1.26.0", ""},
		{"default", "quay.io/x/y:1", ""},
		// The host of a pattern matches the image's host only.
		{"default", "evil.example/icr.io/x/nginx:1", ""},
		// A toto document's namespace.
		{"team", "registry.example/team/app:1", "team.yaml rules[0]"},
		{"team", "nginx:1", ""},
	} {
		got, ok := s.Match(tc.ns, tc.ref)
		if got != tc.policy || ok != (tc.policy != "") {
			t.Errorf("%s in %s: %q %v, want %q", tc.ref, tc.ns, got, ok, tc.policy)
		}
	}
	// Denied without a match: the result and its error say so.
	res, err := s.Evaluate(context.Background(), "default", "quay.io/x/y:1")
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision.Allowed() || !errors.Is(res.Err(), imagepolicy.ErrNoMatch) || !strings.Contains(res.Err().Error(), "namespace default") {
		t.Fatalf("no match: %v", res.Err())
	}
	// allow-all needs no signature: allowed without reading the registry.
	res, err = s.Evaluate(context.Background(), "prod", "quay.io/x/y:1")
	if err != nil || !res.Decision.Allowed() || res.Err() != nil || res.Digest != "" || res.Mutate {
		t.Fatalf("allow-all: %+v %v", res, err)
	}
}

// An image matched by a policy with an unsupported vulnerability check is
// denied, saying why.
func TestVulnerabilityDenies(t *testing.T) {
	dir := copyCorpus(t, "imagepolicy/vulnerability-enabled.yaml")
	s, err := imagepolicy.LoadSet(dir, imagepolicy.SetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Evaluate(context.Background(), "default", "de.icr.io/testing-authn/nginx:1")
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision.Allowed() || !errors.Is(res.Err(), imagepolicy.ErrUnsupported) || !strings.Contains(res.Err().Error(), "ImagePolicy default/vulnerability-enabled") {
		t.Fatalf("vulnerability: %v", res.Err())
	}
}

// kubectl get -o yaml output: a List of resources with the metadata the
// API server adds.
func TestKubectlList(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "all.yaml"), `apiVersion: v1
kind: List
items:
- apiVersion: portieris.cloud.ibm.com/v1
  kind: ClusterImagePolicy
  metadata:
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: '{"x":1}'
    creationTimestamp: "2024-01-01T00:00:00Z"
    generation: 1
    name: default
    resourceVersion: "123"
    uid: 0b7e
  spec:
    repositories:
    - name: "*"
      policy: {}
- apiVersion: portieris.cloud.ibm.com/v1
  kind: ImagePolicy
  metadata: {name: strict, namespace: team}
  spec:
    repositories:
    - name: registry.example/team/*
      policy: {simple: {requirements: [{type: reject}]}}
`)
	s, err := imagepolicy.LoadSet(dir, imagepolicy.SetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Match("team", "registry.example/team/app:1"); p != "ImagePolicy team/strict (repositories[0] registry.example/team/*)" {
		t.Errorf("team: %q", p)
	}
	if p, _ := s.Match("other", "registry.example/team/app:1"); p != "ClusterImagePolicy default (repositories[0] *)" {
		t.Errorf("other: %q", p)
	}
	res, err := s.Evaluate(context.Background(), "team", "registry.example/team/app:1")
	if err != nil || !errors.Is(res.Err(), imagepolicy.ErrRejected) {
		t.Fatalf("reject: %v %v", err, res.Err())
	}
}

// Bad documents are refused with the place named.
func TestPortierisRefuses(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"apiVersion: securityenforcement.admission.cloud.ibm.com/v1beta1\nkind: ImagePolicy\nmetadata: {name: a}\n", "update it to portieris.cloud.ibm.com/v1"},
		{"apiVersion: portieris.cloud.ibm.com/v1\nkind: ImagePolicy\nmetadata: {name: a}\nspec: {repositories: [{name: x, policy: {trust: {enabeld: true}}}]}\n", "enabeld"},
		{"apiVersion: portieris.cloud.ibm.com/v1\nkind: ImagePolicy\nmetadata: {name: a}\nspec: {repositories: [{name: x, policy: {simple: {requirements: [{type: signedBy}]}}}]}\n", "signedBy without keySecret"},
		{"apiVersion: portieris.cloud.ibm.com/v1\nkind: ImagePolicy\nmetadata: {name: a}\nspec: {repositories: [{name: x, policy: {simple: {requirements: [{type: signedBy, keySecret: k, signedIdentity: {type: remapIdentity, prefix: '', signedPrefix: x}}]}}}]}\n", "ImagePolicy a spec.repositories[0].policy.simple.requirements[0]"},
		{"apiVersion: portieris.cloud.ibm.com/v1\nkind: ImagePolicy\nmetadata: {name: a}\nspec: {repositories: [{name: x, policy: {simple: {requirements: [{type: maybe}]}}}]}\n", `type "maybe"`},
		{"apiVersion: portieris.cloud.ibm.com/v1\nkind: ClusterImagePolicy\nmetadata: {name: a, namespace: b}\nspec: {}\n", "cluster-wide"},
		{"apiVersion: portieris.cloud.ibm.com/v1\nkind: ImagePolicy\nspec: {}\n", "metadata.name"},
		{"apiVersion: portieris.cloud.ibm.com/v1\nkind: ImagePolicy\nmetadata: {name: a}\nspec: {repositories: [{policy: {}}]}\n", "no name"},
	} {
		_, err := imagepolicy.ParsePortieris([]byte(tc.doc))
		if !errors.Is(err, imagepolicy.ErrPolicy) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.doc, err, tc.want)
		}
	}
}

// The toto kinds simpleSigning and dct refuse what cannot be evaluated.
func TestParseRefusesSimpleAndDCT(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`rules: [{images: ["x"], require: {simpleSigning: {keys: []}}}]`, "rules[0].require.simpleSigning: no keys"},
		{`rules: [{images: ["x"], require: {simpleSigning: {keys: [k.gpg], lookaside: /s, registriesD: /r}}}]`, "lookaside and registriesD"},
		{`rules: [{images: ["x"], require: {simpleSigning: {keys: [k.gpg], signedIdentity: {type: exactReference, dockerReference: "a.example/b"}}}}]`, "neither a tag nor digest"},
		{`rules: [{images: ["x"], require: {simpleSigning: {keys: [k.gpg], signedIdentity: {type: nope}}}}]`, "nope"},
		{`rules: [{images: ["x"], require: {dct: {signers: [alice]}}}]`, "rules[0].require.dct: server"},
		{`rules: [{images: ["x"], require: {dct: {server: "https://n.example", signers: ["a b"]}}}]`, "not a role name"},
		{`rules: [{images: ["x"], require: {dct: {server: "https://n.example"}, simpleSigning: {keys: [k]}}}]`, "exactly one of"},
		{`namespace: a
mutateImage: maybe`, "line 2"},
	} {
		_, err := imagepolicy.Parse([]byte(tc.doc))
		if !errors.Is(err, imagepolicy.ErrPolicy) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.doc, err, tc.want)
		}
	}
}

// An ImagePolicy with no repositories blocks every image of its namespace
// (the cluster's policies are not consulted), as POLICIES.md says.
func TestEmptyImagePolicyBlocks(t *testing.T) {
	dir := copyCorpus(t, "clusterimagepolicy/allow-all.yaml")
	write(t, filepath.Join(dir, "block.yaml"), "apiVersion: portieris.cloud.ibm.com/v1\nkind: ImagePolicy\nmetadata: {name: block, namespace: locked}\nspec: {repositories: []}\n")
	s, err := imagepolicy.LoadSet(dir, imagepolicy.SetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Evaluate(context.Background(), "locked", "registry.example/x:1")
	if err != nil || !errors.Is(res.Err(), imagepolicy.ErrNoMatch) {
		t.Fatalf("locked: %v %v", err, res.Err())
	}
	res, err = s.Evaluate(context.Background(), "open", "registry.example/x:1")
	if err != nil || res.Err() != nil {
		t.Fatalf("open: %v %v", err, res.Err())
	}
}
