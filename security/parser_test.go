package security

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/internal/jsonobj"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/statement"
	"github.com/toto-dev/toto/verifier"
)

// withJunkSignatures returns a copy of e with n junk signatures (keyids
// of no key, one-byte signatures) in front of its own, so that the good
// signature is the last one a verifier looks at.
func withJunkSignatures(e *envelope.Envelope, n int) *envelope.Envelope {
	c := *e
	c.Signatures = nil
	for i := 0; i < n; i++ {
		c.Signatures = append(c.Signatures, envelope.Signature{KeyID: fmt.Sprintf("%064x", i+1), Sig: []byte{byte(i)}})
	}
	c.Signatures = append(c.Signatures, e.Signatures...)
	return &c
}

// countingVerifier counts the signatures it is asked to check.
type countingVerifier struct {
	keys.Verifier
	calls int
}

func (v *countingVerifier) Verify(data, sig []byte) error {
	v.calls++
	return v.Verifier.Verify(data, sig)
}

// An envelope holds at most envelope.MaxSignatures signatures: every
// signature may be checked against every authorised key, so a file of junk
// signatures must be refused when it is read, before any is checked.
func TestSignaturesPerEnvelopeBounded(t *testing.T) {
	max := envelope.MaxSignatures
	for _, ff := range formats {
		t.Run(ff.name, func(t *testing.T) {
			owner, alice := newKey(t), newKey(t)
			le := signLayout(t, buildLayout(t, 1, alice), ff.f, owner)
			good := signLink(t, buildLink(), ff.f, alice)

			t.Run("control: exactly the bound, one good", func(t *testing.T) {
				e := withJunkSignatures(good, max-1)
				parsed, err := envelope.Parse(encode(t, e))
				if err != nil {
					t.Fatal(err)
				}
				if len(parsed.Signatures) != max {
					t.Fatalf("%d signatures, want %d", len(parsed.Signatures), max)
				}
				dir := t.TempDir()
				writeLink(t, dir, "build", alice, e)
				requirePass(t, verifyDir(t, le, dir, owner))
			})

			t.Run("one more than the bound", func(t *testing.T) {
				e := withJunkSignatures(good, max)
				want := fmt.Sprintf(`field "signatures": %d signatures, more than the %d an envelope may hold`, max+1, max)
				_, err := envelope.Parse(encode(t, e))
				var tm *envelope.TooManySignaturesError
				if !errors.As(err, &tm) || !errors.Is(err, envelope.ErrTooManySignatures) {
					t.Fatalf("got %v, want a *envelope.TooManySignaturesError", err)
				}
				if tm.Count != max+1 || tm.Max != max || err.Error() != want {
					t.Errorf("got %+v: %v, want %s", *tm, err, want)
				}

				dir := t.TempDir()
				name := writeLink(t, dir, "build", alice, e)
				res := verifyDir(t, le, dir, owner)
				reason := "unreadable: " + want
				rejected(t, res, "build", name, reason)
				onlyFailure[*verifier.ThresholdError](t, res, fmt.Sprintf(
					"step build: needs links from 1 distinct authorised functionaries, found 0; %s rejected: %s", name, reason))
			})

			t.Run("a layout with one more than the bound", func(t *testing.T) {
				_, err := envelope.Parse(encode(t, withJunkSignatures(le, max)))
				if !errors.Is(err, envelope.ErrTooManySignatures) {
					t.Fatalf("got %v, want envelope.ErrTooManySignatures", err)
				}
			})

			t.Run("Sign does not make one", func(t *testing.T) {
				e := withJunkSignatures(good, max-1)
				err := e.Sign(context.Background(), newKey(t))
				var tm *envelope.TooManySignaturesError
				if !errors.As(err, &tm) || tm.Count != max+1 {
					t.Fatalf("got %v, want a *envelope.TooManySignaturesError for %d", err, max+1)
				}
				if len(e.Signatures) != max {
					t.Errorf("Sign changed the signatures on failure: %d", len(e.Signatures))
				}
				// Re-signing by a key already there replaces its signature.
				if err := e.Sign(context.Background(), alice); err != nil {
					t.Errorf("re-sign by alice at the bound: %v", err)
				}
			})

			t.Run("signatures naming other keys are not tried", func(t *testing.T) {
				// As in both references: a signature with a keyid is checked
				// only with the key it names.
				e := withJunkSignatures(good, max-1)
				v := &countingVerifier{Verifier: alice}
				if err := e.Verify(v); err != nil {
					t.Fatal(err)
				}
				if v.calls != 1 {
					t.Errorf("alice's key checked %d signatures, want 1", v.calls)
				}
			})
		})
	}
}

// toto reads exactly the members a case-sensitive reader (Python in-toto)
// reads: members whose names differ only in case, which Go's decoder
// would merge into one struct field, are refused, and a member in the
// wrong case is not read as the field.
func TestCaseVariantMembers(t *testing.T) {
	alice := newKey(t)
	linkPayload, err := buildLink().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	layoutPayload, err := layout.Payload(buildLayout(t, 1, alice))
	if err != nil {
		t.Fatal(err)
	}
	keyJSON, err := json.Marshal(alice.Public())
	if err != nil {
		t.Fatal(err)
	}
	st, err := statement.New("https://example.com/p", map[string]string{}, statement.Subject{Name: "app", Digest: digest("\x7fELF")})
	if err != nil {
		t.Fatal(err)
	}
	stPayload, err := st.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	app := buildLink().Products["app"]["sha256"]
	pub := alice.PublicValue

	parseLink := func(b []byte) error { _, err := link.Parse(b); return err }
	parseLayout := func(b []byte) error { _, err := layout.Parse(b); return err }
	parseKey := func(b []byte) error { _, err := keys.Parse(b); return err }
	parseStatement := func(b []byte) error { _, err := statement.Parse(b); return err }

	for _, tc := range []struct {
		name     string
		parse    func([]byte) error
		doc      []byte
		old, new string
		want     string             // "" for a control
		wantErr  *jsonobj.CaseError // the typed error inside
	}{
		{name: "link control", parse: parseLink, doc: linkPayload},
		{
			name: "link control: artifact paths that differ only in case", parse: parseLink, doc: linkPayload,
			old: `"products":{`, new: `"products":{"APP":{"sha256":"` + app + `"},`,
		},
		{
			name: "link: product digest sha256 and SHA256", parse: parseLink, doc: linkPayload,
			old: `"sha256":"` + app + `"`, new: `"sha256":"` + app + `","SHA256":"` + strings.Repeat("e1", 32) + `"`,
			want:    `link "build": field "products": members "SHA256" and "sha256" differ only in case (in /products/app)`,
			wantErr: &jsonobj.CaseError{Path: "/products/app", Name: "sha256", Other: "SHA256"},
		},
		{
			name: "link: name and NAME", parse: parseLink, doc: linkPayload,
			old: `"name":"build"`, new: `"name":"build","NAME":"deploy"`,
			want:    `link: members "name" and "NAME" differ only in case`,
			wantErr: &jsonobj.CaseError{Name: "NAME", Other: "name"},
		},
		{
			// Kept as an unknown member, it would clash with the
			// "byproducts" every encoder writes back.
			name: "link: only BYPRODUCTS", parse: parseLink, doc: linkPayload,
			old: `"byproducts":`, new: `"BYPRODUCTS":`,
			want:    `link: member "BYPRODUCTS" is not "byproducts": member names are case-sensitive`,
			wantErr: &jsonobj.CaseError{Name: "BYPRODUCTS", Want: "byproducts"},
		},
		{name: "layout control", parse: parseLayout, doc: layoutPayload},
		{
			name: "layout: threshold and THRESHOLD", parse: parseLayout, doc: layoutPayload,
			old: `"threshold":1`, new: `"threshold":1,"THRESHOLD":2`,
			want:    `layout: steps[0]: members "threshold" and "THRESHOLD" differ only in case`,
			wantErr: &jsonobj.CaseError{Name: "THRESHOLD", Other: "threshold"},
		},
		{
			name: "layout: only THRESHOLD", parse: parseLayout, doc: layoutPayload,
			old: `"threshold":1`, new: `"THRESHOLD":2`,
			want:    `layout: steps[0]: step "build": member "THRESHOLD" is not "threshold": member names are case-sensitive`,
			wantErr: &jsonobj.CaseError{Name: "THRESHOLD", Want: "threshold"},
		},
		{name: "key control", parse: parseKey, doc: keyJSON},
		{
			name: "key: public and PUBLIC", parse: parseKey, doc: keyJSON,
			old: `"public":"` + pub + `"`, new: `"public":"` + pub + `","PUBLIC":"` + strings.Repeat("00", 32) + `"`,
			want:    `key JSON: field "keyval": members "public" and "PUBLIC" differ only in case (in /keyval)`,
			wantErr: &jsonobj.CaseError{Path: "/keyval", Name: "PUBLIC", Other: "public"},
		},
		{
			name: "key: only PUBLIC", parse: parseKey, doc: keyJSON,
			old: `"public":`, new: `"PUBLIC":`,
			want:    `key JSON: field "keyval": member "PUBLIC" is not "public": member names are case-sensitive (in /keyval)`,
			wantErr: &jsonobj.CaseError{Path: "/keyval", Name: "PUBLIC", Want: "public"},
		},
		{
			name: "key: scheme and SCHEME", parse: parseKey, doc: keyJSON,
			old: `"scheme":"ed25519"`, new: `"scheme":"ed25519","SCHEME":"rsassa-pss-sha256"`,
			want:    `key JSON: members "scheme" and "SCHEME" differ only in case`,
			wantErr: &jsonobj.CaseError{Name: "SCHEME", Other: "scheme"},
		},
		{name: "statement control", parse: parseStatement, doc: stPayload},
		{
			name: "statement: subject digest and DIGEST", parse: parseStatement, doc: stPayload,
			old: `"}}]`, new: `"},"DIGEST":{"sha256":"` + strings.Repeat("e1", 32) + `"}}]`,
			want:    `statement: field "subject": members "digest" and "DIGEST" differ only in case (in /subject/0)`,
			wantErr: &jsonobj.CaseError{Path: "/subject/0", Name: "DIGEST", Other: "digest"},
		},
		{
			name: "statement: only DIGEST", parse: parseStatement, doc: stPayload,
			old: `"digest":`, new: `"DIGEST":`,
			want:    `statement: field "subject": member "DIGEST" is not "digest": member names are case-sensitive (in /subject/0)`,
			wantErr: &jsonobj.CaseError{Path: "/subject/0", Name: "DIGEST", Want: "digest"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.doc
			if tc.old != "" {
				if !bytes.Contains(doc, []byte(tc.old)) {
					t.Fatalf("%s not in %s", tc.old, doc)
				}
				doc = bytes.Replace(doc, []byte(tc.old), []byte(tc.new), 1)
			}
			err := tc.parse(doc)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("control: %v", err)
				}
				return
			}
			var ce *jsonobj.CaseError
			if !errors.As(err, &ce) || !errors.Is(err, jsonobj.ErrCaseVariant) {
				t.Fatalf("got %v, want a *jsonobj.CaseError", err)
			}
			if *ce != *tc.wantErr {
				t.Errorf("got %+v, want %+v", *ce, *tc.wantErr)
			}
			if err.Error() != tc.want {
				t.Errorf("message\n got: %s\nwant: %s", err, tc.want)
			}
		})
	}

	// Through the verifier: a signed link whose digest set spells one
	// algorithm twice counts for nothing.
	t.Run("verify: link with sha256 and SHA256", func(t *testing.T) {
		owner := newKey(t)
		le := signLayout(t, buildLayout(t, 1, alice), envelope.Metablock, owner)
		payload := bytes.Replace(linkPayload, []byte(`"sha256":"`+app+`"`), []byte(`"SHA256":"`+strings.Repeat("e1", 32)+`","sha256":"`+app+`"`), 1)
		dir := t.TempDir()
		name := writeLink(t, dir, "build", alice, sign(t, envelope.Metablock, payload, alice))
		res := verifyDir(t, le, dir, owner)
		reason := `link "build": field "products": members "SHA256" and "sha256" differ only in case (in /products/app)`
		rejected(t, res, "build", name, reason)
	})

	t.Run("control: unknown members still round-trip", func(t *testing.T) {
		doc := bytes.Replace(linkPayload, []byte(`"name":"build"`), []byte(`"name":"build","x-note":{"Name":1,"name":2}`), 1)
		l, err := link.Parse(doc)
		if err != nil {
			t.Fatal(err)
		}
		out, err := l.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(out, []byte(`"x-note":{"Name":1,"name":2}`)) {
			t.Errorf("unknown member lost: %s", out)
		}
	})
}

// A step's "threshold" is at least 1 when present; absent, it is 1 as in
// the references. An explicit 0 used to be read as 1.
func TestStepThreshold(t *testing.T) {
	owner, alice := newKey(t), newKey(t)
	l := buildLayout(t, 1, alice)
	payload, err := layout.Payload(l)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(payload, []byte(`,"threshold":1`)) {
		t.Fatalf("no threshold in %s", payload)
	}
	for _, tc := range []struct {
		name, value string // value "" drops the member
		want        int    // the threshold read, for a control
		wantValue   string // the value the error names
	}{
		{name: "control: absent is 1", value: "", want: 1},
		{name: "control: 1", value: "1", want: 1},
		{name: "control: 2", value: "2", want: 2},
		{name: "zero", value: "0", wantValue: "0"},
		{name: "negative", value: "-1", wantValue: "-1"},
		{name: "null", value: "null", wantValue: "null"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repl := `,"threshold":` + tc.value
			if tc.value == "" {
				repl = ""
			}
			doc := bytes.Replace(payload, []byte(`,"threshold":1`), []byte(repl), 1)
			got, err := layout.Parse(doc)
			if tc.wantValue == "" {
				if err != nil {
					t.Fatalf("control: %v", err)
				}
				if got.Steps[0].Threshold != tc.want {
					t.Errorf("threshold %d, want %d", got.Steps[0].Threshold, tc.want)
				}
				return
			}
			want := fmt.Sprintf(`layout: steps[0]: step "build": field "threshold" is %s: want at least 1 (leave it out for the default, 1)`, tc.wantValue)
			var te *layout.ThresholdError
			if !errors.As(err, &te) || !errors.Is(err, layout.ErrThreshold) {
				t.Fatalf("got %v, want a *layout.ThresholdError", err)
			}
			if te.Step != "build" || te.Value != tc.wantValue || err.Error() != want {
				t.Errorf("got %+v: %v\nwant: %s", *te, err, want)
			}
		})
	}

	// Through the verifier: a signed layout with threshold 0 is an input
	// error, not a layout that one link satisfies.
	t.Run("verify: threshold 0", func(t *testing.T) {
		l0 := buildLayout(t, 1, alice)
		l0.Steps[0].Threshold = 0
		le := signLayout(t, l0, envelope.Metablock, owner)
		dir := t.TempDir()
		writeLink(t, dir, "build", alice, signLink(t, buildLink(), envelope.Metablock, alice))
		d, err := verifier.OpenDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		_, err = verifier.Verify(context.Background(), le, verifier.Options{Links: d, LayoutKeys: []*keys.Key{owner.Public()}, Now: now})
		if !errors.Is(err, layout.ErrThreshold) {
			t.Fatalf("got %v, want layout.ErrThreshold", err)
		}
	})
}
