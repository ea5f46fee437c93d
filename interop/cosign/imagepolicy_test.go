//go:build interop

package cosign

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/toto-dev/toto/bundle"
	"github.com/toto-dev/toto/image"
	"github.com/toto-dev/toto/imagepolicy"
	"github.com/toto-dev/toto/internal/oracle"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/timestamp"
	"github.com/toto-dev/toto/transparency"
)

// TestImagePolicySigstoreOptions: the image policy's sigstore and
// predicate kinds with the keyless, log and timestamp options, against
// the real Rekor v2 log and RFC 3161 TSA and a real registry. A keyless
// signature (a certificate from a test CA standing in for Fulcio, logged
// and timestamped) passes the identity it names, exact or by regexp, and
// fails another identity or a trusted root without the CA; cosign v3's
// logged key signature and SPDX attestation pass requireTlog and
// requireTimestamp, and the attestation's content goes through Rego; an
// unlogged signature fails requireTlog.
func TestImagePolicySigstoreOptions(t *testing.T) {
	e := newTlogEnv(t)
	ctx := context.Background()
	log, err := transparency.NewRekor(transparency.Options{URL: e.rekor.URL})
	if err != nil {
		t.Fatal(err)
	}
	tsa, err := timestamp.New(timestamp.Options{URL: e.tsa.URL})
	if err != nil {
		t.Fatal(err)
	}
	ca := newTestCA(t)
	e.trustedRoot("ca_root.json", e.rekor.PublicKey, []root.CertificateAuthority{ca.authority()}, true)

	open := func(ref string) *image.Target {
		tg, err := image.Open(ctx, ref, image.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return tg
	}
	// A keyless signature through the library.
	keylessRef := e.push("policy-keyless")
	certKey, cert := ca.issue(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if _, err := image.Sign(ctx, open(keylessRef), certKey, image.SignOptions{Bundle: bundle.CreateOptions{Log: log, Timestamps: tsa, Certificate: cert}}); err != nil {
		t.Fatal(err)
	}
	// cosign v3's logged and timestamped key signature and attestation.
	cosignRef := e.push("policy-cosign")
	cosignLog := append([]string{"--key", "cosign.key", "--signing-config", "signing_config.json", "--trusted-root", "trusted_root.json", "-y"}, registryFlags(oracle.CosignV3)...)
	e.cosign(oracle.CosignV3, append(append([]string{"sign"}, cosignLog...), cosignRef)...)
	e.cosign(oracle.CosignV3, append(append([]string{"attest", "--type", "spdxjson", "--predicate", e.write("spdx.json", spdxDoc)}, cosignLog...), cosignRef)...)
	// An unlogged toto signature.
	plainRef := e.push("policy-plain")
	k, err := keys.Generate(keys.ECDSA, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := k.MarshalPEM(false)
	e.write("plain.pub", string(pub))
	if _, err := image.Sign(ctx, open(plainRef), k, image.SignOptions{}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, ref, require string
		reason             string // "" when allowed
	}{
		{"keyless: the identity and issuer", keylessRef,
			`{sigstore: {trustedRoot: ca_root.json, identity: ` + testIdentity + `, issuer: "` + testIssuer + `", requireTlog: true, requireTimestamp: true}}`, ""},
		{"keyless: by regular expressions", keylessRef,
			`{sigstore: {trustedRoot: ca_root.json, identityRegexp: '.*@example\.com', issuerRegexp: 'https://issuer\.example\.(com|org)'}}`, ""},
		{"keyless: another identity", keylessRef,
			`{sigstore: {trustedRoot: ca_root.json, identity: someone@example.com, issuer: "` + testIssuer + `"}}`, "no signature by a trusted key"},
		{"keyless: a trusted root without the CA", keylessRef,
			`{sigstore: {trustedRoot: trusted_root.json, identity: ` + testIdentity + `, issuer: "` + testIssuer + `"}}`, "no signature by a trusted key"},
		{"cosign v3: logged and timestamped", cosignRef,
			`{sigstore: {keys: [cosign.pub], predicateTypes: [spdxjson], trustedRoot: trusted_root.json, requireTlog: true, requireTimestamp: true}}`, ""},
		{"cosign v3: its SBOM through Rego", cosignRef,
			`{predicate: {keys: [cosign.pub], type: spdxjson, trustedRoot: trusted_root.json, requireTlog: true, rego: "package toto\nallow if count(deny) == 0\ndeny contains sprintf(\"%s is %s\", [p.name, p.licenseConcluded]) if { some p in input.predicate.packages; p.licenseConcluded == \"MIT\" }\n"}}`,
			"left-pad is MIT"},
		{"unlogged, log required", plainRef,
			`{sigstore: {keys: [plain.pub], trustedRoot: trusted_root.json, requireTlog: true}}`, "transparency-log entry"},
		{"unlogged, nothing required", plainRef,
			`{sigstore: {keys: [plain.pub], trustedRoot: trusted_root.json}}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(e.dir, "policy.yaml")
			doc := "rules:\n  - images: [\"*\"]\n    require: " + tc.require + "\n"
			if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			p, err := imagepolicy.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			d, err := p.Evaluate(ctx, tc.ref, open(tc.ref))
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed() != (tc.reason == "") {
				t.Fatalf("allowed %v: %v", d.Allowed(), d.Err())
			}
			if tc.reason != "" && !strings.Contains(d.Err().Error(), tc.reason) {
				t.Errorf("reason %q lacks %q", d.Err(), tc.reason)
			}
		})
	}
}
