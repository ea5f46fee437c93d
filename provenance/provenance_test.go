package provenance_test

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	prov "github.com/in-toto/attestation/go/predicates/provenance/v1"
	slsa1 "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/secure-systems-lab/go-securesystemslib/signerverifier"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/toto-dev/toto/attestation"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/provenance"
	"github.com/toto-dev/toto/statement"
)

func sampleLink() *link.Link {
	return &link.Link{
		Name:      "build",
		Command:   []string{"make", "dist"},
		Materials: link.Artifacts{"src/a.c": {"sha256": strings.Repeat("a", 64)}, "Makefile": {"sha256": strings.Repeat("b", 64)}},
		Products:  link.Artifacts{"dist/app": {"sha256": strings.Repeat("c", 64), "sha512": strings.Repeat("d", 128)}},
	}
}

func TestForLink(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st, err := provenance.ForLink(sampleLink(), provenance.Options{
		BuilderID:      "https://ci.example/runner",
		BuilderVersion: map[string]string{"toto": "v1.0.0"},
		InvocationID:   "https://ci.example/runs/42",
		StartedOn:      start,
		FinishedOn:     start.Add(90 * time.Second),
		Byproducts:     []statement.Subject{{Name: "build.abcd1234.link", Digest: link.DigestSet{"sha256": strings.Repeat("e", 64)}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.PredicateType != provenance.PredicateType || len(st.Subject) != 1 || st.Subject[0].Name != "dist/app" || st.Subject[0].Digest["sha512"] != strings.Repeat("d", 128) {
		t.Fatalf("statement: %+v", st)
	}
	// The predicate decodes strictly (no unknown fields) into the in-toto
	// attestation library's provenance v1 type and passes its checks.
	var p prov.Provenance
	if err := protojson.Unmarshal(st.Predicate, &p); err != nil {
		t.Fatalf("%v\n%s", err, st.Predicate)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	bd, rd := p.GetBuildDefinition(), p.GetRunDetails()
	if bd.GetBuildType() != provenance.BuildType || bd.GetExternalParameters().AsMap()["step"] != "build" {
		t.Errorf("buildDefinition: %v", bd)
	}
	if cmd := bd.GetExternalParameters().AsMap()["command"]; len(cmd.([]any)) != 2 {
		t.Errorf("command: %v", cmd)
	}
	deps := bd.GetResolvedDependencies()
	if len(deps) != 2 || deps[0].GetName() != "Makefile" || deps[1].GetDigest()["sha256"] != strings.Repeat("a", 64) {
		t.Errorf("resolvedDependencies (sorted by path): %v", deps)
	}
	if rd.GetBuilder().GetId() != "https://ci.example/runner" || rd.GetBuilder().GetVersion()["toto"] != "v1.0.0" {
		t.Errorf("builder: %v", rd.GetBuilder())
	}
	md := rd.GetMetadata()
	if md.GetInvocationId() != "https://ci.example/runs/42" || !md.GetStartedOn().AsTime().Equal(start) || md.GetFinishedOn().AsTime().Sub(start) != 90*time.Second {
		t.Errorf("metadata: %v", md)
	}
	if len(rd.GetByproducts()) != 1 || rd.GetByproducts()[0].GetName() != "build.abcd1234.link" {
		t.Errorf("byproducts: %v", rd.GetByproducts())
	}
	// Equal input, equal bytes (protojson's random spacing is removed).
	again, _ := provenance.ForLink(sampleLink(), provenance.Options{InvocationID: "x"})
	twice, _ := provenance.ForLink(sampleLink(), provenance.Options{InvocationID: "x"})
	a, _ := again.MarshalJSON()
	b, _ := twice.MarshalJSON()
	if string(a) != string(b) {
		t.Errorf("not deterministic:\n%s\n%s", a, b)
	}
}

func TestForLinkDefaults(t *testing.T) {
	l := sampleLink()
	l.Command = nil
	st, err := provenance.ForLink(l, provenance.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var p prov.Provenance
	if err := protojson.Unmarshal(st.Predicate, &p); err != nil {
		t.Fatal(err)
	}
	if id := p.GetRunDetails().GetBuilder().GetId(); id != provenance.DefaultBuilderID {
		t.Errorf("builder id %q", id)
	}
	if inv := p.GetRunDetails().GetMetadata().GetInvocationId(); !strings.HasPrefix(inv, "urn:uuid:") || len(inv) != len("urn:uuid:")+36 {
		t.Errorf("invocation id %q", inv)
	}
	if _, ok := p.GetBuildDefinition().GetExternalParameters().AsMap()["command"]; ok {
		t.Error("a step without a command has a command parameter")
	}
	if strings.Contains(string(st.Predicate), "startedOn") {
		t.Errorf("zero times are written: %s", st.Predicate)
	}
	l.Products = nil
	if _, err := provenance.ForLink(l, provenance.Options{}); !errors.Is(err, provenance.ErrNoProducts) {
		t.Errorf("no products: %v", err)
	}
}

// The signed provenance is read by in-toto-golang (the oracle): its DSSE
// verifier accepts the signature, and its SLSA v1 provenance types decode
// the statement to the same values. A forged payload is refused there too.
func TestSignedProvenanceInToToGolang(t *testing.T) {
	k, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := provenance.ForLink(sampleLink(), provenance.Options{BuilderID: "https://ci.example/runner", InvocationID: "run-1"})
	if err != nil {
		t.Fatal(err)
	}
	env, err := attestation.Sign(context.Background(), st, k)
	if err != nil {
		t.Fatal(err)
	}
	data, err := env.Encode()
	if err != nil {
		t.Fatal(err)
	}
	// toto's own verifier, with the product's digest as the subject.
	if _, err := attestation.NewVerifier(attestation.Options{Keys: attestation.Keys(k.Public())}).Verify(context.Background(), env, link.DigestSet{"sha256": strings.Repeat("c", 64)}); err != nil {
		t.Fatal(err)
	}

	sv, err := signerverifier.NewED25519SignerVerifierFromSSLibKey(&signerverifier.SSLibKey{
		KeyID: k.ID(), KeyType: "ed25519", Scheme: "ed25519",
		KeyVal: signerverifier.KeyVal{Public: hex.EncodeToString(k.CryptoPublicKey().(ed25519.PublicKey))},
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := dsse.NewEnvelopeVerifier(sv)
	if err != nil {
		t.Fatal(err)
	}
	var de dsse.Envelope
	if err := json.Unmarshal(data, &de); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), &de); err != nil {
		t.Fatalf("go-securesystemslib rejects the provenance signature: %v", err)
	}
	payload, err := de.DecodeB64Payload()
	if err != nil {
		t.Fatal(err)
	}
	var gs struct {
		Type          string `json:"_type"`
		PredicateType string `json:"predicateType"`
		Subject       []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		Predicate slsa1.ProvenancePredicate
	}
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&gs); err != nil {
		t.Fatalf("in-toto-golang's SLSA v1 types: %v\n%s", err, payload)
	}
	if gs.Type != statement.Type || gs.PredicateType != slsa1.PredicateSLSAProvenance || gs.Subject[0].Name != "dist/app" {
		t.Errorf("statement header: %+v", gs)
	}
	pp := gs.Predicate
	if pp.BuildDefinition.BuildType != provenance.BuildType || pp.RunDetails.Builder.ID != "https://ci.example/runner" ||
		pp.RunDetails.BuildMetadata.InvocationID != "run-1" || len(pp.BuildDefinition.ResolvedDependencies) != 2 ||
		pp.BuildDefinition.ResolvedDependencies[1].Digest["sha256"] != strings.Repeat("a", 64) {
		t.Errorf("in-toto-golang reads %+v", pp)
	}

	de.Payload = strings.Replace(de.Payload, de.Payload[10:14], "AAAA", 1)
	if _, err := v.Verify(context.Background(), &de); err == nil {
		t.Error("go-securesystemslib accepts a forged payload")
	}
}
