package imagepolicy_test

import (
	"path/filepath"
	"testing"

	"github.com/toto-dev/toto/imagepolicy"
)

// The rule that decides for an image does not depend on how the pod
// spells its name: nginx, library/nginx, docker.io/nginx,
// docker.io/library/nginx and index.docker.io/... are one image to the
// container runtime, so one of them must not escape a rule written with
// another (a strict rule for "nginx" was dodged by writing
// "docker.io/library/nginx", which fell to the lenient "*").
func TestMatchSpellingIndependent(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "policy.yaml"), `
rules:
  - images: ["nginx"]
    require: {sigstore: {keys: [k.pub]}}
  - images: ["index.docker.io/library/redis"]
    require: {sigstore: {keys: [k.pub]}}
  - images: ["team/app"]
    require: {sigstore: {keys: [k.pub]}}
  - images: ["Registry.Example/*"]
    require: {sigstore: {keys: [private.pub]}}
  - images: ["oci-layout:Build/*"]
    require: {sigstore: {keys: [layout.pub]}}
  - images: ["*"]
    require: {sigstore: {keys: [lenient.pub]}}
`)
	s, err := imagepolicy.LoadSet(dir, imagepolicy.SetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rule  string
		names []string
	}{
		{"policy.yaml rules[0]", []string{"nginx:1", "library/nginx:1", "docker.io/nginx:1", "docker.io/library/nginx:1",
			"index.docker.io/library/nginx:1", "index.docker.io/nginx:1", "nginx@sha256:" + sha, "docker.io/library/nginx"}},
		{"policy.yaml rules[1]", []string{"redis", "redis:7", "docker.io/redis:7", "docker.io/library/redis:7", "index.docker.io/library/redis:7"}},
		{"policy.yaml rules[2]", []string{"team/app:1", "docker.io/team/app:1", "index.docker.io/team/app:1"}},
		// Host names are not case-sensitive: REGISTRY.EXAMPLE is
		// registry.example to DNS and TLS, so to the node pulling it.
		{"policy.yaml rules[3]", []string{"registry.example/nginx:1", "REGISTRY.EXAMPLE/nginx:1", "Registry.Example/nginx@sha256:" + sha}},
		{"policy.yaml rules[0]", []string{"Docker.IO/library/nginx:1", "INDEX.DOCKER.IO/nginx:1"}},
		// A Docker Hub repository whose path looks like a host is not
		// that host's image.
		{"policy.yaml rules[4]", []string{"oci-layout:Build/out"}},
		{"policy.yaml rules[5]", []string{"oci-layout:build/out", "nginxx:1", "docker.io/library/nginx/sub:1", "team/app2:1", "docker.io/registry.example/app:1", "index.docker.io/registry.example/app:1"}},
	} {
		for _, n := range tc.names {
			if got, _ := s.Match("", n); got != tc.rule {
				t.Errorf("%s: matched %q, want %q", n, got, tc.rule)
			}
		}
	}
}

const sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
