package interop

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
)

// A whole supply chain made by toto — a layout signed by two owner keys
// (RSA PEM and ECDSA P-384 JSON), links signed by an ed25519 and a P-256
// functionary, the final product — passes Python's in-toto-verify, which
// also runs the layout's inspection. Swapping the product for another file
// makes in-toto-verify fail, so the pass means something.
func TestTotoSupplyChainPassesInTotoVerify(t *testing.T) {
	requirePython(t)
	t.Parallel()
	gen := func(typ string, opts keys.GenerateOptions) *keys.Key {
		k, err := keys.Generate(typ, opts)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	owners := []testKey{
		{"owner-rsa", keys.SchemeRSAPSS, gen(keys.RSA, keys.GenerateOptions{RSABits: 2048})},
		{"owner-p384", keys.SchemeECDSAP384, gen(keys.ECDSA, keys.GenerateOptions{Curve: elliptic.P384()})},
	}
	coder := testKey{"bob", keys.SchemeEd25519, gen(keys.Ed25519, keys.GenerateOptions{})}
	packager := testKey{"carl", keys.SchemeECDSAP256, gen(keys.ECDSA, keys.GenerateOptions{})}

	source := []byte("print('hello from the interop suite')\n")
	tarball := makeTarGz(t, "foo.py", source)
	digest := func(b []byte) link.DigestSet {
		s := sha256.Sum256(b)
		return link.DigestSet{"sha256": hex.EncodeToString(s[:])}
	}

	l := &layout.Layout{
		Expires: time.Now().UTC().Add(24 * time.Hour).Truncate(time.Second),
		Readme:  "toto-made supply chain for in-toto-verify",
	}
	coderID, packagerID := l.AddKey(coder.key), l.AddKey(packager.key)
	l.Steps = []layout.Step{
		{
			Name:             "write-code",
			ExpectedProducts: mustRules(t, []string{"CREATE", "foo.py"}, []string{"DISALLOW", "*"}),
			PubKeys:          []string{coderID},
			Threshold:        1,
		},
		{
			Name: "package",
			ExpectedMaterials: mustRules(t,
				[]string{"MATCH", "foo.py", "WITH", "PRODUCTS", "FROM", "write-code"},
				[]string{"DISALLOW", "*"}),
			ExpectedProducts: mustRules(t, []string{"CREATE", "foo.tar.gz"}, []string{"DISALLOW", "*"}),
			PubKeys:          []string{packagerID},
			ExpectedCommand:  []string{"tar", "zcvf", "foo.tar.gz", "foo.py"},
			Threshold:        1,
		},
	}
	l.Inspections = []layout.Inspection{{
		Name: "untar",
		Run:  []string{"tar", "xzf", "foo.tar.gz"},
		// MATCH only consumes an artifact whose hashes agree; the DISALLOW
		// after it is what fails a mismatch. The rest of the verifier's
		// directory (layout, links, keys) is allowed.
		ExpectedMaterials: mustRules(t,
			[]string{"MATCH", "foo.tar.gz", "WITH", "PRODUCTS", "FROM", "package"},
			[]string{"DISALLOW", "foo.tar.gz"},
			[]string{"ALLOW", "*"}),
		ExpectedProducts: mustRules(t,
			[]string{"MATCH", "foo.py", "WITH", "PRODUCTS", "FROM", "write-code"},
			[]string{"DISALLOW", "foo.py"},
			[]string{"ALLOW", "*"}),
	}}
	links := map[string][]byte{}
	for _, s := range []struct {
		key  testKey
		link *link.Link
	}{
		{coder, &link.Link{Name: "write-code", Command: []string{"vi", "foo.py"},
			Products: link.Artifacts{"foo.py": digest(source)}}},
		{packager, &link.Link{Name: "package", Command: []string{"tar", "zcvf", "foo.tar.gz", "foo.py"},
			Materials:  link.Artifacts{"foo.py": digest(source)},
			Products:   link.Artifacts{"foo.tar.gz": digest(tarball)},
			ByProducts: map[string]any{"stdout": "foo.py\n", "stderr": "", "return-value": 0}}},
	} {
		e, err := envelope.New(envelope.Metablock, "", marshal(t, s.link))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Sign(t.Context(), s.key.key); err != nil {
			t.Fatal(err)
		}
		data, err := e.Encode()
		if err != nil {
			t.Fatal(err)
		}
		links[linkFileName(s.link.Name, s.key.key)] = data
	}

	// Two verifier directories: the genuine product, and a swapped one.
	setup := func(name string, product []byte) string {
		dir := filepath.Join(t.TempDir(), name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		signPayload(t, filepath.Join(dir, "root.layout"), envelope.Metablock, layoutPayload(t, l), owners[0].key, owners[1].key)
		writeTotoKeys(t, dir, owners)
		for name, data := range links {
			writeFile(t, filepath.Join(dir, name), data)
		}
		writeFile(t, filepath.Join(dir, "foo.tar.gz"), product)
		return dir
	}
	good := setup("good", tarball)
	bad := setup("bad", makeTarGz(t, "foo.py", []byte("print('swapped')\n")))

	args := []string{"-l", "root.layout", "-k", "owner-rsa.pub", "owner-p384.pub", "-t", "rsa", "ecdsa", "-v"}
	var goodRes, badRes execResult
	if err := runAll(func(i int) error {
		var err error
		if i == 0 {
			goodRes, err = execIn(good, inTotoVerify, args...)
		} else {
			badRes, err = execIn(bad, inTotoVerify, args...)
		}
		return err
	}, 2); err != nil {
		t.Fatal(err)
	}
	if goodRes.Code != 0 {
		t.Errorf("in-toto-verify rejects toto's supply chain: exit %d\n%s", goodRes.Code, goodRes.output())
	}
	if badRes.Code != 1 || !strings.Contains(badRes.output(), "DISALLOW foo.tar.gz") {
		t.Errorf("in-toto-verify with a swapped product: exit %d, want 1 from the untar inspection's DISALLOW foo.tar.gz\n%s", badRes.Code, badRes.output())
	}
	// The inspection really ran: it unpacked the genuine foo.py.
	if got, err := os.ReadFile(filepath.Join(good, "foo.py")); err != nil || !bytes.Equal(got, source) {
		t.Errorf("inspection output foo.py = %q, %v; want the packaged source", got, err)
	}
}

// makeTarGz returns a gzip'd tar archive holding one file.
func makeTarGz(t testing.TB, name string, content []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(1700000000, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
