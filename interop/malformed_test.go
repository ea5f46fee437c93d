package interop

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
)

// badCase is one malformed input and the words its error must contain (the
// field at fault, and the problem).
type badCase struct {
	name  string
	input string
	want  []string
}

// parseSafely runs parse and turns a panic into a test failure, so one bad
// case does not hide the others.
func parseSafely(t *testing.T, parse func([]byte) error, input []byte) (err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("panic: %v", r)
			err = fmt.Errorf("panicked")
		}
	}()
	return parse(input)
}

func runBadCases(t *testing.T, parse func([]byte) error, cases []badCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := parseSafely(t, parse, []byte(c.input))
			if err == nil {
				t.Fatalf("accepted %.200s", c.input)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// A valid ed25519 public key and a second one, for key cases.
var (
	edPub    = strings.Repeat("ab", ed25519.PublicKeySize)
	edKey    = `{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"` + edPub + `"}}`
	validSig = `{"keyid":"` + strings.Repeat("0", 64) + `","sig":"abcd"}`
)

func deepArray(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

func TestMalformedEnvelope(t *testing.T) {
	runBadCases(t, func(b []byte) error { _, err := envelope.Parse(b); return err }, []badCase{
		{"empty", ``, []string{"invalid JSON"}},
		{"truncated", `{"signed": {"_type": "link"`, []string{"invalid JSON"}},
		{"not an object", `["signed"]`, []string{"JSON object"}},
		{"trailing data", `{"signed":{},"signatures":[]} {}`, []string{"trailing"}},
		{"neither envelope", `{"payload_type":"x"}`, []string{`"signed"`, `"payload"`}},
		{"both envelopes", `{"signed":{},"payload":"","signatures":[]}`, []string{`"signed"`, `"payload"`}},
		{"signed not object", `{"signed":"x","signatures":[]}`, []string{`"signed"`, "object"}},
		{"signed null", `{"signed":null,"signatures":[]}`, []string{`"signed"`}},
		{"missing signatures", `{"signed":{"_type":"link"}}`, []string{`"signatures"`, "missing"}},
		{"signatures not list", `{"signed":{},"signatures":{"keyid":"a"}}`, []string{`"signatures"`}},
		{"signature not object", `{"signed":{},"signatures":["ab"]}`, []string{"signatures[0]"}},
		{"signature missing keyid", `{"signed":{},"signatures":[{"sig":"abcd"}]}`, []string{"signatures[0]", `"keyid"`, "missing"}},
		{"signature keyid number", `{"signed":{},"signatures":[{"keyid":7,"sig":"abcd"}]}`, []string{"signatures[0]", `"keyid"`}},
		{"signature missing sig", `{"signed":{},"signatures":[{"keyid":"ab"}]}`, []string{"signatures[0]", `"sig"`, "missing"}},
		{"signature bad hex", `{"signed":{},"signatures":[` + validSig + `,{"keyid":"ab","sig":"xyz"}]}`, []string{"signatures[1]", `"sig"`, "hex"}},
		{"duplicate member", `{"signed":{},"signed":{},"signatures":[]}`, []string{`"signed"`, "more than once"}},
		{"duplicate inside signed", `{"signed":{"name":"a","name":"b"},"signatures":[]}`, []string{`"signed"`, `"name"`, "more than once"}},
		{"dsse missing payloadType", `{"payload":"e30=","signatures":[]}`, []string{`"payloadType"`, "missing"}},
		{"dsse payloadType number", `{"payloadType":1,"payload":"e30=","signatures":[]}`, []string{`"payloadType"`}},
		{"dsse bad base64", `{"payloadType":"application/vnd.in-toto+json","payload":"%%%","signatures":[]}`, []string{`"payload"`, "base64"}},
		{"dsse sig bad base64", `{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"%%%"}]}`, []string{"signatures[0]", `"sig"`, "base64"}},
		{"deeply nested signed", `{"signed":{"x":` + deepArray(100000) + `},"signatures":[]}`, []string{`"signed"`, "depth"}},
	})
}

func TestMalformedLink(t *testing.T) {
	ok := func(mod map[string]any, drop ...string) string {
		m := map[string]any{"_type": "link", "name": "build", "materials": map[string]any{}, "products": map[string]any{},
			"command": []string{}, "byproducts": map[string]any{}, "environment": map[string]any{}}
		for k, v := range mod {
			m[k] = v
		}
		for _, d := range drop {
			delete(m, d)
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	runBadCases(t, func(b []byte) error { _, err := link.Parse(b); return err }, []badCase{
		{"bad JSON", `{"_type":"link",`, []string{"invalid JSON"}},
		{"not an object", `"link"`, []string{"JSON object"}},
		{"wrong _type", ok(map[string]any{"_type": "layout"}), []string{`"_type"`, `"layout"`, `"link"`}},
		{"missing _type", ok(nil, "_type"), []string{`"_type"`, "missing"}},
		{"_type number", ok(map[string]any{"_type": 1}), []string{`"_type"`}},
		{"missing name", ok(nil, "name"), []string{`"name"`, "missing"}},
		{"name list", ok(map[string]any{"name": []string{"a"}}), []string{`"name"`}},
		{"missing materials", ok(nil, "materials"), []string{`"materials"`, "missing"}},
		{"missing products", ok(nil, "products"), []string{`"products"`, "missing"}},
		{"materials list", ok(map[string]any{"materials": []string{"a"}}), []string{`"materials"`}},
		{"digest set not object", ok(map[string]any{"products": map[string]any{"a.txt": "abcd"}}), []string{`"products"`}},
		{"digest number", ok(map[string]any{"materials": map[string]any{"a.txt": map[string]any{"sha256": 12}}}), []string{`"materials"`}},
		{"bad hex digest", ok(map[string]any{"products": map[string]any{"dist/a.tar.gz": map[string]string{"sha256": "xyz"}}}), []string{`"products"`, "dist/a.tar.gz", "sha256", "not hex"}},
		{"empty digest", ok(map[string]any{"products": map[string]any{"a": map[string]string{"sha256": ""}}}), []string{`"products"`, "not hex"}},
		{"empty artifact path", ok(map[string]any{"materials": map[string]any{"": map[string]string{"sha256": "ab"}}}), []string{`"materials"`, "empty artifact path"}},
		{"command string", ok(map[string]any{"command": "make all"}), []string{`"command"`}},
		{"command numbers", ok(map[string]any{"command": []int{1, 2}}), []string{`"command"`}},
		{"byproducts list", ok(map[string]any{"byproducts": []string{}}), []string{`"byproducts"`}},
		{"environment string", ok(map[string]any{"environment": "linux"}), []string{`"environment"`}},
		{"duplicate name", `{"_type":"link","name":"a","name":"b","materials":{},"products":{}}`, []string{`"name"`, "more than once"}},
		{"deeply nested environment", strings.Replace(ok(nil), `"environment":{}`, `"environment":{"x":`+deepArray(100000)+`}`, 1), []string{`"environment"`, "depth"}},
	})
}

func TestMalformedLayout(t *testing.T) {
	id := mustKeyID(t, edKey)
	ok := func(mod map[string]any, drop ...string) string {
		m := map[string]any{"_type": "layout", "expires": "2030-01-01T00:00:00Z", "readme": "",
			"keys": map[string]json.RawMessage{id: json.RawMessage(edKey)},
			"steps": []any{map[string]any{"_type": "step", "name": "build", "pubkeys": []string{id}, "threshold": 1,
				"expected_materials": [][]string{}, "expected_products": [][]string{{"CREATE", "a"}}, "expected_command": []string{}}},
			"inspect": []any{}}
		for k, v := range mod {
			m[k] = v
		}
		for _, d := range drop {
			delete(m, d)
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	step := func(mod map[string]any) []any {
		s := map[string]any{"_type": "step", "name": "build", "pubkeys": []string{id}, "threshold": 1,
			"expected_materials": [][]string{}, "expected_products": [][]string{}, "expected_command": []string{}}
		for k, v := range mod {
			s[k] = v
		}
		return []any{s}
	}
	key := func(k string) map[string]json.RawMessage { return map[string]json.RawMessage{id: json.RawMessage(k)} }
	// The fixture itself must be valid, or every case below passes for the
	// wrong reason.
	if _, err := layout.Parse([]byte(ok(nil))); err != nil {
		t.Fatalf("valid layout fixture rejected: %v", err)
	}
	runBadCases(t, func(b []byte) error { _, err := layout.Parse(b); return err }, []badCase{
		{"bad JSON", `{"_type":"layout"`, []string{"invalid JSON"}},
		{"wrong _type", ok(map[string]any{"_type": "link"}), []string{`"_type"`, `"link"`, `"layout"`}},
		{"missing _type", ok(nil, "_type"), []string{`"_type"`, "missing"}},
		{"missing expires", ok(nil, "expires"), []string{`"expires"`, "missing"}},
		{"bad expires", ok(map[string]any{"expires": "next tuesday"}), []string{`"expires"`, "next tuesday"}},
		{"expires number", ok(map[string]any{"expires": 2030}), []string{`"expires"`}},
		{"missing keys", ok(nil, "keys"), []string{`"keys"`, "missing"}},
		{"keys list", ok(map[string]any{"keys": []string{id}}), []string{`"keys"`}},
		{"unknown key type", ok(map[string]any{"keys": key(`{"keytype":"dsa","scheme":"dsa","keyval":{"public":"ab"}}`)}), []string{`"keys"`, id, `"keytype"`, "dsa"}},
		{"key bad hex", ok(map[string]any{"keys": key(`{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"not hex"}}`)}), []string{`"keys"`, "keyval.public"}},
		{"key missing keyval", ok(map[string]any{"keys": key(`{"keytype":"ed25519","scheme":"ed25519"}`)}), []string{`"keys"`, `"keyval"`, "missing"}},
		{"key under another id", ok(map[string]any{"keys": map[string]json.RawMessage{strings.Repeat("1", 64): json.RawMessage(edKey)}}), []string{`"keys"`, strings.Repeat("1", 64), id}},
		{"missing steps", ok(nil, "steps"), []string{`"steps"`, "missing"}},
		{"steps object", ok(map[string]any{"steps": map[string]any{}}), []string{`"steps"`}},
		{"step not object", ok(map[string]any{"steps": []string{"build"}}), []string{"steps[0]"}},
		{"step missing name", ok(map[string]any{"steps": []any{map[string]any{"_type": "step"}}}), []string{"steps[0]", `"name"`, "missing"}},
		{"step wrong _type", ok(map[string]any{"steps": step(map[string]any{"_type": "inspection"})}), []string{"steps[0]", `"_type"`}},
		{"step threshold string", ok(map[string]any{"steps": step(map[string]any{"threshold": "2"})}), []string{"steps[0]", `"threshold"`}},
		{"step pubkeys string", ok(map[string]any{"steps": step(map[string]any{"pubkeys": id})}), []string{"steps[0]", `"pubkeys"`}},
		{"step bad rule", ok(map[string]any{"steps": step(map[string]any{"expected_materials": [][]string{{"ALLOW", "a"}, {"MATCH", "a"}}})}), []string{"steps[0]", "expected_materials", "[1]", "MATCH"}},
		{"step unknown rule", ok(map[string]any{"steps": step(map[string]any{"expected_products": [][]string{{"PERMIT", "a"}}})}), []string{"steps[0]", "expected_products", "PERMIT"}},
		{"step rule not strings", ok(map[string]any{"steps": step(map[string]any{"expected_products": []any{[]any{"ALLOW", 1}}})}), []string{"steps[0]", "expected_products"}},
		{"missing inspect", ok(nil, "inspect"), []string{`"inspect"`, "missing"}},
		{"inspection run string", ok(map[string]any{"inspect": []any{map[string]any{"_type": "inspection", "name": "untar", "run": "tar xzf a"}}}), []string{"inspect[0]", `"run"`}},
		{"deeply nested readme", strings.Replace(ok(nil), `"readme":""`, `"readme":`+deepArray(100000), 1), []string{`"readme"`, "depth"}},
	})
}

func TestMalformedKeys(t *testing.T) {
	rsaPub := "-----BEGIN PUBLIC KEY-----\\nMCowBQYDK2VwAyEAOT5nGyAPlkxJCD00qGf12YnsHGnfe2Z1j+RxyFkbE5w=\\n-----END PUBLIC KEY-----"
	cases := []badCase{
		{"empty", ``, []string{"empty"}},
		{"garbage", `this is not a key`, []string{"PEM"}},
		{"bad JSON", `{"keytype":"ed25519",`, []string{"invalid JSON"}},
		{"unknown key type", `{"keytype":"dsa","scheme":"dsa-sha1","keyval":{"public":"ab"}}`, []string{`"keytype"`, "dsa"}},
		{"keytype number", `{"keytype":25519,"scheme":"ed25519","keyval":{"public":"` + edPub + `"}}`, []string{`"keytype"`}},
		{"missing keytype", `{"scheme":"ed25519","keyval":{"public":"` + edPub + `"}}`, []string{`"keytype"`, "missing"}},
		{"missing scheme", `{"keytype":"ed25519","keyval":{"public":"` + edPub + `"}}`, []string{`"scheme"`, "missing"}},
		{"missing keyval", `{"keytype":"ed25519","scheme":"ed25519"}`, []string{`"keyval"`, "missing"}},
		{"keyval string", `{"keytype":"ed25519","scheme":"ed25519","keyval":"` + edPub + `"}`, []string{`"keyval"`}},
		{"missing public", `{"keytype":"ed25519","scheme":"ed25519","keyval":{}}`, []string{"keyval.public", "missing"}},
		{"bad hex public", `{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"zz` + edPub[2:] + `"}}`, []string{"keyval.public", "hex"}},
		{"short public", `{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"abcd"}}`, []string{"keyval.public"}},
		{"bad hex private", `{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"` + edPub + `","private":"xyz"}}`, []string{"keyval.private", "hex"}},
		{"short private", `{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"` + edPub + `","private":"abcd"}}`, []string{"keyval.private"}},
		{"private for another key", `{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"` + edPub + `","private":"` + strings.Repeat("cd", 32) + `"}}`, []string{"keyval.private", "keyval.public"}},
		{"wrong scheme", `{"keytype":"ed25519","scheme":"rsassa-pss-sha256","keyval":{"public":"` + edPub + `"}}`, []string{"scheme", "rsassa-pss-sha256"}},
		{"rsa type, ed25519 material", `{"keytype":"rsa","scheme":"rsassa-pss-sha256","keyval":{"public":"` + rsaPub + `"}}`, []string{"keyval.public"}},
		{"rsa type, not PEM", `{"keytype":"rsa","scheme":"rsassa-pss-sha256","keyval":{"public":"` + edPub + `"}}`, []string{"keyval.public", "PEM"}},
		{"hash algorithms string", `{"keytype":"ed25519","scheme":"ed25519","keyid_hash_algorithms":"sha256","keyval":{"public":"` + edPub + `"}}`, []string{`"keyid_hash_algorithms"`}},
		{"keyid number", `{"keytype":"ed25519","scheme":"ed25519","keyid":1,"keyval":{"public":"` + edPub + `"}}`, []string{`"keyid"`}},
		{"duplicate keytype", `{"keytype":"ed25519","keytype":"rsa","scheme":"ed25519","keyval":{"public":"` + edPub + `"}}`, []string{`"keytype"`, "more than once"}},
		{"PEM certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", []string{"CERTIFICATE"}},
		{"PEM bad body", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", []string{"PUBLIC KEY"}},
		{"PEM bad RSA private", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", []string{"RSA PRIVATE KEY"}},
		{"PEM encrypted", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", []string{"encrypted"}},
		{"deeply nested keyval", `{"keytype":"ed25519","scheme":"ed25519","keyval":` + deepArray(100000) + `}`, []string{`"keyval"`}},
	}
	t.Run("Parse", func(t *testing.T) {
		runBadCases(t, func(b []byte) error { _, err := keys.Parse(b); return err }, cases)
	})
	// keys.Load must also name the file.
	t.Run("Load", func(t *testing.T) {
		dir := t.TempDir()
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".key")
				writeFile(t, path, []byte(c.input))
				err := parseSafely(t, func([]byte) error { _, err := keys.Load(path); return err }, nil)
				if err == nil {
					t.Fatal("accepted")
				}
				for _, w := range append([]string{path}, c.want...) {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
			})
		}
		t.Run("missing file", func(t *testing.T) {
			path := filepath.Join(dir, "absent.pub")
			if _, err := keys.Load(path); err == nil || !strings.Contains(err.Error(), path) {
				t.Errorf("got %v, want an error naming %s", err, path)
			}
		})
		t.Run("huge file", func(t *testing.T) {
			path := filepath.Join(dir, "huge.pub")
			writeFile(t, path, bytes.Repeat([]byte("A"), 2<<20))
			if _, err := keys.Load(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "larger") {
				t.Errorf("got %v, want an error naming %s and its size", err, path)
			}
		})
		t.Run("directory", func(t *testing.T) {
			if _, err := keys.Load(dir); err == nil || !strings.Contains(err.Error(), dir) {
				t.Errorf("got %v, want an error naming %s", err, dir)
			}
		})
	})
}

// Large but well-formed input parses: a link with 20,000 artifacts and an
// envelope with envelope.MaxSignatures signatures; one more signature is
// refused. (How fast is BenchmarkParseLargeLink's and
// BenchmarkVerifyManySignatures' business.)
func TestLargeInputParses(t *testing.T) {
	const n = 20000
	l, err := link.Parse(largeLink(n))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Products) != n {
		t.Fatalf("%d products, want %d", len(l.Products), n)
	}
	e, err := envelope.Parse(manySignatures(envelope.MaxSignatures))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Signatures) != envelope.MaxSignatures {
		t.Fatalf("%d signatures, want %d", len(e.Signatures), envelope.MaxSignatures)
	}
	if err := e.Verify(strangerKey(t)); err == nil {
		t.Fatal("a stranger verified")
	}
	if _, err := envelope.Parse(manySignatures(envelope.MaxSignatures + 1)); !errors.Is(err, envelope.ErrTooManySignatures) {
		t.Fatalf("%d signatures: got %v, want envelope.ErrTooManySignatures", envelope.MaxSignatures+1, err)
	}
}

// largeLink is a link payload with n products, as a big build records.
func largeLink(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"_type":"link","name":"big","command":[],"byproducts":{},"environment":{},"materials":{},"products":{`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"src/pkg%d/file%d.go":{"sha256":"%064x"}`, i%100, i, i)
	}
	b.WriteString(`}}`)
	return b.Bytes()
}

// manySignatures is a Metablock with n signatures by n different keyids.
func manySignatures(n int) []byte {
	sigs := make([]string, n)
	for i := range sigs {
		sigs[i] = fmt.Sprintf(`{"keyid":"%064x","sig":"%s"}`, i, hex.EncodeToString([]byte{byte(i)}))
	}
	return []byte(`{"signed":{"_type":"link"},"signatures":[` + strings.Join(sigs, ",") + `]}`)
}

func BenchmarkParseLargeLink(b *testing.B) {
	data := largeLink(100000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := link.Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseManySignatures(b *testing.B) {
	data := manySignatures(envelope.MaxSignatures)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := envelope.Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

// Verify looks at each signature's keyid; with many signatures and no match
// that is all it does.
func BenchmarkVerifyManySignatures(b *testing.B) {
	e, err := envelope.Parse(manySignatures(envelope.MaxSignatures))
	if err != nil {
		b.Fatal(err)
	}
	k := strangerKey(b)
	for b.Loop() {
		_ = e.Verify(k)
	}
}

// FuzzMetadataPipeline feeds arbitrary bytes through the path a verifier
// takes with an untrusted file: envelope, then payload by its _type, then
// the keys a layout embeds. Nothing may panic; whatever parses must
// re-encode and parse again.
func FuzzMetadataPipeline(f *testing.F) {
	if dir := corpusDirIfPresent(); dir != "" {
		for _, pattern := range []string{"*/*/*.link", "*/*/*.layout", "*/*/*.template"} {
			files, _ := filepath.Glob(filepath.Join(dir, pattern))
			for _, p := range files {
				if data, err := os.ReadFile(p); err == nil {
					f.Add(data)
				}
			}
		}
	}
	f.Add([]byte(`{"signed":{"_type":"link","name":"a","materials":{},"products":{}},"signatures":[]}`))
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":""}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := envelope.Parse(data)
		if err != nil {
			return
		}
		out, err := e.MarshalJSON()
		if err != nil {
			t.Fatalf("re-encode envelope: %v", err)
		}
		if _, err := envelope.Parse(out); err != nil {
			t.Fatalf("re-encoded envelope does not parse: %v\n%s", err, out)
		}
		typ, err := e.PayloadTypeField()
		if err != nil {
			return
		}
		switch typ {
		case link.Type:
			l, err := link.Parse(e.Payload())
			if err != nil {
				return
			}
			b, err := l.MarshalJSON()
			if err != nil {
				t.Fatalf("re-encode link: %v", err)
			}
			if _, err := link.Parse(b); err != nil {
				t.Fatalf("re-encoded link does not parse: %v\n%s", err, b)
			}
		case layout.Type:
			l, err := layout.Parse(e.Payload())
			if err != nil {
				return
			}
			for id, k := range l.Keys {
				if !k.HasID(id) {
					t.Fatalf("layout key %s does not answer to its id", id)
				}
			}
			b, err := layout.Payload(l)
			if err != nil {
				t.Fatalf("re-encode layout: %v", err)
			}
			if _, err := layout.Parse(b); err != nil {
				t.Fatalf("re-encoded layout does not parse: %v\n%s", err, b)
			}
		}
	})
}

// corpusDirIfPresent is the corpus folder, or "" when absent: fuzz seeds
// are a bonus, not a reason to skip. (Tests run in the package folder.)
func corpusDirIfPresent() string {
	dir := filepath.Join("..", "..", "shared", "corpus")
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return ""
	}
	return dir
}

func mustKeyID(t testing.TB, keyJSON string) string {
	t.Helper()
	k, err := keys.Parse([]byte(keyJSON))
	if err != nil {
		t.Fatal(err)
	}
	return k.ID()
}
