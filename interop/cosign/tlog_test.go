//go:build interop

package cosign

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/toto-dev/toto/bundle"
	"github.com/toto-dev/toto/internal/oracle"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/timestamp"
	"github.com/toto-dev/toto/transparency"
)

// Transparency log and timestamps with the real servers (issue 14 item 9):
// a Rekor v2 log (rekor-tiles' POSIX server, tiles served from its folder)
// and sigstore's RFC 3161 timestamp-server, both on 127.0.0.1. toto's
// logged and timestamped bundles verify in cosign v3 without
// --insecure-ignore-tlog; cosign v3's, made with a signing config naming
// the same servers, verify in toto with the log and timestamp required;
// tampered proofs, checkpoints by another key and timestamps outside the
// certificate's validity are refused with their reason.

// tlogEnv is an env with a running log and TSA and a trusted root
// (trusted_root.json) and signing config (signing_config.json) for them.
type tlogEnv struct {
	*env
	rekor    *oracle.Rekor
	tsa      *oracle.TSA
	tsaChain []*x509.Certificate
}

func newTlogEnv(t *testing.T) *tlogEnv {
	t.Helper()
	e := &tlogEnv{env: newEnv(t), rekor: oracle.RekorV2(t), tsa: oracle.TimestampAuthority(t)}
	chain, err := timestamp.FetchCertChain(context.Background(), nil, e.tsa.CertChainURL)
	if err != nil {
		t.Fatal(err)
	}
	e.tsaChain = chain
	e.trustedRoot("trusted_root.json", e.rekor.PublicKey, nil, true)
	sc, err := root.NewSigningConfig(root.SigningConfigMediaType02, nil, nil,
		[]root.Service{{URL: e.rekor.URL, MajorAPIVersion: 2, ValidityPeriodStart: time.Now().Add(-time.Hour), Operator: "toto-interop"}},
		root.ServiceConfiguration{Selector: 1 /* ANY */},
		[]root.Service{{URL: e.tsa.URL, MajorAPIVersion: 1, ValidityPeriodStart: time.Now().Add(-time.Hour), Operator: "toto-interop"}},
		root.ServiceConfiguration{Selector: 1 /* ANY */})
	if err != nil {
		t.Fatal(err)
	}
	scJSON, err := sc.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	e.write("signing_config.json", string(scJSON))
	return e
}

// trustedRoot writes a trusted root listing the log at e.rekor.URL with
// logKey, the certificate authorities cas, and the TSA when withTSA.
func (e *tlogEnv) trustedRoot(name string, logKey ed25519.PublicKey, cas []root.CertificateAuthority, withTSA bool) string {
	e.t.Helper()
	tl, err := transparency.TrustedLog(e.rekor.URL, logKey, time.Now().Add(-time.Hour))
	if err != nil {
		e.t.Fatal(err)
	}
	return e.writeRoot(name, map[string]*root.TransparencyLog{hex.EncodeToString(tl.ID): tl}, cas, withTSA)
}

func (e *tlogEnv) writeRoot(name string, logs map[string]*root.TransparencyLog, cas []root.CertificateAuthority, withTSA bool) string {
	e.t.Helper()
	var tsas []root.TimestampingAuthority
	if withTSA {
		ta, err := timestamp.TrustedAuthority(e.tsa.URL, e.tsaChain)
		if err != nil {
			e.t.Fatal(err)
		}
		tsas = append(tsas, ta)
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, cas, nil, tsas, logs)
	if err != nil {
		e.t.Fatal(err)
	}
	raw, err := tr.MarshalJSON()
	if err != nil {
		e.t.Fatal(err)
	}
	return e.write(name, string(raw))
}

const tlogPredicateType = "https://example.com/toto-interop/v1"

// blobStatement writes blob.txt and a statement about it.
func (e *tlogEnv) blobStatement() (blob, stmt string) {
	blob = e.write("blob.txt", "logged and timestamped\n")
	sum := sha256.Sum256([]byte("logged and timestamped\n"))
	st := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"blob.txt","digest":{"sha256":"` + hex.EncodeToString(sum[:]) + `"}}],"predicateType":"` + tlogPredicateType + `","predicate":{"built":true}}`
	return blob, e.write("statement.json", st)
}

// TestTlogTotoToCosign: toto bundle create and toto image sign/attest with
// --rekor-url and --tsa-url; toto verifies with both required, cosign v3
// verifies with --trusted-root and without --insecure-ignore-tlog.
func TestTlogTotoToCosign(t *testing.T) {
	e := newTlogEnv(t)
	e.totoKey("toto")
	blob, stmt := e.blobStatement()
	logFlags := []string{"--rekor-url", e.rekor.URL, "--tsa-url", e.tsa.URL}

	e.wantCode(e.toto(append([]string{"bundle", "create", "--key", "toto.key", "--statement", stmt, "-o", "toto.sigstore.json"}, logFlags...)...), 0)
	var b struct {
		VerificationMaterial struct {
			TlogEntries []struct {
				KindVersion    struct{ Version string }
				InclusionProof struct {
					Checkpoint struct{ Envelope string }
				}
			}
			TimestampVerificationData struct{ Rfc3161Timestamps []json.RawMessage }
		}
	}
	raw, _ := os.ReadFile(e.path("toto.sigstore.json"))
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	vm := b.VerificationMaterial
	if len(vm.TlogEntries) != 1 || vm.TlogEntries[0].KindVersion.Version != "0.0.2" ||
		!strings.HasPrefix(vm.TlogEntries[0].InclusionProof.Checkpoint.Envelope, "127.0.0.1\n") ||
		len(vm.TimestampVerificationData.Rfc3161Timestamps) != 1 {
		t.Fatalf("bundle lacks the Rekor v2 entry, checkpoint (origin 127.0.0.1) or timestamp:\n%s", raw)
	}

	verify := []string{"bundle", "verify", "--json", "--bundle", "toto.sigstore.json", "--key", "toto.pub", "--trusted-root", "trusted_root.json", "--require-tlog", "--require-timestamp", "--artifact", blob}
	r := e.toto(verify...)
	e.wantCode(r, 0, verify...)
	if !strings.Contains(r.Stdout, `"tlogEntries": 1`) || !strings.Contains(r.Stdout, "TimestampAuthority") {
		t.Errorf("toto bundle verify: %s", r.Stdout)
	}
	e.cosign(oracle.CosignV3, "verify-blob-attestation", "--key", "toto.pub", "--bundle", "toto.sigstore.json",
		"--trusted-root", "trusted_root.json", "--type", tlogPredicateType, blob)

	// The same bundle in a trusted root without the log: cosign and toto
	// refuse it (so cosign did check the entry).
	e.trustedRoot("other_log_root.json", otherLogKey(t), nil, true)
	if res := oracle.Run(t, e.dir, nil, oracle.Tool(t, oracle.CosignV3), "verify-blob-attestation", "--key", "toto.pub", "--bundle", "toto.sigstore.json",
		"--trusted-root", "other_log_root.json", "--type", tlogPredicateType, blob); res.Err == nil {
		t.Errorf("cosign v3 verified a bundle whose log is not in the trusted root:\n%s", res.Stderr)
	}

	// Images: the referrer bundles carry the entry and timestamp.
	ref := e.push("tlog-signed")
	e.wantCode(e.toto(append([]string{"image", "sign", "--key", "toto.key", ref}, logFlags...)...), 0)
	e.wantCode(e.toto(append([]string{"image", "attest", "--key", "toto.key", "--predicate-type", "https://spdx.dev/Document", "--predicate", e.write("spdx.json", spdxDoc), ref}, logFlags...)...), 0)
	out := e.cosign(oracle.CosignV3, append(append([]string{"verify", "--key", "toto.pub", "--trusted-root", "trusted_root.json"}, registryFlags(oracle.CosignV3)...), ref)...).Stdout
	if !strings.Contains(out, digestOf(ref)) {
		t.Errorf("cosign verify output: %s", out)
	}
	e.cosign(oracle.CosignV3, append(append([]string{"verify-attestation", "--key", "toto.pub", "--trusted-root", "trusted_root.json", "--type", "spdxjson"}, registryFlags(oracle.CosignV3)...), ref)...)
	if res := oracle.Run(t, e.dir, nil, oracle.Tool(t, oracle.CosignV3), append(append([]string{"verify", "--key", "toto.pub", "--trusted-root", "other_log_root.json"}, registryFlags(oracle.CosignV3)...), ref)...); res.Err == nil {
		t.Errorf("cosign v3 verified an image signature whose log is not in the trusted root")
	}
}

// TestTlogCosignToToto: cosign v3 sign-blob and attest-blob with a signing
// config naming the local log and TSA; toto verifies the bundles with
// the log and a timestamp required.
func TestTlogCosignToToto(t *testing.T) {
	e := newTlogEnv(t)
	blob, _ := e.blobStatement()
	e.cosign(oracle.CosignV3, "sign-blob", "--key", "cosign.key", "--signing-config", "signing_config.json",
		"--trusted-root", "trusted_root.json", "--bundle", "cosign.sigstore.json", "-y", blob)
	pred := e.write("predicate.json", `{"built":true}`)
	e.cosign(oracle.CosignV3, "attest-blob", "--key", "cosign.key", "--signing-config", "signing_config.json",
		"--trusted-root", "trusted_root.json", "--type", tlogPredicateType, "--predicate", pred, "--bundle", "cosign-att.sigstore.json", "-y", blob)
	for _, name := range []string{"cosign.sigstore.json", "cosign-att.sigstore.json"} {
		args := []string{"bundle", "verify", "--json", "--bundle", name, "--key", "cosign.pub", "--trusted-root", "trusted_root.json", "--require-tlog", "--require-timestamp", "--artifact", blob}
		r := e.toto(args...)
		e.wantCode(r, 0, args...)
		if !strings.Contains(r.Stdout, `"tlogEntries": 1`) {
			t.Errorf("%s: %s", name, r.Stdout)
		}
		// Another log key in the trusted root: refused, with the reason.
		e.trustedRoot("other_log_root.json", otherLogKey(t), nil, true)
		args = []string{"bundle", "verify", "--bundle", name, "--key", "cosign.pub", "--trusted-root", "other_log_root.json", "--require-tlog", "--artifact", blob}
		r = e.toto(args...)
		e.wantCode(r, 1, args...)
		if !strings.Contains(r.Stderr, "not one it lists") {
			t.Errorf("%s with another log key: %s", name, r.Stderr)
		}
	}
	// A bundle cosign made without a log: --require-tlog refuses it.
	e.cosign(oracle.CosignV3, "sign-blob", "--key", "cosign.key", "--use-signing-config=false", "--tlog-upload=false", "--bundle", "nolog.sigstore.json", "-y", blob)
	args := []string{"bundle", "verify", "--bundle", "nolog.sigstore.json", "--key", "cosign.pub", "--trusted-root", "trusted_root.json", "--require-tlog", "--artifact", blob}
	r := e.toto(args...)
	e.wantCode(r, 1, args...)
	if !strings.Contains(r.Stderr, "no transparency-log entry") {
		t.Errorf("unlogged bundle: %s", r.Stderr)
	}
}

func otherLogKey(t *testing.T) ed25519.PublicKey {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// testCA is a certificate authority made with Go's x509, standing in for
// Fulcio: it issues short-lived code-signing certificates with an e-mail
// identity and Fulcio's OIDC-issuer extension.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

const (
	testIdentity = "builder@example.com"
	testIssuer   = "https://issuer.example.com"
)

func newTestCA(t *testing.T) *testCA {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "toto interop test CA"},
		NotBefore:             time.Now().Add(-24 * time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key}
}

func (ca *testCA) authority() root.CertificateAuthority {
	return &root.FulcioCertificateAuthority{Root: ca.cert, ValidityPeriodStart: ca.cert.NotBefore, URI: "https://ca.example.com"}
}

// issue returns a signing key and its certificate, valid in [from, to].
func (ca *testCA) issue(t *testing.T, from, to time.Time) (*keys.Key, []byte) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := asn1.MarshalWithParams(testIssuer, "utf8")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:   big.NewInt(time.Now().UnixNano()),
		NotBefore:      from,
		NotAfter:       to,
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		EmailAddresses: []string{testIdentity},
		// Fulcio's OIDC issuer (v2) extension.
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}, Value: issuer}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &priv.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	k, err := keys.FromSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	return k, der
}

// TestTlogTamper: bundles logged in the real log and timestamped by the
// real TSA, made through the library, then verified as found and with one
// thing wrong each; each wrong one is refused with its reason.
func TestTlogTamper(t *testing.T) {
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
	key, err := keys.Generate(keys.ECDSA, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("artifact"))
	digest := "sha256:" + hex.EncodeToString(sum[:])
	stmt := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` + hex.EncodeToString(sum[:]) + `"}}],"predicateType":"` + tlogPredicateType + `","predicate":{}}`)
	create := func(k *keys.Key, o bundle.CreateOptions) []byte {
		t.Helper()
		b, err := bundle.CreateWith(ctx, k, "", stmt, o)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	logged := bundle.CreateOptions{Log: log, Timestamps: tsa}
	// A few entries first, so that inclusion proofs have hashes.
	for range 3 {
		create(key, bundle.CreateOptions{Log: log})
	}
	good := create(key, logged)
	unlogged := create(key, bundle.CreateOptions{Timestamps: tsa})

	ca := newTestCA(t)
	now := time.Now()
	certKey, cert := ca.issue(t, now.Add(-time.Hour), now.Add(time.Hour))
	keyless := create(certKey, bundle.CreateOptions{Log: log, Timestamps: tsa, Certificate: cert})
	oldKey, oldCert := ca.issue(t, now.Add(-3*time.Hour), now.Add(-2*time.Hour))
	expired := create(oldKey, bundle.CreateOptions{Log: log, Timestamps: tsa, Certificate: oldCert})

	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	trustedRoot := read(e.path("trusted_root.json"))
	withCA := read(e.trustedRoot("ca_root.json", e.rekor.PublicKey, []root.CertificateAuthority{ca.authority()}, true))
	otherKeyRoot := read(e.trustedRoot("other_key_root.json", otherLogKey(t), nil, true))
	// The log's own id, but another key: the checkpoint signature fails.
	tl, err := transparency.TrustedLog(e.rekor.URL, e.rekor.PublicKey, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tl.PublicKey = otherLogKey(t)
	sameIDRoot := read(e.writeRoot("same_id_root.json", map[string]*root.TransparencyLog{hex.EncodeToString(tl.ID): tl}, nil, true))
	noTSARoot := read(e.trustedRoot("no_tsa_root.json", e.rekor.PublicKey, nil, false))

	keyed := bundle.Policy{Keys: []*keys.Key{key.Public()}, ArtifactDigest: digest, RequireTlog: true, RequireTimestamp: true}
	certPolicy := bundle.Policy{Identity: testIdentity, Issuer: testIssuer, ArtifactDigest: digest, RequireTlog: true, RequireTimestamp: true}
	tests := []struct {
		name    string
		bundle  []byte
		root    []byte
		policy  bundle.Policy
		wantErr error  // nil: verifies
		reason  string // in the error message
	}{
		{"keyed logged and timestamped", good, trustedRoot, keyed, nil, ""},
		{"keyless, certificate valid at the timestamp", keyless, withCA, certPolicy, nil, ""},
		{"checkpoint key not in the trusted root", good, otherKeyRoot, keyed, bundle.ErrTransparencyLog, "not one it lists"},
		{"checkpoint signed by another key than the trusted root's", good, sameIDRoot, keyed, bundle.ErrTransparencyLog, "verifying log entry"},
		{"altered inclusion proof", edit(t, good, alterProof), trustedRoot, keyed, bundle.ErrTransparencyLog, "verifying log entry"},
		{"altered checkpoint tree size", edit(t, good, alterCheckpoint), trustedRoot, keyed, bundle.ErrTransparencyLog, "tree size"},
		{"altered checkpoint signature", edit(t, good, alterCheckpointSig), trustedRoot, keyed, bundle.ErrTransparencyLog, "verifying log entry"},
		{"altered root hash", edit(t, good, alterRootHash), trustedRoot, keyed, bundle.ErrTransparencyLog, "root hash is not the checkpoint's"},
		{"log required, none", unlogged, trustedRoot, keyed, bundle.ErrTransparencyLog, "no transparency-log entry"},
		{"timestamp by a TSA not in the trusted root", good, noTSARoot, keyed, bundle.ErrTimestamp, "timestamp"},
		{"timestamp outside the certificate's validity", expired, withCA, certPolicy, bundle.ErrCertificate, "at the time the timestamp authority or log proves"},
		{"certificate by a CA not in the trusted root", keyless, trustedRoot, certPolicy, bundle.ErrCertificate, "certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bundle.Verify(ctx, tc.bundle, tc.root, tc.policy)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, bundle.ErrVerification) || !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("Verify = %v, want %v with %q", err, tc.wantErr, tc.reason)
			}
			t.Logf("refused: %v", err)
		})
	}

	// cosign v3 agrees on the keyless bundle and on the expired one.
	e.write("keyless.sigstore.json", string(keyless))
	e.write("expired.sigstore.json", string(expired))
	e.write("artifact", "artifact")
	cosignArgs := func(b string) []string {
		return []string{"verify-blob-attestation", "--bundle", b, "--trusted-root", "ca_root.json",
			"--certificate-identity", testIdentity, "--certificate-oidc-issuer", testIssuer,
			// The test CA has no CT log, so its certificates carry no SCT.
			"--insecure-ignore-sct", "--type", tlogPredicateType, "artifact"}
	}
	e.cosign(oracle.CosignV3, cosignArgs("keyless.sigstore.json")...)
	if res := oracle.Run(t, e.dir, nil, oracle.Tool(t, oracle.CosignV3), cosignArgs("expired.sigstore.json")...); res.Err == nil {
		t.Errorf("cosign v3 verified a certificate that expired before its timestamp")
	}

	// Keys that Rekor v2 cannot record are refused before signing.
	ed, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bundle.CreateWith(ctx, ed, "", stmt, logged); !errors.Is(err, bundle.ErrUnloggable) {
		t.Errorf("Ed25519 key with a log: %v, want ErrUnloggable", err)
	}
}

// edit rewrites a bundle's JSON.
func edit(t *testing.T, b []byte, f func(vm map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m["verificationMaterial"].(map[string]any))
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func inclusionProof(vm map[string]any) map[string]any {
	return vm["tlogEntries"].([]any)[0].(map[string]any)["inclusionProof"].(map[string]any)
}

// flipB64 changes one byte of a base64 value.
func flipB64(s string) string {
	r := []byte(s)
	if r[0] == 'A' {
		r[0] = 'B'
	} else {
		r[0] = 'A'
	}
	return string(r)
}

func alterProof(vm map[string]any) {
	p := inclusionProof(vm)
	hashes := p["hashes"].([]any)
	hashes[0] = flipB64(hashes[0].(string))
}

func alterRootHash(vm map[string]any) {
	p := inclusionProof(vm)
	p["rootHash"] = flipB64(p["rootHash"].(string))
}

func alterCheckpoint(vm map[string]any) {
	cp := inclusionProof(vm)["checkpoint"].(map[string]any)
	env := cp["envelope"].(string)
	lines := strings.SplitN(env, "\n", 3)
	// The tree size, one more: the note's signature no longer covers it.
	n := new(big.Int)
	n.SetString(lines[1], 10)
	lines[1] = n.Add(n, big.NewInt(1)).String()
	cp["envelope"] = strings.Join(lines, "\n")
}

func alterCheckpointSig(vm map[string]any) {
	cp := inclusionProof(vm)["checkpoint"].(map[string]any)
	lines := strings.Split(cp["envelope"].(string), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "— ") {
			// Past the name and the 4-byte key hash: the signature.
			sig := []byte(l)
			at := len(sig) - 10
			if sig[at] == 'A' {
				sig[at] = 'B'
			} else {
				sig[at] = 'A'
			}
			lines[i] = string(sig)
		}
	}
	cp["envelope"] = strings.Join(lines, "\n")
}
