package simplesigning_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/toto-dev/toto/simplesigning"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func newEntity(t *testing.T, name string, lifetime uint32) *openpgp.Entity {
	t.Helper()
	e, err := openpgp.NewEntity(name, "", name+"@example.com", &packet.Config{
		Algorithm: packet.PubKeyAlgoEdDSA, Time: func() time.Time { return now.Add(-time.Hour) }, KeyLifetimeSecs: lifetime,
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const digest = "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func payload(t *testing.T) []byte {
	t.Helper()
	b, err := (&simplesigning.Payload{DockerReference: "registry.example/app:1", ManifestDigest: digest, Creator: "toto", Timestamp: now.Unix()}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSignVerify(t *testing.T) {
	alice, mallory := newEntity(t, "alice", 0), newEntity(t, "mallory", 0)
	sig, err := simplesigning.Sign(payload(t), alice, simplesigning.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("control: alice's keyring", func(t *testing.T) {
		v, err := simplesigning.Verify(sig, openpgp.EntityList{mallory, alice}, simplesigning.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if v.Fingerprint != simplesigning.Fingerprint(alice) || !bytes.Equal(v.Payload, payload(t)) {
			t.Errorf("verified %+v", v)
		}
		p, err := simplesigning.ParsePayload(v.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if p.DockerReference != "registry.example/app:1" || p.CheckDigest(digest) != nil || p.Creator != "toto" {
			t.Errorf("payload %+v", p)
		}
		if err := p.CheckDigest("sha256:" + strings.Repeat("0", 64)); !errors.Is(err, simplesigning.ErrDigestMismatch) {
			t.Errorf("other digest: %v", err)
		}
	})
	for _, tc := range []struct {
		name    string
		sig     []byte
		keyring openpgp.EntityList
		at      time.Time
		want    error
	}{
		{"unknown key", sig, openpgp.EntityList{mallory}, now, simplesigning.ErrUnknownKey},
		{"flipped byte", flip(sig, len(sig)-10), openpgp.EntityList{alice}, now, simplesigning.ErrBadSignature},
		{"truncated", sig[:len(sig)/2], openpgp.EntityList{alice}, now, simplesigning.ErrCorrupt},
		{"not OpenPGP", []byte("hello"), openpgp.EntityList{alice}, now, simplesigning.ErrCorrupt},
		{"cleartext signed", []byte("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nx\n"), openpgp.EntityList{alice}, now, simplesigning.ErrCorrupt},
		{"too large", make([]byte, simplesigning.MaxSignatureSize+1), openpgp.EntityList{alice}, now, simplesigning.ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := simplesigning.Verify(tc.sig, tc.keyring, simplesigning.Options{Now: tc.at})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("expired key", func(t *testing.T) {
		short := newEntity(t, "short", 3600*2) // valid for two hours from an hour ago
		s, err := simplesigning.Sign(payload(t), short, simplesigning.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := simplesigning.Verify(s, openpgp.EntityList{short}, simplesigning.Options{Now: now}); err != nil {
			t.Fatalf("control, within its lifetime: %v", err)
		}
		_, err = simplesigning.Verify(s, openpgp.EntityList{short}, simplesigning.Options{Now: now.Add(48 * time.Hour)})
		if !errors.Is(err, simplesigning.ErrExpiredKey) {
			t.Fatalf("two days later: %v, want ErrExpiredKey", err)
		}
	})
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}

func TestParsePayload(t *testing.T) {
	good := `{"critical":{"type":"atomic container signature","image":{"docker-manifest-digest":"` + digest + `"},"identity":{"docker-reference":"r/a:1"}},"optional":{"creator":"x","timestamp":1,"extra":true}}`
	if _, err := simplesigning.ParsePayload([]byte(good)); err != nil {
		t.Fatalf("control: %v", err)
	}
	for _, bad := range []string{
		`{}`, `[]`, `{"critical":{}}`,
		`{"critical":{"type":"cosign container image signature","image":{"docker-manifest-digest":"d"},"identity":{"docker-reference":"r"}}}`,
		`{"critical":{"type":"atomic container signature","image":{"docker-manifest-digest":"d"},"identity":{"docker-reference":"r"},"unknown":1}}`,
		`{"critical":{"type":"atomic container signature","image":{"docker-manifest-digest":"d","x":1},"identity":{"docker-reference":"r"}}}`,
		`{"critical":{"type":"atomic container signature","image":{"docker-manifest-digest":1},"identity":{"docker-reference":"r"}}}`,
		`{"critical":{"type":"atomic container signature","image":{"docker-manifest-digest":"d"},"identity":{"docker-reference":"r"}},"critical":{}}`,
		`{"critical":{"type":"atomic container signature","image":{"docker-manifest-digest":"d"},"identity":{"docker-reference":"r"}},"other":1}`,
	} {
		if _, err := simplesigning.ParsePayload([]byte(bad)); !errors.Is(err, simplesigning.ErrPayload) {
			t.Errorf("%s: %v, want ErrPayload", bad, err)
		}
	}
}

func FuzzParsePayload(f *testing.F) {
	f.Add([]byte(`{"critical":{"type":"atomic container signature","image":{"docker-manifest-digest":"sha256:00"},"identity":{"docker-reference":"r/a:1"}},"optional":{"creator":"x","timestamp":1}}`))
	f.Add([]byte(`{"critical":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := simplesigning.ParsePayload(data)
		if err != nil {
			return
		}
		b, err := p.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		q, err := simplesigning.ParsePayload(b)
		if err != nil || *q != *p {
			t.Fatalf("round trip: %v %+v %+v", err, p, q)
		}
	})
}

func FuzzVerify(f *testing.F) {
	f.Add([]byte("hello"))
	f.Add([]byte{0xa3, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		// Corrupt input must be an error, never a panic or a hang.
		_, _ = simplesigning.Verify(data, nil, simplesigning.Options{Now: now})
	})
}
