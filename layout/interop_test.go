package layout_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	intoto "github.com/in-toto/in-toto-golang/in_toto"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
)

// The round-trip tests below compile a layout from YAML here, sign it with
// toto's envelope package, and hand it to the two reference
// implementations: Python in-toto 1.3.1 (Debian's package, via its CLIs and
// its module under /usr/bin/python3) and in-toto-golang v0.11.0 (as a Go
// test dependency).

const pythonInToto = "/usr/bin/in-toto-sign"

func needPython(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(pythonInToto); err != nil {
		t.Skipf("Python in-toto not installed (%s missing; `make deps` or `apt-get install in-toto` installs it); skipping the Python half of the round trip", pythonInToto)
	}
}

// owner is a layout owner's key with its public half written the way each
// reference expects to load it.
type owner struct {
	key     *keys.Key
	pyPub   string // path: sslib JSON for ed25519, PEM for RSA
	pyType  string // in-toto-sign -t value
	pemPub  string // path: PEM public key, for in-toto-golang's loader
	private string // path: private key as the Python CLIs read it
}

func writeFile(t testing.TB, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newOwner(t testing.TB, dir, name, typ string) owner {
	t.Helper()
	k := genKey(t, typ)
	o := owner{key: k, pyType: typ}
	pem, err := k.MarshalPEM(false)
	if err != nil {
		t.Fatal(err)
	}
	o.pemPub = writeFile(t, filepath.Join(dir, name+".pem.pub"), pem)
	if typ == keys.RSA {
		o.pyPub = o.pemPub
		priv, _ := k.MarshalPEM(true)
		o.private = writeFile(t, filepath.Join(dir, name), priv)
		return o
	}
	pub, err := json.Marshal(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	o.pyPub = writeFile(t, filepath.Join(dir, name+".pub"), pub)
	priv, err := k.MarshalPrivateJSON()
	if err != nil {
		t.Fatal(err)
	}
	o.private = writeFile(t, filepath.Join(dir, name), priv)
	return o
}

// golangKey loads a PEM public key with in-toto-golang's own loader, so the
// keyid is computed by in-toto-golang, not by toto.
func golangKey(t testing.TB, path string) intoto.Key {
	t.Helper()
	var k intoto.Key
	if err := k.LoadKeyDefaults(path); err != nil {
		t.Fatalf("in-toto-golang cannot load %s: %v", path, err)
	}
	return k
}

func run(t testing.TB, dir string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// interopSource is a layout source using what a real one would: a
// functionary with a threshold, rules in both forms, a parameter, an
// inspection, and a readme with quotes and non-ASCII text, which canonical
// JSON must encode the same way everywhere.
const interopSource = `expires: 30d
readme: "Build of \"out\" — signed by every owner ✓"
parameters: [OUT]
functionaries:
  builder: builder.pub
steps:
  - name: build
    functionaries: [builder]
    threshold: 1
    command: [sh, -c, "echo hello > {OUT}"]
    materials: [[DISALLOW, "*"]]
    products:
      - CREATE {OUT}
      - DISALLOW "*"
inspections:
  - name: check
    run: [grep, -q, hello, "{OUT}"]
    materials:
      - MATCH {OUT} WITH PRODUCTS FROM build
      - ALLOW "*"
    products:
      - MATCH {OUT} WITH PRODUCTS FROM build
      - ALLOW "*"
`

// chain prepares a directory with the layout source, the builder's key, and
// two owners (ed25519 and RSA), and returns the compiled layout payload.
func chain(t *testing.T) (dir string, builder owner, owners []owner, payload []byte) {
	t.Helper()
	dir = t.TempDir()
	keyDir := filepath.Join(dir, "keys")
	os.Mkdir(keyDir, 0o700)
	builder = newOwner(t, keyDir, "builder", keys.Ed25519)
	writeFile(t, filepath.Join(keyDir, "layout.yaml"), []byte(interopSource))
	// The source names builder.pub relative to itself.
	src, err := layout.LoadSource(filepath.Join(keyDir, "layout.yaml"), layout.SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if fs := layout.Lint(src.Layout, layout.LintOptions{}); layout.HasErrors(fs) {
		t.Fatalf("interop layout has lint errors: %v", fs)
	}
	payload, err = layout.Payload(src.Layout)
	if err != nil {
		t.Fatal(err)
	}
	owners = []owner{newOwner(t, keyDir, "owner1", keys.Ed25519), newOwner(t, keyDir, "owner2", keys.RSA)}
	return dir, builder, owners, payload
}

func sign(t testing.TB, format envelope.Format, payload []byte, by ...owner) []byte {
	t.Helper()
	e, err := envelope.New(format, "", payload)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range by {
		// Each owner works on the file the previous one wrote.
		b, _ := e.Encode()
		if e, err = envelope.Parse(b); err != nil {
			t.Fatal(err)
		}
		if err := e.Sign(context.Background(), o.key); err != nil {
			t.Fatal(err)
		}
	}
	b, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tamper changes a signed field (the readme) without re-signing.
func tamper(t testing.TB, signed []byte) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(signed, &doc); err != nil {
		t.Fatal(err)
	}
	if p, ok := doc["payload"].(string); ok { // DSSE
		raw, err := base64.StdEncoding.DecodeString(p)
		if err != nil {
			t.Fatal(err)
		}
		var l map[string]any
		json.Unmarshal(raw, &l)
		l["readme"] = "tampered"
		raw, _ = json.Marshal(l)
		doc["payload"] = base64.StdEncoding.EncodeToString(raw)
	} else {
		doc["signed"].(map[string]any)["readme"] = "tampered"
	}
	b, _ := json.Marshal(doc)
	return b
}

func TestRoundTripSignaturesWithInTotoGolang(t *testing.T) {
	dir, _, owners, payload := chain(t)
	for _, format := range []envelope.Format{envelope.Metablock, envelope.DSSE} {
		t.Run(format.String(), func(t *testing.T) {
			path := writeFile(t, filepath.Join(dir, format.String()+".layout"), sign(t, format, payload, owners...))
			bad := writeFile(t, filepath.Join(dir, format.String()+".tampered"), tamper(t, mustRead(t, path)))
			md, err := intoto.LoadMetadata(path)
			if err != nil {
				t.Fatalf("in-toto-golang cannot load the layout: %v", err)
			}
			if _, ok := md.GetPayload().(intoto.Layout); !ok && format == envelope.Metablock {
				t.Fatalf("in-toto-golang did not read a layout: %T", md.GetPayload())
			}
			tampered, err := intoto.LoadMetadata(bad)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range owners {
				k := golangKey(t, o.pemPub)
				if k.KeyID != o.key.ID() {
					t.Errorf("%s: in-toto-golang keyid %s, toto keyid %s", o.pemPub, k.KeyID, o.key.ID())
				}
				if err := md.VerifySignature(k); err != nil {
					t.Errorf("in-toto-golang rejects %s's signature: %v", filepath.Base(o.pemPub), err)
				}
				if err := tampered.VerifySignature(k); err == nil {
					t.Errorf("in-toto-golang accepts a tampered layout")
				}
			}
		})
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTripSignaturesWithPythonInToto(t *testing.T) {
	needPython(t)
	t.Parallel()
	dir, _, owners, payload := chain(t)
	// Python in-toto 1.3.1 reads Metablocks only; DSSE layouts arrived later.
	both := writeFile(t, filepath.Join(dir, "both.layout"), sign(t, envelope.Metablock, payload, owners...))
	first := writeFile(t, filepath.Join(dir, "first.layout"), sign(t, envelope.Metablock, payload, owners[0]))
	bad := writeFile(t, filepath.Join(dir, "tampered.layout"), tamper(t, mustRead(t, both)))
	verify := func(file string, os ...owner) (string, error) {
		args := []string{"-f", file, "--verify", "-k"}
		for _, o := range os {
			args = append(args, o.pyPub)
		}
		args = append(args, "-t")
		for _, o := range os {
			args = append(args, o.pyType)
		}
		return run(t, dir, pythonInToto, args...)
	}
	for _, tc := range []struct {
		name   string
		file   string
		owners []owner
		ok     bool
	}{
		// in-toto-sign --verify requires a valid signature by every key
		// passed, so this checks each owner's signature.
		{"both owners", both, owners, true},
		// Controls: the checks can fail.
		{"second owner has not signed", first, owners, false},
		{"tampered", bad, owners[:1], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each run starts a Python interpreter
			out, err := verify(tc.file, tc.owners...)
			if (err == nil) != tc.ok {
				t.Errorf("in-toto-sign --verify: err = %v, want ok = %v\n%s", err, tc.ok, out)
			}
		})
	}
}

// TestRoundTripFullVerification runs a whole supply chain through both
// references: Python's in-toto-run records the step with the builder's key,
// then each reference verifies the toto-made, two-owner-signed layout with
// parameter substitution, running the inspection.
func TestRoundTripFullVerification(t *testing.T) {
	needPython(t)
	dir, builder, owners, payload := chain(t)
	// in-toto-golang writes inspection links to the working directory.
	t.Chdir(dir)
	writeFile(t, filepath.Join(dir, "root.layout"), sign(t, envelope.Metablock, payload, owners...))
	if out, err := run(t, dir, "/usr/bin/in-toto-run", "-n", "build", "-k", builder.private, "-t", "ed25519",
		"-p", "out.txt", "--", "sh", "-c", "echo hello > out.txt"); err != nil {
		t.Fatalf("in-toto-run: %v\n%s", err, out)
	}

	python := func(params string) (string, error) {
		script := `
import sys
from in_toto.models.metadata import Metablock
from in_toto.verifylib import in_toto_verify
from securesystemslib.interface import import_ed25519_publickey_from_file, import_rsa_publickey_from_file
k1 = import_ed25519_publickey_from_file(sys.argv[1])
k2 = import_rsa_publickey_from_file(sys.argv[2])
in_toto_verify(Metablock.load("root.layout"), {k1["keyid"]: k1, k2["keyid"]: k2},
    substitution_parameters={"OUT": sys.argv[3]}, persist_inspection_links=False)
print("PASSED")
`
		return run(t, dir, "/usr/bin/python3", "-c", script, owners[0].pyPub, owners[1].pyPub, params)
	}
	golang := func(params string) error {
		md, err := intoto.LoadMetadata(filepath.Join(dir, "root.layout"))
		if err != nil {
			return err
		}
		ks := map[string]intoto.Key{}
		for _, o := range owners {
			k := golangKey(t, o.pemPub)
			ks[k.KeyID] = k
		}
		_, err = intoto.InTotoVerifyWithDirectory(md, ks, dir, dir, "", map[string]string{"OUT": params}, nil, false)
		return err
	}

	if out, err := python("out.txt"); err != nil || !strings.Contains(out, "PASSED") {
		t.Errorf("Python in-toto does not verify the chain: %v\n%s", err, out)
	}
	if err := golang("out.txt"); err != nil {
		t.Errorf("in-toto-golang does not verify the chain: %v", err)
	}
	// Control: with the wrong parameter the product rules fail in both.
	if out, err := python("other.txt"); err == nil {
		t.Errorf("Python verifies with a wrong parameter:\n%s", out)
	}
	if err := golang("other.txt"); err == nil {
		t.Error("in-toto-golang verifies with a wrong parameter")
	}
}
