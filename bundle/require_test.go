package bundle

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"

	"github.com/toto-dev/toto/keys"
	"github.com/toto-dev/toto/transparency"
)

// TestRequirements: --require-tlog and --require-timestamp without a
// server: a requirement without a trusted root is the caller's error; a
// bundle without an entry or timestamp fails with the typed reason; and
// without requirements a plain keyed bundle still verifies against the
// same trusted root. (The real log and TSA: interop/cosign TestTlog*.)
func TestRequirements(t *testing.T) {
	ctx := context.Background()
	k, err := keys.Generate(keys.ECDSA, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Create(ctx, k, "", []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"aa"}}],"predicateType":"x","predicate":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	emptyRoot := []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`)
	base := Policy{Keys: []*keys.Key{k.Public()}, SkipArtifact: true}
	with := func(tlog, ts bool) Policy { p := base; p.RequireTlog, p.RequireTimestamp = tlog, ts; return p }
	tests := []struct {
		name   string
		root   []byte
		policy Policy
		want   []error
	}{
		{"no requirement, no root", nil, base, nil},
		{"no requirement, root", emptyRoot, base, nil},
		{"tlog required without a root", nil, with(true, false), []error{ErrPolicy}},
		{"timestamp required without a root", nil, with(false, true), []error{ErrPolicy}},
		{"tlog required, none", emptyRoot, with(true, false), []error{ErrVerification, ErrTransparencyLog}},
		{"timestamp required, none", emptyRoot, with(false, true), []error{ErrVerification, ErrTimestamp}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(ctx, b, tc.root, tc.policy)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Fatalf("Verify = %v, want %v", err, w)
				}
			}
		})
	}
}

// TestCreateWithRefusesUnloggable: keys whose signatures Rekor v2 cannot
// record are refused before signing, and a certificate must hold the
// signing key.
func TestCreateWithRefusesUnloggable(t *testing.T) {
	ctx := context.Background()
	ed, err := keys.Generate(keys.Ed25519, keys.GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stmt := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"aa"}}],"predicateType":"x","predicate":{}}`)
	if _, err := CreateWith(ctx, ed, "", stmt, CreateOptions{Log: refusingLog{t}}); !errors.Is(err, ErrUnloggable) {
		t.Errorf("Ed25519: %v, want ErrUnloggable", err)
	}
	if _, err := CreateWith(ctx, ed, "", stmt, CreateOptions{Certificate: []byte("not DER")}); err == nil {
		t.Error("a certificate that does not parse was accepted")
	}
}

// refusingLog fails the test if called.
type refusingLog struct{ t *testing.T }

func (l refusingLog) URL() string { return "test:" }

func (l refusingLog) Append(context.Context, transparency.Entry) (*protorekor.TransparencyLogEntry, error) {
	l.t.Error("the log was called")
	return nil, errors.New("refused")
}

// A signature longer than any key makes is refused as too large, not cut
// short and reported as not verifying.
func TestMultiKeySignatureTooLarge(t *testing.T) {
	big := bytes.NewReader(make([]byte, maxSignatureSize+1))
	err := newMultiKey(nil).VerifySignature(big, bytes.NewReader([]byte("msg")))
	if err == nil || !strings.Contains(err.Error(), "signature larger than") {
		t.Fatalf("err = %v, want signature larger than %d bytes", err, maxSignatureSize)
	}
}
