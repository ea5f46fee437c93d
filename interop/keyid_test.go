package interop

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	intoto "github.com/in-toto/in-toto-golang/in_toto"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/secure-systems-lab/go-securesystemslib/signerverifier"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
)

// withoutHashAlgorithms returns the securesystemslib JSON of k (private
// when private is set) without its keyid_hash_algorithms member, the form
// newer securesystemslib versions write.
func withoutHashAlgorithms(t testing.TB, k *keys.Key, private bool) []byte {
	t.Helper()
	var b []byte
	var err error
	if private {
		b, err = k.MarshalPrivateJSON()
	} else {
		b, err = json.Marshal(k.Public())
	}
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["keyid_hash_algorithms"]; !ok {
		t.Fatal("toto key JSON has no keyid_hash_algorithms to remove")
	}
	delete(m, "keyid_hash_algorithms")
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// in-toto-golang, given no keyid_hash_algorithms (LoadKey(path, scheme,
// nil)), computes the keyid over `"keyid_hash_algorithms":null`. A link it
// signs that way must still verify in toto with the same key, which means
// toto must recognise that keyid as one of the key's.
func TestGolangKeyIDWithoutHashAlgorithms(t *testing.T) {
	dir := t.TempDir()
	ks := generateKeys(t)
	writePEMKeys(t, dir, ks)
	for _, k := range ks {
		t.Run(k.name, func(t *testing.T) {
			var gk intoto.Key
			if err := gk.LoadKey(filepath.Join(dir, k.name+".pem"), k.scheme, nil); err != nil {
				t.Fatalf("in-toto-golang LoadKey without keyid_hash_algorithms: %v", err)
			}
			pub := loadKey(t, filepath.Join(dir, k.name+".pub.pem"))
			if !pub.HasID(gk.KeyID) {
				t.Errorf("toto does not recognise in-toto-golang's keyid %s (computed with keyid_hash_algorithms null); toto's ids: %v", short(gk.KeyID), pub.IDs())
			}
			path := filepath.Join(dir, "nullalgs-"+k.name+".link")
			goSign(t, path, envelope.Metablock, goLink("go-"+k.name), gk)
			if err := parseEnvelopeFile(t, path).Verify(pub); err != nil {
				t.Errorf("toto rejects in-toto-golang's link signed under keyid %s: %v", short(gk.KeyID), err)
			}
		})
	}
}

// go-securesystemslib (which in-toto-golang signs DSSE with) loads a
// securesystemslib JSON key that has no keyid_hash_algorithms — as newer
// Python securesystemslib writes them — and names its signatures with the
// keyid it computes for it. toto, given the same key file, must find those
// signatures.
func TestSSLibKeyIDWithoutHashAlgorithms(t *testing.T) {
	ks := generateKeys(t)
	for _, k := range ks {
		t.Run(k.name, func(t *testing.T) {
			sk, err := signerverifier.LoadKeyFromSSLibBytes(withoutHashAlgorithms(t, k.key, true))
			if err != nil {
				t.Fatalf("go-securesystemslib cannot load toto's key JSON: %v", err)
			}
			var signer dsse.SignerVerifier
			switch k.key.Type {
			case keys.Ed25519:
				signer, err = signerverifier.NewED25519SignerVerifierFromSSLibKey(sk)
			case keys.ECDSA:
				signer, err = signerverifier.NewECDSASignerVerifierFromSSLibKey(sk)
			case keys.RSA:
				signer, err = signerverifier.NewRSAPSSSignerVerifierFromSSLibKey(sk)
			}
			if err != nil {
				t.Fatal(err)
			}
			es, err := dsse.NewEnvelopeSigner(signer)
			if err != nil {
				t.Fatal(err)
			}
			env, err := es.SignPayload(context.Background(), envelope.PayloadTypeInToto, marshal(t, sampleLink("sslib-"+k.name)))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(env)
			if err != nil {
				t.Fatal(err)
			}
			e, err := envelope.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := keys.Parse(withoutHashAlgorithms(t, k.key, false))
			if err != nil {
				t.Fatal(err)
			}
			if !pub.HasID(sk.KeyID) {
				t.Errorf("toto does not recognise go-securesystemslib's keyid %s for the same key file; toto's ids: %v", short(sk.KeyID), pub.IDs())
			}
			if err := e.Verify(pub); err != nil {
				t.Errorf("toto rejects go-securesystemslib's DSSE signature: %v", err)
			}
		})
	}
}

// Python signs links with private keys toto generated and wrote — RSA as
// PKCS#8 and PKCS#1 PEM, ed25519 and ECDSA as securesystemslib JSON with and
// without keyid_hash_algorithms — and toto verifies them with the same keys,
// recognising the keyid Python put on each signature.
func TestPythonSignsWithTotoKeys(t *testing.T) {
	requirePython(t)
	t.Parallel()
	dir := t.TempDir()
	var ks []testKey
	for _, k := range generateKeys(t) {
		if k.scheme != keys.SchemeECDSAP384 { // securesystemslib 0.26 cannot sign P-384
			ks = append(ks, k)
		}
	}
	type variant struct {
		file, typ string
		key       *keys.Key
		withAlgs  bool
	}
	var vs []variant
	for _, k := range ks {
		switch k.key.Type {
		case keys.RSA:
			pkcs8, err := k.key.MarshalPEM(true)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, k.name+"-pkcs8"), pkcs8)
			writeFile(t, filepath.Join(dir, k.name+"-pkcs1"), toPKCS1(t, pkcs8))
			vs = append(vs, variant{k.name + "-pkcs8", "rsa", k.key, true}, variant{k.name + "-pkcs1", "rsa", k.key, true})
		default:
			priv, err := k.key.MarshalPrivateJSON()
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, k.name+"-algs"), priv)
			writeFile(t, filepath.Join(dir, k.name+"-noalgs"), withoutHashAlgorithms(t, k.key, true))
			vs = append(vs, variant{k.name + "-algs", pyKeyType(k.key), k.key, true}, variant{k.name + "-noalgs", pyKeyType(k.key), k.key, false})
		}
	}
	args := []string{mustAbs(t, filepath.Join("testdata", "py_sign.py")), dir}
	for _, v := range vs {
		args = append(args, filepath.Join(dir, v.file)+":"+v.typ)
	}
	out, err := execOK(dir, pythonBin, args...)
	if err != nil {
		t.Fatal(err)
	}
	var signed []struct{ Key, File, KeyID, Error string }
	if err := json.Unmarshal([]byte(out), &signed); err != nil || len(signed) != len(vs) {
		t.Fatalf("py_sign.py output (%v): %s", err, out)
	}
	for i, v := range vs {
		t.Run(v.file, func(t *testing.T) {
			s := signed[i]
			if s.Error != "" {
				t.Fatalf("Python cannot sign with toto's key file %s: %s", v.file, s.Error)
			}
			// Loaded from the very file Python signed with.
			k := loadKey(t, filepath.Join(dir, v.file))
			if !k.HasID(s.KeyID) {
				t.Errorf("Python signed as %s; toto's ids for %s: %v", short(s.KeyID), v.file, k.IDs())
			}
			if v.withAlgs && k.ID() != s.KeyID {
				t.Errorf("Python keyid %s, toto ID() %s", s.KeyID, k.ID())
			}
			e := parseEnvelopeFile(t, s.File)
			if err := e.Verify(k.Public()); err != nil {
				t.Errorf("toto rejects Python's signature with toto's own key: %v", err)
			}
			if err := e.Verify(v.key.Public()); err != nil {
				t.Errorf("toto rejects it with the generated key: %v", err)
			}
		})
	}
}

// RSA PKCS#1 v1.5: securesystemslib 0.26 signs with rsa-pkcs1v15-sha256
// when a key's scheme says so (the Python → toto half is
// TestPythonModuleSignedVerifiesInToto's rsa-pkcs1v15 files); here toto
// signs with such a key and Python verifies. in-toto-golang v0.11 supports
// only rsassa-pss-sha256 for RSA, so it is not asked.
func TestTotoRSAPKCS1v15VerifiesInPython(t *testing.T) {
	requirePython(t)
	t.Parallel()
	f := pythonFixture(t)
	var fromPython bool
	for _, e := range f.Manifest.Entries {
		for _, k := range e.Keys {
			fromPython = fromPython || k.Scheme == keys.SchemeRSAPKCS1v15
		}
	}
	if !fromPython {
		t.Error("the Python fixture signed nothing with rsa-pkcs1v15-sha256")
	}

	dir := t.TempDir()
	gen, err := keys.Generate(keys.RSA, keys.GenerateOptions{RSABits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	priv, err := gen.MarshalPrivateJSON()
	if err != nil {
		t.Fatal(err)
	}
	pkcs, err := keys.Parse([]byte(strings.Replace(string(priv), keys.SchemeRSAPSS, keys.SchemeRSAPKCS1v15, 1)))
	if err != nil {
		t.Fatalf("toto cannot read an rsa-pkcs1v15-sha256 key: %v", err)
	}
	if pkcs.Scheme != keys.SchemeRSAPKCS1v15 || !pkcs.IsPrivate() {
		t.Fatalf("read back %s, private %v", pkcs.Scheme, pkcs.IsPrivate())
	}
	pubJSON, err := json.Marshal(pkcs.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPath := filepath.Join(dir, "pkcs1v15.pub.json")
	writeFile(t, pubPath, pubJSON)

	var checks []pyCheck
	for _, format := range []envelope.Format{envelope.Metablock, envelope.DSSE} {
		path := filepath.Join(dir, format.String()+"-"+linkFileName("pkcs1v15", pkcs))
		e := signPayload(t, path, format, marshal(t, sampleLink("pkcs1v15")), pkcs)
		// A PKCS#1 v1.5 signature does not pass as PSS: the scheme is
		// really used.
		signed, err := e.SignedBytes()
		if err != nil {
			t.Fatal(err)
		}
		if err := gen.Public().Verify(signed, e.Signatures[0].Sig); !errors.Is(err, keys.ErrBadSignature) {
			t.Errorf("%s: PKCS#1 v1.5 signature checked as PSS: got %v, want ErrBadSignature", format, err)
		}
		if err := e.Verify(pkcs.Public()); err != nil {
			t.Errorf("%s: toto rejects its own PKCS#1 v1.5 signature: %v", format, err)
		}
		forged := filepath.Join(dir, "forged-"+filepath.Base(path))
		writeEnvelope(t, forged, resign(t, e, tamperPayload(t, e.Payload(), "/build", "/buiLd")))
		checks = append(checks,
			pyCheck{File: path, Format: format.String(), Pub: pubPath, Type: "sslib-json", want: true, wantID: pkcs.ID(), label: filepath.Base(path)},
			pyCheck{File: forged, Format: format.String(), Pub: pubPath, Type: "sslib-json", want: false, wantID: pkcs.ID(), label: filepath.Base(forged)})
	}
	for i, r := range runPyVerify(t, dir, checks) {
		c := checks[i]
		t.Run(c.label, func(t *testing.T) {
			if r.OK != c.want {
				t.Errorf("Python verdict %v, want %v (error: %s)", r.OK, c.want, r.Error)
			}
			if r.KeyID != c.wantID {
				t.Errorf("Python keyid %s, toto keyid %s", r.KeyID, c.wantID)
			}
		})
	}
}

// toPKCS1 re-encodes a PKCS#8 RSA private key PEM as PKCS#1
// ("RSA PRIVATE KEY"), the form in-toto-keygen writes.
func toPKCS1(t testing.TB, pkcs8PEM []byte) []byte {
	t.Helper()
	block, _ := pem.Decode(pkcs8PEM)
	if block == nil {
		t.Fatal("no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("not an RSA key: %T", k)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)})
}

func mustAbs(t testing.TB, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
