package security

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/verifier"
)

// metablockFile writes a Metablock by hand: signed is put in the file
// exactly as given, with the signatures of e.
func metablockFile(t *testing.T, signed []byte, e *envelope.Envelope) []byte {
	t.Helper()
	var sigs []string
	for _, s := range e.Signatures {
		sigs = append(sigs, fmt.Sprintf(`{"keyid": %q, "sig": %q}`, s.KeyID, hex.EncodeToString(s.Sig)))
	}
	return []byte(fmt.Sprintf("{\n \"signatures\": [%s],\n \"signed\": %s\n}\n", strings.Join(sigs, ", "), signed))
}

// reorder re-encodes a JSON object with its members in reverse order,
// indented, and with every "b" in member values written as \u0062: the
// same document, in bytes nothing like its canonical form.
func reorder(t *testing.T, obj []byte) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		t.Fatal(err)
	}
	var names []string
	for k := range m {
		names = append(names, k)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, k := range names {
		if i > 0 {
			b.WriteString(" ,\n")
		}
		v := bytes.ReplaceAll(m[k], []byte("b"), []byte(`\u0062`))
		fmt.Fprintf(&b, "   %q :\t%s", k, v)
	}
	b.WriteString("\n}")
	return b.Bytes()
}

// A Metablock signature covers the canonical JSON of "signed", so member
// order, white space and escapes in the file do not matter — but a
// document canonical JSON cannot express (a float) cannot be verified.
func TestCanonicalJSON(t *testing.T) {
	owner, alice := newKey(t), newKey(t)
	l := buildLayout(t, 1, alice)
	le := signLayout(t, l, envelope.Metablock, owner)
	e := signLink(t, buildLink(), envelope.Metablock, alice)

	t.Run("re-ordered and re-spaced signed verifies", func(t *testing.T) {
		dir := t.TempDir()
		signed := reorder(t, e.Payload())
		if bytes.Contains(signed, []byte(`"build"`)) {
			t.Fatal("reorder left the step name as it was")
		}
		writeFile(t, filepath.Join(dir, "build."+short(alice)+".link"), metablockFile(t, signed, e))
		layoutFile := metablockFile(t, reorder(t, le.Payload()), le)
		relaid, err := envelope.Parse(layoutFile)
		if err != nil {
			t.Fatal(err)
		}
		res := verifyDir(t, relaid, dir, owner)
		requirePass(t, res)
		if got := res.Step("build").Link.Name; got != "build" {
			t.Errorf("link name %q", got)
		}
	})

	t.Run("float in a link", func(t *testing.T) {
		signed := bytes.Replace(e.Payload(), []byte(`"byproducts":{}`), []byte(`"byproducts":{"return-value":0.5}`), 1)
		if bytes.Equal(signed, e.Payload()) {
			t.Fatal("float not inserted")
		}
		dir := t.TempDir()
		name := "build." + short(alice) + ".link"
		writeFile(t, filepath.Join(dir, name), metablockFile(t, signed, e))
		res := verifyDir(t, le, dir, owner)
		reason := "canonical JSON of signed: can't canonicalize floating point number '0.5'"
		rejected(t, res, "build", name, reason)
		onlyFailure[*verifier.ThresholdError](t, res, fmt.Sprintf(
			"step build: needs links from 1 distinct authorised functionaries, found 0; %s rejected: %s", name, reason))
	})

	t.Run("float in a layout", func(t *testing.T) {
		signed := bytes.Replace(le.Payload(), []byte(`"_type":"layout"`), []byte(`"_type":"layout","x-version":1.0`), 1)
		forged, err := envelope.Parse(metablockFile(t, signed, le))
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		writeLink(t, dir, "build", alice, e)
		res := verifyDir(t, forged, dir, owner)
		onlyFailure[*verifier.LayoutSignatureError](t, res, fmt.Sprintf(
			"root layout: not signed by layout key %s: canonical JSON of signed: can't canonicalize floating point number '1.0'", short(owner)))
	})
}

// A JSON object with a member twice is refused when it is read, naming
// the member: which value wins differs between parsers, so a signer could
// show the verifier one document and another tool a different one.
func TestDuplicateJSONMembers(t *testing.T) {
	owner, alice := newKey(t), newKey(t)
	le := signLayout(t, buildLayout(t, 1, alice), envelope.Metablock, owner)
	e := signLink(t, buildLink(), envelope.Metablock, alice)
	app := buildLink().Products["app"]["sha256"]

	for _, tc := range []struct {
		name     string
		edit     func(signed []byte) []byte // on the signed member
		editFile func(file []byte) []byte   // on the whole file
		reason   string
		knownGap string
	}{
		{
			name:   "control",
			edit:   func(s []byte) []byte { return s },
			reason: "",
		},
		{
			name: "in signed",
			edit: func(s []byte) []byte {
				return bytes.Replace(s, []byte(`"name":"build"`), []byte(`"name":"build","name":"deploy"`), 1)
			},
			reason: `unreadable: field "signed": field "name" appears more than once`,
		},
		{
			name: "in signed, spelt with an escape",
			edit: func(s []byte) []byte {
				return bytes.Replace(s, []byte(`"name":"build"`), []byte(`"name":"build","n\u0061me":"deploy"`), 1)
			},
			reason: `unreadable: field "signed": field "name" appears more than once`,
		},
		{
			name: "at the top of the envelope",
			edit: func(s []byte) []byte { return s },
			editFile: func(f []byte) []byte {
				return bytes.Replace(f, []byte(`"signatures"`), []byte(`"signatures": [], "signatures"`), 1)
			},
			reason: `unreadable: field "signatures" appears more than once`,
		},
		{
			name: "an artifact listed twice",
			edit: func(s []byte) []byte {
				return bytes.Replace(s, []byte(`"products":{`), []byte(`"products":{"app":{"sha256":"`+strings.Repeat("e1", 32)+`"},`), 1)
			},
			reason: `unreadable: field "signed": field "app" appears more than once (in /products)`,
		},
		{
			name: "a digest listed twice",
			edit: func(s []byte) []byte {
				return bytes.Replace(s, []byte(`"sha256":"`+app+`"`), []byte(`"sha256":"`+strings.Repeat("e1", 32)+`","sha256":"`+app+`"`), 1)
			},
			reason: `unreadable: field "signed": field "sha256" appears more than once (in /products/app)`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signed := tc.edit(e.Payload())
			file := metablockFile(t, signed, e)
			if tc.editFile != nil {
				file = tc.editFile(file)
			}
			dir := t.TempDir()
			name := "build." + short(alice) + ".link"
			writeFile(t, filepath.Join(dir, name), file)
			res := verifyDir(t, le, dir, owner)
			if tc.reason == "" {
				requirePass(t, res)
				return
			}
			rejected(t, res, "build", name, tc.reason)
			onlyFailure[*verifier.ThresholdError](t, res, fmt.Sprintf(
				"step build: needs links from 1 distinct authorised functionaries, found 0; %s rejected: %s", name, tc.reason))
		})
	}

	t.Run("in a DSSE payload", func(t *testing.T) {
		payload := bytes.Replace(e.Payload(), []byte(`"products":{`), []byte(`"products":{"app":{"sha256":"`+strings.Repeat("e1", 32)+`"},`), 1)
		d := sign(t, envelope.DSSE, payload, alice)
		_, err := envelope.Parse(encode(t, d))
		want := `field "payload": field "app" appears more than once (in /products)`
		if err == nil || err.Error() != want {
			t.Errorf("got %v, want %s", err, want)
		}
	})

	t.Run("in a key", func(t *testing.T) {
		b, err := json.Marshal(alice.Public())
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.Replace(b, []byte(`"scheme":"ed25519"`), []byte(`"scheme":"ed25519","scheme":"rsassa-pss-sha256"`), 1)
		_, err = keys.Parse(b)
		want := `key JSON: field "scheme" appears more than once`
		if err == nil || err.Error() != want {
			t.Errorf("got %v, want %s", err, want)
		}
	})
}
