package sbom

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	ita "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/statement"
)

// policyInventory is the SBOM under test in the policy tests.
func policyInventory() *Inventory {
	return &Inventory{
		Name: "app",
		Root: &Component{Type: TypeApplication, Name: "example.com/app", Version: "v1.0.0",
			PURL: golangPURL("example.com/app", "v1.0.0"), License: "Apache-2.0"},
		Components: []Component{
			{Type: TypeLibrary, Name: "github.com/foo/bar", Version: "v1.2.0",
				PURL: golangPURL("github.com/foo/bar", "v1.2.0"), License: "GPL-3.0-only"},
			{Type: TypeLibrary, Name: "github.com/ok/dual", Version: "v0.1.0",
				PURL: golangPURL("github.com/ok/dual", "v0.1.0"), License: "MIT OR GPL-3.0-only"},
			{Type: TypeLibrary, Name: "@types/node", Version: "20.1.0",
				PURL: npmPURL("@types/node", "20.1.0"), License: "MIT"},
			{Type: TypeLibrary, Name: "left-pad", Version: "1.3.0",
				PURL: npmPURL("left-pad", "1.3.0"), License: "WTFPL"},
		},
	}
}

var artifactDigest = link.DigestSet{SHA256: strings.Repeat("a1", 32), SHA512: strings.Repeat("b2", 64)}

func attestationFor(t *testing.T, f Format, inv *Inventory, digest link.DigestSet) Attestation {
	t.Helper()
	st, err := NewStatement(inv, f, []statement.Subject{{Name: "app", Digest: digest}}, EncodeOptions{Created: fixedTime})
	if err != nil {
		t.Fatal(err)
	}
	return Attestation{Source: "app." + string(f) + ".att", Statement: st}
}

func violations(r *Result, rule Rule) []Violation {
	var out []Violation
	for _, v := range r.Violations {
		if v.Rule == rule {
			out = append(out, v)
		}
	}
	return out
}

func TestEvaluateEachRuleCanFail(t *testing.T) {
	artifact := Artifact{Name: "app", Digests: artifactDigest}
	for _, f := range []Format{SPDXJSON, CycloneDXJSON} {
		t.Run(string(f), func(t *testing.T) {
			att := attestationFor(t, f, policyInventory(), artifactDigest)

			// A policy that allows everything passes.
			r := Evaluate(Policy{RequireSBOM: true, DenyLicenses: []string{"AGPL-3.0-only"}}, artifact, []Attestation{att})
			if !r.OK() || len(r.SBOMs) != 1 || r.SBOMs[0].Components != 5 {
				t.Fatalf("clean policy: %+v", r)
			}

			// deny-license: only the component that must be GPL, not the
			// one that offers MIT OR GPL.
			r = Evaluate(Policy{DenyLicenses: []string{"GPL-3.0-only"}}, artifact, []Attestation{att})
			v := violations(r, RuleDenyLicense)
			if len(v) != 1 || v[0].Component != "github.com/foo/bar@v1.2.0" {
				t.Fatalf("deny-license violations = %+v", v)
			}
			want := "component github.com/foo/bar@v1.2.0 has license GPL-3.0-only, denied by policy"
			if !strings.HasPrefix(v[0].Message, want) {
				t.Errorf("message = %q, want it to start with %q", v[0].Message, want)
			}

			// deny-component: by name, by name@version (npm scope kept), by purl prefix.
			r = Evaluate(Policy{DenyComponents: []string{"left-pad", "@types/node@20.1.0", "pkg:golang/github.com/foo", "github.com/ok/dual@v9.9.9"}},
				artifact, []Attestation{att})
			var got []string
			for _, v := range violations(r, RuleDenyComponent) {
				got = append(got, v.Component)
			}
			if strings.Join(got, " ") != "@types/node@20.1.0 github.com/foo/bar@v1.2.0 left-pad@1.3.0" {
				t.Errorf("deny-component hit %v", got)
			}
			if len(r.Violations) != 3 {
				t.Errorf("want exactly 3 violations, got %+v", r.Violations)
			}
		})
	}
}

func TestEvaluateSubjectMismatch(t *testing.T) {
	other := link.DigestSet{SHA256: strings.Repeat("ff", 32)}
	att := attestationFor(t, SPDXJSON, policyInventory(), other)
	r := Evaluate(Policy{RequireSBOM: true, DenyLicenses: []string{"GPL-3.0-only"}},
		Artifact{Name: "app", Digests: artifactDigest}, []Attestation{att})
	if len(violations(r, RuleSubject)) != 1 {
		t.Errorf("want a subject violation: %+v", r.Violations)
	}
	// An attestation about another artifact is not evidence about this one:
	// its components are not judged, and it does not satisfy requireSBOM.
	if len(violations(r, RuleDenyLicense)) != 0 || len(violations(r, RuleRequireSBOM)) != 1 {
		t.Errorf("violations = %+v", r.Violations)
	}
	if !strings.Contains(r.Violations[0].Message, "no subject matches artifact app") {
		t.Errorf("message = %q", r.Violations[0].Message)
	}
}

func TestEvaluateRequireSBOM(t *testing.T) {
	a := Artifact{Name: "app", Digests: artifactDigest}
	r := Evaluate(Policy{RequireSBOM: true}, a, nil)
	if v := violations(r, RuleRequireSBOM); len(v) != 1 || !strings.Contains(v[0].Message, "artifact app has no valid SBOM attestation") {
		t.Errorf("violations = %+v", r.Violations)
	}
	if err := r.Err(); err == nil || !errors.As(err, new(Violation)) {
		t.Errorf("Err() = %v, want a joined error holding the Violation", err)
	}
	// Non-SBOM statements do not count, and are not judged.
	linkSt, err := statement.New(link.PredicateType, map[string]any{"name": "build"}, statement.Subject{Name: "app", Digest: artifactDigest})
	if err != nil {
		t.Fatal(err)
	}
	r = Evaluate(Policy{RequireSBOM: true}, a, []Attestation{{Source: "link", Statement: linkSt}})
	if len(r.Violations) != 1 || r.Violations[0].Rule != RuleRequireSBOM {
		t.Errorf("violations = %+v", r.Violations)
	}
	if r := Evaluate(Policy{}, a, nil); !r.OK() || r.Err() != nil {
		t.Errorf("empty policy, no SBOM: %+v", r)
	}
}

func TestEvaluateBrokenPredicate(t *testing.T) {
	st, err := statement.New(PredicateSPDX+"/v2.3", map[string]any{"spdxVersion": "SPDX-3.0"},
		statement.Subject{Name: "app", Digest: artifactDigest})
	if err != nil {
		t.Fatal(err)
	}
	r := Evaluate(Policy{RequireSBOM: true}, Artifact{Name: "app", Digests: artifactDigest}, []Attestation{{Source: "bad.att", Statement: st}})
	v := violations(r, RulePredicate)
	if len(v) != 1 || !strings.Contains(v[0].Message, `field "spdxVersion"`) || !strings.Contains(v[0].Message, "bad.att") {
		t.Errorf("violations = %+v", r.Violations)
	}
	if len(violations(r, RuleRequireSBOM)) != 1 {
		t.Error("an unparsable SBOM must not satisfy requireSBOM")
	}
}

func TestPolicyValidate(t *testing.T) {
	good := Policy{DenyLicenses: []string{"GPL-3.0-only", "AGPL-*"}, DenyComponents: []string{"a", "@s/b@1.0.0", "pkg:npm/x"}}
	if err := good.Validate(); err != nil {
		t.Errorf("valid policy rejected: %v", err)
	}
	bad := Policy{DenyLicenses: []string{"", "MIT OR GPL-3.0-only", "*", "G*PL"}, DenyComponents: []string{" ", "pkg:npm", "@1.0.0"}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("invalid policy accepted")
	}
	for _, want := range []string{"denyLicenses[0]", "denyLicenses[1]", "denyLicenses[2]", "denyLicenses[3]",
		"denyComponents[0]", "denyComponents[1]", "denyComponents[2]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}

func TestPurlPrefixMatchesWholeSegments(t *testing.T) {
	p := Policy{DenyComponents: []string{"pkg:npm/lodash", "pkg:npm/@babel/"}}
	for purl, want := range map[string]bool{
		"pkg:npm/lodash@4.17.21":      true,
		"pkg:npm/lodash":              true,
		"pkg:npm/lodash.merge@4.6.2":  false,
		"pkg:npm/%40babel/core@7.0.0": true, // percent-encoded scope
		"pkg:npm/babel@1.0.0":         false,
	} {
		c := &Component{Name: "x", PURL: purl}
		if got := p.deniedBy(c) != ""; got != want {
			t.Errorf("%s denied = %v, want %v", purl, got, want)
		}
	}
}

func TestAttestAndVerify(t *testing.T) {
	ctx := context.Background()
	signer, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := keys.Generate(keys.ECDSA, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	subjects := []statement.Subject{{Name: "app", Digest: artifactDigest}}
	env, err := Attest(ctx, policyInventory(), CycloneDXJSON, subjects, signer, EncodeOptions{Created: fixedTime})
	if err != nil {
		t.Fatal(err)
	}
	// Round trip through bytes, as a verifier reads it from a file.
	data, err := env.Encode()
	if err != nil {
		t.Fatal(err)
	}
	env, err = envelope.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if env.Format != envelope.DSSE || env.PayloadType != envelope.PayloadTypeInToto {
		t.Errorf("envelope %v %q, want DSSE in-toto", env.Format, env.PayloadType)
	}
	// The payload is an in-toto Statement v1 the reference library accepts.
	var pb ita.Statement
	if err := protojson.Unmarshal(env.Payload(), &pb); err != nil {
		t.Fatal(err)
	}
	if err := pb.Validate(); err != nil || pb.PredicateType != PredicateCycloneDX || pb.Subject[0].Digest[SHA256] != artifactDigest[SHA256] {
		t.Fatalf("statement %v: type %s subject %v", err, pb.PredicateType, pb.Subject)
	}

	artifact := Artifact{Name: "app", Digests: artifactDigest}
	policy := Policy{RequireSBOM: true, DenyLicenses: []string{"WTFPL"}}
	pub := signer.Public()
	r := Verify(policy, artifact, []SignedAttestation{{Source: "app.att", Envelope: env}}, []*keys.Key{stranger.Public(), pub})
	if len(r.SBOMs) != 1 || len(r.Violations) != 1 || r.Violations[0].Component != "left-pad@1.3.0" {
		t.Errorf("verify with the signer's key: %+v", r)
	}

	r = Verify(policy, artifact, []SignedAttestation{{Source: "app.att", Envelope: env}}, []*keys.Key{stranger.Public()})
	if len(violations(r, RuleSignature)) != 1 || len(violations(r, RuleRequireSBOM)) != 1 || len(violations(r, RuleDenyLicense)) != 0 {
		t.Errorf("verify with an unauthorised key: %+v", r.Violations)
	}
	if msg := violations(r, RuleSignature)[0].Message; !strings.Contains(msg, "not signed by an authorised key") {
		t.Errorf("signature message = %q", msg)
	}

	// Tampering with the payload breaks the signature.
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	forged := strings.Replace(string(env.Payload()), "WTFPL", "MIT", 1)
	tampered, err := envelope.New(envelope.DSSE, envelope.PayloadTypeInToto, []byte(forged))
	if err != nil {
		t.Fatal(err)
	}
	tampered.Signatures = env.Signatures
	r = Verify(policy, artifact, []SignedAttestation{{Source: "forged.att", Envelope: tampered}}, []*keys.Key{pub})
	if len(violations(r, RuleSignature)) != 1 || len(r.SBOMs) != 0 {
		t.Errorf("forged payload accepted: %+v", r)
	}

	// A link envelope beside the attestation is ignored.
	lk := &link.Link{Name: "build", Products: link.Artifacts{"app": artifactDigest}}
	lb, _ := lk.MarshalJSON()
	linkEnv, _ := envelope.New(envelope.Metablock, "", lb)
	r = Verify(Policy{}, artifact, []SignedAttestation{{Source: "build.link", Envelope: linkEnv}}, []*keys.Key{pub})
	if !r.OK() {
		t.Errorf("link envelope judged: %+v", r.Violations)
	}
}

func TestNewStatementRejectsNonJSONFormatsAndNoSubjects(t *testing.T) {
	subj := []statement.Subject{{Name: "a", Digest: artifactDigest}}
	if _, err := NewStatement(sampleInventory(), SPDXTagValue, subj, EncodeOptions{}); err == nil {
		t.Error("tag-value cannot be a predicate")
	}
	if _, err := NewStatement(sampleInventory(), SPDXJSON, nil, EncodeOptions{}); err == nil {
		t.Error("a statement needs subjects")
	}
}

// What the encoders write, the predicate parsers read back: same
// components, purls, licenses and hashes.
func TestPredicateRoundTrip(t *testing.T) {
	for _, f := range []Format{SPDXJSON, CycloneDXJSON} {
		inv := sampleInventory()
		doc, err := inv.Encode(f, EncodeOptions{Created: fixedTime})
		if err != nil {
			t.Fatal(err)
		}
		pt, _ := f.PredicateType()
		got, err := ParsePredicate(pt, doc)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		want := map[string]Component{}
		for _, c := range inv.All() {
			want[c.Name] = c
		}
		all := got.All()
		if len(all) != len(want) {
			t.Fatalf("%s: %d components back, want %d", f, len(all), len(want))
		}
		for _, c := range all {
			w := want[c.Name]
			if c.Version != w.Version || c.PURL != w.PURL || c.Type != w.Type {
				t.Errorf("%s: %s came back as %+v, want %+v", f, c.Name, c, w)
			}
			for alg, v := range w.Hashes {
				if c.Hashes[alg] != v {
					t.Errorf("%s: %s %s = %q, want %q", f, c.Name, alg, c.Hashes[alg], v)
				}
			}
			// SPDX turns non-expressions into LicenseRef-s.
			if c.License != w.License && !(f == SPDXJSON && strings.HasPrefix(c.License, "LicenseRef-")) {
				t.Errorf("%s: %s license %q, want %q", f, c.Name, c.License, w.License)
			}
		}
	}
	if _, err := ParsePredicate("https://slsa.dev/provenance/v1", []byte("{}")); !errors.Is(err, ErrNotSBOM) {
		t.Errorf("non-SBOM predicate: %v", err)
	}
}

func TestCheckProducts(t *testing.T) {
	final := link.Artifacts{"app": artifactDigest, "app.sha256": {SHA256: strings.Repeat("cc", 32)}}
	good := attestationFor(t, SPDXJSON, policyInventory(), artifactDigest)
	elsewhere := attestationFor(t, CycloneDXJSON, policyInventory(), link.DigestSet{SHA256: strings.Repeat("ee", 32)})
	p := Policy{RequireSBOM: true, DenyComponents: []string{"left-pad"}}

	r := CheckProducts(p, final, []Attestation{good, elsewhere})
	if len(r.SBOMs) != 1 || len(r.Violations) != 1 || r.Violations[0].Rule != RuleDenyComponent {
		t.Errorf("result = %+v", r)
	}
	if len(r.Errors()) != 1 {
		t.Errorf("Errors() = %v", r.Errors())
	}
	r = CheckProducts(p, final, []Attestation{elsewhere})
	if len(r.Violations) != 1 || r.Violations[0].Rule != RuleRequireSBOM || !strings.Contains(r.Violations[0].Message, "app, app.sha256") {
		t.Errorf("result = %+v", r.Violations)
	}
}

func TestParsePolicy(t *testing.T) {
	p, err := ParsePolicy([]byte(`{"requireSBOM":true,"denyLicenses":["GPL-3.0-only"],"denyComponents":["left-pad@1.3.0"]}`))
	if err != nil || !p.RequireSBOM || p.DenyLicenses[0] != "GPL-3.0-only" || p.DenyComponents[0] != "left-pad@1.3.0" {
		t.Fatalf("ParsePolicy = %+v, %v", p, err)
	}
	for _, bad := range []string{`{"denyLicence":["MIT"]}`, `{"denyLicenses":["MIT OR X"]}`, `[]`, `{} {}`} {
		if _, err := ParsePolicy([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func subjectsOf(d link.DigestSet) []statement.Subject {
	return []statement.Subject{{Name: "artifact", Digest: d}}
}

func TestPredicateParsersRejectDuplicateKeys(t *testing.T) {
	spdxDup := `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","packages":[{"SPDXID":"SPDXRef-a","name":"evil","name":"good"}]}`
	if _, err := ParseSPDXJSON([]byte(spdxDup)); err == nil || !strings.Contains(err.Error(), `duplicate object key "name"`) {
		t.Errorf("SPDX with duplicate keys: %v", err)
	}
	cdxDup := `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[],"components":[{"type":"library","name":"x"}]}`
	if _, err := ParseCycloneDXJSON([]byte(cdxDup)); err == nil || !strings.Contains(err.Error(), `duplicate object key "components"`) {
		t.Errorf("CycloneDX with duplicate keys: %v", err)
	}
	// The same key in different objects is fine.
	ok := `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"a"},{"type":"library","name":"b","components":[{"type":"file","name":"c"}]}]}`
	inv, err := ParseCycloneDXJSON([]byte(ok))
	if err != nil || len(inv.Components) != 3 {
		t.Errorf("nested components: %v %+v", err, inv)
	}
}
