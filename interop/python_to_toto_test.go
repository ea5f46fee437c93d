package interop

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
)

// Every file the Python module signed (links and a multi-signed layout, as
// Metablocks and as DSSE, with every key kind securesystemslib 0.26 makes)
// parses and verifies in toto, with the keyid Python computed.
func TestPythonModuleSignedVerifiesInToto(t *testing.T) {
	f := pythonFixture(t)
	if len(f.Manifest.Entries) == 0 {
		t.Fatal("py_make.py reported no files")
	}
	stranger := strangerKey(t)
	seen := map[string]bool{}
	for _, e := range f.Manifest.Entries {
		for _, k := range e.Keys {
			seen[k.Scheme] = true
		}
		t.Run(filepath.Base(e.File), func(t *testing.T) {
			checkPythonSigned(t, e, stranger)
		})
	}
	// The module can sign with these; a file per scheme must have been
	// checked above.
	for _, s := range []string{keys.SchemeEd25519, keys.SchemeECDSAP256, keys.SchemeRSAPSS, keys.SchemeRSAPKCS1v15} {
		if !seen[s] {
			t.Errorf("no Python-signed file uses scheme %s", s)
		}
	}
	for scheme, why := range f.Manifest.Unsupported {
		t.Logf("securesystemslib 0.26 cannot sign with %s (%s); covered in the toto → Python direction only", scheme, why)
	}
}

// Links written by in-toto-run with each in-toto-keygen key verify in toto,
// are named with the keyid toto computes, and record what in-toto-run saw.
func TestPythonCLILinksVerifyInToto(t *testing.T) {
	f := pythonFixture(t)
	want := sha256.Sum256(readFile(t, filepath.Join(f.Dir, f.Artifact)))
	for _, kt := range cliKeyTypes {
		t.Run(kt.name, func(t *testing.T) {
			ref := f.cliKeyRef(t, kt.name)
			path := f.CLILinks[kt.name]
			checkPythonSigned(t, pyEntry{File: path, Kind: "link", Format: "metablock", Keys: []pyKeyRef{ref}}, strangerKey(t))

			l, err := link.Parse(parseEnvelopeFile(t, path).Payload())
			if err != nil {
				t.Fatal(err)
			}
			if got := l.Materials[f.Artifact]["sha256"]; got != hex.EncodeToString(want[:]) {
				t.Errorf("material %s: sha256 %q, want %x", f.Artifact, got, want)
			}
			product := "out-" + kt.name + ".txt"
			if got := l.Products[product]["sha256"]; got != hex.EncodeToString(want[:]) {
				t.Errorf("product %s: sha256 %q, want %x", product, got, want)
			}
			if got := l.ByProducts[link.ByProductStdout]; got != "copied\n" {
				t.Errorf("byproducts.stdout = %q, want %q", got, "copied\n")
			}
			if rv, _ := l.ByProducts[link.ByProductReturnValue].(interface{ String() string }); rv == nil || rv.String() != "0" {
				t.Errorf("byproducts.return-value = %v, want 0", l.ByProducts[link.ByProductReturnValue])
			}
			if strings.Join(l.Command, " ") != "sh -c cp src/hello.txt "+product+" && echo copied" {
				t.Errorf("command = %q", l.Command)
			}
		})
	}
}

// A layout in-toto-sign signed with all three in-toto-keygen keys verifies
// in toto with each of them.
func TestPythonCLISignedLayoutVerifiesInToto(t *testing.T) {
	f := pythonFixture(t)
	var refs []pyKeyRef
	for _, kt := range cliKeyTypes {
		refs = append(refs, f.cliKeyRef(t, kt.name))
	}
	checkPythonSigned(t, pyEntry{File: f.CLILayout, Kind: "layout", Format: "metablock", Keys: refs}, strangerKey(t))
}

// The private key files in-toto-keygen writes load in toto as private keys
// whose primary keyid is the one Python wrote in them, so what toto signs
// with them carries the keyid Python expects: in-toto-sign --verify accepts
// a link toto signed with each.
func TestPythonPrivateKeyFilesKeyID(t *testing.T) {
	f := pythonFixture(t)
	dir := t.TempDir()
	type cliCheck struct{ name, link, pub, typ string }
	var checks []cliCheck
	for _, kt := range cliKeyTypes {
		ref := f.cliKeyRef(t, kt.name)
		priv := loadKey(t, ref.Priv)
		step := "toto-with-python-" + kt.name
		path := filepath.Join(dir, linkFileName(step, priv))
		signPayload(t, path, envelope.Metablock, marshal(t, sampleLink(step)), priv)
		checks = append(checks, cliCheck{kt.name, path, ref.Pub, kt.typ})
	}
	results := make([]execResult, len(checks))
	if err := runAll(func(i int) error {
		var err error
		results[i], err = execIn(dir, inTotoSign, "--verify", "-f", checks[i].link, "-k", checks[i].pub, "-t", checks[i].typ)
		return err
	}, len(checks)); err != nil {
		t.Fatal(err)
	}
	for i, c := range checks {
		if results[i].Code != 0 {
			t.Errorf("%s: in-toto-sign --verify rejects a link toto signed with Python's key: exit %d\n%s", c.name, results[i].Code, results[i].output())
		}
	}
	for _, kt := range cliKeyTypes {
		t.Run(kt.name, func(t *testing.T) {
			ref := f.cliKeyRef(t, kt.name)
			priv := loadKey(t, ref.Priv)
			if !priv.IsPrivate() {
				t.Fatalf("%s loaded without its private part", ref.Priv)
			}
			if !priv.HasID(ref.KeyID) {
				t.Fatalf("toto does not recognise keyid %s for %s (its ids: %v)", ref.KeyID, ref.Priv, priv.IDs())
			}
			if priv.ID() != ref.KeyID {
				t.Errorf("keys.Load(%s).ID() = %s, but Python's keyid is %s: toto would sign with a keyid Python cannot find", filepath.Base(ref.Priv), priv.ID(), ref.KeyID)
			}
			if pub := loadKey(t, ref.Pub); pub.ID() != priv.ID() {
				t.Errorf("private key file keyid %s != public key file keyid %s", priv.ID(), pub.ID())
			}
		})
	}
}

// Keys Python embeds in layouts keep the keyid Python gave them: toto's
// ID() of each equals its keyid in the layout's "keys" map, so a toto
// verifier or re-signer names the key the way the layout does.
func TestPythonLayoutEmbeddedKeyIDs(t *testing.T) {
	f := pythonFixture(t)
	files := []string{f.CLILayout}
	for _, e := range f.Manifest.Entries {
		if e.Kind == "layout" {
			files = append(files, e.File)
		}
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			l, err := layout.Parse(parseEnvelopeFile(t, file).Payload())
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Keys) == 0 {
				t.Fatal("layout has no keys")
			}
			for id, k := range l.Keys {
				if k.ID() != id {
					t.Errorf("%s key listed as %s: toto's ID() is %s (keyid_hash_algorithms %v); Python computes every keyid with [sha256 sha512] even when the key object omits them", k.Type, short(id), short(k.ID()), k.KeyIDHashAlgorithms)
				}
			}
		})
	}
}

// checkPythonSigned verifies one Python-signed file in toto, and checks
// that forgeries and strangers' keys do not verify.
func checkPythonSigned(t *testing.T, e pyEntry, stranger *keys.Key) {
	t.Helper()
	env := parseEnvelopeFile(t, e.File)
	if env.Format.String() != e.Format {
		t.Fatalf("envelope format %s, want %s", env.Format, e.Format)
	}
	var linkName string
	switch e.Kind {
	case "link":
		l, err := link.Parse(env.Payload())
		if err != nil {
			t.Fatalf("link.Parse: %v", err)
		}
		linkName = l.Name
	case "layout":
		l, err := layout.Parse(env.Payload())
		if err != nil {
			t.Fatalf("layout.Parse: %v", err)
		}
		for _, ref := range e.Keys {
			// The exact keyid is TestPythonLayoutEmbeddedKeyIDs' business.
			if k, ok := l.Keys[ref.KeyID]; !ok || !k.HasID(ref.KeyID) {
				t.Errorf("layout.Keys has no key %s (%s)", short(ref.KeyID), ref.Name)
			}
		}
	default:
		t.Fatalf("unknown kind %q", e.Kind)
	}

	forged := resign(t, env, tamperPayload(t, env.Payload(), `"name"`, `"nome"`))
	for _, ref := range e.Keys {
		pub := loadKey(t, ref.Pub)
		if pub.Type != ref.KeyType || pub.Scheme != ref.Scheme {
			t.Errorf("%s: toto reads %s/%s, Python wrote %s/%s", ref.Name, pub.Type, pub.Scheme, ref.KeyType, ref.Scheme)
		}
		if pub.ID() != ref.KeyID {
			t.Errorf("%s: toto keyid %s, Python keyid %s", ref.Name, pub.ID(), ref.KeyID)
		}
		if err := env.Verify(pub); err != nil {
			t.Errorf("%s (%s): toto rejects Python's signature: %v", ref.Name, ref.Scheme, err)
		}
		if err := forged.Verify(pub); !errors.Is(err, envelope.ErrBadSignature) {
			t.Errorf("%s: tampered payload: got %v, want ErrBadSignature", ref.Name, err)
		}
	}
	if err := env.Verify(stranger); !errors.Is(err, envelope.ErrNoSignature) {
		t.Errorf("a key that did not sign: got %v, want ErrNoSignature", err)
	}
	if e.Kind == "link" {
		// in-toto's file name convention: <step>.<keyid[:8]>.link.
		ref := e.Keys[0]
		if want := linkName + "." + ref.KeyID[:8] + ".link"; filepath.Base(e.File) != want {
			t.Errorf("file %s, want %s", filepath.Base(e.File), want)
		}
		if got := loadKey(t, ref.Pub).ID(); !strings.Contains(filepath.Base(e.File), "."+got[:8]+".") {
			t.Errorf("file %s does not carry toto's keyid prefix %s", filepath.Base(e.File), got[:8])
		}
		if ids := env.SignerIDs(); len(ids) != 1 || ids[0] != ref.KeyID {
			t.Errorf("signature keyids %v, want [%s]", ids, ref.KeyID)
		}
	}
}

// strangerKey is a key that signed nothing.
func strangerKey(t testing.TB) *keys.Key {
	t.Helper()
	k, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return k.Public()
}
