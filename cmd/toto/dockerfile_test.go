package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/toto-dev/toto/internal/oracle"
	"github.com/toto-dev/toto/keys"
)

// pushRandom pushes a random image to ref and returns its digest.
func pushRandom(t *testing.T, ref string) v1.Hash {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d
}

// pushIndex pushes an index of one random image per platform to ref and
// returns the index digest and the manifests' digests by platform.
func pushIndex(t *testing.T, ref string, platforms ...string) (v1.Hash, map[string]v1.Hash) {
	t.Helper()
	var idx v1.ImageIndex = empty.Index
	byPlatform := map[string]v1.Hash{}
	for _, ps := range platforms {
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		p, err := v1.ParsePlatform(ps)
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
		byPlatform[ps], _ = img.Digest()
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	return d, byPlatform
}

// toto dockerfile verify against a real registry (distribution 2.8): every
// image FROM is resolved and checked, stages and scratch are not, a tag
// moved to an unsigned image is denied, and --pin writes the digests.
func TestDockerfileVerifyCLI(t *testing.T) {
	host := oracle.Registry(t)
	dir := t.TempDir()
	writeKeyPair(t, dir, "base", keys.ECDSA)
	baseDigest := pushRandom(t, host+"/base:1")
	multiDigest, plat := pushIndex(t, host+"/multi:1", "linux/amd64", "linux/arm64")
	mustToto(t, dir, "image", "sign", "--key", "base.key", host+"/base@"+baseDigest.String())

	policy := "default: deny\nrules:\n  - images: [\"" + host + "/*\"]\n    require: {name: base signature, sigstore: {keys: [base.pub]}}\n"
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("policy.yaml", policy)
	df := "# syntax=docker/dockerfile:1\n" +
		"ARG REG=nowhere.invalid\n" +
		"FROM ${REG}/base:1 AS build\n" +
		"RUN make\n" +
		"FROM build AS test\n" +
		"FROM --platform=linux/arm64 \\\n    " + host + "/multi:1\n" +
		"COPY --from=build /out /out\n" +
		"FROM scratch\n"
	write("Dockerfile", df)
	regArg := "REG=" + host

	// The index is not signed yet: denied, exit 1, nothing pinned.
	args := []string{"dockerfile", "verify", "--policy", "policy.yaml", "--build-arg", regArg, "--pin", "-o", "pinned", "Dockerfile"}
	r := runToto(t, dir, args...)
	wantCode(t, r, 1, args...)
	if !strings.Contains(r.Stdout, "ALLOWED  "+host+"/base@"+baseDigest.String()) || !strings.Contains(r.Stdout, "DENIED  "+host+"/multi@"+multiDigest.String()) {
		t.Fatalf("report:\n%s", r.Stdout)
	}
	if !strings.Contains(r.Stderr, "Dockerfile:6") {
		t.Errorf("the denial does not name the FROM's line: %s", r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "pinned")); !os.IsNotExist(err) {
		t.Fatalf("a pinned Dockerfile was written for a denied base: %v", err)
	}

	mustToto(t, dir, "image", "sign", "--key", "base.key", host+"/multi@"+multiDigest.String())
	mustToto(t, dir, args...)
	pinned, err := os.ReadFile(filepath.Join(dir, "pinned"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(df, "${REG}/base:1 AS", host+"/base:1@"+baseDigest.String()+" AS", 1)
	want = strings.Replace(want, host+"/multi:1\n", host+"/multi:1@"+multiDigest.String()+"\n", 1)
	if string(pinned) != want {
		t.Fatalf("pinned:\n%s\nwant:\n%s", pinned, want)
	}
	// The pinned file verifies without the build arg: it names digests.
	mustToto(t, dir, "dockerfile", "verify", "--policy", "policy.yaml", "pinned")

	r = mustToto(t, dir, "dockerfile", "verify", "--policy", "policy.yaml", "--build-arg", regArg, "--json", "Dockerfile")
	validateAgainst(t, dockerfileSchema, r.Stdout)
	var out struct {
		Allowed bool
		Froms   []struct {
			Line                                                             int
			Original, Image, Kind, Stage, Platform, Resolved, PlatformDigest string
			Allowed                                                          *bool
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		t.Fatal(err, r.Stdout)
	}
	if !out.Allowed || len(out.Froms) != 4 {
		t.Fatalf("json: %s", r.Stdout)
	}
	f0, f2, f3 := out.Froms[0], out.Froms[2], out.Froms[3]
	if f0.Line != 3 || f0.Original != "${REG}/base:1" || f0.Resolved != host+"/base@"+baseDigest.String() || f0.Allowed == nil || !*f0.Allowed {
		t.Errorf("FROM 1: %+v", f0)
	}
	if out.Froms[1].Kind != "stage" || out.Froms[1].Allowed != nil || f3.Kind != "scratch" {
		t.Errorf("stage/scratch: %+v %+v", out.Froms[1], f3)
	}
	if f2.Platform != "linux/arm64" || f2.PlatformDigest != plat["linux/arm64"].String() {
		t.Errorf("platform manifest: %+v, want %s", f2, plat["linux/arm64"])
	}

	// --pin -o -: the Dockerfile on stdout, the report on stderr.
	r = mustToto(t, dir, "dockerfile", "verify", "--policy", "policy.yaml", "--build-arg", regArg, "--pin", "-o", "-", "Dockerfile")
	if r.Stdout != want || !strings.Contains(r.Stderr, "ALLOWED") {
		t.Errorf("--pin -o -: stdout %q stderr %q", r.Stdout, r.Stderr)
	}

	// The tag moves to an unsigned image: denied.
	pushRandom(t, host+"/base:1")
	r = runToto(t, dir, "dockerfile", "verify", "--policy", "policy.yaml", "--build-arg", regArg, "Dockerfile")
	if r.Code != 1 || !strings.Contains(r.Stdout, "DENIED  "+host+"/base@") {
		t.Fatalf("moved tag: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	r = runToto(t, dir, "dockerfile", "verify", "--policy", "policy.yaml", "--build-arg", regArg, "--json", "Dockerfile")
	if r.Code != 1 {
		t.Fatalf("moved tag, --json: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if doc := validateAgainst(t, dockerfileSchema, r.Stdout); doc["allowed"] != false {
		t.Errorf("moved tag, --json: %s", r.Stdout)
	}

	// Bad input: exit 2 naming file:line.
	write("bad", "ARG B\nFROM ${B}\n")
	write("noplatform", "FROM --platform=linux/s390x "+host+"/multi:1\n")
	for _, c := range []struct{ file, want string }{
		{"bad", "bad:2: FROM ${B}: the base name is empty"},
		{"noplatform", "noplatform:1: FROM " + host + "/multi:1: index " + multiDigest.String() + " has no manifest for platform linux/s390x"},
	} {
		r := runToto(t, dir, "dockerfile", "verify", "--policy", "policy.yaml", c.file)
		if r.Code != 2 || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", c.file, r.Code, r.Stderr, c.want)
		}
	}
	for _, a := range [][]string{
		{"dockerfile", "verify", "Dockerfile"},
		{"dockerfile", "verify", "--policy", "policy.yaml", "--pin", "Dockerfile"},
		{"dockerfile", "verify", "--policy", "policy.yaml", "--build-arg", "=x", "Dockerfile"},
	} {
		if r := runToto(t, dir, a...); r.Code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", a, r.Code, r.Stderr)
		}
	}
}
