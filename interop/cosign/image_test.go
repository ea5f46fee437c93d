//go:build interop

package cosign

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/toto-dev/toto/internal/oracle"
)

// Tiny valid predicates for cosign attest --type.
const (
	spdxDoc = `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"app",
"documentNamespace":"https://example.com/spdx/app-1","creationInfo":{"created":"2024-01-01T00:00:00Z","creators":["Tool: interop-test"]},
"packages":[{"name":"left-pad","SPDXID":"SPDXRef-Package-left-pad","versionInfo":"1.3.0","downloadLocation":"NOASSERTION",
"licenseConcluded":"MIT","licenseDeclared":"MIT",
"externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:npm/left-pad@1.3.0"}]}]}`
	cyclonedxDoc = `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"metadata":{"timestamp":"2024-01-01T00:00:00Z"},
"components":[{"type":"library","name":"lodash","version":"4.17.20","purl":"pkg:npm/lodash@4.17.20","licenses":[{"license":{"id":"MIT"}}]}]}`
	slsa02Doc = `{"builder":{"id":"https://example.com/builder@v1"},"buildType":"https://example.com/build-type@v1",
"invocation":{"configSource":{"uri":"git+https://example.com/app","digest":{"sha1":"0123456789abcdef0123456789abcdef01234567"}}},"materials":[]}`
	slsa1Doc = `{"buildDefinition":{"buildType":"https://example.com/build-type/v1","externalParameters":{"ref":"main"}},
"runDetails":{"builder":{"id":"https://example.com/builder@v1"}}}`
)

// cosignTypes are the four cosign attest --type values of issue 14.1,
// with the predicate type cosign writes for each.
var cosignTypes = []struct{ name, uri, doc string }{
	{"spdxjson", "https://spdx.dev/Document", spdxDoc},
	{"cyclonedx", "https://cyclonedx.org/bom", cyclonedxDoc},
	{"slsaprovenance", "https://slsa.dev/provenance/v0.2", slsa02Doc},
	{"slsaprovenance1", "https://slsa.dev/provenance/v1", slsa1Doc},
}

// Issue 14.1: cosign attest --type spdxjson|cyclonedx|slsaprovenance|
// slsaprovenance1, by cosign v2 (.att tag) and v3 (bundle referrer),
// writes in-toto Statement v0.1; toto image verify accepts each, --type
// (cosign's name) finds it, and an attestation by an untrusted key does
// not satisfy --type.
func TestCosignAttestTypes(t *testing.T) {
	e := newEnv(t)
	for _, version := range cosignVersions {
		for _, ct := range cosignTypes {
			t.Run(version+"/"+ct.name, func(t *testing.T) {
				e.t = t
				ref := e.push("attest-" + ct.name)
				pred := e.write(ct.name+".json", ct.doc)
				e.sign(version, "cosign.key", ref)
				e.attest(version, "cosign.key", ref, ct.name, pred)

				rep := e.verify(0, "--key", "cosign.pub", "--require-all", "--type", ct.name, ref)
				atts := rep.find(func(f finding) bool { return f.Kind == "attestation" })
				if rep.Signatures != 1 || rep.Attestations != 1 || len(atts) != 1 || !atts[0].Verified || atts[0].PredicateType != ct.uri {
					t.Fatalf("report:\n%s", rep)
				}
				wantStorage := "referrer"
				if version == oracle.CosignV2 {
					wantStorage = "tag"
				}
				if atts[0].Storage != wantStorage {
					t.Errorf("%s attestation read from %s storage, want %s", version, atts[0].Storage, wantStorage)
				}
				// The premise: what cosign wrote is a Statement v0.1.
				if st := e.statementOf(ref, atts[0]); st["_type"] != "https://in-toto.io/Statement/v0.1" {
					t.Errorf("cosign %s wrote _type %v; the test assumes v0.1", version, st["_type"])
				}
				// The URI form is the same requirement.
				e.verify(0, "--key", "cosign.pub", "--type", ct.uri, ref)

				// Negative: the same type attested by an untrusted key
				// on another image does not satisfy --type; the
				// attestation is ignored with its reason.
				ref2 := e.push("attest-other-" + ct.name)
				e.sign(version, "cosign.key", ref2)
				e.attest(version, "other.key", ref2, ct.name, pred)
				rep = e.verify(1, "--key", "cosign.pub", "--type", ct.name, ref2)
				ign := rep.find(func(f finding) bool { return f.Status == "ignored" })
				if len(rep.MissingPredicateTypes) != 1 || rep.MissingPredicateTypes[0] != ct.uri || len(ign) != 1 || ign[0].Error == "" {
					t.Fatalf("report:\n%s", rep)
				}
			})
		}
	}
}

// Issue 14.2: signatures whose statement has no predicate member (cosign
// v2 sign --new-bundle-format) or an empty one (cosign v3 sign) verify;
// signed by another key, they do not.
func TestCosignSignBundle(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		version string
		extra   []string
		// hasPredicate: whether cosign writes a predicate member.
		hasPredicate bool
	}{
		{oracle.CosignV2, []string{"--new-bundle-format"}, false},
		{oracle.CosignV3, nil, true},
	} {
		t.Run(tc.version, func(t *testing.T) {
			e.t = t
			ref := e.push("sign-bundle")
			e.sign(tc.version, "cosign.key", ref, tc.extra...)
			rep := e.verify(0, "--key", "cosign.pub", "--require-all", ref)
			sigs := rep.find(func(f finding) bool { return f.Kind == "signature" && f.Verified })
			if rep.Signatures != 1 || len(sigs) != 1 || sigs[0].Storage != "referrer" || sigs[0].PredicateType != "https://sigstore.dev/cosign/sign/v1" {
				t.Fatalf("report:\n%s", rep)
			}
			st := e.statementOf(ref, sigs[0])
			if _, has := st["predicate"]; has != tc.hasPredicate {
				t.Errorf("cosign %s: predicate member present = %v; the test assumes %v", tc.version, has, tc.hasPredicate)
			}
			// Negative: the wrong key.
			rep = e.verify(1, "--key", "other.pub", ref)
			if rep.Signatures != 0 || rep.Failures != 1 || !strings.Contains(rep.Referrers[0].Error, "no trusted key") {
				t.Fatalf("wrong key:\n%s", rep)
			}
		})
	}
}

// Issue 14.3: cosign v2's default storage, .sig and .att tags, is read,
// verified and reported like bundles, from the registry and from an OCI
// layout written by cosign save; a tampered or replanted .sig layer and
// a wrong key do not verify.
func TestCosignV2Tags(t *testing.T) {
	e := newEnv(t)
	v2 := oracle.CosignV2
	ref := e.push("v2tags")
	d := digestOf(ref)
	e.sign(v2, "cosign.key", ref)
	e.attest(v2, "cosign.key", ref, "spdxjson", e.write("spdx.json", spdxDoc))
	hexd := strings.TrimPrefix(d, "sha256:")

	rep := e.verify(0, "--key", "cosign.pub", "--require-all", "--type", "spdxjson", ref)
	sig := rep.find(func(f finding) bool { return f.Kind == "signature" })
	att := rep.find(func(f finding) bool { return f.Kind == "attestation" })
	if rep.Signatures != 1 || rep.Attestations != 1 || len(sig) != 1 || len(att) != 1 ||
		sig[0].Tag != "sha256-"+hexd+".sig" || att[0].Tag != "sha256-"+hexd+".att" || sig[0].Storage != "tag" ||
		sig[0].ArtifactType != "application/vnd.dev.cosign.simplesigning.v1+json" || att[0].ArtifactType != "application/vnd.dsse.envelope.v1+json" {
		t.Fatalf("report:\n%s", rep)
	}
	// The text report names the tag and layer.
	r := e.toto("image", "verify", "--key", "cosign.pub", ref)
	e.wantCode(r, 0)
	if !strings.Contains(r.Stdout, "ok   signature   sha256-"+hexd+".sig layer ") || !strings.Contains(r.Stdout, "VERIFIED: 1 signature(s), 1 attestation(s) verified") {
		t.Errorf("text report:\n%s", r.Stdout)
	}

	t.Run("wrong key", func(t *testing.T) {
		e.t = t
		rep := e.verify(1, "--key", "other.pub", ref)
		if rep.Signatures != 0 || rep.Failures != 2 {
			t.Fatalf("report:\n%s", rep)
		}
		for _, f := range rep.Referrers {
			if f.Status != "ignored" || !strings.Contains(f.Error, "not signed by a trusted key") && !strings.Contains(f.Error, "not signed by an authorised key") {
				t.Errorf("finding %+v", f)
			}
		}
	})

	t.Run("cosign save layout", func(t *testing.T) {
		e.t = t
		dir := e.path("saved")
		e.cosign(v2, append([]string{"save", "--dir", dir}, append(registryFlags(v2), ref)...)...)
		for _, lref := range []string{"oci-layout:" + dir, "oci-layout:" + dir + "@" + d} {
			rep := e.verify(0, "--key", "cosign.pub", "--require-all", "--type", "spdxjson", lref)
			if rep.Signatures != 1 || rep.Attestations != 1 || rep.Digest != d {
				t.Fatalf("%s:\n%s", lref, rep)
			}
		}
	})

	t.Run("tampered .sig layer", func(t *testing.T) {
		e.t = t
		// Same signature annotation over other bytes: the payload now
		// names another digest (an attacker retargeting a signature).
		img := e.push("v2tamper")
		e.sign(v2, "cosign.key", img)
		sigRef := repoOf(img) + ":sha256-" + strings.TrimPrefix(digestOf(img), "sha256:") + ".sig"
		rewriteSig(t, sigRef, func(payload []byte) []byte {
			return bytes.Replace(payload, []byte(`"type"`), []byte(`"type" `), 1)
		})
		rep := e.verify(1, "--key", "cosign.pub", img)
		if rep.Signatures != 0 || rep.Failures != 1 || rep.Referrers[0].Status != "ignored" ||
			!strings.Contains(rep.Referrers[0].Error, "not signed by a trusted key") {
			t.Fatalf("report:\n%s", rep)
		}
		// With a valid cosign v3 signature beside it, the image verifies
		// and the tampered layer is listed as ignored; --require-all
		// fails it.
		e.sign(oracle.CosignV3, "cosign.key", img)
		rep = e.verify(0, "--key", "cosign.pub", img)
		if rep.Signatures != 1 || rep.Ignored != 1 {
			t.Fatalf("report:\n%s", rep)
		}
		e.verify(1, "--key", "cosign.pub", "--require-all", img)
	})

	t.Run("replanted .sig", func(t *testing.T) {
		e.t = t
		// The signed .sig manifest of ref copied to another image's tag:
		// the signature verifies, the payload names ref's digest.
		other := e.push("v2tags")
		e.crane("copy", repoOf(ref)+":sha256-"+hexd+".sig", repoOf(other)+":sha256-"+strings.TrimPrefix(digestOf(other), "sha256:")+".sig")
		rep := e.verify(1, "--key", "cosign.pub", other)
		if rep.Signatures != 0 || len(rep.Referrers) != 1 || !strings.Contains(rep.Referrers[0].Error, "signature names manifest "+d) {
			t.Fatalf("report:\n%s", rep)
		}
	})
}

// rewriteSig replaces the payload of the first layer of a .sig manifest,
// keeping its annotations (the signature), and pushes it under the same
// tag.
func rewriteSig(t *testing.T, sigRef string, edit func([]byte) []byte) {
	t.Helper()
	r, err := name.ParseReference(sigRef, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := ls[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.ReadFrom(rc)
	rc.Close()
	out := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	out = mutate.ConfigMediaType(out, types.OCIConfigJSON)
	out, err = mutate.Append(out, mutate.Addendum{
		Layer:       static.NewLayer(edit(buf.Bytes()), types.MediaType(m.Layers[0].MediaType)),
		Annotations: m.Layers[0].Annotations,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, out, remote.WithContext(context.Background())); err != nil {
		t.Fatal(err)
	}
}

// Issue 14.7: cosign's semantics. One trusted signature suffices; a
// bundle by an unknown key, a stale referrers-index entry and an
// artifact that is not a bundle are listed as ignored with the reason
// (text and JSON); --require-all fails on them; --type and --sbom-policy
// are requirements over the verified attestations.
func TestVerifySemantics(t *testing.T) {
	e := newEnv(t)
	v3 := oracle.CosignV3
	ref := e.push("semantics")
	e.sign(v3, "cosign.key", ref)
	e.sign(v3, "other.key", ref) // a bundle by a key the verifier does not trust
	e.attest(v3, "cosign.key", ref, "spdxjson", e.write("spdx.json", spdxDoc))
	e.attest(v3, "cosign.key", ref, "cyclonedx", e.write("cdx.json", cyclonedxDoc))

	// Junk any writer can push: a non-bundle artifact (oras attach).
	e.write("junk.txt", "not a signature")
	oracle.MustRun(t, e.dir, nil, oracle.Tool(t, "oras"), "attach", "--plain-http", "--artifact-type", "application/vnd.example.junk", ref, "junk.txt")

	rep := e.verify(0, "--key", "cosign.pub", ref)
	if rep.Signatures != 1 || rep.Attestations != 2 || rep.Failures != 1 || rep.Ignored != 2 {
		t.Fatalf("report:\n%s", rep)
	}
	unknown := rep.find(func(f finding) bool { return f.Status == "ignored" && f.Kind == "attestation" })
	other := rep.find(func(f finding) bool { return f.Status == "ignored" && f.Kind == "ignored" })
	if len(unknown) != 1 || !strings.Contains(unknown[0].Error, "no trusted key") || len(other) != 1 || !strings.Contains(other[0].Reason, "not a Sigstore bundle") {
		t.Fatalf("ignored entries:\n%s", rep)
	}
	r := e.toto("image", "verify", "--key", "cosign.pub", ref)
	e.wantCode(r, 0)
	if strings.Count(r.Stdout, "ignored: ") != 2 {
		t.Errorf("text report does not list both ignored entries:\n%s", r.Stdout)
	}
	// --require-all: the unknown key's bundle fails the image.
	rep = e.verify(1, "--key", "cosign.pub", "--require-all", ref)
	if rep.Failures != 1 || rep.Signatures != 1 {
		t.Fatalf("--require-all:\n%s", rep)
	}
	// Trusting both keys, --require-all passes (junk is not a bundle).
	e.verify(0, "--key", "cosign.pub", "--key", "other.pub", "--require-all", ref)

	t.Run("type", func(t *testing.T) {
		e.t = t
		e.verify(0, "--key", "cosign.pub", "--type", "spdxjson", "--type", "https://cyclonedx.org/bom", ref)
		rep := e.verify(1, "--key", "cosign.pub", "--type", "spdxjson", "--type", "slsaprovenance1", ref)
		if len(rep.MissingPredicateTypes) != 1 || rep.MissingPredicateTypes[0] != "https://slsa.dev/provenance/v1" {
			t.Fatalf("report:\n%s", rep)
		}
	})

	t.Run("sbom policy", func(t *testing.T) {
		e.t = t
		allow := e.write("allow.yaml", "requireSBOM: true\ndenyLicenses: [GPL-3.0-only]\n")
		rep := e.verify(0, "--key", "cosign.pub", "--sbom-policy", allow, ref)
		if rep.SBOM == nil || len(rep.SBOM.Violations) != 0 {
			t.Fatalf("report:\n%s", rep)
		}
		// One policy names a component of each SBOM: the SPDX one
		// (cosign's spdxjson, a Statement v0.1) and the CycloneDX one.
		deny := e.write("deny.yaml", "denyComponents: [left-pad@1.3.0, pkg:npm/lodash]\n")
		rep = e.verify(1, "--key", "cosign.pub", "--sbom-policy", deny, ref)
		if rep.SBOM == nil || len(rep.SBOM.Violations) != 2 {
			t.Fatalf("report:\n%s", rep)
		}
		for _, v := range rep.SBOM.Violations {
			if v.Rule != "deny-component" {
				t.Errorf("violation %+v", v)
			}
		}
		r := e.toto("image", "verify", "--key", "cosign.pub", "--sbom-policy", deny, ref)
		e.wantCode(r, 1)
		if !strings.Contains(r.Stdout, "FAIL SBOM policy") || !strings.Contains(r.Stdout, "left-pad@1.3.0") {
			t.Errorf("text report:\n%s", r.Stdout)
		}
		// The SBOM by an untrusted key does not count for requireSBOM.
		e.verify(1, "--key", "other.pub", "--sbom-policy", allow, ref)
		// A policy that does not load is a usage error.
		e.wantCode(e.toto("image", "verify", "--key", "cosign.pub", "--sbom-policy", e.write("bad.yaml", "denyLicense: [x]\n"), ref), 2)
	})

	t.Run("stale referrer", func(t *testing.T) {
		e.t = t
		// distribution 2.8 has no referrers API: cosign keeps the
		// sha256-HEX index. Deleting a referrer manifest leaves its
		// entry in the index.
		img := e.push("stale")
		e.sign(v3, "cosign.key", img)
		e.sign(v3, "other.key", img)
		rep := e.verify(0, "--key", "cosign.pub", img)
		var gone string
		for _, f := range rep.Referrers {
			if !f.Verified {
				gone = f.Referrer
			}
		}
		if gone == "" {
			t.Fatalf("report:\n%s", rep)
		}
		e.crane("delete", repoOf(img)+"@"+gone)
		idx := e.crane("manifest", repoOf(img)+":sha256-"+strings.TrimPrefix(digestOf(img), "sha256:"))
		if !strings.Contains(idx, gone) {
			t.Fatalf("the test assumes the index still lists %s:\n%s", gone, idx)
		}
		rep = e.verify(0, "--key", "cosign.pub", img)
		stale := rep.find(func(f finding) bool { return f.Referrer == gone })
		if len(stale) != 1 || stale[0].Status != "ignored" || !strings.Contains(stale[0].Error, "stale referrers index entry") {
			t.Fatalf("report:\n%s", rep)
		}
		e.verify(1, "--key", "cosign.pub", "--key", "other.pub", "--require-all", img)
	})
}

// toto → cosign: cosign v3 and v2 verify the signatures and
// attestations toto image sign/attest writes (v2 needs a trusted root for
// bundles; an empty one suffices with a key). And toto reads cosign v2's
// bundles and tags side by side with toto's own.
func TestTotoToCosign(t *testing.T) {
	e := newEnv(t)
	e.totoKey("toto")
	ref := e.push("toto-signed")
	e.wantCode(e.toto("image", "sign", "--key", "toto.key", ref), 0)
	e.wantCode(e.toto("image", "attest", "--key", "toto.key", "--predicate-type", "https://spdx.dev/Document", "--predicate", e.write("spdx.json", spdxDoc), ref), 0)
	tr := e.write("empty_trusted_root.json", `{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`)
	for _, version := range cosignVersions {
		t.Run(version, func(t *testing.T) {
			e.t = t
			verify := append([]string{"verify", "--key", "toto.pub", "--insecure-ignore-tlog"}, registryFlags(version)...)
			att := append([]string{"verify-attestation", "--key", "toto.pub", "--insecure-ignore-tlog", "--type", "spdxjson"}, registryFlags(version)...)
			if version == oracle.CosignV2 {
				verify = append(verify, "--trusted-root", tr)
				att = append(att, "--trusted-root", tr)
			}
			out := e.cosign(version, append(verify, ref)...).Stdout
			if !strings.Contains(out, digestOf(ref)) {
				t.Errorf("cosign verify output: %s", out)
			}
			out = e.cosign(version, append(att, ref)...).Stdout
			var env struct{ Payload string }
			if err := json.Unmarshal([]byte(strings.SplitN(strings.TrimSpace(out), "\n", 2)[0]), &env); err != nil {
				t.Fatalf("cosign verify-attestation output: %v\n%s", err, out)
			}
			raw, _ := base64.StdEncoding.DecodeString(env.Payload)
			if !strings.Contains(string(raw), `"predicateType":"https://spdx.dev/Document"`) {
				t.Errorf("attestation payload: %s", raw)
			}
			// Negative: cosign with another key refuses toto's signature.
			bad := append([]string{"verify", "--key", "other.pub", "--insecure-ignore-tlog"}, registryFlags(version)...)
			if version == oracle.CosignV2 {
				bad = append(bad, "--trusted-root", tr)
			}
			if r := oracle.Run(t, e.dir, nil, oracle.Tool(t, version), append(bad, ref)...); r.Err == nil {
				t.Errorf("cosign %s verified toto's signature with another key", version)
			}
		})
	}
	// Mixed: cosign v2 .sig beside toto's bundle, both read.
	e.t = t
	e.sign(oracle.CosignV2, "cosign.key", ref)
	rep := e.verify(0, "--key", "cosign.pub", "--key", "toto.pub", "--require-all", ref)
	if rep.Signatures != 2 || rep.Attestations != 1 {
		t.Fatalf("report:\n%s", rep)
	}
}
