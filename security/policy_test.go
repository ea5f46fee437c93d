package security

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/verifier"
)

// An expired layout fails, whatever the evidence.
func TestExpiredLayout(t *testing.T) {
	owner, alice := newKey(t), newKey(t)
	dir := t.TempDir()
	writeLink(t, dir, "build", alice, signLink(t, buildLink(), envelope.Metablock, alice))

	t.Run("control", func(t *testing.T) {
		l := buildLayout(t, 1, alice)
		l.Expires = now.Add(time.Second)
		requirePass(t, verifyDir(t, signLayout(t, l, envelope.Metablock, owner), dir, owner))
	})

	t.Run("expired a second ago", func(t *testing.T) {
		l := buildLayout(t, 1, alice)
		l.Expires = now.Add(-time.Second)
		res := verifyDir(t, signLayout(t, l, envelope.Metablock, owner), dir, owner)
		ee := onlyFailure[*verifier.ExpiredError](t, res,
			"root layout expired on 2026-03-01T11:59:59Z (verification time 2026-03-01T12:00:00Z)")
		if !res.Expired || !ee.Expires.Equal(l.Expires) {
			t.Errorf("Expired %v, ExpiredError.Expires %v; want true, %v", res.Expired, ee.Expires, l.Expires)
		}
	})
}

// Every layout key given to the verifier must have signed the layout;
// signatures by other keys do not stand in for them.
func TestLayoutKeys(t *testing.T) {
	for _, ff := range formats {
		t.Run(ff.name, func(t *testing.T) {
			owner, owner2, mallory, alice := newKey(t), newKey(t), newKey(t), newKey(t)
			l := buildLayout(t, 1, alice)
			dir := t.TempDir()
			writeLink(t, dir, "build", alice, signLink(t, buildLink(), ff.f, alice))

			t.Run("control: both owners signed", func(t *testing.T) {
				res := verifyDir(t, signLayout(t, l, ff.f, owner, owner2), dir, owner, owner2)
				requirePass(t, res)
				if len(res.Signatures) != 2 {
					t.Errorf("%d signature checks, want one per layout key", len(res.Signatures))
				}
			})

			t.Run("signed by a key not given", func(t *testing.T) {
				res := verifyDir(t, signLayout(t, l, ff.f, mallory), dir, owner)
				lse := onlyFailure[*verifier.LayoutSignatureError](t, res, fmt.Sprintf(
					"root layout: not signed by layout key %s: key %s: no signature by this key; it is signed by %s", short(owner), short(owner), short(mallory)))
				if !errors.Is(lse, envelope.ErrNoSignature) || lse.KeyID != owner.ID() {
					t.Errorf("got %+v, want ErrNoSignature for %s", lse, owner.ID())
				}
				// Under a layout the owners did not sign, no step is
				// evaluated, let alone shown as passed.
				for _, s := range res.Steps {
					if s.Status != verifier.StatusSkipped || s.SkipReason != "not evaluated: the layout is not validly signed or has expired" {
						t.Errorf("step %s: %s %q under an untrusted layout", s.Name, s.Status, s.SkipReason)
					}
				}
			})

			t.Run("not signed at all", func(t *testing.T) {
				res := verifyDir(t, signLayout(t, l, ff.f), dir, owner)
				onlyFailure[*verifier.LayoutSignatureError](t, res, fmt.Sprintf(
					"root layout: not signed by layout key %s: key %s: no signature by this key; the layout has no signatures: sign it with toto sign --key OWNER.key LAYOUT", short(owner), short(owner)))
			})

			t.Run("a given key did not sign", func(t *testing.T) {
				res := verifyDir(t, signLayout(t, l, ff.f, owner, mallory), dir, owner, owner2)
				lse := onlyFailure[*verifier.LayoutSignatureError](t, res, fmt.Sprintf(
					"root layout: not signed by layout key %s: key %s: no signature by this key; it is signed by %s, %s", short(owner2), short(owner2), short(owner), short(mallory)))
				if lse.KeyID != owner2.ID() {
					t.Errorf("failure names %s, want owner2 %s", lse.KeyID, owner2.ID())
				}
			})
		})
	}
}

// Only the functionaries a step lists may provide its evidence: a key of
// the layout authorised for another step, or a key from nowhere, counts
// for nothing.
func TestUnauthorisedLinkSigner(t *testing.T) {
	owner, alice, dave, mallory := newKey(t), newKey(t), newKey(t), newKey(t)
	l := buildLayout(t, 1, alice)
	l.AddKey(dave)
	l.Steps = append(l.Steps, layout.Step{Name: "ship", PubKeys: []string{dave.ID()}, Threshold: 1})
	le := signLayout(t, l, envelope.Metablock, owner)
	shipLink := &link.Link{Name: "ship", Materials: link.Artifacts{}, Products: link.Artifacts{}}

	t.Run("control", func(t *testing.T) {
		dir := t.TempDir()
		writeLink(t, dir, "build", alice, signLink(t, buildLink(), envelope.Metablock, alice))
		writeLink(t, dir, "ship", dave, signLink(t, shipLink, envelope.Metablock, dave))
		requirePass(t, verifyDir(t, le, dir, owner))
	})

	for _, tc := range []struct {
		name   string
		signer *keys.Key
		format envelope.Format
	}{
		{"key of another step", dave, envelope.Metablock},
		{"key from outside the layout", mallory, envelope.DSSE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeLink(t, dir, "ship", dave, signLink(t, shipLink, envelope.Metablock, dave))
			// The file even bears alice's name.
			name := writeLink(t, dir, "build", alice, signLink(t, buildLink(), tc.format, tc.signer))
			res := verifyDir(t, le, dir, owner)
			reason := fmt.Sprintf("signed by %s, not by a functionary authorised for step build", short(tc.signer))
			rejected(t, res, "build", name, reason)
			onlyFailure[*verifier.ThresholdError](t, res, fmt.Sprintf(
				"step build: needs links from 1 distinct authorised functionaries, found 0; %s rejected: %s", name, reason))
		})
	}
}

// A link records the step it was made for; a functionary's link for one
// step cannot be replayed as evidence for another step they may also sign.
func TestLinkForAnotherStep(t *testing.T) {
	owner, alice := newKey(t), newKey(t)
	l := buildLayout(t, 1, alice)
	l.Steps = append(l.Steps, layout.Step{Name: "test", PubKeys: []string{alice.ID()}, Threshold: 1})
	le := signLayout(t, l, envelope.Metablock, owner)
	testLink := &link.Link{Name: "test", Materials: link.Artifacts{"app": digest("\x7fELF")}, Products: link.Artifacts{}}

	t.Run("control", func(t *testing.T) {
		dir := t.TempDir()
		writeLink(t, dir, "build", alice, signLink(t, buildLink(), envelope.Metablock, alice))
		writeLink(t, dir, "test", alice, signLink(t, testLink, envelope.Metablock, alice))
		requirePass(t, verifyDir(t, le, dir, owner))
	})

	t.Run("test link filed as the build link", func(t *testing.T) {
		dir := t.TempDir()
		name := writeLink(t, dir, "build", alice, signLink(t, testLink, envelope.Metablock, alice))
		writeLink(t, dir, "test", alice, signLink(t, testLink, envelope.Metablock, alice))
		res := verifyDir(t, le, dir, owner)
		reason := `it records step "test", not "build"`
		rejected(t, res, "build", name, reason)
		onlyFailure[*verifier.ThresholdError](t, res, fmt.Sprintf(
			"step build: needs links from 1 distinct authorised functionaries, found 0; %s rejected: %s", name, reason))
	})
}

// A key object in a layout may carry a "keyid" member, but it does not
// make the key answer to that keyid: a layout listing mallory's key under
// bob's keyid (say, pasted from a key file mallory handed the owner) is
// refused, not read as authorising whoever holds mallory's key as "bob".
func TestLayoutKeyUnderAnotherKeysID(t *testing.T) {
	owner, bob, mallory := newKey(t), newKey(t), newKey(t)

	t.Run("control", func(t *testing.T) {
		dir := t.TempDir()
		writeLink(t, dir, "build", bob, signLink(t, buildLink(), envelope.Metablock, bob))
		requirePass(t, verifyDir(t, signLayout(t, buildLayout(t, 1, bob), envelope.Metablock, owner), dir, owner))
	})

	l := buildLayout(t, 1, bob)
	p, err := layout.Payload(l)
	if err != nil {
		t.Fatal(err)
	}
	bobKey, err := json.Marshal(bob.Public())
	if err != nil {
		t.Fatal(err)
	}
	malloryKey, err := json.Marshal(mallory.Public())
	if err != nil {
		t.Fatal(err)
	}
	// mallory's key object, declaring bob's keyid.
	forgedKey := bytes.Replace(malloryKey, []byte(mallory.ID()), []byte(bob.ID()), 1)
	forged := bytes.Replace(p, bobKey, forgedKey, 1)
	if bytes.Equal(forged, p) {
		t.Fatalf("key object not found in the layout:\n%s\n%s", p, bobKey)
	}
	le := sign(t, envelope.Metablock, forged, owner)
	dir := t.TempDir()
	e := signLink(t, buildLink(), envelope.Metablock, mallory)
	e.Signatures[0].KeyID = bob.ID()
	writeLink(t, dir, "build", bob, e)
	d, err := verifier.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	res, err := verifier.Verify(context.Background(), le, verifier.Options{LayoutKeys: []*keys.Key{owner.Public()}, Links: d, Now: now})
	want := fmt.Sprintf(`layout: field "keys": key listed as %s has keyid %s`, bob.ID(), mallory.ID())
	if err == nil || err.Error() != want {
		passed := res != nil && res.Passed()
		t.Fatalf("got error %v (passed: %v), want %s", err, passed, want)
	}
}
