package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	prov "github.com/in-toto/attestation/go/predicates/provenance/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/toto-dev/toto/attestation"
	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/provenance"
	"github.com/toto-dev/toto/runner"
)

func TestRunProvenance(t *testing.T) {
	dir, k := runDir(t)
	before := time.Now().Add(-time.Second)
	r := mustToto(t, dir, "run", "-n", "build", "-k", "k", "-m", "src", "-p", "out", "--provenance",
		"--builder-id", "https://ci.example/workflows/release", "--invocation-id", "https://ci.example/runs/7", "--json",
		"--", "sh", "-c", "mkdir -p out && echo app > out/app")
	var sum summary
	if err := json.Unmarshal([]byte(r.Stdout), &sum); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(".", "build."+k.ID()[:8]+".provenance.json")
	if sum.Provenance != want {
		t.Fatalf("summary provenance %q, want %q", sum.Provenance, want)
	}
	data, err := os.ReadFile(filepath.Join(dir, want))
	if err != nil {
		t.Fatal(err)
	}
	env, err := envelope.Parse(data)
	if err != nil || env.Format != envelope.DSSE {
		t.Fatalf("not a DSSE envelope: %v", err)
	}
	appDigest, err := runner.DigestFile(filepath.Join(dir, "out", "app"), runner.DigestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := attestation.NewVerifier(attestation.Options{Keys: attestation.Keys(k)}).Verify(context.Background(), env, appDigest)
	if err != nil {
		t.Fatal(err)
	}
	if v.Statement.PredicateType != provenance.PredicateType {
		t.Errorf("predicate type %q", v.Statement.PredicateType)
	}
	var p prov.Provenance
	if err := protojson.Unmarshal(v.Statement.Predicate, &p); err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	ext := p.GetBuildDefinition().GetExternalParameters().AsMap()
	if ext["step"] != "build" || len(ext["command"].([]any)) != 3 {
		t.Errorf("externalParameters %v", ext)
	}
	srcDigest, _ := runner.DigestFile(filepath.Join(dir, "src", "a.c"), runner.DigestOptions{})
	deps := p.GetBuildDefinition().GetResolvedDependencies()
	if len(deps) != 1 || deps[0].GetName() != "src/a.c" || deps[0].GetDigest()["sha256"] != srcDigest["sha256"] {
		t.Errorf("resolvedDependencies %v", deps)
	}
	rd := p.GetRunDetails()
	if rd.GetBuilder().GetId() != "https://ci.example/workflows/release" || rd.GetBuilder().GetVersion()["toto"] == "" {
		t.Errorf("builder %v", rd.GetBuilder())
	}
	md := rd.GetMetadata()
	s, f := md.GetStartedOn().AsTime(), md.GetFinishedOn().AsTime()
	if md.GetInvocationId() != "https://ci.example/runs/7" || s.Before(before) || f.Before(s) || f.After(time.Now()) {
		t.Errorf("metadata %v", md)
	}
	linkDigest, _ := runner.DigestFile(filepath.Join(dir, sum.Link), runner.DigestOptions{})
	if bp := rd.GetByproducts(); len(bp) != 1 || bp[0].GetName() != filepath.Base(sum.Link) || bp[0].GetDigest()["sha256"] != linkDigest["sha256"] {
		t.Errorf("byproducts %v", bp)
	}

	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"run", "-n", "x", "-k", "k", "-m", "src", "--provenance", "--", "true"}, "--provenance needs at least one -p PATH"},
	} {
		r := runToto(t, dir, tc.args...)
		if r.Code != 2 || !strings.Contains(r.Stderr, tc.msg) {
			t.Errorf("toto %v: exit %d, stderr %q", tc.args, r.Code, r.Stderr)
		}
	}
	// A failed command gets no provenance: it did not make the products.
	r = runToto(t, dir, "run", "-n", "broken", "-k", "k", "-p", "out", "--provenance", "--", "false")
	if r.Code != 1 {
		t.Fatalf("exit %d", r.Code)
	}
	if _, err := os.Stat(filepath.Join(dir, "broken."+k.ID()[:8]+".provenance.json")); !os.IsNotExist(err) {
		t.Errorf("provenance written for a failed command: %v", err)
	}
}

// toto record stop --provenance: the same signed SLSA provenance as toto
// run's, for a step toto did not run as one command — the materials of
// record start as resolved dependencies, the products as subjects, no
// command and no start time.
func TestRecordStopProvenance(t *testing.T) {
	dir, k := runDir(t)
	mustToto(t, dir, "record", "start", "-n", "edit", "-k", "k", "-m", "src")
	if err := os.MkdirAll(filepath.Join(dir, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "out", "app"), []byte("app\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "links"), 0o755); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	r := mustToto(t, dir, "record", "stop", "-n", "edit", "-k", "k", "-p", "out", "-d", "links", "--provenance",
		"--builder-id", "https://ci.example/workflows/edit", "--invocation-id", "https://ci.example/runs/8", "--json")
	sum := validateAgainst(t, runSchema, r.Stdout)
	want := filepath.Join("links", "edit."+k.ID()[:8]+".provenance.json")
	if sum["provenance"] != want {
		t.Fatalf("summary provenance %v, want %q", sum["provenance"], want)
	}
	data, err := os.ReadFile(filepath.Join(dir, want))
	if err != nil {
		t.Fatal(err)
	}
	env, err := envelope.Parse(data)
	if err != nil || env.Format != envelope.DSSE {
		t.Fatalf("not a DSSE envelope: %v", err)
	}
	appDigest, err := runner.DigestFile(filepath.Join(dir, "out", "app"), runner.DigestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := attestation.NewVerifier(attestation.Options{Keys: attestation.Keys(k)}).Verify(context.Background(), env, appDigest)
	if err != nil {
		t.Fatal(err)
	}
	var p prov.Provenance
	if err := protojson.Unmarshal(v.Statement.Predicate, &p); err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if ext := p.GetBuildDefinition().GetExternalParameters().AsMap(); ext["step"] != "edit" || ext["command"] != nil {
		t.Errorf("externalParameters %v", ext)
	}
	srcDigest, _ := runner.DigestFile(filepath.Join(dir, "src", "a.c"), runner.DigestOptions{})
	if deps := p.GetBuildDefinition().GetResolvedDependencies(); len(deps) != 1 || deps[0].GetName() != "src/a.c" || deps[0].GetDigest()["sha256"] != srcDigest["sha256"] {
		t.Errorf("resolvedDependencies %v", deps)
	}
	rd := p.GetRunDetails()
	md := rd.GetMetadata()
	if rd.GetBuilder().GetId() != "https://ci.example/workflows/edit" || md.GetInvocationId() != "https://ci.example/runs/8" ||
		md.GetStartedOn() != nil || md.GetFinishedOn().AsTime().Before(before) || md.GetFinishedOn().AsTime().After(time.Now()) {
		t.Errorf("runDetails %v", rd)
	}
	linkDigest, _ := runner.DigestFile(filepath.Join(dir, sum["link"].(string)), runner.DigestOptions{})
	if bp := rd.GetByproducts(); len(bp) != 1 || bp[0].GetName() != filepath.Base(sum["link"].(string)) || bp[0].GetDigest()["sha256"] != linkDigest["sha256"] {
		t.Errorf("byproducts %v", bp)
	}
	// toto verify-attestation, as a consumer checks it.
	mustToto(t, dir, "verify-attestation", "--key", "k.pub", "--type", provenance.PredicateType, "--subject", filepath.Join("out", "app"), want)

	// No products: refused before anything is written, the preliminary
	// link kept.
	mustToto(t, dir, "record", "start", "-n", "review", "-k", "k", "-m", "src")
	r = runToto(t, dir, "record", "stop", "-n", "review", "-k", "k", "--provenance")
	if r.Code != 2 || !strings.Contains(r.Stderr, "--provenance needs at least one -p PATH") {
		t.Errorf("no products: exit %d %s", r.Code, r.Stderr)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".review.*.link-unfinished")); len(m) != 1 {
		t.Errorf("preliminary link: %v", m)
	}
}
