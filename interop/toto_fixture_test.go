package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
)

// writeTotoKeys writes each key as the Python CLIs expect it: RSA as PEM
// (PKCS#8 private, SubjectPublicKeyInfo public), ed25519 and ECDSA as
// securesystemslib JSON. It returns the public key paths by key name.
func writeTotoKeys(t testing.TB, dir string, ks []testKey) map[string]string {
	t.Helper()
	pubs := map[string]string{}
	for _, k := range ks {
		var priv, pub []byte
		var err error
		if k.key.Type == keys.RSA {
			if priv, err = k.key.MarshalPEM(true); err == nil {
				pub, err = k.key.MarshalPEM(false)
			}
		} else {
			if priv, err = k.key.MarshalPrivateJSON(); err == nil {
				pub, err = json.Marshal(k.key.Public())
			}
		}
		if err != nil {
			t.Fatalf("%s: %v", k.name, err)
		}
		writeFile(t, filepath.Join(dir, k.name), priv)
		writeFile(t, filepath.Join(dir, k.name+".pub"), pub)
		pubs[k.name] = filepath.Join(dir, k.name+".pub")
	}
	return pubs
}

// writePEMKeys writes each key as PKCS#8 and SubjectPublicKeyInfo PEM, the
// forms in-toto-golang loads, as <name>.pem and <name>.pub.pem.
func writePEMKeys(t testing.TB, dir string, ks []testKey) {
	t.Helper()
	for _, k := range ks {
		priv, err := k.key.MarshalPEM(true)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := k.key.MarshalPEM(false)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, k.name+".pem"), priv)
		writeFile(t, filepath.Join(dir, k.name+".pub.pem"), pub)
	}
}

// pyKeyType is the --key-type the Python CLIs need for k.
func pyKeyType(k *keys.Key) string {
	if k.Type == keys.ECDSA {
		return "ecdsa"
	}
	return k.Type // "rsa" or "ed25519"
}

// sampleLink is a link with every field the references know filled in.
func sampleLink(name string) *link.Link {
	return &link.Link{
		Name:    name,
		Command: []string{"tar", "czf", "dist/a.tar.gz", "src"},
		Materials: link.Artifacts{
			"src/a.py": {"sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		},
		Products: link.Artifacts{
			"dist/a.tar.gz": {
				"sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
				"sha512": "f7fbba6e0636f890e56fbbf3283e524c6fa3204ae298382d624741d0dc6638326e282c41be5e4254d8820772c5518a2c5a8c0c7f7eda19594a7eb539453e1ed7",
			},
		},
		ByProducts:  map[string]any{"stdout": "made it\n", "stderr": "", "return-value": 0},
		Environment: map[string]any{"workdir": "/build"},
	}
}

func mustRules(t testing.TB, lists ...[]string) []layout.Rule {
	t.Helper()
	rules, err := layout.ParseRules(lists)
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

// sampleLayout is a layout naming every key in ks as a functionary of one
// step, with an inspection, expiring in a month.
func sampleLayout(t testing.TB, ks []testKey) *layout.Layout {
	t.Helper()
	l := &layout.Layout{
		Expires: time.Now().UTC().Add(30 * 24 * time.Hour).Truncate(time.Second),
		Readme:  "signed by toto for the interop suite",
	}
	var ids []string
	for _, k := range ks {
		ids = append(ids, l.AddKey(k.key))
	}
	l.Steps = []layout.Step{{
		Name:              "build",
		ExpectedMaterials: mustRules(t, []string{"ALLOW", "src/*"}, []string{"DISALLOW", "*"}),
		ExpectedProducts:  mustRules(t, []string{"CREATE", "dist/a.tar.gz"}, []string{"DISALLOW", "*"}),
		PubKeys:           ids,
		ExpectedCommand:   []string{"tar", "czf", "dist/a.tar.gz", "src"},
		Threshold:         1,
	}}
	l.Inspections = []layout.Inspection{{
		Name:              "untar",
		Run:               []string{"tar", "xzf", "dist/a.tar.gz"},
		ExpectedMaterials: mustRules(t, []string{"MATCH", "dist/a.tar.gz", "WITH", "PRODUCTS", "FROM", "build"}, []string{"ALLOW", "*"}),
	}}
	return l
}

// signPayload wraps payload (a marshalled link or layout) in the envelope
// format, signs it with every key, and writes it to path.
func signPayload(t testing.TB, path string, format envelope.Format, payload []byte, signers ...*keys.Key) *envelope.Envelope {
	t.Helper()
	e, err := envelope.New(format, envelope.PayloadTypeInToto, payload)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range signers {
		if err := e.Sign(context.Background(), k); err != nil {
			t.Fatalf("toto cannot sign with %s key: %v", k.Scheme, err)
		}
	}
	writeEnvelope(t, path, e)
	return e
}

func writeEnvelope(t testing.TB, path string, e *envelope.Envelope) {
	t.Helper()
	data, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, data)
}

func marshal(t testing.TB, v json.Marshaler) []byte {
	t.Helper()
	b, err := v.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// linkFileName is in-toto's <step>.<keyid[:8]>.link.
func linkFileName(step string, k *keys.Key) string {
	return fmt.Sprintf("%s.%s.link", step, k.ID()[:8])
}

func keysOf(ks []testKey) []*keys.Key {
	out := make([]*keys.Key, len(ks))
	for i, k := range ks {
		out[i] = k.key
	}
	return out
}

// layoutPayload is the JSON toto signs for a layout: layout.Payload, which
// adds the "keyid" member to every embedded key that the references need
// (in-toto-golang re-encodes keys with it before checking a Metablock
// signature; Python's signature checks require it in the key object).
func layoutPayload(t testing.TB, l *layout.Layout) []byte {
	t.Helper()
	b, err := layout.Payload(l)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
