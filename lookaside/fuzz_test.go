package lookaside_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/distribution/reference"

	"github.com/toto-dev/toto/lookaside"
)

// FuzzParse: any registries.d file either parses or fails with an error
// matching ErrConfig, never panics; and what parses answers every lookup
// (bases, attachments) without panicking, with a base that is one of the
// file's own values and a repository URL that ends in the image's path.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		// containers-registries.d(5)'s example.
		`default-docker:
  lookaside: file:///var/lib/containers/sigstore
docker:
  example.com:
    lookaside: https://lookaside.example.com
  registry.example.com/mydepartment:
    lookaside: https://lookaside.mydepartment.example.com
    lookaside-staging: file:///mnt/mydepartment/lookaside-staging
  registry.example.com/mydepartment/myproject:mytag:
    lookaside: https://mytag-lookaside.mydepartment.example.com
`,
		// The old key names, attachments, wildcards and ports.
		`default-docker:
  sigstore-staging: file:///srv/staging
  use-sigstore-attachments: false
docker:
  "*.example.org":
    sigstore: https://sigs.example.org/
    use-sigstore-attachments: true
  127.0.0.1:5000/team:
    lookaside: file:///srv/sigstore
    unknown-member: ignored
`,
		"docker: {r.example: {lookaside: \"%zz\"}}\n",
		"docker:\n  a: &x {lookaside: file:///a}\n  b: *x\n",
		"docker: [\n",
		"docker: 3\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	refs := []string{
		"registry.example.com/mydepartment/myproject:mytag",
		"registry.example.com/mydepartment/other@sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55",
		"a.example.org/team/app:1",
		"127.0.0.1:5000/team/app:1",
		"busybox",
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := lookaside.Parse(data)
		if err != nil {
			if !errors.Is(err, lookaside.ErrConfig) {
				t.Fatalf("error does not match ErrConfig: %v", err)
			}
			return
		}
		values := map[string]bool{}
		add := func(ns lookaside.Namespace) {
			for _, v := range []string{ns.Lookaside, ns.LookasideStaging, ns.SigStore, ns.SigStoreStaging} {
				values[v] = true
			}
		}
		for _, ns := range c.Docker {
			add(ns)
		}
		if c.DefaultDocker != nil {
			add(*c.DefaultDocker)
		}
		for _, s := range refs {
			n, err := reference.ParseNormalizedNamed(s)
			if err != nil {
				t.Fatal(err)
			}
			ref := reference.TagNameOnly(n)
			c.UseSigstoreAttachments(ref)
			for _, write := range []bool{false, true} {
				top := c.TopLevel(ref, write)
				if top != "" && !values[top] {
					t.Fatalf("TopLevel(%s, %v) = %q, not a value of the file", ref, write, top)
				}
				u, err := c.RepositoryBase(ref, write)
				if err != nil {
					if !errors.Is(err, lookaside.ErrConfig) {
						t.Fatalf("RepositoryBase(%s): error does not match ErrConfig: %v", ref, err)
					}
					continue
				}
				if !strings.HasSuffix(u.Path, "/"+reference.Path(ref)) {
					t.Fatalf("RepositoryBase(%s) = %s, not under the repository path %s", ref, u, reference.Path(ref))
				}
			}
		}
	})
}
