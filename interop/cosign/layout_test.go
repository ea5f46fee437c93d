//go:build interop

package cosign

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/internal/oracle"
)

// Issue 14.10: cosign verify --local-image reads toto's signed OCI
// layouts. cosign finds the image in a layout by the index.json
// annotation kind: dev.cosignproject.cosign/image (cosign save writes it;
// without it: "must verify either an image index or image"), and cosign
// v3 then finds the image's referrer bundles among the layout's blobs.
// toto marks the image's entry when it attaches. cosign v2 reads only
// .sig manifests from a layout, which toto does not write: it fails, and
// the oras round trip (layout → registry → cosign) is the way there.
func TestLocalImageLayout(t *testing.T) {
	e := newEnv(t)
	e.totoKey("toto")
	ref := e.push("local")
	dir := e.path("layout")
	oracle.MustRun(t, e.dir, nil, oracle.Tool(t, "crane"), "pull", "--insecure", "--format", "oci", ref, dir)
	lref := "oci-layout:" + dir
	e.wantCode(e.toto("image", "sign", "--key", "toto.key", lref), 0)
	e.wantCode(e.toto("image", "attest", "--key", "toto.key", "--predicate-type", "https://spdx.dev/Document", "--predicate", e.write("spdx.json", spdxDoc), lref), 0)

	// The image's entry is marked as cosign save marks it; nothing else
	// about it changed, and toto still picks it.
	var idx struct {
		Manifests []struct {
			Digest      string
			Annotations map[string]string
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 3 || idx.Manifests[0].Digest != digestOf(ref) || idx.Manifests[0].Annotations["kind"] != "dev.cosignproject.cosign/image" {
		t.Fatalf("index.json:\n%s", raw)
	}
	e.verify(0, "--key", "toto.pub", "--require-all", "--type", "spdxjson", lref)

	v3 := oracle.CosignV3
	out := e.cosign(v3, "verify", "--key", "toto.pub", "--insecure-ignore-tlog", "--local-image", dir).Stderr
	if !strings.Contains(out, "signatures were verified against the specified public key") {
		t.Errorf("cosign v3 verify --local-image: %s", out)
	}
	att := e.cosign(v3, "verify-attestation", "--key", "toto.pub", "--insecure-ignore-tlog", "--type", "spdxjson", "--local-image", dir).Stdout
	if !strings.Contains(att, `"payload"`) {
		t.Errorf("cosign v3 verify-attestation --local-image: %s", att)
	}
	// Negative: another key.
	if r := oracle.Run(t, e.dir, nil, oracle.Tool(t, v3), "verify", "--key", "other.pub", "--insecure-ignore-tlog", "--local-image", dir); r.Err == nil {
		t.Error("cosign v3 verified toto's layout with another key")
	}
	// cosign v2 reads .sig manifests (kind: dev.cosignproject.cosign/sigs)
	// only; toto writes bundles.
	tr := e.write("empty_trusted_root.json", `{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`)
	r := oracle.Run(t, e.dir, nil, oracle.Tool(t, oracle.CosignV2), "verify", "--key", "toto.pub", "--insecure-ignore-tlog", "--trusted-root", tr, "--local-image", dir)
	if r.Err == nil || !strings.Contains(r.Stderr, "no signatures associated with the image") {
		t.Errorf("cosign v2 verify --local-image of toto's layout: err %v\n%s", r.Err, r.Stderr)
	}

	t.Run("oras round trip", func(t *testing.T) {
		e.t = t
		// toto's layout → registry with oras (referrers included) →
		// cosign v2 and v3 verify there.
		oras := oracle.Tool(t, "oras")
		copied := e.host + "/copied@" + digestOf(ref)
		oracle.MustRun(t, e.dir, nil, oras, "cp", "-r", "--from-oci-layout", dir+"@"+digestOf(ref), "--to-plain-http", e.host+"/copied:v1")
		for _, version := range cosignVersions {
			args := append([]string{"verify", "--key", "toto.pub", "--insecure-ignore-tlog"}, registryFlags(version)...)
			if version == oracle.CosignV2 {
				args = append(args, "--trusted-root", tr)
			}
			if out := e.cosign(version, append(args, copied)...).Stdout; !strings.Contains(out, digestOf(ref)) {
				t.Errorf("cosign %s verify after oras cp: %s", version, out)
			}
		}
		// And back: registry → a new layout with oras → toto verifies.
		back := e.path("back")
		oracle.MustRun(t, e.dir, nil, oras, "cp", "-r", "--from-plain-http", copied, "--to-oci-layout", back+":v1")
		e.verify(0, "--key", "toto.pub", "--require-all", "--type", "spdxjson", "oci-layout:"+back+":v1")
	})
}
