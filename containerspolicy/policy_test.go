package containerspolicy_test

import (
	"errors"
	"os"
	"testing"

	"github.com/toto-dev/toto/containerspolicy"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The upstream fixture policy.json (every requirement type, keyPaths,
// keyData, remapIdentity, wildcards, signedBaseLayer, sigstoreSigned)
// parses, as containers/image parses it.
func TestParseUpstreamPolicy(t *testing.T) {
	p, err := containerspolicy.Parse(read(t, "upstream/policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Default[0].(containerspolicy.Reject); !ok || len(p.Default) != 1 {
		t.Errorf("default %#v", p.Default)
	}
	d := p.Transports["docker"]
	sb := d["example.com/production"][0].(*containerspolicy.SignedBy)
	if sb.KeyType != "GPGKeys" || sb.KeyPath != "/keys/employee-gpg-keyring" || sb.SignedIdentity != (containerspolicy.MatchRepoDigestOrExact{}) {
		t.Errorf("production %#v", sb)
	}
	if got := d["registry.redhat.io/beta"][0].(*containerspolicy.SignedBy).KeyPaths; len(got) != 2 {
		t.Errorf("beta keyPaths %v", got)
	}
	if got := d["bogus/key-data-example"][0].(*containerspolicy.SignedBy).KeyData; string(got) != "nonsense" {
		t.Errorf("keyData %q", got)
	}
	remap := d["private-mirror:5000/vendor-mirror"][0].(*containerspolicy.SignedBy).SignedIdentity
	if remap != (containerspolicy.RemapIdentity{Prefix: "private-mirror:5000/vendor-mirror", SignedPrefix: "vendor.example.com"}) {
		t.Errorf("remap %#v", remap)
	}
	if _, ok := d["example.com/hardened"][2].(*containerspolicy.SignedBaseLayer); !ok {
		t.Errorf("hardened[2] %#v", d["example.com/hardened"][2])
	}
	if s := d["example.com/sigstore/key-path-example"][0].(*containerspolicy.SigstoreSigned); s.KeyPath != "/keys/public-key" || s.SignedIdentity != (containerspolicy.MatchRepository{}) {
		t.Errorf("sigstore %#v", s)
	}
	if _, ok := p.Transports["dir"][""][0].(containerspolicy.InsecureAcceptAnything); !ok {
		t.Errorf("dir %#v", p.Transports["dir"])
	}
}

func TestParseInvalid(t *testing.T) {
	const ok = `[{"type":"insecureAcceptAnything"}]`
	for _, tc := range []struct{ name, doc string }{
		{"not JSON", `{`},
		{"not an object", `[]`},
		{"no default", `{"transports":{}}`},
		{"default null", `{"default":null}`},
		{"empty default", `{"default":[]}`},
		{"unknown top-level", `{"default":` + ok + `,"other":1}`},
		{"duplicate default", `{"default":` + ok + `,"default":` + ok + `}`},
		{"trailing data", `{"default":` + ok + `} x`},
		{"empty scope list", `{"default":` + ok + `,"transports":{"docker":{"a.example":[]}}}`},
		{"duplicate scope", `{"default":` + ok + `,"transports":{"docker":{"a":` + ok + `,"a":` + ok + `}}}`},
		{"relative oci scope", `{"default":` + ok + `,"transports":{"oci":{"rel/dir":` + ok + `}}}`},
		{"root oci scope", `{"default":` + ok + `,"transports":{"oci":{"/":` + ok + `}}}`},
		{"unclean dir scope", `{"default":` + ok + `,"transports":{"dir":{"/a/../b":` + ok + `}}}`},
		{"unknown requirement", `{"default":[{"type":"signedByMagic"}]}`},
		{"no type", `{"default":[{}]}`},
		{"extra member", `{"default":[{"type":"reject","x":1}]}`},
		{"upper-case member", `{"default":[{"TYPE":"reject"}]}`},
		{"signedBy no keyType", `{"default":[{"type":"signedBy","keyPath":"/k"}]}`},
		{"signedBy bad keyType", `{"default":[{"type":"signedBy","keyType":"PGP","keyPath":"/k"}]}`},
		{"signedBy no keys", `{"default":[{"type":"signedBy","keyType":"GPGKeys"}]}`},
		{"signedBy two key sources", `{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k","keyData":"eA=="}]}`},
		{"signedBy empty keyPath", `{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":""}]}`},
		{"signedBy bad base64", `{"default":[{"type":"signedBy","keyType":"GPGKeys","keyData":"!!"}]}`},
		{"signedBy unknown member", `{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k","keyring":"x"}]}`},
		{"unknown identity", `{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k","signedIdentity":{"type":"matchAnything"}}]}`},
		{"exactReference without tag", `{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k","signedIdentity":{"type":"exactReference","dockerReference":"r.example/app"}}]}`},
		{"exactReference invalid", `{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k","signedIdentity":{"type":"exactReference","dockerReference":"UPPER:1"}}]}`},
		{"exactRepository invalid", `{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k","signedIdentity":{"type":"exactRepository","dockerRepository":"a b"}}]}`},
		{"exactRepository missing", `{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k","signedIdentity":{"type":"exactRepository"}}]}`},
		{"matchExact extra", `{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k","signedIdentity":{"type":"matchExact","x":1}}]}`},
		{"remap empty prefix", `{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k","signedIdentity":{"type":"remapIdentity","prefix":"","signedPrefix":"docker.io"}}]}`},
		{"remap prefix with tag", `{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k","signedIdentity":{"type":"remapIdentity","prefix":"m.example/a:1","signedPrefix":"docker.io"}}]}`},
		{"sigstoreSigned no keys", `{"default":[{"type":"sigstoreSigned"}]}`},
		{"sigstoreSigned fulcio without rekor", `{"default":[{"type":"sigstoreSigned","fulcio":{}}]}`},
		{"signedBaseLayer no identity", `{"default":[{"type":"signedBaseLayer"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := containerspolicy.Parse([]byte(tc.doc)); !errors.Is(err, containerspolicy.ErrInvalidPolicy) {
				t.Errorf("Parse: %v, want ErrInvalidPolicy", err)
			}
		})
	}
}

func TestRequirementsFor(t *testing.T) {
	p, err := containerspolicy.Parse([]byte(`{
		"default": [{"type":"reject"}],
		"transports": {
			"docker": {
				"": [{"type":"insecureAcceptAnything"},{"type":"insecureAcceptAnything"}],
				"docker.io/library/busybox": [{"type":"insecureAcceptAnything"},{"type":"reject"},{"type":"reject"}],
				"docker.io/library/busybox:1.36": [{"type":"reject"},{"type":"reject"},{"type":"reject"},{"type":"reject"}],
				"registry.example:5000/team": [{"type":"reject"},{"type":"reject"},{"type":"reject"},{"type":"reject"},{"type":"reject"}],
				"*.example.com": [{"type":"reject"},{"type":"reject"},{"type":"reject"},{"type":"reject"},{"type":"reject"},{"type":"reject"}],
				"*.com": [{"type":"reject"},{"type":"reject"},{"type":"reject"},{"type":"reject"},{"type":"reject"},{"type":"reject"},{"type":"reject"}]
			},
			"oci": {"/srv/images": [{"type":"insecureAcceptAnything"}]}
		}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ref, wantScope string
	}{
		{"busybox", "docker.io/library/busybox"},
		{"busybox:1.36", "docker.io/library/busybox:1.36"},
		{"docker.io/library/busybox:latest", "docker.io/library/busybox"},
		{"busybox@sha256:" + hex64, "docker.io/library/busybox"},
		{"alpine", ""},
		{"registry.example:5000/team/app:1", "registry.example:5000/team"},
		{"registry.example:5000/other/app:1", ""}, // the port-less host is not a parent of host:port, and no *. match
		{"a.b.example.com/x", "*.example.com"},
		{"example.com/x", "*.com"},
		{"quay.io/x", ""},
	} {
		img, err := containerspolicy.DockerImage(tc.ref)
		if err != nil {
			t.Fatal(err)
		}
		if _, scope := p.RequirementsFor(img); scope != tc.wantScope {
			t.Errorf("%s: scope %q, want %q", tc.ref, scope, tc.wantScope)
		}
	}
	for dir, want := range map[string]string{"/srv/images/app": "/srv/images", "/srv/images": "/srv/images", "/srv/other": "default"} {
		img := containerspolicy.Image{Transport: "oci", Path: dir}
		if _, scope := p.RequirementsFor(img); scope != want {
			t.Errorf("oci %s: scope %q, want %q", dir, scope, want)
		}
	}
	if _, scope := p.RequirementsFor(containerspolicy.Image{Transport: "dir", Path: "/srv/images"}); scope != "default" {
		t.Errorf("dir: scope %q, want default", scope)
	}
	if _, err := containerspolicy.DockerImage("app:1@sha256:" + hex64); !errors.Is(err, containerspolicy.ErrReference) {
		t.Errorf("tag and digest: %v", err)
	}
}

const hex64 = "20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55"

func FuzzParse(f *testing.F) {
	f.Add(read(f, "upstream/policy.json"))
	f.Add([]byte(`{"default":[{"type":"signedBy","keyType":"GPGKeys","keyData":"eA==","signedIdentity":{"type":"remapIdentity","prefix":"a.example/x","signedPrefix":"b.example"}}]}`))
	f.Add([]byte(`{"default":[{"type":"insecureAcceptAnything"}],"transports":{"oci":{"/a":[{"type":"reject"}]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := containerspolicy.Parse(data)
		if err != nil {
			if !errors.Is(err, containerspolicy.ErrInvalidPolicy) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(p.Default) == 0 {
			t.Fatal("parsed a policy with an empty default")
		}
		for tr, scopes := range p.Transports {
			for s, reqs := range scopes {
				if len(reqs) == 0 {
					t.Fatalf("%s[%q] is empty", tr, s)
				}
				if err := containerspolicy.ValidateScope(tr, s); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Evaluating any parsed policy must not panic.
		img, _ := containerspolicy.DockerImage("registry.example/app:1")
		containerspolicy.Evaluate(p, p.LoadKeys(func(string) ([]byte, error) { return nil, errors.New("no files") }), img, "sha256:"+hex64, [][]byte{[]byte("x")}, containerspolicy.Options{})
	})
}
