package security

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/toto-dev/toto/envelope"
	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/layout"
	"github.com/toto-dev/toto/link"
	"github.com/toto-dev/toto/statement"
	"github.com/toto-dev/toto/verifier"
)

// A key counts once towards a threshold, however many signatures, link
// files or keyids it appears under (in-toto spec v1.0, section 5.2: "the
// threshold ... distinct functionaries").
func TestThresholdCountsEachKeyOnce(t *testing.T) {
	for _, ff := range formats {
		t.Run(ff.name, func(t *testing.T) {
			owner, alice, bob := newKey(t), newKey(t), newKey(t)
			l := buildLayout(t, 2, alice, bob)
			le := signLayout(t, l, ff.f, owner)
			tooFew := fmt.Sprintf("step build: needs links from 2 distinct authorised functionaries, found 1 (%s)", short(alice))

			t.Run("control: two functionaries", func(t *testing.T) {
				dir := t.TempDir()
				writeLink(t, dir, "build", alice, signLink(t, buildLink(), ff.f, alice))
				writeLink(t, dir, "build", bob, signLink(t, buildLink(), ff.f, bob))
				res := verifyDir(t, le, dir, owner)
				requirePass(t, res)
				if got := res.Step("build").Signers; len(got) != 2 {
					t.Errorf("signers %v, want alice and bob", got)
				}
			})

			t.Run("one key signs one link twice", func(t *testing.T) {
				// The second signature names alice by her other keyid (the
				// one the references compute with keyid_hash_algorithms),
				// so it looks like a second key to a naive counter.
				ids := alice.IDs()
				if len(ids) < 2 {
					t.Fatalf("want alice to have two keyids, got %v", ids)
				}
				e := signLink(t, buildLink(), ff.f, alice)
				e.Signatures = append(e.Signatures,
					envelope.Signature{KeyID: ids[1], Sig: bytes.Clone(e.Signatures[0].Sig)},
					e.Signatures[0])
				dir := t.TempDir()
				writeLink(t, dir, "build", alice, e)
				res := verifyDir(t, le, dir, owner)
				onlyFailure[*verifier.ThresholdError](t, res, tooFew)
			})

			t.Run("one key signs two link files", func(t *testing.T) {
				dir := t.TempDir()
				writeLink(t, dir, "build", alice, signLink(t, buildLink(), ff.f, alice))
				// alice's link again, under the file name bob's would have.
				writeLink(t, dir, "build", bob, signLink(t, buildLink(), ff.f, alice))
				res := verifyDir(t, le, dir, owner)
				te := onlyFailure[*verifier.ThresholdError](t, res, tooFew)
				if len(te.Signers) != 1 || te.Signers[0] != alice.ID() {
					t.Errorf("signers %v, want only alice", te.Signers)
				}
			})

			t.Run("layout lists one key under two keyids", func(t *testing.T) {
				// A layout owner's slip: alice's key appears twice, under
				// both of her keyids, and the step names both.
				ids := alice.IDs()
				l2 := buildLayout(t, 2, alice)
				l2.Keys[ids[1]] = alice.Public()
				l2.Steps[0].PubKeys = []string{ids[0], ids[1]}
				le2 := signLayout(t, l2, ff.f, owner)
				dir := t.TempDir()
				writeLink(t, dir, "build", alice, signLink(t, buildLink(), ff.f, alice))
				writeLink(t, dir, "build", bob, signLink(t, buildLink(), ff.f, alice))
				res := verifyDir(t, le2, dir, owner)
				onlyFailure[*verifier.ThresholdError](t, res, tooFew)
			})
		})
	}
}

// A signature is bound to the key its keyid names: a signature by bob that
// claims to be alice's counts for neither.
func TestKeyIDMustMatchSigningKey(t *testing.T) {
	for _, ff := range formats {
		t.Run(ff.name, func(t *testing.T) {
			owner, alice, bob := newKey(t), newKey(t), newKey(t)
			le := signLayout(t, buildLayout(t, 1, alice, bob), ff.f, owner)

			t.Run("control", func(t *testing.T) {
				dir := t.TempDir()
				writeLink(t, dir, "build", alice, signLink(t, buildLink(), ff.f, alice))
				requirePass(t, verifyDir(t, le, dir, owner))
			})

			t.Run("link", func(t *testing.T) {
				e := signLink(t, buildLink(), ff.f, bob)
				e.Signatures[0].KeyID = alice.ID()
				dir := t.TempDir()
				name := writeLink(t, dir, "build", alice, e)
				res := verifyDir(t, le, dir, owner)
				reason := fmt.Sprintf("signature by %s does not verify", short(alice))
				rejected(t, res, "build", name, reason)
				onlyFailure[*verifier.ThresholdError](t, res, fmt.Sprintf(
					"step build: needs links from 1 distinct authorised functionaries, found 0; %s rejected: %s", name, reason))
			})

			t.Run("layout", func(t *testing.T) {
				mallory := newKey(t)
				e := signLayout(t, buildLayout(t, 1, alice), ff.f, mallory)
				e.Signatures[0].KeyID = owner.ID()
				dir := t.TempDir()
				writeLink(t, dir, "build", alice, signLink(t, buildLink(), ff.f, alice))
				res := verifyDir(t, e, dir, owner)
				lse := onlyFailure[*verifier.LayoutSignatureError](t, res, fmt.Sprintf(
					"root layout: not signed by layout key %s: key %s: signature does not verify", short(owner), short(owner)))
				if !errors.Is(lse, envelope.ErrBadSignature) {
					t.Errorf("%v does not wrap envelope.ErrBadSignature", lse)
				}
			})
		})
	}
}

// A payload changed after signing is not signed.
func TestPayloadChangedAfterSigning(t *testing.T) {
	for _, ff := range formats {
		t.Run(ff.name, func(t *testing.T) {
			owner, alice := newKey(t), newKey(t)
			l := buildLayout(t, 1, alice)
			le := signLayout(t, l, ff.f, owner)

			// tamper re-wraps payload (as edited by an attacker) with the
			// signatures made over the original.
			tamper := func(e *envelope.Envelope, edit func([]byte) []byte) *envelope.Envelope {
				t.Helper()
				forged := sign(t, ff.f, edit(bytes.Clone(e.Payload())))
				forged.Signatures = e.Signatures
				return forged
			}

			t.Run("control", func(t *testing.T) {
				dir := t.TempDir()
				writeLink(t, dir, "build", alice, signLink(t, buildLink(), ff.f, alice))
				requirePass(t, verifyDir(t, le, dir, owner))
			})

			t.Run("link products swapped", func(t *testing.T) {
				honest := buildLink()
				evil := digest("backdoored")
				e := tamper(signLink(t, honest, ff.f, alice), func(p []byte) []byte {
					return bytes.Replace(p, []byte(honest.Products["app"]["sha256"]), []byte(evil["sha256"]), 1)
				})
				if p, err := link.Parse(e.Payload()); err != nil || !p.Products["app"].Equal(evil) {
					t.Fatalf("tampering did not take: %v", err)
				}
				dir := t.TempDir()
				name := writeLink(t, dir, "build", alice, e)
				res := verifyDir(t, le, dir, owner)
				rejected(t, res, "build", name, fmt.Sprintf("signature by %s does not verify", short(alice)))
				onlyFailure[*verifier.ThresholdError](t, res, fmt.Sprintf(
					"step build: needs links from 1 distinct authorised functionaries, found 0; %s rejected: signature by %s does not verify", name, short(alice)))
			})

			t.Run("layout threshold lowered", func(t *testing.T) {
				l2 := buildLayout(t, 1, alice)
				l2.Steps[0].ExpectedProducts = nil // the attacker also drops the rules
				p, _ := layout.Payload(l2)
				e := tamper(le, func([]byte) []byte { return p })
				dir := t.TempDir()
				writeLink(t, dir, "build", alice, signLink(t, buildLink(), ff.f, alice))
				res := verifyDir(t, e, dir, owner)
				lse := onlyFailure[*verifier.LayoutSignatureError](t, res, fmt.Sprintf(
					"root layout: not signed by layout key %s: key %s: signature does not verify", short(owner), short(owner)))
				if !errors.Is(lse, envelope.ErrBadSignature) {
					t.Errorf("%v does not wrap envelope.ErrBadSignature", lse)
				}
			})
		})
	}
}

// Unknown fields are kept and covered by the signature: present at signing
// they are fine (and survive), added afterwards they break it. Fields
// outside what was signed change nothing.
func TestUnknownFields(t *testing.T) {
	for _, ff := range formats {
		t.Run(ff.name, func(t *testing.T) {
			owner, alice := newKey(t), newKey(t)
			le := signLayout(t, buildLayout(t, 1, alice), ff.f, owner)

			t.Run("signed with an unknown field", func(t *testing.T) {
				l := buildLink()
				l.Extra = map[string]json.RawMessage{"x-note": json.RawMessage(`"built on a Tuesday"`)}
				dir := t.TempDir()
				writeLink(t, dir, "build", alice, signLink(t, l, ff.f, alice))
				res := verifyDir(t, le, dir, owner)
				requirePass(t, res)
				if got := string(res.Step("build").Link.Extra["x-note"]); got != `"built on a Tuesday"` {
					t.Errorf("unknown field not kept: %q", got)
				}
			})

			t.Run("unknown field added after signing", func(t *testing.T) {
				e := signLink(t, buildLink(), ff.f, alice)
				forged := sign(t, ff.f, bytes.Replace(e.Payload(), []byte(`"_type":"link"`), []byte(`"_type":"link","x-approved":true`), 1))
				forged.Signatures = e.Signatures
				if bytes.Equal(forged.Payload(), e.Payload()) {
					t.Fatal("field was not added")
				}
				dir := t.TempDir()
				name := writeLink(t, dir, "build", alice, forged)
				res := verifyDir(t, le, dir, owner)
				rejected(t, res, "build", name, fmt.Sprintf("signature by %s does not verify", short(alice)))
				onlyFailure[*verifier.ThresholdError](t, res, fmt.Sprintf(
					"step build: needs links from 1 distinct authorised functionaries, found 0; %s rejected: signature by %s does not verify", name, short(alice)))
			})

			t.Run("unsigned envelope members are ignored", func(t *testing.T) {
				data := encode(t, signLink(t, buildLink(), ff.f, alice))
				data = bytes.Replace(data, []byte("{"), []byte(`{"x-verified-by":"mallory",`), 1)
				dir := t.TempDir()
				writeFile(t, filepath.Join(dir, "build."+short(alice)+".link"), data)
				requirePass(t, verifyDir(t, le, dir, owner))
			})
		})
	}
}

// A DSSE envelope must carry the in-toto payload type; the type is signed
// (PAE), so changing it breaks the signature, and a correctly signed
// envelope of another type is not in-toto evidence.
func TestDSSEPayloadType(t *testing.T) {
	owner, alice := newKey(t), newKey(t)
	le := signLayout(t, buildLayout(t, 1, alice), envelope.DSSE, owner)
	payload, err := buildLink().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	signAs := func(typ string) *envelope.Envelope {
		e, err := envelope.New(envelope.DSSE, typ, payload)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Sign(context.Background(), alice); err != nil {
			t.Fatal(err)
		}
		return e
	}

	t.Run("control", func(t *testing.T) {
		dir := t.TempDir()
		writeLink(t, dir, "build", alice, signAs(envelope.PayloadTypeInToto))
		requirePass(t, verifyDir(t, le, dir, owner))
	})

	t.Run("link signed as another type", func(t *testing.T) {
		dir := t.TempDir()
		name := writeLink(t, dir, "build", alice, signAs("application/json"))
		res := verifyDir(t, le, dir, owner)
		reason := `DSSE payloadType "application/json" is not "application/vnd.in-toto+json"`
		rejected(t, res, "build", name, reason)
		onlyFailure[*verifier.ThresholdError](t, res, fmt.Sprintf(
			"step build: needs links from 1 distinct authorised functionaries, found 0; %s rejected: %s", name, reason))
	})

	t.Run("type changed after signing", func(t *testing.T) {
		e := signAs(envelope.PayloadTypeInToto)
		e.PayloadType = "application/vnd.in-toto.provenance+json"
		dir := t.TempDir()
		name := writeLink(t, dir, "build", alice, e)
		res := verifyDir(t, le, dir, owner)
		rejected(t, res, "build", name, fmt.Sprintf("signature by %s does not verify", short(alice)))
	})

	t.Run("layout of another type", func(t *testing.T) {
		p, _ := layout.Payload(buildLayout(t, 1, alice))
		e, _ := envelope.New(envelope.DSSE, "application/json", p)
		if err := e.Sign(context.Background(), owner); err != nil {
			t.Fatal(err)
		}
		_, err := verifier.Verify(context.Background(), e, verifier.Options{
			LayoutKeys: []*keys.Key{owner.Public()}, Links: &verifier.MemSource{}, Now: now})
		if !errors.Is(err, verifier.ErrNotALayout) {
			t.Fatalf("got %v, want verifier.ErrNotALayout", err)
		}
		want := `not a layout: DSSE payloadType "application/json" is not "application/vnd.in-toto+json"`
		if err.Error() != want {
			t.Errorf("got %q, want %q", err, want)
		}
	})
}

// Attestations about the final product follow the same rules: an in-toto
// DSSE payload type, and a signature by a key the layout knows.
func TestAttestationEnvelope(t *testing.T) {
	owner, alice, mallory := newKey(t), newKey(t), newKey(t)
	le := signLayout(t, buildLayout(t, 1, alice), envelope.DSSE, owner)
	dir := t.TempDir()
	writeLink(t, dir, "build", alice, signLink(t, buildLink(), envelope.DSSE, alice))
	st, err := statement.New("https://example.com/review/v1", map[string]string{"verdict": "ok"},
		statement.SubjectsFrom(buildLink().Products)...)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := st.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	attest := func(typ string, k *keys.Key) verifier.Attestation {
		e, err := envelope.New(envelope.DSSE, typ, payload)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Sign(context.Background(), k); err != nil {
			t.Fatal(err)
		}
		return verifier.Attestation{Source: "review.json", Envelope: e}
	}
	run := func(a verifier.Attestation) *verifier.Result {
		d, err := verifier.OpenDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		return verifyWith(t, le, verifier.Options{Links: d, Attestations: []verifier.Attestation{a}}, owner)
	}

	t.Run("control", func(t *testing.T) {
		requirePass(t, run(attest(envelope.PayloadTypeInToto, alice)))
	})
	t.Run("payload type", func(t *testing.T) {
		onlyFailure[*verifier.AttestationError](t, run(attest("application/json", alice)),
			`attestation review.json: DSSE payloadType "application/json" is not "application/vnd.in-toto+json"`)
	})
	t.Run("signed by a key the layout does not know", func(t *testing.T) {
		onlyFailure[*verifier.AttestationError](t, run(attest(envelope.PayloadTypeInToto, mallory)),
			"attestation review.json: not signed by any key of the layout or any layout key")
	})
}
