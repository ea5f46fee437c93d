package admission_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/distribution/reference"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/toto-dev/toto/admission"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/imagepolicy"
	"github.com/toto-dev/toto/internal/corpus"
	"github.com/toto-dev/toto/lookaside"
	"github.com/toto-dev/toto/simplesigning"
)

// TestPortierisSimpleSigning serves Portieris's own ClusterImagePolicy
// simple-signedby1 (its registry rewritten to the loopback one, and a
// lookaside folder as its signature store) with the OpenPGP key as a
// Kubernetes Secret file in --secrets: an image with a simple signing
// signature made by toto's signer is admitted and pinned (Portieris
// mutates by default); the unsigned one is denied naming the
// ClusterImagePolicy and the signedBy requirement. Then the policy
// changes on disk to require a second key, denied until its Secret (the
// --secrets folder is watched too) and signature appear.
func TestPortierisSimpleSigning(t *testing.T) {
	src := corpus.Path(t, "portieris", "test", "e2e", "testdata", "clusterimagepolicy", "simple-signedby1.yaml")
	f := newRegistryFixture(t)
	sigs, secrets, policies := t.TempDir(), t.TempDir(), t.TempDir()
	key := addSimpleSigner(t, secrets, "simple1pubkey")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.ReplaceAll(string(data), "icr.io/cise/*", f.host+"/app:*")
	doc = strings.Replace(doc, "         simple:\n", "         simple:\n           storeURL: file://"+sigs+"\n", 1)
	writeFile(t, filepath.Join(policies, "simple-signedby1.yaml"), []byte(doc))

	// Sign app:other with simple signing into the lookaside store, as
	// skopeo would.
	ctx := context.Background()
	tg, err := image.Open(ctx, f.ref("other"), image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := (&simplesigning.Payload{DockerReference: f.ref("other"), ManifestDigest: tg.Digest()}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := simplesigning.Sign(payload, key, simplesigning.Options{})
	if err != nil {
		t.Fatal(err)
	}
	named, _ := reference.ParseNormalizedNamed(f.host + "/app")
	base, err := lookaside.RepositoryURL(&url.URL{Scheme: "file", Path: sigs}, named)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := lookaside.WriteNext(base, tg.Digest(), sig); err != nil {
		t.Fatal(err)
	}

	w := startWebhook(t, admission.Options{
		Load:  admission.PolicyLoader(policies, imagepolicy.SetOptions{SecretsDir: secrets}),
		Watch: []string{policies, secrets}, PollInterval: 50 * time.Millisecond, CacheTTL: time.Minute,
	})
	obj := podJSON(t, []string{f.ref("other")})
	r := w.send(t, "/mutate", reviewOf(t, "p1", podGVK, admissionv1.Create, "default", obj, nil))
	if !r.Allowed {
		t.Fatalf("simple-signed image denied: %s", message(r))
	}
	if cs := applyPatch(t, podGVK, obj, r); cs[0].Image != f.pinned("other") {
		t.Errorf("image %q after patch, want %q", cs[0].Image, f.pinned("other"))
	}
	r = w.send(t, "/mutate", reviewOf(t, "p2", podGVK, admissionv1.Create, "default", podJSON(t, []string{f.ref("unsigned")}), nil))
	if r.Allowed || !strings.Contains(message(r), "ClusterImagePolicy simple-signedby1") || !strings.Contains(message(r), "signedBy simple1pubkey") {
		t.Fatalf("unsigned: allowed %v: %s", r.Allowed, message(r))
	}

	// A second required key, whose Secret is not there yet: the new
	// policy loads (Secrets are read when evaluating) and denies, naming
	// the missing key.
	doc2 := strings.Replace(doc, "             keySecret: simple1pubkey\n", "             keySecret: simple1pubkey\n           - type: \"signedBy\"\n             keySecret: simple2pubkey\n", 1)
	if doc2 == doc {
		t.Fatal("could not add a requirement to the corpus policy")
	}
	writeFile(t, filepath.Join(policies, "simple-signedby1.yaml"), []byte(doc2))
	waitFor(t, func() bool { return w.s.Readiness().PolicyGeneration == 2 })
	r = w.send(t, "/mutate", reviewOf(t, "p3", podGVK, admissionv1.Create, "default", obj, nil))
	if r.Allowed || !strings.Contains(message(r), "simple2pubkey") {
		t.Fatalf("after requiring simple2pubkey: allowed %v: %s", r.Allowed, message(r))
	}
	// The Secret appears (--secrets is watched too) with the key of a
	// second signature: admitted again.
	key2 := addSimpleSigner(t, secrets, "simple2pubkey")
	sig2, err := simplesigning.Sign(payload, key2, simplesigning.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := lookaside.WriteNext(base, tg.Digest(), sig2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return w.s.Readiness().PolicyGeneration == 3 })
	r = w.send(t, "/mutate", reviewOf(t, "p4", podGVK, admissionv1.Create, "default", obj, nil))
	if !r.Allowed {
		t.Fatalf("signed by both keys: %s", message(r))
	}
}

// addSimpleSigner makes an OpenPGP key and writes its public half as a
// Kubernetes Secret file named name (the shape of the corpus's
// secret/simple1pubkey.yaml) into dir.
func addSimpleSigner(t testing.TB, dir, name string) *openpgp.Entity {
	t.Helper()
	key, err := simplesigning.GenerateKey(simplesigning.KeyOptions{Name: name, Email: name + "@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := simplesigning.ArmorPublicKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, name+".yaml"), []byte(fmt.Sprintf(
		"apiVersion: v1\nkind: Secret\ntype: Opaque\nmetadata:\n  name: %s\nstringData:\n  key: |\n    %s\n",
		name, strings.ReplaceAll(strings.TrimSpace(string(pub)), "\n", "\n    "))))
	return key
}

// TestNamespacePolicies: a namespace with a Portieris ImagePolicy of its
// own (the corpus's allow-all, placed in team-a) uses it exclusively,
// while other namespaces get the cluster-wide toto document; the same
// image gets both verdicts, one per namespace, from one server and its
// cache.
func TestNamespacePolicies(t *testing.T) {
	src := corpus.Path(t, "portieris", "test", "e2e", "testdata", "imagepolicy", "allow-all.yaml")
	f := newRegistryFixture(t)
	f.writePolicy(t, "cluster.yaml", releasePolicy)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(data), "  name: allow-all\n", "  name: allow-all\n  namespace: team-a\n", 1)
	writeFile(t, filepath.Join(f.dir, "team-a.yaml"), []byte(doc))
	w := startWebhook(t, admission.Options{Load: admission.PolicyLoader(f.dir, imagepolicy.SetOptions{}), CacheTTL: time.Minute})
	obj := podJSON(t, []string{f.ref("unsigned")})
	for round := range 2 { // the second round from the cache
		r := w.send(t, "/validate", reviewOf(t, "a", podGVK, admissionv1.Create, "team-a", obj, nil))
		if !r.Allowed {
			t.Fatalf("round %d: team-a's allow-all did not apply: %s", round, message(r))
		}
		r = w.send(t, "/validate", reviewOf(t, "b", podGVK, admissionv1.Create, "apps", obj, nil))
		if r.Allowed || !strings.Contains(message(r), "cluster.yaml rules[0]") {
			t.Fatalf("round %d: namespace apps: allowed %v: %s", round, r.Allowed, message(r))
		}
	}
}
