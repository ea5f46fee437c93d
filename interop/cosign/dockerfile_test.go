//go:build interop

package cosign

import (
	"os"
	"strings"
	"testing"

	"github.com/toto-dev/toto/internal/oracle"
)

// A base image signed by the real cosign (v2: the .sig tag; v3: a bundle
// referrer) is accepted by toto dockerfile verify under an image policy
// trusting cosign.pub; one signed with another key is denied. The pinned
// Dockerfile toto writes is accepted by cosign v2's own dockerfile verify.
func TestDockerfileVerifyCosignSignedBase(t *testing.T) {
	for _, version := range cosignVersions {
		t.Run(version, func(t *testing.T) {
			e := newEnv(t)
			base := e.push("base")
			e.sign(version, "cosign.key", base)
			e.write("policy.yaml", "rules:\n  - images: [\""+e.host+"/*\"]\n    require: {sigstore: {keys: [cosign.pub]}}\n")
			e.write("Dockerfile", "ARG REG\nFROM ${REG}/base:latest AS build\nRUN true\nFROM build\n")

			r := e.toto("dockerfile", "verify", "--policy", "policy.yaml", "--build-arg", "REG="+e.host, "--pin", "-o", "pinned", "Dockerfile")
			e.wantCode(r, 0)
			if !strings.Contains(r.Stdout, "ALLOWED  "+base) {
				t.Fatalf("stdout: %s", r.Stdout)
			}
			pinned, err := os.ReadFile(e.path("pinned"))
			if err != nil {
				t.Fatal(err)
			}
			want := "ARG REG\nFROM " + e.host + "/base:latest@" + digestOf(base) + " AS build\nRUN true\nFROM build\n"
			if string(pinned) != want {
				t.Fatalf("pinned:\n%s\nwant:\n%s", pinned, want)
			}
			if version == oracle.CosignV2 {
				// cosign v3 deprecates dockerfile verify; v2 checks the
				// image of a Dockerfile toto pinned. Single-stage: cosign
				// takes "FROM build" for the image docker.io/library/build
				// (it does not know stages; toto does).
				e.write("Single", "ARG REG\nFROM ${REG}/base:latest\n")
				e.wantCode(e.toto("dockerfile", "verify", "--policy", "policy.yaml", "--build-arg", "REG="+e.host, "--pin", "-o", "single-pinned", "Single"), 0)
				out := e.cosign(version, append([]string{"dockerfile", "verify", "--key", "cosign.pub", "--insecure-ignore-tlog"}, append(registryFlags(version), "single-pinned")...)...)
				if !strings.Contains(out.Stdout, digestOf(base)) {
					t.Errorf("cosign dockerfile verify: %s", out.Stdout)
				}
			}

			other := e.push("base") // the tag now names an image signed by another key
			e.sign(version, "other.key", other)
			r = e.toto("dockerfile", "verify", "--policy", "policy.yaml", "--build-arg", "REG="+e.host, "Dockerfile")
			if r.Code != 1 || !strings.Contains(r.Stdout, "DENIED  "+other) {
				t.Fatalf("base signed by another key: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
			}
		})
	}
}
