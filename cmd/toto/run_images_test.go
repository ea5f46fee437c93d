package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/internal/oracle"
	"github.com/toto-dev/toto/keys"
)

// toto run --verify-materials: the base image of the Dockerfile among the
// materials is verified before the command and recorded by digest; a
// layout MATCHes it against the step that produced the base image, and
// toto verify passes. A base the policy denies stops the step: the command
// does not run, no link is written, exit 1. A base that is allowed but is
// not the one the base step produced fails toto verify.
func TestRunVerifyMaterialsCLI(t *testing.T) {
	host := oracle.Registry(t)
	dir := t.TempDir()
	for _, d := range []string{"links", "src"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeKeyPair(t, dir, "owner", keys.ECDSA)
	writeKeyPair(t, dir, "platform", keys.ECDSA) // builds and signs base images
	writeKeyPair(t, dir, "dev", keys.Ed25519)    // builds the app

	base := pushRandom(t, host+"/base:1")
	mustToto(t, dir, "image", "sign", "--key", "platform.key", host+"/base@"+base.String())
	// The base step: the platform team records the image it published.
	mustToto(t, dir, "run", "--step", "base", "--key", "platform.key", "-d", "links", "--product-image", host+"/base:1", "-x")

	write("policy.yaml", "rules:\n  - images: [\""+host+"/*\"]\n    require: {sigstore: {keys: [platform.pub]}}\n")
	write("Dockerfile", "ARG BASE="+host+"/base:1\nFROM ${BASE} AS build\nRUN make\nFROM scratch\nCOPY --from=build /app /app\n")
	write("src/main.c", "int main;")
	write("layout.yaml", `expires: 30d
functionaries:
  platform: platform.pub
  dev: dev.pub
steps:
  - name: base
    functionaries: [platform]
    products:
      - CREATE "oci://`+host+`/base"
      - DISALLOW "*"
  - name: build
    functionaries: [dev]
    materials:
      - REQUIRE "oci://`+host+`/base"
      - MATCH "oci://*" WITH PRODUCTS FROM base
      - ALLOW Dockerfile
      - ALLOW "src/*"
      - DISALLOW "*"
    products:
      - ALLOW app
      - DISALLOW "*"
`)
	mustToto(t, dir, "layout", "create", "layout.yaml", "-o", "root.layout")
	mustToto(t, dir, "sign", "--key", "owner.key", "root.layout")

	build := []string{"run", "--step", "build", "--key", "dev.key", "-d", "links", "-m", "Dockerfile", "-m", "src",
		"--verify-materials", "policy.yaml", "-p", "app", "--", "sh", "-c", "echo built > app"}
	r := mustToto(t, dir, build...)
	if !strings.Contains(r.Stderr, "allowed "+host+"/base:1 → "+host+"/base@"+base.String()) {
		t.Errorf("stderr: %s", r.Stderr)
	}
	links, _ := filepath.Glob(filepath.Join(dir, "links", "build.*.link"))
	if len(links) != 1 {
		t.Fatalf("build links: %v", links)
	}
	raw, err := os.ReadFile(links[0])
	if err != nil {
		t.Fatal(err)
	}
	var mb struct {
		Signed struct{ Materials map[string]map[string]string }
	}
	if err := json.Unmarshal(raw, &mb); err != nil {
		t.Fatal(err)
	}
	if got := mb.Signed.Materials["oci://"+host+"/base"]; got["sha256"] != base.Hex || len(got) != 1 {
		t.Fatalf("image material %v in %v", got, mb.Signed.Materials)
	}
	verify := []string{"verify", "--layout", "root.layout", "--layout-key", "owner.pub", "--links", "links"}
	mustToto(t, dir, verify...)

	// Another image, signed too, under the same tag: allowed by the image
	// policy, but not the base the base step produced. toto verify's MATCH
	// catches it.
	other := pushRandom(t, host+"/base:1")
	mustToto(t, dir, "image", "sign", "--key", "platform.key", host+"/base@"+other.String())
	os.Remove(links[0])
	mustToto(t, dir, build...)
	if r := runToto(t, dir, verify...); r.Code != 1 || !strings.Contains(r.Stdout+r.Stderr, "oci://"+host+"/base") {
		t.Fatalf("verify with a base the base step did not produce: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	links, _ = filepath.Glob(filepath.Join(dir, "links", "build.*.link"))
	for _, l := range links {
		os.Remove(l)
	}

	// An unsigned base: the step does not run and no link is written.
	pushRandom(t, host+"/base:1")
	os.Remove(filepath.Join(dir, "app"))
	r = runToto(t, dir, build...)
	if r.Code != 1 || !strings.Contains(r.Stderr, "Dockerfile:2") || !strings.Contains(r.Stderr, "no link written") {
		t.Fatalf("unsigned base: exit %d\n%s", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "app")); !os.IsNotExist(err) {
		t.Fatal("the command ran although its base image was denied")
	}
	if links, _ := filepath.Glob(filepath.Join(dir, "links", "build.*")); len(links) != 0 {
		t.Fatalf("a link was written: %v", links)
	}

	// --material-image alone, denied; and a bad Dockerfile is exit 2.
	r = runToto(t, dir, "run", "--step", "x", "--key", "dev.key", "-d", "links", "--verify-materials", "policy.yaml",
		"--material-image", host+"/base:1", "--", "sh", "-c", "echo ran > app")
	if r.Code != 1 {
		t.Fatalf("--material-image unsigned: exit %d %s", r.Code, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "app")); !os.IsNotExist(err) {
		t.Fatal("the command ran although its material image was denied")
	}
	write("Dockerfile", "RUN true\nFROM x\n")
	if r := runToto(t, dir, build...); r.Code != 2 || !strings.Contains(r.Stderr, "Dockerfile:1") {
		t.Fatalf("bad Dockerfile: exit %d %s", r.Code, r.Stderr)
	}
	if r := runToto(t, dir, "run", "--step", "x", "--key", "dev.key", "--material-image", "a", "-x"); r.Code != 2 {
		t.Fatalf("--material-image without --verify-materials: exit %d", r.Code)
	}
}
